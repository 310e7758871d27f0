// Run-time choice of the CPU kernel family: CPU feature checks and the cap (cpu_features.h).
#include "engine/cpu/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace sigma {
namespace {

// The cap from the environment: SIGMA_FORCE_GENERIC (set and not "0") wins, then SIGMA_CPU_ISA.
CpuIsa EnvCap() {
  const char* force = std::getenv("SIGMA_FORCE_GENERIC");
  if (force != nullptr && force[0] != '\0' && std::strcmp(force, "0") != 0) return CpuIsa::kGeneric;
  const char* isa = std::getenv("SIGMA_CPU_ISA");
  if (isa != nullptr) {
    if (std::strcmp(isa, "generic") == 0) return CpuIsa::kGeneric;
    if (std::strcmp(isa, "avx2") == 0) return CpuIsa::kAvx2;
  }
  return CpuIsa::kAvx512Bf16;
}

std::atomic<CpuIsa>& Cap() {
  static std::atomic<CpuIsa> cap{EnvCap()};
  return cap;
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

bool CpuSupportsAvx2() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
  }();
  return supported;
#else
  return false;
#endif
}

bool CpuIsIntel() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool intel = [] {
    __builtin_cpu_init();
    return __builtin_cpu_is("intel") != 0;
  }();
  return intel;
#else
  return false;
#endif
}

bool CpuSupports(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kAvx512Bf16: return CpuSupportsAvx512Bf16();
    case CpuIsa::kAvx2: return CpuSupportsAvx2();
    case CpuIsa::kGeneric: return true;
  }
  return false;
}

CpuIsa ActiveCpuIsa() {
  const CpuIsa cap = Cap().load(std::memory_order_relaxed);
  if (cap >= CpuIsa::kAvx512Bf16 && CpuSupportsAvx512Bf16()) return CpuIsa::kAvx512Bf16;
  if (cap >= CpuIsa::kAvx2 && CpuSupportsAvx2()) return CpuIsa::kAvx2;
  return CpuIsa::kGeneric;
}

void LimitCpuIsa(CpuIsa max) { Cap().store(max, std::memory_order_relaxed); }

void ForceGenericKernels(bool force) {
  LimitCpuIsa(force ? CpuIsa::kGeneric : CpuIsa::kAvx512Bf16);
}

}  // namespace sigma
