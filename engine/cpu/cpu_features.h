// Run-time choice of the CPU kernel family (DESIGN.md §4).
//
// Four families, best first:
//  - kAvx512Amx: the AVX-512 family, with the bf16 attention score pass and the Q4_0 / Q4_1 /
//    Q8_0 prefill GEMM on AMX tiles (files *_amx.cc), where the CPU reports AMX-TILE, AMX-BF16 and
//    AMX-INT8 and the kernel grants the process the tile state (Linux 5.16+, arch_prctl
//    ARCH_REQ_XCOMP_PERM);
//  - kAvx512Bf16 (files *_avx512.cc): where the CPU reports AVX-512 F/BW/VL/DQ, BF16 and VNNI
//    (every AVX512_BF16 CPU has VNNI);
//  - kAvx2 (files *_avx2.cc): where the CPU reports AVX2, FMA and F16C (e.g. Zen 2/3, Haswell+);
//  - kGeneric: the portable C++ kernels, everywhere else.
// SIGMA_FORCE_GENERIC=1 in the environment, or ForceGenericKernels(true), selects the portable
// kernels everywhere; SIGMA_CPU_ISA=generic|avx2|avx512 (or LimitCpuIsa) caps the family, e.g. to
// run the AVX2 kernels on an AVX-512 machine or the AVX-512 ones without AMX (tests cover every
// family the CPU supports).
// Thread safety: the choice is one atomic; change it only while no kernel is running.
#ifndef SIGMA_ENGINE_CPU_CPU_FEATURES_H_
#define SIGMA_ENGINE_CPU_CPU_FEATURES_H_

namespace sigma {

// Ordered: a larger value is a better family.
enum class CpuIsa { kGeneric, kAvx2, kAvx512Bf16, kAvx512Amx };

// True where the CPU can run the *_amx.cc kernels: the AVX-512 family's requirements, AMX-TILE,
// AMX-BF16 and AMX-INT8, and the tile state granted to this process (requested on the first call).
bool CpuSupportsAmx();

// True where the CPU can run the *_avx512.cc kernels.
bool CpuSupportsAvx512Bf16();

// True where the CPU can run the *_avx2.cc kernels (AVX2 + FMA + F16C).
bool CpuSupportsAvx2();

// True on an Intel CPU: kernels whose best software prefetch distances differ by vendor (the
// hardware prefetchers and latencies differ) choose theirs by it.
bool CpuIsIntel();

// True where the CPU can run `isa`'s kernels (kGeneric: always).
bool CpuSupports(CpuIsa isa);

// The family the kernels dispatch to now: the best supported one not above the cap.
CpuIsa ActiveCpuIsa();

// Caps the family at `max` (kAvx512Amx: no cap, the best supported).
void LimitCpuIsa(CpuIsa max);

// force = true: LimitCpuIsa(kGeneric); false: LimitCpuIsa(kAvx512Bf16).
void ForceGenericKernels(bool force);

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_CPU_FEATURES_H_
