// RenderCompareMarkdown (for a pull-request comment) and RenderCompareJson.
#include <cmath>
#include <cstdio>

#include "reports/compare.h"
#include "reports/escape.h"
#include "reports/number_format.h"

namespace sigma::reports {
namespace {

std::string Signed(double v, int digits = 4) {
  std::string out = v > 0 ? "+" : "";
  out += FormatFixed(v, digits);
  return out;
}
std::string PValue(double p) {
  if (p < 1e-4) return "<0.0001";
  return FormatFixed(p, 4);
}
std::string JDocs(const std::vector<std::string>& docs) {
  std::string j = "[";
  for (size_t i = 0; i < docs.size(); ++i) AppendJsonItem(&j, i, JsonQuote(docs[i]));
  return j + "]";
}

void MarkdownMetrics(const CompareResult& r, std::string* md) {
  if (r.metrics.empty()) return;
  *md +=
      StrCat("\n### Scores (paired on shared samples)\n\n| task | metric | n | ",
             MarkdownEscape(r.options.base_name), " | ", MarkdownEscape(r.options.candidate_name),
             " | Δ | agree | ", FormatFixed(100 * r.options.confidence, 0),
             "% CI of Δ | p | test | |\n"
             "|---|---|---:|---:|---:|---:|---:|---|---:|---|---|\n");
  for (const MetricComparison& m : r.metrics) {
    if (m.shared == 0) {
      *md += StrCat("| ", MarkdownEscape(m.task), " | ", MarkdownEscape(m.metric),
                    " | 0 | | | | | | | no shared "
                    "samples (base only ",
                    m.base_only, ", candidate only ", m.candidate_only, ") | |\n");
      continue;
    }
    *md += StrCat(
        "| ", MarkdownEscape(m.task), " | ", MarkdownEscape(m.metric), " | ", m.shared, " | ",
        FormatFixed(m.base_mean), " | ", FormatFixed(m.candidate_mean), " | ", Signed(m.delta),
        " | ", FormatFixed(100.0 * static_cast<double>(m.agree) / static_cast<double>(m.shared), 1),
        "% | [", Signed(m.bootstrap.ci_low), ", ", Signed(m.bootstrap.ci_high), "] | ",
        PValue(m.p_value), " | ", m.test, " | ",
        m.regression.empty() ? "" : "❌ " + MarkdownEscape(m.regression), " |\n");
  }
  std::string flips;
  for (const MetricComparison& m : r.metrics) {
    if (m.broken_docs.empty() && m.fixed_docs.empty()) continue;
    flips += StrCat("- ", MarkdownEscape(m.task), " / ", MarkdownEscape(m.metric), ": ", m.broken,
                    " broken");
    for (size_t i = 0; i < m.broken_docs.size(); ++i)
      flips += (i ? ", `" : " (`") + MarkdownEscape(m.broken_docs[i]) + "`";
    if (!m.broken_docs.empty())
      flips += m.broken > static_cast<int64_t>(m.broken_docs.size()) ? ", ...)" : ")";
    flips += StrCat("; ", m.fixed, " fixed");
    for (size_t i = 0; i < m.fixed_docs.size(); ++i)
      flips += (i ? ", `" : " (`") + MarkdownEscape(m.fixed_docs[i]) + "`";
    if (!m.fixed_docs.empty())
      flips += m.fixed > static_cast<int64_t>(m.fixed_docs.size()) ? ", ...)" : ")";
    flips += "\n";
  }
  if (!flips.empty())
    *md += "\n<details><summary>Per-document changes</summary>\n\n" + flips + "\n</details>\n";
}

void MarkdownSpeed(const CompareResult& r, std::string* md) {
  if (r.speed.empty()) return;
  *md +=
      "\n### Speed\n\n| figure | source | model | context | batch | base | candidate | ratio | n "
      "(base/cand) "
      "| p | test | |\n|---|---|---|---:|---:|---:|---:|---:|---|---:|---|---|\n";
  for (const SpeedComparison& s : r.speed) {
    *md += StrCat("| ", s.figure, s.higher_is_better ? " ↑" : " ↓", " | ", s.source, " | ",
                  MarkdownEscape(s.model), " | ", s.context ? std::to_string(s.context) : "", " | ",
                  s.batch, " | ", FormatFixed(s.base, 2), " | ", FormatFixed(s.candidate, 2), " | ",
                  FormatFixed(s.ratio, 3), "x | ", s.base_n, "/", s.candidate_n, " | ",
                  s.p_value ? PValue(*s.p_value) : "-", " | ", s.test, " | ",
                  s.regression.empty() ? "" : "❌ " + MarkdownEscape(s.regression), " |\n");
  }
}

// "- base: run 1 `model` (build `...`, host `...`)".
std::string SideLine(const char* role, const CompareSide& side) {
  return StrCat("- ", role, ": ", side.label, " `", MarkdownEscape(side.model), "` (build `",
                MarkdownEscape(side.build), "`, host `", MarkdownEscape(side.host), "`)\n");
}

// The members of a side's JSON object.
std::string SideJson(const CompareSide& side) {
  return StrCat("\"label\":", JsonQuote(side.label), ",\"model\":", JsonQuote(side.model),
                ",\"build\":", JsonQuote(side.build), ",\"host\":", JsonQuote(side.host),
                ",\"errors\":", side.errors);
}

}  // namespace

std::string RenderCompareMarkdown(const CompareResult& r) {
  std::string md = StrCat("## sigma-eval compare: ", r.base.label, " → ", r.candidate.label, "\n\n",
                          SideLine("base", r.base), SideLine("candidate", r.candidate));
  if (r.config_differences.empty()) {
    md += "- configuration: the same, apart from the build and the model path\n";
  } else {
    md += "- configuration, where it differs (base → candidate):\n";
    for (const JsonDifference& d : r.config_differences) {
      md += "  - " + MarkdownEscape(d.path) + ": " + MarkdownEscape(d.before) + " → " +
            MarkdownEscape(d.after) + "\n";
    }
    if (r.more_config_differences > 0) {
      md += StrCat("  - ... and ", r.more_config_differences, " more\n");
    }
  }
  md += "\n";
  if (r.regressions.empty()) {
    md += r.options.fail_on.empty() ? "**No --fail-on thresholds given.**\n"
                                    : "**✅ No regression beyond the --fail-on thresholds.**\n";
  } else {
    md += StrCat("**❌ ", r.regressions.size(), " regression", r.regressions.size() == 1 ? "" : "s",
                 " beyond the --fail-on thresholds:**\n\n");
    for (const std::string& line : r.regressions) md += "- " + MarkdownEscape(line) + "\n";
  }
  MarkdownMetrics(r, &md);
  MarkdownSpeed(r, &md);
  if (!r.notes.empty()) {
    md += "\n";
    for (const std::string& n : r.notes) md += "> " + MarkdownEscape(n) + "\n";
  }
  md += StrCat(
      "\n<sub>Δ = candidate − base over samples both runs scored without an error. CI: paired "
      "bootstrap (",
      r.options.bootstrap_iterations, " resamples, seed ", r.options.seed,
      "). p: McNemar's exact test for 0/1 metrics, else the bootstrap. Per-sample speed: ratio "
      "of medians, Mann-Whitney U. Speed table: ratio of means, Welch's t from the stored "
      "mean/std/repetitions (no per-repetition values are stored).</sub>\n");
  return md;
}

std::string RenderCompareJson(const CompareResult& r) {
  std::string j = StrCat(
      "{\"format\":\"sigma-eval-compare\",\"version\":1,\"base\":{", SideJson(r.base),
      "},\"candidate\":{", SideJson(r.candidate),
      "},\"bootstrap\":{\"iterations\":", r.options.bootstrap_iterations,
      ",\"seed\":", r.options.seed, ",\"confidence\":", JsonNumber(r.options.confidence),
      "},\"metrics\":[");
  for (size_t i = 0; i < r.metrics.size(); ++i) {
    const MetricComparison& m = r.metrics[i];
    j += StrCat(i ? "," : "", "{\"task\":", JsonQuote(m.task), ",\"metric\":", JsonQuote(m.metric),
                ",\"shared\":", m.shared, ",\"base_only\":", m.base_only,
                ",\"candidate_only\":", m.candidate_only, ",\"base\":", JsonNumber(m.base_mean),
                ",\"candidate\":", JsonNumber(m.candidate_mean), ",\"delta\":", JsonNumber(m.delta),
                ",\"ci_low\":", JsonNumber(m.bootstrap.ci_low),
                ",\"ci_high\":", JsonNumber(m.bootstrap.ci_high),
                ",\"bootstrap_p\":", JsonNumber(m.bootstrap.p_value), ",\"agree\":", m.agree,
                ",\"binary\":", m.binary ? "true" : "false", ",\"broken\":", m.broken,
                ",\"fixed\":", m.fixed, ",\"p\":", JsonNumber(m.p_value),
                ",\"test\":", JsonQuote(m.test), ",\"broken_docs\":", JDocs(m.broken_docs),
                ",\"fixed_docs\":", JDocs(m.fixed_docs),
                ",\"regression\":", JsonQuote(m.regression), "}");
  }
  j += "],\"speed\":[";
  for (size_t i = 0; i < r.speed.size(); ++i) {
    const SpeedComparison& s = r.speed[i];
    j += StrCat(
        i ? "," : "", "{\"figure\":", JsonQuote(s.figure), ",\"source\":", JsonQuote(s.source),
        ",\"model\":", JsonQuote(s.model), ",\"settings\":", JsonQuote(s.settings),
        ",\"context\":", s.context, ",\"batch\":", s.batch,
        ",\"higher_is_better\":", s.higher_is_better ? "true" : "false",
        ",\"base\":", JsonNumber(s.base), ",\"candidate\":", JsonNumber(s.candidate),
        ",\"ratio\":", JsonNumber(s.ratio), ",\"base_n\":", s.base_n,
        ",\"candidate_n\":", s.candidate_n, ",\"p\":", s.p_value ? JsonNumber(*s.p_value) : "null",
        ",\"test\":", JsonQuote(s.test), ",\"regression\":", JsonQuote(s.regression), "}");
  }
  j += "],\"regressions\":[";
  for (size_t i = 0; i < r.regressions.size(); ++i)
    AppendJsonItem(&j, i, JsonQuote(r.regressions[i]));
  j += "],\"config_differences\":[";
  for (size_t i = 0; i < r.config_differences.size(); ++i) {
    const JsonDifference& d = r.config_differences[i];
    AppendJsonItem(&j, i,
                   StrCat("{\"path\":", JsonQuote(d.path), ",\"base\":", JsonQuote(d.before),
                          ",\"candidate\":", JsonQuote(d.after), "}"));
  }
  j += StrCat("],\"more_config_differences\":", r.more_config_differences, ",\"notes\":[");
  for (size_t i = 0; i < r.notes.size(); ++i) AppendJsonItem(&j, i, JsonQuote(r.notes[i]));
  return j + "]}\n";
}

}  // namespace sigma::reports
