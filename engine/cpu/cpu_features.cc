// Run-time choice of the CPU kernel family: CPU feature checks and the cap (cpu_features.h).
#include "engine/cpu/cpu_features.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

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
    if (std::strcmp(isa, "avx512") == 0) return CpuIsa::kAvx512Bf16;
  }
  return CpuIsa::kAvx512Amx;
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

bool CpuSupportsAmx() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool supported = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!CpuSupportsAvx512Bf16() || !__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    constexpr unsigned kAmxBf16 = 1u << 22, kAmxTile = 1u << 24, kAmxInt8 = 1u << 25;  // (7,0):EDX
    if ((edx & kAmxBf16) == 0 || (edx & kAmxTile) == 0 || (edx & kAmxInt8) == 0) return false;
    // The OS must manage the tile state (XCR0 bits 17 and 18: XTILECFG, XTILEDATA) and, on Linux,
    // grant it to the process before its first tile instruction.
    unsigned xcr0_lo = 0, xcr0_hi = 0;
    __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & (3u << 17)) != (3u << 17)) return false;
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
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
    case CpuIsa::kAvx512Amx: return CpuSupportsAmx();
    case CpuIsa::kAvx512Bf16: return CpuSupportsAvx512Bf16();
    case CpuIsa::kAvx2: return CpuSupportsAvx2();
    case CpuIsa::kGeneric: return true;
  }
  return false;
}

CpuIsa ActiveCpuIsa() {
  const CpuIsa cap = Cap().load(std::memory_order_relaxed);
  if (cap >= CpuIsa::kAvx512Amx && CpuSupportsAmx()) return CpuIsa::kAvx512Amx;
  if (cap >= CpuIsa::kAvx512Bf16 && CpuSupportsAvx512Bf16()) return CpuIsa::kAvx512Bf16;
  if (cap >= CpuIsa::kAvx2 && CpuSupportsAvx2()) return CpuIsa::kAvx2;
  return CpuIsa::kGeneric;
}

void LimitCpuIsa(CpuIsa max) { Cap().store(max, std::memory_order_relaxed); }

void ForceGenericKernels(bool force) { LimitCpuIsa(force ? CpuIsa::kGeneric : CpuIsa::kAvx512Amx); }

}  // namespace sigma
