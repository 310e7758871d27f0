#include "aimicius/kql/lexer.h"

#include <array>
#include <cctype>

namespace sigma::aimicius::kql {
namespace {

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Timespan unit suffixes Kusto accepts after a number.
constexpr std::array<std::string_view, 24> kTimespanUnits = {
    "d",       "day",     "days",         "h",            "hr",          "hrs",
    "hour",    "hours",   "m",            "min",          "minute",      "minutes",
    "s",       "sec",     "second",       "seconds",      "ms",          "milli",
    "millis",  "millisecond", "milliseconds", "microsecond", "microseconds", "tick"};

bool IsTimespanUnit(std::string_view unit) {
  if (unit == "ticks" || unit == "micro" || unit == "micros") return true;
  for (std::string_view u : kTimespanUnits) {
    if (u == unit) return true;
  }
  return false;
}

// Punctuation, longest first.
constexpr std::array<std::string_view, 31> kPuncts = {
    "==", "!=", "<>", "<=", ">=", "=~", "!~", "..", "=>", "|", ",", "(", ")", "[", "]", "{",
    "}",  ".",  ";",  ":",  "=",  "<",  ">",  "+",  "-",  "*", "/", "%", "~", "?", "@"};

class Lexer {
 public:
  Lexer(std::string_view query, bool lenient) : q_(query), lenient_(lenient) {}

  StatusOr<std::vector<Token>> Run() {
    while (true) {
      SkipSpaceAndComments();
      if (pos_ >= q_.size()) break;
      SIGMA_RETURN_IF_ERROR(Next());
    }
    Token end;
    end.kind = TokenKind::kEnd;
    end.offset = q_.size();
    tokens_.push_back(end);
    return std::move(tokens_);
  }

 private:
  void SkipSpaceAndComments() {
    while (pos_ < q_.size()) {
      const char c = q_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else if (c == '/' && pos_ + 1 < q_.size() && q_[pos_ + 1] == '/') {
        while (pos_ < q_.size() && q_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  Status Error(size_t offset, std::string_view what) {
    return InvalidArgumentError("KQL: ", Where(q_, offset), ": ", what);
  }

  void Push(TokenKind kind, size_t begin, std::string value = {}) {
    Token t;
    t.kind = kind;
    t.offset = begin;
    t.length = pos_ - begin;
    t.text = std::string(q_.substr(begin, pos_ - begin));
    t.value = std::move(value);
    tokens_.push_back(std::move(t));
  }

  Status Next() {
    const char c = q_[pos_];
    const char n = pos_ + 1 < q_.size() ? q_[pos_ + 1] : '\0';
    if (c == '\'' || c == '"') return String(pos_, pos_, false);
    if (c == '@' && (n == '\'' || n == '"')) return String(pos_, pos_ + 1, true);
    if ((c == 'h' || c == 'H') && (n == '\'' || n == '"')) return String(pos_, pos_ + 1, false);
    if (IsDigit(c) || (c == '.' && IsDigit(n) && !PrevIsValue())) return Number();
    if (IsIdentStart(c) || (c == '$' && IsIdentStart(n))) return Identifier();
    if (c == '!' && IsIdentStart(n)) return NegatedWord();
    for (std::string_view p : kPuncts) {
      if (q_.substr(pos_, p.size()) == p) {
        const size_t begin = pos_;
        pos_ += p.size();
        Push(TokenKind::kPunct, begin);
        return Status::Ok();
      }
    }
    if (!lenient_) {
      return Error(pos_, StrCat("unexpected character 0x", std::hex,
                                static_cast<int>(static_cast<unsigned char>(c))));
    }
    const size_t begin = pos_++;
    Push(TokenKind::kPunct, begin);
    return Status::Ok();
  }

  bool PrevIsValue() const {
    if (tokens_.empty()) return false;
    const Token& t = tokens_.back();
    return t.kind != TokenKind::kPunct || t.text == ")" || t.text == "]";
  }

  // `begin` is the token start; `quote_at` the opening quote.
  Status String(size_t begin, size_t quote_at, bool verbatim) {
    const char quote = q_[quote_at];
    pos_ = quote_at + 1;
    std::string value;
    while (true) {
      if (pos_ >= q_.size() || q_[pos_] == '\n') {
        if (!lenient_) return Error(begin, "unterminated string literal");
        Push(TokenKind::kString, begin, std::move(value));
        return Status::Ok();
      }
      const char c = q_[pos_];
      if (c == quote) {
        if (verbatim && pos_ + 1 < q_.size() && q_[pos_ + 1] == quote) {
          value.push_back(quote);
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      if (c == '\\' && !verbatim && pos_ + 1 < q_.size() && q_[pos_ + 1] != '\n') {
        const char e = q_[pos_ + 1];
        value.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
        pos_ += 2;
        continue;
      }
      value.push_back(c);
      ++pos_;
    }
    Push(TokenKind::kString, begin, std::move(value));
    return Status::Ok();
  }

  Status Number() {
    const size_t begin = pos_;
    if (q_[pos_] == '0' && pos_ + 1 < q_.size() && (q_[pos_ + 1] == 'x' || q_[pos_ + 1] == 'X')) {
      pos_ += 2;
      while (pos_ < q_.size() && std::isxdigit(static_cast<unsigned char>(q_[pos_]))) ++pos_;
    } else {
      while (pos_ < q_.size() && IsDigit(q_[pos_])) ++pos_;
      // A '.' followed by a digit is a fraction; "1..5" is a range, so '..' stops the number.
      if (pos_ + 1 < q_.size() && q_[pos_] == '.' && IsDigit(q_[pos_ + 1])) {
        ++pos_;
        while (pos_ < q_.size() && IsDigit(q_[pos_])) ++pos_;
      }
      if (pos_ < q_.size() && (q_[pos_] == 'e' || q_[pos_] == 'E')) {
        size_t p = pos_ + 1;
        if (p < q_.size() && (q_[p] == '+' || q_[p] == '-')) ++p;
        if (p < q_.size() && IsDigit(q_[p])) {
          pos_ = p;
          while (pos_ < q_.size() && IsDigit(q_[pos_])) ++pos_;
        }
      }
    }
    size_t unit_end = pos_;
    while (unit_end < q_.size() && IsIdentChar(q_[unit_end])) ++unit_end;
    if (unit_end > pos_) {
      std::string_view unit = q_.substr(pos_, unit_end - pos_);
      if (!IsTimespanUnit(unit)) {
        if (!lenient_) return Error(begin, StrCat("invalid number or timespan '",
                                                  q_.substr(begin, unit_end - begin), "'"));
        pos_ = unit_end;
        Push(TokenKind::kNumber, begin);
        return Status::Ok();
      }
      pos_ = unit_end;
      Push(TokenKind::kTimespan, begin);
      return Status::Ok();
    }
    Push(TokenKind::kNumber, begin);
    return Status::Ok();
  }

  Status Identifier() {
    const size_t begin = pos_;
    ++pos_;
    while (pos_ < q_.size() && IsIdentChar(q_[pos_])) ++pos_;
    std::string_view word = q_.substr(begin, pos_ - begin);
    if (word == "in" && pos_ < q_.size() && q_[pos_] == '~') {
      ++pos_;
      Push(TokenKind::kPunct, begin);
      return Status::Ok();
    }
    if (word == "datetime" || word == "timespan") return WholeLiteral(begin, word);
    Push(TokenKind::kIdentifier, begin);
    return Status::Ok();
  }

  // datetime(2024-01-01 10:00) / timespan(1.02:03:04): Kusto's literal syntax is not an expression,
  // so the parenthesised text is taken whole (no nested parentheses).
  Status WholeLiteral(size_t begin, std::string_view word) {
    size_t p = pos_;
    while (p < q_.size() && (q_[p] == ' ' || q_[p] == '\t')) ++p;
    if (p >= q_.size() || q_[p] != '(') {
      Push(TokenKind::kIdentifier, begin);
      return Status::Ok();
    }
    const size_t close = q_.find_first_of(")\n(", p + 1);
    if (close == std::string_view::npos || q_[close] != ')') {
      if (!lenient_) return Error(begin, StrCat("unterminated ", word, "(...) literal"));
      Push(TokenKind::kIdentifier, begin);
      return Status::Ok();
    }
    pos_ = close + 1;
    std::string inner(q_.substr(p + 1, close - p - 1));
    Push(word == "datetime" ? TokenKind::kDatetime : TokenKind::kTimespan, begin, std::move(inner));
    return Status::Ok();
  }

  Status NegatedWord() {
    const size_t begin = pos_;
    ++pos_;
    while (pos_ < q_.size() && IsIdentChar(q_[pos_])) ++pos_;
    if (q_.substr(begin, pos_ - begin) == "!in" && pos_ < q_.size() && q_[pos_] == '~') ++pos_;
    Push(TokenKind::kPunct, begin);
    return Status::Ok();
  }

  std::string_view q_;
  bool lenient_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

void LineColumn(std::string_view query, size_t offset, size_t* line, size_t* column) {
  *line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset && i < query.size(); ++i) {
    if (query[i] == '\n') {
      ++*line;
      line_start = i + 1;
    }
  }
  *column = offset - line_start + 1;
}

std::string Where(std::string_view query, size_t offset) {
  size_t line = 0;
  size_t column = 0;
  LineColumn(query, offset, &line, &column);
  return StrCat("line ", line, ", column ", column);
}

StatusOr<std::vector<Token>> Lex(std::string_view query) { return Lexer(query, false).Run(); }

std::vector<Token> LexLenient(std::string_view query) {
  auto tokens = Lexer(query, true).Run();
  SIGMA_CHECK(tokens.ok(), "lenient lexing cannot fail: ", tokens.status().ToString());
  return std::move(tokens).value();
}

}  // namespace sigma::aimicius::kql
