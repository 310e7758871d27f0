// The streaming read behind the benchmarks' bandwidth figures (engine_bench, default_model_bench):
// sums a 64-byte-aligned range with 512-bit loads where the CPU has AVX-512, else 256-bit ones
// (every x86-64 machine we run on has AVX). The sum is returned so the loads cannot be elided.
#ifndef SIGMA_TESTS_BENCH_STREAM_READ_H_
#define SIGMA_TESTS_BENCH_STREAM_READ_H_

#include <cstddef>
#include <cstdint>

namespace sigma::bench {

float SumRange(const uint8_t* p, size_t bytes);

}  // namespace sigma::bench

#endif  // SIGMA_TESTS_BENCH_STREAM_READ_H_
