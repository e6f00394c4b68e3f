// QR codes as SVG (libqrencode), for the field app's login: a supervisor prints one per
// worker (`wangge token add --qr FILE.svg`), and the phone's camera opens the app with the
// token in the link.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace wangge::ingest {

// An SVG document of `text` (8-bit mode, error correction level M, a quiet zone of four
// modules), each module `module_px` pixels, black on white, with `caption` under it when
// not empty. kInvalidArgument when the text does not fit a QR code (over ~2,300 bytes).
Result<std::string> QrSvg(std::string_view text, std::string_view caption = {}, int module_px = 6);

// The link a login QR code carries: the app's URL with the token in its fragment, which
// the app keeps and then drops from the address bar (the fragment is never sent to a
// server). kInvalidArgument naming "app-url" unless it is an http(s) URL ending in /app/.
Result<std::string> AppLoginLink(std::string_view app_url, std::string_view token);

}  // namespace wangge::ingest
