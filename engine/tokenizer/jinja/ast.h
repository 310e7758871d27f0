// The parsed form of a Jinja template: statements (text, output, if, for, set, macro, filter
// blocks) over expressions. Made by parse.cc, walked by render.cc.
#ifndef SIGMA_ENGINE_TOKENIZER_JINJA_AST_H_
#define SIGMA_ENGINE_TOKENIZER_JINJA_AST_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tokenizer/jinja/value.h"

namespace sigma::jinja {

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  enum class Kind {
    kLiteral,      // value
    kName,         // name
    kAttribute,    // a.name
    kItem,         // a[b]
    kSlice,        // a[b:c:d]; absent parts null
    kCall,         // a(args; names for keyword arguments)
    kFilter,       // a | name(args)
    kTest,         // a is [not] name(args)
    kUnary,        // op a: "not", "-", "+"
    kBinary,       // a op b
    kConditional,  // a if b else c (c may be null)
    kList,         // [args]
    kTuple,        // (args) / a, b
    kDict,         // {keys[i]: args[i]}
  };
  Kind kind = Kind::kLiteral;
  int line = 0;
  Value value;
  std::string name;  // name, attribute, filter, test, operator
  ExprPtr a, b, c, d;
  std::vector<ExprPtr> args;
  std::vector<std::string> arg_names;  // per args entry: "" or the keyword
  std::vector<ExprPtr> keys;           // kDict
  bool negated = false;                // kTest: "is not"
  int depth = 1;                       // of the tree below (parse.cc bounds it)
};

struct Stmt;
using Body = std::vector<std::shared_ptr<const Stmt>>;

struct Stmt {
  enum class Kind {
    kText,    // text
    kOutput,  // {{ expr }}
    kIf,      // conditions[i] -> bodies[i]; a final body without a condition is the else
    kFor,     // for targets in expr [if cond]: body, else_body
    kSet,     // set targets = expr; or set target %}body{% endset; attribute: ns.attr
    kMacro,   // macro name(params = defaults): body
    kFilter,  // filter name(args): body
    kBreak,
    kContinue,
  };
  Kind kind = Kind::kText;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr condition;                 // kFor's filter
  std::vector<ExprPtr> conditions;   // kIf
  std::vector<Body> bodies;          // kIf
  std::vector<std::string> targets;  // kFor, kSet; kMacro: parameter names
  std::string attribute;             // kSet on ns.attr
  std::vector<ExprPtr> defaults;     // kMacro: per parameter, or null
  Body body;
  Body else_body;
};

}  // namespace sigma::jinja

#endif  // SIGMA_ENGINE_TOKENIZER_JINJA_AST_H_
