// Helpers shared by the CPU kernel tests: random data, dtype encoding, and a fixture that runs a
// test once per kernel family (portable and, where the CPU has them, AVX2, AVX-512 and AMX).
#ifndef SIGMA_TESTS_ENGINE_CPU_CPU_TEST_UTIL_H_
#define SIGMA_TESTS_ENGINE_CPU_CPU_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu/cpu_features.h"
#include "engine/dtype.h"

namespace sigma::testing_util {

inline std::vector<float> RandomFloats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Values stored as `dtype` (f32, f16, bf16): raw bytes, and the exact values they hold.
struct Encoded {
  std::vector<uint8_t> bytes;
  std::vector<float> values;
};

inline Encoded Encode(const std::vector<float>& x, DType dtype) {
  Encoded e;
  e.values.resize(x.size());
  if (dtype == DType::kF32) {
    e.bytes.resize(x.size() * 4);
    std::memcpy(e.bytes.data(), x.data(), e.bytes.size());
    e.values = x;
    return e;
  }
  e.bytes.resize(x.size() * 2);
  for (size_t i = 0; i < x.size(); ++i) {
    const uint16_t bits = dtype == DType::kF16 ? F32ToF16(x[i]) : F32ToBf16(x[i]);
    std::memcpy(e.bytes.data() + 2 * i, &bits, 2);
    e.values[i] = dtype == DType::kF16 ? F16ToF32(bits) : Bf16ToF32(bits);
  }
  return e;
}

// Parameter: the kernel family to run (capped with LimitCpuIsa); skips where the CPU lacks it.
class KernelPathTest : public ::testing::TestWithParam<CpuIsa> {
 protected:
  void SetUp() override {
    if (!CpuSupports(GetParam())) GTEST_SKIP() << "the CPU lacks this kernel family";
    LimitCpuIsa(GetParam());
    ASSERT_EQ(ActiveCpuIsa(), GetParam());
  }
  void TearDown() override { ForceGenericKernels(false); }
};

// Every kernel family, for INSTANTIATE_TEST_SUITE_P(Paths, Suite, AllPaths(), PathName).
inline auto AllPaths() {
  return ::testing::Values(CpuIsa::kGeneric, CpuIsa::kAvx2, CpuIsa::kAvx512Bf16,
                           CpuIsa::kAvx512Amx);
}

inline std::string PathName(const ::testing::TestParamInfo<CpuIsa>& info) {
  switch (info.param) {
    case CpuIsa::kGeneric: return "Generic";
    case CpuIsa::kAvx2: return "Avx2";
    case CpuIsa::kAvx512Bf16: return "Avx512";
    case CpuIsa::kAvx512Amx: return "Avx512Amx";
  }
  return "Unknown";
}

}  // namespace sigma::testing_util

#endif  // SIGMA_TESTS_ENGINE_CPU_CPU_TEST_UTIL_H_
