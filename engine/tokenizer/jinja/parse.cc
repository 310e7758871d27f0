#include "engine/tokenizer/jinja/parse.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

namespace sigma::jinja {
namespace {

// ---- Tags and text -------------------------------------------------------------------------

struct Segment {
  enum class Kind { kText, kOutput, kStatement };
  Kind kind = Kind::kText;
  std::string text;  // the text, or the tag's inside
  int line = 1;
};

// The line of positions asked for in increasing order, counting each newline once.
class LineCounter {
 public:
  explicit LineCounter(std::string_view s) : s_(s) {}
  int At(size_t pos) {
    line_ += static_cast<int>(std::count(s_.begin() + static_cast<ptrdiff_t>(counted_),
                                         s_.begin() + static_cast<ptrdiff_t>(pos), '\n'));
    counted_ = pos;
    return line_;
  }

 private:
  std::string_view s_;
  size_t counted_ = 0;
  int line_ = 1;
};

// The position of `close` ("}}" or "%}") ending the tag whose inside starts at `pos`, skipping
// string literals and, as jinja2's lexer does, anything inside brackets ("{{ {'a': {}} }}");
// npos if none.
size_t FindTagEnd(std::string_view s, size_t pos, std::string_view close) {
  char quote = 0;
  int depth = 0;
  for (size_t i = pos; i + 1 < s.size(); ++i) {
    if (quote != 0) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == quote) {
        quote = 0;
      }
    } else if (s[i] == '\'' || s[i] == '"') {
      quote = s[i];
    } else if (depth == 0 && s.substr(i, 2) == close) {
      return i;
    } else if (s[i] == '(' || s[i] == '[' || s[i] == '{') {
      ++depth;
    } else if ((s[i] == ')' || s[i] == ']' || s[i] == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

StatusOr<std::vector<Segment>> SplitTags(std::string_view s) {
  std::vector<Segment> out;
  size_t pos = 0;
  bool strip_next = false;  // the previous tag ended with "-"
  bool trim_next = false;   // the previous tag was a block or comment (trim_blocks)
  LineCounter lines(s);
  while (pos <= s.size()) {
    size_t open = std::string_view::npos;
    for (size_t i = s.find('{', pos); i != std::string_view::npos; i = s.find('{', i + 1)) {
      if (i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '%' || s[i + 1] == '#')) {
        open = i;
        break;
      }
    }
    std::string text(
        s.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos));
    if (strip_next) {
      size_t b = 0;
      while (b < text.size() && IsBlank(text[b])) ++b;
      text.erase(0, b);
    } else if (trim_next) {
      if (text.rfind("\r\n", 0) == 0) {
        text.erase(0, 2);
      } else if (!text.empty() && text[0] == '\n') {
        text.erase(0, 1);
      }
    }
    if (open == std::string_view::npos) {
      if (!text.empty()) out.push_back({Segment::Kind::kText, text, lines.At(pos)});
      break;
    }
    const char kind = s[open + 1];
    const char marker = open + 2 < s.size() ? s[open + 2] : 0;
    if (marker == '-') {
      while (!text.empty() && IsBlank(text.back())) text.pop_back();
    } else if (marker != '+' && kind != '{') {
      // lstrip_blocks: a block or comment tag that only blanks precede on its line loses them.
      size_t line_begin = open;
      while (line_begin > 0 && (s[line_begin - 1] == ' ' || s[line_begin - 1] == '\t')) {
        --line_begin;
      }
      if (line_begin == 0 || s[line_begin - 1] == '\n') {
        text.resize(text.size() - std::min(open - line_begin, text.size()));
      }
    }
    if (!text.empty()) out.push_back({Segment::Kind::kText, text, lines.At(pos)});
    const size_t inner = open + 2 + (marker == '-' || marker == '+' ? 1 : 0);
    const int line = lines.At(open);
    if (kind == '#') {
      const size_t close = s.find("#}", inner);
      if (close == std::string_view::npos) {
        return InvalidArgumentError("line ", line, ": comment not closed with #}");
      }
      strip_next = close > inner && s[close - 1] == '-';
      trim_next = !(close > inner && s[close - 1] == '+');
      pos = close + 2;
      continue;
    }
    const std::string_view close_text = kind == '{' ? "}}" : "%}";
    const size_t close = FindTagEnd(s, inner, close_text);
    if (close == std::string_view::npos) {
      return InvalidArgumentError("line ", line, ": tag not closed with ", close_text);
    }
    size_t inner_end = close;
    strip_next = false;
    trim_next = kind == '%';
    if (close > inner && s[close - 1] == '-') {
      strip_next = true;
      --inner_end;
    } else if (close > inner && s[close - 1] == '+' && kind == '%') {
      trim_next = false;
      --inner_end;
    }
    out.push_back({kind == '{' ? Segment::Kind::kOutput : Segment::Kind::kStatement,
                   std::string(s.substr(inner, inner_end - inner)), line});
    pos = close + 2;
  }
  return out;
}

// ---- Expression tokens ---------------------------------------------------------------------

struct Token {
  enum class Kind { kName, kNumber, kString, kOperator, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;
  Value value;  // numbers and strings
};

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

StatusOr<std::vector<Token>> Tokenize(std::string_view s, int line) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (IsBlank(c)) {
      ++i;
    } else if (IsNameStart(c)) {
      size_t j = i;
      while (j < s.size() && (IsNameStart(s[j]) || IsDigit(s[j]))) ++j;
      out.push_back({Token::Kind::kName, std::string(s.substr(i, j - i)), {}});
      i = j;
    } else if (IsDigit(c)) {
      size_t j = i;
      bool is_float = false;
      while (j < s.size() && (IsDigit(s[j]) || s[j] == '_')) ++j;
      if (j + 1 < s.size() && s[j] == '.' && IsDigit(s[j + 1])) {
        is_float = true;
        ++j;
        while (j < s.size() && IsDigit(s[j])) ++j;
      }
      if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
        if (k < s.size() && IsDigit(s[k])) {
          is_float = true;
          j = k;
          while (j < s.size() && IsDigit(s[j])) ++j;
        }
      }
      std::string digits;
      for (size_t k = i; k < j; ++k) {
        if (s[k] != '_') digits += s[k];
      }
      Token t{Token::Kind::kNumber, digits, {}};
      if (is_float) {
        t.value = Value::Float(std::strtod(digits.c_str(), nullptr));
      } else {
        int64_t v = 0;
        const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (ec != std::errc()) return InvalidArgumentError("line ", line, ": number ", digits);
        t.value = Value::Int(v);
      }
      out.push_back(std::move(t));
      i = j;
    } else if (c == '\'' || c == '"') {
      std::string text;
      size_t j = i + 1;
      for (; j < s.size() && s[j] != c; ++j) {
        if (s[j] != '\\' || j + 1 >= s.size()) {
          text += s[j];
          continue;
        }
        const char e = s[++j];
        switch (e) {
          case 'n': text += '\n'; break;
          case 't': text += '\t'; break;
          case 'r': text += '\r'; break;
          case '0': text += '\0'; break;
          case '\\':
          case '\'':
          case '"': text += e; break;
          case 'x':
          case 'u':
          case 'U': {
            const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            if (j + digits >= s.size() ||
                std::from_chars(s.data() + j + 1, s.data() + j + 1 + digits, cp, 16).ptr !=
                    s.data() + j + 1 + digits) {
              return InvalidArgumentError("line ", line, ": bad \\", e, " escape in a string");
            }
            AppendUtf8(cp, &text);
            j += digits;
            break;
          }
          case '\n': break;                  // line continuation
          default: text += '\\'; text += e;  // Python keeps unknown escapes
        }
      }
      if (j >= s.size()) return InvalidArgumentError("line ", line, ": string not closed");
      out.push_back({Token::Kind::kString, "", Value::String(std::move(text))});
      i = j + 1;
    } else {
      static const char* kTwo[] = {"**", "//", "==", "!=", "<=", ">="};
      std::string op(1, c);
      for (const char* two : kTwo) {
        if (s.substr(i, 2) == two) op = two;
      }
      if (std::string_view("+-*/%~<>=()[]{},.:|!").find(c) == std::string_view::npos) {
        return InvalidArgumentError("line ", line, ": unexpected character '", std::string(1, c),
                                    "'");
      }
      out.push_back({Token::Kind::kOperator, op, {}});
      i += op.size();
    }
  }
  out.push_back({Token::Kind::kEnd, "", {}});
  return out;
}

// ---- Expressions ---------------------------------------------------------------------------

// Nesting deeper than this (brackets, operators, blocks) is refused rather than recursed into: a
// template comes from a model file, which may be hostile.
constexpr int kMaxDepth = 200;
constexpr int kMaxChainDepth = 1000;

// Counts one level of nesting for its lifetime.
class DepthGuard {
 public:
  explicit DepthGuard(int* depth) : depth_(depth) { ++*depth_; }
  ~DepthGuard() { --*depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
  bool too_deep() const { return *depth_ > kMaxDepth; }

 private:
  int* depth_;
};

class ExprParser {
 public:
  ExprParser(std::vector<Token> tokens, int line) : t_(std::move(tokens)), line_(line) {}

  bool AtEnd() const { return t_[p_].kind == Token::Kind::kEnd; }
  bool PeekName(std::string_view name) const {
    return t_[p_].kind == Token::Kind::kName && t_[p_].text == name;
  }
  bool PeekOp(std::string_view op) const {
    return t_[p_].kind == Token::Kind::kOperator && t_[p_].text == op;
  }
  bool TakeName(std::string_view name) {
    if (!PeekName(name)) return false;
    ++p_;
    return true;
  }
  bool TakeOp(std::string_view op) {
    if (!PeekOp(op)) return false;
    ++p_;
    return true;
  }
  Status Expect(std::string_view op) {
    if (TakeOp(op)) return Status::Ok();
    return Error("expected '", op, "'");
  }
  StatusOr<std::string> Name() {
    if (t_[p_].kind != Token::Kind::kName) return Error("expected a name");
    return t_[p_++].text;
  }
  Status ExpectEnd() { return AtEnd() ? Status::Ok() : Error("unexpected text"); }

  template <typename... Parts>
  Status Error(const Parts&... parts) const {
    const Token& t = t_[p_];
    const std::string at = t.kind == Token::Kind::kEnd      ? "the end of the tag"
                           : t.kind == Token::Kind::kString ? "a string"
                                                            : "'" + t.text + "'";
    return InvalidArgumentError("line ", line_, ": ", parts..., " at ", at);
  }

  // expression: or_expr ["if" or_expr ["else" expression]]
  StatusOr<ExprPtr> Expression() {
    const DepthGuard guard(&depth_);
    if (guard.too_deep()) return Error("expressions nested over ", kMaxDepth, " deep");
    SIGMA_ASSIGN_OR_RETURN(ExprPtr value, Or());
    if (!TakeName("if")) return value;
    auto e = Make(Expr::Kind::kConditional);
    e->a = value;
    SIGMA_ASSIGN_OR_RETURN(e->b, Or());
    if (TakeName("else")) {
      SIGMA_ASSIGN_OR_RETURN(e->c, Expression());
    }
    return ExprPtr(e);
  }

  // A bare tuple "a, b" (for's iterable, set's value) or one expression.
  StatusOr<ExprPtr> TupleOrExpression() {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr first, Expression());
    if (!PeekOp(",")) return first;
    auto e = Make(Expr::Kind::kTuple);
    e->args.push_back(first);
    while (TakeOp(",")) {
      if (AtEnd()) break;
      SIGMA_ASSIGN_OR_RETURN(ExprPtr next, Expression());
      e->args.push_back(next);
    }
    return ExprPtr(e);
  }

  // A for loop's filter: an or_expr (no conditional, which "if" would start).
  StatusOr<ExprPtr> Condition() { return Or(); }

  // A for loop's iterable: a tuple of or_exprs, so that "if" starts the loop's filter.
  StatusOr<ExprPtr> Iterable() {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr first, Or());
    if (!PeekOp(",")) return first;
    auto e = Make(Expr::Kind::kTuple);
    e->args.push_back(first);
    while (TakeOp(",")) {
      if (AtEnd() || PeekName("if")) break;
      SIGMA_ASSIGN_OR_RETURN(ExprPtr next, Or());
      e->args.push_back(next);
    }
    return ExprPtr(e);
  }

 private:
  std::shared_ptr<Expr> Make(Expr::Kind kind) {
    auto e = std::make_shared<Expr>();
    e->kind = kind;
    e->line = line_;
    return e;
  }
  StatusOr<ExprPtr> Binary(std::string op, ExprPtr a, ExprPtr b) {
    auto e = Make(Expr::Kind::kBinary);
    e->name = std::move(op);
    e->a = std::move(a);
    e->b = std::move(b);
    return Chained(e);
  }

  // `e` with its depth set: chains of operators, attributes, calls and filters ("a + b + c ...")
  // grow the tree without nesting, and rendering recurses through it; past kMaxChainDepth it is
  // refused.
  StatusOr<ExprPtr> Chained(const std::shared_ptr<Expr>& e) {
    int depth = 0;
    for (const ExprPtr& child : {e->a, e->b, e->c, e->d}) {
      if (child != nullptr) depth = std::max(depth, child->depth);
    }
    for (const ExprPtr& arg : e->args) depth = std::max(depth, arg->depth);
    e->depth = depth + 1;
    if (e->depth > kMaxChainDepth) return Error("an expression over ", kMaxChainDepth, " deep");
    return ExprPtr(e);
  }

  StatusOr<ExprPtr> Or() {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr left, And());
    while (TakeName("or")) {
      SIGMA_ASSIGN_OR_RETURN(ExprPtr right, And());
      SIGMA_ASSIGN_OR_RETURN(left, Binary("or", left, right));
    }
    return left;
  }
  StatusOr<ExprPtr> And() {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr left, Not());
    while (TakeName("and")) {
      SIGMA_ASSIGN_OR_RETURN(ExprPtr right, Not());
      SIGMA_ASSIGN_OR_RETURN(left, Binary("and", left, right));
    }
    return left;
  }
  StatusOr<ExprPtr> Not() {
    const DepthGuard guard(&depth_);
    if (guard.too_deep()) return Error("expressions nested over ", kMaxDepth, " deep");
    if (TakeName("not")) {
      auto e = Make(Expr::Kind::kUnary);
      e->name = "not";
      SIGMA_ASSIGN_OR_RETURN(e->a, Not());
      return ExprPtr(e);
    }
    return Compare();
  }
  StatusOr<ExprPtr> Compare() {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr left, Math1());
    while (true) {
      std::string op;
      for (const char* candidate : {"==", "!=", "<", ">", "<=", ">="}) {
        if (PeekOp(candidate)) op = candidate;
      }
      if (!op.empty()) {
        ++p_;
      } else if (TakeName("in")) {
        op = "in";
      } else if (PeekName("not") && t_[p_ + 1].kind == Token::Kind::kName &&
                 t_[p_ + 1].text == "in") {
        p_ += 2;
        op = "not in";
      } else {
        return left;
      }
      SIGMA_ASSIGN_OR_RETURN(ExprPtr right, Math1());
      SIGMA_ASSIGN_OR_RETURN(left, Binary(op, left, right));
    }
  }
  StatusOr<ExprPtr> Math1() {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr left, Concat());
    while (PeekOp("+") || PeekOp("-")) {
      const std::string op = t_[p_++].text;
      SIGMA_ASSIGN_OR_RETURN(ExprPtr right, Concat());
      SIGMA_ASSIGN_OR_RETURN(left, Binary(op, left, right));
    }
    return left;
  }
  StatusOr<ExprPtr> Concat() {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr left, Math2());
    while (TakeOp("~")) {
      SIGMA_ASSIGN_OR_RETURN(ExprPtr right, Math2());
      SIGMA_ASSIGN_OR_RETURN(left, Binary("~", left, right));
    }
    return left;
  }
  StatusOr<ExprPtr> Math2() {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr left, Pow());
    while (PeekOp("*") || PeekOp("/") || PeekOp("//") || PeekOp("%")) {
      const std::string op = t_[p_++].text;
      SIGMA_ASSIGN_OR_RETURN(ExprPtr right, Pow());
      SIGMA_ASSIGN_OR_RETURN(left, Binary(op, left, right));
    }
    return left;
  }
  StatusOr<ExprPtr> Pow() {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr left, Unary());
    while (TakeOp("**")) {
      SIGMA_ASSIGN_OR_RETURN(ExprPtr right, Unary());
      SIGMA_ASSIGN_OR_RETURN(left, Binary("**", left, right));
    }
    return left;
  }
  StatusOr<ExprPtr> Unary() {
    const DepthGuard guard(&depth_);
    if (guard.too_deep()) return Error("expressions nested over ", kMaxDepth, " deep");
    if (PeekOp("-") || PeekOp("+")) {
      auto e = Make(Expr::Kind::kUnary);
      e->name = t_[p_++].text;
      SIGMA_ASSIGN_OR_RETURN(e->a, Unary());
      return ExprPtr(e);
    }
    SIGMA_ASSIGN_OR_RETURN(ExprPtr node, Primary());
    SIGMA_ASSIGN_OR_RETURN(node, Postfix(node));
    return FiltersAndTests(node);
  }

  Status CallArgs(Expr* e) {
    while (!TakeOp(")")) {
      if (!e->args.empty()) SIGMA_RETURN_IF_ERROR(Expect(","));
      if (TakeOp(")")) break;  // trailing comma
      std::string keyword;
      if (t_[p_].kind == Token::Kind::kName && t_[p_ + 1].kind == Token::Kind::kOperator &&
          t_[p_ + 1].text == "=") {
        keyword = t_[p_].text;
        p_ += 2;
      }
      SIGMA_ASSIGN_OR_RETURN(ExprPtr arg, Expression());
      e->args.push_back(arg);
      e->arg_names.push_back(keyword);
    }
    return Status::Ok();
  }

  StatusOr<ExprPtr> Postfix(ExprPtr node) {
    while (true) {
      if (TakeOp(".")) {
        auto e = Make(Expr::Kind::kAttribute);
        e->a = node;
        if (t_[p_].kind == Token::Kind::kNumber) {  // a.0: an item
          e->kind = Expr::Kind::kItem;
          auto index = Make(Expr::Kind::kLiteral);
          index->value = t_[p_++].value;
          e->b = index;
        } else {
          SIGMA_ASSIGN_OR_RETURN(e->name, Name());
        }
        SIGMA_ASSIGN_OR_RETURN(node, Chained(e));
      } else if (TakeOp("[")) {
        ExprPtr parts[3];
        int colons = 0;
        while (!PeekOp("]")) {
          if (TakeOp(":")) {
            if (++colons > 2) return Error("too many ':' in a slice");
            continue;
          }
          if (parts[colons] != nullptr) return Error("expected ']'");
          SIGMA_ASSIGN_OR_RETURN(parts[colons], Expression());
        }
        ++p_;
        auto e = Make(colons == 0 ? Expr::Kind::kItem : Expr::Kind::kSlice);
        e->a = node;
        if (colons == 0 && parts[0] == nullptr) return Error("empty subscript");
        e->b = parts[0];
        e->c = parts[1];
        e->d = parts[2];
        SIGMA_ASSIGN_OR_RETURN(node, Chained(e));
      } else if (TakeOp("(")) {
        auto e = Make(Expr::Kind::kCall);
        e->a = node;
        SIGMA_RETURN_IF_ERROR(CallArgs(e.get()));
        SIGMA_ASSIGN_OR_RETURN(node, Chained(e));
      } else {
        return node;
      }
    }
  }

  StatusOr<ExprPtr> FiltersAndTests(ExprPtr node) {
    while (true) {
      if (TakeOp("|")) {
        auto e = Make(Expr::Kind::kFilter);
        e->a = node;
        SIGMA_ASSIGN_OR_RETURN(e->name, Name());
        while (TakeOp(".")) {  // dotted filter names
          SIGMA_ASSIGN_OR_RETURN(std::string part, Name());
          e->name += "." + part;
        }
        if (TakeOp("(")) SIGMA_RETURN_IF_ERROR(CallArgs(e.get()));
        SIGMA_ASSIGN_OR_RETURN(node, Chained(e));
      } else if (TakeName("is")) {
        auto e = Make(Expr::Kind::kTest);
        e->a = node;
        e->negated = TakeName("not");
        SIGMA_ASSIGN_OR_RETURN(e->name, Name());
        if (TakeOp("(")) {
          SIGMA_RETURN_IF_ERROR(CallArgs(e.get()));
        } else if (t_[p_].kind == Token::Kind::kString || t_[p_].kind == Token::Kind::kNumber ||
                   (t_[p_].kind == Token::Kind::kName && !PeekName("and") && !PeekName("or") &&
                    !PeekName("else") && !PeekName("if") && !PeekName("is") && !PeekName("in") &&
                    !PeekName("not"))) {
          // A test's single argument without parentheses: "x is divisibleby 3", "is sameas none".
          SIGMA_ASSIGN_OR_RETURN(ExprPtr arg, Primary());
          e->args.push_back(arg);
          e->arg_names.push_back("");
        }
        SIGMA_ASSIGN_OR_RETURN(node, Chained(e));
      } else {
        return node;
      }
    }
  }

  StatusOr<ExprPtr> Primary() {
    const Token& t = t_[p_];
    if (t.kind == Token::Kind::kNumber || t.kind == Token::Kind::kString) {
      auto e = Make(Expr::Kind::kLiteral);
      e->value = t.value;
      ++p_;
      // Adjacent string literals concatenate, as in Python.
      while (t.kind == Token::Kind::kString && t_[p_].kind == Token::Kind::kString) {
        e->value = Value::String(e->value.string() + t_[p_++].value.string());
      }
      return ExprPtr(e);
    }
    if (t.kind == Token::Kind::kName) {
      ++p_;
      auto e = Make(Expr::Kind::kLiteral);
      if (t.text == "true" || t.text == "True") {
        e->value = Value::Bool(true);
      } else if (t.text == "false" || t.text == "False") {
        e->value = Value::Bool(false);
      } else if (t.text == "none" || t.text == "None") {
        e->value = Value::None();
      } else {
        e->kind = Expr::Kind::kName;
        e->name = t.text;
      }
      return ExprPtr(e);
    }
    if (TakeOp("(")) {
      if (TakeOp(")")) return ExprPtr(Make(Expr::Kind::kTuple));
      SIGMA_ASSIGN_OR_RETURN(ExprPtr first, Expression());
      if (TakeOp(")")) return first;
      auto e = Make(Expr::Kind::kTuple);
      e->args.push_back(first);
      while (TakeOp(",")) {
        if (PeekOp(")")) break;
        SIGMA_ASSIGN_OR_RETURN(ExprPtr next, Expression());
        e->args.push_back(next);
      }
      SIGMA_RETURN_IF_ERROR(Expect(")"));
      return ExprPtr(e);
    }
    if (TakeOp("[")) {
      auto e = Make(Expr::Kind::kList);
      while (!TakeOp("]")) {
        if (!e->args.empty()) SIGMA_RETURN_IF_ERROR(Expect(","));
        if (TakeOp("]")) break;
        SIGMA_ASSIGN_OR_RETURN(ExprPtr item, Expression());
        e->args.push_back(item);
      }
      return ExprPtr(e);
    }
    if (TakeOp("{")) {
      auto e = Make(Expr::Kind::kDict);
      while (!TakeOp("}")) {
        if (!e->args.empty()) SIGMA_RETURN_IF_ERROR(Expect(","));
        if (TakeOp("}")) break;
        SIGMA_ASSIGN_OR_RETURN(ExprPtr key, Expression());
        SIGMA_RETURN_IF_ERROR(Expect(":"));
        SIGMA_ASSIGN_OR_RETURN(ExprPtr value, Expression());
        e->keys.push_back(key);
        e->args.push_back(value);
      }
      return ExprPtr(e);
    }
    return Error("expected a value");
  }

  std::vector<Token> t_;
  size_t p_ = 0;
  int line_;
  int depth_ = 0;
};

// ---- Statements ----------------------------------------------------------------------------

class TemplateParser {
 public:
  explicit TemplateParser(std::vector<Segment> segments) : s_(std::move(segments)) {}

  // Statements up to one of `ends` (a statement keyword), which is left in *end with its parser.
  Status ParseBody(std::initializer_list<std::string_view> ends, Body* body, std::string* end,
                   std::unique_ptr<ExprParser>* end_parser) {
    const DepthGuard guard(&depth_);
    if (guard.too_deep()) {
      return InvalidArgumentError("line ", s_[i_ - 1].line, ": blocks nested over ", kMaxDepth,
                                  " deep");
    }
    while (i_ < s_.size()) {
      const Segment& seg = s_[i_++];
      if (seg.kind == Segment::Kind::kText) {
        auto st = MakeStmt(Stmt::Kind::kText, seg.line);
        st->text = seg.text;
        body->push_back(st);
        continue;
      }
      SIGMA_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(seg.text, seg.line));
      auto p = std::make_unique<ExprParser>(std::move(tokens), seg.line);
      if (seg.kind == Segment::Kind::kOutput) {
        auto st = MakeStmt(Stmt::Kind::kOutput, seg.line);
        SIGMA_ASSIGN_OR_RETURN(st->expr, p->Expression());
        SIGMA_RETURN_IF_ERROR(p->ExpectEnd());
        body->push_back(st);
        continue;
      }
      SIGMA_ASSIGN_OR_RETURN(std::string keyword, p->Name());
      if (std::find(ends.begin(), ends.end(), keyword) != ends.end()) {
        *end = keyword;
        *end_parser = std::move(p);
        return Status::Ok();
      }
      if (keyword.rfind("end", 0) == 0 || keyword == "elif" || keyword == "else") {
        return InvalidArgumentError("line ", seg.line, ": {% ", keyword, " %} closes no block");
      }
      SIGMA_ASSIGN_OR_RETURN(std::shared_ptr<Stmt> st, Statement(keyword, *p, seg.line));
      body->push_back(st);
    }
    if (ends.size() == 0) return Status::Ok();
    return InvalidArgumentError("the template ends inside a block: expected {% ", *ends.begin(),
                                " %}");
  }

 private:
  static std::shared_ptr<Stmt> MakeStmt(Stmt::Kind kind, int line) {
    auto st = std::make_shared<Stmt>();
    st->kind = kind;
    st->line = line;
    return st;
  }

  StatusOr<std::shared_ptr<Stmt>> Statement(const std::string& keyword, ExprParser& p, int line) {
    std::string end;
    std::unique_ptr<ExprParser> end_p;
    if (keyword == "if") {
      auto st = MakeStmt(Stmt::Kind::kIf, line);
      SIGMA_ASSIGN_OR_RETURN(ExprPtr condition, p.Expression());
      SIGMA_RETURN_IF_ERROR(p.ExpectEnd());
      while (true) {
        st->conditions.push_back(condition);
        st->bodies.emplace_back();
        SIGMA_RETURN_IF_ERROR(
            ParseBody({"endif", "elif", "else"}, &st->bodies.back(), &end, &end_p));
        if (end == "elif") {
          SIGMA_ASSIGN_OR_RETURN(condition, end_p->Expression());
          SIGMA_RETURN_IF_ERROR(end_p->ExpectEnd());
          continue;
        }
        if (end == "else") {
          SIGMA_RETURN_IF_ERROR(end_p->ExpectEnd());
          st->bodies.emplace_back();
          SIGMA_RETURN_IF_ERROR(ParseBody({"endif"}, &st->bodies.back(), &end, &end_p));
        }
        return st;
      }
    }
    if (keyword == "for") {
      auto st = MakeStmt(Stmt::Kind::kFor, line);
      do {
        SIGMA_ASSIGN_OR_RETURN(std::string target, p.Name());
        st->targets.push_back(target);
      } while (p.TakeOp(","));
      if (!p.TakeName("in")) return p.Error("expected 'in'");
      SIGMA_ASSIGN_OR_RETURN(st->expr, p.Iterable());
      if (p.TakeName("if")) {
        SIGMA_ASSIGN_OR_RETURN(st->condition, p.Condition());
      }
      p.TakeName("recursive");
      SIGMA_RETURN_IF_ERROR(p.ExpectEnd());
      SIGMA_RETURN_IF_ERROR(ParseBody({"endfor", "else"}, &st->body, &end, &end_p));
      if (end == "else") SIGMA_RETURN_IF_ERROR(ParseBody({"endfor"}, &st->else_body, &end, &end_p));
      return st;
    }
    if (keyword == "set") {
      auto st = MakeStmt(Stmt::Kind::kSet, line);
      SIGMA_ASSIGN_OR_RETURN(std::string target, p.Name());
      st->targets.push_back(target);
      if (p.TakeOp(".")) {
        SIGMA_ASSIGN_OR_RETURN(st->attribute, p.Name());
      } else {
        while (p.TakeOp(",")) {
          SIGMA_ASSIGN_OR_RETURN(std::string more, p.Name());
          st->targets.push_back(more);
        }
      }
      if (p.AtEnd()) {  // {% set x %}...{% endset %}
        SIGMA_RETURN_IF_ERROR(ParseBody({"endset"}, &st->body, &end, &end_p));
        return st;
      }
      SIGMA_RETURN_IF_ERROR(p.Expect("="));
      SIGMA_ASSIGN_OR_RETURN(st->expr, p.TupleOrExpression());
      SIGMA_RETURN_IF_ERROR(p.ExpectEnd());
      return st;
    }
    if (keyword == "macro") {
      auto st = MakeStmt(Stmt::Kind::kMacro, line);
      SIGMA_ASSIGN_OR_RETURN(st->attribute, p.Name());
      SIGMA_RETURN_IF_ERROR(p.Expect("("));
      while (!p.TakeOp(")")) {
        if (!st->targets.empty()) SIGMA_RETURN_IF_ERROR(p.Expect(","));
        SIGMA_ASSIGN_OR_RETURN(std::string param, p.Name());
        st->targets.push_back(param);
        ExprPtr default_value;
        if (p.TakeOp("=")) {
          SIGMA_ASSIGN_OR_RETURN(default_value, p.Expression());
        }
        st->defaults.push_back(default_value);
      }
      SIGMA_RETURN_IF_ERROR(p.ExpectEnd());
      SIGMA_RETURN_IF_ERROR(ParseBody({"endmacro"}, &st->body, &end, &end_p));
      return st;
    }
    if (keyword == "filter") {
      auto st = MakeStmt(Stmt::Kind::kFilter, line);
      // The filter applies to the block's text: parsed as "<text> | name(args)".
      SIGMA_ASSIGN_OR_RETURN(st->attribute, p.Name());
      auto filter = std::make_shared<Expr>();
      filter->kind = Expr::Kind::kFilter;
      filter->line = line;
      filter->name = st->attribute;
      if (p.TakeOp("(")) {
        while (!p.TakeOp(")")) {
          if (!filter->args.empty()) SIGMA_RETURN_IF_ERROR(p.Expect(","));
          SIGMA_ASSIGN_OR_RETURN(ExprPtr arg, p.Expression());
          filter->args.push_back(arg);
          filter->arg_names.push_back("");
        }
      }
      SIGMA_RETURN_IF_ERROR(p.ExpectEnd());
      st->expr = filter;
      SIGMA_RETURN_IF_ERROR(ParseBody({"endfilter"}, &st->body, &end, &end_p));
      return st;
    }
    if (keyword == "generation") {  // transformers' assistant-mask marker: renders its body
      auto st = MakeStmt(Stmt::Kind::kIf, line);
      auto always = std::make_shared<Expr>();
      always->value = Value::Bool(true);
      st->conditions.push_back(always);
      st->bodies.emplace_back();
      SIGMA_RETURN_IF_ERROR(ParseBody({"endgeneration"}, &st->bodies.back(), &end, &end_p));
      return st;
    }
    if (keyword == "break" || keyword == "continue") {
      SIGMA_RETURN_IF_ERROR(p.ExpectEnd());
      return MakeStmt(keyword == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue, line);
    }
    return UnimplementedError("line ", line, ": {% ", keyword,
                              " %} is not in the Jinja subset chat templates are rendered with");
  }

  std::vector<Segment> s_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

StatusOr<Body> ParseTemplate(std::string_view source) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<Segment> segments, SplitTags(source));
  TemplateParser parser(std::move(segments));
  Body body;
  std::string end;
  std::unique_ptr<ExprParser> end_parser;
  SIGMA_RETURN_IF_ERROR(parser.ParseBody({}, &body, &end, &end_parser));
  return body;
}

}  // namespace sigma::jinja
