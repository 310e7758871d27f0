// ForwardModel: the device-neutral face of a loaded model — a forward pass over token rows with a
// KV cache of several sequence slots — that generation, log-likelihood and the harness's engine
// backend are written against, so the same code runs on the CPU (engine/model.h's Model) and on
// a CUDA device (engine/cuda/cuda_model.h's CudaModel).
//
// Contract (both implementations): Forward() runs any set of rows; rows of one sequence are
// consecutive and in position order, and each row's position is the sequence's current length,
// which advances as rows are run. Logits per LogitsMode go to *logits, row-major [rows, vocab]
// (kAll) or [vocab] (kLast), float32. A call that would overflow a slot's capacity or names a
// token outside the vocabulary fails without side effects.
//
//   SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<ForwardModel> m, LoadForwardModel(path, options));
//   SIGMA_RETURN_IF_ERROR(m->Prefill(0, prompt, LogitsMode::kLast, &logits));
//
// Device-specific controls (selective V top-k changes, profiling, argmax on the device) stay on
// the concrete classes. One virtual call per Forward; implementations are `final`.
// Thread safety: implementations are not thread-safe; one caller at a time.
#ifndef SIGMA_ENGINE_FORWARD_MODEL_H_
#define SIGMA_ENGINE_FORWARD_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/base/status.h"
#include "engine/dtype.h"
#include "engine/loader/model_config.h"

namespace sigma {

enum class LogitsMode {
  kNone,  // only fill the cache
  kLast,  // logits of the last row: [vocab]
  kAll,   // logits of every row: [rows, vocab]
};

// One token to run: appended to sequence `seq` at its current length.
struct TokenRow {
  int seq = 0;
  int32_t token = 0;
};

class ForwardModel {
 public:
  virtual ~ForwardModel() = default;

  virtual const ModelConfig& config() const = 0;
  int64_t vocab_size() const { return config().vocab_size; }
  virtual int num_sequences() const = 0;          // KV cache slots
  virtual int64_t capacity() const = 0;           // positions per slot
  virtual DType kv_dtype() const = 0;             // KV cache element type
  virtual size_t kv_bytes_per_token() const = 0;  // K + V over all layers

  virtual int64_t SequenceLength(int seq) const = 0;
  // Forgets positions >= length (they are overwritten by the next rows). 0 empties the slot.
  virtual Status TruncateSequence(int seq, int64_t length) = 0;
  // Makes `to` hold the first `length` positions of `from` (shared-context continuations).
  virtual Status CopySequence(int from, int to, int64_t length) = 0;

  // Runs `rows`; logits per `mode` go to *logits (resized; may be null with kNone).
  virtual Status Forward(std::span<const TokenRow> rows, LogitsMode mode,
                         std::vector<float>* logits) = 0;
  // Forward of a prompt on one sequence.
  virtual Status Prefill(int seq, std::span<const int32_t> tokens, LogitsMode mode,
                         std::vector<float>* logits) = 0;

  // Benchmark support: sequence `seq` holds `length` positions of deterministic pseudo-random K
  // and V rows (unit-scale values), as if a prompt of that length had been run.
  virtual Status FillSyntheticContext(int seq, int64_t length, uint64_t seed) = 0;
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_FORWARD_MODEL_H_
