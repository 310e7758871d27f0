#include "engine/tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace sigma {
namespace {

// Unicode White_Space, as a character-class body.
constexpr std::string_view kWhiteSpaceClass =
    R"(\t\n\x0B\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// Rewrites \s and \S (outside classes) to the White_Space set; see the header.
std::string RewriteWhitespace(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char n = pattern[i + 1];
      ++i;
      if (n == 's') {
        if (in_class) {
          out.append(kWhiteSpaceClass);
        } else {
          out.append("[").append(kWhiteSpaceClass).append("]");
        }
        continue;
      }
      if (n == 'S' && !in_class) {
        out.append("[^").append(kWhiteSpaceClass).append("]");
        continue;
      }
      out.push_back('\\');
      out.push_back(n);
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out.push_back(c);
      // A ']' or '^]' right after the opening bracket is literal.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out.push_back(pattern[++i]);
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out.push_back(c);
  }
  return out;
}

pcre2_code* Code(void* p) { return static_cast<pcre2_code*>(p); }

}  // namespace

StatusOr<std::shared_ptr<const RegexSplitter>> RegexSplitter::Compile(std::string_view pattern) {
  const std::string rewritten = RewriteWhitespace(pattern);
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error,
                                   &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return InvalidArgumentError("pre-tokenizer regex '", pattern,
                                "': ", reinterpret_cast<const char*>(message), " at offset ",
                                error_offset);
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional: falls back to the interpreter
  std::shared_ptr<RegexSplitter> splitter(new RegexSplitter());
  splitter->pattern_ = std::string(pattern);
  splitter->code_ = code;
  return std::shared_ptr<const RegexSplitter>(std::move(splitter));
}

RegexSplitter::~RegexSplitter() { pcre2_code_free(Code(code_)); }

void RegexSplitter::Split(std::string_view text, std::vector<std::string_view>* out) const {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(Code(code_), nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t last = 0;
  size_t offset = 0;
  while (offset < text.size()) {
    int rc = pcre2_match(Code(code_), subject, text.size(), offset, 0, md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(Code(code_), subject, text.size(), offset, PCRE2_NO_JIT, md, nullptr);
    }
    if (rc < 0) break;  // no match (or a resource error): the rest is one piece
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t start = ov[0], end = ov[1];
    if (end <= start) {  // empty match: step over one character
      uint32_t cp;
      bool valid;
      offset = start + Utf8Next(text, start, &cp, &valid);
      continue;
    }
    if (start > last) out->push_back(text.substr(last, start - last));
    out->push_back(text.substr(start, end - start));
    last = offset = end;
  }
  if (last < text.size()) out->push_back(text.substr(last));
  pcre2_match_data_free(md);
}

const ByteLevelMap& ByteLevelMap::Get() {
  static const ByteLevelMap* map = new ByteLevelMap();
  return *map;
}

ByteLevelMap::ByteLevelMap() {
  decode_.assign(512, -1);
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    const uint32_t cp = printable ? b : next++;
    AppendUtf8(cp, &encoded_[b]);
    decode_[cp] = b;
  }
}

std::string ByteLevelMap::EncodeAll(std::string_view bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out.append(encoded_[static_cast<uint8_t>(c)]);
  return out;
}

size_t Utf8Next(std::string_view text, size_t pos, uint32_t* code_point, bool* valid) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  const uint8_t c = s[pos];
  *valid = false;
  *code_point = c;
  if (c < 0x80) {
    *valid = true;
    return 1;
  }
  size_t len;
  uint32_t cp, min;
  if ((c & 0xe0) == 0xc0) {
    len = 2, cp = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, cp = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 1;
  }
  if (pos + len > n) return 1;
  for (size_t k = 1; k < len; ++k) {
    if ((s[pos + k] & 0xc0) != 0x80) return 1;
    cp = (cp << 6) | (s[pos + k] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 1;
  *code_point = cp;
  *valid = true;
  return len;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace sigma
