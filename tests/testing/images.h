// Photos for tests, made with libvips: noise (so that each seed gives other bytes) in
// JPEG, PNG, WebP or HEIC, optionally with an EXIF block written byte by byte.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vips/vips.h>

namespace wangge::testing {

struct ExifFields {
  std::string taken;        // "YYYY:MM:DD HH:MM:SS"
  double lat = 0, lon = 0;  // north and east
};

namespace images_detail {

inline void Put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v));
}
inline void Put32(std::string& s, uint32_t v) {
  Put16(s, static_cast<uint16_t>(v >> 16));
  Put16(s, static_cast<uint16_t>(v));
}
inline void Entry(std::string& s, uint16_t tag, uint16_t type, uint32_t count, uint32_t value) {
  Put16(s, tag);
  Put16(s, type);
  Put32(s, count);
  Put32(s, value);
}
inline void Dms(std::string& s, double deg) {
  const auto d = static_cast<uint32_t>(deg);
  const double m_full = (deg - d) * 60;
  const auto m = static_cast<uint32_t>(m_full);
  const auto sec_milli = static_cast<uint32_t>((m_full - m) * 60 * 1000 + 0.5);
  Put32(s, d), Put32(s, 1), Put32(s, m), Put32(s, 1), Put32(s, sec_milli), Put32(s, 1000);
}

// An APP1 EXIF segment (big-endian TIFF): IFD0 -> Exif IFD (DateTimeOriginal) and GPS IFD.
inline std::string ExifSegment(const ExifFields& f) {
  std::string t = "MM";
  Put16(t, 42);
  Put32(t, 8);
  // IFD0 at 8: two pointers; 30 bytes, ends at 38.
  Put16(t, 2);
  Entry(t, 0x8769, 4, 1, 38);  // Exif IFD
  Entry(t, 0x8825, 4, 1, 76);  // GPS IFD
  Put32(t, 0);
  // Exif IFD at 38: DateTimeOriginal, its 20 bytes at 56.
  Put16(t, 1);
  Entry(t, 0x9003, 2, 20, 56);
  Put32(t, 0);
  t += f.taken.substr(0, 19);
  t.resize(76, '\0');
  // GPS IFD at 76: 54 bytes, its rationals at 130 and 154.
  Put16(t, 4);
  Entry(t, 0x0001, 2, 2, static_cast<uint32_t>('N') << 24);
  Entry(t, 0x0002, 5, 3, 130);
  Entry(t, 0x0003, 2, 2, static_cast<uint32_t>('E') << 24);
  Entry(t, 0x0004, 5, 3, 154);
  Put32(t, 0);
  Dms(t, f.lat);
  Dms(t, f.lon);
  std::string seg = "\xFF\xE1";
  Put16(seg, static_cast<uint16_t>(2 + 6 + t.size()));
  seg += std::string("Exif\0\0", 6);
  return seg + t;
}

}  // namespace images_detail

// An image of `width` x `height` noise from `seed`, saved as `format` ("jpeg", "png",
// "webp", "heic"). A JPEG gets `exif` right after its start marker.
inline std::string MakeImage(const std::string& format, int width, int height, int seed,
                             const std::optional<ExifFields>& exif = std::nullopt) {
  static const bool started = VIPS_INIT("wangge-test") == 0;
  if (!started) throw std::runtime_error("libvips did not start");
  VipsImage *noise = nullptr, *rgb = nullptr;
  if (vips_gaussnoise(&noise, width, height, "mean", 128.0, "sigma", 40.0, "seed", seed, nullptr) ||
      vips_cast_uchar(noise, &rgb, nullptr)) {
    throw std::runtime_error(vips_error_buffer());
  }
  g_object_unref(noise);
  void* buf = nullptr;
  size_t len = 0;
  int r = format == "jpeg"   ? vips_jpegsave_buffer(rgb, &buf, &len, "Q", 70, nullptr)
          : format == "png"  ? vips_pngsave_buffer(rgb, &buf, &len, nullptr)
          : format == "webp" ? vips_webpsave_buffer(rgb, &buf, &len, nullptr)
                             : vips_heifsave_buffer(rgb, &buf, &len, "compression",
                                                    VIPS_FOREIGN_HEIF_COMPRESSION_HEVC, nullptr);
  g_object_unref(rgb);
  if (r != 0) throw std::runtime_error(vips_error_buffer());
  std::string out(static_cast<const char*>(buf), len);
  g_free(buf);
  if (exif && format == "jpeg") out.insert(2, images_detail::ExifSegment(*exif));
  return out;
}

}  // namespace wangge::testing
