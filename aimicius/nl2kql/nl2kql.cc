#include "aimicius/nl2kql/nl2kql.h"

#include "aimicius/common/text.h"
#include "aimicius/kql/analysis.h"
#include "aimicius/kql/parser.h"
#include "engine/base/json.h"

namespace sigma::aimicius {

StatusOr<Nl2KqlRecord> ParseNl2KqlRecord(const rapidjson::Value& object, std::string_view where) {
  if (!object.IsObject()) return InvalidArgumentError(where, ": expected a JSON object");
  JsonFields fields(object, std::string(where));
  Nl2KqlRecord r;
  SIGMA_RETURN_IF_ERROR(fields.RequireString("id", &r.id));
  SIGMA_RETURN_IF_ERROR(fields.RequireString("question", &r.question));
  SIGMA_RETURN_IF_ERROR(fields.RequireString("gt_kql", &r.gt_kql));
  SIGMA_RETURN_IF_ERROR(fields.RejectUnknownKeys());
  auto parsed = kql::Parse(r.gt_kql);
  if (!parsed.ok()) return parsed.status().WithContext(StrCat(where, ": gt_kql"));
  return r;
}

StatusOr<std::vector<Nl2KqlRecord>> LoadNl2KqlRecords(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(auto docs, LoadJsonlObjects(path));
  std::vector<Nl2KqlRecord> out;
  for (size_t i = 0; i < docs.size(); ++i) {
    SIGMA_ASSIGN_OR_RETURN(Nl2KqlRecord r,
                           ParseNl2KqlRecord(*docs[i], StrCat(path, ": record ", i)));
    out.push_back(std::move(r));
  }
  return out;
}

std::string BuildNl2KqlPrompt(const Nl2KqlRecord& record) {
  return StrCat(
      "You are an expert in Kusto Query Language (KQL) for Azure Data Explorer.\n"
      "Translate the request below into one KQL query.\n"
      "- When the request names a cluster and a database, reference the table as "
      "cluster('<cluster>').database('<database>').<Table>.\n"
      "- Use the table and column names given in the request.\n"
      "- Answer with the query only, inside a ```kql code block, with no explanation.\n\n"
      "Request: ",
      record.question, "\n");
}

std::string ExtractKql(std::string_view output) {
  output = ClipModelOutput(output);
  std::vector<CodeBlock> blocks = ExtractCodeBlocks(output, 16);
  const CodeBlock* block = PickCodeBlock(blocks, {"kql", "kusto"});
  if (block == nullptr && !blocks.empty()) block = &blocks.front();
  std::string query(Trim(block != nullptr ? std::string_view(block->body) : output));
  if (!query.empty() && query.back() == ';') {
    query.pop_back();
    query = std::string(Trim(query));
  }
  return query;
}

StatusOr<TaskScore> ScoreNl2Kql(const Nl2KqlRecord& record, std::string_view output) {
  TaskScore score;
  score.extracted = ExtractKql(output);
  score.metrics["similarity"] =
      kql::Jaccard(kql::SimilarityTokens(score.extracted), kql::SimilarityTokens(record.gt_kql));
  auto truth = kql::Parse(record.gt_kql);
  if (!truth.ok()) return truth.status().WithContext(StrCat("NL2KQL record ", record.id, ": gt_kql"));
  const kql::Components want = kql::ExtractComponents(*truth);
  auto parsed = kql::Parse(score.extracted);
  kql::Components got;
  if (parsed.ok()) {
    got = kql::ExtractComponents(*parsed);
  } else {
    score.detail = parsed.status().message();
  }
  score.metrics["syntax_accuracy"] = parsed.ok() ? 1.0 : 0.0;
  const double ok = parsed.ok() ? 1.0 : 0.0;
  score.metrics["cluster_score"] = ok * kql::Recall(want.clusters, got.clusters);
  score.metrics["database_score"] = ok * kql::Recall(want.databases, got.databases);
  score.metrics["table_score"] = ok * kql::Recall(want.tables, got.tables);
  score.metrics["column_score"] = ok * kql::Recall(want.columns, got.columns);
  return score;
}

}  // namespace sigma::aimicius
