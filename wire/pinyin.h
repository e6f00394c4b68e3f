// Pinyin initials of Chinese text, for search boxes that take "hjws" for 环境卫生.
#pragma once

#include <string>
#include <string_view>

namespace wangge::wire {

// The initials of `utf8`: for each CJK Unified Ideograph (U+4E00-U+9FFF) the first letter
// of its first Mandarin reading (Unihan kMandarin; polyphonic characters take that one),
// for each ASCII letter or digit itself in lowercase; everything else is left out.
// "矛盾纠纷·邻里纠纷" -> "mdjflljf". Thread-safe.
std::string PinyinInitials(std::string_view utf8);

namespace internal {
extern const char kPinyinInitials[];  // wire/pinyin_table.cc
}  // namespace internal

}  // namespace wangge::wire
