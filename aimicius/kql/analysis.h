// What the NL2KQL metrics read from a query: its components (clusters, databases, tables,
// columns) from the parsed AST, and its similarity token set from the lenient lexer.
//
// Components (see aimicius/README.md, "NL2KQL"):
//   clusters   the string argument of every cluster('...') call in a table source, normalised:
//              lower-cased, "https://" / "http://" and a trailing '/' removed, and a trailing
//              ".kusto.windows.net" removed (so 'Help', 'help.kusto.windows.net' and
//              'https://help.kusto.windows.net/' are one cluster);
//   databases  the string argument of every database('...') call in a table source (exact);
//   tables     the table of every source: the name after database('...'). in a chain, a bare
//              name that is not bound by let, or table('T') (exact);
//   columns    every bare name used inside a tabular operator that is not a function being
//              called, not a let-bound name and not a literal (true/false/null); the members of
//              $left / $right; and every name assigned by project/extend/summarize/... (Name = ...).
//              For a dynamic path like Properties.Level only the base column Properties counts.
// Sources and operators of let bodies, joins, unions and subqueries are all visited.
// Thread safety: free functions, no shared state.
#ifndef SIGMA_AIMICIUS_KQL_ANALYSIS_H_
#define SIGMA_AIMICIUS_KQL_ANALYSIS_H_

#include <set>
#include <string>
#include <string_view>

#include "aimicius/kql/parser.h"

namespace sigma::aimicius::kql {

struct Components {
  std::set<std::string> clusters;
  std::set<std::string> databases;
  std::set<std::string> tables;
  std::set<std::string> columns;
};

Components ExtractComponents(const Query& query);

std::string NormalizeCluster(std::string_view cluster);

// The similarity token set of any text (never fails): the distinct tokens of LexLenient, each as
//   identifiers, numbers, timespans, punctuation: their source spelling (case-sensitive);
//   strings: '"' + decoded value (so 'x', "x" and @'x' are the same token);
//   datetime(...): "datetime(" + the inner text with spaces removed + ")".
std::set<std::string> SimilarityTokens(std::string_view text);

// |a ∩ b| / |a ∪ b|; 1 when both are empty.
double Jaccard(const std::set<std::string>& a, const std::set<std::string>& b);

// |truth ∩ output| / |truth|; when truth is empty, 1 if output is empty too, else 0.
double Recall(const std::set<std::string>& truth, const std::set<std::string>& output);

}  // namespace sigma::aimicius::kql

#endif  // SIGMA_AIMICIUS_KQL_ANALYSIS_H_
