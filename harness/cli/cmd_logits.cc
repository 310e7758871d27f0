// sigma-eval logits: float32 little-endian logits [position, vocab] of one forward pass, the
// format of the oracle fixtures (tests/data/oracle), on the CPU or (--device cuda) a CUDA device.
#include <algorithm>
#include <bit>
#include <cstdio>
#include <optional>

#include "engine/base/file.h"
#include "engine/language_model.h"
#include "harness/cli/commands.h"
#include "harness/cli/engine_flags.h"

namespace sigma::cli {
namespace {

Status Logits(const EngineFlags& engine, const std::string& prompt_ids, const std::string& out) {
  if (out.empty()) return InvalidArgumentError("--out: required");
  SIGMA_RETURN_IF_ERROR(CheckOutputNotADatabase(out));
  SIGMA_ASSIGN_OR_RETURN(std::vector<int64_t> ids, ParseIntList(prompt_ids, "prompt-ids"));
  if (ids.empty()) return InvalidArgumentError("--prompt-ids: required (e.g. 1,2,3)");
  SIGMA_ASSIGN_OR_RETURN(EngineOptions options, engine.ToOptions());
  options.max_context = std::max<int64_t>(options.max_context, static_cast<int64_t>(ids.size()));
  SIGMA_ASSIGN_OR_RETURN(auto model, LoadForwardModel(engine.model, options));
  SIGMA_ASSIGN_OR_RETURN(const std::vector<int32_t> tokens,
                         TokenIdsInVocabulary(ids, model->vocab_size(), "prompt-ids"));
  std::vector<float> logits;
  SIGMA_RETURN_IF_ERROR(model->Prefill(0, tokens, LogitsMode::kAll, &logits));
  static_assert(std::endian::native == std::endian::little, "logits files are little-endian");
  SIGMA_RETURN_IF_ERROR(WriteFileAtomic(
      out, std::string_view(reinterpret_cast<const char*>(logits.data()), logits.size() * 4)));
  std::fprintf(stderr, "wrote %zu x %lld float32 logits to %s\n", tokens.size(),
               static_cast<long long>(model->vocab_size()), out.c_str());
  return Status::Ok();
}

}  // namespace

int RunLogits(const Args& args) {
  EngineFlags engine;
  std::string prompt_ids;
  std::string out;
  Flags flags(
      "logits",
      "sigma-eval logits --model DIR --prompt-ids 1,2,3 [--selective-v K] [--device cuda] "
      "--out FILE",
      "Writes the float32 little-endian logits, row-major [position, vocab], of one forward\n"
      "pass over the prompt.");
  engine.Register(flags);
  flags.String("prompt-ids", &prompt_ids, "comma-separated token ids");
  flags.String("out", &out, "output file");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  if (Status s = Logits(engine, prompt_ids, out); !s.ok()) return ReportError("logits", s);
  return kExitOk;
}

}  // namespace sigma::cli
