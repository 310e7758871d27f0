#include "aimicius/cmdgen/embedder.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>

#include "aimicius/common/text.h"

namespace sigma::aimicius {
namespace {

uint64_t Fnv1a(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

void AddFeature(std::string_view feature, float weight, uint64_t seed, std::vector<float>* v) {
  const uint64_t h = Fnv1a(feature, seed);
  const float sign = (h >> 63) != 0 ? -1.0f : 1.0f;
  (*v)[h % HashingEmbedder::kDim] += sign * weight;
}

}  // namespace

StatusOr<std::vector<float>> HashingEmbedder::Embed(std::string_view text) {
  std::vector<float> v(kDim, 0.0f);
  const std::string lower = ToLowerAscii(ClipModelOutput(text));
  // Words: runs of characters other than whitespace and a few separators; flags keep their dashes.
  std::string word;
  auto flush = [&]() {
    if (!word.empty()) AddFeature(word, 1.0f, 1, &v);
    word.clear();
  };
  for (char c : lower) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '=' || c == '"' ||
        c == '\'' || c == '(' || c == ')' || c == ';' || c == '|') {
      flush();
    } else {
      word.push_back(c);
    }
  }
  flush();
  std::string padded(" ");
  padded.append(CollapseWhitespace(lower)).push_back(' ');
  for (size_t i = 0; i + 3 <= padded.size(); ++i) {
    AddFeature(std::string_view(padded).substr(i, 3), 0.5f, 2, &v);
  }
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (norm > 0) {
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& x : v) x *= inv;
  }
  return v;
}

StatusOr<double> Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || a.size() != b.size()) {
    return InvalidArgumentError("cosine: embedding sizes ", a.size(), " and ", b.size(),
                                " differ or are zero");
  }
  double dot = 0;
  double na = 0;
  double nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na == 0 || nb == 0) return 0.0;
  return std::clamp(dot / std::sqrt(na * nb), -1.0, 1.0);
}

}  // namespace sigma::aimicius
