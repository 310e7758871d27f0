#include "tasks/py_str.h"

#include <algorithm>
#include <cstdint>

#include "engine/base/unicode_tables.h"

namespace sigma::tasks::py {
namespace {

bool Continues(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

size_t Len(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return !Continues(c); }));
}

size_t FirstCharBytes(std::string_view s) {
  if (s.empty()) return 0;
  size_t n = 1;
  while (n < s.size() && Continues(s[n])) ++n;
  return n;
}

std::string Replace(std::string_view s, std::string_view old, std::string_view with) {
  std::string out;
  size_t pos = 0;
  for (size_t at = s.find(old); at != std::string_view::npos; at = s.find(old, pos)) {
    out.append(s.substr(pos, at - pos)).append(with);
    pos = at + old.size();
  }
  return out.append(s.substr(pos));
}

std::vector<std::string> Split(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t at = s.find(sep); at != std::string_view::npos; at = s.find(sep, pos)) {
    out.emplace_back(s.substr(pos, at - pos));
    pos = at + sep.size();
  }
  out.emplace_back(s.substr(pos));
  return out;
}

namespace {

// The code point of the well-formed UTF-8 sequence s[begin, end), or -1.
int32_t Decode(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  if (s.size() == 1 && b(0) < 0x80) return b(0);
  if (s.size() == 2 && (b(0) & 0xE0) == 0xC0 && Continues(s[1])) {
    const int32_t c = ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    return c >= 0x80 ? c : -1;
  }
  if (s.size() == 3 && (b(0) & 0xF0) == 0xE0 && Continues(s[1]) && Continues(s[2])) {
    const int32_t c = ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    return c >= 0x800 ? c : -1;
  }
  return -1;  // no space character needs four bytes
}

bool IsSpace(int32_t c) {
  return c >= 0 && ((c >= 0x1C && c <= 0x1F) || unicode::IsWhitespace(static_cast<char32_t>(c)));
}

}  // namespace

std::string_view LStrip(std::string_view s) {
  while (!s.empty() && IsSpace(Decode(s.substr(0, FirstCharBytes(s))))) {
    s.remove_prefix(FirstCharBytes(s));
  }
  return s;
}

std::string_view RStrip(std::string_view s) {
  while (!s.empty()) {
    size_t start = s.size() - 1;
    while (start > 0 && s.size() - start < 4 && Continues(s[start])) --start;
    if (!IsSpace(Decode(s.substr(start)))) break;
    s.remove_suffix(s.size() - start);
  }
  return s;
}

std::string_view Strip(std::string_view s) { return RStrip(LStrip(s)); }

}  // namespace sigma::tasks::py
