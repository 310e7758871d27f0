// WordPiece tokenizer of BERT-family sentence encoders (all-MiniLM-L6-v2), as Hugging Face's
// BertTokenizerFast (tokenizers' BertNormalizer + BertPreTokenizer + WordPiece) encodes text:
//
//   1. special tokens written literally in the text ("[SEP]", "[CLS]", ...) are matched first, on
//      the raw text, and become their ids;
//   2. normalise each remaining span: drop NUL, U+FFFD and "other" characters (Cc Cf Cs Co
//      except \t \n \r; unassigned code points stay), map White_Space to ' ', pad CJK ideographs
//      with spaces, strip accents (NFD, then remove Mn), lowercase (full mapping);
//   3. pre-tokenize: split on whitespace, and isolate each punctuation character (ASCII
//      punctuation, or Unicode P*);
//   4. WordPiece: greedy longest-match-first with "##" continuation; a word with no complete
//      segmentation, or longer than max_input_chars_per_word code points, becomes [UNK].
//
// Unicode tables are Python's unicodedata 14.0 (engine/base/unicode_tables.h). Checked per code
// point ("a" c "b" through steps 2-3) against tokenizers 0.23: 559 of 1,112,062 differ, all
// characters whose properties changed across Unicode versions (e.g. U+0898..089F, Mn since 14.0,
// are plain letters to tokenizers' older tables; U+A7CB.., cased since 16.0, are unassigned to
// ours).
//
// Encode() adds [CLS] ... [SEP] and truncates the word pieces so the whole fits max_length, as
// sentence-transformers does (truncation="longest_first" on one sequence).
// Ownership: owns its vocabulary. Thread safety: immutable after construction; safe to share.
#ifndef SIGMA_ENGINE_ENCODER_WORDPIECE_H_
#define SIGMA_ENGINE_ENCODER_WORDPIECE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/base/status.h"

namespace sigma {

struct WordPieceOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;  // tokenizers: strip_accents null follows lowercase
  bool lowercase = true;
  int max_input_chars_per_word = 100;
  std::string unk_token = "[UNK]";
  std::string continuing_prefix = "##";
};

class WordPieceTokenizer {
 public:
  // vocab.txt: one token per line, id = line number (0-based). Requires [CLS], [SEP], [PAD] and
  // options.unk_token in the vocabulary.
  static StatusOr<std::unique_ptr<WordPieceTokenizer>> FromVocabFile(
      const std::string& path, const WordPieceOptions& options = {});
  // `source` names the vocabulary in errors.
  static StatusOr<std::unique_ptr<WordPieceTokenizer>> FromTokens(
      std::vector<std::string> tokens, const WordPieceOptions& options, std::string_view source);

  // Steps 2-3: the normalised words of `text` (no special-token matching).
  std::vector<std::string> BasicTokenize(std::string_view text) const;
  // Steps 1-4 without [CLS]/[SEP] or truncation.
  std::vector<int32_t> Tokenize(std::string_view text) const;
  // [CLS] pieces [SEP], pieces truncated so that the result has at most max_length ids
  // (max_length >= 2).
  std::vector<int32_t> Encode(std::string_view text, int max_length) const;

  int vocab_size() const { return static_cast<int>(tokens_.size()); }
  const std::string& token(int32_t id) const { return tokens_.at(static_cast<size_t>(id)); }
  // -1 when absent.
  int32_t TokenId(std::string_view token) const;
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t unk_id() const { return unk_id_; }
  const WordPieceOptions& options() const { return options_; }

 private:
  WordPieceTokenizer() = default;
  // Appends the ids of one pre-tokenized word.
  void AppendWordPieces(std::string_view word, std::vector<int32_t>* ids) const;
  // Appends the ids of a span with no special tokens in it.
  void AppendSpan(std::string_view text, std::vector<int32_t>* ids) const;

  WordPieceOptions options_;
  std::vector<std::string> tokens_;                 // [vocab]
  std::unordered_map<std::string, int32_t> ids_;    // token -> id
  std::vector<std::pair<std::string, int32_t>> specials_;  // matched literally, longest first
  int32_t cls_id_ = -1, sep_id_ = -1, pad_id_ = -1, unk_id_ = -1;
  size_t max_token_bytes_ = 0;
};

// UTF-8 -> code points. Invalid sequences decode to U+FFFD per maximal subpart (so clean-up drops
// them, as Hugging Face does after its lossy UTF-8 conversion).
std::u32string DecodeUtf8(std::string_view text);
void AppendUtf8(char32_t c, std::string* out);

}  // namespace sigma

#endif  // SIGMA_ENGINE_ENCODER_WORDPIECE_H_
