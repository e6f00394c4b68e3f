#include "ingest/web_files.h"

#include <map>

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

Assets BuildAssets(const std::vector<EmbeddedFile>& files) {
  Assets assets;
  Sha256 sha;
  for (const EmbeddedFile& f : files) {
    const std::string hex = HexOf(sha.Of(f.body, ""));
    assets[std::string(f.name)] =
        WebAsset{f.body, ContentTypeOf(f.name), "\"" + hex.substr(0, 32) + "\""};
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
