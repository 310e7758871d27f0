// Python's random.Random for an integer seed (MT19937 seeded by init_by_array, getrandbits,
// _randbelow, sample), so that a task drawing few-shot examples as lm-evaluation-harness does
// (its default sampler: random.Random(seed).sample) picks the same examples in the same order.
//
//   PyRandom rnd(1234);
//   std::vector<size_t> picks = rnd.Sample(7473, 5);  // random.Random(1234).sample(range(7473), 5)
//
// Thread safety: an instance is not thread-safe.
#ifndef SIGMA_TASKS_PY_RANDOM_H_
#define SIGMA_TASKS_PY_RANDOM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sigma::tasks::py {

class PyRandom {
 public:
  // random.Random(seed): the seed's 32-bit words, least significant first, as init_by_array's key.
  explicit PyRandom(uint64_t seed);

  // getrandbits(k) for 0 <= k <= 32.
  uint32_t GetRandBits(int k);
  // _randbelow(n): uniform in [0, n), by rejection on n.bit_length() bits; 1 <= n < 2^32.
  uint32_t RandBelow(uint32_t n);
  // sample(range(n), k): k distinct values of [0, n) in the order drawn; k <= n < 2^32. Python
  // draws from a shrinking list or, for a large n, by rejection against a set; both kept.
  std::vector<size_t> Sample(size_t n, size_t k);

 private:
  static constexpr int kN = 624;
  uint32_t Next();  // genrand_uint32
  void Twist();

  std::array<uint32_t, kN> mt_{};
  int index_ = kN;
};

}  // namespace sigma::tasks::py

#endif  // SIGMA_TASKS_PY_RANDOM_H_
