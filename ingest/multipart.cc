#include "ingest/multipart.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace wangge::ingest {
namespace {

constexpr std::string_view kCrlf = "\r\n";

Status TypeError(std::string msg) { return InvalidArgument(std::move(msg), "Content-Type"); }
Status BodyError(std::string msg) { return InvalidArgument(std::move(msg), "body"); }
std::string PartLabel(size_t n) { return "part " + std::to_string(n); }

// Input echoed in a message, cut short so an error never carries a whole header.
std::string Clip(std::string_view s) {
  constexpr size_t kMax = 40;
  return s.size() <= kMax ? std::string(s) : std::string(s.substr(0, kMax)) + "...";
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

size_t SkipOws(std::string_view s, size_t i) {
  while (i < s.size() && IsOws(s[i])) ++i;
  return i;
}

// RFC 9110 tchar.
bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 2046 bchars (space included; it may not end a boundary).
bool IsBchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// A byte a quoted string may hold, bare or after a backslash: HTAB, SP, VCHAR, obs-text.
bool IsQuotable(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7F);
}

size_t TokenEnd(std::string_view s, size_t i) {
  while (i < s.size() && IsTchar(s[i])) ++i;
  return i;
}

// Reads a token or a quoted string at s[i] into `out` and moves `i` past it; false when
// neither is there. Backslash escapes are undone.
bool ReadValue(std::string_view s, size_t& i, std::string& out) {
  if (i >= s.size()) return false;
  if (s[i] != '"') {
    const size_t end = TokenEnd(s, i);
    out.assign(s.substr(i, end - i));
    i = end;
    return !out.empty();
  }
  for (++i; i < s.size(); ++i) {
    if (s[i] == '"') {
      ++i;
      return true;
    }
    if (s[i] == '\\' && ++i == s.size()) return false;
    if (!IsQuotable(s[i])) return false;
    out.push_back(s[i]);
  }
  return false;
}

struct Param {
  std::string name;  // lowercased
  std::string value;
};

// Reads the whole of `s` as `*( OWS ";" OWS [ token "=" ( token / quoted-string ) ] ) OWS`
// into `out`; false on any other syntax.
bool ReadParams(std::string_view s, std::vector<Param>& out) {
  size_t i = SkipOws(s, 0);
  while (i < s.size()) {
    if (s[i] != ';') return false;
    i = SkipOws(s, i + 1);
    if (i == s.size() || s[i] == ';') continue;
    const size_t name_end = TokenEnd(s, i);
    if (name_end == i || name_end == s.size() || s[name_end] != '=') return false;
    Param p;
    for (char c : s.substr(i, name_end - i)) p.name.push_back(Lower(c));
    i = name_end + 1;
    if (!ReadValue(s, i, p.value)) return false;
    out.push_back(std::move(p));
    i = SkipOws(s, i);
  }
  return true;
}

// Splits "type; params" into the trimmed type and the rest, which starts at the first ';'.
std::pair<std::string_view, std::string_view> SplitType(std::string_view v) {
  const size_t semi = std::min(v.find(';'), v.size());
  return {TrimOws(v.substr(0, semi)), v.substr(semi)};
}

Status CheckBoundary(std::string_view b) {
  if (b.empty() || b.size() > 70) {
    return TypeError("Content-Type boundary must be 1-70 characters, not " +
                     std::to_string(b.size()));
  }
  for (char c : b) {
    if (!IsBchar(c)) return TypeError("Content-Type boundary has a character RFC 2046 forbids");
  }
  if (b.back() == ' ') return TypeError("Content-Type boundary must not end in a space");
  return Status::Ok();
}

// What follows a "--boundary": whether it closes the body, and where the next part (or
// the epilogue) starts.
struct BoundaryEnd {
  bool closing = false;
  size_t next = 0;
};

// Reads the rest of a boundary line; `pos` is just past "--boundary", `n` the number of
// the part it would open.
Result<BoundaryEnd> EndOfBoundaryLine(std::string_view body, size_t pos, size_t n) {
  const bool closing = body.substr(pos).starts_with("--");
  if (closing) pos += 2;
  pos = SkipOws(body, pos);  // transport padding
  const std::string_view rest = body.substr(pos);
  if (rest.starts_with(kCrlf)) return BoundaryEnd{closing, pos + 2};
  if (closing && rest.empty()) return BoundaryEnd{true, pos};
  if (!closing && (rest.empty() || rest == "\r" || rest == "-")) {
    return BodyError("multipart body has no closing boundary");
  }
  if (rest.front() == '\n') {
    return BodyError("multipart boundary line ends in a bare LF; lines must end in CRLF");
  }
  if (closing) return BodyError("the closing multipart boundary has characters after it");
  return BodyError("the multipart boundary opening " + PartLabel(n) + " has characters after it");
}

// Just past the first "--boundary", which starts the body or follows the preamble's CRLF.
Result<size_t> AfterOpeningBoundary(std::string_view body, std::string_view delimiter) {
  const std::string_view dash_boundary = delimiter.substr(kCrlf.size());
  if (body.starts_with(dash_boundary)) return dash_boundary.size();
  const size_t at = body.find(delimiter);
  if (at == std::string_view::npos) return BodyError("multipart body has no opening boundary");
  return at + delimiter.size();
}

// A part's bytes split at the empty line: every header line ends in CRLF.
struct RawPart {
  std::string_view headers;
  std::string_view body;
};

Result<RawPart> SplitPart(std::string_view p, size_t n) {
  if (p.empty()) return RawPart{p, p};  // RFC 2046 allows it; ReadDisposition will not
  if (p.starts_with(kCrlf)) return RawPart{p.substr(0, 0), p.substr(2)};
  const size_t blank = p.substr(0, kMaxPartHeaderBytes + 2).find("\r\n\r\n");
  if (blank != std::string_view::npos) return RawPart{p.substr(0, blank + 2), p.substr(blank + 4)};
  // RFC 2046 lets a part end right after its headers, with no empty line and no body.
  if (p.size() <= kMaxPartHeaderBytes && p.ends_with(kCrlf)) {
    return RawPart{p, p.substr(p.size())};
  }
  if (p.size() > kMaxPartHeaderBytes)
    return BodyError(PartLabel(n) + " header block exceeds 8 KiB");
  if (p.find("\n\n") != std::string_view::npos) {
    return BodyError(PartLabel(n) + " headers end in a bare LF; lines must end in CRLF");
  }
  return BodyError(PartLabel(n) + " header block does not end with an empty line");
}

// The headers this parser reads, each at most once.
struct PartHeaders {
  std::optional<std::string_view> disposition, content_type, encoding;
};

// Checks one header line (without its CRLF) and records it in `h`.
Status ReadHeaderLine(std::string_view line, size_t n, PartHeaders& h) {
  if (line.find_first_of("\r\n") != std::string_view::npos) {
    return BodyError(PartLabel(n) + " header line has a bare CR or LF; lines must end in CRLF");
  }
  if (!line.empty() && IsOws(line.front())) {
    return BodyError(PartLabel(n) + " has a folded header line, which is not allowed");
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return BodyError(PartLabel(n) + " header line has no colon");
  const std::string_view name = line.substr(0, colon);
  if (name.empty() || TokenEnd(name, 0) != name.size()) {
    return BodyError(PartLabel(n) + " has a malformed header name");
  }
  const std::string_view value = TrimOws(line.substr(colon + 1));
  for (char c : value) {
    if (!IsQuotable(c))
      return BodyError(PartLabel(n) + " header " + Clip(name) + " has a control byte");
  }
  struct Known {
    std::string_view name;
    std::optional<std::string_view> PartHeaders::*slot;
  };
  static constexpr Known kKnown[] = {{"Content-Disposition", &PartHeaders::disposition},
                                     {"Content-Type", &PartHeaders::content_type},
                                     {"Content-Transfer-Encoding", &PartHeaders::encoding}};
  for (const Known& k : kKnown) {
    if (!EqualsIgnoreCase(name, k.name)) continue;
    if ((h.*k.slot).has_value()) {
      return BodyError(PartLabel(n) + " repeats the " + std::string(k.name) + " header");
    }
    h.*k.slot = value;
  }
  return Status::Ok();
}

// REQUIRES: every line of `block` ends in CRLF (SplitPart).
Result<PartHeaders> ReadHeaders(std::string_view block, size_t n) {
  PartHeaders h;
  while (!block.empty()) {
    const size_t eol = block.find(kCrlf);
    WANGGE_RETURN_IF_ERROR(ReadHeaderLine(block.substr(0, eol), n, h));
    block.remove_prefix(eol + kCrlf.size());
  }
  return h;
}

// Sets part.name and part.filename from a Content-Disposition value.
Status ReadDisposition(std::optional<std::string_view> value, size_t n, FormPart& part) {
  const std::string missing = PartLabel(n) + " has no Content-Disposition form-data name";
  if (!value) return BodyError(missing);
  const auto [type, rest] = SplitType(*value);
  if (!EqualsIgnoreCase(type, "form-data")) {
    return BodyError(PartLabel(n) + " Content-Disposition must be form-data, not '" + Clip(type) +
                     "'");
  }
  std::vector<Param> params;
  if (!ReadParams(rest, params)) {
    return BodyError(PartLabel(n) + " Content-Disposition has malformed parameters");
  }
  bool has_name = false, has_filename = false;
  for (Param& p : params) {
    // Others, filename* among them (RFC 7578 4.2), are ignored.
    if (p.name != "name" && p.name != "filename") continue;
    bool& seen = p.name == "name" ? has_name : has_filename;
    if (seen) return BodyError(PartLabel(n) + " Content-Disposition repeats " + p.name);
    seen = true;
    (p.name == "name" ? part.name : part.filename) = std::move(p.value);
  }
  if (!has_name) return BodyError(missing);
  if (part.name.empty()) return BodyError(PartLabel(n) + " has an empty form-data name");
  return Status::Ok();
}

// The body is passed through undecoded, so only identity encodings make sense.
Status CheckEncoding(std::optional<std::string_view> value, size_t n) {
  if (!value) return Status::Ok();
  for (std::string_view ok : {"7bit", "8bit", "binary"}) {
    if (EqualsIgnoreCase(*value, ok)) return Status::Ok();
  }
  return BodyError(PartLabel(n) + " Content-Transfer-Encoding '" + Clip(*value) +
                   "' is not supported; only 7bit, 8bit and binary are");
}

Result<FormPart> ParsePart(std::string_view bytes, size_t n) {
  WANGGE_ASSIGN_OR_RETURN(const RawPart raw, SplitPart(bytes, n));
  WANGGE_ASSIGN_OR_RETURN(const PartHeaders h, ReadHeaders(raw.headers, n));
  FormPart part;
  WANGGE_RETURN_IF_ERROR(ReadDisposition(h.disposition, n, part));
  WANGGE_RETURN_IF_ERROR(CheckEncoding(h.encoding, n));
  part.content_type = std::string(h.content_type.value_or(std::string_view()));
  part.body = raw.body;
  return part;
}

}  // namespace

Result<std::string> MultipartBoundary(std::string_view content_type) {
  const auto [type, rest] = SplitType(content_type);
  if (!EqualsIgnoreCase(type, "multipart/form-data")) {
    return TypeError("Content-Type must be multipart/form-data, not '" + Clip(type) + "'");
  }
  std::vector<Param> params;
  if (!ReadParams(rest, params)) return TypeError("Content-Type has malformed parameters");
  const Param* boundary = nullptr;
  for (const Param& p : params) {
    if (p.name != "boundary") continue;
    if (boundary != nullptr) return TypeError("Content-Type has more than one boundary");
    boundary = &p;
  }
  if (boundary == nullptr) return TypeError("boundary is missing from Content-Type");
  WANGGE_RETURN_IF_ERROR(CheckBoundary(boundary->value));
  return boundary->value;
}

Result<std::vector<FormPart>> ParseMultipart(std::string_view content_type, std::string_view body,
                                             size_t max_parts) {
  WANGGE_ASSIGN_OR_RETURN(const std::string boundary, MultipartBoundary(content_type));
  const std::string delimiter = std::string(kCrlf) + "--" + boundary;
  WANGGE_ASSIGN_OR_RETURN(size_t pos, AfterOpeningBoundary(body, delimiter));
  std::vector<FormPart> parts;
  while (true) {
    WANGGE_ASSIGN_OR_RETURN(const BoundaryEnd line, EndOfBoundaryLine(body, pos, parts.size() + 1));
    if (line.closing) return parts;
    if (parts.size() == max_parts) {
      return BodyError("multipart body has more than " + std::to_string(max_parts) + " parts");
    }
    // Searching from the CRLF that ended the boundary line: a boundary line right after
    // it ends an empty part.
    const size_t next = body.find(delimiter, line.next - kCrlf.size());
    if (next == std::string_view::npos) return BodyError("multipart body has no closing boundary");
    const size_t length = next > line.next ? next - line.next : 0;
    WANGGE_ASSIGN_OR_RETURN(FormPart part,
                            ParsePart(body.substr(line.next, length), parts.size() + 1));
    parts.push_back(std::move(part));
    pos = next + delimiter.size();
  }
}

}  // namespace wangge::ingest
