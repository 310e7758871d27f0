#include "reports/html_samples.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "reports/escape.h"
#include "reports/number_format.h"

namespace sigma::reports {
namespace {

// A text field, escaped and cut at max bytes with a visible note.
void AppendField(std::string_view bytes, size_t max_bytes, std::string* out) {
  *out += "<pre>";
  const size_t used = Escape(bytes, EscapeMode::kHtml, out, max_bytes);
  *out += "</pre>";
  if (used < bytes.size())
    *out += StrCat("<small>[cut: ", used, " of ", bytes.size(), " bytes shown]</small>");
}

// data-ok: "1" correct, "0" incorrect, "e" error, "u" ungraded.
const char* OkCode(const ShownSample& s) {
  if (s.sample.error) return "e";
  if (!s.correct) return "u";
  return *s.correct ? "1" : "0";
}

void AppendOutcome(const ShownSample& s, std::string* h) {
  const std::string code = OkCode(s);
  if (code == "1")
    *h += "<span class=\"ok\">correct</span>";
  else if (code == "0")
    *h += "<span class=\"bad\">incorrect</span>";
  else if (code == "e")
    *h += "<span class=\"err\">error</span><br>" + HtmlEscape(*s.sample.error);
  else
    *h += "<span class=\"na\">ungraded</span>";
  if (!s.primary_metric.empty()) *h += "<br><small>by " + HtmlEscape(s.primary_metric) + "</small>";
  if (s.sample.verdict) *h += "<br>verdict " + HtmlEscape(*s.sample.verdict);
  if (s.cut_off)
    *h += "<br><span class=\"na\">cut off</span> <small>(token limit or context)</small>";
}

void AppendTiming(const SampleRecord& s, std::string* h) {
  *h += "ttft " + FormatFixed(s.ttft_ms, 1) + " ms<br>prefill " + FormatFixed(s.prefill_tok_s, 1) +
        " tok/s<br>decode " + FormatFixed(s.decode_tok_s, 1) + " tok/s<br>tokens " +
        (s.prompt_tokens ? std::to_string(*s.prompt_tokens) : "-") +
        (s.reused_tokens.value_or(0) > 0 ? " (" + std::to_string(*s.reused_tokens) + " reused)"
                                         : "") +
        " + " + (s.new_tokens ? std::to_string(*s.new_tokens) : "-") + "<br>total " +
        FormatFixed(s.total_ms, 1) + " ms";
}

// A sample's scores as "metric value" lines (its private "_" keys left out), or the stored JSON
// as text where it does not parse.
void AppendScores(const std::string& metrics_json, size_t max_bytes, std::string* h) {
  const StatusOr<std::map<std::string, double>> metrics = ParseSampleMetrics(metrics_json);
  if (!metrics.ok()) {
    AppendField(metrics_json, max_bytes, h);
    return;
  }
  // Lines, not a nested table: the filters count the sample table's rows.
  *h += "<div class=\"kv\">";
  for (const auto& [name, value] : *metrics) {
    const bool whole = value == std::floor(value) && std::fabs(value) < 1e15;
    *h += "<span>" + HtmlEscape(name) + "</span> " +
          (whole ? StrCat(static_cast<int64_t>(value)) : FormatFixed(value)) + "<br>";
  }
  *h += "</div>";
}

// A model path's last component (a file or folder name), the whole path being the cell's title.
std::string ModelCell(const std::string& model) {
  const size_t slash = model.rfind('/');
  const std::string name =
      slash == std::string::npos || slash + 1 == model.size() ? model : model.substr(slash + 1);
  return "<small title=\"" + HtmlEscape(model) + "\">" + HtmlEscape(name) + "</small>";
}

void AppendRow(const ShownSample& s, size_t max_bytes, std::string* h) {
  const SampleRecord& r = s.sample;
  *h += StrCat("<tr data-run=\"", r.run_id, "\" data-task=\"", HtmlEscape(r.task), "\" data-ok=\"",
               OkCode(s), "\" data-verdict=\"", HtmlEscape(r.verdict.value_or("none")),
               "\"><td>run ", r.run_id, "<br>", ModelCell(s.model), "</td><td class=\"task\">",
               HtmlEscape(r.task), "<br><small>doc ", HtmlEscape(r.doc_id), "</small></td><td>");
  AppendOutcome(s, h);
  *h += "</td><td>";
  AppendScores(r.metrics_json, max_bytes, h);
  *h += "</td><td class=\"t\">";
  AppendTiming(r, h);
  *h += StrCat("</td><td><details><summary>", r.prompt.size(), " bytes</summary>");
  AppendField(r.prompt, max_bytes, h);
  *h += "</details></td><td class=\"o\">";
  AppendField(r.raw_output, max_bytes, h);
  *h += "</td><td>";
  AppendField(r.extracted, max_bytes, h);
  *h += "<small>target</small>";
  AppendField(r.target.value_or(""), max_bytes, h);
  *h += "</td><td>";
  if (s.reference) {
    *h += StrCat("<small>run ", s.reference_run, "</small>");
    AppendField(s.reference->raw_output, max_bytes, h);
    *h += "<small>extracted</small>";
    AppendField(s.reference->extracted, max_bytes, h);
    *h += "<small>scores</small>";
    AppendScores(s.reference->metrics_json, max_bytes, h);
  }
  *h += "</td></tr>";
}

void AppendSelect(const char* id, const char* label,
                  const std::vector<std::pair<std::string, std::string>>& options, std::string* h) {
  *h += StrCat("<label>", label, " <select id=\"f-", id, "\"><option value=\"\">all</option>");
  for (const auto& [value, text] : options) {
    *h += "<option value=\"" + HtmlEscape(value) + "\">" + HtmlEscape(text) + "</option>";
  }
  *h += "</select></label>";
}

void AppendFilters(const ReportData& d, std::string* h) {
  std::vector<std::pair<std::string, std::string>> tasks, runs, verdicts;
  for (const std::string& t : d.tasks) tasks.push_back({t, t});
  for (const RunSummary& r : d.runs)
    runs.push_back({std::to_string(r.run.id), StrCat(r.run.id, " ", r.run.model)});
  std::set<std::string> seen;
  for (const ShownSample& s : d.samples) seen.insert(s.sample.verdict.value_or("none"));
  for (const std::string& v : seen) verdicts.push_back({v, v});
  *h += "<div class=\"filters\">";
  AppendSelect("task", "task", tasks, h);
  AppendSelect("run", "run", runs, h);
  AppendSelect("ok", "outcome",
               {{"1", "correct"}, {"0", "incorrect"}, {"e", "error"}, {"u", "ungraded"}}, h);
  AppendSelect("verdict", "verdict", verdicts, h);
  *h += StrCat(
      "<label>search <input id=\"f-q\" type=\"search\" size=\"24\"></label> <span id=\"shown\">",
      d.samples.size(), "</span> of ", d.samples.size(), " shown samples match</div>");
}

}  // namespace

void AppendSampleBrowser(const ReportData& d, std::string* h) {
  *h += "<section id=\"samples\"><h2>Samples</h2>";
  if (d.samples_capped) {
    *h += StrCat("<p class=\"notice\">Showing at most ", d.options.max_samples,
                 " samples per run and task (", d.samples.size(), " of ", d.samples_total,
                 " samples; the first by document order, so runs show the same documents). "
                 "Use <code>--max-samples</code> to change this.</p>");
  }
  *h += StrCat("<p>Text fields show at most ", d.options.max_field_bytes,
               " bytes each. Control bytes, invalid UTF-8 and invisible formatting characters are "
               "shown as <code>\\xNN</code> / <code>\\u{NNNN}</code>. The last column shows the "
               "recorded output (a <code>replay:</code> run) for the same task and document, when "
               "one of the selected runs has it.</p>");
  AppendFilters(d, h);
  *h +=
      "<table class=\"samples\"><thead><tr><th>run</th><th>task / doc</th><th>outcome</th>"
      "<th>scores</th><th>timing</th><th>prompt</th><th>output</th><th>extracted / target</th>"
      "<th>recorded reference</th></tr></thead><tbody>";
  for (const ShownSample& s : d.samples) AppendRow(s, d.options.max_field_bytes, h);
  *h += "</tbody></table></section>";
}

}  // namespace sigma::reports
