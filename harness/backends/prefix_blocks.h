// PrefixBlocks: a sequence's KV rows kept from one request to the next, so that a context or
// prompt sharing a prefix with an earlier one (a task's few-shot examples, MMLU's subject
// preamble and five dev questions, BBH's three exemplars) computes only what differs.
//
// Every context is prefilled in blocks of a fixed number of positions that start at multiples of
// it, each block its own Prefill call, and only whole blocks are reused. A block's KV rows and the
// logits after it are then a function of the tokens up to its end alone, never of which request
// left which rows in the cache: a request scores the same bits after a hit as on a fresh model,
// so a result does not depend on the order of the requests, on --limit or on a resume.
// (Reusing any common prefix and prefilling the rest in one call would not do: the engine
// promises the same bits for the same calls only. A one-token rest runs the decode kernels, which
// agree with prefill's to ~1e-5 (tests/engine/model_test.cc), and a GPU's GEMM may choose its
// tiling by the row count.)
//
// The engine backend keeps one per sequence slot: a log-likelihood context goes into slot 0, a
// generation prompt into the free slot that reuses the most of it, after copying the rows of a
// busy slot that holds more of it (requests decoding together share their few-shot prefix).
// Thread safety: not thread-safe; one sequence of one model.
#ifndef SIGMA_HARNESS_BACKENDS_PREFIX_BLOCKS_H_
#define SIGMA_HARNESS_BACKENDS_PREFIX_BLOCKS_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/forward_model.h"

namespace sigma::harness {

class PrefixBlocks {
 public:
  // Positions a block covers on the CPU. Each call reads the weights once more, which a
  // prefill's arithmetic hides: SmolLM2 on a 2-core Zen 4, alternating runs, prefilled a
  // 783-token BBH prompt at 843-1137 tok/s in blocks of 64 against 842-1044 in one call, a
  // 309-token MMLU context at 923-1280 against 909-1286. Smaller blocks would reuse more of a
  // prefix (on average half a block of it is computed again) for more calls.
  static constexpr int64_t kCpuBlock = 64;
  // On a GPU a 64-row GEMM leaves most of the arithmetic idle while it reads the weights (a
  // 1.5B bf16 model's 3 GB take ~1 ms at 3 TB/s), so a long prompt in 64-row calls would prefill
  // several times slower than in one; 256 rows is an estimate, not measured (no GPU here).
  static constexpr int64_t kGpuBlock = 256;
  // The block for a model on `device` ("cpu", "cuda"): one value per device, so a run and its
  // resume (whose fingerprint names the device) compute the same blocks.
  static int64_t BlockFor(std::string_view device) {
    return device == "cpu" ? kCpuBlock : kGpuBlock;
  }

  PrefixBlocks(int seq, int64_t block) : seq_(seq), block_(block) {}

  // Makes the sequence hold `tokens` (non-empty) and sets *last_logits to the logits after the
  // last of them; returns how many positions it computed (the others were held already). Rows
  // past tokens.size() that the caller writes later (a continuation) are not counted on. On an
  // error the sequence holds nothing this object knows of.
  StatusOr<int64_t> Fill(ForwardModel& model, std::span<const int32_t> tokens,
                         std::vector<float>* last_logits);

  // How many positions Fill(tokens) would reuse.
  int64_t Reusable(std::span<const int32_t> tokens) const;

  // Makes the sequence hold the first `length` positions that `from` (of the same block size)
  // holds, a multiple of the block as Reusable returns, copying their rows
  // (ForwardModel::CopySequence: the same bits).
  Status CopyFrom(ForwardModel& model, const PrefixBlocks& from, int64_t length);

  // The sequence was written by someone else: nothing it holds is reused.
  void Forget() { held_.clear(); }

 private:
  int seq_;
  int64_t block_;
  std::vector<int32_t> held_;  // the tokens whose rows the sequence holds, from position 0
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_BACKENDS_PREFIX_BLOCKS_H_
