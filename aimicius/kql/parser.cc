#include "aimicius/kql/parser.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>

namespace sigma::aimicius::kql {
namespace {

constexpr int kMaxDepth = 200;
constexpr int kMaxHeight = 400;

using ExprPtr = std::unique_ptr<Expr>;

bool IsStringOperator(std::string_view w) {
  static constexpr std::array<std::string_view, 13> kWords = {
      "contains", "contains_cs", "has",    "has_cs",    "startswith", "startswith_cs", "endswith",
      "endswith_cs", "hasprefix", "hasprefix_cs", "hassuffix", "hassuffix_cs", "like"};
  if (!w.empty() && w[0] == '!') w.remove_prefix(1);
  for (std::string_view k : kWords) {
    if (k == w) return true;
  }
  return false;
}

bool IsComparison(std::string_view p) {
  return p == "==" || p == "!=" || p == "<>" || p == "<" || p == "<=" || p == ">" || p == ">=" ||
         p == "=~" || p == "!~";
}

bool IsListOperator(std::string_view w) {
  return w == "in" || w == "!in" || w == "in~" || w == "!in~" || w == "has_any" ||
         w == "has_all";
}

class Parser {
 public:
  Parser(std::string_view query, std::vector<Token> tokens)
      : q_(query), t_(std::move(tokens)) {}

  StatusOr<Query> ParseQuery() {
    Query query;
    if (Peek().kind == TokenKind::kEnd) return Error("a query");
    while (Peek().kind != TokenKind::kEnd) {
      Statement st;
      st.offset = Peek().offset;
      if (IsWord("let")) {
        Advance();
        if (Peek().kind != TokenKind::kIdentifier) return Error("a name after 'let'");
        st.let_name = Advance().text;
        SIGMA_RETURN_IF_ERROR(Expect("="));
        SIGMA_RETURN_IF_ERROR(ParsePipeline(&st.body));
        if (!IsPunct(";")) return Error("';' after the let statement");
        Advance();
      } else {
        SIGMA_RETURN_IF_ERROR(ParsePipeline(&st.body));
        if (IsPunct(";")) {
          Advance();
        } else if (Peek().kind != TokenKind::kEnd) {
          return Error("'|', ';' or the end of the query");
        }
      }
      query.statements.push_back(std::move(st));
    }
    if (!query.statements.back().let_name.empty()) {
      return Status(StatusCode::kInvalidArgument,
                    "KQL: the query has only let statements and no tabular expression");
    }
    return query;
  }

 private:
  // ---- token helpers ----
  const Token& Peek(size_t ahead = 0) const {
    const size_t i = pos_ + ahead;
    return i < t_.size() ? t_[i] : t_.back();
  }
  const Token& Advance() {
    const Token& t = t_[pos_];
    if (pos_ + 1 < t_.size()) ++pos_;
    return t;
  }
  bool IsPunct(std::string_view p, size_t ahead = 0) const {
    return Peek(ahead).kind == TokenKind::kPunct && Peek(ahead).text == p;
  }
  bool IsWord(std::string_view w, size_t ahead = 0) const {
    return Peek(ahead).kind == TokenKind::kIdentifier && Peek(ahead).text == w;
  }
  Status Error(std::string_view expected) const {
    const Token& t = Peek();
    std::string found = t.kind == TokenKind::kEnd ? "the end of the query" : "'" + t.text + "'";
    if (found.size() > 60) found = found.substr(0, 57) + "...'";
    return InvalidArgumentError("KQL: ", Where(q_, t.offset), ": expected ", expected,
                                ", found ", found);
  }
  Status Expect(std::string_view p) {
    if (!IsPunct(p)) return Error(StrCat("'", p, "'"));
    Advance();
    return Status::Ok();
  }
  Status ExpectWord(std::string_view w) {
    if (!IsWord(w)) return Error(StrCat("'", w, "'"));
    Advance();
    return Status::Ok();
  }
  // True when tokens `ahead` and `ahead + 1` touch (no space between): project-away.
  bool Adjacent(size_t ahead) const {
    const Token& a = Peek(ahead);
    const Token& b = Peek(ahead + 1);
    return b.kind != TokenKind::kEnd && a.offset + a.length == b.offset;
  }

  struct DepthGuard {
    explicit DepthGuard(int* d) : depth(d) { ++*depth; }
    ~DepthGuard() { --*depth; }
    int* depth;
  };
  Status CheckDepth() const {
    if (depth_ > kMaxDepth) {
      return InvalidArgumentError("KQL: ", Where(q_, Peek().offset), ": nesting deeper than ",
                                  kMaxDepth, " levels");
    }
    return Status::Ok();
  }

  ExprPtr NewExpr(ExprKind kind, std::string text, size_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->text = std::move(text);
    e->offset = offset;
    return e;
  }

  // ---- pipelines and operators ----
  Status ParsePipeline(Pipeline* out) {
    DepthGuard guard(&depth_);
    SIGMA_RETURN_IF_ERROR(CheckDepth());
    if (IsWord("union") && !IsPunct("(", 1)) {
      Operator op;
      op.name = "union";
      op.offset = Advance().offset;
      SIGMA_RETURN_IF_ERROR(ParseUnion(&op));
      out->ops.push_back(std::move(op));
    } else {
      SIGMA_ASSIGN_OR_RETURN(out->source, ParseExpr());
    }
    while (IsPunct("|")) {
      Advance();
      Operator op;
      SIGMA_RETURN_IF_ERROR(ParseOperator(&op));
      out->ops.push_back(std::move(op));
    }
    return Status::Ok();
  }

  // Reads an operator name, joining hyphenated words written without spaces (project-away).
  StatusOr<std::string> OperatorName() {
    if (Peek().kind != TokenKind::kIdentifier) return Error("a tabular operator after '|'");
    std::string name = Advance().text;
    while (IsPunct("-") && Adjacent(0) && Peek(1).kind == TokenKind::kIdentifier &&
           Peek().offset == t_[pos_ - 1].offset + t_[pos_ - 1].length) {
      Advance();
      name += "-" + Advance().text;
    }
    return name;
  }

  Status ParseOperator(Operator* op) {
    op->offset = Peek().offset;
    SIGMA_ASSIGN_OR_RETURN(op->name, OperatorName());
    const std::string& n = op->name;
    if (n == "where" || n == "filter" || n == "take" || n == "limit" || n == "sample") {
      if (n == "filter") op->name = "where";
      if (n == "limit") op->name = "take";
      return PushExpr(op);
    }
    if (n == "project" || n == "project-keep" || n == "project-reorder" || n == "extend" ||
        n == "mv-expand" || n == "project-rename" || n == "project-away") {
      return ParseItems(op, /*allow_empty=*/false);
    }
    if (n == "serialize") return ParseItems(op, /*allow_empty=*/true);
    if (n == "summarize") return ParseSummarize(op);
    if (n == "distinct") {
      if (IsPunct("*")) {
        op->exprs.push_back(NewExpr(ExprKind::kStar, "*", Advance().offset));
        return Status::Ok();
      }
      return ParseItems(op, false);
    }
    if (n == "top") return ParseTop(op);
    if (n == "order" || n == "sort") {
      op->name = "order";
      SIGMA_RETURN_IF_ERROR(ExpectWord("by"));
      return ParseSortKeys(op);
    }
    if (n == "count" || n == "getschema") return Status::Ok();
    if (n == "join" || n == "lookup") return ParseJoin(op);
    if (n == "union") return ParseUnion(op);
    if (n == "render") return ParseRender(op);
    if (n == "as") {
      if (Peek().kind != TokenKind::kIdentifier) return Error("a name after 'as'");
      op->params.emplace_back("name", Advance().text);
      return Status::Ok();
    }
    return Status(StatusCode::kInvalidArgument,
                  StrCat("KQL: ", Where(q_, op->offset), ": unknown or unsupported tabular "
                         "operator '", n, "' (expected where, project, extend, summarize, ...)"));
  }

  Status PushExpr(Operator* op) {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr e, ParseExpr());
    op->exprs.push_back(std::move(e));
    return Status::Ok();
  }

  // [name =] expr, ...
  StatusOr<ExprPtr> ParseItem() {
    if (Peek().kind == TokenKind::kIdentifier && IsPunct("=", 1)) {
      const Token& name = Advance();
      ExprPtr assign = NewExpr(ExprKind::kAssign, name.text, name.offset);
      Advance();
      SIGMA_ASSIGN_OR_RETURN(ExprPtr value, ParseExpr());
      assign->args.push_back(std::move(value));
      return Grown(std::move(assign));
    }
    return ParseExpr();
  }

  Status ParseItems(Operator* op, bool allow_empty) {
    if (allow_empty && (IsPunct("|") || IsPunct(";") || IsPunct(")") ||
                        Peek().kind == TokenKind::kEnd)) {
      return Status::Ok();
    }
    while (true) {
      SIGMA_ASSIGN_OR_RETURN(ExprPtr item, ParseItem());
      op->exprs.push_back(std::move(item));
      if (!IsPunct(",")) return Status::Ok();
      Advance();
    }
  }

  Status ParseSummarize(Operator* op) {
    if (!IsWord("by")) SIGMA_RETURN_IF_ERROR(ParseItems(op, /*allow_empty=*/true));
    if (IsWord("by")) {
      Advance();
      op->params.emplace_back("by", std::to_string(op->exprs.size()));
      SIGMA_RETURN_IF_ERROR(ParseItems(op, false));
    }
    if (op->exprs.empty()) return Error("an aggregation or 'by' after 'summarize'");
    return Status::Ok();
  }

  Status ParseTop(Operator* op) {
    SIGMA_RETURN_IF_ERROR(PushExpr(op));
    SIGMA_RETURN_IF_ERROR(ExpectWord("by"));
    SIGMA_RETURN_IF_ERROR(PushExpr(op));
    return ParseSortSuffix();
  }

  Status ParseSortSuffix() {
    if (IsWord("asc") || IsWord("desc")) Advance();
    if (IsWord("nulls")) {
      Advance();
      if (!IsWord("first") && !IsWord("last")) return Error("'first' or 'last' after 'nulls'");
      Advance();
    }
    return Status::Ok();
  }

  Status ParseSortKeys(Operator* op) {
    while (true) {
      SIGMA_RETURN_IF_ERROR(PushExpr(op));
      SIGMA_RETURN_IF_ERROR(ParseSortSuffix());
      if (!IsPunct(",")) return Status::Ok();
      Advance();
    }
  }

  // name[.name]* = value, as in kind=inner or hint.strategy=shuffle.
  Status ParseParams(Operator* op) {
    while (Peek().kind == TokenKind::kIdentifier) {
      size_t ahead = 1;
      while (IsPunct(".", ahead) && Peek(ahead + 1).kind == TokenKind::kIdentifier) ahead += 2;
      if (!IsPunct("=", ahead)) return Status::Ok();
      std::string key;
      for (size_t i = 0; i < ahead; ++i) key += Advance().text;
      Advance();  // '='
      const Token& v = Peek();
      if (v.kind == TokenKind::kEnd || v.kind == TokenKind::kPunct) {
        return Error(StrCat("a value for '", key, "'"));
      }
      op->params.emplace_back(key, Advance().text);
    }
    return Status::Ok();
  }

  // A join/union input: '(' pipeline ')' or a table expression.
  Status ParseInput(Operator* op) {
    auto input = std::make_shared<Pipeline>();
    if (IsPunct("(")) {
      Advance();
      SIGMA_RETURN_IF_ERROR(ParsePipeline(input.get()));
      SIGMA_RETURN_IF_ERROR(Expect(")"));
    } else {
      SIGMA_ASSIGN_OR_RETURN(input->source, ParsePostfix());
    }
    op->inputs.push_back(std::move(input));
    return Status::Ok();
  }

  Status ParseJoin(Operator* op) {
    SIGMA_RETURN_IF_ERROR(ParseParams(op));
    SIGMA_RETURN_IF_ERROR(ParseInput(op));
    SIGMA_RETURN_IF_ERROR(ExpectWord("on"));
    return ParseItems(op, false);
  }

  Status ParseUnion(Operator* op) {
    SIGMA_RETURN_IF_ERROR(ParseParams(op));
    while (true) {
      SIGMA_RETURN_IF_ERROR(ParseInput(op));
      if (!IsPunct(",")) return Status::Ok();
      Advance();
    }
  }

  Status ParseRender(Operator* op) {
    if (Peek().kind != TokenKind::kIdentifier) return Error("a chart type after 'render'");
    op->params.emplace_back("chart", Advance().text);
    if (!IsWord("with")) return Status::Ok();
    Advance();
    SIGMA_RETURN_IF_ERROR(Expect("("));
    while (!IsPunct(")")) {
      if (Peek().kind == TokenKind::kEnd) return Error("')' closing render properties");
      Advance();
    }
    Advance();
    return Status::Ok();
  }

  // ---- expressions ----
  StatusOr<ExprPtr> ParseExpr() { return ParseBinaryLevel(0); }

  // Level 0: or; 1: and; 2: comparison; 3: additive; 4: multiplicative.
  StatusOr<ExprPtr> ParseBinaryLevel(int level) {
    DepthGuard guard(&depth_);
    SIGMA_RETURN_IF_ERROR(CheckDepth());
    if (level == 2) return ParseComparison();
    if (level == 5) return ParseUnary();
    SIGMA_ASSIGN_OR_RETURN(ExprPtr lhs, ParseBinaryLevel(level + 1));
    while (true) {
      const Token& t = Peek();
      std::string op;
      if (level == 0 && IsWord("or")) op = "or";
      if (level == 1 && IsWord("and")) op = "and";
      if (level == 3 && (IsPunct("+") || IsPunct("-"))) op = t.text;
      if (level == 4 && (IsPunct("*") || IsPunct("/") || IsPunct("%"))) op = t.text;
      if (op.empty()) return lhs;
      const size_t offset = Advance().offset;
      SIGMA_ASSIGN_OR_RETURN(ExprPtr rhs, ParseBinaryLevel(level + 1));
      SIGMA_ASSIGN_OR_RETURN(lhs, Binary(std::move(op), offset, std::move(lhs), std::move(rhs)));
    }
  }

  StatusOr<ExprPtr> Binary(std::string op, size_t offset, ExprPtr lhs, ExprPtr rhs) {
    ExprPtr e = NewExpr(ExprKind::kBinary, std::move(op), offset);
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    return Grown(std::move(e));
  }

  // Sets e->height from its children; rejects trees taller than kMaxHeight.
  StatusOr<ExprPtr> Grown(ExprPtr e) {
    int h = 0;
    for (const auto& a : e->args) h = std::max(h, a->height);
    e->height = h + 1;
    if (e->height > kMaxHeight) {
      return InvalidArgumentError("KQL: ", Where(q_, e->offset), ": expression nested deeper than ",
                                  kMaxHeight, " levels");
    }
    return e;
  }

  StatusOr<ExprPtr> ParseComparison() {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr lhs, ParseBinaryLevel(3));
    while (true) {
      const Token& t = Peek();
      const bool word = t.kind == TokenKind::kIdentifier ||
                        (t.kind == TokenKind::kPunct && t.text.size() > 1 && t.text[0] == '!' &&
                         t.text != "!=" && t.text != "!~");
      const std::string op = t.text;
      const size_t offset = t.offset;
      if ((t.kind == TokenKind::kPunct && IsComparison(op)) || (word && IsStringOperator(op))) {
        Advance();
        SIGMA_ASSIGN_OR_RETURN(ExprPtr rhs, ParseBinaryLevel(3));
        SIGMA_ASSIGN_OR_RETURN(lhs, Binary(op, offset, std::move(lhs), std::move(rhs)));
      } else if (word && op == "matches") {
        Advance();
        SIGMA_RETURN_IF_ERROR(ExpectWord("regex"));
        SIGMA_ASSIGN_OR_RETURN(ExprPtr rhs, ParseBinaryLevel(3));
        SIGMA_ASSIGN_OR_RETURN(
            lhs, Binary("matches regex", offset, std::move(lhs), std::move(rhs)));
      } else if ((word || t.kind == TokenKind::kPunct) && IsListOperator(op)) {
        Advance();
        SIGMA_ASSIGN_OR_RETURN(ExprPtr rhs, ParseInList());
        SIGMA_ASSIGN_OR_RETURN(lhs, Binary(op, offset, std::move(lhs), std::move(rhs)));
      } else if (word && (op == "between" || op == "!between")) {
        Advance();
        SIGMA_ASSIGN_OR_RETURN(ExprPtr rhs, ParseRange());
        SIGMA_ASSIGN_OR_RETURN(lhs, Binary(op, offset, std::move(lhs), std::move(rhs)));
      } else {
        return lhs;
      }
    }
  }

  // The operand of in / has_any: '(' items ')' (an item may be a subquery) or a name.
  StatusOr<ExprPtr> ParseInList() {
    if (!IsPunct("(")) {
      if (Peek().kind == TokenKind::kIdentifier) return ParsePostfix();
      return Error("'(' and a list of values");
    }
    ExprPtr list = NewExpr(ExprKind::kList, "()", Advance().offset);
    while (!IsPunct(")")) {
      auto inner = std::make_shared<Pipeline>();
      SIGMA_RETURN_IF_ERROR(ParsePipeline(inner.get()));
      list->args.push_back(WrapPipeline(std::move(inner), list->offset));
      if (IsPunct(",")) {
        Advance();
      } else if (!IsPunct(")")) {
        return Error("',' or ')' in the value list");
      }
    }
    Advance();
    if (list->args.empty()) return Error("at least one value in the list");
    return Grown(std::move(list));
  }

  StatusOr<ExprPtr> ParseRange() {
    ExprPtr list = NewExpr(ExprKind::kList, "..", Peek().offset);
    SIGMA_RETURN_IF_ERROR(Expect("("));
    SIGMA_ASSIGN_OR_RETURN(ExprPtr lo, ParseExpr());
    SIGMA_RETURN_IF_ERROR(Expect(".."));
    SIGMA_ASSIGN_OR_RETURN(ExprPtr hi, ParseExpr());
    SIGMA_RETURN_IF_ERROR(Expect(")"));
    list->args.push_back(std::move(lo));
    list->args.push_back(std::move(hi));
    return Grown(std::move(list));
  }

  ExprPtr WrapPipeline(std::shared_ptr<Pipeline> p, size_t offset) {
    if (p->ops.empty() && p->source != nullptr) return std::move(p->source);
    ExprPtr e = NewExpr(ExprKind::kSubquery, "()", offset);
    int h = p->source != nullptr ? p->source->height : 0;
    for (const Operator& op : p->ops) {
      for (const auto& x : op.exprs) h = std::max(h, x->height);
    }
    e->height = h + 1;  // bounded: every level of nesting passed the depth guard
    e->subquery = std::move(p);
    return e;
  }

  StatusOr<ExprPtr> ParseUnary() {
    if (IsPunct("-") || IsPunct("+")) {
      DepthGuard guard(&depth_);
      SIGMA_RETURN_IF_ERROR(CheckDepth());
      const Token& t = Advance();
      ExprPtr e = NewExpr(ExprKind::kUnary, t.text, t.offset);
      SIGMA_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary());
      e->args.push_back(std::move(operand));
      return Grown(std::move(e));
    }
    return ParsePostfix();
  }

  StatusOr<ExprPtr> ParsePostfix() {
    SIGMA_ASSIGN_OR_RETURN(ExprPtr e, ParsePrimary());
    while (true) {
      if (IsPunct(".")) {
        Advance();
        if (Peek().kind != TokenKind::kIdentifier) return Error("a name after '.'");
        const Token& name = Advance();
        ExprPtr m = NewExpr(ExprKind::kMember, name.text, name.offset);
        m->args.push_back(std::move(e));
        SIGMA_ASSIGN_OR_RETURN(e, Grown(std::move(m)));
      } else if (IsPunct("[")) {
        const size_t offset = Advance().offset;
        SIGMA_ASSIGN_OR_RETURN(ExprPtr index, ParseExpr());
        SIGMA_RETURN_IF_ERROR(Expect("]"));
        ExprPtr x = NewExpr(ExprKind::kIndex, "[]", offset);
        x->args.push_back(std::move(e));
        x->args.push_back(std::move(index));
        SIGMA_ASSIGN_OR_RETURN(e, Grown(std::move(x)));
      } else if (IsPunct("(") && (e->kind == ExprKind::kName || e->kind == ExprKind::kMember)) {
        SIGMA_ASSIGN_OR_RETURN(e, ParseCall(std::move(e)));
      } else {
        return e;
      }
    }
  }

  StatusOr<ExprPtr> ParseCall(ExprPtr callee) {
    ExprPtr call = NewExpr(ExprKind::kCall, callee->text, Advance().offset);
    call->args.push_back(std::move(callee));
    while (!IsPunct(")")) {
      if (IsPunct("*") && (IsPunct(",", 1) || IsPunct(")", 1))) {
        call->args.push_back(NewExpr(ExprKind::kStar, "*", Advance().offset));
      } else {
        SIGMA_ASSIGN_OR_RETURN(ExprPtr arg, ParseItem());
        call->args.push_back(std::move(arg));
      }
      if (IsPunct(",")) {
        Advance();
        if (IsPunct(")")) return Error("an argument after ','");
      } else if (!IsPunct(")")) {
        return Error(StrCat("',' or ')' in the arguments of ", call->text, "()"));
      }
    }
    Advance();
    return Grown(std::move(call));
  }

  StatusOr<ExprPtr> ParsePrimary() {
    DepthGuard guard(&depth_);
    SIGMA_RETURN_IF_ERROR(CheckDepth());
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kString:
      case TokenKind::kNumber:
      case TokenKind::kTimespan:
      case TokenKind::kDatetime: {
        ExprPtr e = NewExpr(ExprKind::kLiteral, t.text, t.offset);
        e->value = t.value;
        e->literal = t.kind;
        Advance();
        return e;
      }
      case TokenKind::kIdentifier: {
        if (t.text == "true" || t.text == "false" || t.text == "null") {
          ExprPtr e = NewExpr(ExprKind::kLiteral, t.text, t.offset);
          e->literal = TokenKind::kIdentifier;
          Advance();
          return e;
        }
        ExprPtr e = NewExpr(ExprKind::kName, t.text, t.offset);
        Advance();
        return e;
      }
      case TokenKind::kPunct:
        if (t.text == "(") return ParseParenthesised();
        if (t.text == "[") return ParseArray();
        if (t.text == "{") return ParseObject();
        break;
      case TokenKind::kEnd:
        break;
    }
    return Error("an expression");
  }

  StatusOr<ExprPtr> ParseParenthesised() {
    const size_t offset = Advance().offset;
    auto inner = std::make_shared<Pipeline>();
    SIGMA_RETURN_IF_ERROR(ParsePipeline(inner.get()));
    SIGMA_RETURN_IF_ERROR(Expect(")"));
    return WrapPipeline(std::move(inner), offset);
  }

  StatusOr<ExprPtr> ParseArray() {
    ExprPtr list = NewExpr(ExprKind::kList, "[]", Advance().offset);
    while (!IsPunct("]")) {
      SIGMA_ASSIGN_OR_RETURN(ExprPtr item, ParseExpr());
      list->args.push_back(std::move(item));
      if (IsPunct(",")) {
        Advance();
      } else if (!IsPunct("]")) {
        return Error("',' or ']' in the array");
      }
    }
    Advance();
    return Grown(std::move(list));
  }

  StatusOr<ExprPtr> ParseObject() {
    ExprPtr obj = NewExpr(ExprKind::kObject, "{}", Advance().offset);
    while (!IsPunct("}")) {
      if (Peek().kind != TokenKind::kString) return Error("a string key in the object");
      const Token& key = Advance();
      ExprPtr k = NewExpr(ExprKind::kLiteral, key.text, key.offset);
      k->value = key.value;
      k->literal = TokenKind::kString;
      SIGMA_RETURN_IF_ERROR(Expect(":"));
      SIGMA_ASSIGN_OR_RETURN(ExprPtr v, ParseExpr());
      obj->args.push_back(std::move(k));
      obj->args.push_back(std::move(v));
      if (IsPunct(",")) {
        Advance();
      } else if (!IsPunct("}")) {
        return Error("',' or '}' in the object");
      }
    }
    Advance();
    return Grown(std::move(obj));
  }

  std::string_view q_;
  std::vector<Token> t_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

StatusOr<Query> Parse(std::string_view query) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(query));
  return Parser(query, std::move(tokens)).ParseQuery();
}

}  // namespace sigma::aimicius::kql
