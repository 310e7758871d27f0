// Unicode properties for the BERT normaliser and pre-tokenizer (engine/encoder/wordpiece.h) and
// the tokenizers' added-token whitespace (engine/tokenizer/tokenizer.cc):
// general categories, canonical decomposition (NFD) and lowercase mapping, from tables generated at
// development time from Python's unicodedata by gen_unicode_tables.py (unicode_tables_data.inc,
// committed; the product never runs Python). Hangul syllables are decomposed algorithmically.
// Thread safety: pure functions over constant tables.
#ifndef SIGMA_ENGINE_BASE_UNICODE_TABLES_H_
#define SIGMA_ENGINE_BASE_UNICODE_TABLES_H_

#include <cstdint>
#include <string>

namespace sigma::unicode {

// The Unicode version the tables were generated from ("14.0.0").
const char* TableVersion();

// General category Cc, Cf, Cs or Co (control, format, surrogate, private use). Unassigned code
// points (Cn) are not "other" here: Hugging Face's BertNormalizer keeps them.
bool IsOther(char32_t c);
// General category Mn (nonspacing mark).
bool IsNonspacingMark(char32_t c);
// General category P* (any punctuation).
bool IsPunctuation(char32_t c);
// Unicode White_Space (the set Rust's char::is_whitespace and Hugging Face tokenizers use).
bool IsWhitespace(char32_t c);
// The CJK ideograph blocks BERT pads with spaces (CJK Unified Ideographs, Extensions A-E,
// Compatibility Ideographs and their Supplement) as Hugging Face tokenizers defines them: its
// Extension E range starts at U+2B920, not U+2B820 as in BERT's Python tokenizer.
bool IsCjkIdeograph(char32_t c);
// Canonical combining class (0 for starters).
uint8_t CombiningClass(char32_t c);

// Appends the full canonical decomposition of `c` (itself when it has none) to *out.
void AppendDecomposition(char32_t c, std::u32string* out);
// NFD of a whole string: full decomposition, then canonical ordering of combining marks.
std::u32string Nfd(const std::u32string& text);
// Appends the full lowercase mapping of `c` (one to three code points) to *out.
void AppendLowercase(char32_t c, std::u32string* out);

}  // namespace sigma::unicode

#endif  // SIGMA_ENGINE_BASE_UNICODE_TABLES_H_
