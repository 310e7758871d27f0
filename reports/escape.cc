#include "reports/escape.h"

#include <cstdint>
#include <cstdio>

#include "engine/base/json.h"

namespace sigma::reports {
namespace {

// Length of the valid UTF-8 sequence at bytes[i] (1..4), or 0 when the byte starts none.
size_t Utf8Length(std::string_view bytes, size_t i, uint32_t* cp) {
  const auto c = static_cast<unsigned char>(bytes[i]);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c < 0xC2 || c > 0xF4) return 0;
  const size_t len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (i + len > bytes.size()) return 0;
  uint32_t value = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(bytes[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    value = (value << 6) | (b & 0x3F);
  }
  if ((len == 3 && value < 0x800) || (len == 4 && value < 0x10000)) return 0;  // overlong
  if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;      // surrogate
  *cp = value;
  return len;
}

// Code points that render invisibly or reorder text: shown as \u{NNNN}.
bool IsHiddenFormat(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF;
}

void AppendHex(const char* format, unsigned value, std::string* out) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), format, value);
  out->append(buf);
}

void AppendAscii(char c, EscapeMode mode, std::string* out) {
  if (mode == EscapeMode::kTerminal) {
    out->push_back(c);
    return;
  }
  switch (c) {
    case '&': out->append("&amp;"); return;
    case '<': out->append("&lt;"); return;
    case '>': out->append("&gt;"); return;
    default: break;
  }
  // Quotes matter only inside HTML attribute values; in Markdown text they stay readable.
  if (mode == EscapeMode::kHtml && (c == '"' || c == '\'')) {
    out->append(c == '"' ? "&quot;" : "&#39;");
    return;
  }
  if (mode == EscapeMode::kMarkdown) {
    switch (c) {
      case '\n': out->append(" \xE2\x8F\x8E "); return;  // " ⏎ "
      case '\t': out->push_back(' '); return;
      case '|': case '`': case '*': case '_': case '[': case ']': case '\\':
        out->push_back('\\');
        break;
      default: break;
    }
  }
  out->push_back(c);
}

}  // namespace

size_t Escape(std::string_view bytes, EscapeMode mode, std::string* out, size_t max_bytes) {
  const size_t limit = max_bytes < bytes.size() ? max_bytes : bytes.size();
  size_t i = 0;
  while (i < limit) {
    uint32_t cp = 0;
    const size_t len = Utf8Length(bytes, i, &cp);
    if (len > 1 && i + len > limit) break;  // do not cut a character
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (len == 0) {
      AppendHex("\\x%02x", c, out);
      ++i;
    } else if (len == 1) {
      const bool crlf = c == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n';
      if (crlf) {
        // CR of a CR LF pair: the LF that follows makes the line break.
      } else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) {
        AppendHex("\\x%02x", c, out);
      } else {
        AppendAscii(static_cast<char>(c), mode, out);
      }
      ++i;
    } else {
      if (IsHiddenFormat(cp)) {
        AppendHex("\\u{%04x}", cp, out);
      } else {
        out->append(bytes.substr(i, len));
      }
      i += len;
    }
  }
  return i;
}

std::string HtmlEscape(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  Escape(bytes, EscapeMode::kHtml, &out);
  return out;
}

std::string MarkdownEscape(std::string_view bytes) {
  std::string out;
  Escape(bytes, EscapeMode::kMarkdown, &out);
  return out;
}

std::string TerminalEscape(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  Escape(bytes, EscapeMode::kTerminal, &out);
  return out;
}

std::string ScriptSafeJson(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<') {
      out.append("\\u003c");
    } else if (c == '>') {
      out.append("\\u003e");
    } else if (c == '&') {
      out.append("\\u0026");
    } else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
               (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      out.append(json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029");
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace sigma::reports
