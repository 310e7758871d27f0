// Quantization of float rows into GGUF blocks, for `sigma-eval convert --type` (the block layouts
// are in engine/cpu/quant_blocks.h, which decodes them).
//
// Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 as ggml's reference quantizers write them (bit for bit as the
// gguf PyPI package, their Python twin): Q8_0 and Q4_0 / Q5_0 scale by the block's largest
// magnitude, Q4_1 / Q5_1 by its min and max. MXFP4 takes the exponent of each block's largest
// magnitude less 2 (so that it maps to at most 6, E2M1's largest) and each value's nearest E2M1
// value (the first on a tie), as the gguf package does, bit for bit. IQ4_NL and IQ4_XS search each
// block's scale as llama.cpp does without an importance matrix, bit for bit (quantize.cc says
// how). The K-quants fit each sub-block's scale (and minimum) by weighted least squares over a few
// candidate mappings and quantize those to 6 bits (Q4_K / Q5_K) or 8 bits (Q6_K) against the
// super-block's f16 d (and dmin), as ggml's reference quantizers do, bit for bit
// (quantize_kquants.cc). All checked against those implementations' bytes in
// tests/engine/gguf/quantize_test.cc. Thread safety: pure functions.
#ifndef SIGMA_ENGINE_GGUF_QUANTIZE_H_
#define SIGMA_ENGINE_GGUF_QUANTIZE_H_

#include <cstdint>
#include <string>

#include "engine/dtype.h"

namespace sigma {

// Whether QuantizeRow writes `dtype`: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K to Q6_K, MXFP4, IQ4_NL,
// IQ4_XS.
bool CanQuantize(DType dtype);

// Quantizes n floats (a multiple of DTypeBlockSize(dtype)) into `dtype` blocks appended to *out.
void QuantizeRow(DType dtype, const float* x, int64_t n, std::string* out);

}  // namespace sigma

#endif  // SIGMA_ENGINE_GGUF_QUANTIZE_H_
