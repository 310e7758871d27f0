// sigma-eval generate: continue a prompt with the engine and report speed.
#include <cstdio>

#include "engine/generate.h"
#include "harness/cli/commands.h"
#include "harness/cli/engine_flags.h"

namespace sigma::cli {
namespace {

struct GenerateFlags {
  EngineFlags engine;
  std::string prompt_ids;
  std::string stop_ids;
  int64_t max_tokens = 32;
  double temperature = 0.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  int64_t seed = 0;
  bool json = false;
};

void PrintResult(const GenerateResult& r, bool json) {
  const GenerateTiming& t = r.timing;
  if (json) {
    std::printf("{\"tokens\":[");
    for (size_t i = 0; i < r.tokens.size(); ++i) std::printf("%s%d", i ? "," : "", r.tokens[i]);
    std::printf("],\"stop_reason\":\"%s\",\"prompt_tokens\":%lld,\"new_tokens\":%lld,"
                "\"ttft_ms\":%.3f,\"prefill_tokens_per_s\":%.2f,\"decode_tokens_per_s\":%.2f}\n",
                r.stop_reason.c_str(), static_cast<long long>(t.prompt_tokens),
                static_cast<long long>(t.new_tokens), t.first_token_ms, t.PrefillTokensPerSecond(),
                t.DecodeTokensPerSecond());
    return;
  }
  for (size_t i = 0; i < r.tokens.size(); ++i) std::printf("%s%d", i ? "," : "", r.tokens[i]);
  std::printf("\n");
  std::fprintf(stderr,
               "[%s] prompt %lld tokens: %.1f tok/s | time to first token %.1f ms | "
               "decode %lld tokens: %.1f tok/s\n",
               r.stop_reason.c_str(), static_cast<long long>(t.prompt_tokens),
               t.PrefillTokensPerSecond(), t.first_token_ms, static_cast<long long>(t.new_tokens),
               t.DecodeTokensPerSecond());
}

Status Generate(const GenerateFlags& f) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<int64_t> ids, ParseIntList(f.prompt_ids, "prompt-ids"));
  if (ids.empty()) return InvalidArgumentError("--prompt-ids: required (e.g. 1,2,3)");
  SIGMA_ASSIGN_OR_RETURN(std::vector<int64_t> stops, ParseIntList(f.stop_ids, "stop-ids"));
  SIGMA_ASSIGN_OR_RETURN(EngineOptions options, f.engine.ToOptions());
  GenerateParams params;
  params.max_new_tokens = f.max_tokens;
  params.sampling = {f.temperature, static_cast<int>(f.top_k), f.top_p, static_cast<uint64_t>(f.seed)};
  SIGMA_RETURN_IF_ERROR(params.sampling.Validate());
  SIGMA_ASSIGN_OR_RETURN(auto model, Model::Load(f.engine.model, options));
  std::vector<int32_t> prompt;
  for (int64_t id : ids) {
    if (id < 0 || id >= model->vocab_size()) {
      return OutOfRangeError("--prompt-ids: token ", id, " outside the vocabulary [0, ",
                             model->vocab_size(), ")");
    }
    prompt.push_back(static_cast<int32_t>(id));
  }
  for (int64_t id : stops) params.stop_tokens.push_back(static_cast<int32_t>(id));
  SIGMA_ASSIGN_OR_RETURN(GenerateResult result, sigma::Generate(*model, 0, prompt, params));
  PrintResult(result, f.json);
  return Status::Ok();
}

}  // namespace

int RunGenerate(const Args& args) {
  GenerateFlags f;
  Flags flags("generate", "sigma-eval generate --model PATH --prompt-ids 1,2,3 [flags]",
              "Continues a prompt and prints the new token ids (stdout) and speed (stderr).");
  f.engine.Register(flags);
  flags.String("prompt-ids", &f.prompt_ids, "comma-separated prompt token ids");
  flags.String("stop-ids", &f.stop_ids, "comma-separated token ids that end generation");
  flags.Int("max-tokens", &f.max_tokens, "maximum new tokens");
  flags.Double("temperature", &f.temperature, "sampling temperature; 0 = greedy");
  flags.Int("top-k", &f.top_k, "keep the K most likely tokens; 0 = all");
  flags.Double("top-p", &f.top_p, "nucleus sampling mass");
  flags.Int("seed", &f.seed, "sampling seed");
  flags.Bool("json", &f.json, "print one JSON object with tokens and timing");
  if (Status s = flags.Parse(args); !s.ok()) return ReportError("generate", s);
  if (flags.help_requested()) {
    std::printf("%s", flags.Help().c_str());
    return kExitOk;
  }
  if (Status s = Generate(f); !s.ok()) return ReportError("generate", s);
  return kExitOk;
}

}  // namespace sigma::cli
