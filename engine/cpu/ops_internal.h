// Internal to engine/cpu: per-ISA versions of the element-wise ops of ops.h.
#ifndef SIGMA_ENGINE_CPU_OPS_INTERNAL_H_
#define SIGMA_ENGINE_CPU_OPS_INTERNAL_H_

#include <cstdint>

namespace sigma::internal {

// SiluMul with AVX2 + FMA (ops_avx2.cc); only called where CpuSupportsAvx2().
void SiluMulAvx2(float* gate, const float* up, int64_t n);
// GeluTanhMul with AVX2 + FMA (ops_avx2.cc); only called where CpuSupportsAvx2().
void GeluTanhMulAvx2(float* gate, const float* up, int64_t n);
// SoftCap with AVX2 + FMA (ops_avx2.cc); only called where CpuSupportsAvx2().
void SoftCapAvx2(float* x, int64_t n, float cap);

// sum_i x[i]^2 in double (each square exact), in four interleaved vector sums of four lanes, then
// the tail; only called where CpuSupportsAvx2().
double SumSquaresAvx2(const float* x, int64_t n);

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_OPS_INTERNAL_H_
