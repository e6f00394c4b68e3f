#include "engine/media.h"

#include "core/bytes.h"

namespace wangge::engine {
namespace {

constexpr uint8_t kInfoFormat = 1;
constexpr uint8_t kHasCapture = 1;
constexpr uint8_t kHasPosition = 2;

std::string Key(char kind, std::string_view hash) {
  std::string key(1, kind);
  key.append(hash);
  return key;
}

}  // namespace

std::string EncodeMediaInfo(const MediaInfo& info) {
  std::string out;
  PutU8(out, kInfoFormat);
  PutString(out, info.type);
  PutU64(out, info.size);
  PutU32(out, info.width);
  PutU32(out, info.height);
  PutI64(out, info.stored_at.ms);
  const bool position = info.lat && info.lon;
  PutU8(out, (info.captured_at ? kHasCapture : 0) | (position ? kHasPosition : 0));
  if (info.captured_at) PutI64(out, info.captured_at->ms);
  if (position) {
    PutF64(out, *info.lat);
    PutF64(out, *info.lon);
  }
  return out;
}

Result<MediaInfo> DecodeMediaInfo(std::string_view bytes) {
  ByteReader r(bytes);
  MediaInfo info;
  uint8_t format = 0, flags = 0;
  bool ok = r.U8(format) && format == kInfoFormat && r.String(info.type) && r.U64(info.size) &&
            r.U32(info.width) && r.U32(info.height) && r.I64(info.stored_at.ms) && r.U8(flags) &&
            flags <= (kHasCapture | kHasPosition);
  if (ok && (flags & kHasCapture)) {
    TimeMs t;
    ok = r.I64(t.ms);
    info.captured_at = t;
  }
  if (ok && (flags & kHasPosition)) {
    double lat = 0, lon = 0;
    ok = r.F64(lat) && r.F64(lon);
    info.lat = lat;
    info.lon = lon;
  }
  if (!ok || !r.done()) return Corruption("media metadata is malformed");
  return info;
}

std::string EncodeUploadState(const UploadState& u) {
  std::string out;
  PutU64(out, u.total);
  PutU64(out, u.received);
  PutI64(out, u.started_at.ms);
  return out;
}

Result<UploadState> DecodeUploadState(std::string_view bytes) {
  ByteReader r(bytes);
  UploadState u;
  if (!r.U64(u.total) || !r.U64(u.received) || !r.I64(u.started_at.ms) || !r.done() ||
      u.received > u.total) {
    return Corruption("upload state is malformed");
  }
  return u;
}

std::string MediaBytesKey(std::string_view hash) { return Key('b', hash); }
std::string MediaInfoKey(std::string_view hash) { return Key('i', hash); }
std::string MediaThumbKey(std::string_view hash, uint16_t size) {
  std::string key = Key('t', hash);
  PutU16(key, size);
  return key;
}
std::string MediaThumbPrefix(std::string_view hash) { return Key('t', hash); }
std::string MediaRefKey(std::string_view hash, std::string_view case_id) {
  std::string key = Key('r', hash);
  key.append(case_id);
  return key;
}
std::string MediaRefPrefix(std::string_view hash) { return Key('r', hash); }
std::string UploadKey(std::string_view hash) { return Key('u', hash); }
std::string PartKey(std::string_view hash, uint64_t offset) {
  std::string key = Key('p', hash);
  PutU64(key, offset);
  return key;
}
std::string PartPrefix(std::string_view hash) { return Key('p', hash); }

const std::vector<std::string>& MediaOf(const Record& record) {
  static const std::vector<std::string> kNone;
  if (const auto* r = std::get_if<Report>(&record.body)) return r->media;
  if (const auto* t = std::get_if<Transition>(&record.body)) return t->media;
  return kNone;
}

void WriteMediaRefs(storage::WriteSet& set, const Record& record, std::string_view case_id) {
  for (const auto& hash : MediaOf(record)) {
    set.Put(storage::Family::kMedia, MediaRefKey(hash, case_id), {});
  }
}

uint8_t PhotoFlags(const std::optional<MediaInfo>& info, TimeMs reported_at,
                   bool referenced_elsewhere) {
  uint8_t flags = 0;
  if (info && info->captured_at && info->captured_at->ms < reported_at.ms - kStaleCaptureMs) {
    flags |= evidence::kCapturedBeforeReport;
  }
  if (referenced_elsewhere) flags |= evidence::kReused;
  return flags;
}

std::vector<std::string_view> EvidenceFlagNames(uint8_t flags) {
  std::vector<std::string_view> names;
  if (flags & evidence::kCapturedBeforeReport) names.push_back("captured_before_report");
  if (flags & evidence::kReused) names.push_back("reused");
  if (flags & evidence::kLocationMismatch) names.push_back("location_mismatch");
  if (flags & evidence::kPhotoOutsideGrid) names.push_back("photo_outside_grid");
  return names;
}

}  // namespace wangge::engine
