#include "engine/cpu/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace sigma {
namespace {

bool EnvForcesGeneric() {
  const char* value = std::getenv("SIGMA_FORCE_GENERIC");
  return value != nullptr && value[0] != '\0' && std::strcmp(value, "0") != 0;
}

std::atomic<bool>& ForceFlag() {
  static std::atomic<bool> force{EnvForcesGeneric()};
  return force;
}

}  // namespace

bool CpuSupportsAvx512Bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vnni") &&
           __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
  }();
  return supported;
#else
  return false;
#endif
}

CpuIsa ActiveCpuIsa() {
  if (ForceFlag().load(std::memory_order_relaxed) || !CpuSupportsAvx512Bf16()) {
    return CpuIsa::kGeneric;
  }
  return CpuIsa::kAvx512Bf16;
}

void ForceGenericKernels(bool force) { ForceFlag().store(force, std::memory_order_relaxed); }

}  // namespace sigma
