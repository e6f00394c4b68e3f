#include "wire/pinyin.h"

#include <cstdint>

namespace wangge::wire {

std::string PinyinInitials(std::string_view utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size();) {
    const auto b = static_cast<unsigned char>(utf8[i]);
    if (b < 0x80) {
      if ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')) out += static_cast<char>(b);
      if (b >= 'A' && b <= 'Z') out += static_cast<char>(b - 'A' + 'a');
      ++i;
      continue;
    }
    // Three-byte sequences hold U+0800-U+FFFF, the unified ideographs among them.
    if ((b & 0xF0) == 0xE0 && i + 2 < utf8.size()) {
      const uint32_t cp = (uint32_t{b} & 0x0F) << 12 |
                          (static_cast<unsigned char>(utf8[i + 1]) & 0x3Fu) << 6 |
                          (static_cast<unsigned char>(utf8[i + 2]) & 0x3Fu);
      if (cp >= 0x4E00 && cp <= 0x9FFF) {
        const char letter = internal::kPinyinInitials[cp - 0x4E00];
        if (letter != '-') out += letter;
      }
      i += 3;
      continue;
    }
    ++i;  // a byte of another sequence, or a stray one
  }
  return out;
}

}  // namespace wangge::wire
