#include "engine/cpu/read_bandwidth.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/base/check.h"

namespace sigma {
namespace {

__attribute__((target("avx512f"))) float Sum512(const uint8_t* p, size_t bytes) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 256 <= bytes; i += 256) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(reinterpret_cast<const float*>(p + i)));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(reinterpret_cast<const float*>(p + i + 64)));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(reinterpret_cast<const float*>(p + i + 128)));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(reinterpret_cast<const float*>(p + i + 192)));
  }
  // Stored and summed like Sum256 (GCC 12's _mm512_reduce_add_ps warns -Wuninitialized inside).
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  float sum = 0.0f;
  for (float v : lanes) sum += v;
  return sum;
}

__attribute__((target("avx"))) float Sum256(const uint8_t* p, size_t bytes) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= bytes; i += 128) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(reinterpret_cast<const float*>(p + i)));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(reinterpret_cast<const float*>(p + i + 32)));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(reinterpret_cast<const float*>(p + i + 64)));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(reinterpret_cast<const float*>(p + i + 96)));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  float sum = 0.0f;
  for (float v : lanes) sum += v;
  return sum;
}

}  // namespace

float SumAsFloats(const uint8_t* p, size_t bytes) {
  SIGMA_CHECK(bytes % 256 == 0 && reinterpret_cast<uintptr_t>(p) % 64 == 0,
              "SumAsFloats: ", bytes, " bytes at a ", reinterpret_cast<uintptr_t>(p) % 64,
              " mod 64 address");
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512 ? Sum512(p, bytes) : Sum256(p, bytes);
}

ReadBandwidthProbe::ReadBandwidthProbe(size_t bytes)
    : bytes_(std::max<size_t>(1, (bytes + kPieceBytes - 1) / kPieceBytes) * kPieceBytes) {
  StatusOr<LargeBuffer> buffer = LargeBuffer::Allocate(bytes_, /*huge_pages=*/true);
  SIGMA_CHECK(buffer.ok(), "ReadBandwidthProbe: ", buffer.status().message());
  data_ = std::move(buffer).value();
  // Small finite floats (0x01010101 is 2.4e-38), so the sums stay finite.
  std::memset(data_.data(), 1, bytes_);
}

double ReadBandwidthProbe::Measure(ThreadPool& pool, int passes) {
  SIGMA_CHECK(passes >= 1, "ReadBandwidthProbe::Measure: passes ", passes);
  const auto pieces = static_cast<int64_t>(bytes_ / kPieceBytes);
  std::vector<float> sums(static_cast<size_t>(pool.size()), 0.0f);
  double best = 0;
  for (int i = 0; i < passes; ++i) {
    const auto start = std::chrono::steady_clock::now();
    pool.ParallelFor(pieces, [&](int64_t t, int worker) {
      sums[static_cast<size_t>(worker)] += SumAsFloats(data_.data() + t * kPieceBytes, kPieceBytes);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(bytes_) / s / 1e9);
  }
  // Keep the sums observable so the passes cannot be dropped.
  volatile float sink = 0.0f;
  for (float v : sums) sink = sink + v;
  return best;
}

ReadBandwidthBracket::ReadBandwidthBracket(ReadBandwidthProbe& probe, ThreadPool& pool, int passes)
    : probe_(probe), pool_(pool), passes_(passes), before_(probe.Measure(pool, passes)) {}

double ReadBandwidthBracket::End() { return (before_ + probe_.Measure(pool_, passes_)) / 2; }

}  // namespace sigma
