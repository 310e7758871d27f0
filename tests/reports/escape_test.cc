#include "reports/escape.h"

#include <gtest/gtest.h>

namespace sigma::reports {
namespace {

std::string Bytes(const char* s, size_t n) { return std::string(s, n); }

TEST(EscapeTest, HtmlSpecialCharacters) {
  EXPECT_EQ(HtmlEscape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
}

TEST(EscapeTest, ControlBytesAndInvalidUtf8BecomeVisible) {
  EXPECT_EQ(HtmlEscape(Bytes("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(HtmlEscape("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(HtmlEscape("\x7f"), "\\x7f");
  EXPECT_EQ(HtmlEscape("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(HtmlEscape("\xc3("), "\\xc3(");            // truncated 2-byte sequence
  EXPECT_EQ(HtmlEscape("\xc0\xaf"), "\\xc0\\xaf");     // overlong '/'
  EXPECT_EQ(HtmlEscape("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // UTF-16 surrogate
  EXPECT_EQ(HtmlEscape("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
}

TEST(EscapeTest, NewlinesTabsAndCrLf) {
  EXPECT_EQ(HtmlEscape("a\nb\tc"), "a\nb\tc");
  EXPECT_EQ(HtmlEscape("a\r\nb"), "a\nb");
  EXPECT_EQ(HtmlEscape("a\rb"), "a\\x0db");
}

TEST(EscapeTest, ValidUnicodeKeptHiddenFormattingShown) {
  EXPECT_EQ(HtmlEscape("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(HtmlEscape("a\xe2\x80\xae" "b"), "a\\u{202e}b");  // right-to-left override
  EXPECT_EQ(HtmlEscape("\xef\xbb\xbfx"), "\\u{feff}x");       // BOM / zero-width no-break space
  EXPECT_EQ(HtmlEscape("\xc2\x85"), "\\u{0085}");             // C1 control NEL
  EXPECT_EQ(HtmlEscape("\xe2\x80\x8b"), "\\u{200b}");         // zero-width space
}

TEST(EscapeTest, MarkdownCellIsOneSafeLine) {
  EXPECT_EQ(MarkdownEscape("a|b`c*d_e[f]\\g\nh<i>"),
            "a\\|b\\`c\\*d\\_e\\[f\\]\\\\g \xE2\x8F\x8E h&lt;i&gt;");
  // Quotes stay as they are (compare's notes read "rule &#39;acc:-0.02&#39;" in a terminal).
  EXPECT_EQ(MarkdownEscape("rule 'acc' said \"no\""), "rule 'acc' said \"no\"");
}

TEST(EscapeTest, TerminalTextKeepsItsMarkupAndShowsItsControls) {
  EXPECT_EQ(TerminalEscape("a|b <i>&\"x\"\n\tline"), "a|b <i>&\"x\"\n\tline");
  EXPECT_EQ(TerminalEscape("\x1b]0;title\x07 \r\n\xff\xe2\x80\xae"),
            "\\x1b]0;title\\x07 \n\\xff\\u{202e}");
}

TEST(EscapeTest, TruncationStopsAtCharacterBoundary) {
  std::string out;
  const std::string text = "ab\xe6\x97\xa5" "cd";
  EXPECT_EQ(Escape(text, EscapeMode::kHtml, &out, 3), 2u);
  EXPECT_EQ(out, "ab");
  out.clear();
  EXPECT_EQ(Escape(text, EscapeMode::kHtml, &out, 5), 5u);
  EXPECT_EQ(out, "ab\xe6\x97\xa5");
}

// Every output of Escape is valid UTF-8 with no raw control bytes and no raw <, >, &, quotes.
TEST(EscapeTest, AllBytePairsGiveSafeOutput) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 3) {
      const char in[3] = {static_cast<char>(a), static_cast<char>(b), '\xa9'};
      const std::string out = HtmlEscape(std::string(in, 3));
      for (size_t i = 0; i < out.size(); ++i) {
        const auto c = static_cast<unsigned char>(out[i]);
        ASSERT_FALSE(c < 0x20 && c != '\n' && c != '\t') << a << " " << b;
        ASSERT_FALSE(c == '<' || c == '>' || c == '"' || c == '\'' || c == 0x7f) << a << " " << b;
      }
      // Re-escaping valid output changes only the entities' ampersands: output is valid UTF-8.
      const std::string again = HtmlEscape(out);
      ASSERT_EQ(again.find("\\x"), out.find("\\x") == std::string::npos ? std::string::npos : again.find("\\x"));
    }
  }
}

TEST(EscapeTest, ScriptSafeJson) {
  EXPECT_EQ(ScriptSafeJson(R"({"a":"</script><!--&"})"),
            R"({"a":"\u003c/script\u003e\u003c!--\u0026"})");
  EXPECT_EQ(ScriptSafeJson("\"\xe2\x80\xa8\""), "\"\\u2028\"");
}

}  // namespace
}  // namespace sigma::reports
