#include "io/media_files.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <simdjson.h>

#include "audit/evidence.h"
#include "core/files.h"
#include "core/sha256.h"
#include "engine/media.h"
#include "wire/case_json.h"
#include "wire/json_writer.h"

namespace wangge::io {
namespace {

namespace fs = std::filesystem;

Status WriteFile(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return IOError("cannot write '" + path.string() + "'");
  return Status::Ok();
}

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IOError("cannot read '" + path.string() + "'");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// MediaInfo from the HASH.json that ExportMedia wrote.
Result<engine::MediaInfo> ReadInfo(const fs::path& path) {
  WANGGE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  engine::MediaInfo info;
  std::string_view type, stored_at;
  uint64_t width = 0, height = 0;
  auto bad = [&] { return InvalidArgument(path.string() + ": not a photo's metadata", "media"); };
  if (parser.parse(text).get(doc) || doc["type"].get_string().get(type) ||
      doc["size"].get_uint64().get(info.size) || doc["width"].get_uint64().get(width) ||
      doc["height"].get_uint64().get(height) || doc["stored_at"].get_string().get(stored_at) ||
      width > UINT32_MAX || height > UINT32_MAX) {
    return bad();
  }
  info.type = std::string(type);
  info.width = static_cast<uint32_t>(width);
  info.height = static_cast<uint32_t>(height);
  auto stored = ParseRfc3339(stored_at);
  if (!stored.ok()) return bad();
  info.stored_at = *stored;
  std::string_view captured;
  if (!doc["captured_at"].get_string().get(captured)) {
    auto t = ParseRfc3339(captured);
    if (!t.ok()) return bad();
    info.captured_at = *t;
  }
  double lat = 0, lon = 0;
  if (!doc["captured_lat"].get_double().get(lat) && !doc["captured_lon"].get_double().get(lon)) {
    info.lat = lat;
    info.lon = lon;
  }
  return info;
}

}  // namespace

std::string MediaFolderOf(const std::string& export_file) { return export_file + ".media"; }

Result<MediaFilesReport> ExportMedia(const engine::Engine& engine, std::optional<TimeMs> from,
                                     std::optional<TimeMs> to, const std::string& folder) {
  WANGGE_ASSIGN_OR_RETURN(auto hashes, audit::ReferencedMedia(engine, from, to));
  MediaFilesReport report;
  for (const auto& hash : hashes) {
    WANGGE_ASSIGN_OR_RETURN(auto info, engine.GetMediaInfo(hash));
    WANGGE_ASSIGN_OR_RETURN(auto bytes, engine.GetMediaBytes(hash));
    if (!info || !bytes) {
      ++report.missing;
      continue;
    }
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) return IOError("cannot create '" + folder + "': " + ec.message());
    WANGGE_RETURN_IF_ERROR(WriteFile(fs::path(folder) / hash, *bytes));
    WANGGE_RETURN_IF_ERROR(WriteFile(fs::path(folder) / (hash + ".json"),
                                     wire::WriteJson(wire::MediaJson(hash, *info))));
    ++report.written;
  }
  return report;
}

// One photo file of a folder: its bytes, checked against its name and its metadata.
Result<std::pair<std::string, engine::MediaInfo>> ReadPhoto(const fs::path& file,
                                                            const std::string& hash) {
  WANGGE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(file));
  if (Sha256Hex(bytes) != hash) {
    return InvalidArgument(file.string() + ": its bytes do not hash to its name", "media");
  }
  WANGGE_ASSIGN_OR_RETURN(engine::MediaInfo info, ReadInfo(file.string() + ".json"));
  if (info.size != bytes.size()) {
    return InvalidArgument(file.string() + ".json: size differs from the file's", "media");
  }
  return std::make_pair(std::move(bytes), std::move(info));
}

Status CheckMediaFolder(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return Status::Ok();
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (!engine::ValidateMedia({name}).ok()) continue;  // HASH.json and anything else
    WANGGE_RETURN_IF_ERROR(ReadPhoto(entry.path(), name).status());
  }
  if (ec) return IOError("cannot read '" + folder + "': " + ec.message());
  return Status::Ok();
}

Result<MediaFilesReport> ImportMedia(engine::Engine& engine, const std::string& folder) {
  WANGGE_ASSIGN_OR_RETURN(auto hashes, audit::ReferencedMedia(engine));
  MediaFilesReport report;
  for (const auto& hash : hashes) {
    const fs::path file = fs::path(folder) / hash;
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      ++report.missing;
      continue;
    }
    WANGGE_ASSIGN_OR_RETURN(auto photo, ReadPhoto(file, hash));
    WANGGE_RETURN_IF_ERROR(engine.StoreMedia(hash, std::move(photo.first), photo.second).status());
    ++report.written;
  }
  return report;
}

}  // namespace wangge::io
