// sigma-eval generate: continue a prompt (text, chat, or token ids) with the engine, on the CPU or
// (--device cuda) a CUDA device, and report speed: prompt tokens/s, decode tokens/s, time to first
// token.
#include <cmath>
#include <cstdio>
#include <optional>

#include "engine/base/json.h"
#include "engine/generate.h"
#include "engine/language_model.h"
#include "harness/cli/commands.h"
#include "harness/cli/engine_flags.h"
#include "reports/number_format.h"

namespace sigma::cli {
namespace {

struct GenerateFlags {
  EngineFlags engine;
  std::string prompt;
  bool prompt_given = false;  // --prompt "" is a prompt (an empty user turn with --chat)
  std::string prompt_ids;
  bool prompt_ids_given = false;
  std::string system;
  bool chat = false;
  std::string stop_ids;
  std::string stop;
  int64_t max_tokens = 128;
  SamplingFlags sampling;
  bool json = false;
};

std::string IdsJson(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "]";
}

// The speed figures, each only where it was measured: the time to first token once a token was
// sampled (not with --max-tokens 0), decode tokens/s from the second new token on. The others are
// NaN here: null in JSON, left out of the text line (which printed "time to first token 0.0 ms").
void PrintResult(const GenerateResult& r, bool has_text, bool json) {
  const GenerateTiming& t = r.timing;
  const double ttft = t.first_token_ms > 0 ? t.first_token_ms : NAN;
  const double decode = t.new_tokens > 1 ? t.DecodeTokensPerSecond() : NAN;
  if (json) {
    std::string text;
    AppendJsonString(r.text, &text);
    std::printf(
        "{\"text\":%s,\"tokens\":%s,\"stop_reason\":\"%s\",\"prompt_tokens\":%lld,"
        "\"new_tokens\":%lld,\"ttft_ms\":%s,\"prefill_tokens_per_s\":%.2f,"
        "\"decode_tokens_per_s\":%s}\n",
        text.c_str(), IdsJson(r.tokens).c_str(), r.stop_reason.c_str(),
        static_cast<long long>(t.prompt_tokens), static_cast<long long>(t.new_tokens),
        reports::JsonNumber(ttft).c_str(), t.PrefillTokensPerSecond(),
        reports::JsonNumber(decode).c_str());
    return;
  }
  if (has_text) {
    std::printf("%s\n", r.text.c_str());
  } else {
    std::printf("%s\n", IdsJson(r.tokens).c_str());
  }
  std::string line =
      StrCat("[", r.stop_reason, "] prompt ", t.prompt_tokens,
             " tokens: ", reports::FormatFixed(t.PrefillTokensPerSecond(), 1), " tok/s");
  if (std::isfinite(ttft))
    line += StrCat(" | time to first token ", reports::FormatFixed(ttft, 1), " ms");
  line += StrCat(" | decode ", t.new_tokens, " tokens");
  if (std::isfinite(decode)) line += StrCat(": ", reports::FormatFixed(decode, 1), " tok/s");
  std::fprintf(stderr, "%s\n", line.c_str());
}

StatusOr<std::vector<int32_t>> BuildPrompt(const GenerateFlags& f, const std::vector<int64_t>& ids,
                                           const LanguageModel& lm) {
  if (!f.prompt_ids.empty())
    return TokenIdsInVocabulary(ids, lm.model().vocab_size(), "prompt-ids");
  if (!f.chat) return lm.Encode(f.prompt);
  std::vector<ChatMessage> messages;
  if (!f.system.empty()) messages.push_back({"system", f.system});
  messages.push_back({"user", f.prompt});
  return lm.EncodeChat(messages);
}

Status Generate(GenerateFlags f) {
  if (f.engine.model.empty()) f.engine.model = DefaultModelPath();
  // Flags first: a typo should not wait for a model to load.
  if (f.prompt_given == f.prompt_ids_given) {
    return InvalidArgumentError("give exactly one of --prompt and --prompt-ids");
  }
  // Token ids are the prompt as given: no chat template is applied to them (it was, silently, not).
  if (f.prompt_ids_given && (f.chat || !f.system.empty())) {
    return InvalidArgumentError(f.chat ? "--chat" : "--system",
                                " applies to a --prompt text, not to --prompt-ids");
  }
  if (!f.chat && !f.system.empty()) {
    return InvalidArgumentError("--system: the system message of a --chat prompt; add --chat");
  }
  SIGMA_ASSIGN_OR_RETURN(std::vector<int64_t> ids, ParseIntList(f.prompt_ids, "prompt-ids"));
  SIGMA_ASSIGN_OR_RETURN(std::vector<int64_t> stop_ids, ParseIntList(f.stop_ids, "stop-ids"));
  SIGMA_ASSIGN_OR_RETURN(EngineOptions options, f.engine.ToOptions());
  GenerateParams params;
  params.max_new_tokens = f.max_tokens;
  SIGMA_ASSIGN_OR_RETURN(params.sampling, f.sampling.ToParams());
  SIGMA_ASSIGN_OR_RETURN(auto lm, LanguageModel::Open(f.engine.model, options));
  SIGMA_ASSIGN_OR_RETURN(std::vector<int32_t> prompt, BuildPrompt(f, ids, *lm));
  if (prompt.empty() && f.prompt_ids_given) return InvalidArgumentError("--prompt-ids: no ids");
  if (prompt.empty()) {
    return InvalidArgumentError("--prompt: '", f.prompt,
                                "' encodes to no tokens (this tokenizer adds no BOS); give some "
                                "text, or --chat");
  }
  // Past the positions the model was trained on, RoPE extrapolates and the text usually degrades:
  // said once, on stderr, so that such output is not taken for the model's best.
  const int64_t trained = lm->model().config().max_position_embeddings;
  const auto reach = static_cast<int64_t>(prompt.size()) + f.max_tokens;
  if (trained > 0 && reach > trained) {
    std::fprintf(stderr,
                 "sigma-eval generate: note: the prompt (%zu tokens) and --max-tokens %lld reach "
                 "past the %lld positions the model was trained on (max_position_embeddings)\n",
                 prompt.size(), static_cast<long long>(f.max_tokens),
                 static_cast<long long>(trained));
  }
  params.stop_tokens = lm->StopTokens();
  SIGMA_ASSIGN_OR_RETURN(const std::vector<int32_t> extra_stops,
                         TokenIdsInVocabulary(stop_ids, lm->model().vocab_size(), "stop-ids"));
  params.stop_tokens.insert(params.stop_tokens.end(), extra_stops.begin(), extra_stops.end());
  if (!f.stop.empty()) params.stop_strings.push_back(f.stop);
  TokenText text;
  if (lm->tokenizer() != nullptr) text = [&lm](int32_t id) { return lm->TokenPiece(id); };
  SIGMA_ASSIGN_OR_RETURN(GenerateResult result, sigma::Generate(lm->model(), 0, prompt, params, text));
  PrintResult(result, lm->tokenizer() != nullptr, f.json);
  return Status::Ok();
}

}  // namespace

int RunGenerate(const Args& args) {
  GenerateFlags f;
  Flags flags("generate", "sigma-eval generate [--model PATH] (--prompt TEXT [--chat] | --prompt-ids 1,2,3)",
              "Continues a prompt and prints the new text (or token ids for a model without a\n"
              "tokenizer) on stdout and speed on stderr. Without --model: the embedded default\n"
              "model (scripts/setup.sh fetches it).");
  f.engine.Register(flags);
  flags.String("prompt", &f.prompt, "prompt text");
  flags.Bool("chat", &f.chat, "wrap the prompt as a user turn in the model's chat template");
  flags.String("system", &f.system, "system message (with --chat)");
  flags.String("prompt-ids", &f.prompt_ids, "comma-separated prompt token ids");
  flags.String("stop", &f.stop, "stop string (the output is cut before it)");
  flags.String("stop-ids", &f.stop_ids, "comma-separated token ids that end generation (EOS always does)");
  flags.Int("max-tokens", &f.max_tokens, "maximum new tokens");
  f.sampling.Register(flags);
  flags.Bool("json", &f.json, "print one JSON object with text, tokens and timing");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  f.prompt_given = flags.was_set("prompt");
  f.prompt_ids_given = flags.was_set("prompt-ids");
  if (Status s = Generate(f); !s.ok()) return ReportError("generate", s);
  return kExitOk;
}

}  // namespace sigma::cli
