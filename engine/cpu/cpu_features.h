// Run-time choice of the CPU kernel family (DESIGN.md §4).
//
// The AVX-512 kernels (files *_avx512.cc) run where the CPU reports AVX-512 F/BW/VL/DQ, BF16 and VNNI
// (every AVX512_BF16 CPU has VNNI);
// everything else uses the portable C++ kernels. SIGMA_FORCE_GENERIC=1 in the environment, or
// ForceGenericKernels(true), selects the portable kernels everywhere (tests cover both paths).
// Thread safety: the choice is one atomic; change it only while no kernel is running.
#ifndef SIGMA_ENGINE_CPU_CPU_FEATURES_H_
#define SIGMA_ENGINE_CPU_CPU_FEATURES_H_

namespace sigma {

enum class CpuIsa { kGeneric, kAvx512Bf16 };

// True where the CPU can run the *_avx512.cc kernels.
bool CpuSupportsAvx512Bf16();

// The family the kernels dispatch to now.
CpuIsa ActiveCpuIsa();

// force = true: portable kernels even on AVX-512 CPUs; false: back to the best supported.
void ForceGenericKernels(bool force);

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_CPU_FEATURES_H_
