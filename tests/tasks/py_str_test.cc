// Python's str operations on UTF-8 (tasks/py_str.h), against what CPython 3.11 gives.
#include "tasks/py_str.h"

#include <gtest/gtest.h>

namespace sigma::tasks::py {
namespace {

TEST(PyStrTest, StripTakesWhatStrIsspaceHolds) {
  // "\u3000x\u00a0" .strip() == "x"; "\x1c" is a space to Python (not Unicode White_Space).
  EXPECT_EQ(Strip("\xe3\x80\x80x\xc2\xa0"), "x");
  EXPECT_EQ(Strip("\x1c\x1fx y\t\n\v\f\r "), "x y");
  EXPECT_EQ(Strip("\xe2\x80\xa8x\xe2\x80\x89"), "x");  // U+2028, U+2009
  EXPECT_EQ(Strip("\xe2\x80\x8bx"), "\xe2\x80\x8bx");  // U+200B is no space
  EXPECT_EQ(Strip("\x80 x \xc2"), "\x80 x \xc2");      // invalid bytes are kept
  EXPECT_EQ(Strip(" \xc2\x85"), "");                   // U+0085
  EXPECT_EQ(LStrip("\xc2\xa0 x "), "x ");
  EXPECT_EQ(RStrip(" x\xe3\x80\x80\x1c"), " x");  // " x\u3000\x1c".rstrip()
  EXPECT_EQ(RStrip("x\xe2\x80\x8b"), "x\xe2\x80\x8b");
  EXPECT_EQ(Strip(""), "");
}

TEST(PyStrTest, LenReplaceSplitAsPython) {
  EXPECT_EQ(Len("caf\xc3\xa9 \xf0\x9f\x99\x82"), 6u);  // len("café 🙂")
  EXPECT_EQ(FirstCharBytes("\xc3\xa9x"), 2u);
  EXPECT_EQ(FirstCharBytes(""), 0u);
  EXPECT_EQ(Replace("aaa", "aa", "b"), "ba");  // left to right, not overlapping
  EXPECT_EQ(Replace("  x   y", "  ", " "), " x  y");
  EXPECT_EQ(Split("a=b=", "="), (std::vector<std::string>{"a", "b", ""}));
  EXPECT_EQ(Split("ab", "="), (std::vector<std::string>{"ab"}));
}

}  // namespace
}  // namespace sigma::tasks::py
