#include "engine/dtype.h"

namespace sigma {

std::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "f32";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
    case DType::kQ8_0: return "q8_0";
    case DType::kQ4_0: return "q4_0";
    case DType::kQ4_1: return "q4_1";
    case DType::kQ4_K: return "q4_k";
    case DType::kQ5_0: return "q5_0";
    case DType::kQ5_1: return "q5_1";
    case DType::kQ5_K: return "q5_k";
    case DType::kQ6_K: return "q6_k";
    case DType::kQ8_K: return "q8_k";
    case DType::kQ2_K: return "q2_k";
    case DType::kQ3_K: return "q3_k";
    case DType::kMXFP4: return "mxfp4";
    case DType::kIQ4_NL: return "iq4_nl";
    case DType::kIQ4_XS: return "iq4_xs";
  }
  return "unknown";
}

int64_t DTypeBlockSize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16: return 1;
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kMXFP4:
    case DType::kIQ4_NL: return 32;
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kQ8_K:
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kIQ4_XS: return 256;
  }
  return 1;
}

int64_t DTypeBlockBytes(DType dtype) {
  switch (dtype) {
    case DType::kF32: return 4;
    case DType::kF16:
    case DType::kBF16: return 2;
    case DType::kQ8_0: return 2 + 32;
    case DType::kQ4_0: return 2 + 16;
    case DType::kQ4_1: return 2 + 2 + 16;
    case DType::kQ5_0: return 2 + 4 + 16;
    case DType::kQ5_1: return 2 + 2 + 4 + 16;
    case DType::kQ4_K: return 2 + 2 + 12 + 128;
    case DType::kQ5_K: return 2 + 2 + 12 + 32 + 128;
    case DType::kQ6_K: return 128 + 64 + 16 + 2;
    case DType::kQ8_K: return 4 + 256 + 32;
    case DType::kQ2_K: return 16 + 64 + 2 + 2;
    case DType::kQ3_K: return 32 + 64 + 12 + 2;
    case DType::kMXFP4: return 1 + 16;
    case DType::kIQ4_NL: return 2 + 16;
    case DType::kIQ4_XS: return 2 + 2 + 4 + 128;
  }
  return 0;
}

}  // namespace sigma
