// Photos as images: their type by magic bytes, their pixel size and EXIF capture time and
// position, read without decoding pixels, and JPEG thumbnails. libvips decodes (JPEG,
// PNG, WebP, HEIC through libheif); libexif reads EXIF. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "engine/media.h"

namespace wangge::ingest {

// "image/jpeg", "image/png", "image/webp" or "image/heic" by the file's first bytes;
// nullopt for anything else.
std::optional<std::string> SniffImageType(std::string_view bytes);

// Why ProbeImage refused a file: a type it does not take, more pixels than allowed, or
// a file whose header does not read.
enum class ImageProblem { kNone, kType, kPixels, kMalformed };

struct ImageProbe {
  ImageProblem problem = ImageProblem::kNone;
  std::string message;
  engine::MediaInfo info;  // type, size, width, height, capture time and position
};

// Reads the type, the pixel size (from the header only: a decompression bomb is refused
// before any pixel is decoded) and EXIF of `bytes`. Capture times without a zone are read
// as `exif_offset` (China: +08:00).
ImageProbe ProbeImage(std::string_view bytes, uint64_t max_pixels,
                      std::chrono::minutes exif_offset = std::chrono::minutes{480});

// A JPEG whose longer side is at most `size` pixels (never enlarged). kInvalidArgument: the
// image does not decode. kResourceExhausted: decoding took longer than `limit` and was
// stopped (an image crafted to be slow, however few its pixels).
Result<std::string> Thumbnail(std::string_view bytes, int size,
                              std::chrono::milliseconds limit = std::chrono::seconds(10));

// A small generated photo for demo data: a 320 x 240 JPEG of a colour gradient with noise,
// different for each `seed`.
std::string SamplePhoto(int seed);

// EXIF capture time and GPS position of a JPEG (or any file carrying an EXIF block).
// Exposed for the fuzz target; ProbeImage calls it.
void ReadExif(std::string_view bytes, std::chrono::minutes offset, engine::MediaInfo& info);

}  // namespace wangge::ingest
