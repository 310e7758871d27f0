// Template::Render: walks the statements of parse.cc with Jinja's scoping (a for loop's body and
// a macro's run in scopes of their own; if blocks do not) and Python's operators.
#include <cmath>
#include <string>
#include <vector>

#include "engine/tokenizer/jinja/builtins.h"
#include "engine/tokenizer/jinja/jinja.h"
#include "engine/tokenizer/jinja/parse.h"

namespace sigma::jinja {
namespace {

// Python's slice indices of a sequence of `n` items.
std::vector<int64_t> SliceIndices(int64_t n, const Value& start, const Value& stop,
                                  const Value& step_value) {
  const int64_t step = step_value.kind() == Value::Kind::kInt ? step_value.integer() : 1;
  const auto clamp = [&](const Value& v, int64_t fallback) {
    if (v.kind() != Value::Kind::kInt) return fallback;
    int64_t i = v.integer();
    if (i < 0) i += n;
    return step > 0 ? std::clamp<int64_t>(i, 0, n) : std::clamp<int64_t>(i, -1, n - 1);
  };
  std::vector<int64_t> out;
  if (step == 0) return out;
  const int64_t b = clamp(start, step > 0 ? 0 : n - 1);
  const int64_t e = clamp(stop, step > 0 ? n : -1);
  for (int64_t i = b; step > 0 ? i < e : i > e; i += step) out.push_back(i);
  return out;
}

class Renderer {
 public:
  explicit Renderer(const Dict& variables) {
    scopes_.push_back(Globals());
    for (const auto& [k, v] : variables.items) scopes_.back().Set(k, v);
    scopes_.emplace_back();  // the template's own top-level variables
  }

  Status Run(const Body& body, std::string* out) { return RunBody(body, out); }

 private:
  enum class Flow { kNone, kBreak, kContinue };

  Value Lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      if (const Value* v = it->Find(name)) return *v;
    }
    return Value();
  }

  Status RunBody(const Body& body, std::string* out) {
    for (const auto& st : body) {
      SIGMA_RETURN_IF_ERROR(RunStmt(*st, out));
      if (out->size() > kMaxOutputBytes) {
        return InvalidArgumentError("line ", st->line, ": output past ", kMaxOutputBytes >> 20,
                                    " MiB (a template that does not end?)");
      }
      if (flow_ != Flow::kNone) return Status::Ok();
    }
    return Status::Ok();
  }

  Status RunStmt(const Stmt& st, std::string* out) {
    switch (st.kind) {
      case Stmt::Kind::kText: *out += st.text; return Status::Ok();
      case Stmt::Kind::kOutput: {
        SIGMA_ASSIGN_OR_RETURN(Value v, Eval(*st.expr));
        *out += v.Str();
        return Status::Ok();
      }
      case Stmt::Kind::kIf:
        for (size_t i = 0; i < st.bodies.size(); ++i) {
          if (i < st.conditions.size()) {
            SIGMA_ASSIGN_OR_RETURN(Value c, Eval(*st.conditions[i]));
            if (!c.Truthy()) continue;
          }
          return RunBody(st.bodies[i], out);
        }
        return Status::Ok();
      case Stmt::Kind::kFor: return RunFor(st, out);
      case Stmt::Kind::kSet: return RunSet(st);
      case Stmt::Kind::kMacro: DefineMacro(st); return Status::Ok();
      case Stmt::Kind::kFilter: {
        std::string text;
        SIGMA_RETURN_IF_ERROR(RunBody(st.body, &text));
        SIGMA_ASSIGN_OR_RETURN(Args args, EvalArgs(*st.expr));
        SIGMA_ASSIGN_OR_RETURN(Value v, ApplyFilter(st.expr->name, Value::String(text), args));
        *out += v.Str();
        return Status::Ok();
      }
      case Stmt::Kind::kBreak: flow_ = Flow::kBreak; return Status::Ok();
      case Stmt::Kind::kContinue: flow_ = Flow::kContinue; return Status::Ok();
    }
    return Status::Ok();
  }

  Status Assign(const std::vector<std::string>& targets, const Value& value, Dict* scope) {
    if (targets.size() == 1) {
      scope->Set(targets[0], value);
      return Status::Ok();
    }
    if (!value.is_list() || value.list().size() != targets.size()) {
      return InvalidArgumentError("cannot unpack a ", value.TypeName(), " into ", targets.size(),
                                  " names");
    }
    for (size_t i = 0; i < targets.size(); ++i) scope->Set(targets[i], value.list()[i]);
    return Status::Ok();
  }

  Status RunFor(const Stmt& st, std::string* out) {
    SIGMA_ASSIGN_OR_RETURN(Value iterable, Eval(*st.expr));
    SIGMA_ASSIGN_OR_RETURN(List all, Iterate(iterable));
    List items;
    if (st.condition != nullptr) {  // the filter runs before loop.* is known
      for (const Value& item : all) {
        scopes_.emplace_back();
        Status assigned = Assign(st.targets, item, &scopes_.back());
        StatusOr<Value> keep = assigned.ok() ? Eval(*st.condition) : StatusOr<Value>(assigned);
        scopes_.pop_back();
        if (!keep.ok()) return keep.status();
        if (keep->Truthy()) items.push_back(item);
      }
    } else {
      items = std::move(all);
    }
    if (items.empty()) return RunBody(st.else_body, out);
    const auto n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      scopes_.emplace_back();
      Dict loop;
      loop.Set("index", Value::Int(i + 1));
      loop.Set("index0", Value::Int(i));
      loop.Set("revindex", Value::Int(n - i));
      loop.Set("revindex0", Value::Int(n - i - 1));
      loop.Set("first", Value::Bool(i == 0));
      loop.Set("last", Value::Bool(i == n - 1));
      loop.Set("length", Value::Int(n));
      loop.Set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value());
      loop.Set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value());
      scopes_.back().Set("loop", Value::DictOf(std::move(loop)));
      Status status = Assign(st.targets, items[static_cast<size_t>(i)], &scopes_.back());
      if (status.ok()) status = RunBody(st.body, out);
      scopes_.pop_back();
      SIGMA_RETURN_IF_ERROR(status);
      const Flow flow = flow_;
      flow_ = Flow::kNone;
      if (flow == Flow::kBreak) break;
    }
    return Status::Ok();
  }

  Status RunSet(const Stmt& st) {
    Value value;
    if (st.expr == nullptr) {
      std::string text;
      SIGMA_RETURN_IF_ERROR(RunBody(st.body, &text));
      value = Value::String(std::move(text));
    } else {
      SIGMA_ASSIGN_OR_RETURN(value, Eval(*st.expr));
    }
    if (!st.attribute.empty()) {
      const Value target = Lookup(st.targets[0]);
      if (!target.is_dict() || !target.dict().is_namespace) {
        return InvalidArgumentError("line ", st.line, ": set ", st.targets[0], ".", st.attribute,
                                    ": only a namespace() takes attributes");
      }
      target.mutable_dict().Set(st.attribute, value);
      return Status::Ok();
    }
    return Assign(st.targets, value, &scopes_.back());
  }

  void DefineMacro(const Stmt& st) {
    const Stmt* macro = &st;
    scopes_.back().Set(
        st.attribute, Value::FunctionOf([this, macro](const Args& args) -> StatusOr<Value> {
          if (macro_depth_ >= kMaxMacroDepth) {
            return InvalidArgumentError("line ", macro->line, ": macro ", macro->attribute,
                                        " called over ", kMaxMacroDepth, " deep");
          }
          Dict frame;
          for (size_t i = 0; i < macro->targets.size(); ++i) {
            const Value* given = args.Get(i, macro->targets[i]);
            if (given != nullptr) {
              frame.Set(macro->targets[i], *given);
            } else if (macro->defaults[i] != nullptr) {
              SIGMA_ASSIGN_OR_RETURN(Value fallback, Eval(*macro->defaults[i]));
              frame.Set(macro->targets[i], fallback);
            } else {
              frame.Set(macro->targets[i], Value());
            }
          }
          // A macro sees the globals and the template's top-level names, not its caller's locals.
          std::vector<Dict> saved(scopes_.begin() + 2, scopes_.end());
          scopes_.resize(2);
          scopes_.push_back(std::move(frame));
          std::string text;
          const Flow saved_flow = flow_;
          ++macro_depth_;
          Status status = RunBody(macro->body, &text);
          --macro_depth_;
          flow_ = saved_flow;
          scopes_.resize(2);
          scopes_.insert(scopes_.end(), saved.begin(), saved.end());
          SIGMA_RETURN_IF_ERROR(status);
          return Value::String(std::move(text));
        }));
  }

  StatusOr<Args> EvalArgs(const Expr& e) {
    Args args;
    for (size_t i = 0; i < e.args.size(); ++i) {
      SIGMA_ASSIGN_OR_RETURN(Value v, Eval(*e.args[i]));
      if (i < e.arg_names.size() && !e.arg_names[i].empty()) {
        args.named.emplace_back(e.arg_names[i], std::move(v));
      } else {
        args.positional.push_back(std::move(v));
      }
    }
    return args;
  }

  template <typename... Parts>
  static Status Error(const Expr& e, const Parts&... parts) {
    return InvalidArgumentError("line ", e.line, ": ", parts...);
  }

  StatusOr<Value> Member(const Expr& e, const Value& object, const Value& key) {
    if (object.is_undefined()) {
      return Error(
          e, "'", key.Str(), "' of an undefined value (",
          e.a->kind == Expr::Kind::kName ? "'" + e.a->name + "' is undefined" : "undefined", ")");
    }
    if (object.is_dict() && key.is_string()) {
      if (const Value* v = object.dict().Find(key.string())) return *v;
      return BoundMethod(object, key.string());
    }
    if (object.is_dict() && key.Hashable()) {
      const Value* v = object.dict().Find(key);
      return v != nullptr ? *v : Value();
    }
    if ((object.is_list() || object.is_string()) && key.kind() == Value::Kind::kInt) {
      int64_t i = key.integer();
      if (object.is_list()) {
        const auto n = static_cast<int64_t>(object.list().size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value();
        return object.list()[static_cast<size_t>(i)];
      }
      const std::vector<size_t> starts = CodePointStarts(object.string());
      const auto n = static_cast<int64_t>(starts.size()) - 1;
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value();
      return Value::String(object.string().substr(
          starts[static_cast<size_t>(i)],
          starts[static_cast<size_t>(i) + 1] - starts[static_cast<size_t>(i)]));
    }
    if (key.is_string()) return BoundMethod(object, key.string());
    return Value();
  }

  StatusOr<Value> Eval(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return e.value;
      case Expr::Kind::kName: return Lookup(e.name);
      case Expr::Kind::kAttribute: {
        SIGMA_ASSIGN_OR_RETURN(Value object, Eval(*e.a));
        return Member(e, object, Value::String(e.name));
      }
      case Expr::Kind::kItem: {
        SIGMA_ASSIGN_OR_RETURN(Value object, Eval(*e.a));
        SIGMA_ASSIGN_OR_RETURN(Value key, Eval(*e.b));
        return Member(e, object, key);
      }
      case Expr::Kind::kSlice: {
        SIGMA_ASSIGN_OR_RETURN(Value object, Eval(*e.a));
        Value parts[3];
        const ExprPtr* exprs[3] = {&e.b, &e.c, &e.d};
        for (int i = 0; i < 3; ++i) {
          if (*exprs[i] != nullptr) {
            SIGMA_ASSIGN_OR_RETURN(parts[i], Eval(**exprs[i]));
          }
        }
        if (object.is_list()) {
          List out;
          for (int64_t i : SliceIndices(static_cast<int64_t>(object.list().size()), parts[0],
                                        parts[1], parts[2])) {
            out.push_back(object.list()[static_cast<size_t>(i)]);
          }
          return Value::ListOf(std::move(out));
        }
        if (object.is_string()) {
          const std::vector<size_t> starts = CodePointStarts(object.string());
          std::string out;
          for (int64_t i : SliceIndices(static_cast<int64_t>(starts.size()) - 1, parts[0], parts[1],
                                        parts[2])) {
            const auto k = static_cast<size_t>(i);
            out += object.string().substr(starts[k], starts[k + 1] - starts[k]);
          }
          return Value::String(out);
        }
        return Error(e, "cannot slice a ", object.TypeName());
      }
      case Expr::Kind::kCall: {
        SIGMA_ASSIGN_OR_RETURN(Value callee, Eval(*e.a));
        if (callee.kind() != Value::Kind::kFunction) {
          const std::string what = e.a->kind == Expr::Kind::kName        ? "'" + e.a->name + "'"
                                   : e.a->kind == Expr::Kind::kAttribute ? "'." + e.a->name + "'"
                                                                         : "the value";
          return Error(e, what, " is not callable (a ", callee.TypeName(), ")");
        }
        SIGMA_ASSIGN_OR_RETURN(Args args, EvalArgs(e));
        StatusOr<Value> result = callee.function()(args);
        if (!result.ok()) return result.status().WithContext("line " + std::to_string(e.line));
        return result;
      }
      case Expr::Kind::kFilter: {
        SIGMA_ASSIGN_OR_RETURN(Value value, Eval(*e.a));
        SIGMA_ASSIGN_OR_RETURN(Args args, EvalArgs(e));
        StatusOr<Value> result = ApplyFilter(e.name, value, args);
        if (!result.ok()) return result.status().WithContext("line " + std::to_string(e.line));
        return result;
      }
      case Expr::Kind::kTest: {
        SIGMA_ASSIGN_OR_RETURN(Value value, Eval(*e.a));
        SIGMA_ASSIGN_OR_RETURN(Args args, EvalArgs(e));
        StatusOr<bool> pass = ApplyTest(e.name, value, args);
        if (!pass.ok()) return pass.status().WithContext("line " + std::to_string(e.line));
        return Value::Bool(*pass != e.negated);
      }
      case Expr::Kind::kUnary: {
        SIGMA_ASSIGN_OR_RETURN(Value v, Eval(*e.a));
        if (e.name == "not") return Value::Bool(!v.Truthy());
        if (v.kind() == Value::Kind::kInt)
          return Value::Int(e.name == "-" ? -v.integer() : v.integer());
        if (v.is_number()) return Value::Float(e.name == "-" ? -v.number() : v.number());
        return Error(e, "unary ", e.name, " of a ", v.TypeName());
      }
      case Expr::Kind::kBinary: return EvalBinary(e);
      case Expr::Kind::kConditional: {
        SIGMA_ASSIGN_OR_RETURN(Value c, Eval(*e.b));
        if (c.Truthy()) return Eval(*e.a);
        if (e.c == nullptr) return Value();
        return Eval(*e.c);
      }
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        List items;
        for (const ExprPtr& item : e.args) {
          SIGMA_ASSIGN_OR_RETURN(Value v, Eval(*item));
          items.push_back(std::move(v));
        }
        return Value::ListOf(std::move(items));
      }
      case Expr::Kind::kDict: {
        Dict d;
        for (size_t i = 0; i < e.keys.size(); ++i) {
          SIGMA_ASSIGN_OR_RETURN(Value k, Eval(*e.keys[i]));
          SIGMA_ASSIGN_OR_RETURN(Value v, Eval(*e.args[i]));
          if (!k.Hashable()) return Error(e, "a ", k.TypeName(), " cannot be a dict key");
          d.Set(std::move(k), std::move(v));
        }
        return Value::DictOf(std::move(d));
      }
    }
    return Value();
  }

  StatusOr<Value> EvalBinary(const Expr& e) {
    const std::string& op = e.name;
    SIGMA_ASSIGN_OR_RETURN(Value a, Eval(*e.a));
    if (op == "and") {
      if (!a.Truthy()) return a;
      return Eval(*e.b);
    }
    if (op == "or") {
      if (a.Truthy()) return a;
      return Eval(*e.b);
    }
    SIGMA_ASSIGN_OR_RETURN(Value b, Eval(*e.b));
    if (op == "==") return Value::Bool(a.Equals(b));
    if (op == "!=") return Value::Bool(!a.Equals(b));
    if (op == "~") return Value::String(a.Str() + b.Str());
    if (op == "in" || op == "not in") {
      bool found = false;
      if (b.is_string()) {
        if (!a.is_string())
          return Error(e, "'in <string>' needs a string on the left, got a ", a.TypeName());
        found = b.string().find(a.string()) != std::string::npos;
      } else if (b.is_dict()) {
        found = b.dict().Find(a) != nullptr;
      } else if (b.is_list()) {
        for (const Value& item : b.list()) found = found || item.Equals(a);
      } else if (!b.is_undefined()) {
        return Error(e, "'in' a ", b.TypeName());
      }
      return Value::Bool(found == (op == "in"));
    }
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      int cmp = 0;
      if (a.is_number() && b.is_number()) {
        cmp = a.number() < b.number() ? -1 : a.number() > b.number() ? 1 : 0;
      } else if (a.is_string() && b.is_string()) {
        cmp = a.string().compare(b.string());
      } else {
        return Error(e, "cannot compare a ", a.TypeName(), " with a ", b.TypeName());
      }
      return Value::Bool(op == "<"    ? cmp < 0
                         : op == ">"  ? cmp > 0
                         : op == "<=" ? cmp <= 0
                                      : cmp >= 0);
    }
    if (op == "+" && a.is_string() && b.is_string()) return Value::String(a.string() + b.string());
    if (op == "+" && a.is_list() && b.is_list()) {
      List items = a.list();
      items.insert(items.end(), b.list().begin(), b.list().end());
      return Value::ListOf(std::move(items));
    }
    if (op == "*" && a.is_string() && b.kind() == Value::Kind::kInt) {
      std::string out;
      for (int64_t i = 0; i < b.integer(); ++i) out += a.string();
      return Value::String(out);
    }
    if (!a.is_number() || !b.is_number()) {
      for (const auto& [value, operand] : {std::pair{&a, &e.a}, std::pair{&b, &e.b}}) {
        if (value->is_undefined() && (*operand)->kind == Expr::Kind::kName) {
          return Error(e, "'", (*operand)->name, "' is undefined");
        }
      }
      return Error(e, "'", op, "' of a ", a.TypeName(), " and a ", b.TypeName());
    }
    const bool ints = a.kind() == Value::Kind::kInt && b.kind() == Value::Kind::kInt;
    if ((op == "/" || op == "//" || op == "%") && b.number() == 0)
      return Error(e, "division by zero");
    if (op == "/") return Value::Float(a.number() / b.number());
    if (ints) {
      const int64_t x = a.integer(), y = b.integer();
      if (op == "+") return Value::Int(x + y);
      if (op == "-") return Value::Int(x - y);
      if (op == "*") return Value::Int(x * y);
      if (op == "//") return Value::Int(x / y - ((x % y != 0) && ((x < 0) != (y < 0)) ? 1 : 0));
      if (op == "%") return Value::Int(((x % y) + y) % y);
      if (op == "**" && y >= 0) {
        int64_t r = 1;
        for (int64_t i = 0; i < y; ++i) r *= x;
        return Value::Int(r);
      }
    }
    const double x = a.number(), y = b.number();
    if (op == "+") return Value::Float(x + y);
    if (op == "-") return Value::Float(x - y);
    if (op == "*") return Value::Float(x * y);
    if (op == "//") return Value::Float(std::floor(x / y));
    if (op == "%") return Value::Float(x - y * std::floor(x / y));
    if (op == "**") return Value::Float(std::pow(x, y));
    return Error(e, "unknown operator '", op, "'");
  }

  // Macros calling macros (a template may recurse without end), and the text one render (or one
  // block of it) may make.
  static constexpr int kMaxMacroDepth = 64;
  static constexpr size_t kMaxOutputBytes = size_t{64} << 20;

  std::vector<Dict> scopes_;
  Flow flow_ = Flow::kNone;
  int macro_depth_ = 0;
};

}  // namespace

StatusOr<Template> Template::Parse(std::string_view source) {
  SIGMA_ASSIGN_OR_RETURN(Body body, ParseTemplate(source));
  Template t;
  t.body_ = std::make_shared<const Body>(std::move(body));
  return t;
}

StatusOr<std::string> Template::Render(const Dict& variables) const {
  Renderer renderer(variables);
  std::string out;
  SIGMA_RETURN_IF_ERROR(renderer.Run(*body_, &out));
  return out;
}

}  // namespace sigma::jinja
