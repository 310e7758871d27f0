// CompareRuns and the --fail-on parser.
#include "reports/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "reports/report.h"

namespace sigma::reports {
namespace {

using DocKey = std::pair<std::string, std::string>;  // (task, doc_id)

std::map<DocKey, const SampleScores*> IndexOk(const std::vector<SampleScores>& scores, int64_t* errors) {
  std::map<DocKey, const SampleScores*> out;
  for (const SampleScores& s : scores) {
    if (s.has_error) {
      ++*errors;
      continue;
    }
    out[{s.task, s.doc_id}] = &s;
  }
  return out;
}

MetricComparison CompareMetric(const std::string& task, const std::string& metric,
                               const std::map<DocKey, const SampleScores*>& base,
                               const std::map<DocKey, const SampleScores*>& cand,
                               const CompareOptions& options) {
  MetricComparison m;
  m.task = task;
  m.metric = metric;
  std::vector<double> diffs, xs, ys;
  std::vector<std::string> docs;
  for (const auto& [key, b] : base) {
    if (key.first != task || !b->metrics.count(metric)) continue;
    auto it = cand.find(key);
    if (it == cand.end() || !it->second->metrics.count(metric)) {
      ++m.base_only;
      continue;
    }
    xs.push_back(b->metrics.at(metric));
    ys.push_back(it->second->metrics.at(metric));
    diffs.push_back(ys.back() - xs.back());
    docs.push_back(key.second);
  }
  for (const auto& [key, c] : cand) {
    if (key.first != task || !c->metrics.count(metric)) continue;
    auto it = base.find(key);
    if (it == base.end() || !it->second->metrics.count(metric)) ++m.candidate_only;
  }
  m.shared = static_cast<int64_t>(diffs.size());
  if (diffs.empty()) return m;
  m.base_mean = Mean(xs);
  m.candidate_mean = Mean(ys);
  m.delta = m.candidate_mean - m.base_mean;
  m.bootstrap = PairedBootstrap(diffs, options.bootstrap_iterations, options.seed, options.confidence);
  m.binary = true;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (std::fabs(xs[i] - ys[i]) <= 1e-9 * std::max(1.0, std::fabs(xs[i]))) ++m.agree;
    const bool bin = (xs[i] == 0 || xs[i] == 1) && (ys[i] == 0 || ys[i] == 1);
    m.binary = m.binary && bin;
  }
  if (m.binary) {
    for (size_t i = 0; i < xs.size(); ++i) {
      if (xs[i] == 1 && ys[i] == 0) {
        ++m.broken;
        if (m.broken_docs.size() < options.max_listed_flips) m.broken_docs.push_back(docs[i]);
      } else if (xs[i] == 0 && ys[i] == 1) {
        ++m.fixed;
        if (m.fixed_docs.size() < options.max_listed_flips) m.fixed_docs.push_back(docs[i]);
      }
    }
    m.p_value = McNemarExactP(m.broken, m.fixed);
    m.test = StrCat("McNemar exact (b=", m.broken, ", c=", m.fixed, ")");
  } else {
    m.p_value = m.bootstrap.p_value;
    m.test = StrCat("paired bootstrap (", options.bootstrap_iterations, " resamples)");
  }
  return m;
}

std::vector<MetricComparison> CompareScores(const std::vector<SampleScores>& base_scores,
                                            const std::vector<SampleScores>& cand_scores,
                                            const CompareOptions& options, CompareResult* result) {
  const auto base = IndexOk(base_scores, &result->base.errors);
  const auto cand = IndexOk(cand_scores, &result->candidate.errors);
  std::set<std::pair<std::string, std::string>> keys;  // (task, metric)
  for (const auto* index : {&base, &cand}) {
    for (const auto& [key, s] : *index) {
      for (const auto& [metric, v] : s->metrics) keys.insert({key.first, metric});
    }
  }
  std::vector<MetricComparison> out;
  for (const auto& [task, metric] : keys) out.push_back(CompareMetric(task, metric, base, cand, options));
  return out;
}

// Per-sample speed figures over the shared, error-free samples: medians and Mann-Whitney U.
void CompareSampleSpeed(const std::vector<SampleScores>& base_scores,
                        const std::vector<SampleScores>& cand_scores, CompareResult* result) {
  int64_t ignored = 0;
  const auto base = IndexOk(base_scores, &ignored);
  const auto cand = IndexOk(cand_scores, &ignored);
  struct Figure {
    const char* name;
    std::optional<double> SampleScores::*field;
    bool higher_is_better;
  };
  for (const Figure& f : {Figure{"decode_tok_s", &SampleScores::decode_tok_s, true},
                          Figure{"prefill_tok_s", &SampleScores::prefill_tok_s, true},
                          Figure{"ttft_ms", &SampleScores::ttft_ms, false}}) {
    std::vector<double> xs, ys;
    for (const auto& [key, b] : base) {
      auto it = cand.find(key);
      if (it == cand.end() || !(b->*f.field) || !(it->second->*f.field)) continue;
      xs.push_back(*(b->*f.field));
      ys.push_back(*(it->second->*f.field));
    }
    if (xs.empty()) continue;
    SpeedComparison s;
    s.figure = f.name;
    s.source = "samples";
    s.higher_is_better = f.higher_is_better;
    s.base = Median(xs);
    s.candidate = Median(ys);
    s.ratio = s.base != 0 ? s.candidate / s.base : 0;
    s.base_n = s.candidate_n = static_cast<int64_t>(xs.size());
    const MannWhitneyResult mw = MannWhitneyU(xs, ys);
    s.p_value = mw.p_value;
    s.test = StrCat("Mann-Whitney U=", mw.u, mw.exact ? " (exact)" : " (normal approx.)");
    result->speed.push_back(s);
  }
}

// A speed-table comparison's test: Welch's t from the rows' mean/std/n, where both have them.
void SetWelch(const std::optional<WelchResult>& w, SpeedComparison* s) {
  if (!w) {
    s->test = "none (needs std and n >= 2 on both sides)";
    return;
  }
  s->p_value = w->p_value;
  s->test = StrCat("Welch t=", std::round(w->t * 100) / 100, ", df=", std::round(w->df * 10) / 10,
                   " (from mean/std/n)");
}

// The share of the host's read bandwidth two matched bench decode rows reached, in percent: each
// row's speed graded against the bandwidth measured as it ran. `sigma-eval bench` keeps in
// config_json the median share over the repetitions (read_share) and their mean and sample std
// (read_share_mean, read_share_std; older rows have the median alone, and no test). Null where
// either row has no share.
std::optional<SpeedComparison> CompareReadShare(const SpeedRecord& b, const SpeedRowConfig& bc,
                                                const SpeedRecord& c, const SpeedRowConfig& cc,
                                                const SpeedComparison& tok_s) {
  if (!bc.read_share || !cc.read_share) return std::nullopt;
  SpeedComparison s = tok_s;
  s.figure = "decode_read_pct";
  const bool means = bc.read_share_mean && cc.read_share_mean && bc.read_share_std &&
                     cc.read_share_std;
  s.base = 100.0 * (means ? *bc.read_share_mean : *bc.read_share);
  s.candidate = 100.0 * (means ? *cc.read_share_mean : *cc.read_share);
  s.ratio = s.base != 0 ? s.candidate / s.base : 0;
  s.p_value.reset();
  s.test = "none (a row keeps only the median share)";
  if (means) {
    SetWelch(WelchTTest(*bc.read_share_mean, *bc.read_share_std, b.repetitions,
                        *cc.read_share_mean, *cc.read_share_std, c.repetitions),
             &s);
  }
  return s;
}

// speed-table rows matched on (phase, model, context, batch, device): Welch's t from mean/std/n.
// Decode rows that recorded the host's read bandwidth also compare the share of it they reached,
// and a note says where the two sides ran at bandwidths more than 15% apart.
void CompareSpeedTable(const std::vector<SpeedRecord>& base_rows, const std::vector<SpeedRecord>& cand_rows,
                       CompareResult* result) {
  using Key = std::tuple<std::string, std::string, int64_t, int64_t, std::string>;
  constexpr double kBandwidthApart = 1.15;
  int64_t bandwidth_rows = 0;
  std::vector<std::string> apart;
  std::map<Key, std::pair<const SpeedRecord*, SpeedRowConfig>> base;
  for (const SpeedRecord& r : base_rows) {
    SpeedRowConfig config = ParseSpeedRowConfig(r.config_json);
    const Key key{r.phase, config.model, r.context_length, r.batch, r.device};
    base[key] = {&r, std::move(config)};
  }
  for (const SpeedRecord& c : cand_rows) {
    const SpeedRowConfig cc = ParseSpeedRowConfig(c.config_json);
    const Key key{c.phase, cc.model, c.context_length, c.batch, c.device};
    auto it = base.find(key);
    if (it == base.end()) continue;
    const SpeedRecord& b = *it->second.first;
    const SpeedRowConfig& bc = it->second.second;
    const bool ttft = c.phase == "ttft";
    SpeedComparison s;
    s.figure = ttft ? "ttft_ms" : c.phase + "_tok_s";
    s.source = "speed table";
    s.model = std::get<1>(key);
    s.settings = c.device;
    s.context = c.context_length;
    s.batch = c.batch;
    s.higher_is_better = !ttft;
    s.base = ttft ? b.ms_per_token.value_or(0) : b.tokens_per_s_mean;
    s.candidate = ttft ? c.ms_per_token.value_or(0) : c.tokens_per_s_mean;
    s.ratio = s.base != 0 ? s.candidate / s.base : 0;
    s.base_n = b.repetitions;
    s.candidate_n = c.repetitions;
    std::optional<WelchResult> w;
    if (!ttft && b.tokens_per_s_std && c.tokens_per_s_std) {
      w = WelchTTest(b.tokens_per_s_mean, *b.tokens_per_s_std, b.repetitions, c.tokens_per_s_mean,
                     *c.tokens_per_s_std, c.repetitions);
    }
    SetWelch(w, &s);
    result->speed.push_back(s);
    if (c.phase != "decode") continue;
    if (std::optional<SpeedComparison> share = CompareReadShare(b, bc, c, cc, s)) {
      result->speed.push_back(*share);
    }
    if (bc.read_gbps && cc.read_gbps && *bc.read_gbps > 0 && *cc.read_gbps > 0) {
      ++bandwidth_rows;
      const double lo = std::min(*bc.read_gbps, *cc.read_gbps);
      if (std::max(*bc.read_gbps, *cc.read_gbps) > kBandwidthApart * lo) {
        apart.push_back(StrCat(cc.model, " context ", c.context_length, ": ",
                               std::round(*bc.read_gbps * 10) / 10, " -> ",
                               std::round(*cc.read_gbps * 10) / 10, " GB/s"));
      }
    }
  }
  if (!apart.empty()) {
    std::string rows;
    for (const std::string& a : apart) rows += (rows.empty() ? "" : "; ") + a;
    result->notes.push_back(StrCat(
        "the host's read bandwidth differed by more than 15% in ", apart.size(), " of ",
        bandwidth_rows, " decode rows (", rows,
        "): their tok/s ratios measure the host as much as the build; decode_read_pct grades each "
        "row against the bandwidth it ran with"));
  }
}

bool Fires(const FailRule& rule, double base, double delta, std::optional<double> p,
           const CompareOptions& options, double* change) {
  if (rule.relative) {
    if (base == 0) return false;
    *change = 100.0 * delta / std::fabs(base);
  } else {
    *change = delta;
  }
  const bool crossed = rule.threshold < 0 ? *change < rule.threshold : *change > rule.threshold;
  if (!crossed) return false;
  return !options.require_significance || (p && *p < options.alpha);
}

void ApplyRules(const CompareOptions& options, CompareResult* r) {
  for (const FailRule& rule : options.fail_on) {
    bool matched = false;
    for (MetricComparison& m : r->metrics) {
      if (m.shared == 0 || m.metric != rule.name || (!rule.task.empty() && rule.task != m.task)) continue;
      matched = true;
      double change = 0;
      if (!Fires(rule, m.base_mean, m.delta, m.p_value, options, &change)) continue;
      m.regression = rule.text;
      r->regressions.push_back(StrCat(m.task, " ", m.metric, ": change ", std::round(change * 1e4) / 1e4,
                                      rule.relative ? "%" : "", " crosses ", rule.text, " (p=",
                                      std::round(m.p_value * 1e4) / 1e4, ")"));
    }
    for (SpeedComparison& s : r->speed) {
      if (s.figure != rule.name || !rule.task.empty()) continue;
      matched = true;
      double change = 0;
      if (!Fires(rule, s.base, s.candidate - s.base, s.p_value, options, &change)) continue;
      s.regression = rule.text;
      r->regressions.push_back(StrCat(s.figure, " (", s.source, s.context ? StrCat(", context ", s.context) : "",
                                      "): change ", std::round(change * 100) / 100, rule.relative ? "%" : "",
                                      " crosses ", rule.text));
    }
    if (!matched) r->notes.push_back("--fail-on rule '" + rule.text + "' matched no compared figure");
  }
}

Status LoadSide(ResultsReader& reader, const CompareRef& ref, CompareSide* side,
                std::vector<SampleScores>* scores, std::vector<SpeedRecord>* speed) {
  if (ref.bench) {
    SIGMA_ASSIGN_OR_RETURN(auto benches, reader.ReadBenchRuns({ref.id}));
    side->label = StrCat("bench ", ref.id);
    side->model = benches[0].model;
    side->build = benches[0].engine_build;
    side->host = benches[0].host;
    side->config_json = benches[0].config_json;
    SIGMA_ASSIGN_OR_RETURN(*speed, reader.ReadSpeed({}, {ref.id}));
    return Status::Ok();
  }
  SIGMA_ASSIGN_OR_RETURN(auto runs, reader.ReadRuns({ref.id}));
  side->label = StrCat("run ", ref.id);
  side->model = runs[0].model;
  side->build = runs[0].engine_build;
  side->host = runs[0].host;
  side->config_json = runs[0].config_json;
  SIGMA_ASSIGN_OR_RETURN(*scores, reader.ReadSampleScores(ref.id));
  SIGMA_ASSIGN_OR_RETURN(*speed, reader.ReadSpeed({ref.id}, {}));
  return Status::Ok();
}

constexpr size_t kMaxConfigDifferences = 20;

// A task's (version, hash) by name, from a run configuration's "tasks" array.
std::map<std::string, std::pair<std::string, std::string>> TaskHashes(
    const rapidjson::Value& config) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  if (!config.IsObject() || !config.HasMember("tasks") || !config["tasks"].IsArray()) return out;
  for (const rapidjson::Value& task : config["tasks"].GetArray()) {
    if (!task.IsObject() || !task.HasMember("name") || !task["name"].IsString()) continue;
    const auto text = [&](const char* key) {
      return task.HasMember(key) && task[key].IsString() ? std::string(task[key].GetString())
                                                         : std::string();
    };
    out[text("name")] = {text("version"), text("hash")};
  }
  return out;
}

// Fills r->config_differences from the sides' configurations, and notes each task whose
// configuration hash differs. The build and the model path are left out: the side lines show them.
void CompareConfigs(CompareResult* r) {
  auto base = ParseJson(r->base.config_json, "the base configuration");
  auto cand = ParseJson(r->candidate.config_json, "the candidate configuration");
  if (!base.ok() || !cand.ok()) {
    r->notes.push_back(StrCat("the configurations could not be compared: ",
                              (base.ok() ? cand.status() : base.status()).message()));
    return;
  }
  for (rapidjson::Document* doc : {base->get(), cand->get()}) {
    if (!doc->IsObject()) continue;
    doc->RemoveMember("engine_build");
    if (doc->HasMember("backend") && (*doc)["backend"].IsObject()) {
      (*doc)["backend"].RemoveMember("model");
    }
  }
  r->config_differences = ListJsonDifferences(**base, **cand);
  if (r->config_differences.size() > kMaxConfigDifferences) {
    r->more_config_differences = r->config_differences.size() - kMaxConfigDifferences;
    r->config_differences.resize(kMaxConfigDifferences);
  }
  const auto base_tasks = TaskHashes(**base);
  for (const auto& [name, version_hash] : TaskHashes(**cand)) {
    const auto it = base_tasks.find(name);
    if (it == base_tasks.end() || it->second.second == version_hash.second) continue;
    r->notes.push_back(StrCat("task ", name, " is configured differently in the two runs (version ",
                              it->second.first, " against ", version_hash.first,
                              "): its pairs may compare different prompts or scoring"));
  }
}

}  // namespace

StatusOr<CompareRef> ParseCompareRef(const std::string& text, const std::string& what) {
  CompareRef ref;
  std::string digits = text;
  if (text.rfind("bench:", 0) == 0) {
    ref.bench = true;
    digits = text.substr(6);
  }
  char* end = nullptr;
  const long long v = std::strtoll(digits.c_str(), &end, 10);
  if (digits.empty() || *end != '\0' || v <= 0) {
    return InvalidArgumentError(what, ": expected a run id (e.g. 12) or bench:ID, got '", text, "'");
  }
  ref.id = v;
  return ref;
}

StatusOr<std::vector<FailRule>> ParseFailOn(const std::string& spec) {
  std::vector<FailRule> rules;
  std::string pending;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string::npos) comma = spec.size();
    std::string item = pending + spec.substr(start, comma - start);
    start = comma + 1;
    const size_t colon = item.rfind(':');
    if (colon == std::string::npos) {  // a comma inside a metric name: keep collecting
      pending = item.empty() ? "" : item + ",";
      if (start > spec.size() && !item.empty()) {
        return InvalidArgumentError("--fail-on: '", item, "' has no ':THRESHOLD'");
      }
      continue;
    }
    pending.clear();
    FailRule rule;
    rule.text = item;
    std::string name = item.substr(0, colon), value = item.substr(colon + 1);
    if (!value.empty() && value.back() == '%') {
      rule.relative = true;
      value.pop_back();
    }
    char* end = nullptr;
    rule.threshold = std::strtod(value.c_str(), &end);
    if (name.empty() || value.empty() || *end != '\0' || rule.threshold == 0 || !std::isfinite(rule.threshold)) {
      return InvalidArgumentError("--fail-on: '", item,
                                  "': expected NAME:THRESHOLD with a signed non-zero number, e.g. acc:-0.02 "
                                  "or decode_tok_s:-5%");
    }
    const size_t slash = name.find('/');
    if (slash != std::string::npos) {
      rule.task = name.substr(0, slash);
      name = name.substr(slash + 1);
    }
    rule.name = name;
    rules.push_back(rule);
  }
  return rules;
}

StatusOr<CompareResult> CompareRuns(ResultsReader& reader, const CompareRef& base,
                                    const CompareRef& candidate, const CompareOptions& options) {
  if (base.bench != candidate.bench) {
    return InvalidArgumentError("compare: BASE and CANDIDATE must both be runs or both bench:ID");
  }
  CompareResult r;
  r.options = options;
  std::vector<SampleScores> base_scores, cand_scores;
  std::vector<SpeedRecord> base_speed, cand_speed;
  SIGMA_RETURN_IF_ERROR(LoadSide(reader, base, &r.base, &base_scores, &base_speed));
  SIGMA_RETURN_IF_ERROR(LoadSide(reader, candidate, &r.candidate, &cand_scores, &cand_speed));
  CompareConfigs(&r);
  r.metrics = CompareScores(base_scores, cand_scores, options, &r);
  CompareSampleSpeed(base_scores, cand_scores, &r);
  CompareSpeedTable(base_speed, cand_speed, &r);
  if (!base.bench && r.metrics.empty()) r.notes.push_back("the runs share no scored samples");
  if (!base.bench && !r.metrics.empty()) {
    SIGMA_ASSIGN_OR_RETURN(const std::vector<TaskResultRecord> base_results,
                           reader.ReadTaskResults(base.id));
    const std::set<std::string> percent = TasksScoredInPercent(base_results, base_scores);
    if (!percent.empty()) {
      std::string names;
      for (const std::string& task : percent) names += StrCat(names.empty() ? "" : ", ", task);
      r.notes.push_back(
          StrCat("scores here are per-sample means on a 0-1 scale, that of the "
                 "--fail-on thresholds; show and the reports give ",
                 names, " on the 0-100 scale of the paper (x100)"));
    }
  }
  if (r.base.errors + r.candidate.errors > 0) {
    r.notes.push_back(StrCat("samples with an error are excluded from the pairs: ", r.base.errors,
                             " in the base, ", r.candidate.errors, " in the candidate"));
  }
  if (!r.speed.empty() && r.base.host != r.candidate.host) {
    r.notes.push_back(StrCat("the sides ran on different hosts (", r.base.host, ", ",
                             r.candidate.host, "): speed ratios compare the machines too"));
  }
  ApplyRules(options, &r);
  return r;
}

}  // namespace sigma::reports
