#include "tasks/math_answer.h"

#include <cctype>
#include <vector>

#include "tasks/py_str.h"

namespace sigma::tasks::math {
namespace {

using py::FirstCharBytes;
using py::Replace;
using py::Split;

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// remove_right_units: "12\text{ cm}" -> "12"; raises (nullopt) on two "\text{ ".
std::optional<std::string> RemoveRightUnits(const std::string& s) {
  if (!Contains(s, "\\text{ ")) return s;
  std::vector<std::string> parts = Split(s, "\\text{ ");
  if (parts.size() != 2) return std::nullopt;  // assert len(splits) == 2
  return parts[0];
}

// fix_sqrt: "\sqrt3" -> "\sqrt{3}"; raises (nullopt) where "\sqrt" ends the text or is followed
// by another "\sqrt" (split[0] of an empty piece).
std::optional<std::string> FixSqrt(const std::string& s) {
  if (!Contains(s, "\\sqrt")) return s;
  std::vector<std::string> parts = Split(s, "\\sqrt");
  std::string out = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    if (part.empty()) return std::nullopt;
    if (part[0] != '{') {
      const size_t a = FirstCharBytes(part);
      out += "\\sqrt{" + part.substr(0, a) + "}" + part.substr(a);
    } else {
      out += "\\sqrt" + part;
    }
  }
  return out;
}

// fix_fracs: "\frac12" -> "\frac{1}{2}", "\frac1{72}" -> "\frac{1}{72}"; a "\frac" followed by
// one character leaves the text as it was; raises (nullopt) where "\frac" ends the text or is
// followed by another.
std::optional<std::string> FixFracs(const std::string& s) {
  std::vector<std::string> parts = Split(s, "\\frac");
  std::string out = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    out += "\\frac";
    if (part.empty()) return std::nullopt;  // substr[0] of an empty piece
    if (part[0] == '{') {
      out += part;
      continue;
    }
    if (py::Len(part) < 2) return s;
    const size_t a_end = FirstCharBytes(part);
    const size_t b_end = a_end + FirstCharBytes(std::string_view(part).substr(a_end));
    const std::string a = part.substr(0, a_end);
    const std::string b = part.substr(a_end, b_end - a_end);
    const std::string rest = part.substr(b_end);
    out += b != "{" ? "{" + a + "}{" + b + "}" + rest : "{" + a + "}" + b + rest;
  }
  return out;
}

// Python's int(text) for ASCII digits: surrounding whitespace, a sign, digits with single
// underscores between them. nullopt where int() raises ValueError.
std::optional<std::string> PythonIntText(std::string_view text) {
  text = py::Strip(text);
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  std::string digits;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      digits += c;
    } else if (c != '_' || i == 0 || i + 1 == text.size() ||
               std::isdigit(static_cast<unsigned char>(text[i + 1])) == 0 ||
               std::isdigit(static_cast<unsigned char>(text[i - 1])) == 0) {
      return std::nullopt;
    }
  }
  if (digits.empty()) return std::nullopt;
  const size_t first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? "0" : digits.substr(first);  // str(int(...))
  return negative && digits != "0" ? "-" + digits : digits;
}

// fix_a_slash_b: "3/4" -> "\frac{3}{4}" where both sides print back as the same integers;
// raises (nullopt) where a side is no integer at all.
std::optional<std::string> FixASlashB(const std::string& s) {
  std::vector<std::string> parts = Split(s, "/");
  if (parts.size() != 2) return s;
  const std::optional<std::string> a = PythonIntText(parts[0]);
  const std::optional<std::string> b = a ? PythonIntText(parts[1]) : std::nullopt;
  if (!a || !b) return std::nullopt;
  if (s != *a + "/" + *b) return s;
  return "\\frac{" + *a + "}{" + *b + "}";
}

}  // namespace

std::optional<std::string> LastBoxed(std::string_view text) {
  if (Contains(text, "\\boxed ")) {
    const std::vector<std::string> after = Split(text, "\\boxed ");
    return "\\boxed " + Split(after.back(), "$")[0];
  }
  size_t start = text.rfind("\\boxed");
  if (start == std::string_view::npos) start = text.rfind("\\fbox");
  if (start == std::string_view::npos) return std::nullopt;
  int open = 0;
  for (size_t i = start; i < text.size(); ++i) {
    if (text[i] == '{') ++open;
    if (text[i] == '}' && --open == 0) return std::string(text.substr(start, i - start + 1));
  }
  return std::nullopt;
}

StatusOr<std::string> RemoveBoxed(std::string_view boxed) {
  if (Contains(boxed, "\\boxed ")) {
    if (!StartsWith(boxed, "\\boxed ")) {
      return InvalidArgumentError("'", boxed, "' does not start with \"\\boxed \"");
    }
    return std::string(boxed.substr(7));
  }
  if (!StartsWith(boxed, "\\boxed{") || boxed.back() != '}') {
    return InvalidArgumentError("'", boxed, "' is not \\boxed{...}");
  }
  return std::string(boxed.substr(7, boxed.size() - 8));
}

StatusOr<std::string> BoxedAnswer(std::string_view solution) {
  const std::optional<std::string> boxed = LastBoxed(solution);
  if (!boxed) return InvalidArgumentError("the solution has no \\boxed{...} answer");
  return RemoveBoxed(*boxed);
}

std::optional<std::string> Normalize(std::string_view answer) {
  std::string s = Replace(answer, "\n", "");
  s = Replace(s, "\\!", "");
  s = Replace(s, "\\\\", "\\");
  s = Replace(s, "tfrac", "frac");
  s = Replace(s, "dfrac", "frac");
  s = Replace(s, "\\left", "");
  s = Replace(s, "\\right", "");
  s = Replace(s, "^{\\circ}", "");
  s = Replace(s, "^\\circ", "");
  s = Replace(s, "\\$", "");
  const std::optional<std::string> unitless = RemoveRightUnits(s);
  if (!unitless) return std::nullopt;
  s = Replace(*unitless, "\\%", "");
  s = Replace(s, "\\%", "");  // strip_string asks twice ("\\%", then "\%": the same text)
  s = Replace(s, " .", " 0.");
  s = Replace(s, "{.", "{0.");
  if (s.empty()) return s;
  if (s[0] == '.') s = "0" + s;
  const std::vector<std::string> sides = Split(s, "=");
  if (sides.size() == 2 && py::Len(sides[0]) <= 2) s = sides[1];
  const std::optional<std::string> rooted = FixSqrt(s);
  if (!rooted) return std::nullopt;
  const std::optional<std::string> fractions = FixFracs(Replace(*rooted, " ", ""));
  if (!fractions) return std::nullopt;
  s = *fractions == "0.5" ? "\\frac{1}{2}" : *fractions;
  return FixASlashB(s);
}

bool IsEquiv(std::string_view a, std::string_view b) {
  const std::optional<std::string> na = Normalize(a);
  const std::optional<std::string> nb = na ? Normalize(b) : std::nullopt;
  if (!na || !nb) return a == b;
  return *na == *nb;
}

std::string DollarSpan(std::string_view response) {
  const size_t first = response.find('$');
  const size_t last = response.rfind('$');
  if (first == std::string_view::npos || first == last) return std::string(response);
  return std::string(response.substr(first + 1, last - first - 1));
}

}  // namespace sigma::tasks::math
