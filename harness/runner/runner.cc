#include "harness/runner/runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "harness/build_info.h"

namespace sigma::harness {
namespace {

using Clock = std::chrono::steady_clock;

// Sums the timings of a document's requests into the sample's timing columns.
store::SampleTimings SampleTimingsOf(const std::vector<BackendItem>& items, size_t begin, size_t end) {
  store::SampleTimings t;
  int64_t prompt = 0, computed = 0, fresh = 0, kv = 0;
  double prefill_ms = 0, decode_ms = 0, total = 0;
  int64_t decode_tokens = 0;
  for (size_t i = begin; i < end; ++i) {
    const RequestTiming& r = items[i].timing;
    prompt += r.prompt_tokens;
    computed += r.prompt_tokens - r.reused_tokens;
    fresh += r.new_tokens;
    prefill_ms += r.prefill_ms;
    if (r.new_tokens > 1 && r.decode_ms > 0) {
      decode_ms += r.decode_ms;
      decode_tokens += r.new_tokens - 1;
    }
    total += r.total_ms;
    kv = std::max(kv, r.kv_bytes);
  }
  if (begin == end) return t;
  t.prompt_tokens = prompt;
  t.reused_tokens = prompt - computed;
  t.new_tokens = fresh;
  t.total_ms = total;
  t.kv_bytes = kv;
  if (items[begin].timing.ttft_ms > 0) t.ttft_ms = items[begin].timing.ttft_ms;
  if (prefill_ms > 0) t.prefill_tok_s = computed * 1000.0 / prefill_ms;  // reused rows took none
  if (decode_ms > 0) t.decode_tok_s = decode_tokens * 1000.0 / decode_ms;
  return t;
}

// Adds a second turn's timings to the first's (token counts and times add; rates recombine).
void AddTimings(const store::SampleTimings& more, store::SampleTimings* t) {
  if (!more.prompt_tokens) return;
  const auto add = [](std::optional<int64_t>& a, const std::optional<int64_t>& b) {
    if (b) a = a.value_or(0) + *b;
  };
  add(t->prompt_tokens, more.prompt_tokens);
  add(t->reused_tokens, more.reused_tokens);
  add(t->new_tokens, more.new_tokens);
  if (more.total_ms) t->total_ms = t->total_ms.value_or(0) + *more.total_ms;
  if (more.kv_bytes) t->kv_bytes = std::max(t->kv_bytes.value_or(0), *more.kv_bytes);
}

void MeanStd(const std::vector<double>& xs, double* mean, double* std_dev) {
  double sum = 0;
  for (double x : xs) sum += x;
  *mean = sum / static_cast<double>(xs.size());
  double var = 0;
  for (double x : xs) var += (x - *mean) * (x - *mean);
  *std_dev = xs.size() > 1 ? std::sqrt(var / static_cast<double>(xs.size() - 1)) : 0;
}

}  // namespace

Runner::Runner(Backend& backend, std::vector<std::unique_ptr<tasks::EvalTask>> tasks,
               store::ResultsStore& store, RunOptions options)
    : backend_(backend), tasks_(std::move(tasks)), store_(store), options_(std::move(options)) {
  std::string task_list;
  for (const auto& task : tasks_) {
    task_list += StrCat(task_list.empty() ? "" : ",", "{\"name\":", JsonQuote(task->name()),
                        ",\"version\":", JsonQuote(task->version()), ",\"hash\":\"", task->hash(),
                        "\",\"settings\":", task->SettingsJson(), "}");
  }
  config_json_ =
      StrCat("{\"backend\":", backend_.FingerprintJson(), ",\"tasks\":[", task_list,
             "],\"limit\":", options_.limit, ",\"batch\":", options_.batch,
             ",\"engine_build\":", JsonQuote(EngineBuild()),
             ",\"cli\":", options_.extra_config.empty() ? "{}" : options_.extra_config, "}");
  fingerprint_ = Sha256Hex(config_json_);
}

size_t Runner::DocCount(const tasks::EvalTask& task) const {
  const size_t n = task.size();
  return options_.limit > 0 ? std::min(n, static_cast<size_t>(options_.limit)) : n;
}

StatusOr<RunSummary> Runner::Run(const RunProgress& progress, const std::atomic<bool>* interrupted) {
  if (options_.batch <= 0) return InvalidArgumentError("--batch: expected >= 1");
  const auto start = Clock::now();
  store::RunSpec spec{fingerprint_, config_json_, backend_.Describe(), EngineBuild(), HostName()};
  store::RunSession session;
  if (options_.resume_run > 0) {
    SIGMA_ASSIGN_OR_RETURN(session, store_.ResumeRun(options_.resume_run, spec));
  } else {
    SIGMA_ASSIGN_OR_RETURN(session, store_.CreateRun(spec));
  }
  const int64_t run_id = session.run.id;
  RunSummary summary;
  summary.run_id = run_id;
  summary.resumed = session.resumed;
  int64_t total = 0;
  for (const auto& task : tasks_) {
    const auto n = static_cast<int64_t>(DocCount(*task));
    total += n;
    SIGMA_RETURN_IF_ERROR(store_.SetTaskPlan(run_id, task->name(), task->version(), n));
  }
  auto done_total = static_cast<int64_t>(session.done.size());
  if (progress) progress(done_total, total, "");
  for (auto& task : tasks_) {
    Status s = RunTask(run_id, session.segment, *task, session.done, &done_total, total, progress,
                       interrupted, &summary);
    if (!s.ok()) {
      const store::RunState state = s.code() == StatusCode::kAborted ? store::RunState::kInterrupted
                                                                      : store::RunState::kFailed;
      (void)store_.FinishRun(run_id, state);
      return s.WithContext(StrCat("run ", run_id));
    }
  }
  summary.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  SIGMA_RETURN_IF_ERROR(Aggregate(run_id, &summary));
  SIGMA_RETURN_IF_ERROR(WriteSpeed(run_id, summary.elapsed_s));
  SIGMA_RETURN_IF_ERROR(store_.FinishRun(run_id, store::RunState::kComplete));
  return summary;
}

Status Runner::RunTask(int64_t run_id, int64_t segment, tasks::EvalTask& task,
                       const std::set<store::SampleKey>& done, int64_t* done_total, int64_t total,
                       const RunProgress& progress, const std::atomic<bool>* interrupted,
                       RunSummary* summary) {
  std::vector<size_t> pending;
  const size_t n = DocCount(task);
  for (size_t i = 0; i < n; ++i) {
    if (done.count({task.name(), task.DocId(i)}) == 0) pending.push_back(i);
  }
  for (size_t begin = 0; begin < pending.size(); begin += static_cast<size_t>(options_.batch)) {
    if (interrupted != nullptr && interrupted->load()) {
      return AbortedError("interrupted; continue with --resume ", run_id);
    }
    const size_t end = std::min(pending.size(), begin + static_cast<size_t>(options_.batch));
    const std::vector<size_t> batch(pending.begin() + static_cast<long>(begin),
                                    pending.begin() + static_cast<long>(end));
    SIGMA_RETURN_IF_ERROR(RunBatch(run_id, segment, task, batch, summary));
    *done_total += static_cast<int64_t>(batch.size());
    SIGMA_RETURN_IF_ERROR(store_.Heartbeat(run_id));
    if (progress) progress(*done_total, total, task.name());
  }
  return Status::Ok();
}

void ApplyMaxGenTokens(int64_t max_gen_tokens, std::vector<tasks::Request>& requests) {
  if (max_gen_tokens <= 0) return;
  for (tasks::Request& r : requests) {
    if (r.type == tasks::RequestType::kGenerateUntil) r.max_tokens = max_gen_tokens;
  }
}

// Requests of `docs` (one list for the backend; `ranges` gives each document's [first, last)).
// `first_round`: for follow-up turns, the requests each document already ran (their count offsets
// index_in_doc); null for the first round.
void Runner::CollectItems(const tasks::EvalTask& task, const std::vector<size_t>& docs,
                          const std::vector<std::vector<tasks::Request>>& requests,
                          const std::vector<std::vector<tasks::Request>>* first_round,
                          std::vector<BackendItem>* items,
                          std::vector<std::pair<size_t, size_t>>* ranges) const {
  ranges->assign(docs.size(), {0, 0});
  for (size_t d = 0; d < docs.size(); ++d) {
    (*ranges)[d].first = items->size();
    const size_t before = first_round == nullptr ? 0 : (*first_round)[d].size();
    for (const tasks::Request& r : requests[d]) {
      BackendItem item;
      item.task = task.name();
      item.doc_id = task.DocId(docs[d]);
      item.request = &r;
      item.index_in_doc = static_cast<int>(before + (items->size() - (*ranges)[d].first));
      items->push_back(std::move(item));
    }
    (*ranges)[d].second = items->size();
  }
}

Status Runner::RunBatch(int64_t run_id, int64_t segment, tasks::EvalTask& task,
                        const std::vector<size_t>& docs, RunSummary* summary) {
  std::vector<std::vector<tasks::Request>> requests(docs.size()), follow_ups(docs.size());
  std::vector<std::string> errors(docs.size());
  for (size_t d = 0; d < docs.size(); ++d) {
    StatusOr<std::vector<tasks::Request>> built = task.BuildRequests(docs[d]);
    if (built.ok()) {
      requests[d] = std::move(built).value();
      ApplyMaxGenTokens(options_.max_gen_tokens, requests[d]);
    } else {
      errors[d] = built.status().ToString();
    }
  }
  std::vector<BackendItem> items, second;
  std::vector<std::pair<size_t, size_t>> ranges, second_ranges;
  CollectItems(task, docs, requests, nullptr, &items, &ranges);
  SIGMA_RETURN_IF_ERROR(backend_.Run(items));
  // Per document: its responses so far; then the second turn where the task asks for one.
  std::vector<std::vector<tasks::Response>> responses(docs.size());
  for (size_t d = 0; d < docs.size(); ++d) {
    bool failed = false;
    for (size_t i = ranges[d].first; i < ranges[d].second; ++i) {
      responses[d].push_back(items[i].response);
      failed = failed || !items[i].response.error.empty();
    }
    if (!errors[d].empty() || failed) continue;
    StatusOr<std::vector<tasks::Request>> more = task.FollowUpRequests(docs[d], responses[d]);
    if (more.ok()) {
      follow_ups[d] = std::move(more).value();
      ApplyMaxGenTokens(options_.max_gen_tokens, follow_ups[d]);
    } else {
      errors[d] = more.status().ToString();
    }
  }
  CollectItems(task, docs, follow_ups, &requests, &second, &second_ranges);
  if (!second.empty()) SIGMA_RETURN_IF_ERROR(backend_.Run(second));
  for (size_t d = 0; d < docs.size(); ++d) {
    for (size_t i = second_ranges[d].first; i < second_ranges[d].second; ++i) {
      responses[d].push_back(second[i].response);
    }
    store::SampleRecord record;
    record.run_id = run_id;
    record.task = task.name();
    record.doc_id = task.DocId(docs[d]);
    record.doc_index = static_cast<int64_t>(docs[d]);
    record.segment = segment;
    StatusOr<std::string> prompt = task.Prompt(docs[d]);
    record.prompt = prompt.ok() ? *prompt : std::string();
    record.timings = SampleTimingsOf(items, ranges[d].first, ranges[d].second);
    AddTimings(SampleTimingsOf(second, second_ranges[d].first, second_ranges[d].second), &record.timings);
    if (!errors[d].empty()) {
      record.error = errors[d];
    } else {
      StatusOr<tasks::SampleScore> score = task.Score(docs[d], responses[d]);
      if (!score.ok()) {
        record.error = score.status().ToString();
      } else {
        std::vector<std::string> generated;  // every generation of the document, for export
        std::vector<std::string> stop_reasons;
        for (size_t r = 0; r < responses[d].size(); ++r) {
          const tasks::Request& request =
              r < requests[d].size() ? requests[d][r] : follow_ups[d][r - requests[d].size()];
          if (request.type != tasks::RequestType::kGenerateUntil) continue;
          generated.push_back(responses[d][r].text);
          stop_reasons.push_back(responses[d][r].stop_reason);
        }
        if (generated.size() > 1) score->responses = std::move(generated);
        // Kept where the backend said why each generation ended (replay does not know).
        if (std::none_of(stop_reasons.begin(), stop_reasons.end(),
                         [](const std::string& r) { return r.empty(); })) {
          score->stop_reasons = std::move(stop_reasons);
        }
        record.raw_output = score->raw_output;
        record.extracted = score->extracted;
        if (!score->target.empty()) record.target = score->target;
        record.metrics_json = tasks::SampleScoreToJson(*score);
        if (!score->verdict.empty()) record.verdict = score->verdict;
        if (!score->error.empty()) record.error = score->error;
      }
    }
    SIGMA_ASSIGN_OR_RETURN(bool inserted, store_.InsertSample(record));
    if (inserted) ++summary->new_samples;
  }
  return Status::Ok();
}

Status Runner::Aggregate(int64_t run_id, RunSummary* summary) {
  for (const auto& task : tasks_) {
    SIGMA_ASSIGN_OR_RETURN(std::vector<store::SampleRecord> records, store_.ReadSamples(run_id, task->name()));
    TaskSummary ts;
    ts.task = task->name();
    std::vector<tasks::SampleScore> scores;
    for (const store::SampleRecord& r : records) {
      ++ts.done;
      if (r.error) {
        if (ts.errors++ == 0) ts.first_error = StrCat("doc ", r.doc_id, ": ", *r.error);
        continue;
      }
      SIGMA_ASSIGN_OR_RETURN(tasks::SampleScore score,
                             tasks::SampleScoreFromJson(r.metrics_json, StrCat(task->name(), "/", r.doc_id)));
      if (std::any_of(score.stop_reasons.begin(), score.stop_reasons.end(), tasks::CutOff)) {
        ++ts.cut_off;
      }
      scores.push_back(std::move(score));
    }
    for (const tasks::Aggregate& a : task->AggregateScores(scores)) {
      store::TaskResultRow row;
      row.metric = a.metric;
      row.n = a.n;
      if (a.n > 0 && std::isfinite(a.value)) {
        row.value = a.value;
        row.stderr_value = a.stderr_value;
        row.ci_low = a.ci_low;
        row.ci_high = a.ci_high;
      }
      ts.results.push_back(row);
    }
    SIGMA_RETURN_IF_ERROR(store_.WriteTaskResults(run_id, task->name(), ts.results));
    summary->tasks.push_back(std::move(ts));
  }
  return Status::Ok();
}

Status Runner::WriteSpeed(int64_t run_id, double elapsed_s) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<store::SampleRecord> records, store_.ReadSamples(run_id, ""));
  std::vector<double> prefill, decode, ttft;
  double prompt_tokens = 0, new_tokens = 0;
  for (const store::SampleRecord& r : records) {
    const store::SampleTimings& t = r.timings;
    if (t.prefill_tok_s) prefill.push_back(*t.prefill_tok_s);
    if (t.decode_tok_s) decode.push_back(*t.decode_tok_s);
    if (t.ttft_ms) ttft.push_back(*t.ttft_ms);
    if (t.prompt_tokens) prompt_tokens += static_cast<double>(*t.prompt_tokens);
    if (t.new_tokens) new_tokens += static_cast<double>(*t.new_tokens);
  }
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  const double peak_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;
  const int64_t mean_context = records.empty() ? 0 : static_cast<int64_t>(prompt_tokens / records.size());
  auto insert = [&](const std::string& phase, const std::vector<double>& xs, bool per_second) -> Status {
    if (xs.empty()) return Status::Ok();
    store::SpeedRow row;
    row.run_id = run_id;
    row.phase = phase;
    row.context_length = mean_context;
    row.repetitions = static_cast<int64_t>(xs.size());
    double mean = 0, std_dev = 0;
    MeanStd(xs, &mean, &std_dev);
    row.tokens_per_s_mean = per_second ? mean : (mean > 0 ? 1000.0 / mean : 0);
    row.tokens_per_s_std = per_second ? std_dev : 0;
    row.ms_per_token = per_second ? (mean > 0 ? 1000.0 / mean : 0) : mean;
    row.device = options_.device;
    row.config_json = StrCat("{\"peak_rss_mb\":", peak_mb, ",\"source\":\"per-sample means\"",
                             per_second ? "" : ",\"note\":\"ms_per_token is the mean time to first token\"", "}");
    return store_.InsertSpeed(row).status();
  };
  SIGMA_RETURN_IF_ERROR(insert("prefill", prefill, true));
  SIGMA_RETURN_IF_ERROR(insert("decode", decode, true));
  SIGMA_RETURN_IF_ERROR(insert("ttft", ttft, false));
  if (elapsed_s > 0 && prompt_tokens + new_tokens > 0) {  // a replay backend counts no tokens
    store::SpeedRow row;
    row.run_id = run_id;
    row.phase = "end_to_end";
    row.context_length = mean_context;
    row.repetitions = 1;
    row.tokens_per_s_mean = (prompt_tokens + new_tokens) / elapsed_s;
    row.device = options_.device;
    row.config_json = StrCat("{\"peak_rss_mb\":", peak_mb, ",\"elapsed_s\":", elapsed_s,
                             ",\"samples\":", records.size(), ",\"tokens\":", prompt_tokens + new_tokens, "}");
    SIGMA_RETURN_IF_ERROR(store_.InsertSpeed(row).status());
  }
  return Status::Ok();
}

}  // namespace sigma::harness
