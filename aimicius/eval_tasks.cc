#include "aimicius/eval_tasks.h"

#include <cstdlib>
#include <functional>
#include <optional>
#include <set>

#include "aimicius/nl2kql/nl2kql.h"
#include "engine/base/file.h"
#include "engine/base/sha256.h"
#include "tasks/metrics.h"

namespace sigma::aimicius {
namespace {

// Bump when prompts, extraction or scoring change.
constexpr char kVersion[] = "aimicius-1";

tasks::Request GenerateRequest(std::string prompt, const GenerationSettings& gen) {
  tasks::Request r;
  r.type = tasks::RequestType::kGenerateUntil;
  if (gen.chat) r.chat.push_back({"user", prompt});
  r.context = std::move(prompt);
  r.max_tokens = gen.max_tokens;
  return r;
}

tasks::SampleScore FromTaskScore(TaskScore score, std::string raw, std::string target) {
  tasks::SampleScore s;
  s.metrics = std::move(score.metrics);
  s.stats = std::move(score.stats);
  s.extracted = score.extracted;
  s.extracted_by_filter["answer"] = std::move(score.extracted);
  if (!score.detail.empty()) s.extracted_by_filter["detail"] = std::move(score.detail);
  s.raw_output = std::move(raw);
  s.target = std::move(target);
  return s;
}

// Shared plumbing: records, identity, aggregation. Subclasses provide prompts and scoring.
template <typename Record>
class AimiciusTask : public tasks::EvalTask {
 public:
  AimiciusTask(std::string name, std::vector<Record> records, std::string settings,
               std::string data_hash, GenerationSettings gen)
      : name_(std::move(name)), records_(std::move(records)), settings_(std::move(settings)),
        gen_(gen) {
    hash_ = Sha256Hex(StrCat(name_, "\n", kVersion, "\n", settings_, "\n", gen_.max_tokens,
                             gen_.chat, "\n", data_hash));
  }

  const std::string& name() const override { return name_; }
  std::string version() const override { return kVersion; }
  const std::string& hash() const override { return hash_; }
  std::string SettingsJson() const override { return settings_; }
  size_t size() const override { return records_.size(); }
  std::string DocId(size_t i) const override { return records_[i].id; }

  StatusOr<std::vector<tasks::Request>> BuildRequests(size_t i) const override {
    SIGMA_ASSIGN_OR_RETURN(std::string prompt, Prompt(i));
    return std::vector<tasks::Request>{GenerateRequest(std::move(prompt), gen_)};
  }

  std::vector<tasks::Aggregate> AggregateScores(
      const std::vector<tasks::SampleScore>& samples) const override {
    std::set<std::string> names;
    for (const auto& s : samples) {
      if (s.error.empty()) for (const auto& [k, v] : s.metrics) names.insert(k);
    }
    std::vector<tasks::Aggregate> out;
    for (const std::string& metric : names) {
      std::vector<double> values;
      for (const auto& s : samples) {
        auto it = s.metrics.find(metric);
        if (s.error.empty() && it != s.metrics.end()) values.push_back(it->second);
      }
      // Per-sample values stay in [0, 1] (paired tests need the 0/1 form); the task's score is
      // reported on the paper's 0-100 scale.
      tasks::Aggregate a = tasks::AggregateMean(metric, values);
      a.value *= 100;
      a.stderr_value *= 100;
      a.ci_low *= 100;
      a.ci_high *= 100;
      out.push_back(std::move(a));
    }
    return out;
  }

 protected:
  // The single response's text, or a sample error when the backend failed / gave nothing.
  static bool ResponseText(const std::vector<tasks::Response>& responses, size_t want,
                           tasks::SampleScore* failed) {
    if (responses.size() != want) {
      failed->error = StrCat("expected ", want, " responses, got ", responses.size());
      return false;
    }
    for (const auto& r : responses) {
      if (!r.error.empty()) {
        failed->error = "backend: " + r.error;
        return false;
      }
    }
    return true;
  }

  std::string name_;
  std::vector<Record> records_;
  std::string settings_;
  GenerationSettings gen_;
  std::string hash_;
};

class Nl2KqlTask : public AimiciusTask<Nl2KqlRecord> {
 public:
  using AimiciusTask::AimiciusTask;
  StatusOr<std::string> Prompt(size_t i) const override { return BuildNl2KqlPrompt(records_[i]); }
  StatusOr<tasks::SampleScore> Score(size_t i,
                                     const std::vector<tasks::Response>& rs) const override {
    tasks::SampleScore failed;
    if (!ResponseText(rs, 1, &failed)) return failed;
    SIGMA_ASSIGN_OR_RETURN(TaskScore s, ScoreNl2Kql(records_[i], rs[0].text));
    return FromTaskScore(std::move(s), rs[0].text, records_[i].gt_kql);
  }
};

class InfrawiseTask : public AimiciusTask<InfrawiseRecord> {
 public:
  InfrawiseTask(std::vector<InfrawiseRecord> records, InfrawiseOptions options, std::string hash,
                GenerationSettings gen)
      : AimiciusTask("infrawise", std::move(records),
                     options.field_match == FieldMatch::kExact ? R"({"field_match":"exact"})"
                                                               : R"({"field_match":"must_include"})",
                     std::move(hash), gen),
        options_(options) {}
  StatusOr<std::string> Prompt(size_t i) const override { return BuildDcwPrompt(records_[i]); }
  StatusOr<std::vector<tasks::Request>> BuildRequests(size_t i) const override {
    return std::vector<tasks::Request>{GenerateRequest(BuildDcwPrompt(records_[i]), gen_),
                                       GenerateRequest(BuildRetrievalPrompt(records_[i]), gen_)};
  }
  StatusOr<tasks::SampleScore> Score(size_t i,
                                     const std::vector<tasks::Response>& rs) const override {
    tasks::SampleScore failed;
    if (!ResponseText(rs, 2, &failed)) return failed;
    TaskScore dcw = ScoreDcw(records_[i], rs[0].text, options_);
    TaskScore retrieval = ScoreRetrieval(records_[i], rs[1].text);
    tasks::SampleScore s = FromTaskScore(dcw, rs[0].text + "\n\n" + rs[1].text, "");
    for (const auto& [k, v] : retrieval.metrics) s.metrics[k] = v;
    for (const auto& [k, v] : retrieval.stats) s.stats[k] = v;
    s.extracted_by_filter["dcw"] = dcw.extracted;
    s.extracted_by_filter["retrieval"] = retrieval.extracted;
    s.extracted = dcw.extracted + " | " + retrieval.extracted;
    return s;
  }

 private:
  InfrawiseOptions options_;
};

class OptiflowTask : public AimiciusTask<OptiflowRecord> {
 public:
  OptiflowTask(std::vector<OptiflowRecord> records, tasks::Executor* executor,
               OptiflowOptions options, std::string hash, GenerationSettings gen)
      : AimiciusTask("optiflow", std::move(records),
                     StrCat(R"({"simulator":"alpha-beta-link-share-v1","wall_ms":)",
                            options.limits.wall_ms, "}"),
                     std::move(hash), gen),
        executor_(executor), options_(std::move(options)) {}
  StatusOr<std::string> Prompt(size_t i) const override { return BuildOptiflowPrompt(records_[i]); }

  // Turn 2: when the first plan is valid, the conversation goes on with "improve it".
  StatusOr<std::vector<tasks::Request>> FollowUpRequests(
      size_t i, const std::vector<tasks::Response>& first) const override {
    if (first.size() != 1) return std::vector<tasks::Request>{};
    SIGMA_ASSIGN_OR_RETURN(PlanAttempt attempt,
                           EvaluatePlanOutput(records_[i], first[0].text, executor_, options_));
    if (!attempt.valid) return std::vector<tasks::Request>{};
    const std::string prompt1 = BuildOptiflowPrompt(records_[i]);
    const std::string prompt2 = BuildImprovePrompt(records_[i], attempt.code, attempt.latency_us);
    tasks::Request r = GenerateRequest(prompt2, gen_);
    if (gen_.chat) {
      r.chat = {{"user", prompt1}, {"assistant", first[0].text}, {"user", prompt2}};
    } else {
      r.context = prompt1 + "\n" + first[0].text + "\n\n" + prompt2;
    }
    return std::vector<tasks::Request>{std::move(r)};
  }

  StatusOr<tasks::SampleScore> Score(size_t i,
                                     const std::vector<tasks::Response>& rs) const override {
    tasks::SampleScore failed;
    if (rs.empty() || rs.size() > 2) {
      failed.error = StrCat("expected 1 or 2 responses, got ", rs.size());
      return failed;
    }
    if (!ResponseText(rs, rs.size(), &failed)) return failed;
    SIGMA_ASSIGN_OR_RETURN(PlanAttempt first,
                           EvaluatePlanOutput(records_[i], rs[0].text, executor_, options_));
    std::optional<PlanAttempt> second;
    if (rs.size() == 2) {
      SIGMA_ASSIGN_OR_RETURN(second, EvaluatePlanOutput(records_[i], rs[1].text, executor_, options_));
    }
    TaskScore s = ScoreOptiflow(first, second ? &*second : nullptr);
    std::string raw = rs[0].text;
    if (rs.size() == 2) raw += "\n\n--- turn 2 ---\n" + rs[1].text;
    return FromTaskScore(std::move(s), std::move(raw), "");
  }

 private:
  tasks::Executor* executor_;
  OptiflowOptions options_;
};

class CmdGenTask : public AimiciusTask<CmdGenRecord> {
 public:
  CmdGenTask(std::string name, std::vector<CmdGenRecord> records, Embedder* embedder,
             tasks::Executor* executor, CmdGenOptions options, std::string hash,
             GenerationSettings gen)
      : AimiciusTask(std::move(name), std::move(records), options.ToJson(*embedder),
                     std::move(hash), gen),
        embedder_(embedder), executor_(executor), options_(std::move(options)) {}
  StatusOr<std::string> Prompt(size_t i) const override { return BuildCmdGenPrompt(records_[i]); }
  StatusOr<tasks::SampleScore> Score(size_t i,
                                     const std::vector<tasks::Response>& rs) const override {
    tasks::SampleScore failed;
    if (!ResponseText(rs, 1, &failed)) return failed;
    SIGMA_ASSIGN_OR_RETURN(TaskScore s,
                           ScoreCmdGen(records_[i], rs[0].text, *embedder_, executor_, options_));
    return FromTaskScore(std::move(s), rs[0].text, records_[i].gt_command);
  }

 private:
  Embedder* embedder_;
  tasks::Executor* executor_;
  CmdGenOptions options_;
};

std::string DataPath(const std::string& path, const char* task) {
  return path.empty() ? StrCat(DefaultAimiciusDataDir(), "/", task, "/sample.jsonl") : path;
}

}  // namespace

std::string DefaultAimiciusDataDir() {
  const char* env = std::getenv("SIGMA_AIMICIUS_DATA");
  return env != nullptr && *env != '\0' ? env : SIGMA_AIMICIUS_DATA_DIR;
}

StatusOr<std::unique_ptr<tasks::EvalTask>> MakeNl2KqlTask(const std::string& path,
                                                          const GenerationSettings& gen) {
  const std::string file = DataPath(path, "nl2kql");
  SIGMA_ASSIGN_OR_RETURN(std::string hash, Sha256File(file));
  SIGMA_ASSIGN_OR_RETURN(auto records, LoadNl2KqlRecords(file));
  return std::unique_ptr<tasks::EvalTask>(
      new Nl2KqlTask("nl2kql", std::move(records), "{}", std::move(hash), gen));
}

StatusOr<std::unique_ptr<tasks::EvalTask>> MakeInfrawiseTask(const std::string& path,
                                                             const InfrawiseOptions& options,
                                                             const GenerationSettings& gen) {
  const std::string file = DataPath(path, "infrawise");
  SIGMA_ASSIGN_OR_RETURN(std::string hash, Sha256File(file));
  SIGMA_ASSIGN_OR_RETURN(auto records, LoadInfrawiseRecords(file));
  return std::unique_ptr<tasks::EvalTask>(
      new InfrawiseTask(std::move(records), options, std::move(hash), gen));
}

StatusOr<std::unique_ptr<tasks::EvalTask>> MakeOptiflowTask(const std::string& path,
                                                            tasks::Executor* executor,
                                                            const OptiflowOptions& options,
                                                            const GenerationSettings& gen) {
  if (executor == nullptr) return UnavailableError("optiflow: needs a sandbox (Executor)");
  const std::string file = DataPath(path, "optiflow");
  SIGMA_ASSIGN_OR_RETURN(std::string hash, Sha256File(file));
  SIGMA_ASSIGN_OR_RETURN(auto records, LoadOptiflowRecords(file));
  return std::unique_ptr<tasks::EvalTask>(
      new OptiflowTask(std::move(records), executor, options, std::move(hash), gen));
}

StatusOr<std::unique_ptr<tasks::EvalTask>> MakeCmdGenTask(const std::string& path,
                                                          const std::string& platform,
                                                          Embedder* embedder,
                                                          tasks::Executor* executor,
                                                          const CmdGenOptions& options,
                                                          const GenerationSettings& gen) {
  if (embedder == nullptr) return InvalidArgumentError("cmdgen: an Embedder is required");
  if (!platform.empty() && platform != "nvidia" && platform != "amd") {
    return InvalidArgumentError("cmdgen: platform must be \"nvidia\", \"amd\" or empty");
  }
  const std::string file = DataPath(path, "cmdgen");
  SIGMA_ASSIGN_OR_RETURN(std::string hash, Sha256File(file));
  SIGMA_ASSIGN_OR_RETURN(auto all, LoadCmdGenRecords(file));
  std::vector<CmdGenRecord> records;
  for (auto& r : all) {
    if (platform.empty() || r.platform == platform) records.push_back(std::move(r));
  }
  std::string name = platform.empty() ? "cmdgen" : "cmdgen_" + platform;
  return std::unique_ptr<tasks::EvalTask>(new CmdGenTask(std::move(name), std::move(records),
                                                         embedder, executor, options,
                                                         std::move(hash), gen));
}

}  // namespace sigma::aimicius
