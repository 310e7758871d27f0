// KQL lexer for the NL2KQL scorer: turns a Kusto query into tokens with source positions.
//
// Tokens: identifiers (letters, digits, '_', a leading '$' as in $left), string literals ('...',
// "...", verbatim @'...' / @"..." with doubled quotes, obfuscated h'...' / h"..."), numbers
// (integers, reals, exponents, 0x hex), timespans (a number glued to a unit: 5m, 1h, 7d, 30s,
// 100ms, 2min, 1sec, 3days, ...), datetime(...) / timespan(...) literals taken whole, negated word
// operators (!contains, !has, !in, !startswith, ...), the case-insensitive in~ / !in~, and
// punctuation (| , ( ) [ ] { } . .. ; : = == != <> < <= > >= =~ !~ => + - * / %). // comments and
// whitespace are skipped. Strings may not span lines (as in Kusto).
//
// Strict mode rejects anything else with INVALID_ARGUMENT naming line, column and the problem.
// Lenient mode (for the Jaccard similarity of arbitrary model output) never fails: an unknown byte
// becomes a one-byte punctuation token and an unterminated string runs to the end of its line.
// Thread safety: free functions, no shared state.
#ifndef SIGMA_AIMICIUS_KQL_LEXER_H_
#define SIGMA_AIMICIUS_KQL_LEXER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace sigma::aimicius::kql {

enum class TokenKind {
  kIdentifier,  // text = the name
  kString,      // text = source spelling; value = decoded contents
  kNumber,      // text = source spelling
  kTimespan,    // 5m, 1h, or timespan(...): text = source spelling
  kDatetime,    // datetime(...): text = source spelling; value = the text between the parens
  kPunct,       // operators and punctuation, including !contains, in~ (text = the operator)
  kEnd,         // end of input (always the last token)
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  std::string value;
  size_t offset = 0;  // byte offset in the query
  size_t length = 0;  // bytes in the query
};

// Line and column (1-based, columns in bytes) of `offset` in `query`.
void LineColumn(std::string_view query, size_t offset, size_t* line, size_t* column);

// "line 2, column 7" for messages.
std::string Where(std::string_view query, size_t offset);

StatusOr<std::vector<Token>> Lex(std::string_view query);
std::vector<Token> LexLenient(std::string_view query);

}  // namespace sigma::aimicius::kql

#endif  // SIGMA_AIMICIUS_KQL_LEXER_H_
