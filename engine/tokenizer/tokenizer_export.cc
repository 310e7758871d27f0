// Tokenizer::ToHfFiles: the tokenizer as Hugging Face's tokenizer.json and tokenizer_config.json,
// in the forms tokenizer_json.cc reads (and the `tokenizers` library runs).
// Byte-level BPE:
//   pre_tokenizer  Sequence of Split (Isolated) per split pattern, then ByteLevel without its own
//                  regex; a "\Q...\E" pattern (a Split on a literal String) goes back to String
//   model          BPE: vocab (every id with a text), merges as [left, right] pairs in rank order,
//                  ignore_merges
//   post_processor TemplateProcessing of the prefix and suffix ids, else ByteLevel
//   decoder        ByteLevel
// SentencePiece-style (as Hugging Face's converters write Llama's):
//   normalizer     Prepend U+2581 (a space prefix before every segment), Replace " " -> U+2581
//   pre_tokenizer  null, or Metaspace (prepend_scheme first) for a prefix before the first only
//   model          BPE with byte_fallback; merges from the token scores where the tokenizer has
//                  none (MergesFromScores)
//   post_processor TemplateProcessing of the prefix and suffix ids, else null
//   decoder        Replace U+2581 -> " ", ByteFallback, Fuse, Strip one leading space
// Both: added_tokens with their special / lstrip / rstrip flags; tokenizer_config.json with
// bos_token, eos_token (the first), chat_template.
#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/base/json.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace sigma {
namespace {

void AppendKey(std::string_view key, std::string* out) {
  AppendJsonString(key, out);
  out->append(": ");
}

std::string JsonBool(bool b) { return b ? "true" : "false"; }

// {"Regex": pattern}, or {"String": literal} for a pattern that quotes one.
std::string SplitPattern(std::string_view pattern) {
  std::string out = "{";
  if (pattern.size() >= 4 && pattern.substr(0, 2) == "\\Q" &&
      pattern.substr(pattern.size() - 2) == "\\E" &&
      pattern.substr(2, pattern.size() - 4).find("\\E") == std::string_view::npos) {
    AppendKey("String", &out);
    AppendJsonString(pattern.substr(2, pattern.size() - 4), &out);
  } else {
    AppendKey("Regex", &out);
    AppendJsonString(pattern, &out);
  }
  return out + "}";
}

std::string PreTokenizer(const Tokenizer::Spec& spec) {
  std::string out = R"({"type": "Sequence", "pretokenizers": [)";
  for (const std::string& p : spec.split_patterns) {
    out += R"({"type": "Split", "pattern": )" + SplitPattern(p) +
           R"(, "behavior": "Isolated", "invert": false}, )";
  }
  if (spec.kind == Tokenizer::Kind::kByteLevel) {
    return out + R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, )"
                 R"("use_regex": false}]})";
  }
  if (spec.add_space_prefix && !spec.prefix_every_segment) {
    out +=
        "{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", "
        "\"prepend_scheme\": \"first\", \"split\": false}, ";
  }
  if (out.back() == '[') return "null";
  out.resize(out.size() - 2);  // the last ", "
  return out + "]}";
}

// SentencePiece's spaces and the prefix, as normalizers.
std::string Normalizer(const Tokenizer::Spec& spec) {
  if (spec.kind == Tokenizer::Kind::kByteLevel) return "null";
  std::string out = R"({"type": "Sequence", "normalizers": [)";
  if (spec.add_space_prefix && spec.prefix_every_segment) {
    out += "{\"type\": \"Prepend\", \"prepend\": \"\u2581\"}, ";
  }
  return out +
         "{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, "
         "\"content\": \"\u2581\"}]}";
}

std::string Decoder(const Tokenizer::Spec& spec) {
  if (spec.kind == Tokenizer::Kind::kByteLevel) {
    return R"({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, )"
           R"("use_regex": true})";
  }
  std::string out = R"({"type": "Sequence", "decoders": [)"
                    "{\"type\": \"Replace\", \"pattern\": {\"String\": \"\u2581\"}, "
                    "\"content\": \" \"}, "
                    R"({"type": "ByteFallback"}, {"type": "Fuse"})";
  if (spec.add_space_prefix) out += R"(, {"type": "Strip", "content": " ", "start": 1, "stop": 0})";
  return out + "]}";
}

// TemplateProcessing: prefix tokens, the sequence, suffix tokens (a pair: both sequences so).
std::string PostProcessor(const Tokenizer& t, const std::vector<int32_t>& prefix,
                          const std::vector<int32_t>& suffix) {
  if (prefix.empty() && suffix.empty()) {
    if (t.kind() == Tokenizer::Kind::kSentencePiece) return "null";
    return R"({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, )"
           R"("use_regex": true})";
  }
  const auto special = [&](int32_t id, int type_id) {
    std::string out = R"({"SpecialToken": {"id": )";
    AppendJsonString(t.TokenText(id), &out);
    return out + ", \"type_id\": " + std::to_string(type_id) + "}}, ";
  };
  const auto sequence = [&](const char* name, int type_id) {
    std::string out;
    for (int32_t id : prefix) out += special(id, type_id);
    out += R"({"Sequence": {"id": ")" + std::string(name) + R"(", "type_id": )" +
           std::to_string(type_id) + "}}, ";
    for (int32_t id : suffix) out += special(id, type_id);
    return out;
  };
  const auto list = [](std::string items) {
    items.resize(items.size() - 2);  // the last ", "
    return "[" + items + "]";
  };
  std::string tokens;
  std::vector<int32_t> all = prefix;
  all.insert(all.end(), suffix.begin(), suffix.end());
  std::vector<int32_t> seen;
  for (int32_t id : all) {
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
    seen.push_back(id);
    AppendJsonString(t.TokenText(id), &tokens);
    tokens += ": {\"id\": ";
    AppendJsonString(t.TokenText(id), &tokens);
    tokens += ", \"ids\": [" + std::to_string(id) + "], \"tokens\": [";
    AppendJsonString(t.TokenText(id), &tokens);
    tokens += "]}, ";
  }
  tokens.resize(tokens.size() - 2);
  return R"({"type": "TemplateProcessing", "single": )" + list(sequence("A", 0)) + R"(, "pair": )" +
         list(sequence("A", 0) + sequence("B", 1)) + R"(, "special_tokens": {)" + tokens + "}}";
}

std::string AddedTokens(const std::vector<Tokenizer::AddedToken>& added) {
  std::string out = "[";
  for (size_t i = 0; i < added.size(); ++i) {
    const Tokenizer::AddedToken& a = added[i];
    out += (i ? ",\n    {" : "\n    {");
    out += "\"id\": " + std::to_string(a.id) + ", ";
    AppendKey("content", &out);
    AppendJsonString(a.content, &out);
    out += ", \"single_word\": false, \"lstrip\": " + JsonBool(a.lstrip) +
           ", \"rstrip\": " + JsonBool(a.rstrip) +
           ", \"normalized\": false, \"special\": " + JsonBool(a.special) + "}";
  }
  return out + (added.empty() ? "]" : "\n  ]");
}

constexpr size_t kMaxMergedTokenBytes = 1024;

}  // namespace

StatusOr<Tokenizer::HfFiles> Tokenizer::ToHfFiles() const {
  std::vector<std::pair<std::string, std::string>> from_scores;
  if (spec_.kind == Kind::kSentencePiece && spec_.merges.empty()) {
    if (spec_.scores.empty()) {
      return UnimplementedError(spec_.source,
                                ": a SentencePiece-style tokenizer with neither merges nor token "
                                "scores has no tokenizer.json form");
    }
    from_scores = MergesFromScores();
  }
  const auto& merges = spec_.merges.empty() ? from_scores : spec_.merges;
  std::string json = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n";
  json += "  \"added_tokens\": " + AddedTokens(spec_.added) + ",\n";
  json += "  \"normalizer\": " + Normalizer(spec_) + ",\n";
  json += "  \"pre_tokenizer\": " + PreTokenizer(spec_) + ",\n";
  json +=
      "  \"post_processor\": " + PostProcessor(*this, spec_.prefix_ids, spec_.suffix_ids) + ",\n";
  json += "  \"decoder\": " + Decoder(spec_) + ",\n";
  json += R"(  "model": {"type": "BPE", "dropout": null, "unk_token": )";
  if (spec_.unk_id >= 0) {
    AppendJsonString(TokenText(spec_.unk_id), &json);
  } else {
    json += "null";
  }
  json += R"(, "continuing_subword_prefix": null, "end_of_word_suffix": null, )"
          R"("fuse_unk": )" +
          JsonBool(spec_.kind == Kind::kSentencePiece) +
          ", \"byte_fallback\": " + JsonBool(spec_.byte_fallback) +
          ", \"ignore_merges\": " + JsonBool(spec_.ignore_merges) + ",\n    \"vocab\": {";
  bool first = true;
  for (size_t id = 0; id < spec_.vocab.size(); ++id) {
    if (spec_.vocab[id].empty()) continue;  // a hole in the ids
    json += first ? "\n      " : ",\n      ";
    first = false;
    AppendJsonString(spec_.vocab[id], &json);
    json += ": " + std::to_string(id);
  }
  json += "\n    },\n    \"merges\": [";
  for (size_t i = 0; i < merges.size(); ++i) {
    json += i ? ",\n      [" : "\n      [";
    AppendJsonString(merges[i].first, &json);
    json += ", ";
    AppendJsonString(merges[i].second, &json);
    json += "]";
  }
  json += merges.empty() ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n";

  std::string config = "{\n";
  const auto token = [&](const char* key, int32_t id) {
    config += "  ";
    AppendKey(key, &config);
    if (id >= 0) {
      AppendJsonString(TokenText(id), &config);
    } else {
      config += "null";
    }
    config += ",\n";
  };
  token("bos_token", spec_.bos_id);
  token("eos_token", spec_.eos_ids.empty() ? -1 : spec_.eos_ids[0]);
  config += "  \"tokenizer_class\": \"PreTrainedTokenizerFast\",\n  ";
  AppendKey("chat_template", &config);
  if (spec_.chat_template.empty()) {
    config += "null";
  } else {
    AppendJsonString(spec_.chat_template, &config);
  }
  config += "\n}\n";
  return HfFiles{std::move(json), std::move(config)};
}

std::vector<std::pair<std::string, std::string>> Tokenizer::MergesFromScores() const {
  struct Candidate {
    float score;
    int32_t piece, left, right;
    size_t split;  // bytes of the left part
  };
  std::vector<Candidate> all;
  for (size_t id = 0; id < spec_.vocab.size(); ++id) {
    const std::string& piece = spec_.vocab[id];
    // Splitting costs the square of a token's length; SentencePiece's pieces are 16 characters
    // by default (max_sentencepiece_length), so a longer one is a hostile file's, left unmerged.
    if (piece.size() > kMaxMergedTokenBytes) continue;
    uint32_t cp;
    bool valid;
    for (size_t at = Utf8Next(piece, 0, &cp, &valid); at < piece.size();
         at += Utf8Next(piece, at, &cp, &valid)) {
      const int32_t left = TokenId(std::string_view(piece).substr(0, at));
      const int32_t right = TokenId(std::string_view(piece).substr(at));
      if (left >= 0 && right >= 0) {
        all.push_back({spec_.scores[id], static_cast<int32_t>(id), left, right, at});
      }
    }
  }
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(b.score, a.piece, a.left, a.right) <
           std::tie(a.score, b.piece, b.left, b.right);
  });
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(all.size());
  for (const Candidate& c : all) {
    const std::string& piece = spec_.vocab[c.piece];
    merges.emplace_back(piece.substr(0, c.split), piece.substr(c.split));
  }
  return merges;
}

}  // namespace sigma
