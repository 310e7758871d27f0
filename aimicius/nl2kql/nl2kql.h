// NL2KQL (paper §6.4): natural language to a Kusto query. Record loading, the zero-shot prompt,
// query extraction from model output, and the six metrics.
//
// Record (one JSONL line): {"id": str, "question": str, "gt_kql": str}; the ground-truth query
// must parse with aimicius/kql (a record whose query does not is rejected at load time).
// Metrics per sample (all in [0, 1]; aimicius/README.md gives the exact definitions):
//   syntax_accuracy  1 if the extracted query parses with aimicius/kql/parser.h
//   similarity       Jaccard of SimilarityTokens(extracted) and SimilarityTokens(gt)
//   cluster_score, database_score, table_score, column_score
//                    Recall of the ground truth's component set in the output's (0 when the
//                    output does not parse)
// The paper's primary metric is database_score. Scoring fails (a Status) only for a record whose
// gt_kql does not parse; any model output, however broken, gets a score.
// Thread safety: free functions; records are values.
#ifndef SIGMA_AIMICIUS_NL2KQL_NL2KQL_H_
#define SIGMA_AIMICIUS_NL2KQL_NL2KQL_H_

#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "aimicius/common/score.h"
#include "engine/base/status.h"

namespace sigma::aimicius {

struct Nl2KqlRecord {
  std::string id;
  std::string question;
  std::string gt_kql;
};

// `where` names the record in errors ("nl2kql/sample.jsonl:3").
StatusOr<Nl2KqlRecord> ParseNl2KqlRecord(const rapidjson::Value& object, std::string_view where);
StatusOr<std::vector<Nl2KqlRecord>> LoadNl2KqlRecords(const std::string& path);

std::string BuildNl2KqlPrompt(const Nl2KqlRecord& record);

// The query in a model's output: the first ```kql / ```kusto block, else the first untagged
// block, else the first block of any tag, else the whole output; trimmed, with one trailing ';'
// removed.
std::string ExtractKql(std::string_view output);

StatusOr<TaskScore> ScoreNl2Kql(const Nl2KqlRecord& record, std::string_view output);

}  // namespace sigma::aimicius

#endif  // SIGMA_AIMICIUS_NL2KQL_NL2KQL_H_
