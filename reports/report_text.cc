// RenderMarkdown, RenderJson and WriteReport.
#include <cmath>
#include <cstdio>
#include <set>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "reports/escape.h"
#include "reports/number_format.h"
#include "reports/report.h"

namespace sigma::reports {
namespace {

std::string JInt(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "null"; }
std::string JStr(const std::optional<std::string>& v) { return v ? JsonQuote(*v) : "null"; }

// A stored metrics_json as a JSON object (re-serialised), or as a string when it does not parse.
std::string JObject(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return JsonQuote(json);
  return JsonToString(doc);
}

void MarkdownScores(const ReportData& d, std::string* md) {
  std::set<std::pair<std::string, std::string>> rows;
  for (const RunSummary& r : d.runs) {
    for (const TaskResultRecord& t : r.results) rows.insert({t.task, t.metric});
  }
  *md += "\n## Scores\n\nvalue ± stderr (n)\n\n| task | metric |";
  std::string rule = "|---|---|";
  for (const RunSummary& r : d.runs) {
    *md += StrCat(" run ", r.run.id, " ", MarkdownEscape(r.run.model), " |");
    rule += "---:|";
  }
  *md += "\n" + rule + "\n";
  for (const auto& [task, metric] : rows) {
    *md += "| " + MarkdownEscape(task) + " | " + MarkdownEscape(metric) + " |";
    for (const RunSummary& r : d.runs) {
      std::string cell;
      for (const TaskResultRecord& t : r.results) {
        if (t.task == task && t.metric == metric) {
          cell = FormatFixed(t.value) +
                 (t.stderr_value ? " ± " + FormatFixed(*t.stderr_value) : "") +
                 StrCat(" (", t.n, ")");
        }
      }
      *md += " " + cell + " |";
    }
    *md += "\n";
  }
}

void MarkdownSpeed(const ReportData& d, std::string* md) {
  if (d.speed.empty()) return;
  *md +=
      "\n## Speed\n\n| model | source | phase | batch | settings | context | value | unit | n |\n"
      "|---|---|---|---:|---|---:|---:|---|---:|\n";
  for (const SpeedSeries& s : d.speed) {
    for (const SpeedPoint& p : s.points) {
      *md += StrCat("| ", MarkdownEscape(s.model), " | ", MarkdownEscape(s.source), " | ",
                    MarkdownEscape(s.phase), " | ", s.batch, " | ", MarkdownEscape(s.settings),
                    " | ", p.context, " | ", FormatFixed(p.value, 2),
                    p.std_dev ? " ± " + FormatFixed(*p.std_dev, 2) : "",
                    p.read_share ? " (" + p.ReadShareText() + ")" : "", " | ", s.unit, " | ",
                    p.repetitions, " |\n");
    }
  }
  if (d.ratios.empty()) return;
  *md +=
      "\n### DiffQKV vs GQA (tokens/s ratio, > 1: DiffQKV faster)\n\n"
      "| source | phase | DiffQKV | GQA | batch | context | DiffQKV tok/s | GQA tok/s | ratio |\n"
      "|---|---|---|---|---:|---:|---:|---:|---:|\n";
  for (const SpeedRatio& r : d.ratios) {
    for (const SpeedRatio::Point& p : r.points) {
      *md += StrCat("| ", MarkdownEscape(r.source), " | ", MarkdownEscape(r.phase), " | ",
                    MarkdownEscape(r.sigma_model), " | ", MarkdownEscape(r.gqa_model), " | ",
                    r.batch, " | ", p.context, " | ", FormatFixed(p.sigma_value, 2), " | ",
                    FormatFixed(p.gqa_value, 2), " | ", FormatFixed(p.ratio, 3), "x |\n");
    }
  }
}

void MarkdownSamples(const ReportData& d, std::string* md) {
  *md +=
      "\n## Samples\n\n(cut off: a generation ended at the token limit or the context, not by "
      "the model)\n\n| run | task | samples | correct | incorrect | errors | ungraded | cut off "
      "| verdicts |\n"
      "|---:|---|---:|---:|---:|---:|---:|---:|---|\n";
  for (const RunSummary& r : d.runs) {
    for (const auto& [task, c] : r.counts) {
      std::string verdicts;
      for (const auto& [v, n] : c.verdicts)
        verdicts += StrCat(verdicts.empty() ? "" : ", ", MarkdownEscape(v), " ", n);
      *md += StrCat("| ", r.run.id, " | ", MarkdownEscape(task), " | ", c.samples, " | ", c.correct,
                    " | ", c.incorrect, " | ", c.errors, " | ", c.ungraded, " | ", c.cut_off, " | ",
                    verdicts, " |\n");
    }
  }
}

std::string JsonRun(const RunSummary& r) {
  std::string j =
      StrCat("{\"id\":", r.run.id, ",\"model\":", JsonQuote(r.run.model),
             ",\"settings\":", JsonQuote(RunSettings(r.run.config_json)),
             ",\"replay\":", r.run.IsReplay() ? "true" : "false",
             ",\"state\":", JsonQuote(r.run.state), ",\"started_at\":", JsonQuote(r.run.started_at),
             ",\"finished_at\":", JsonQuote(r.run.finished_at), ",\"segments\":", r.run.segments,
             ",\"engine_build\":", JsonQuote(r.run.engine_build),
             ",\"host\":", JsonQuote(r.run.host), ",\"fingerprint\":", JsonQuote(r.run.fingerprint),
             ",\"median_decode_tok_s\":", JsonNumber(r.median_decode_tok_s),
             ",\"median_prefill_tok_s\":", JsonNumber(r.median_prefill_tok_s),
             ",\"median_ttft_ms\":", JsonNumber(r.median_ttft_ms),
             ",\"mean_headline_score\":", JsonNumber(r.mean_primary_score), ",\"results\":[");
  for (size_t i = 0; i < r.results.size(); ++i) {
    const TaskResultRecord& t = r.results[i];
    j += StrCat(i ? "," : "", "{\"task\":", JsonQuote(t.task), ",\"metric\":", JsonQuote(t.metric),
                ",\"value\":", JsonNumber(t.value), ",\"stderr\":", JsonNumber(t.stderr_value),
                ",\"ci_low\":", JsonNumber(t.ci_low), ",\"ci_high\":", JsonNumber(t.ci_high),
                ",\"n\":", t.n, "}");
  }
  j += "],\"samples\":[";
  bool first = true;
  for (const auto& [task, c] : r.counts) {
    j +=
        StrCat(first ? "" : ",", "{\"task\":", JsonQuote(task), ",\"samples\":", c.samples,
               ",\"correct\":", c.correct, ",\"incorrect\":", c.incorrect, ",\"errors\":", c.errors,
               ",\"ungraded\":", c.ungraded, ",\"cut_off\":", c.cut_off, ",\"verdicts\":{");
    bool fv = true;
    for (const auto& [v, n] : c.verdicts) {
      j += StrCat(fv ? "" : ",", JsonQuote(v), ":", n);
      fv = false;
    }
    j += "}}";
    first = false;
  }
  return j + "]}";
}

std::string JsonSpeed(const ReportData& d) {
  std::string j = "[";
  for (size_t i = 0; i < d.speed.size(); ++i) {
    const SpeedSeries& s = d.speed[i];
    j +=
        StrCat(i ? "," : "", "{\"source\":", JsonQuote(s.source), ",\"model\":", JsonQuote(s.model),
               ",\"phase\":", JsonQuote(s.phase), ",\"unit\":", JsonQuote(s.unit),
               ",\"batch\":", s.batch, ",\"settings\":", JsonQuote(s.settings), ",\"points\":[");
    for (size_t k = 0; k < s.points.size(); ++k) {
      const SpeedPoint& p = s.points[k];
      j += StrCat(k ? "," : "", "{\"context\":", p.context, ",\"value\":", JsonNumber(p.value),
                  ",\"std\":", JsonNumber(p.std_dev), ",\"n\":", p.repetitions,
                  ",\"read_gbps\":", JsonNumber(p.read_gbps),
                  ",\"read_share\":", JsonNumber(p.read_share), "}");
    }
    j += "]}";
  }
  j += "],\"ratios\":[";
  for (size_t i = 0; i < d.ratios.size(); ++i) {
    const SpeedRatio& r = d.ratios[i];
    j += StrCat(i ? "," : "", "{\"source\":", JsonQuote(r.source),
                ",\"phase\":", JsonQuote(r.phase), ",\"sigma_model\":", JsonQuote(r.sigma_model),
                ",\"gqa_model\":", JsonQuote(r.gqa_model), ",\"batch\":", r.batch,
                ",\"settings\":", JsonQuote(r.settings), ",\"points\":[");
    for (size_t k = 0; k < r.points.size(); ++k) {
      const SpeedRatio::Point& p = r.points[k];
      j +=
          StrCat(k ? "," : "", "{\"context\":", p.context, ",\"sigma\":", JsonNumber(p.sigma_value),
                 ",\"gqa\":", JsonNumber(p.gqa_value), ",\"ratio\":", JsonNumber(p.ratio), "}");
    }
    j += "]}";
  }
  return j + "]";
}

std::string JsonSample(const ShownSample& s) {
  const SampleRecord& r = s.sample;
  std::string j = StrCat(
      "{\"run\":", r.run_id, ",\"task\":", JsonQuote(r.task), ",\"doc_id\":", JsonQuote(r.doc_id),
      ",\"doc_index\":", JInt(r.doc_index),
      ",\"correct\":", s.correct ? (*s.correct ? "true" : "false") : "null",
      ",\"by\":", JsonQuote(s.primary_metric), ",\"verdict\":", JStr(r.verdict),
      ",\"error\":", JStr(r.error), ",\"metrics\":", JObject(r.metrics_json),
      ",\"prompt\":", JsonQuote(r.prompt), ",\"output\":", JsonQuote(r.raw_output),
      ",\"extracted\":", JsonQuote(r.extracted), ",\"target\":", JStr(r.target),
      ",\"prompt_tokens\":", JInt(r.prompt_tokens), ",\"reused_tokens\":", JInt(r.reused_tokens),
      ",\"new_tokens\":", JInt(r.new_tokens), ",\"ttft_ms\":", JsonNumber(r.ttft_ms),
      ",\"prefill_tok_s\":", JsonNumber(r.prefill_tok_s),
      ",\"decode_tok_s\":", JsonNumber(r.decode_tok_s), ",\"total_ms\":", JsonNumber(r.total_ms));
  if (s.reference) {
    j += StrCat(",\"reference\":{\"run\":", s.reference_run,
                ",\"output\":", JsonQuote(s.reference->raw_output),
                ",\"extracted\":", JsonQuote(s.reference->extracted),
                ",\"metrics\":", JObject(s.reference->metrics_json), "}");
  }
  return j + "}";
}

}  // namespace

std::string RenderMarkdown(const ReportData& d) {
  std::string md =
      "# " + MarkdownEscape(d.options.title) + "\n\nDatabase `" + MarkdownEscape(d.db_path) +
      StrCat("` (schema v", d.schema_version, "): ", d.runs.size(), " runs, ", d.bench_runs.size(),
             " bench sessions.\n\n## Runs\n\n"
             "| run | model | settings | state | started | finished | build | host |\n"
             "|---:|---|---|---|---|---|---|---|\n");
  for (const RunSummary& r : d.runs) {
    md += StrCat("| ", r.run.id, " | ", MarkdownEscape(r.run.model), " | ",
                 MarkdownEscape(RunSettings(r.run.config_json)), " | ", MarkdownEscape(r.run.state),
                 " | ", MarkdownEscape(r.run.started_at), " | ", MarkdownEscape(r.run.finished_at),
                 " | ", MarkdownEscape(r.run.engine_build), " | ", MarkdownEscape(r.run.host),
                 " |\n");
  }
  MarkdownScores(d, &md);
  MarkdownSpeed(d, &md);
  MarkdownSamples(d, &md);
  return md;
}

std::string RenderJson(const ReportData& d) {
  std::string j =
      StrCat("{\"format\":\"sigma-eval-report\",\"version\":1,\"database\":", JsonQuote(d.db_path),
             ",\"schema_version\":", d.schema_version, ",\"tasks\":[");
  for (size_t i = 0; i < d.tasks.size(); ++i) AppendJsonItem(&j, i, JsonQuote(d.tasks[i]));
  j += "],\"runs\":[";
  for (size_t i = 0; i < d.runs.size(); ++i) AppendJsonItem(&j, i, JsonRun(d.runs[i]));
  j += "],\"bench_runs\":[";
  for (size_t i = 0; i < d.bench_runs.size(); ++i) {
    const BenchRunRecord& b = d.bench_runs[i];
    j +=
        StrCat(i ? "," : "", "{\"id\":", b.id, ",\"run_id\":", JInt(b.run_id),
               ",\"model\":", JsonQuote(b.model), ",\"device\":", JsonQuote(b.device),
               ",\"state\":", JsonQuote(b.state), ",\"started_at\":", JsonQuote(b.started_at), "}");
  }
  j += "],\"speed\":" + JsonSpeed(d);
  j += StrCat(",\"samples\":{\"total\":", d.samples_total, ",\"shown\":", d.samples.size(),
              ",\"max_per_run_task\":", d.options.max_samples,
              ",\"capped\":", d.samples_capped ? "true" : "false", ",\"items\":[");
  for (size_t i = 0; i < d.samples.size(); ++i) AppendJsonItem(&j, i, JsonSample(d.samples[i]));
  return j + "]}}\n";
}

Status WriteReport(const std::string& db_path, const std::string& out_path, ReportFormat format,
                   const ReportOptions& options) {
  SIGMA_ASSIGN_OR_RETURN(auto reader, ResultsReader::Open(db_path));
  SIGMA_ASSIGN_OR_RETURN(ReportData data, BuildReportData(*reader, options));
  const std::string text = format == ReportFormat::kHtml       ? RenderHtml(data)
                           : format == ReportFormat::kMarkdown ? RenderMarkdown(data)
                                                               : RenderJson(data);
  if (out_path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return Status::Ok();
  }
  return WriteFileAtomic(out_path, text);
}

}  // namespace sigma::reports
