// Tokenizer: BPE tokenizers of the model families this project runs, loaded from a Hugging Face
// tokenizer.json or from GGUF metadata, with exact encode/decode round trips.
//
// Two kinds:
//  - byte-level BPE (GPT-2, Llama-3, Qwen2, SmolLM2): added/special tokens are split out first
//    (leftmost-longest, on the raw text), then the pre-tokenizer regexes split the rest, each
//    piece's bytes are mapped with the GPT-2 byte table and merged by merge rank.
//  - SentencePiece-style BPE (Llama-2, TinyLlama; GGUF tokenizer.ggml.model "llama"; Gemma 4's
//    "gemma4"): spaces become U+2581, a leading one is prepended (not in Gemma 4's), merges follow
//    merge ranks (tokenizer.json, gemma4) or token scores (GGUF llama), and characters outside the
//    vocab fall back to <0xXX> byte tokens.
// Any byte string encodes (invalid UTF-8 included: byte-level tokens, or byte fallback), and
// Decode(Encode(text)) == text for byte-level tokenizers whose vocabulary has all 256 byte
// symbols (GPT-2, Llama-3, Qwen2). A byte whose symbol is missing is dropped, as HF tokenizers
// do: SmolLM2 lacks 21 (0x04 0x06 0x13 0x14 0x16 0x1D 0xC0 0xC1 0xF1 0xF2 0xF5-0xFF), i.e. those
// control characters, invalid bytes, and code points U+40000-U+BFFFF. (llama.cpp, as
// llama-cpp-python 0.3.36 builds it, drops the control characters too but reads invalid UTF-8 as
// U+FFFD, whose three bytes SmolLM2 has.)
// Normalizers: Prepend/Replace (SentencePiece style) are applied; NFC (Qwen2) is accepted but NOT
// applied - input that is already NFC, as nearly all text is, tokenizes exactly; other normalizers
// are UNIMPLEMENTED at load.
// Thread safety: immutable after load; Encode/Decode may run on many threads at once.
#ifndef SIGMA_ENGINE_TOKENIZER_TOKENIZER_H_
#define SIGMA_ENGINE_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/pre_tokenizer.h"

namespace sigma {

class Tokenizer {
 public:
  enum class Kind { kByteLevel, kSentencePiece };

  struct AddedToken {
    std::string content;
    int32_t id = -1;
    bool special = true;
    bool lstrip = false;  // absorb whitespace (Unicode White_Space, as HF) left of a match
    bool rstrip = false;  // absorb whitespace to the right
  };

  // Everything a loader extracts from a file; FromSpec validates it and builds the tables.
  struct Spec {
    std::string source;  // file name for errors
    Kind kind = Kind::kByteLevel;
    std::vector<std::string> vocab;  // id -> token text (byte-level form / with U+2581)
    std::vector<std::pair<std::string, std::string>> merges;  // in rank order
    std::vector<float> scores;                // per id; used for merging when merges is empty
    std::vector<std::string> split_patterns;  // pre-tokenizer regexes, applied in order
    bool ignore_merges = false;               // a piece that is a vocab entry is emitted whole
    bool byte_fallback = false;               // unknown characters -> <0xXX> tokens
    bool add_space_prefix = false;            // SentencePiece: prepend U+2581
    bool prefix_every_segment = false;        // ... to every text segment between added tokens
    std::vector<AddedToken> added;
    int32_t unk_id = -1;
    int32_t bos_id = -1;
    std::vector<int32_t> eos_ids;
    std::vector<int32_t> prefix_ids;  // added by Encode(..., add_special = true)
    std::vector<int32_t> suffix_ids;
    std::string chat_template;  // Jinja text from the file, or ""
  };

  static StatusOr<std::unique_ptr<Tokenizer>> FromSpec(Spec spec);
  // A tokenizer.json file (and tokenizer_config.json beside it, for bos/eos/chat_template).
  static StatusOr<std::unique_ptr<Tokenizer>> FromTokenizerJson(const std::string& path);
  // `config_text`: a tokenizer_config.json's text, or empty for none.
  static StatusOr<std::unique_ptr<Tokenizer>> FromTokenizerJsonText(
      std::string_view text, std::string_view source, std::string_view config_text = {});
  // tokenizer.ggml.* metadata: model "gpt2" (byte-level) or "llama" (SentencePiece); without it,
  // an embedded tokenizer.json (kGgufHfTokenizerKey, with kGgufHfTokenizerConfigKey where present).
  static StatusOr<std::unique_ptr<Tokenizer>> FromGguf(const GgufFile& file);
  // A model folder (its tokenizer.json, else its only .gguf), a tokenizer.json or a .gguf file.
  static StatusOr<std::unique_ptr<Tokenizer>> Open(const std::string& path);

  // The tokenizer as Hugging Face files, which FromTokenizerJson reads back to the same encoding
  // (tokenizer_export.cc). UNIMPLEMENTED for a SentencePiece-style one with neither merges nor
  // token scores.
  struct HfFiles {
    std::string tokenizer_json;
    std::string tokenizer_config_json;  // bos_token, eos_token, chat_template
  };
  StatusOr<HfFiles> ToHfFiles() const;

  std::vector<int32_t> Encode(std::string_view text, bool add_special) const;
  // Special tokens are written as their text unless skip_special. Out-of-range ids are skipped.
  std::string Decode(std::span<const int32_t> ids, bool skip_special = false) const;

  Kind kind() const { return spec_.kind; }
  int64_t vocab_size() const { return static_cast<int64_t>(spec_.vocab.size()); }
  int32_t bos_id() const { return spec_.bos_id; }
  const std::vector<int32_t>& eos_ids() const { return spec_.eos_ids; }
  int32_t unk_id() const { return spec_.unk_id; }
  // The stored token text ("" for an id out of range); TokenId returns -1 when absent.
  std::string_view TokenText(int32_t id) const;
  int32_t TokenId(std::string_view text) const;
  bool IsSpecial(int32_t id) const;
  const std::string& chat_template() const { return spec_.chat_template; }
  const std::vector<AddedToken>& added_tokens() const { return spec_.added; }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  struct Segment {
    std::string_view text;  // empty when `token` is set
    int32_t token = -1;
  };

  explicit Tokenizer(Spec spec) : spec_(std::move(spec)) {}
  Status Build();
  Status BuildMerges();
  void SplitAdded(std::string_view text, std::vector<Segment>* out) const;
  void EncodeSegment(std::string_view text, bool first, std::vector<int32_t>* out) const;
  void EncodeWord(std::string_view word, std::vector<int32_t>* out) const;
  void EmitSymbol(std::string_view word, size_t start, size_t len, int32_t id,
                  std::vector<int32_t>* out) const;
  void DecodeToken(int32_t id, std::string* out) const;
  // Hugging Face's merges for a SentencePiece vocabulary, as its converters derive them from the
  // token scores (SentencePieceExtractor): every split of a token into two tokens, ordered by the
  // token's score, highest first; ties by the token's id, then the left and right parts' ids.
  // Tokens over 1 KB (none in a real vocabulary) are not split.
  std::vector<std::pair<std::string, std::string>> MergesFromScores() const;

  Spec spec_;
  std::unordered_map<std::string, int32_t> token_to_id_;
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> rank, result
  std::vector<std::shared_ptr<const RegexSplitter>> splitters_;
  std::vector<int32_t> byte_ids_;  // byte -> its token (byte-level char or <0xXX>)
  std::vector<int> token_byte_;    // id -> byte for <0xXX> tokens, else -1
  std::vector<uint8_t> is_added_;  // id -> 1 special, 2 non-special added
  std::vector<std::vector<const AddedToken*>> added_by_first_byte_;
};

// Whether a GGUF file carries a tokenizer (tokenizer.ggml.* metadata or an embedded
// tokenizer.json); one converted from a checkpoint folder without a tokenizer does not.
bool GgufHasTokenizer(const GgufFile& file);

}  // namespace sigma

#endif  // SIGMA_ENGINE_TOKENIZER_TOKENIZER_H_
