// RenderHtml: the self-contained HTML report. Every database byte goes through HtmlEscape; the
// page carries a Content-Security-Policy that allows no network at all and only the one inline
// script whose SHA-256 it names, so even a missed escape could not load or run anything.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "engine/base/sha256.h"
#include "reports/chart_svg.h"
#include "reports/escape.h"
#include "reports/html_samples.h"
#include "reports/number_format.h"
#include "reports/report.h"
#include "reports/stats.h"

namespace sigma::reports {
namespace {

constexpr const char* kCss = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1400px;padding:0 20px 40px;color:#222}
h1{margin:18px 0 4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
.meta{color:#666}nav a{margin-right:14px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 7px;vertical-align:top;text-align:left}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{white-space:pre-wrap;word-break:break-word;margin:0;max-height:16em;overflow:auto;font:12px/1.35 ui-monospace,monospace}
svg.chart{max-width:100%;height:auto;background:#fff;border:1px solid #eee;margin:6px 0}
svg .grid{stroke:#eee}svg .axis{stroke:#888}svg text{font:11px sans-serif;fill:#333}svg .title{font-weight:bold;font-size:13px}
.ok{color:#17803d;font-weight:bold}.bad{color:#c62828;font-weight:bold}.err{color:#8a5a00;font-weight:bold}.na{color:#777}
.notice{background:#fff8e1;border:1px solid #f0d98c;padding:6px 10px}
.filters{position:sticky;top:0;background:#fafafa;border:1px solid #ddd;padding:6px;z-index:1}
.filters label{margin-right:10px}td.t{white-space:nowrap;font-size:12px}table.samples td{max-width:420px}table.samples td.o{min-width:16em}table.samples td.task{min-width:10em;max-width:14em;overflow-wrap:anywhere}div.kv{font-size:12px;white-space:nowrap}div.kv span{color:#555}small{color:#666}
)css";

constexpr const char* kScript = R"js(
(function(){
var rows=[].slice.call(document.querySelectorAll('table.samples tbody tr'));
var f={};['task','run','ok','verdict','q'].forEach(function(k){f[k]=document.getElementById('f-'+k);});
function apply(){
var t=f.task.value,r=f.run.value,o=f.ok.value,v=f.verdict.value,q=f.q.value.toLowerCase(),n=0;
rows.forEach(function(row){var d=row.dataset;
var show=(!t||d.task===t)&&(!r||d.run===r)&&(!o||d.ok===o)&&(!v||d.verdict===v)&&
(!q||row.textContent.toLowerCase().indexOf(q)>=0);row.hidden=!show;if(show)n++;});
document.getElementById('shown').textContent=String(n);
var h=[];for(var k in f){if(f[k].value)h.push(k+'='+encodeURIComponent(f[k].value));}
try{history.replaceState(null,'',h.length?'#'+h.join('&'):location.pathname+location.search);}catch(e){}
}
var linked=false;
location.hash.slice(1).split('&').forEach(function(kv){var i=kv.indexOf('=');if(i<1)return;
var k=kv.slice(0,i);if(!f[k])return;try{f[k].value=decodeURIComponent(kv.slice(i+1));linked=true;}catch(e){}});
for(var k in f){f[k].addEventListener('input',apply);f[k].addEventListener('change',apply);}
apply();
if(linked)document.getElementById('samples').scrollIntoView();
})();
)js";

std::string Base64FromHex(const std::string& hex) {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kChars[(v >> 18) & 63]);
    out.push_back(kChars[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kChars[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kChars[v & 63] : '=');
  }
  return out;
}

void AppendRuns(const ReportData& d, std::string* h) {
  *h +=
      "<section id=\"runs\"><h2>Runs</h2><table><thead><tr><th>run</th><th>model</th>"
      "<th>settings</th><th>state</th>"
      "<th>started</th><th>finished</th><th>segments</th><th>samples (errors)</th><th>build</th>"
      "<th>host</th><th>fingerprint</th></tr></thead><tbody>";
  for (const RunSummary& r : d.runs) {
    int64_t samples = 0, errors = 0;
    for (const auto& [task, c] : r.counts) {
      samples += c.samples;
      errors += c.errors;
    }
    *h += StrCat(
        "<tr><td class=\"num\">", r.run.id, "</td><td>", HtmlEscape(r.run.model),
        r.run.IsReplay() ? " <small>(recorded outputs)</small>" : "", "</td><td>",
        HtmlEscape(RunSettings(r.run.config_json)), "</td><td>", HtmlEscape(r.run.state),
        "</td><td>", HtmlEscape(r.run.started_at), "</td><td>", HtmlEscape(r.run.finished_at),
        "</td><td class=\"num\">", r.run.segments, "</td><td class=\"num\">", samples, " (", errors,
        ")</td><td>", HtmlEscape(r.run.engine_build), "</td><td>", HtmlEscape(r.run.host),
        "</td><td><code>", HtmlEscape(r.run.fingerprint.substr(0, 12)), "</code></td></tr>");
  }
  *h += "</tbody></table>";
  if (!d.bench_runs.empty()) {
    *h +=
        "<h3>Speed benchmark sessions</h3><table><thead><tr><th>bench</th><th>models</th>"
        "<th>state</th><th>started</th><th>device</th><th>build</th><th>host</th></tr></"
        "thead><tbody>";
    for (const BenchRunRecord& b : d.bench_runs) {
      *h += StrCat("<tr><td class=\"num\">", b.id, "</td><td>", HtmlEscape(b.model), "</td><td>",
                   HtmlEscape(b.state), "</td><td>", HtmlEscape(b.started_at), "</td><td>",
                   HtmlEscape(b.device), "</td><td>", HtmlEscape(b.engine_build), "</td><td>",
                   HtmlEscape(b.host), "</td></tr>");
    }
    *h += "</tbody></table>";
  }
  *h += "</section>";
}

const TaskResultRecord* FindResult(const RunSummary& r, const std::string& task,
                                   const std::string& metric) {
  for (const TaskResultRecord& t : r.results) {
    if (t.task == task && t.metric == metric) return &t;
  }
  return nullptr;
}

// 95 % interval of an aggregate: the stored bootstrap interval, else value ± 1.96 stderr.
void Interval(const TaskResultRecord& t, std::optional<double>* lo, std::optional<double>* hi) {
  if (t.ci_low && t.ci_high) {
    *lo = t.ci_low;
    *hi = t.ci_high;
  } else if (t.value && t.stderr_value) {
    *lo = *t.value - 1.96 * *t.stderr_value;
    *hi = *t.value + 1.96 * *t.stderr_value;
  }
}

// A run's series in the charts: "run 1 MODEL (kv bf16, batch 4, limit 10)", so that runs of one
// model are told apart.
std::string RunSeriesName(const RunRecord& run) {
  const std::string settings = RunSettings(run.config_json);
  return StrCat("run ", run.id, " ", run.model, settings.empty() ? "" : " (" + settings + ")");
}

void AppendScoresChart(const ReportData& d, std::string* h) {
  Chart chart;
  chart.title = "Headline metric per task (95% interval: stored bootstrap CI, else ±1.96 stderr)";
  chart.x_label = "task";
  // One scale for every task: 0-1 metrics as percentages, the tasks stored on the 0-100 scale
  // (AIMICIUS, TasksScoredInPercent) as they are.
  chart.y_label = "score, % (0-1 metrics x100)";
  chart.x_categories = d.tasks;
  for (const RunSummary& r : d.runs) {
    ChartSeries s;
    s.name = RunSeriesName(r.run);
    s.lines = false;
    for (size_t i = 0; i < d.tasks.size(); ++i) {
      std::vector<std::string> names;
      for (const TaskResultRecord& t : r.results) {
        if (t.task == d.tasks[i]) names.push_back(t.metric);
      }
      const std::string metric =
          PrimaryMetricName(names).empty() && !names.empty() ? names[0] : PrimaryMetricName(names);
      const TaskResultRecord* t = metric.empty() ? nullptr : FindResult(r, d.tasks[i], metric);
      if (!t || !t->value) continue;
      ChartPoint p{static_cast<double>(i), *t->value, std::nullopt, std::nullopt, ""};
      Interval(*t, &p.lo, &p.hi);
      p.tip = StrCat(d.tasks[i], " ", metric, " = ", FormatFixed(*t->value), " [",
                     FormatFixed(p.lo), ", ", FormatFixed(p.hi), "] n=", t->n);
      if (r.percent_tasks.count(d.tasks[i]) == 0) {
        p.y *= 100;
        if (p.lo) *p.lo *= 100;
        if (p.hi) *p.hi *= 100;
      }
      s.points.push_back(p);
    }
    chart.series.push_back(std::move(s));
  }
  *h += RenderSvgRowChart(chart);
}

void AppendScoresTable(const ReportData& d, std::string* h) {
  std::set<std::pair<std::string, std::string>> rows;
  for (const RunSummary& r : d.runs) {
    for (const TaskResultRecord& t : r.results) rows.insert({t.task, t.metric});
  }
  *h += "<table><thead><tr><th>task</th><th>metric</th>";
  for (const RunSummary& r : d.runs) {
    *h += StrCat("<th>run ", r.run.id, "<br><small>", HtmlEscape(r.run.model), "</small></th>");
  }
  *h += "<th>across runs<br><small>mean ± sd</small></th></tr></thead><tbody>";
  for (const auto& [task, metric] : rows) {
    *h += "<tr><td>" + HtmlEscape(task) + "</td><td>" + HtmlEscape(metric) + "</td>";
    std::vector<double> values;
    for (const RunSummary& r : d.runs) {
      const TaskResultRecord* t = FindResult(r, task, metric);
      if (!t) {
        *h += "<td></td>";
        continue;
      }
      if (t->value) values.push_back(*t->value);
      std::optional<double> lo, hi;
      Interval(*t, &lo, &hi);
      *h += StrCat("<td class=\"num\" title=\"95% [", FormatFixed(lo), ", ", FormatFixed(hi),
                   "]\">", FormatFixed(t->value),
                   t->stderr_value ? " ± " + FormatFixed(*t->stderr_value) : "", " <small>n=", t->n,
                   "</small></td>");
    }
    *h += values.size() >= 2 ? "<td class=\"num\">" + FormatFixed(Mean(values)) + " ± " +
                                   FormatFixed(SampleStd(values)) + "</td>"
                             : "<td></td>";
    *h += "</tr>";
  }
  *h += "</tbody></table>";
}

void AppendSpeed(const ReportData& d, std::string* h) {
  *h += "<section id=\"speed\"><h2>Speed against context length</h2>";
  if (d.speed.empty()) *h += "<p>No speed rows or per-sample timings in the selected runs.</p>";
  std::vector<std::string> phases;
  for (const SpeedSeries& s : d.speed) {
    if (std::find(phases.begin(), phases.end(), s.phase) == phases.end()) phases.push_back(s.phase);
  }
  for (const std::string& phase : phases) {
    Chart chart;
    const bool ms = phase == "ttft";
    chart.title = ms ? "Time to first token" : phase + " throughput";
    chart.x_label = "context length (tokens; samples: prompt length bin)";
    chart.y_label = ms ? "ms" : "tokens/s";
    chart.x_log = true;
    for (const SpeedSeries& s : d.speed) {
      if (s.phase != phase) continue;
      ChartSeries cs;
      cs.name = s.Label();
      for (const SpeedPoint& p : s.points) {
        ChartPoint cp{static_cast<double>(std::max<int64_t>(p.context, 1)), p.value, std::nullopt,
                      std::nullopt,
                      StrCat("context ", p.context, ": ", FormatFixed(p.value, 2), " ", s.unit)};
        if (p.std_dev) {
          cp.lo = p.value - *p.std_dev;
          cp.hi = p.value + *p.std_dev;
          cp.tip += " ± " + FormatFixed(*p.std_dev, 2);
        }
        cp.tip += StrCat(" (n=", p.repetitions, ")");
        if (p.read_share) cp.tip += "; " + p.ReadShareText();
        cs.points.push_back(cp);
      }
      chart.series.push_back(std::move(cs));
    }
    *h += RenderSvgChart(chart);
  }
  if (!d.ratios.empty()) {
    Chart chart;
    chart.title = "DiffQKV vs GQA: tokens/s ratio (> 1: DiffQKV faster)";
    chart.x_label = "context length";
    chart.y_label = "ratio";
    chart.x_log = true;
    *h +=
        "<h3>DiffQKV vs GQA</h3><table><thead><tr><th>source</th><th>phase</th><th>DiffQKV</th>"
        "<th>GQA</th><th>batch</th><th>context</th><th>DiffQKV tok/s</th><th>GQA tok/s</th>"
        "<th>ratio</th></tr></thead><tbody>";
    for (const SpeedRatio& r : d.ratios) {
      ChartSeries cs;
      cs.name = StrCat(r.phase, " ", r.sigma_model, "/", r.gqa_model, " · ", r.source);
      for (const SpeedRatio::Point& p : r.points) {
        cs.points.push_back({static_cast<double>(std::max<int64_t>(p.context, 1)), p.ratio,
                             std::nullopt, std::nullopt,
                             StrCat("context ", p.context, ": ", FormatFixed(p.ratio, 3), "x")});
        *h += StrCat("<tr><td>", HtmlEscape(r.source), "</td><td>", HtmlEscape(r.phase),
                     "</td><td>", HtmlEscape(r.sigma_model), "</td><td>", HtmlEscape(r.gqa_model),
                     "</td><td class=\"num\">", r.batch, "</td><td class=\"num\">", p.context,
                     "</td><td class=\"num\">", FormatFixed(p.sigma_value, 2),
                     "</td><td class=\"num\">", FormatFixed(p.gqa_value, 2),
                     "</td><td class=\"num\">", FormatFixed(p.ratio, 3), "x</td></tr>");
      }
      chart.series.push_back(std::move(cs));
    }
    *h += "</tbody></table>" + RenderSvgChart(chart);
  }
  *h += "</section>";
}

void AppendTradeoff(const ReportData& d, std::string* h) {
  Chart chart;
  chart.title = "Accuracy against speed (one point per run)";
  chart.x_label = "median decode tokens/s over the run's samples";
  chart.y_label = "mean headline score over tasks (0-1)";
  for (const RunSummary& r : d.runs) {
    if (!r.median_decode_tok_s || !r.mean_primary_score) continue;
    ChartSeries s;
    s.name = RunSeriesName(r.run);
    s.lines = false;
    s.points.push_back({*r.median_decode_tok_s, *r.mean_primary_score, std::nullopt, std::nullopt,
                        StrCat(FormatFixed(*r.median_decode_tok_s, 1), " tok/s, score ",
                               FormatFixed(*r.mean_primary_score))});
    chart.series.push_back(std::move(s));
  }
  chart.y_from_zero = true;
  *h += "<section id=\"tradeoff\"><h2>Accuracy against speed</h2>" + RenderSvgChart(chart) +
        "</section>";
}

}  // namespace

std::string RenderHtml(const ReportData& d) {
  std::string body;
  body.reserve(1 << 20);
  body += "<h1>" + HtmlEscape(d.options.title) + "</h1><p class=\"meta\">database <code>" +
          HtmlEscape(d.db_path) +
          StrCat("</code> (schema v", d.schema_version, "), ", d.runs.size(), " runs, ",
                 d.bench_runs.size(), " bench sessions, ", d.tasks.size(), " tasks</p>");
  body +=
      "<nav><a href=\"#runs\">Runs</a><a href=\"#scores\">Scores</a><a href=\"#speed\">Speed</a>"
      "<a href=\"#tradeoff\">Accuracy vs speed</a><a href=\"#samples\">Samples</a></nav>";
  AppendRuns(d, &body);
  body += "<section id=\"scores\"><h2>Scores per task</h2>";
  AppendScoresChart(d, &body);
  AppendScoresTable(d, &body);
  body += "</section>";
  AppendSpeed(d, &body);
  AppendTradeoff(d, &body);
  AppendSampleBrowser(d, &body);
  const std::string script_hash = Base64FromHex(Sha256Hex(kScript));
  std::string html =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; img-src data:; script-src 'sha256-" +
      script_hash +
      "'\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" +
      HtmlEscape(d.options.title) + "</title><style>" + kCss + "</style></head><body>";
  html += body;
  html += "<script>" + std::string(kScript) + "</script></body></html>\n";
  return html;
}

}  // namespace sigma::reports
