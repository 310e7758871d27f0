// Tokenizer::FromTokenizerJson: Hugging Face tokenizer.json (model BPE) plus, when present,
// tokenizer_config.json beside it (bos_token, eos_token, chat_template).
//
// Supported components (others are UNIMPLEMENTED, naming the component):
//   normalizer     null, NFC (accepted, not applied: see tokenizer.h), Prepend, Replace (String
//                  pattern), Sequence of these
//   pre_tokenizer  null, ByteLevel (add_prefix_space false), Split (Isolated, not inverted),
//                  Digits, Metaspace (split false), Sequence of these
//   post_processor null, ByteLevel, TemplateProcessing (its "single" template), Sequence
//   decoder        read only to tell byte-level from SentencePiece-style tokenizers
#include <string>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/tokenizer/tokenizer.h"

namespace sigma {
namespace {

using rapidjson::Value;

constexpr std::string_view kSpmSpace = "\xe2\x96\x81";

std::string Str(const Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

// The string member `key` of `obj`, or "" when absent or not a string.
std::string StrField(const Value& obj, const char* key) {
  if (!obj.IsObject()) return {};
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsString() ? Str(it->value) : std::string();
}

// The bool member `key` of `obj`, or `fallback` when absent, not a bool, or `obj` not an object.
bool BoolField(const Value& obj, const char* key, bool fallback) {
  if (!obj.IsObject()) return fallback;
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsBool() ? it->value.GetBool() : fallback;
}

const Value* Member(const Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() || it->value.IsNull() ? nullptr : &it->value;
}

// Sequence components nest (real files: one or two levels); deeper is an error, not a recursion as
// deep as the file is long.
constexpr int kMaxSequenceDepth = 16;

Status TooDeep(const std::string& src, std::string_view component) {
  return InvalidArgumentError(src, ": ", component, " Sequence nested deeper than ",
                              kMaxSequenceDepth, " levels");
}

// What the components say about the tokenizer, before the vocabulary is read.
struct Parsed {
  bool byte_level = false;
  bool spm = false;
};

Status ParseNormalizer(const std::string& src, const Value& n, Tokenizer::Spec* spec, Parsed* p,
                       int depth = 0) {
  const std::string type = StrField(n, "type");
  if (type == "Sequence") {
    if (depth == kMaxSequenceDepth) return TooDeep(src, "normalizer");
    const Value* list = Member(n, "normalizers");
    if (list == nullptr || !list->IsArray())
      return InvalidArgumentError(src, ": normalizer Sequence");
    for (const Value& item : list->GetArray())
      SIGMA_RETURN_IF_ERROR(ParseNormalizer(src, item, spec, p, depth + 1));
    return Status::Ok();
  }
  if (type == "NFC") return Status::Ok();  // see tokenizer.h
  if (type == "Prepend" && StrField(n, "prepend") == kSpmSpace) {
    spec->add_space_prefix = true;
    spec->prefix_every_segment = true;
    return Status::Ok();
  }
  if (type == "Replace") {
    const Value* pattern = Member(n, "pattern");
    if (pattern && StrField(*pattern, "String") == " " && StrField(n, "content") == kSpmSpace) {
      p->spm = true;
      return Status::Ok();
    }
  }
  return UnimplementedError(src, ": normalizer '", type, "' (", JsonToString(n), ")");
}

Status ParseSplit(const std::string& src, const Value& n, Tokenizer::Spec* spec) {
  const Value* pattern = Member(n, "pattern");
  if (StrField(n, "behavior") != "Isolated" || BoolField(n, "invert", false) ||
      pattern == nullptr) {
    return UnimplementedError(src, ": Split pre-tokenizer other than Isolated: ", JsonToString(n));
  }
  if (std::string regex = StrField(*pattern, "Regex"); !regex.empty()) {
    spec->split_patterns.push_back(regex);
  } else if (std::string literal = StrField(*pattern, "String"); !literal.empty()) {
    spec->split_patterns.push_back("\\Q" + literal + "\\E");
  } else {
    return InvalidArgumentError(src, ": Split pre-tokenizer without a pattern");
  }
  return Status::Ok();
}

Status ParsePreTokenizer(const std::string& src, const Value& n, Tokenizer::Spec* spec, Parsed* p,
                         int depth = 0) {
  const std::string type = StrField(n, "type");
  if (type == "Sequence") {
    if (depth == kMaxSequenceDepth) return TooDeep(src, "pre_tokenizer");
    const Value* list = Member(n, "pretokenizers");
    if (list == nullptr || !list->IsArray())
      return InvalidArgumentError(src, ": pre_tokenizer Sequence");
    for (const Value& item : list->GetArray())
      SIGMA_RETURN_IF_ERROR(ParsePreTokenizer(src, item, spec, p, depth + 1));
    return Status::Ok();
  }
  if (type == "ByteLevel") {
    if (BoolField(n, "add_prefix_space", false)) {
      return UnimplementedError(src, ": ByteLevel pre-tokenizer with add_prefix_space");
    }
    p->byte_level = true;
    if (BoolField(n, "use_regex", true)) spec->split_patterns.emplace_back(kGpt2Pattern);
    return Status::Ok();
  }
  if (type == "Split") return ParseSplit(src, n, spec);
  if (type == "Digits") {
    spec->split_patterns.emplace_back(
        BoolField(n, "individual_digits", false) ? kDigitsIndividualPattern : kDigitsPattern);
    return Status::Ok();
  }
  if (type == "Metaspace" && StrField(n, "replacement") == kSpmSpace &&
      !BoolField(n, "split", true)) {
    p->spm = true;
    const std::string scheme = StrField(n, "prepend_scheme");
    spec->add_space_prefix = scheme != "never" && BoolField(n, "add_prefix_space", true);
    spec->prefix_every_segment = scheme == "always";
    return Status::Ok();
  }
  return UnimplementedError(src, ": pre_tokenizer '", type, "' (", JsonToString(n), ")");
}

Status ParsePostProcessor(const std::string& src, const Value& n, Tokenizer::Spec* spec,
                          const std::unordered_map<std::string, int32_t>& ids, int depth = 0) {
  const std::string type = StrField(n, "type");
  if (type == "ByteLevel") return Status::Ok();
  if (type == "Sequence") {
    if (depth == kMaxSequenceDepth) return TooDeep(src, "post_processor");
    const Value* list = Member(n, "processors");
    if (list == nullptr || !list->IsArray())
      return InvalidArgumentError(src, ": post_processor Sequence");
    for (const Value& item : list->GetArray())
      SIGMA_RETURN_IF_ERROR(ParsePostProcessor(src, item, spec, ids, depth + 1));
    return Status::Ok();
  }
  if (type != "TemplateProcessing") return UnimplementedError(src, ": post_processor '", type, "'");
  const Value* single = Member(n, "single");
  if (single == nullptr || !single->IsArray())
    return InvalidArgumentError(src, ": TemplateProcessing.single");
  bool after = false;
  for (const Value& item : single->GetArray()) {
    if (Member(item, "Sequence") != nullptr) {
      after = true;
      continue;
    }
    const Value* special = Member(item, "SpecialToken");
    const std::string name = special ? StrField(*special, "id") : std::string();
    auto it = ids.find(name);
    if (it == ids.end()) {
      return InvalidArgumentError(src, ": TemplateProcessing token '", name,
                                  "' is not in the vocabulary");
    }
    (after ? spec->suffix_ids : spec->prefix_ids).push_back(it->second);
  }
  return Status::Ok();
}

// Ids index a dense table, so an id far beyond the tokens a file defines would allocate a table
// of mostly holes (the fuzzer's 200-byte tokenizer.json with the id 640004191 asked for 20 GB).
// An id must stay below IdLimit(tokens defined).
int64_t IdLimit(size_t tokens) { return 2 * static_cast<int64_t>(tokens) + 1024; }

Status IdTooLarge(const std::string& src, std::string_view what, int64_t id, size_t tokens) {
  return InvalidArgumentError(src, ": ", what, ": id ", id, " is too large for ", tokens,
                              " tokens (ids must stay below ", IdLimit(tokens), ")");
}

Status ParseVocab(const std::string& src, const Value& model, Tokenizer::Spec* spec,
                  std::unordered_map<std::string, int32_t>* ids) {
  const Value* vocab = Member(model, "vocab");
  if (vocab == nullptr || !vocab->IsObject())
    return InvalidArgumentError(src, ": model.vocab is not an object");
  int64_t max_id = -1;
  for (const auto& m : vocab->GetObject()) {
    if (!m.value.IsInt() || m.value.GetInt() < 0 || m.value.GetInt() >= (1 << 30)) {
      return InvalidArgumentError(src, ": model.vocab['", Str(m.name), "']: expected an id");
    }
    if (m.value.GetInt() >= IdLimit(vocab->MemberCount())) {
      return IdTooLarge(src, StrCat("model.vocab['", Str(m.name), "']"), m.value.GetInt(),
                        vocab->MemberCount());
    }
    ids->emplace(Str(m.name), m.value.GetInt());
    max_id = std::max<int64_t>(max_id, m.value.GetInt());
  }
  spec->vocab.resize(max_id + 1);
  for (const auto& [text, id] : *ids) spec->vocab[id] = text;
  return Status::Ok();
}

Status ParseMerges(const std::string& src, const Value& model, Tokenizer::Spec* spec) {
  const Value* merges = Member(model, "merges");
  if (merges == nullptr) return Status::Ok();
  if (!merges->IsArray()) return InvalidArgumentError(src, ": model.merges is not an array");
  spec->merges.reserve(merges->Size());
  size_t k = 0;
  for (const Value& m : merges->GetArray()) {
    if (m.IsString()) {
      const std::string s = Str(m);
      const size_t space = s.find(' ', 1);
      if (space == std::string::npos)
        return InvalidArgumentError(src, ": model.merges[", k, "] '", s, "'");
      spec->merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.IsArray() && m.Size() == 2 && m[0].IsString() && m[1].IsString()) {
      spec->merges.emplace_back(Str(m[0]), Str(m[1]));
    } else {
      return InvalidArgumentError(src, ": model.merges[", k, "]: expected \"a b\" or [a, b]");
    }
    ++k;
  }
  return Status::Ok();
}

Status ParseModel(const std::string& src, const Value& root, Tokenizer::Spec* spec,
                  std::unordered_map<std::string, int32_t>* ids) {
  const Value* model = Member(root, "model");
  if (model == nullptr) return InvalidArgumentError(src, ": no 'model'");
  if (!model->IsObject()) {
    return InvalidArgumentError(src, ": 'model' is ", JsonTypeName(*model), ", not an object");
  }
  const std::string type = StrField(*model, "type");
  if (!type.empty() && type != "BPE")
    return UnimplementedError(src, ": model type '", type, "' (BPE only)");
  if (!StrField(*model, "continuing_subword_prefix").empty() ||
      !StrField(*model, "end_of_word_suffix").empty()) {
    return UnimplementedError(src, ": BPE with continuing_subword_prefix / end_of_word_suffix");
  }
  spec->byte_fallback = BoolField(*model, "byte_fallback", false);
  spec->ignore_merges = BoolField(*model, "ignore_merges", false);
  SIGMA_RETURN_IF_ERROR(ParseVocab(src, *model, spec, ids));
  SIGMA_RETURN_IF_ERROR(ParseMerges(src, *model, spec));
  if (std::string unk = StrField(*model, "unk_token"); !unk.empty()) {
    auto it = ids->find(unk);
    if (it != ids->end()) spec->unk_id = it->second;
  }
  return Status::Ok();
}

Status ParseAddedTokens(const std::string& src, const Value& root, Tokenizer::Spec* spec,
                        std::unordered_map<std::string, int32_t>* ids) {
  const Value* added = Member(root, "added_tokens");
  if (added == nullptr) return Status::Ok();
  if (!added->IsArray()) return InvalidArgumentError(src, ": added_tokens is not an array");
  for (const Value& a : added->GetArray()) {
    const Value* id = Member(a, "id");
    const std::string content = StrField(a, "content");
    if (id == nullptr || !id->IsInt() || id->GetInt() < 0 || id->GetInt() >= (1 << 30) ||
        content.empty()) {
      return InvalidArgumentError(src, ": added_tokens entry ", JsonToString(a));
    }
    const int32_t i = id->GetInt();
    if (i >= IdLimit(ids->size() + added->Size())) {
      return IdTooLarge(src, StrCat("added_tokens '", content, "'"), i, ids->size() + added->Size());
    }
    if (static_cast<size_t>(i) >= spec->vocab.size()) spec->vocab.resize(i + 1);
    spec->vocab[i] = content;
    ids->emplace(content, i);
    spec->added.push_back({content, i, BoolField(a, "special", false),
                           BoolField(a, "lstrip", false), BoolField(a, "rstrip", false)});
  }
  return Status::Ok();
}

// bos_token / eos_token: a string or {"content": ...}.
int32_t ConfigTokenId(const Value& config, const char* key,
                      const std::unordered_map<std::string, int32_t>& ids) {
  const Value* v = Member(config, key);
  if (v == nullptr) return -1;
  const std::string text = v->IsString() ? Str(*v) : StrField(*v, "content");
  auto it = ids.find(text);
  return it == ids.end() ? -1 : it->second;
}

Status ReadTokenizerConfigText(std::string_view text, const std::string& source,
                               Tokenizer::Spec* spec,
                               const std::unordered_map<std::string, int32_t>& ids) {
  SIGMA_ASSIGN_OR_RETURN(auto doc, ParseJson(text, source));
  spec->bos_id = ConfigTokenId(*doc, "bos_token", ids);
  if (int32_t eos = ConfigTokenId(*doc, "eos_token", ids); eos >= 0) spec->eos_ids = {eos};
  const Value* tmpl = Member(*doc, "chat_template");
  if (tmpl != nullptr && tmpl->IsString()) spec->chat_template = Str(*tmpl);
  if (tmpl != nullptr && tmpl->IsArray()) {  // [{"name": "default", "template": ...}, ...]
    for (const Value& t : tmpl->GetArray()) {
      if (StrField(t, "name") == "default") spec->chat_template = StrField(t, "template");
    }
  }
  return Status::Ok();
}

Status ReadTokenizerConfig(const std::string& path, Tokenizer::Spec* spec,
                           const std::unordered_map<std::string, int32_t>& ids) {
  if (!FileExists(path)) return Status::Ok();
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ReadTokenizerConfigText(text, path, spec, ids);
}

StatusOr<Tokenizer::Spec> ParseTokenizerJson(std::string_view text, const std::string& src,
                                             std::unordered_map<std::string, int32_t>* ids) {
  SIGMA_ASSIGN_OR_RETURN(auto doc, ParseJson(text, src));
  if (!doc->IsObject()) return InvalidArgumentError(src, ": not a JSON object");
  Tokenizer::Spec spec;
  spec.source = src;
  Parsed parsed;
  if (const Value* n = Member(*doc, "normalizer"))
    SIGMA_RETURN_IF_ERROR(ParseNormalizer(src, *n, &spec, &parsed));
  if (const Value* n = Member(*doc, "pre_tokenizer"))
    SIGMA_RETURN_IF_ERROR(ParsePreTokenizer(src, *n, &spec, &parsed));
  SIGMA_RETURN_IF_ERROR(ParseModel(src, *doc, &spec, ids));
  SIGMA_RETURN_IF_ERROR(ParseAddedTokens(src, *doc, &spec, ids));
  if (const Value* n = Member(*doc, "post_processor"))
    SIGMA_RETURN_IF_ERROR(ParsePostProcessor(src, *n, &spec, *ids));
  if (const Value* d = Member(*doc, "decoder")) {
    const std::string type = StrField(*d, "type");
    parsed.byte_level = parsed.byte_level || type == "ByteLevel";
    parsed.spm = parsed.spm || type == "Metaspace" || (type == "Sequence" && !parsed.byte_level);
  }
  if (parsed.byte_level == parsed.spm) {
    return UnimplementedError(src,
                              ": cannot tell a byte-level BPE from a SentencePiece-style one "
                              "(ByteLevel pre-tokenizer/decoder, or a U+2581 Replace/Metaspace)");
  }
  spec.kind = parsed.byte_level ? Tokenizer::Kind::kByteLevel : Tokenizer::Kind::kSentencePiece;
  return spec;
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromTokenizerJsonText(
    std::string_view text, std::string_view source, std::string_view config_text) {
  std::unordered_map<std::string, int32_t> ids;
  SIGMA_ASSIGN_OR_RETURN(Spec spec, ParseTokenizerJson(text, std::string(source), &ids));
  if (!config_text.empty()) {
    SIGMA_RETURN_IF_ERROR(ReadTokenizerConfigText(
        config_text, StrCat(source, " (tokenizer_config.json)"), &spec, ids));
  }
  return FromSpec(std::move(spec));
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromTokenizerJson(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::unordered_map<std::string, int32_t> ids;
  SIGMA_ASSIGN_OR_RETURN(Spec spec, ParseTokenizerJson(text, path, &ids));
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  SIGMA_RETURN_IF_ERROR(ReadTokenizerConfig(dir + "/tokenizer_config.json", &spec, ids));
  return FromSpec(std::move(spec));
}

}  // namespace sigma
