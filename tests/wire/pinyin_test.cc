#include "wire/pinyin.h"

#include <gtest/gtest.h>

namespace wangge::wire {
namespace {

// Expected values from the readings, written out by hand.
TEST(PinyinTest, InitialsOfChineseTextAndItsLettersAndDigits) {
  EXPECT_EQ(PinyinInitials("环境卫生"), "hjws");         // huán jìng wèi shēng
  EXPECT_EQ(PinyinInitials("矛盾纠纷·邻里纠纷"), "mdjflljf");  // lín lǐ; the dot is left out
  EXPECT_EQ(PinyinInitials("违章搭建"), "wzdj");
  EXPECT_EQ(PinyinInitials("占道经营"), "zdjy");
  EXPECT_EQ(PinyinInitials("V07 网格3"), "v07wg3");
  EXPECT_EQ(PinyinInitials(""), "");
  // The first and last ideographs of the range; a character outside it; broken UTF-8.
  EXPECT_EQ(PinyinInitials("一"), "y");
  EXPECT_EQ(PinyinInitials("\xE9\xBF\xBF"), "");  // U+9FFF has no reading
  EXPECT_EQ(PinyinInitials("😀漂"), "p");
  EXPECT_EQ(PinyinInitials("\xE6\xB2"), "");      // a cut sequence
  EXPECT_EQ(PinyinInitials("\xFF" "a"), "a");
}

}  // namespace
}  // namespace wangge::wire
