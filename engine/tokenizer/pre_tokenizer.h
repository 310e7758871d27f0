// Pre-tokenization pieces of the BPE tokenizers: regex splitting (PCRE2 in UTF + UCP mode, with
// invalid UTF-8 tolerated), the GPT-2 byte <-> unicode table, the split patterns of the common
// model families, and small UTF-8 helpers.
//
// Splits follow Hugging Face's "Isolated" behaviour: every match is a piece, and so is every run
// of text between matches. `\s` / `\S` in patterns are rewritten to the Unicode White_Space set
// (what Oniguruma, the engine of HF tokenizers, uses; PCRE2's UCP \s leaves out U+0085).
// Thread safety: a compiled RegexSplitter is immutable; Split may run on many threads at once.
#ifndef SIGMA_ENGINE_TOKENIZER_PRE_TOKENIZER_H_
#define SIGMA_ENGINE_TOKENIZER_PRE_TOKENIZER_H_

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace sigma {

// The GPT-2 pattern as HF's ByteLevel pre-tokenizer runs it (with its trailing `|\s+`).
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama-3 (cl100k-like): digits in groups of 1-3.
inline constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2: as Llama-3 but one digit at a time.
inline constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen3.5: as Qwen2, combining marks (\p{M}) kept with the letters before them.
inline constexpr std::string_view kQwen35Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// GPT-4o's o200k (gpt-oss, Llama 4): words split at case changes, a contraction kept with its
// word, digits in groups of 1-3, a punctuation run with the newlines or slashes after it.
inline constexpr std::string_view kGpt4oPattern =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// HF Digits pre-tokenizer (char::is_numeric is \p{N}).
inline constexpr std::string_view kDigitsIndividualPattern = R"(\p{N})";
inline constexpr std::string_view kDigitsPattern = R"(\p{N}+)";

class RegexSplitter {
 public:
  // INVALID_ARGUMENT with PCRE2's message and offset when the pattern does not compile.
  static StatusOr<std::shared_ptr<const RegexSplitter>> Compile(std::string_view pattern);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Appends the pieces of `text` (matches and the gaps between them, in order, none empty).
  void Split(std::string_view text, std::vector<std::string_view>* out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  RegexSplitter() = default;
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
};

// GPT-2's reversible byte -> printable code point table and its inverse.
class ByteLevelMap {
 public:
  static const ByteLevelMap& Get();
  // UTF-8 of the code point standing for `byte`.
  const std::string& Encode(uint8_t byte) const { return encoded_[byte]; }
  // The byte a code point stands for, or -1.
  int Decode(uint32_t code_point) const {
    return code_point < decode_.size() ? decode_[code_point] : -1;
  }
  // Maps every byte of `bytes`.
  std::string EncodeAll(std::string_view bytes) const;

 private:
  ByteLevelMap();
  std::array<std::string, 256> encoded_;
  std::vector<int> decode_;
};

// Length of the UTF-8 sequence starting at text[pos] when it is valid (1 to 4), else 1 (one
// invalid byte). Decodes into *code_point (the byte value for an invalid byte, with *valid false).
size_t Utf8Next(std::string_view text, size_t pos, uint32_t* code_point, bool* valid);
void AppendUtf8(uint32_t code_point, std::string* out);

}  // namespace sigma

#endif  // SIGMA_ENGINE_TOKENIZER_PRE_TOKENIZER_H_
