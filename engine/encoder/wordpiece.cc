#include "engine/encoder/wordpiece.h"

#include <algorithm>

#include "engine/base/file.h"
#include "engine/base/unicode_tables.h"

namespace sigma {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool IsAsciiPunctuation(char32_t c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
         (c >= 123 && c <= 126);
}

bool IsBertPunctuation(char32_t c) {
  return IsAsciiPunctuation(c) || (c >= 0x80 && unicode::IsPunctuation(c));
}

bool IsBertWhitespace(char32_t c) {
  return c == '\t' || c == '\n' || c == '\r' || unicode::IsWhitespace(c);
}

bool IsBertControl(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return unicode::IsOther(c);
}

// Length of a UTF-8 sequence from its lead byte, 0 when the byte cannot lead one.
int Utf8Length(uint8_t b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

}  // namespace

std::u32string DecodeUtf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const int len = Utf8Length(s[i]);
    if (len == 1) {
      out.push_back(s[i++]);
      continue;
    }
    if (len == 0) {
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    char32_t c = s[i] & (0xFF >> (len + 1));
    // Valid range of the second byte narrows for E0, ED, F0, F4 (no overlongs or surrogates).
    uint8_t lo = 0x80, hi = 0xBF;
    if (s[i] == 0xE0) lo = 0xA0;
    if (s[i] == 0xED) hi = 0x9F;
    if (s[i] == 0xF0) lo = 0x90;
    if (s[i] == 0xF4) hi = 0x8F;
    size_t k = 1;
    for (; k < static_cast<size_t>(len) && i + k < n; ++k) {
      const uint8_t b = s[i + k];
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) break;
      c = (c << 6) | (b & 0x3F);
    }
    out.push_back(k == static_cast<size_t>(len) ? c : kReplacement);
    i += k;
  }
  return out;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

StatusOr<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::FromVocabFile(
    const std::string& path, const WordPieceOptions& options) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> tokens, ReadLines(path));
  return FromTokens(std::move(tokens), options, path);
}

StatusOr<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::FromTokens(
    std::vector<std::string> tokens, const WordPieceOptions& options, std::string_view source) {
  if (tokens.empty()) return InvalidArgumentError(source, ": empty vocabulary");
  if (tokens.size() > size_t{1} << 24) {
    return InvalidArgumentError(source, ": ", tokens.size(), " tokens, expected at most 2^24");
  }
  if (options.max_input_chars_per_word < 1) {
    return InvalidArgumentError(source, ": max_input_chars_per_word must be positive");
  }
  std::unique_ptr<WordPieceTokenizer> t(new WordPieceTokenizer());
  t->options_ = options;
  t->tokens_ = std::move(tokens);
  t->ids_.reserve(t->tokens_.size());
  for (size_t i = 0; i < t->tokens_.size(); ++i) {
    const std::string& tok = t->tokens_[i];
    if (tok.empty()) return InvalidArgumentError(source, ": line ", i + 1, ": empty token");
    // Duplicates would make ids ambiguous (Hugging Face keeps the last one): reject them.
    if (!t->ids_.emplace(tok, static_cast<int32_t>(i)).second) {
      return InvalidArgumentError(source, ": line ", i + 1, ": duplicate token '", tok, "'");
    }
    t->max_token_bytes_ = std::max(t->max_token_bytes_, tok.size());
  }
  struct Required {
    const char* name;
    int32_t* id;
  };
  const std::string unk = options.unk_token;
  for (const Required& r : {Required{"[CLS]", &t->cls_id_}, Required{"[SEP]", &t->sep_id_},
                            Required{"[PAD]", &t->pad_id_}, Required{unk.c_str(), &t->unk_id_}}) {
    *r.id = t->TokenId(r.name);
    if (*r.id < 0) return InvalidArgumentError(source, ": special token ", r.name, " is missing");
  }
  for (const char* name : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    if (const int32_t id = t->TokenId(name); id >= 0) t->specials_.emplace_back(name, id);
  }
  std::stable_sort(t->specials_.begin(), t->specials_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return t;
}

int32_t WordPieceTokenizer::TokenId(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  return it == ids_.end() ? -1 : it->second;
}

std::vector<std::string> WordPieceTokenizer::BasicTokenize(std::string_view text) const {
  // Normalise: clean-up, CJK padding, accents, case. Shape: one code point per element.
  std::u32string norm;
  norm.reserve(text.size());
  for (char32_t c : DecodeUtf8(text)) {
    if (options_.clean_text) {
      if (c == 0 || c == kReplacement || IsBertControl(c)) continue;
      if (IsBertWhitespace(c)) c = ' ';
    }
    if (options_.handle_chinese_chars && unicode::IsCjkIdeograph(c)) {
      norm.push_back(' ');
      norm.push_back(c);
      norm.push_back(' ');
    } else {
      norm.push_back(c);
    }
  }
  if (options_.strip_accents) {
    std::u32string decomposed = unicode::Nfd(norm);
    norm.clear();
    for (char32_t c : decomposed) {
      if (!unicode::IsNonspacingMark(c)) norm.push_back(c);
    }
  }
  if (options_.lowercase) {
    std::u32string lower;
    lower.reserve(norm.size());
    for (char32_t c : norm) unicode::AppendLowercase(c, &lower);
    norm = std::move(lower);
  }
  // Pre-tokenize: whitespace separates words; each punctuation character is a word of its own.
  std::vector<std::string> words;
  std::string current;
  auto flush = [&] {
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  for (char32_t c : norm) {
    if (IsBertWhitespace(c)) {
      flush();
    } else if (IsBertPunctuation(c)) {
      flush();
      AppendUtf8(c, &current);
      flush();
    } else {
      AppendUtf8(c, &current);
    }
  }
  flush();
  return words;
}

void WordPieceTokenizer::AppendWordPieces(std::string_view word, std::vector<int32_t>* ids) const {
  // Code point boundaries of the word, in bytes: bounds[k] is where code point k starts.
  std::vector<size_t> bounds;
  for (size_t i = 0; i < word.size(); ++i) {
    if ((static_cast<uint8_t>(word[i]) & 0xC0) != 0x80) bounds.push_back(i);
  }
  const size_t chars = bounds.size();
  bounds.push_back(word.size());
  if (chars > static_cast<size_t>(options_.max_input_chars_per_word)) {
    ids->push_back(unk_id_);
    return;
  }
  const size_t first_new = ids->size();
  std::string piece;
  for (size_t start = 0; start < chars;) {
    int32_t found = -1;
    size_t end = chars;
    for (; end > start; --end) {
      const size_t bytes = bounds[end] - bounds[start];
      if (bytes > max_token_bytes_) continue;
      piece.assign(start > 0 ? options_.continuing_prefix : std::string());
      piece.append(word.substr(bounds[start], bytes));
      if (auto it = ids_.find(piece); it != ids_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {  // no complete segmentation: the whole word is unknown
      ids->resize(first_new);
      ids->push_back(unk_id_);
      return;
    }
    ids->push_back(found);
    start = end;
  }
}

void WordPieceTokenizer::AppendSpan(std::string_view text, std::vector<int32_t>* ids) const {
  for (const std::string& word : BasicTokenize(text)) AppendWordPieces(word, ids);
}

std::vector<int32_t> WordPieceTokenizer::Tokenize(std::string_view text) const {
  std::vector<int32_t> ids;
  size_t span_start = 0;
  for (size_t i = 0; i < text.size();) {
    const std::pair<std::string, int32_t>* hit = nullptr;
    if (text[i] == '[') {
      for (const auto& special : specials_) {
        if (text.substr(i, special.first.size()) == special.first) {
          hit = &special;
          break;
        }
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    AppendSpan(text.substr(span_start, i - span_start), &ids);
    ids.push_back(hit->second);
    i += hit->first.size();
    span_start = i;
  }
  AppendSpan(text.substr(span_start), &ids);
  return ids;
}

std::vector<int32_t> WordPieceTokenizer::Encode(std::string_view text, int max_length) const {
  SIGMA_CHECK(max_length >= 2, "WordPieceTokenizer::Encode: max_length ", max_length);
  std::vector<int32_t> pieces = Tokenize(text);
  if (pieces.size() > static_cast<size_t>(max_length - 2)) pieces.resize(max_length - 2);
  std::vector<int32_t> ids;
  ids.reserve(pieces.size() + 2);
  ids.push_back(cls_id_);
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  ids.push_back(sep_id_);
  return ids;
}

}  // namespace sigma
