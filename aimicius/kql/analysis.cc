#include "aimicius/kql/analysis.h"

#include <vector>

#include "aimicius/common/text.h"

namespace sigma::aimicius::kql {
namespace {

// One link of a source chain: cluster('x') / database('y') / Table / table('T').
struct Segment {
  std::string name;
  bool is_call = false;
  std::string string_arg;  // the first argument when it is a string literal
};

// Flattens a.b('x').c into segments; returns false for anything that is not such a chain.
bool Flatten(const Expr& e, std::vector<Segment>* out) {
  switch (e.kind) {
    case ExprKind::kName:
      out->push_back({e.text, false, ""});
      return true;
    case ExprKind::kMember:
      if (!Flatten(*e.args[0], out)) return false;
      out->push_back({e.text, false, ""});
      return true;
    case ExprKind::kCall: {
      if (!Flatten(*e.args[0], out)) return false;
      out->back().is_call = true;
      if (e.args.size() > 1 && e.args[1]->kind == ExprKind::kLiteral &&
          e.args[1]->literal == TokenKind::kString) {
        out->back().string_arg = e.args[1]->value;
      }
      return true;
    }
    default:
      return false;
  }
}

class Collector {
 public:
  explicit Collector(const Query& query) {
    for (const Statement& st : query.statements) {
      if (!st.let_name.empty()) let_names_.insert(st.let_name);
    }
    for (const Statement& st : query.statements) VisitPipeline(st.body);
  }

  Components result;

 private:
  void VisitPipeline(const Pipeline& p) {
    if (p.source != nullptr) VisitSource(*p.source);
    for (const Operator& op : p.ops) {
      for (const auto& e : op.exprs) VisitExpr(*e);
      for (const auto& input : op.inputs) VisitPipeline(*input);
    }
  }

  void VisitSource(const Expr& e) {
    if (e.kind == ExprKind::kSubquery) {
      VisitPipeline(*e.subquery);
      return;
    }
    std::vector<Segment> chain;
    if (!Flatten(e, &chain)) return;
    bool qualified = false;
    for (const Segment& s : chain) {
      if (s.is_call && s.name == "cluster") {
        result.clusters.insert(NormalizeCluster(s.string_arg));
        qualified = true;
      } else if (s.is_call && s.name == "database") {
        result.databases.insert(s.string_arg);
        qualified = true;
      } else if (s.is_call && s.name == "table" && !s.string_arg.empty()) {
        result.tables.insert(s.string_arg);
      } else if (!s.is_call && (qualified || chain.size() == 1) && !let_names_.contains(s.name)) {
        result.tables.insert(s.name);
      }
    }
  }

  void VisitExpr(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kName:
        if (!let_names_.contains(e.text)) result.columns.insert(e.text);
        return;
      case ExprKind::kMember:
        if (e.args[0]->kind == ExprKind::kName &&
            (e.args[0]->text == "$left" || e.args[0]->text == "$right")) {
          result.columns.insert(e.text);
          return;
        }
        VisitExpr(*e.args[0]);
        return;
      case ExprKind::kCall:
        // args[0] is the function; a member callee (x.f()) has a base worth visiting.
        if (e.args[0]->kind == ExprKind::kMember) VisitExpr(*e.args[0]->args[0]);
        for (size_t i = 1; i < e.args.size(); ++i) VisitExpr(*e.args[i]);
        return;
      case ExprKind::kAssign:
        result.columns.insert(e.text);
        VisitExpr(*e.args[0]);
        return;
      case ExprKind::kSubquery:
        VisitPipeline(*e.subquery);
        return;
      default:
        for (const auto& a : e.args) VisitExpr(*a);
    }
  }

  std::set<std::string> let_names_;
};

}  // namespace

std::string NormalizeCluster(std::string_view cluster) {
  std::string c = ToLowerAscii(Trim(cluster));
  for (std::string_view scheme : {"https://", "http://"}) {
    if (c.starts_with(scheme)) c.erase(0, scheme.size());
  }
  while (!c.empty() && c.back() == '/') c.pop_back();
  constexpr std::string_view kSuffix = ".kusto.windows.net";
  if (c.size() > kSuffix.size() && c.ends_with(kSuffix)) c.resize(c.size() - kSuffix.size());
  return c;
}

Components ExtractComponents(const Query& query) { return Collector(query).result; }

std::set<std::string> SimilarityTokens(std::string_view text) {
  std::set<std::string> out;
  for (const Token& t : LexLenient(text)) {
    switch (t.kind) {
      case TokenKind::kEnd:
        break;
      case TokenKind::kString:
        out.insert("\"" + t.value);
        break;
      case TokenKind::kDatetime: {
        std::string inner;
        for (char c : t.value) {
          if (c != ' ' && c != '\t') inner.push_back(c);
        }
        out.insert("datetime(" + inner + ")");
        break;
      }
      default:
        out.insert(t.text);
    }
  }
  return out;
}

double Jaccard(const std::set<std::string>& a, const std::set<std::string>& b) {
  if (a.empty() && b.empty()) return 1.0;
  size_t common = 0;
  for (const std::string& x : a) common += b.contains(x) ? 1 : 0;
  return static_cast<double>(common) / static_cast<double>(a.size() + b.size() - common);
}

double Recall(const std::set<std::string>& truth, const std::set<std::string>& output) {
  if (truth.empty()) return output.empty() ? 1.0 : 0.0;
  size_t hit = 0;
  for (const std::string& x : truth) hit += output.contains(x) ? 1 : 0;
  return static_cast<double>(hit) / static_cast<double>(truth.size());
}

}  // namespace sigma::aimicius::kql
