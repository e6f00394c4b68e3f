// Whole files: read one, or replace one so that a crash leaves the old or the new, never
// a torn one.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace wangge {

// The whole file. kNotFound: it cannot be opened; kIOError: reading failed.
Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace wangge
