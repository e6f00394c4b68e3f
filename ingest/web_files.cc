#include "ingest/web_files.h"

#include <map>
#include <zlib.h>

#include "core/sha256.h"

namespace wangge::ingest {
namespace {

std::string_view ContentTypeOf(std::string_view name) {
  const auto ends = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".webmanifest")) return "application/manifest+json";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

using Assets = std::map<std::string, WebAsset, std::less<>>;

// `body` as a gzip member (RFC 1952) at the best compression.
std::string Gzip(std::string_view body) {
  z_stream z{};
  // 15 window bits, +16 for the gzip wrapper; memory level 9.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    return {};
  }
  std::string out(deflateBound(&z, static_cast<uLong>(body.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  z.avail_in = static_cast<uInt>(body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string();
}

Assets BuildAssets(const std::vector<EmbeddedFile>& files) {
  Assets assets;
  Sha256 sha;
  for (const EmbeddedFile& f : files) {
    const std::string hex = HexOf(sha.Of(f.body, ""));
    WebAsset a{f.body, ContentTypeOf(f.name), "\"" + hex.substr(0, 32) + "\"", Gzip(f.body), ""};
    // Worth it only when it saves something (an SVG icon may not).
    if (a.gzip.empty() || a.gzip.size() >= f.body.size()) a.gzip.clear();
    if (!a.gzip.empty()) a.gzip_etag = "\"" + hex.substr(0, 32) + "-gz\"";
    assets[std::string(f.name)] = std::move(a);
  }
  return assets;
}

}  // namespace

const WebAsset* FindWebAsset(WebApp app, std::string_view name) {
  static const Assets dashboard = BuildAssets(kDashboardFiles);
  static const Assets field_app = BuildAssets(kFieldAppFiles);
  const Assets& assets = app == WebApp::kDashboard ? dashboard : field_app;
  if (name.empty()) name = "index.html";
  const auto it = assets.find(name);
  return it == assets.end() ? nullptr : &it->second;
}

}  // namespace wangge::ingest
