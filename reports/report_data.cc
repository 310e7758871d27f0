// BuildReportData: everything the renderers show, read once from the database.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "reports/report.h"
#include "reports/stats.h"

namespace sigma::reports {
namespace {

bool IsBinary(double v) { return v == 0.0 || v == 1.0; }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int64_t ContextBin(int64_t tokens) {
  int64_t bin = 1;
  while (bin < tokens) bin *= 2;
  return bin;
}

using SeriesKey = std::tuple<int, std::string, std::string, std::string, int64_t, std::string>;

// Speed rows grouped into curves keyed (source order, source, model, phase, batch, settings).
void AddSpeedRows(const std::vector<SpeedRecord>& rows, const std::map<int64_t, std::string>& run_models,
                  const std::map<int64_t, std::string>& bench_models,
                  std::map<SeriesKey, SpeedSeries>* out) {
  for (const SpeedRecord& r : rows) {
    const SpeedRowConfig cfg = ParseSpeedRowConfig(r.config_json);
    SpeedSeries s;
    const bool bench = r.bench_id.has_value();
    s.source = bench ? StrCat("bench ", *r.bench_id) : StrCat("run ", r.run_id.value_or(0));
    s.model = !cfg.model.empty() ? cfg.model
              : bench ? (bench_models.count(*r.bench_id) ? bench_models.at(*r.bench_id) : "")
                      : (run_models.count(*r.run_id) ? run_models.at(*r.run_id) : "");
    s.phase = r.phase;
    s.batch = r.batch;
    std::vector<std::string> parts;
    if (!cfg.kv_dtype.empty()) parts.push_back("kv " + cfg.kv_dtype);
    if (cfg.selective_v > 0) parts.push_back(StrCat("top-k ", cfg.selective_v));
    if (!r.device.empty()) parts.push_back(r.device);
    for (size_t i = 0; i < parts.size(); ++i) s.settings += (i ? ", " : "") + parts[i];
    const bool ttft = r.phase == "ttft";
    s.unit = ttft ? "ms" : "tok/s";
    const SeriesKey key{bench ? 0 : 1, s.source, s.model, s.phase, s.batch, s.settings};
    auto [it, inserted] = out->emplace(key, s);
    SpeedPoint p;
    p.context = r.context_length;
    p.value = ttft ? r.ms_per_token.value_or(0) : r.tokens_per_s_mean;
    if (!ttft) p.std_dev = r.tokens_per_s_std;
    p.repetitions = r.repetitions;
    if (cfg.read_gbps && cfg.read_share) {
      p.read_gbps = cfg.read_gbps;
      p.read_share = cfg.read_share;
    }
    it->second.points.push_back(p);
  }
}

// Per-sample timings of a run, binned by prompt length (next power of two), medians per bin.
void AddSampleSeries(const RunRecord& run, const std::vector<SampleScores>& scores,
                     std::map<SeriesKey, SpeedSeries>* out) {
  struct Phase {
    const char* name;
    const char* unit;
    std::optional<double> SampleScores::*field;
  };
  const Phase phases[] = {{"decode", "tok/s", &SampleScores::decode_tok_s},
                          {"prefill", "tok/s", &SampleScores::prefill_tok_s},
                          {"ttft", "ms", &SampleScores::ttft_ms}};
  for (const Phase& ph : phases) {
    std::map<int64_t, std::vector<double>> bins;
    for (const SampleScores& s : scores) {
      if (s.has_error || !s.prompt_tokens || !(s.*ph.field)) continue;
      bins[ContextBin(*s.prompt_tokens)].push_back(*(s.*ph.field));
    }
    if (bins.empty()) continue;
    SpeedSeries series;
    series.source = StrCat("run ", run.id, " samples");
    series.model = run.model;
    series.phase = ph.name;
    series.unit = ph.unit;
    series.settings = "median per prompt-length bin";
    for (const auto& [bin, xs] : bins) {
      SpeedPoint p;
      p.context = bin;
      p.value = Median(xs);
      p.repetitions = static_cast<int64_t>(xs.size());
      series.points.push_back(p);
    }
    out->emplace(SeriesKey{2, series.source, series.model, series.phase, 1, series.settings},
                 std::move(series));
  }
}

std::vector<SpeedRatio> FindRatios(const std::vector<SpeedSeries>& series) {
  std::vector<SpeedRatio> ratios;
  for (const SpeedSeries& s : series) {
    if ((s.phase != "decode" && s.phase != "prefill") || Lower(s.model).find("sigma") == std::string::npos) continue;
    for (const SpeedSeries& g : series) {
      if (g.source != s.source || g.phase != s.phase || g.batch != s.batch || g.settings != s.settings ||
          Lower(g.model).find("gqa") == std::string::npos) continue;
      SpeedRatio r{s.source, s.model, g.model, s.phase, s.settings, s.batch, {}};
      for (const SpeedPoint& a : s.points) {
        for (const SpeedPoint& b : g.points) {
          if (a.context == b.context && b.value > 0) {
            r.points.push_back({a.context, a.value, b.value, a.value / b.value});
          }
        }
      }
      if (!r.points.empty()) ratios.push_back(std::move(r));
    }
  }
  return ratios;
}

std::optional<double> MedianOf(const std::vector<SampleScores>& scores,
                               std::optional<double> SampleScores::*field) {
  std::vector<double> xs;
  for (const SampleScores& s : scores) {
    if (!s.has_error && s.*field) xs.push_back(*(s.*field));
  }
  if (xs.empty()) return std::nullopt;
  return Median(xs);
}

// Fills counts, medians and the per-task correctness metric of one run.
void SummariseSamples(const std::vector<SampleScores>& scores, RunSummary* summary,
                      std::map<std::string, std::string>* correctness_metric) {
  std::map<std::string, std::vector<SampleScores>> by_task;
  for (const SampleScores& s : scores) by_task[s.task].push_back(s);
  for (const auto& [task, samples] : by_task) {
    const std::string metric = TaskCorrectnessMetric(samples);
    (*correctness_metric)[task] = metric;
    SampleVerdictCounts& c = summary->counts[task];
    for (const SampleScores& s : samples) {
      ++c.samples;
      if (s.verdict) ++c.verdicts[*s.verdict];
      if (s.cut_off) ++c.cut_off;
      auto it = metric.empty() ? s.metrics.end() : s.metrics.find(metric);
      if (s.has_error) ++c.errors;
      else if (it == s.metrics.end() || !IsBinary(it->second)) ++c.ungraded;
      else if (it->second == 1.0) ++c.correct;
      else ++c.incorrect;
    }
  }
  summary->median_decode_tok_s = MedianOf(scores, &SampleScores::decode_tok_s);
  summary->median_prefill_tok_s = MedianOf(scores, &SampleScores::prefill_tok_s);
  summary->median_ttft_ms = MedianOf(scores, &SampleScores::ttft_ms);
  summary->percent_tasks = TasksScoredInPercent(summary->results, scores);
  std::map<std::string, std::vector<std::string>> names;
  for (const TaskResultRecord& r : summary->results) names[r.task].push_back(r.metric);
  std::vector<double> primaries;
  for (const auto& [task, metric_names] : names) {
    const std::string primary = PrimaryMetricName(metric_names);
    const double scale = summary->percent_tasks.count(task) ? 0.01 : 1.0;
    for (const TaskResultRecord& r : summary->results) {
      if (r.task == task && r.metric == primary && r.value) primaries.push_back(*r.value * scale);
    }
  }
  if (!primaries.empty()) summary->mean_primary_score = Mean(primaries);
}

Status AddSamples(ResultsReader& reader, const ReportOptions& options, const RunSummary& summary,
                  const std::map<std::string, std::string>& correctness_metric,
                  const std::vector<const RunRecord*>& replays, ReportData* data) {
  for (const auto& [task, counts] : summary.counts) {
    data->samples_total += counts.samples;
    if (options.max_samples >= 0 && counts.samples > options.max_samples) data->samples_capped = true;
    SIGMA_ASSIGN_OR_RETURN(std::vector<SampleRecord> page,
                           reader.ReadSamples(summary.run.id, task, 0, options.max_samples));
    const std::string metric = correctness_metric.count(task) ? correctness_metric.at(task) : "";
    for (SampleRecord& s : page) {
      ShownSample shown;
      shown.model = summary.run.model;
      shown.primary_metric = metric;
      if (!s.error) {
        SIGMA_ASSIGN_OR_RETURN(auto metrics, ParseSampleMetrics(s.metrics_json, &shown.cut_off));
        auto it = metrics.find(metric);
        if (it != metrics.end() && IsBinary(it->second)) shown.correct = it->second == 1.0;
      }
      if (!summary.run.IsReplay()) {
        for (const RunRecord* replay : replays) {
          SIGMA_ASSIGN_OR_RETURN(auto ref, reader.ReadSample(replay->id, task, s.doc_id));
          if (ref) {
            shown.reference = std::move(ref);
            shown.reference_run = replay->id;
            break;
          }
        }
      }
      shown.sample = std::move(s);
      data->samples.push_back(std::move(shown));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string SpeedPoint::ReadShareText() const {
  if (!read_share || !read_gbps) return "";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f%% of %.1f GB/s read", 100.0 * *read_share, *read_gbps);
  return buf;
}

std::string SpeedSeries::Label() const {
  std::string label = model + " · " + source;
  if (batch != 1) label += StrCat(" · batch ", batch);
  if (!settings.empty()) label += " · " + settings;
  return label;
}

std::set<std::string> TasksScoredInPercent(const std::vector<TaskResultRecord>& results,
                                           const std::vector<SampleScores>& scores) {
  std::map<std::pair<std::string, std::string>, std::pair<double, int64_t>> sums;
  for (const SampleScores& s : scores) {
    if (s.has_error) continue;
    for (const auto& [metric, value] : s.metrics) {
      auto& [sum, n] = sums[{s.task, metric}];
      sum += value;
      ++n;
    }
  }
  std::map<std::string, bool> percent;  // task -> every checked aggregate is x100
  for (const TaskResultRecord& t : results) {
    const auto it = sums.find({t.task, t.metric});
    if (!t.value || it == sums.end() || it->second.second != t.n || t.n == 0) continue;
    const double mean = it->second.first / static_cast<double>(it->second.second);
    if (mean == 0 && *t.value == 0) continue;  // either scale
    const double tolerance = 1e-9 * std::max(1.0, std::fabs(*t.value));
    const bool x100 = std::fabs(*t.value - 100 * mean) <= tolerance;
    const auto [at, added] = percent.emplace(t.task, x100);
    if (!added) at->second = at->second && x100;
  }
  std::set<std::string> tasks;
  for (const auto& [task, x100] : percent) {
    if (x100) tasks.insert(task);
  }
  return tasks;
}

std::string PrimaryMetricName(const std::vector<std::string>& names) {
  for (const char* preferred : {"acc", "exact_match", "pass@1", "acc_norm"}) {
    const std::string p = preferred;
    std::string first;
    for (const std::string& n : names) {
      if (n == p) return n;
      if (n.rfind(p + ",", 0) != 0) continue;
      if (n.find("strict", p.size()) != std::string::npos) return n;  // the strict filter first
      if (first.empty()) first = n;
    }
    if (!first.empty()) return first;
  }
  return "";
}

std::string TaskCorrectnessMetric(const std::vector<SampleScores>& task_samples) {
  std::set<std::string> names;
  for (const SampleScores& s : task_samples) {
    for (const auto& [k, v] : s.metrics) names.insert(k);
  }
  std::vector<std::string> ordered(names.begin(), names.end());
  std::string preferred = PrimaryMetricName(ordered);
  if (!preferred.empty()) ordered.insert(ordered.begin(), preferred);
  for (const std::string& name : ordered) {
    bool binary = true;
    for (const SampleScores& s : task_samples) {
      auto it = s.metrics.find(name);
      if (it != s.metrics.end() && !IsBinary(it->second)) binary = false;
    }
    if (binary) return name;
  }
  return "";
}

StatusOr<ReportFormat> ParseReportFormat(const std::string& name) {
  if (name == "html") return ReportFormat::kHtml;
  if (name == "md" || name == "markdown") return ReportFormat::kMarkdown;
  if (name == "json") return ReportFormat::kJson;
  return InvalidArgumentError("--format: expected html, md or json, got '", name, "'");
}

StatusOr<ReportData> BuildReportData(ResultsReader& reader, const ReportOptions& options) {
  ReportData data;
  data.db_path = reader.path();
  data.schema_version = reader.schema_version();
  data.options = options;
  SIGMA_ASSIGN_OR_RETURN(std::vector<RunRecord> runs, reader.ReadRuns(options.run_ids));
  std::vector<const RunRecord*> replays;
  for (const RunRecord& r : runs) {
    if (r.IsReplay()) replays.push_back(&r);
  }
  std::set<std::string> tasks;
  std::map<SeriesKey, SpeedSeries> series;
  std::map<int64_t, std::string> run_models, bench_models;
  std::vector<int64_t> run_ids;
  for (const RunRecord& run : runs) {
    RunSummary summary;
    summary.run = run;
    SIGMA_ASSIGN_OR_RETURN(summary.results, reader.ReadTaskResults(run.id));
    SIGMA_ASSIGN_OR_RETURN(summary.progress, reader.ReadTaskProgress(run.id));
    SIGMA_ASSIGN_OR_RETURN(std::vector<SampleScores> scores, reader.ReadSampleScores(run.id));
    std::map<std::string, std::string> correctness_metric;
    SummariseSamples(scores, &summary, &correctness_metric);
    for (const TaskResultRecord& r : summary.results) tasks.insert(r.task);
    for (const auto& [task, c] : summary.counts) tasks.insert(task);
    AddSampleSeries(run, scores, &series);
    SIGMA_RETURN_IF_ERROR(AddSamples(reader, options, summary, correctness_metric, replays, &data));
    run_models[run.id] = run.model;
    run_ids.push_back(run.id);
    data.runs.push_back(std::move(summary));
  }
  std::vector<int64_t> bench_filter = options.bench_ids.value_or(std::vector<int64_t>{});
  if (!options.bench_ids || !bench_filter.empty()) {
    SIGMA_ASSIGN_OR_RETURN(data.bench_runs, reader.ReadBenchRuns(bench_filter));
  }
  std::vector<int64_t> bench_ids;
  for (const BenchRunRecord& b : data.bench_runs) {
    bench_ids.push_back(b.id);
    bench_models[b.id] = b.model;
  }
  SIGMA_ASSIGN_OR_RETURN(std::vector<SpeedRecord> rows, reader.ReadSpeed(run_ids, bench_ids));
  AddSpeedRows(rows, run_models, bench_models, &series);
  for (auto& [key, s] : series) {
    std::stable_sort(s.points.begin(), s.points.end(),
                     [](const SpeedPoint& a, const SpeedPoint& b) { return a.context < b.context; });
    data.speed.push_back(std::move(s));
  }
  data.ratios = FindRatios(data.speed);
  data.tasks.assign(tasks.begin(), tasks.end());
  return data;
}

}  // namespace sigma::reports
