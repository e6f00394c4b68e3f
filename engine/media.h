// Photos kept as evidence: how they live in the media family, and what is known of each.
// The bytes are content-addressed by SHA-256 (lowercase hex, engine/domain.h
// ValidateMedia) and immutable; records reference them by hash, so the log's chain covers
// them. Keys (docs/storage-format.md):
//   "b" hash                 -> the file (a blob file: RocksDB's integrated BlobDB)
//   "i" hash                 -> MediaInfo
//   "t" hash size (u16 BE)   -> a JPEG thumbnail whose longer side is at most `size`
//   "r" hash case id         -> empty: the case references the photo (derived from the log)
//   "u" hash                 -> UploadState of an incomplete resumable upload
//   "p" hash offset (u64 BE) -> one received part of that upload
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "engine/domain.h"
#include "storage/store.h"

namespace wangge::engine {

// What is known of a stored photo: from its bytes when it was stored (type, size, pixel
// size, EXIF capture time and position), and when.
struct MediaInfo {
  std::string type;  // "image/jpeg", "image/png", "image/webp", "image/heic"
  uint64_t size = 0;
  uint32_t width = 0;
  uint32_t height = 0;
  TimeMs stored_at;
  std::optional<TimeMs> captured_at;  // EXIF DateTimeOriginal
  std::optional<double> lat, lon;     // EXIF GPS, WGS 84
  friend bool operator==(const MediaInfo&, const MediaInfo&) = default;
};
std::string EncodeMediaInfo(const MediaInfo& info);
// kCorruption: bytes EncodeMediaInfo did not write.
Result<MediaInfo> DecodeMediaInfo(std::string_view bytes);

// An incomplete resumable upload: its total size, the bytes received from the start
// without a gap, and when it began (it expires 24 h later).
struct UploadState {
  uint64_t total = 0;
  uint64_t received = 0;
  TimeMs started_at;
};
std::string EncodeUploadState(const UploadState& u);
Result<UploadState> DecodeUploadState(std::string_view bytes);

std::string MediaBytesKey(std::string_view hash);
std::string MediaInfoKey(std::string_view hash);
std::string MediaThumbKey(std::string_view hash, uint16_t size);
std::string MediaThumbPrefix(std::string_view hash);
std::string MediaRefKey(std::string_view hash, std::string_view case_id);
std::string MediaRefPrefix(std::string_view hash);
std::string UploadKey(std::string_view hash);
std::string PartKey(std::string_view hash, uint64_t offset);
std::string PartPrefix(std::string_view hash);

// Evidence flags of a photo, and of a record or case (or-ed over its photos). Persisted in
// records and cases: bits are never reused. Flags never block a report.
namespace evidence {
inline constexpr uint8_t kCapturedBeforeReport = 1;  // EXIF time > 24 h before the report
inline constexpr uint8_t kReused = 2;                // another case references the photo
// The report's position is more than kMismatchM outside the grid it names, or outside
// every grid (reports only; engine/sequencer.h).
inline constexpr uint8_t kLocationMismatch = 4;
// A photo's EXIF position is more than kPhotoFarM outside its case's grid.
inline constexpr uint8_t kPhotoOutsideGrid = 8;
inline constexpr uint8_t kAll = 15;
}  // namespace evidence
// How far outside its named grid a report's position may be without a flag, and a photo's.
inline constexpr double kMismatchM = 200;
inline constexpr double kPhotoFarM = 500;
// How long before its report a photo may have been taken without a flag.
inline constexpr int64_t kStaleCaptureMs = int64_t{24} * 3600 * 1000;

// A photo's flags, given what is known of it, its case's report time and whether a case
// other than its own references it.
uint8_t PhotoFlags(const std::optional<MediaInfo>& info, TimeMs reported_at,
                   bool referenced_elsewhere);
// "captured_before_report", "reused", "location_mismatch", "photo_outside_grid", in bit
// order.
std::vector<std::string_view> EvidenceFlagNames(uint8_t flags);

// The photos a record carries: a report's or a transition's; empty for any other.
const std::vector<std::string>& MediaOf(const Record& record);

// Adds the reference entries of `record` (a record of case `case_id`) to `set`.
void WriteMediaRefs(storage::WriteSet& set, const Record& record, std::string_view case_id);

}  // namespace wangge::engine
