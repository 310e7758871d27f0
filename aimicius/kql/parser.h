// KQL parser for the NL2KQL scorer: the subset of Kusto Query Language that log queries use,
// parsed into a small AST from which components (cluster, database, table, columns) are read.
//
// Grammar (informal; keywords are case-sensitive as in Kusto):
//   query      := statement (';' statement)* [';']        the last statement is a tabular one
//   statement  := 'let' name '=' pipeline | pipeline
//   pipeline   := source ('|' operator)*  |  'union' union-args ('|' operator)*
//   source     := an expression: Table, cluster('c').database('d').Table, database('d').Table,
//                 table('T'), a let-bound name, or '(' pipeline ')'
//   operator   := where|filter expr | project[-keep|-reorder] items | project-away names
//               | project-rename name=name, ... | extend items | summarize [items] [by items]
//               | distinct (* | exprs) | take|limit expr | top expr by expr [asc|desc]
//               | (order|sort) by expr [asc|desc] [nulls first|last], ... | count
//               | join|lookup [param=value]* (pipeline-in-parens | source) on exprs
//               | union [param=value]* inputs | mv-expand items | render name [with (...)]
//               | sample expr | getschema | as name | serialize [items]
//   items      := [name '='] expr, ...
//   expr       := or / and / comparisons (== != <> < <= > >= =~ !~ contains has startswith
//                 endswith hasprefix hassuffix, their _cs and ! forms, like, matches regex,
//                 in / !in / in~ / !in~ / has_any / has_all (list), between / !between (a .. b))
//                 / + - / * / % / unary - / postfix (.member, [index], call(args)) / primary
//   primary    := literal | name | '(' pipeline ')' | '[' exprs ']' | '{' "key": expr, ... '}'
// Function calls are any name followed by '(' (ago(1d), bin(x, 1h), count(), not(...), ...); the
// parser does not check function names or arities. '*' is accepted as a call argument
// (arg_max(T, *)). Nesting deeper than 200 levels and expression trees taller than 400 nodes
// (a + a + ... chains) are rejected, so hostile input cannot overflow the stack when the tree is
// walked or destroyed.
//
// Errors are INVALID_ARGUMENT "KQL: line L, column C: expected X, found 'Y'".
// Ownership: a Query owns its whole tree. Thread safety: values; const use from many threads.
#ifndef SIGMA_AIMICIUS_KQL_PARSER_H_
#define SIGMA_AIMICIUS_KQL_PARSER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aimicius/kql/lexer.h"
#include "engine/base/status.h"

namespace sigma::aimicius::kql {

struct Pipeline;

enum class ExprKind {
  kName,      // text = identifier
  kLiteral,   // text = spelling, value = decoded string; literal = its token kind
  kCall,      // args[0] = callee (a kName or kMember), args[1..] = arguments
  kMember,    // args[0] = base, text = member name
  kIndex,     // args[0] = base, args[1] = index
  kBinary,    // text = operator ("==", "and", "contains", "in", "between", ...), args = operands
  kUnary,     // text = "-" or "+", args[0]
  kList,      // '[...]' or the parenthesised list after in / between / has_any
  kObject,    // '{...}': args alternate key literal, value
  kStar,      // '*' as a call argument
  kSubquery,  // '(' pipeline ')' with at least one operator: subquery
  kAssign,    // name = expr inside items: text = name, args[0] = expr
};

struct Expr {
  ExprKind kind = ExprKind::kName;
  std::string text;
  std::string value;
  TokenKind literal = TokenKind::kEnd;
  size_t offset = 0;
  int height = 1;  // 1 + the largest height of args (bounded by the parser)
  std::vector<std::unique_ptr<Expr>> args;
  std::shared_ptr<Pipeline> subquery;  // kSubquery only
};

struct Operator {
  std::string name;    // "where", "project-away", "order by" is stored as "order", ...
  size_t offset = 0;
  std::vector<std::unique_ptr<Expr>> exprs;     // every expression the operator holds
  std::vector<std::shared_ptr<Pipeline>> inputs;  // join/lookup right side, union inputs
  std::vector<std::pair<std::string, std::string>> params;  // kind=inner, ...
};

struct Pipeline {
  std::unique_ptr<Expr> source;  // null when the pipeline starts with 'union'
  std::vector<Operator> ops;
};

struct Statement {
  std::string let_name;  // empty for the tabular (output) statement
  Pipeline body;
  size_t offset = 0;
};

struct Query {
  std::vector<Statement> statements;
};

// Parses a whole query. Empty or comment-only text is an error.
StatusOr<Query> Parse(std::string_view query);

}  // namespace sigma::aimicius::kql

#endif  // SIGMA_AIMICIUS_KQL_PARSER_H_
