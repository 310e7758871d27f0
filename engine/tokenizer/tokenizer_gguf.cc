// Tokenizer::FromGguf: the tokenizer.ggml.* keys (see gguf_model.h for the file format).
//
// tokenizer.ggml.pre names the pre-tokenizer family (PreTokenizerFamilies below); its regexes are
// the Split steps of that family's original Hugging Face tokenizer.json, applied in order. Each
// family is checked against HF's own ids for llama.cpp's vocabulary file of it (models/vocab/,
// tests/engine/tokenizer/vocab_conformance_test.cc).
// token_type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. Control and
// user-defined tokens are split out of the text before pre-tokenization (control ones are special).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace sigma {
namespace {

constexpr int32_t kTokenTypeUnknown = 2;
constexpr int32_t kTokenTypeControl = 3;
constexpr int32_t kTokenTypeUserDefined = 4;

// DeepSeek LLM's letters: Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee and other cased
// scripts, as ranges (its tokenizer.json's second Split).
constexpr std::string_view kDeepSeekLetters =
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293"
    "\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c"
    "\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5"
    "\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77"
    "\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b"
    "\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3"
    "\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115"
    "\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149"
    "\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d"
    "\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06"
    "\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
    "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df"
    "\U0001e900-\U0001e943]+";
// CJK ideographs, Samaritan to CJK, Hangul syllables (DeepSeek's CJK Split).
constexpr std::string_view kDeepSeekCjk = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";

struct PreTokenizerFamily {
  std::vector<std::string_view> names;  // tokenizer.ggml.pre values
  std::vector<std::string_view> patterns;
  bool ignore_merges;
};

const std::vector<PreTokenizerFamily>& PreTokenizerFamilies() {
  static const auto* families = new std::vector<PreTokenizerFamily>{
      {{"", "default", "gpt2", "gpt-2", "mpt", "olmo"}, {kGpt2Pattern}, false},
      // HF Digits(individual_digits) before the GPT-2 pattern.
      {{"smollm", "starcoder", "refact", "codeshell", "command-r"},
       {kDigitsIndividualPattern, kGpt2Pattern},
       false},
      {{"llama3", "llama-v3", "llama-bpe"}, {kLlama3Pattern}, true},
      {{"qwen2", "deepseek-r1-qwen"}, {kQwen2Pattern}, false},
      {{"qwen35"}, {kQwen35Pattern}, false},
      {{"gpt-4o", "llama4"}, {kGpt4oPattern}, false},
      {{"deepseek-llm"},
       {"[\r\n]", kDeepSeekLetters,
        "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+", "\\s+$", kDeepSeekCjk,
        kDigitsPattern},
       false},
      {{"deepseek-coder"},
       {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kDeepSeekCjk, kDigitsIndividualPattern},
       false},
      // Punctuation (contiguous), the GPT-2 pattern, then digits in threes.
      {{"falcon"}, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2Pattern, "[0-9][0-9][0-9]"}, false},
  };
  return *families;
}

Status PreTokenizerFor(const std::string& file, std::string_view pre, Tokenizer::Spec* spec) {
  for (const PreTokenizerFamily& family : PreTokenizerFamilies()) {
    if (std::find(family.names.begin(), family.names.end(), pre) == family.names.end()) continue;
    spec->split_patterns.assign(family.patterns.begin(), family.patterns.end());
    spec->ignore_merges = family.ignore_merges;
    return Status::Ok();
  }
  return UnimplementedError(file, ": tokenizer.ggml.pre '", pre, "' is not supported");
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

// Phi-3's tokenizer.json marks its added tokens rstrip (the whitespace after "<|user|>" etc. is
// dropped), which GGUF's token types cannot say; llama.cpp restores it from the model's name, and
// so does this: every added token but <unk>, <s> and <|endoftext|>.
Status PhiThreeStripsAfterAddedTokens(const GgufFile& f, Tokenizer::Spec* spec) {
  if (f.Find("general.name") == nullptr) return Status::Ok();
  SIGMA_ASSIGN_OR_RETURN(std::string_view name, f.GetString("general.name"));
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("phi-3") == std::string::npos && lower.find("phi3") == std::string::npos) {
    return Status::Ok();
  }
  for (Tokenizer::AddedToken& a : spec->added) {
    a.rstrip = a.content != "<unk>" && a.content != "<s>" && a.content != "<|endoftext|>";
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
    // The space goes before the text at the start and after every added token, as llama.cpp
    // does and as Hugging Face's Prepend normalizer of the original (legacy) tokenizers does.
    spec.prefix_every_segment = true;
    SIGMA_RETURN_IF_ERROR(
        ReadOptionalBool(f, "tokenizer.ggml.add_space_prefix", &spec.add_space_prefix));
    SIGMA_ASSIGN_OR_RETURN(spec.scores, f.GetF32Array("tokenizer.ggml.scores"));
    if (spec.scores.size() != tokens.size()) {
      return InvalidArgumentError(f.path(), ": tokenizer.ggml.scores has ", spec.scores.size(),
                                  " entries for ", tokens.size(), " tokens");
    }
  } else if (model == "gemma4") {
    // Gemma 4's: SentencePiece-style (spaces as U+2581, byte fallback) with merge ranks, and no
    // space prepended unless the file says so.
    spec.kind = Kind::kSentencePiece;
    spec.byte_fallback = true;
    SIGMA_RETURN_IF_ERROR(
        ReadOptionalBool(f, "tokenizer.ggml.add_space_prefix", &spec.add_space_prefix));
    SIGMA_RETURN_IF_ERROR(ReadMerges(f, &spec));
  } else {
    return UnimplementedError(f.path(), ": tokenizer.ggml.model '", model,
                              "' is not supported (gpt2, llama, gemma4)");
  }
  for (size_t id = 0; id < types.size(); ++id) {
    const bool added = types[id] == kTokenTypeControl || types[id] == kTokenTypeUserDefined;
    if (added && !spec.vocab[id].empty()) {
      spec.added.push_back(
          {spec.vocab[id], static_cast<int32_t>(id), types[id] == kTokenTypeControl, false, false});
    }
    if (types[id] == kTokenTypeUnknown && spec.unk_id < 0) spec.unk_id = static_cast<int32_t>(id);
  }
  SIGMA_RETURN_IF_ERROR(PhiThreeStripsAfterAddedTokens(f, &spec));
  SIGMA_RETURN_IF_ERROR(ReadSpecialIds(f, &spec));
  return FromSpec(std::move(spec));
}

}  // namespace sigma
