// A strict multipart/form-data reader (RFC 7578 on RFC 2046 framing) for form uploads:
// the parts of a request body as views into it, or an error that names the first problem.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace wangge::ingest {

// One part of a multipart/form-data body. `body` points into the body given to
// ParseMultipart and is valid while that body is.
struct FormPart {
  std::string name;          // from Content-Disposition: form-data; name="..."; never empty
  std::string filename;      // the filename parameter; empty when not given
  std::string content_type;  // the part's Content-Type, trimmed; empty when not given
  std::string_view body;     // the part's bytes, exactly as sent
};

// Largest header block of one part, counting each header line and its CRLF but not the
// empty line that ends the block.
inline constexpr size_t kMaxPartHeaderBytes = 8 * 1024;

// The boundary of a multipart/form-data Content-Type value: type and subtype
// case-insensitive, parameter names case-insensitive, the boundary a token or a quoted
// string (backslash escapes allowed) of 1-70 characters from RFC 2046's set, not ending
// in a space, given once. Other parameters are ignored.
// kInvalidArgument with field "Content-Type" for anything else.
Result<std::string> MultipartBoundary(std::string_view content_type);

// The parts of a multipart/form-data body, in order. `content_type` is the request's
// Content-Type header value (see MultipartBoundary).
//
// Framing is RFC 2046's and CRLF only: a bare LF where a line must end is an error, not
// accepted. Bytes before the first boundary line (preamble) and after the closing one
// (epilogue, which must follow a CRLF) are ignored; spaces and tabs after a boundary are
// transport padding. A line that starts with "--boundary" ends the part before it, so
// anything but padding, CRLF or "--" after the boundary is an error. A body whose first
// boundary is the closing one has no parts.
//
// Each part has a header block of at most kMaxPartHeaderBytes: "Name: value" lines with
// case-insensitive token names, no folding; Content-Disposition must be form-data with a
// non-empty name (filename optional), parameters as tokens or quoted strings with
// backslash escapes; Content-Type is kept as sent; Content-Transfer-Encoding may only be
// 7bit, 8bit or binary (the body is never decoded); each of these three at most once;
// other headers are ignored.
//
// Errors are kInvalidArgument, with field "Content-Type" for the header value and "body"
// for the body, and a message naming the problem and the 1-based part it is in. More
// than `max_parts` parts is an error.
Result<std::vector<FormPart>> ParseMultipart(std::string_view content_type, std::string_view body,
                                             size_t max_parts = 64);

}  // namespace wangge::ingest
