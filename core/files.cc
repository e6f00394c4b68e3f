#include "core/files.h"

#include <fstream>
#include <sstream>

namespace wangge {

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path + "'");
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return IOError("reading '" + path + "' failed");
  return buf.str();
}

}  // namespace wangge
