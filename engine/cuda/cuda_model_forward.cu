// CudaModel::Forward and friends: validation, row staging, chunking into device steps, logits
// and argmax transfer.
#include <algorithm>

#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/cuda_model_impl.cuh"
#include "engine/cuda/decode_attention.cuh"

namespace sigma::cuda {
namespace {

constexpr int kMaxSplits = 128;

// The same checks as Model::Validate: slots, vocabulary, consecutive rows, capacity.
Status ValidateRows(const CudaModel::Impl& im, std::span<const TokenRow> rows) {
  const int seqs = im.options.max_sequences;
  std::vector<int64_t> added(static_cast<size_t>(seqs), 0);
  std::vector<bool> closed(static_cast<size_t>(seqs), false);
  int last_seq = -1;
  for (const TokenRow& row : rows) {
    if (row.seq < 0 || row.seq >= seqs) {
      return OutOfRangeError("sequence slot ", row.seq, " out of range [0, ", seqs, ")");
    }
    if (row.token < 0 || row.token >= im.config.vocab_size) {
      return OutOfRangeError("token id ", row.token, " out of range [0, ", im.config.vocab_size, ")");
    }
    const auto s = static_cast<size_t>(row.seq);
    if (row.seq != last_seq) {
      if (closed[s]) return InvalidArgumentError("rows of sequence ", row.seq, " are not consecutive");
      if (last_seq >= 0) closed[static_cast<size_t>(last_seq)] = true;
      last_seq = row.seq;
    }
    if (im.lengths[s] + ++added[s] > im.options.max_context) {
      return ResourceExhaustedError("sequence ", row.seq, " would exceed the context capacity of ",
                                    im.options.max_context, " tokens (raise --max-context)");
    }
  }
  return Status::Ok();
}

// Output of one chunk: which rows get logits, and where they go.
struct ChunkOutput {
  int logits_first = 0;
  int logits_count = 0;
  bool argmax = false;
};

// Stages rows[begin, begin + count) and runs one device step.
Status RunChunk(CudaModel::Impl& im, std::span<const TokenRow> rows,
                std::span<const int64_t> positions, const ChunkOutput& out) {
  const int n = static_cast<int>(rows.size());
  const int cap = im.options.max_rows;
  // The previous step's copy may still read the pinned staging buffer.
  SIGMA_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(im.stream));
  int64_t max_ctx = 1;
  for (int i = 0; i < n; ++i) {
    im.host_row_info[i] = rows[static_cast<size_t>(i)].token;
    im.host_row_info[cap + i] = rows[static_cast<size_t>(i)].seq;
    im.host_row_info[2 * cap + i] = static_cast<int32_t>(positions[static_cast<size_t>(i)]);
    im.host_row_info[3 * cap + i] = static_cast<int32_t>(positions[static_cast<size_t>(i)] + 1);
    max_ctx = std::max(max_ctx, positions[static_cast<size_t>(i)] + 1);
  }
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(im.row_info.data(), im.host_row_info,
                                             4 * static_cast<size_t>(cap) * sizeof(int32_t),
                                             cudaMemcpyHostToDevice, im.stream));
  const int n_q = static_cast<int>(im.config.n_q_heads);
  const int hd = static_cast<int>(im.config.head_dim);
  const int64_t per_split = AttentionPartialFloats(n, n_q, 1, hd);
  const int max_splits = static_cast<int>(std::min<int64_t>(kMaxSplits, im.partial_floats / per_split));
  StepShape s;
  s.rows = n;
  s.splits = ChooseSplits(n * im.attention_ctas_per_row, max_ctx, im.attention_resident_ctas, max_splits);
  s.logits_first = out.logits_first;
  s.logits_count = out.logits_count;
  s.argmax = out.argmax;
  s.top_k = im.options.selective_v_top_k;
  return im.RunStep(s);
}

// Runs `rows` in chunks of max_rows; after each chunk with logits, `collect(first_row_of_chunk,
// chunk_output)` copies what it needs from the device.
template <typename Collect>
Status ForwardChunks(CudaModel::Impl& im, std::span<const TokenRow> rows, LogitsMode mode,
                     bool argmax, Collect collect) {
  SIGMA_RETURN_IF_ERROR(ValidateRows(im, rows));
  std::vector<int64_t> positions(rows.size());
  std::vector<int64_t> next(im.lengths);
  for (size_t i = 0; i < rows.size(); ++i) positions[i] = next[static_cast<size_t>(rows[i].seq)]++;
  const auto n = static_cast<int>(rows.size());
  for (int begin = 0; begin < n; begin += im.options.max_rows) {
    const int count = std::min(im.options.max_rows, n - begin);
    ChunkOutput out;
    out.argmax = argmax;
    if (mode == LogitsMode::kAll) {
      out.logits_count = count;
    } else if (mode == LogitsMode::kLast && begin + count == n) {
      out.logits_first = count - 1;
      out.logits_count = 1;
    }
    SIGMA_RETURN_IF_ERROR(RunChunk(im, rows.subspan(static_cast<size_t>(begin), static_cast<size_t>(count)),
                                   std::span<const int64_t>(positions).subspan(static_cast<size_t>(begin),
                                                                               static_cast<size_t>(count)),
                                   out));
    if (out.logits_count > 0) SIGMA_RETURN_IF_ERROR(collect(begin, out));
  }
  SIGMA_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(im.stream));
  for (size_t i = 0; i < rows.size(); ++i) im.lengths[static_cast<size_t>(rows[i].seq)] = positions[i] + 1;
  return Status::Ok();
}

}  // namespace

Status CudaModel::Forward(std::span<const TokenRow> rows, LogitsMode mode,
                          std::vector<float>* logits) {
  Impl& im = *impl_;
  const int64_t vocab = im.config.vocab_size;
  if (logits == nullptr) mode = LogitsMode::kNone;
  if (logits != nullptr) {
    const size_t n = mode == LogitsMode::kAll ? rows.size() : mode == LogitsMode::kLast && !rows.empty() ? 1 : 0;
    logits->assign(n * static_cast<size_t>(vocab), 0.0f);
  }
  return ForwardChunks(im, rows, mode, false, [&](int begin, const ChunkOutput& out) -> Status {
    float* dst = logits->data() + (mode == LogitsMode::kAll ? int64_t{begin} * vocab : 0);
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, im.logits.data(),
                                               static_cast<size_t>(out.logits_count * vocab) * sizeof(float),
                                               cudaMemcpyDeviceToHost, im.stream));
    SIGMA_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(im.stream));
    return Status::Ok();
  });
}

Status CudaModel::Prefill(int seq, std::span<const int32_t> tokens, LogitsMode mode,
                          std::vector<float>* logits) {
  std::vector<TokenRow> rows(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) rows[i] = TokenRow{seq, tokens[i]};
  return Forward(rows, mode, logits);
}

Status CudaModel::ForwardArgMax(std::span<const TokenRow> rows, LogitsMode mode,
                                std::vector<int32_t>* ids) {
  if (mode == LogitsMode::kNone) return InvalidArgumentError("ForwardArgMax: mode must be kLast or kAll");
  Impl& im = *impl_;
  ids->assign(mode == LogitsMode::kAll ? rows.size() : rows.empty() ? 0 : 1, 0);
  return ForwardChunks(im, rows, mode, true, [&](int begin, const ChunkOutput& out) -> Status {
    int32_t* dst = ids->data() + (mode == LogitsMode::kAll ? begin : 0);
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, im.ids.data(),
                                               static_cast<size_t>(out.logits_count) * sizeof(int32_t),
                                               cudaMemcpyDeviceToHost, im.stream));
    SIGMA_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(im.stream));
    return Status::Ok();
  });
}

}  // namespace sigma::cuda
