#include "ingest/qr_code.h"

#include <memory>
#include <qrencode.h>

#include <fmt/format.h>

namespace wangge::ingest {
namespace {

constexpr int kQuiet = 4;  // modules of white around the code (ISO/IEC 18004)

std::string EscapeXml(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

Result<std::string> QrSvg(std::string_view text, std::string_view caption, int module_px) {
  const std::string data(text);
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString8bit(data.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  if (!code) return InvalidArgument("the text does not fit a QR code", "text");
  const int n = code->width;
  const int side = (n + 2 * kQuiet) * module_px;
  const int text_h = caption.empty() ? 0 : 3 * module_px + 14;
  std::string path;
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      // The low bit of each byte is the module's colour (1: dark).
      if (code->data[y * n + x] & 1) {
        path += fmt::format("M{},{}h{}v{}h-{}z", (x + kQuiet) * module_px, (y + kQuiet) * module_px,
                            module_px, module_px, module_px);
      }
    }
  }
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" "
      "shape-rendering=\"crispEdges\">\n<rect width=\"{0}\" height=\"{1}\" fill=\"#fff\"/>\n"
      "<path fill=\"#000\" d=\"{2}\"/>\n",
      side, side + text_h, path);
  if (!caption.empty()) {
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"14\" "
        "text-anchor=\"middle\">{}</text>\n",
        side / 2, side + text_h / 2, EscapeXml(caption));
  }
  return svg + "</svg>\n";
}

Result<std::string> AppLoginLink(std::string_view app_url, std::string_view token) {
  const bool http = app_url.starts_with("http://") || app_url.starts_with("https://");
  if (!http || !app_url.ends_with("/app/") ||
      app_url.find_first_of("#? ") != std::string_view::npos) {
    return InvalidArgument(
        "--app-url must be the app's http(s) address ending in /app/, e.g. "
        "http://192.168.1.10:8080/app/",
        "app-url");
  }
  return std::string(app_url) + "#token=" + std::string(token);
}

}  // namespace wangge::ingest
