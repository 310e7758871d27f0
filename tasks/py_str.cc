#include "tasks/py_str.h"

#include <algorithm>

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

}  // namespace sigma::tasks::py
