#include "tasks/py_random.h"

#include <bit>
#include <cmath>
#include <unordered_set>

#include "engine/base/check.h"

namespace sigma::tasks::py {
namespace {

constexpr uint32_t kUpperMask = 0x80000000u, kLowerMask = 0x7fffffffu, kMatrixA = 0x9908b0dfu;
constexpr int kM = 397;

}  // namespace

PyRandom::PyRandom(uint64_t seed) {
  // init_genrand(19650218), then init_by_array(key) (Matsumoto and Nishimura's mt19937ar.c).
  mt_[0] = 19650218u;
  for (int i = 1; i < kN; ++i) {
    mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
  }
  std::vector<uint32_t> key = {static_cast<uint32_t>(seed)};
  if (seed >> 32 != 0) key.push_back(static_cast<uint32_t>(seed >> 32));
  int i = 1;
  size_t j = 0;
  for (size_t k = std::max<size_t>(kN, key.size()); k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] +
             static_cast<uint32_t>(j);
    ++i;
    ++j;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
    if (j >= key.size()) j = 0;
  }
  for (int k = kN - 1; k > 0; --k) {
    mt_[i] =
        (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - static_cast<uint32_t>(i);
    ++i;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
  }
  mt_[0] = 0x80000000u;
  index_ = kN;
}

void PyRandom::Twist() {
  for (int k = 0; k < kN; ++k) {
    const uint32_t y = (mt_[k] & kUpperMask) | (mt_[(k + 1) % kN] & kLowerMask);
    mt_[k] = mt_[(k + kM) % kN] ^ (y >> 1) ^ ((y & 1u) != 0 ? kMatrixA : 0u);
  }
  index_ = 0;
}

uint32_t PyRandom::Next() {
  if (index_ >= kN) Twist();
  uint32_t y = mt_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

uint32_t PyRandom::GetRandBits(int k) {
  SIGMA_CHECK(k >= 0 && k <= 32, "getrandbits: k ", k, " outside 0..32");
  if (k == 0) return 0;
  return Next() >> (32 - k);
}

uint32_t PyRandom::RandBelow(uint32_t n) {
  SIGMA_CHECK(n > 0, "randbelow: n must be positive");
  const int bits = std::bit_width(n);
  uint32_t r = GetRandBits(bits);
  while (r >= n) r = GetRandBits(bits);
  return r;
}

std::vector<size_t> PyRandom::Sample(size_t n, size_t k) {
  SIGMA_CHECK(k <= n && n < (size_t{1} << 32), "sample: k ", k, " of n ", n);
  std::vector<size_t> result(k);
  size_t setsize = 21;  // Python's estimate of a small set's size against a list's
  if (k > 5) {
    setsize += static_cast<size_t>(
        std::pow(4.0, std::ceil(std::log(static_cast<double>(k * 3)) / std::log(4.0))));
  }
  if (n <= setsize) {
    std::vector<size_t> pool(n);
    for (size_t i = 0; i < n; ++i) pool[i] = i;
    for (size_t i = 0; i < k; ++i) {
      const size_t j = RandBelow(static_cast<uint32_t>(n - i));
      result[i] = pool[j];
      pool[j] = pool[n - i - 1];
    }
  } else {
    std::unordered_set<size_t> selected;
    for (size_t i = 0; i < k; ++i) {
      size_t j = RandBelow(static_cast<uint32_t>(n));
      while (selected.count(j) > 0) j = RandBelow(static_cast<uint32_t>(n));
      selected.insert(j);
      result[i] = j;
    }
  }
  return result;
}

}  // namespace sigma::tasks::py
