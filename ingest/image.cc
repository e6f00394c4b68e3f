#include "ingest/image.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <libexif/exif-data.h>
#include <libexif/exif-utils.h>
#include <memory>
#include <mutex>
#include <vips/vips.h>

#include "core/time.h"

namespace wangge::ingest {
namespace {

void InitVips() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (VIPS_INIT("wangge") != 0) vips_error_exit("libvips did not start");
    // Decoding runs on the HTTP handlers' threads; libvips' own pool would only compete.
    vips_concurrency_set(1);
    // Thumbnails are stored once; libvips' operation cache would only hold memory.
    vips_cache_set_max(0);
  });
}

std::string VipsError() {
  std::string e = vips_error_buffer();
  vips_error_clear();
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
  return e.empty() ? "unknown libvips error" : e;
}

struct VipsUnref {
  void operator()(void* p) const { g_object_unref(p); }
};
using ImagePtr = std::unique_ptr<VipsImage, VipsUnref>;

bool StartsWith(std::string_view bytes, std::string_view magic, size_t at = 0) {
  return bytes.size() >= at + magic.size() && bytes.substr(at, magic.size()) == magic;
}

// The value of a rational EXIF GPS coordinate (degrees, minutes, seconds).
std::optional<double> GpsDegrees(ExifData* data, ExifTag tag) {
  ExifEntry* e = exif_content_get_entry(data->ifd[EXIF_IFD_GPS], tag);
  if (!e || e->format != EXIF_FORMAT_RATIONAL || e->components != 3) return std::nullopt;
  const ExifByteOrder order = exif_data_get_byte_order(data);
  const size_t unit = exif_format_get_size(EXIF_FORMAT_RATIONAL);
  if (e->size < 3 * unit) return std::nullopt;
  double parts[3];
  for (int i = 0; i < 3; ++i) {
    ExifRational r = exif_get_rational(e->data + i * unit, order);
    if (r.denominator == 0) return std::nullopt;
    parts[i] = static_cast<double>(r.numerator) / r.denominator;
  }
  return parts[0] + parts[1] / 60 + parts[2] / 3600;
}

char GpsRef(ExifData* data, ExifTag tag) {
  ExifEntry* e = exif_content_get_entry(data->ifd[EXIF_IFD_GPS], tag);
  if (!e || e->format != EXIF_FORMAT_ASCII || e->size < 1) return 0;
  return static_cast<char>(e->data[0]);
}

}  // namespace

std::optional<std::string> SniffImageType(std::string_view bytes) {
  if (StartsWith(bytes, "\xFF\xD8\xFF")) return "image/jpeg";
  if (StartsWith(bytes, "\x89PNG\r\n\x1A\n")) return "image/png";
  if (StartsWith(bytes, "RIFF") && StartsWith(bytes, "WEBP", 8)) return "image/webp";
  // ISO BMFF: a box size, "ftyp", then a brand of HEIF's image family.
  if (StartsWith(bytes, "ftyp", 4) && bytes.size() >= 12) {
    const std::string_view brand = bytes.substr(8, 4);
    for (std::string_view b : {"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"}) {
      if (brand == b) return "image/heic";
    }
  }
  return std::nullopt;
}

void ReadExif(std::string_view bytes, std::chrono::minutes offset, engine::MediaInfo& info) {
  std::unique_ptr<ExifData, void (*)(ExifData*)> data(
      exif_data_new_from_data(reinterpret_cast<const unsigned char*>(bytes.data()),
                              static_cast<unsigned int>(bytes.size())),
      exif_data_unref);
  if (!data) return;
  if (ExifEntry* e = exif_content_get_entry(data->ifd[EXIF_IFD_EXIF], EXIF_TAG_DATE_TIME_ORIGINAL);
      e && e->format == EXIF_FORMAT_ASCII && e->size >= 19) {
    int y, mo, d, h, mi, s;
    const std::string text(reinterpret_cast<const char*>(e->data), 19);
    if (std::sscanf(text.c_str(), "%4d:%2d:%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) == 6 &&
        y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 &&
        s <= 60) {
      const int64_t days = DayNumber(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
      const int64_t local_s = days * 86400 + h * 3600 + mi * 60 + s;
      info.captured_at = TimeMs{(local_s - offset.count() * 60) * 1000};
    }
  }
  auto lat = GpsDegrees(data.get(), static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE));
  auto lon = GpsDegrees(data.get(), static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE));
  if (lat && lon && *lat <= 90 && *lon <= 180) {
    if (GpsRef(data.get(), static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE_REF)) == 'S') *lat = -*lat;
    if (GpsRef(data.get(), static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE_REF)) == 'W') *lon = -*lon;
    info.lat = lat;
    info.lon = lon;
  }
}

ImageProbe ProbeImage(std::string_view bytes, uint64_t max_pixels,
                      std::chrono::minutes exif_offset) {
  ImageProbe probe;
  auto type = SniffImageType(bytes);
  if (!type) {
    probe.problem = ImageProblem::kType;
    probe.message = "the file is not a JPEG, PNG, WebP or HEIC image (checked by its first bytes)";
    return probe;
  }
  InitVips();
  // Opening reads the header only; pixels are decoded when asked for, which this never does.
  ImagePtr image(vips_image_new_from_buffer(bytes.data(), bytes.size(), "", "access",
                                            VIPS_ACCESS_SEQUENTIAL, nullptr));
  if (!image) {
    probe.problem = ImageProblem::kMalformed;
    probe.message = "the " + *type + " file does not read: " + VipsError();
    return probe;
  }
  const auto width = static_cast<uint64_t>(vips_image_get_width(image.get()));
  const auto height = static_cast<uint64_t>(vips_image_get_height(image.get()));
  if (width * height > max_pixels) {
    probe.problem = ImageProblem::kPixels;
    probe.message = std::to_string(width) + " x " + std::to_string(height) +
                    " pixels is over the " + std::to_string(max_pixels) + "-pixel limit";
    return probe;
  }
  probe.info.type = *type;
  probe.info.size = bytes.size();
  probe.info.width = static_cast<uint32_t>(width);
  probe.info.height = static_cast<uint32_t>(height);
  ReadExif(bytes, exif_offset, probe.info);
  return probe;
}

namespace {

// When an image's computation must stop, and whether it was stopped.
struct Deadline {
  std::chrono::steady_clock::time_point at;
  bool stopped = false;
};

// libvips calls this as it computes an image; past the deadline it stops the computation.
void StopWhenLate(VipsImage* image, VipsProgress*, void* data) {
  auto* deadline = static_cast<Deadline*>(data);
  if (std::chrono::steady_clock::now() >= deadline->at) {
    deadline->stopped = true;
    vips_image_set_kill(image, TRUE);
  }
}

}  // namespace

Result<std::string> Thumbnail(std::string_view bytes, int size, std::chrono::milliseconds limit) {
  InitVips();
  Deadline deadline{std::chrono::steady_clock::now() + limit};
  VipsImage* raw = nullptr;
  // "size": down only; the thumbnail shrinks on load where the format allows (JPEG).
  if (vips_thumbnail_buffer(const_cast<char*>(bytes.data()), bytes.size(), &raw, size, "height",
                            size, "size", VIPS_SIZE_DOWN, nullptr) != 0) {
    return InvalidArgument("the image does not decode: " + VipsError());
  }
  ImagePtr thumb(raw);
  vips_image_set_progress(thumb.get(), TRUE);
  g_signal_connect(thumb.get(), "eval", G_CALLBACK(StopWhenLate), &deadline);
  void* out = nullptr;
  size_t len = 0;
  if (vips_jpegsave_buffer(thumb.get(), &out, &len, "Q", 80, "strip", TRUE, nullptr) != 0) {
    if (deadline.stopped) {
      (void)VipsError();
      return Status(StatusCode::kResourceExhausted, "decoding the image took longer than " +
                                                        std::to_string(limit.count()) +
                                                        " ms; it is refused");
    }
    return InvalidArgument("the image does not decode: " + VipsError());
  }
  std::string jpeg(static_cast<const char*>(out), len);
  g_free(out);
  return jpeg;
}

std::string SamplePhoto(int seed) {
  InitVips();
  VipsImage *xyz = nullptr, *noise = nullptr, *sum = nullptr, *rgb = nullptr, *out = nullptr;
  // Two bands of coordinates plus a band of noise, scaled into 0-255 with the seed's tint.
  const double tint = (seed * 37) % 128;
  bool ok =
      vips_xyz(&xyz, 320, 240, nullptr) == 0 &&
      vips_gaussnoise(&noise, 320, 240, "mean", tint, "sigma", 25.0, "seed", seed, nullptr) == 0 &&
      vips_bandjoin2(xyz, noise, &sum, nullptr) == 0 && vips_cast_uchar(sum, &rgb, nullptr) == 0 &&
      vips_copy(rgb, &out, "interpretation", VIPS_INTERPRETATION_sRGB, nullptr) == 0;
  std::string jpeg;
  void* buf = nullptr;
  size_t len = 0;
  if (ok && vips_jpegsave_buffer(out, &buf, &len, "Q", 75, nullptr) == 0) {
    jpeg.assign(static_cast<const char*>(buf), len);
    g_free(buf);
  }
  for (VipsImage* im : {xyz, noise, sum, rgb, out}) {
    if (im) g_object_unref(im);
  }
  return jpeg;
}

}  // namespace wangge::ingest
