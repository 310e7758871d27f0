// Shared helpers of the gpu-labelled tests: skipping without a device, random inputs, NMSE.
#ifndef SIGMA_TESTS_GPU_GPU_TEST_UTIL_H_
#define SIGMA_TESTS_GPU_GPU_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "engine/cuda/cuda_backend.h"

namespace sigma::gpu_test {

// Skips the test (with the reason) when no CUDA device is visible.
#define SIGMA_SKIP_WITHOUT_GPU()                                                          \
  do {                                                                                    \
    if (::sigma::cuda::DeviceCount() == 0) {                                              \
      GTEST_SKIP() << "no CUDA device visible (cudaGetDeviceCount failed or returned 0); " \
                      "run tests/gpu/run_device_checks.sh on a GPU machine";              \
    }                                                                                     \
  } while (0)

// The oracle checkpoints' folder: $SIGMA_TEST_DATA where set (binaries built on one machine and
// run from another checkout, as tests/gpu/run_device_checks.sh does with prebuilt binaries), else
// the source tree the binary was built from.
inline std::string OracleDir(const std::string& name) {
  const char* env = std::getenv("SIGMA_TEST_DATA");
  return std::string(env != nullptr && *env != '\0' ? env : SIGMA_TEST_DATA) + "/oracle/" + name;
}

inline std::vector<float> RandomVector(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// ||a - b||^2 / ||b||^2 in double; NaN (any NaN or size mismatch) fails every bound.
inline double Nmse(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return NAN;
  double num = 0;
  double den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) return NAN;
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  return den == 0 ? num : num / den;
}

}  // namespace sigma::gpu_test

#endif  // SIGMA_TESTS_GPU_GPU_TEST_UTIL_H_
