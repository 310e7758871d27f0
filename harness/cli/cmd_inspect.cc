// sigma-eval inspect: how the engine reads a model, before a long run: its architecture and
// hyperparameters, each layer's attention (sliding window, RoPE), the weights' types and bytes,
// the tokenizer and whether the chat template renders (and why not).
//
//   sigma-eval inspect [--model PATH] [--json]
//
// PATH is a checkpoint folder or a .gguf file (default: the embedded model). Nothing is run: the
// weights are mapped, not read. --json prints one object: "config" (the config.json the engine's
// reading amounts to, ModelConfig::ToJson), "weights", "tokenizer", "chat_template".
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/json.h"
#include "engine/language_model.h"
#include "engine/loader/model_weights.h"
#include "engine/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"

namespace sigma::cli {
namespace {

struct DTypeBytes {
  int64_t tensors = 0;
  uint64_t bytes = 0;
};

// Layer ranges "0-4, 6-10, 12" of the layers where `pick` holds.
template <class Pick>
std::string LayerRanges(int64_t layers, Pick pick) {
  std::string out;
  for (int64_t i = 0; i < layers;) {
    if (!pick(i)) {
      ++i;
      continue;
    }
    int64_t end = i;
    while (end + 1 < layers && pick(end + 1)) ++end;
    out += StrCat(out.empty() ? "" : ", ", i, end > i ? StrCat("-", end) : std::string());
    i = end + 1;
  }
  return out;
}

// "1.234 GB", "56.7 MB", "0.4 kB".
std::string Bytes(uint64_t bytes) {
  char buf[32];
  const auto b = static_cast<double>(bytes);
  if (b >= 1e9) {
    std::snprintf(buf, sizeof(buf), "%.3f GB", b / 1e9);
  } else if (b >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.1f MB", b / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f kB", b / 1e3);
  }
  return buf;
}

std::string RopeText(const ModelConfig& c, bool local) {
  if (local) return StrCat("base ", c.local_rope_theta, ", unscaled");
  std::string text = StrCat("base ", c.rope_theta);
  const RopeScaling& s = c.rope_scaling;
  if (s.type == "linear") text += StrCat(", linear x", s.factor);
  if (s.type == "llama3") text += StrCat(", llama3 x", s.factor);
  if (s.type == "yarn") {
    text += StrCat(", yarn x", c.RopeScalingFactor(), " of ", s.original_max_position_embeddings,
                   " positions (cos and sin x", c.RopeAttentionFactor(),
                   s.truncate ? "" : "; ramp not truncated", ")");
  }
  if (!c.rope_freq_factors.empty() && s.type != "llama3") text += ", per-frequency divisors";
  if (s.type == "longrope") {
    text += StrCat(", longrope (short factors to ", s.original_max_position_embeddings,
                   " positions, long past them; cos and sin x", c.RopeAttentionFactor(), ")");
  }
  if (c.rotary_dim() != c.head_dim) text += StrCat(", on ", c.rotary_dim(), " of ", c.head_dim);
  return text;
}

// The lines of the text report.
void PrintText(const std::string& path, const ModelWeights& w,
               const std::map<std::string, DTypeBytes>& by_dtype, uint64_t total,
               const StatusOr<std::unique_ptr<Tokenizer>>& tokenizer,
               const std::optional<ChatTemplate>& chat, const std::string& unusable) {
  const ModelConfig& c = w.config;
  std::printf("model         %s\n", path.c_str());
  std::printf("architecture  %s\n", std::string(ArchitectureName(c.arch)).c_str());
  const std::string activation = c.swiglu_limit > 0 ? StrCat("SwiGLU clamped at ", c.swiglu_limit,
                                                             ", (up + 1) x gate x "
                                                             "sigmoid(",
                                                             c.swiglu_alpha, " gate)")
                                                    : std::string(ActivationName(c.activation));
  std::printf("shape         %lld layers, hidden %lld, FFN %lld (%s), vocabulary %lld%s\n",
              static_cast<long long>(c.num_layers), static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.intermediate_size), activation.c_str(),
              static_cast<long long>(c.vocab_size),
              c.tie_word_embeddings ? ", tied embeddings" : "");
  std::string attention = StrCat(
      c.n_q_heads, " Q / ", c.n_k_heads, " K / ", c.n_v_heads, " V heads of ", c.head_dim,
      ", scale 1/sqrt(",
      c.query_pre_attn_scalar > 0 ? c.query_pre_attn_scalar : static_cast<double>(c.head_dim), ")");
  if (c.aug_q_intermediate_size > 0) {
    attention += StrCat(", augmented Q ", c.aug_q_intermediate_size);
  }
  if (c.qkv_bias) attention += c.o_bias() ? ", q/k/v/o biases" : ", q/k/v biases";
  if (c.attention_sinks()) attention += ", a sink logit a head";
  if (c.qk_norm()) attention += ", q/k norms";
  if (c.qk_norm() && !c.qk_norm_per_head()) attention += " (over all heads)";
  if (c.post_norms()) attention += ", norms after the attention and the FFN";
  if (!c.pre_norms()) attention += ", none before";
  if (c.attn_logit_softcapping > 0) {
    attention += StrCat(", scores soft-capped at ", c.attn_logit_softcapping);
  }
  std::printf("attention     %s\n", attention.c_str());
  if (c.moe.num_experts > 0) {
    const MoeConfig& moe = c.moe;
    std::string experts = StrCat(moe.num_experts, " of FFN ", moe.expert_intermediate_size, ", ",
                                 moe.experts_per_token, " a token (softmax over all, the top ",
                                 moe.norm_topk_prob ? "renormalised" : "as they are", ")");
    if (moe.biases) experts += ", biases on the router and the experts";
    if (moe.shared_expert_intermediate_size > 0) {
      experts += StrCat(", a shared expert of FFN ", moe.shared_expert_intermediate_size,
                        " (sigmoid-gated)");
    }
    if (!moe.dense_layers.empty()) {
      experts += StrCat(", dense FFN in layers ",
                        LayerRanges(c.num_layers, [&](int64_t i) { return !c.MoeLayer(i); }));
    }
    std::printf("experts       %s\n", experts.c_str());
  }
  if (c.final_logit_softcapping > 0) {
    std::printf("logits        soft-capped at %g\n", c.final_logit_softcapping);
  }
  const auto sliding = [&](int64_t i) { return c.AttentionWindow(i) > 0; };
  const auto full = [&](int64_t i) { return c.AttentionWindow(i) == 0; };
  const bool local = c.local_rope_theta > 0;
  if (c.sliding_window > 0) {
    std::printf("sliding       window %lld in layers %s\n",
                static_cast<long long>(c.sliding_window),
                LayerRanges(c.num_layers, sliding).c_str());
    const std::string rest = LayerRanges(c.num_layers, full);
    std::printf("full          %s\n", rest.empty() ? "none" : ("layers " + rest).c_str());
  } else {
    std::printf("full          every layer\n");
  }
  std::printf("rope          %s%s\n", RopeText(c, false).c_str(), local ? " (full layers)" : "");
  if (local) std::printf("rope (local)  %s (sliding layers)\n", RopeText(c, true).c_str());
  if (!c.nope_layers.empty()) {
    std::printf("no rope       layers %s\n",
                LayerRanges(c.num_layers, [&](int64_t i) { return !c.RotatesLayer(i); }).c_str());
  }
  if (c.granite()) {
    std::printf("scalars       embeddings x%g, residual x%g, logits / %g\n", c.embedding_multiplier,
                c.residual_multiplier, c.logits_scaling);
  }
  std::string types;
  for (const auto& [name, t] : by_dtype) {
    types += StrCat(types.empty() ? "" : ", ", name, " ", t.tensors, " (", Bytes(t.bytes), ")");
  }
  std::printf("weights       %s: %s\n", Bytes(total).c_str(), types.c_str());
  if (!tokenizer.ok()) {
    std::printf("tokenizer     none (%s)\n", std::string(tokenizer.status().message()).c_str());
    return;
  }
  const Tokenizer& tok = **tokenizer;
  std::string ends;
  for (const int32_t id : tok.eos_ids()) {
    ends += StrCat(ends.empty() ? "" : ", ", id, " '", tok.TokenText(id), "'");
  }
  const std::string bos =
      tok.bos_id() >= 0 ? StrCat(tok.bos_id(), " '", tok.TokenText(tok.bos_id()), "'") : "none";
  std::printf("tokenizer     %s, %lld tokens, bos %s, eos %s\n",
              tok.kind() == Tokenizer::Kind::kByteLevel ? "byte-level BPE" : "SentencePiece BPE",
              static_cast<long long>(tok.vocab_size()), bos.c_str(),
              ends.empty() ? "none" : ends.c_str());
  if (chat) {
    std::printf("chat template renders\n");
  } else if (!unusable.empty()) {
    std::printf("chat template does not render: %s\n", unusable.c_str());
  } else {
    std::printf("chat template none\n");
  }
}

void PrintJson(const ModelWeights& w, const std::map<std::string, DTypeBytes>& by_dtype,
               uint64_t total, const StatusOr<std::unique_ptr<Tokenizer>>& tokenizer,
               const std::optional<ChatTemplate>& chat, const std::string& unusable) {
  std::string out = "{\"config\": " + w.config.ToJson() +
                    ", \"weights\": {\"bytes\": " + std::to_string(total) + ", \"by_dtype\": {";
  bool first = true;
  for (const auto& [name, t] : by_dtype) {
    out += first ? "" : ", ";
    first = false;
    AppendJsonString(name, &out);
    out += StrCat(": {\"tensors\": ", t.tensors, ", \"bytes\": ", t.bytes, "}");
  }
  out += "}}, \"tokenizer\": ";
  if (tokenizer.ok()) {
    const Tokenizer& tok = **tokenizer;
    out += StrCat("{\"kind\": \"",
                  tok.kind() == Tokenizer::Kind::kByteLevel ? "byte-level" : "sentencepiece",
                  "\", \"vocab_size\": ", tok.vocab_size(), ", \"bos_id\": ", tok.bos_id(),
                  ", \"eos_ids\": [");
    for (size_t i = 0; i < tok.eos_ids().size(); ++i) {
      out += StrCat(i ? ", " : "", tok.eos_ids()[i]);
    }
    out += "]}";
  } else {
    out += "null";
  }
  out += ", \"chat_template\": {\"renders\": ";
  out += chat ? "true" : "false";
  out += ", \"why_not\": ";
  if (unusable.empty()) {
    out += "null";
  } else {
    AppendJsonString(unusable, &out);
  }
  out += "}}\n";
  std::fputs(out.c_str(), stdout);
}

}  // namespace

int RunInspect(const Args& args) {
  std::string model;
  bool json = false;
  Flags flags("inspect", "sigma-eval inspect [--model PATH] [--json]",
              "How the engine reads a model: architecture, attention per layer, RoPE, weight "
              "types and bytes, tokenizer and chat template. Nothing is run.");
  flags.String("model", &model, "checkpoint folder or .gguf file (default: the embedded model)");
  flags.Bool("json", &json, "one JSON object instead of the text report");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  if (model.empty()) model = DefaultModelPath();
  StatusOr<ModelWeights> weights = LoadModelWeights(model);
  if (!weights.ok()) return ReportError("inspect", weights.status());
  std::map<std::string, DTypeBytes> by_dtype;
  uint64_t total = 0;
  for (const auto& [name, view] : weights->source->tensors()) {
    DTypeBytes& t = by_dtype[std::string(DTypeName(view.dtype))];
    ++t.tensors;
    t.bytes += view.nbytes;
    total += view.nbytes;
  }
  StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::Open(model);
  std::optional<ChatTemplate> chat;
  std::string unusable;
  if (tokenizer.ok()) {
    StatusOr<std::optional<ChatTemplate>> found = ChatTemplateOf(model, **tokenizer, &unusable);
    if (!found.ok()) return ReportError("inspect", found.status());
    chat = *std::move(found);
  }
  if (json) {
    PrintJson(*weights, by_dtype, total, tokenizer, chat, unusable);
  } else {
    PrintText(model, *weights, by_dtype, total, tokenizer, chat, unusable);
  }
  return kExitOk;
}

}  // namespace sigma::cli
