// Tokenizer::FromGguf: the tokenizer.ggml.* keys (see gguf_model.h for the file format).
//
// tokenizer.ggml.pre names the pre-tokenizer family; the regexes below are the ones the original
// Hugging Face tokenizers use for those families:
//   default / gpt2 / gpt-2 / mpt / olmo      GPT-2 pattern
//   smollm / starcoder / refact / codeshell  HF Digits(individual) then the GPT-2 pattern
//   llama3 / llama-v3 / llama-bpe            Llama-3 pattern, ignore_merges
//   qwen2 / deepseek-r1-qwen                 Qwen2 pattern
// token_type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. Control and
// user-defined tokens are split out of the text before pre-tokenization (control ones are special).
#include <algorithm>
#include <cstdint>
#include <string>

#include "engine/tokenizer/tokenizer.h"

namespace sigma {
namespace {

constexpr int32_t kTokenTypeUnknown = 2;
constexpr int32_t kTokenTypeControl = 3;
constexpr int32_t kTokenTypeUserDefined = 4;

Status PreTokenizerFor(const std::string& file, std::string_view pre, Tokenizer::Spec* spec) {
  if (pre.empty() || pre == "default" || pre == "gpt2" || pre == "gpt-2" || pre == "mpt" ||
      pre == "olmo") {
    spec->split_patterns = {std::string(kGpt2Pattern)};
  } else if (pre == "smollm" || pre == "starcoder" || pre == "refact" || pre == "codeshell") {
    spec->split_patterns = {std::string(kDigitsIndividualPattern), std::string(kGpt2Pattern)};
  } else if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe") {
    spec->split_patterns = {std::string(kLlama3Pattern)};
    spec->ignore_merges = true;
  } else if (pre == "qwen2" || pre == "deepseek-r1-qwen") {
    spec->split_patterns = {std::string(kQwen2Pattern)};
  } else {
    return UnimplementedError(file, ": tokenizer.ggml.pre '", pre, "' is not supported");
  }
  return Status::Ok();
}

Status ReadOptionalId(const GgufFile& f, const char* key, int64_t n, int32_t* out) {
  if (f.Find(key) == nullptr) return Status::Ok();
  SIGMA_ASSIGN_OR_RETURN(uint64_t v, f.GetUint(key));
  if (v >= static_cast<uint64_t>(n)) {
    return InvalidArgumentError(f.path(), ": ", key, " = ", v, " is not below the vocabulary size ",
                                n);
  }
  *out = static_cast<int32_t>(v);
  return Status::Ok();
}

Status ReadOptionalBool(const GgufFile& f, const char* key, bool* out) {
  if (f.Find(key) == nullptr) return Status::Ok();
  SIGMA_ASSIGN_OR_RETURN(*out, f.GetBool(key));
  return Status::Ok();
}

Status ReadMerges(const GgufFile& f, Tokenizer::Spec* spec) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<std::string_view> merges,
                         f.GetStringArray("tokenizer.ggml.merges"));
  spec->merges.reserve(merges.size());
  for (size_t k = 0; k < merges.size(); ++k) {
    const size_t space = merges[k].find(' ', 1);
    if (space == std::string_view::npos || space + 1 >= merges[k].size()) {
      return InvalidArgumentError(f.path(), ": tokenizer.ggml.merges[", k, "] '", merges[k],
                                  "' is not 'left right'");
    }
    spec->merges.emplace_back(std::string(merges[k].substr(0, space)),
                              std::string(merges[k].substr(space + 1)));
  }
  return Status::Ok();
}

Status ReadSpecialIds(const GgufFile& f, Tokenizer::Spec* spec) {
  const int64_t n = static_cast<int64_t>(spec->vocab.size());
  SIGMA_RETURN_IF_ERROR(ReadOptionalId(f, "tokenizer.ggml.unknown_token_id", n, &spec->unk_id));
  SIGMA_RETURN_IF_ERROR(ReadOptionalId(f, "tokenizer.ggml.bos_token_id", n, &spec->bos_id));
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"}) {
    int32_t id = -1;
    SIGMA_RETURN_IF_ERROR(ReadOptionalId(f, key, n, &id));
    if (id >= 0 &&
        std::find(spec->eos_ids.begin(), spec->eos_ids.end(), id) == spec->eos_ids.end()) {
      spec->eos_ids.push_back(id);
    }
  }
  bool add_bos = spec->kind == Tokenizer::Kind::kSentencePiece;
  bool add_eos = false;
  SIGMA_RETURN_IF_ERROR(ReadOptionalBool(f, "tokenizer.ggml.add_bos_token", &add_bos));
  SIGMA_RETURN_IF_ERROR(ReadOptionalBool(f, "tokenizer.ggml.add_eos_token", &add_eos));
  if (add_bos && spec->bos_id >= 0) spec->prefix_ids = {spec->bos_id};
  if (add_eos && !spec->eos_ids.empty()) spec->suffix_ids = {spec->eos_ids[0]};
  if (f.Find("tokenizer.chat_template") != nullptr) {
    SIGMA_ASSIGN_OR_RETURN(std::string_view tmpl, f.GetString("tokenizer.chat_template"));
    spec->chat_template = std::string(tmpl);
  }
  return Status::Ok();
}

}  // namespace

bool GgufHasTokenizer(const GgufFile& f) {
  return f.Find("tokenizer.ggml.model") != nullptr || f.Find(kGgufHfTokenizerKey) != nullptr;
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromGguf(const GgufFile& f) {
  if (f.Find("tokenizer.ggml.model") == nullptr && f.Find(kGgufHfTokenizerKey) != nullptr) {
    SIGMA_ASSIGN_OR_RETURN(std::string_view json, f.GetString(kGgufHfTokenizerKey));
    std::string_view config;
    if (f.Find(kGgufHfTokenizerConfigKey) != nullptr) {
      SIGMA_ASSIGN_OR_RETURN(config, f.GetString(kGgufHfTokenizerConfigKey));
    }
    return FromTokenizerJsonText(json, f.path() + ": " + kGgufHfTokenizerKey, config);
  }
  Spec spec;
  spec.source = f.path();
  SIGMA_ASSIGN_OR_RETURN(std::string_view model, f.GetString("tokenizer.ggml.model"));
  SIGMA_ASSIGN_OR_RETURN(std::vector<std::string_view> tokens,
                         f.GetStringArray("tokenizer.ggml.tokens"));
  spec.vocab.assign(tokens.begin(), tokens.end());
  std::vector<int32_t> types;
  if (f.Find("tokenizer.ggml.token_type") != nullptr) {
    SIGMA_ASSIGN_OR_RETURN(types, f.GetI32Array("tokenizer.ggml.token_type"));
    if (types.size() != tokens.size()) {
      return InvalidArgumentError(f.path(), ": tokenizer.ggml.token_type has ", types.size(),
                                  " entries for ", tokens.size(), " tokens");
    }
  }
  if (model == "gpt2") {
    spec.kind = Kind::kByteLevel;
    std::string_view pre;
    if (f.Find("tokenizer.ggml.pre") != nullptr) {
      SIGMA_ASSIGN_OR_RETURN(pre, f.GetString("tokenizer.ggml.pre"));
    }
    SIGMA_RETURN_IF_ERROR(PreTokenizerFor(f.path(), pre, &spec));
    SIGMA_RETURN_IF_ERROR(ReadMerges(f, &spec));
  } else if (model == "llama") {
    spec.kind = Kind::kSentencePiece;
    spec.byte_fallback = true;
    spec.add_space_prefix = true;
    SIGMA_RETURN_IF_ERROR(
        ReadOptionalBool(f, "tokenizer.ggml.add_space_prefix", &spec.add_space_prefix));
    SIGMA_ASSIGN_OR_RETURN(spec.scores, f.GetF32Array("tokenizer.ggml.scores"));
    if (spec.scores.size() != tokens.size()) {
      return InvalidArgumentError(f.path(), ": tokenizer.ggml.scores has ", spec.scores.size(),
                                  " entries for ", tokens.size(), " tokens");
    }
  } else {
    return UnimplementedError(f.path(), ": tokenizer.ggml.model '", model,
                              "' is not supported (gpt2, llama)");
  }
  for (size_t id = 0; id < types.size(); ++id) {
    const bool added = types[id] == kTokenTypeControl || types[id] == kTokenTypeUserDefined;
    if (added && !spec.vocab[id].empty()) {
      spec.added.push_back(
          {spec.vocab[id], static_cast<int32_t>(id), types[id] == kTokenTypeControl, false, false});
    }
    if (types[id] == kTokenTypeUnknown && spec.unk_id < 0) spec.unk_id = static_cast<int32_t>(id);
  }
  SIGMA_RETURN_IF_ERROR(ReadSpecialIds(f, &spec));
  return FromSpec(std::move(spec));
}

}  // namespace sigma
