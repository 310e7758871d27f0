#include "aimicius/infrawise/infrawise.h"

#include <algorithm>
#include <cctype>

#include "aimicius/common/text.h"
#include "engine/base/json.h"

namespace sigma::aimicius {
namespace {

// Member lookup with an ASCII case-insensitive key.
const rapidjson::Value* FindCi(const rapidjson::Value& object, std::string_view key) {
  if (!object.IsObject()) return nullptr;
  const std::string want = ToLowerAscii(key);
  for (const auto& m : object.GetObject()) {
    if (ToLowerAscii(std::string_view(m.name.GetString(), m.name.GetStringLength())) == want) {
      return &m.value;
    }
  }
  return nullptr;
}

std::string ValueText(const rapidjson::Value* v) {
  if (v == nullptr || v->IsNull()) return "";
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  return JsonToString(*v);
}

Status ReadDcw(const rapidjson::Value& object, std::string_view where, Dcw* out) {
  JsonFields fields(object, StrCat(where, ": gt_dcw"));
  const rapidjson::Value* design = fields.Find("Design");
  if (design == nullptr || !design->IsObject()) {
    return InvalidArgumentError(where, ": gt_dcw.Design: expected an object");
  }
  JsonFields d(*design, StrCat(where, ": gt_dcw.Design"));
  SIGMA_RETURN_IF_ERROR(d.RequireString("Target", &out->target));
  SIGMA_RETURN_IF_ERROR(d.OptionalString("Baseline", &out->baseline));
  SIGMA_RETURN_IF_ERROR(d.RejectUnknownKeys());
  SIGMA_RETURN_IF_ERROR(fields.RequireString("Criterion", &out->criterion));
  SIGMA_RETURN_IF_ERROR(fields.RequireString("Workload", &out->workload));
  return fields.RejectUnknownKeys();
}

Status ReadCandidates(const rapidjson::Value& list, std::string_view where,
                      std::vector<InfrawiseCandidate>* out) {
  if (!list.IsArray() || list.Empty()) {
    return InvalidArgumentError(where, ": candidates: expected a non-empty array");
  }
  std::set<int64_t> seen;
  for (const auto& c : list.GetArray()) {
    const rapidjson::Value* index = c.IsObject() ? FindCi(c, "index") : nullptr;
    if (index == nullptr || !index->IsInt64()) {
      return InvalidArgumentError(where, ": candidates[", out->size(),
                                  "]: expected an object with an integer 'index'");
    }
    if (!seen.insert(index->GetInt64()).second) {
      return InvalidArgumentError(where, ": candidates: duplicate index ", index->GetInt64());
    }
    out->push_back({index->GetInt64(), JsonToString(c)});
  }
  return Status::Ok();
}

// Strips "Answer:"-style labels, markdown emphasis, brackets and a final period from a line.
std::string_view StripAnswerDecoration(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos && colon < 40) {
    std::string_view label = line.substr(0, colon);
    bool words = std::all_of(label.begin(), label.end(), [](char c) {
      return std::isalpha(static_cast<unsigned char>(c)) || c == ' ' || c == '*' || c == '_';
    });
    if (words) line = line.substr(colon + 1);
  }
  constexpr std::string_view kJunk = " \t*`\"'[](){}.";
  const size_t b = line.find_first_not_of(kJunk);
  if (b == std::string_view::npos) return {};
  const size_t e = line.find_last_not_of(kJunk);
  return line.substr(b, e - b + 1);
}

// "None" -> {}, "1, 4 and 7" -> {1,4,7}; nullopt when the line is not an index answer.
std::optional<std::set<int64_t>> ParseIndexLine(std::string_view line) {
  const std::string lower = ToLowerAscii(line);
  if (lower == "none" || lower == "none of them" || lower == "no records") {
    return std::set<int64_t>{};
  }
  std::set<int64_t> out;
  std::string piece;
  auto flush = [&]() -> bool {
    if (piece.empty()) return true;
    if (piece == "and") {
      piece.clear();
      return true;
    }
    if (piece.size() > 9 || !std::all_of(piece.begin(), piece.end(), ::isdigit)) return false;
    out.insert(std::stoll(piece));
    piece.clear();
    return true;
  };
  for (char c : lower) {
    if (c == ',' || c == ';' || c == ' ' || c == '\t') {
      if (!flush()) return std::nullopt;
    } else {
      piece.push_back(c);
    }
  }
  if (!flush() || out.empty()) return std::nullopt;
  return out;
}

std::string DcwJson(const Dcw& d) {
  std::string out = "{\"Design\": {\"Target\": ";
  AppendJsonString(d.target, &out);
  out += ", \"Baseline\": ";
  AppendJsonString(d.baseline, &out);
  out += "}, \"Criterion\": ";
  AppendJsonString(d.criterion, &out);
  out += ", \"Workload\": ";
  AppendJsonString(d.workload, &out);
  out += "}";
  return out;
}

}  // namespace

StatusOr<InfrawiseRecord> ParseInfrawiseRecord(const rapidjson::Value& object,
                                               std::string_view where) {
  if (!object.IsObject()) return InvalidArgumentError(where, ": expected a JSON object");
  JsonFields fields(object, std::string(where));
  InfrawiseRecord r;
  SIGMA_RETURN_IF_ERROR(fields.RequireString("id", &r.id));
  SIGMA_RETURN_IF_ERROR(fields.RequireString("question", &r.question));
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("gt_type", &r.gt_type));
  const rapidjson::Value* dcw = fields.Find("gt_dcw");
  if (dcw == nullptr || !dcw->IsObject()) {
    return InvalidArgumentError(where, ": gt_dcw: expected an object");
  }
  SIGMA_RETURN_IF_ERROR(ReadDcw(*dcw, where, &r.gt_dcw));
  const rapidjson::Value* candidates = fields.Find("candidates");
  if (candidates == nullptr) return InvalidArgumentError(where, ": missing 'candidates'");
  SIGMA_RETURN_IF_ERROR(ReadCandidates(*candidates, where, &r.candidates));
  std::vector<int64_t> selected;
  SIGMA_RETURN_IF_ERROR(fields.OptionalIntArray("gt_selected", &selected));
  for (int64_t i : selected) {
    bool known = std::any_of(r.candidates.begin(), r.candidates.end(),
                             [i](const InfrawiseCandidate& c) { return c.index == i; });
    if (!known) return InvalidArgumentError(where, ": gt_selected: no candidate has index ", i);
    r.gt_selected.insert(i);
  }
  SIGMA_RETURN_IF_ERROR(fields.RejectUnknownKeys());
  return r;
}

StatusOr<std::vector<InfrawiseRecord>> LoadInfrawiseRecords(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(auto docs, LoadJsonlObjects(path));
  std::vector<InfrawiseRecord> out;
  for (size_t i = 0; i < docs.size(); ++i) {
    SIGMA_ASSIGN_OR_RETURN(InfrawiseRecord r,
                           ParseInfrawiseRecord(*docs[i], StrCat(path, ": record ", i)));
    out.push_back(std::move(r));
  }
  return out;
}

std::string BuildDcwPrompt(const InfrawiseRecord& record) {
  return StrCat(
      "You help engineers evaluate cloud AI infrastructure. Read the question and describe the "
      "evaluation it asks for with three components:\n"
      "- Design: the Target system under evaluation and, if the question compares against "
      "something, the Baseline (else \"\"). Each is a VM SKU or a GPU type, e.g. NDv4, NDmv4, "
      "NDv4 MI200, NDv5, NCv3, A100, H100, MI200, MI300x.\n"
      "- Criterion: the evaluation principle, e.g. peak performance, cost-effectiveness, within "
      "a time limit; \"default\" when the question states none.\n"
      "- Workload: the benchmark, model or tool to run, e.g. ORT inference, NCCL allreduce, "
      "GEMM FP16.\n"
      "Answer with one JSON object and nothing else, in this format:\n"
      "{\"Design\": {\"Target\": \"...\", \"Baseline\": \"...\"}, \"Criterion\": \"...\", "
      "\"Workload\": \"...\"}\n\n"
      "Question: ",
      record.question, "\n");
}

std::string BuildRetrievalPrompt(const InfrawiseRecord& record, const Dcw* dcw) {
  std::string prompt = StrCat(
      "You select benchmark results that answer an infrastructure question.\n"
      "Question: ", record.question, "\n"
      "Evaluation design (DCW): ", DcwJson(dcw != nullptr ? *dcw : record.gt_dcw), "\n\n"
      "Candidate benchmark records, one JSON object per line:\n");
  for (const InfrawiseCandidate& c : record.candidates) prompt += c.json + "\n";
  prompt +=
      "\nPick every record that answers the question. Rules:\n"
      "- The record's hardware or SKU must match the Target (or the Baseline).\n"
      "- The workload must be the same benchmark, not merely a related one: NCCL reduce is not "
      "allreduce, a matmul is not a cuBLAS function, and FP64, FP32, FP16 and FP8 results are "
      "different workloads.\n"
      "Answer with the indices of the chosen records only, comma-separated (for example: 2, 5), "
      "or None if no record fits.\n";
  return prompt;
}

StatusOr<Dcw> ExtractDcw(std::string_view output) {
  SIGMA_ASSIGN_OR_RETURN(auto doc, ExtractJson(output, '{'));
  Dcw d;
  const rapidjson::Value* design = FindCi(*doc, "design");
  const rapidjson::Value& holder = design != nullptr && design->IsObject() ? *design : *doc;
  d.target = ValueText(FindCi(holder, "target"));
  d.baseline = ValueText(FindCi(holder, "baseline"));
  d.criterion = ValueText(FindCi(*doc, "criterion"));
  d.workload = ValueText(FindCi(*doc, "workload"));
  return d;
}

StatusOr<std::set<int64_t>> ExtractIndices(std::string_view output) {
  output = ClipModelOutput(output);
  size_t end = output.size();
  while (end > 0) {
    size_t begin = output.rfind('\n', end - 1);
    begin = begin == std::string_view::npos ? 0 : begin + 1;
    std::string_view line = Trim(output.substr(begin, end - begin));
    end = begin == 0 ? 0 : begin - 1;
    if (line.empty() || line.starts_with("```")) continue;
    auto indices = ParseIndexLine(StripAnswerDecoration(line));
    if (indices.has_value()) return *indices;
    if (line == "[]") return std::set<int64_t>{};
  }
  return NotFoundError("no index list or 'None' found in the answer");
}

std::vector<std::string> NormalizeField(std::string_view text, std::string_view field) {
  std::string lower = ToLowerAscii(text);
  if (field == "workload") {
    for (size_t p = lower.find("all-to-all"); p != std::string::npos;
         p = lower.find("all-to-all", p)) {
      lower.replace(p, 10, "alltoall");
    }
  }
  std::vector<std::string> tokens;
  constexpr std::string_view kPunct = ".,;:!?\"'()[]{}";
  for (std::string_view t : SplitWhitespace(lower)) {
    const size_t b = t.find_first_not_of(kPunct);
    if (b == std::string_view::npos) continue;
    std::string token(t.substr(b, t.find_last_not_of(kPunct) - b + 1));
    if (field == "criterion") {
      if (token == "10") token = "ten";
      if (token == "5") token = "five";
      if (token == "1") token = "one";
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

bool FieldMatches(std::string_view truth, std::string_view output, std::string_view field,
                  FieldMatch mode) {
  const std::vector<std::string> want = NormalizeField(truth, field);
  const std::vector<std::string> got = NormalizeField(output, field);
  if (mode == FieldMatch::kExact || want.empty()) return want == got;
  const std::set<std::string> have(got.begin(), got.end());
  return std::all_of(want.begin(), want.end(),
                     [&](const std::string& t) { return have.contains(t); });
}

TaskScore ScoreDcw(const InfrawiseRecord& record, std::string_view output,
                   const InfrawiseOptions& options) {
  TaskScore score;
  auto dcw = ExtractDcw(output);
  Dcw got;
  if (dcw.ok()) {
    got = *dcw;
    score.extracted = DcwJson(got);
  } else {
    score.detail = dcw.status().message();
  }
  score.stats["json_found"] = dcw.ok() ? 1 : 0;
  const Dcw& want = record.gt_dcw;
  const bool ok = dcw.ok();
  const bool t = ok && FieldMatches(want.target, got.target, "target", options.field_match);
  const bool b = ok && FieldMatches(want.baseline, got.baseline, "baseline", options.field_match);
  const bool c = ok && FieldMatches(want.criterion, got.criterion, "criterion", options.field_match);
  const bool w = ok && FieldMatches(want.workload, got.workload, "workload", options.field_match);
  score.metrics["target"] = t;
  score.metrics["baseline"] = b;
  score.metrics["criterion"] = c;
  score.metrics["workload"] = w;
  score.metrics["dcw"] = t && b && c && w;
  return score;
}

TaskScore ScoreRetrieval(const InfrawiseRecord& record, std::string_view output) {
  TaskScore score;
  auto indices = ExtractIndices(output);
  score.stats["answer_found"] = indices.ok() ? 1 : 0;
  if (!indices.ok()) {
    score.detail = indices.status().message();
    score.metrics["bench_recall"] = 0;
    score.metrics["bench_accuracy"] = 0;
    return score;
  }
  const std::set<int64_t>& got = *indices;
  for (int64_t i : got) score.extracted += (score.extracted.empty() ? "" : ", ") + std::to_string(i);
  if (got.empty()) score.extracted = "None";
  const std::set<int64_t>& want = record.gt_selected;
  const bool recall = want.empty() ? got.empty()
                                   : std::includes(got.begin(), got.end(), want.begin(), want.end());
  score.metrics["bench_recall"] = recall;
  score.metrics["bench_accuracy"] = recall && got == want;
  return score;
}

}  // namespace sigma::aimicius
