#include "engine/base/unicode_tables.h"

#include <algorithm>
#include <iterator>

namespace sigma::unicode {
namespace {

struct CodeRange {
  char32_t lo, hi;  // inclusive
};
struct CombiningClassRange {
  char32_t lo, hi;  // inclusive
  uint8_t ccc;
};
struct Decomposition {
  char32_t cp;
  uint16_t offset;  // into kDecomposed
  uint8_t length;
};
struct CaseMapping {
  char32_t from, to;
};
struct MultiCaseMapping {
  char32_t from;
  uint8_t length;
  char32_t to[3];
};

#include "engine/base/unicode_tables_data.inc"

template <size_t N>
bool InRanges(const CodeRange (&ranges)[N], char32_t c) {
  const CodeRange* end = ranges + N;
  const CodeRange* it =
      std::upper_bound(ranges, end, c, [](char32_t v, const CodeRange& r) { return v < r.lo; });
  return it != ranges && c <= std::prev(it)->hi;
}

// Hangul syllable composition constants (Unicode §3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr int kVCount = 21, kTCount = 28, kSCount = 11172;

}  // namespace

const char* TableVersion() { return kUnicodeVersion; }

bool IsOther(char32_t c) { return InRanges(kOtherRanges, c); }
bool IsNonspacingMark(char32_t c) { return InRanges(kNonspacingMarkRanges, c); }
bool IsPunctuation(char32_t c) { return InRanges(kPunctuationRanges, c); }

bool IsWhitespace(char32_t c) {
  switch (c) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000: return true;
    default: return c >= 0x2000 && c <= 0x200A;
  }
}

bool IsCjkIdeograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

uint8_t CombiningClass(char32_t c) {
  const auto* begin = std::begin(kCombiningClassRanges);
  const auto* end = std::end(kCombiningClassRanges);
  const auto* it = std::upper_bound(
      begin, end, c, [](char32_t v, const CombiningClassRange& r) { return v < r.lo; });
  if (it == begin || c > std::prev(it)->hi) return 0;
  return std::prev(it)->ccc;
}

void AppendDecomposition(char32_t c, std::u32string* out) {
  if (c >= kSBase && c < kSBase + kSCount) {
    const int s = static_cast<int>(c - kSBase);
    out->push_back(kLBase + s / (kVCount * kTCount));
    out->push_back(kVBase + (s % (kVCount * kTCount)) / kTCount);
    if (s % kTCount != 0) out->push_back(kTBase + s % kTCount);
    return;
  }
  const auto* begin = std::begin(kDecompositions);
  const auto* end = std::end(kDecompositions);
  const auto* it =
      std::lower_bound(begin, end, c, [](const Decomposition& d, char32_t v) { return d.cp < v; });
  if (it == end || it->cp != c) {
    out->push_back(c);
    return;
  }
  out->append(kDecomposed + it->offset, it->length);
}

std::u32string Nfd(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) AppendDecomposition(c, &out);
  // Canonical ordering: stable-sort each run of non-starters by combining class.
  for (size_t i = 0; i < out.size();) {
    if (CombiningClass(out[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && CombiningClass(out[j]) != 0) ++j;
    std::stable_sort(out.begin() + i, out.begin() + j,
                     [](char32_t a, char32_t b) { return CombiningClass(a) < CombiningClass(b); });
    i = j;
  }
  return out;
}

void AppendLowercase(char32_t c, std::u32string* out) {
  if (c < 0x80) {
    out->push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  for (const MultiCaseMapping& m : kLowercaseMulti) {
    if (m.from == c) {
      out->append(m.to, m.length);
      return;
    }
  }
  const auto* begin = std::begin(kLowercase);
  const auto* end = std::end(kLowercase);
  const auto* it =
      std::lower_bound(begin, end, c, [](const CaseMapping& m, char32_t v) { return m.from < v; });
  out->push_back(it != end && it->from == c ? it->to : c);
}

}  // namespace sigma::unicode
