// The order selective V ranks attention scores by, as an unsigned key shared by the CPU top-k
// selection and the CUDA radix select: a larger score has a larger key, -0 and +0 have the same
// key (a tie, which the later position wins), and NaN ranks above every number.
#ifndef SIGMA_ENGINE_SCORE_ORDER_H_
#define SIGMA_ENGINE_SCORE_ORDER_H_

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define SIGMA_HOST_DEVICE __host__ __device__
#else
#define SIGMA_HOST_DEVICE
#endif

namespace sigma {

SIGMA_HOST_DEVICE inline uint32_t ScoreOrderKey(float score) {
  if (score != score) return 0xffffffffu;  // NaN
  if (score == 0.0f) score = 0.0f;         // -0 -> +0
  uint32_t bits;
  std::memcpy(&bits, &score, sizeof bits);
  return (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
}

}  // namespace sigma

#undef SIGMA_HOST_DEVICE

#endif  // SIGMA_ENGINE_SCORE_ORDER_H_
