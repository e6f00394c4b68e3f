// The one JSON writer: every answer, export line, feed event and message wangge writes.
// Numbers are plain decimal: integers as they are, other numbers in the shortest fixed
// notation that reads back to the same double (0.9272, 1, 22.8; never 9.272E-1 or 1E0).
#pragma once

#include <string>

#include <boost/json.hpp>

namespace wangge::wire {

// `v` as compact JSON text. A double that is not finite is written as null.
std::string WriteJson(const boost::json::value& v);

// Appends `v` to `out`.
void AppendJson(std::string& out, const boost::json::value& v);

}  // namespace wangge::wire
