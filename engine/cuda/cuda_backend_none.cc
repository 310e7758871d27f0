// Build without CUDA: the backend reports itself unavailable. CudaModel cannot be created, so
// its other members are unreachable and abort if called.
#include "engine/cuda/cuda_backend.h"

namespace sigma::cuda {
namespace {

Status NotBuilt() {
  return UnavailableError("this sigma-eval was built without the CUDA backend (SIGMA_CUDA=OFF or "
                          "nvcc/cuBLAS not found at configure time)");
}

[[noreturn]] void Unreachable() { SIGMA_CHECK(false, "CudaModel used in a build without CUDA"); }

}  // namespace

bool Compiled() { return false; }
int DeviceCount() { return 0; }
StatusOr<std::string> DescribeDevice() { return NotBuilt(); }

StatusOr<double> ReadBandwidthGBps(int64_t, int) { return NotBuilt(); }
StatusOr<DecodeAttentionBenchResult> DecodeAttentionBenchmark(const DecodeAttentionBenchConfig&) {
  return NotBuilt();
}
StatusOr<AttentionLayerBenchResult> AttentionLayerBenchmark(const ModelConfig&, int, int64_t, int,
                                                            int) {
  return NotBuilt();
}
StatusOr<DecodeStepBenchResult> DecodeStepBenchmark(const ModelConfig&, int, int64_t, int, int) {
  return NotBuilt();
}
StatusOr<double> DecodeStepBenchmarkMs(const ModelConfig&, int, int64_t, int) { return NotBuilt(); }

struct CudaModel::Impl {};

CudaModel::CudaModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CudaModel::~CudaModel() = default;

StatusOr<std::unique_ptr<CudaModel>> CudaModel::Create(const ModelWeights&, const CudaOptions&) {
  return NotBuilt();
}
StatusOr<std::unique_ptr<CudaModel>> CudaModel::CreateRandom(const ModelConfig&,
                                                             const CudaOptions&, uint64_t) {
  return NotBuilt();
}
const ModelConfig& CudaModel::config() const { Unreachable(); }
const CudaOptions& CudaModel::options() const { Unreachable(); }
std::string CudaModel::device_name() const { Unreachable(); }
int CudaModel::num_sequences() const { Unreachable(); }
int64_t CudaModel::capacity() const { Unreachable(); }
size_t CudaModel::kv_bytes_per_token() const { Unreachable(); }
int64_t CudaModel::SequenceLength(int) const { Unreachable(); }
Status CudaModel::TruncateSequence(int, int64_t) { return NotBuilt(); }
Status CudaModel::CopySequence(int, int, int64_t) { return NotBuilt(); }
Status CudaModel::Forward(std::span<const TokenRow>, LogitsMode, std::vector<float>*) {
  return NotBuilt();
}
Status CudaModel::Prefill(int, std::span<const int32_t>, LogitsMode, std::vector<float>*) {
  return NotBuilt();
}
Status CudaModel::ForwardArgMax(std::span<const TokenRow>, LogitsMode, std::vector<int32_t>*) {
  return NotBuilt();
}
Status CudaModel::FillSyntheticContext(int, int64_t, uint64_t) { return NotBuilt(); }
Status CudaModel::set_selective_v_top_k(int) { return NotBuilt(); }

}  // namespace sigma::cuda
