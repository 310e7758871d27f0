#include "reports/chart_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "reports/escape.h"

namespace sigma::reports {
namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// At most `max` bytes of `s`, cut at a UTF-8 character boundary, with ".." when cut.
std::string Shorten(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max - 2;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "..";
}

// A series name for the legend, at most `max` bytes: where the whole does not fit, each word
// that is a path keeps only its last component (a model file's name without its .gguf,
// .jsonl or .safetensors; "replay:" kept), then Shorten. The legend's tooltip keeps the whole name.
std::string LegendName(const std::string& name, size_t max) {
  if (name.size() <= max) return name;
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find(' ', start);
    if (end == std::string::npos) end = name.size();
    std::string word = name.substr(start, end - start);
    const size_t slash = word.rfind('/');
    if (slash != std::string::npos && slash + 1 < word.size()) {
      word = (word.rfind("replay:", 0) == 0 ? "replay:" : "") + word.substr(slash + 1);
      for (const std::string ext : {".gguf", ".jsonl", ".safetensors"}) {
        if (word.size() > ext.size() &&
            word.compare(word.size() - ext.size(), ext.size(), ext) == 0) {
          word.resize(word.size() - ext.size());
        }
      }
    }
    out += (start == 0 ? "" : " ") + word;
    start = end + 1;
  }
  return Shorten(out, max);
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

// A short tick label: 1024 -> "1K", 0.25 -> "0.25", 12345 -> "12.3K".
std::string TickLabel(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1e6) std::snprintf(buf, sizeof(buf), "%gM", std::round(v / 1e5) / 10);
  else if (a >= 1e3 && std::fmod(a, 1024) == 0) std::snprintf(buf, sizeof(buf), "%gK", v / 1024);
  else if (a >= 1e4) std::snprintf(buf, sizeof(buf), "%gK", std::round(v / 100) / 10);
  else std::snprintf(buf, sizeof(buf), "%g", std::round(v * 1000) / 1000);
  return buf;
}

// "Nice" step for about `ticks` intervals over [lo, hi].
double NiceStep(double lo, double hi, int ticks) {
  const double raw = (hi - lo) / ticks;
  if (raw <= 0) return 1;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

struct Frame {
  double left = 64, right = 0, top = 34, bottom = 0;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  bool x_log = false;
  double X(double x) const {
    const double a = x_log ? std::log2(std::max(x, 1e-12)) : x;
    const double lo = x_log ? std::log2(x_min) : x_min, hi = x_log ? std::log2(x_max) : x_max;
    return left + (hi > lo ? (a - lo) / (hi - lo) : 0.5) * (right - left);
  }
  double Y(double y) const {
    return bottom - (y_max > y_min ? (y - y_min) / (y_max - y_min) : 0.5) * (bottom - top);
  }
};

Frame MakeFrame(const Chart& chart, int width, int height) {
  Frame f;
  f.right = width - 24.0;  // the legend goes below
  f.bottom = height - 46.0;
  f.x_log = chart.x_log;
  double x_lo = 1e300, x_hi = -1e300, y_lo = 1e300, y_hi = -1e300;
  for (const ChartSeries& s : chart.series) {
    for (const ChartPoint& p : s.points) {
      x_lo = std::min(x_lo, p.x);
      x_hi = std::max(x_hi, p.x);
      y_lo = std::min({y_lo, p.y, p.lo.value_or(p.y)});
      y_hi = std::max({y_hi, p.y, p.hi.value_or(p.y)});
    }
  }
  if (!chart.x_categories.empty()) {
    x_lo = -0.5;
    x_hi = static_cast<double>(chart.x_categories.size()) - 0.5;
  } else if (x_lo == x_hi) {
    x_lo = chart.x_log ? x_lo / 2 : x_lo - 1;
    x_hi = chart.x_log ? x_hi * 2 : x_hi + 1;
  }
  if (chart.x_log) x_lo = std::max(x_lo, 1e-9);
  if (chart.y_from_zero) y_lo = std::min(0.0, y_lo);
  if (y_hi <= y_lo) y_hi = y_lo + 1;
  y_hi += (y_hi - y_lo) * 0.05;
  f.x_min = x_lo;
  f.x_max = x_hi;
  f.y_min = y_lo;
  f.y_max = y_hi;
  return f;
}

void AppendAxes(const Chart& chart, const Frame& f, int width, int height, std::string* svg) {
  const double step = NiceStep(f.y_min, f.y_max, 5);
  for (double y = std::ceil(f.y_min / step) * step; y <= f.y_max + 1e-9; y += step) {
    *svg += "<line class=\"grid\" x1=\"" + Num(f.left) + "\" x2=\"" + Num(f.right) + "\" y1=\"" +
            Num(f.Y(y)) + "\" y2=\"" + Num(f.Y(y)) + "\"/><text class=\"tick\" x=\"" +
            Num(f.left - 6) + "\" y=\"" + Num(f.Y(y) + 4) + "\" text-anchor=\"end\">" +
            HtmlEscape(TickLabel(y)) + "</text>";
  }
  std::vector<std::pair<double, std::string>> xticks;
  if (!chart.x_categories.empty()) {
    for (size_t i = 0; i < chart.x_categories.size(); ++i) {
      xticks.push_back({static_cast<double>(i), chart.x_categories[i]});
    }
  } else if (chart.x_log) {
    for (double x = std::exp2(std::ceil(std::log2(f.x_min))); x <= f.x_max * 1.0001; x *= 2) {
      xticks.push_back({x, TickLabel(x)});
    }
  } else {
    const double s = NiceStep(f.x_min, f.x_max, 6);
    for (double x = std::ceil(f.x_min / s) * s; x <= f.x_max + 1e-9; x += s) {
      xticks.push_back({x, TickLabel(x)});
    }
  }
  for (const auto& [x, label] : xticks) {
    const std::string shown = Shorten(label, 18);
    *svg += "<text class=\"tick\" x=\"" + Num(f.X(x)) + "\" y=\"" + Num(f.bottom + 16) +
            "\" text-anchor=\"middle\">" + HtmlEscape(shown) + "<title>" + HtmlEscape(label) +
            "</title></text>";
  }
  *svg += "<line class=\"axis\" x1=\"" + Num(f.left) + "\" x2=\"" + Num(f.right) + "\" y1=\"" +
          Num(f.bottom) + "\" y2=\"" + Num(f.bottom) + "\"/><line class=\"axis\" x1=\"" +
          Num(f.left) + "\" x2=\"" + Num(f.left) + "\" y1=\"" + Num(f.top) + "\" y2=\"" +
          Num(f.bottom) + "\"/>";
  *svg += "<text class=\"title\" x=\"" + Num(f.left) + "\" y=\"18\">" + HtmlEscape(chart.title) +
          "</text><text class=\"label\" x=\"" + Num((f.left + f.right) / 2) + "\" y=\"" +
          Num(height - 8.0) + "\" text-anchor=\"middle\">" + HtmlEscape(chart.x_label) +
          "</text><text class=\"label\" transform=\"translate(14," + Num((f.top + f.bottom) / 2) +
          ") rotate(-90)\" text-anchor=\"middle\">" + HtmlEscape(chart.y_label) + "</text>";
  (void)width;
}

void AppendSeries(const Chart& chart, const Frame& f, size_t index, std::string* svg) {
  const ChartSeries& s = chart.series[index];
  const char* color = SeriesColor(index);
  const size_t n = chart.series.size();
  const double dodge = chart.x_categories.empty() || n < 2
      ? 0.0 : (static_cast<double>(index) - (n - 1) / 2.0) * std::min(0.7 / n, 0.15);
  std::vector<ChartPoint> pts = s.points;
  std::sort(pts.begin(), pts.end(), [](const ChartPoint& a, const ChartPoint& b) { return a.x < b.x; });
  *svg += "<g class=\"series\">";
  if (s.lines && pts.size() > 1) {
    *svg += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"2\" points=\"";
    for (const ChartPoint& p : pts) *svg += Num(f.X(p.x + dodge)) + "," + Num(f.Y(p.y)) + " ";
    *svg += "\"/>";
  }
  for (const ChartPoint& p : pts) {
    const double x = f.X(p.x + dodge);
    if (p.lo && p.hi) {
      *svg += "<line stroke=\"" + std::string(color) + "\" x1=\"" + Num(x) + "\" x2=\"" + Num(x) +
              "\" y1=\"" + Num(f.Y(*p.lo)) + "\" y2=\"" + Num(f.Y(*p.hi)) + "\"/>";
      for (double e : {*p.lo, *p.hi}) {
        *svg += "<line stroke=\"" + std::string(color) + "\" x1=\"" + Num(x - 4) + "\" x2=\"" +
                Num(x + 4) + "\" y1=\"" + Num(f.Y(e)) + "\" y2=\"" + Num(f.Y(e)) + "\"/>";
      }
    }
    *svg += "<circle cx=\"" + Num(x) + "\" cy=\"" + Num(f.Y(p.y)) + "\" r=\"3.5\" fill=\"" +
            std::string(color) + "\"><title>" + HtmlEscape(s.name + ": " + p.tip) +
            "</title></circle>";
  }
  *svg += "</g>";
}

// The legend's height below a chart of `series` series: a line each.
double LegendHeight(size_t series) { return 14.0 * static_cast<double>(series) + 8; }

// One line per series from y = top, its colour and its name (LegendName; the whole as tooltip).
void AppendLegend(const Chart& chart, double x, double top, int width, std::string* svg) {
  // About 6.5 px a character at the legend's font size.
  const auto max = static_cast<size_t>(std::max(16.0, (width - x - 30) / 6.5));
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const std::string& name = chart.series[i].name;
    const double y = top + 14.0 * static_cast<double>(i) + 10;
    *svg += "<rect x=\"" + Num(x) + "\" y=\"" + Num(y - 9) +
            "\" width=\"10\" height=\"10\" fill=\"" + std::string(SeriesColor(i)) +
            "\"/><text class=\"legend\" x=\"" + Num(x + 14) + "\" y=\"" + Num(y) + "\">" +
            HtmlEscape(LegendName(name, max)) + "<title>" + HtmlEscape(name) + "</title></text>";
  }
}

// The row chart's label column, right margin, and the space above and below its rows.
constexpr double kRowLabelWidth = 230, kRowRightMargin = 24, kRowTop = 40, kRowBottom = 40;

// Where a row chart puts things: values [lo, hi] along x from left to right, rows down from top.
struct RowFrame {
  double left = kRowLabelWidth, right = 0, top = kRowTop, bottom = 0, row_height = 0;
  double lo = 0, hi = 1;
  double X(double v) const { return left + (v - lo) / (hi - lo) * (right - left); }
  double RowY(size_t row) const { return top + (static_cast<double>(row) + 0.5) * row_height; }
};

// Value ticks (vertical grid lines, labels below), every other row banded, row labels on the left
// (shortened; the whole as tooltip), the axes and the value axis' label at `label_y`.
void AppendRowAxes(const Chart& chart, const RowFrame& f, double label_y, std::string* svg) {
  const double step = NiceStep(f.lo, f.hi, 6);
  for (double v = std::ceil(f.lo / step) * step; v <= f.hi + 1e-9; v += step) {
    *svg += "<line class=\"grid\" x1=\"" + Num(f.X(v)) + "\" x2=\"" + Num(f.X(v)) + "\" y1=\"" +
            Num(f.top) + "\" y2=\"" + Num(f.bottom) + "\"/><text class=\"tick\" x=\"" +
            Num(f.X(v)) + "\" y=\"" + Num(f.bottom + 14) + "\" text-anchor=\"middle\">" +
            HtmlEscape(TickLabel(v)) + "</text>";
  }
  for (size_t row = 0; row < chart.x_categories.size(); ++row) {
    const std::string& label = chart.x_categories[row];
    if (row % 2 == 1) {
      *svg += "<rect class=\"band\" x=\"" + Num(f.left) + "\" y=\"" +
              Num(f.RowY(row) - f.row_height / 2.0) + "\" width=\"" + Num(f.right - f.left) +
              "\" height=\"" + Num(f.row_height) + "\" fill=\"#f6f6f6\"/>";
    }
    *svg += "<text class=\"tick\" x=\"" + Num(f.left - 6) + "\" y=\"" + Num(f.RowY(row) + 4) +
            "\" text-anchor=\"end\">" + HtmlEscape(Shorten(label, 34)) + "<title>" +
            HtmlEscape(label) + "</title></text>";
  }
  *svg += "<line class=\"axis\" x1=\"" + Num(f.left) + "\" x2=\"" + Num(f.left) + "\" y1=\"" +
          Num(f.top) + "\" y2=\"" + Num(f.bottom) + "\"/><line class=\"axis\" x1=\"" + Num(f.left) +
          "\" x2=\"" + Num(f.right) + "\" y1=\"" + Num(f.bottom) + "\" y2=\"" + Num(f.bottom) +
          "\"/><text class=\"label\" x=\"" + Num((f.left + f.right) / 2) + "\" y=\"" +
          Num(label_y) + "\" text-anchor=\"middle\">" + HtmlEscape(chart.y_label) + "</text>";
}

// Series `index`'s points, dodged within their rows (the series spread over the middle 60% of a
// row), error bars along the value axis; points outside the rows are left out.
void AppendRowSeries(const Chart& chart, const RowFrame& f, size_t index, std::string* svg) {
  const ChartSeries& s = chart.series[index];
  const std::string color = SeriesColor(index);
  const size_t n = chart.series.size();
  const double dodge =
      n < 2 ? 0.0
            : (static_cast<double>(index) / static_cast<double>(n - 1) - 0.5) * 0.6 * f.row_height;
  *svg += "<g class=\"series\">";
  for (const ChartPoint& p : s.points) {
    if (p.x < 0 || p.x >= static_cast<double>(chart.x_categories.size())) continue;
    const double y = f.RowY(static_cast<size_t>(p.x)) + dodge;
    if (p.lo && p.hi) {
      *svg += "<line stroke=\"" + color + "\" x1=\"" + Num(f.X(*p.lo)) + "\" x2=\"" +
              Num(f.X(*p.hi)) + "\" y1=\"" + Num(y) + "\" y2=\"" + Num(y) + "\"/>";
    }
    *svg += "<circle cx=\"" + Num(f.X(p.y)) + "\" cy=\"" + Num(y) + "\" r=\"3.5\" fill=\"" + color +
            "\"><title>" + HtmlEscape(s.name + ": " + p.tip) + "</title></circle>";
  }
  *svg += "</g>";
}

}  // namespace

std::string RenderSvgRowChart(const Chart& chart, int width) {
  const size_t rows = chart.x_categories.size();
  RowFrame f;
  f.row_height = RowChartRowHeight(chart.series.size());
  const double plot_height = kRowTop + static_cast<double>(rows) * f.row_height + kRowBottom;
  const double height = plot_height + LegendHeight(chart.series.size());
  std::string svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
                    std::to_string(width) + " " + Num(height) + "\" width=\"" +
                    std::to_string(width) + "\" height=\"" + Num(height) +
                    "\" role=\"img\" aria-label=\"" + HtmlEscape(chart.title) + "\">";
  svg += "<text class=\"title\" x=\"10\" y=\"18\">" + HtmlEscape(chart.title) + "</text>";
  double lo = 1e300, hi = -1e300;
  for (const ChartSeries& s : chart.series) {
    for (const ChartPoint& p : s.points) {
      lo = std::min({lo, p.y, p.lo.value_or(p.y)});
      hi = std::max({hi, p.y, p.hi.value_or(p.y)});
    }
  }
  if (rows == 0 || lo > hi) {
    return svg + "<text class=\"label\" x=\"10\" y=\"44\">no data</text></svg>";
  }
  if (chart.y_from_zero) lo = std::min(0.0, lo);
  if (hi <= lo) hi = lo + 1;
  f.lo = lo;
  f.hi = hi + (hi - lo) * 0.03;
  f.right = width - kRowRightMargin;
  f.bottom = plot_height - kRowBottom;
  AppendRowAxes(chart, f, plot_height - 8, &svg);
  for (size_t i = 0; i < chart.series.size(); ++i) AppendRowSeries(chart, f, i, &svg);
  AppendLegend(chart, f.left, plot_height, width, &svg);
  return svg + "</svg>";
}

const char* SeriesColor(size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))]; }

std::string RenderSvgChart(const Chart& chart, int width, int height) {
  bool any = false;
  for (const ChartSeries& s : chart.series) any = any || !s.points.empty();
  const double total = height + (any ? LegendHeight(chart.series.size()) : 0);
  std::string svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
                    std::to_string(width) + " " + Num(total) + "\" width=\"" +
                    std::to_string(width) + "\" height=\"" + Num(total) +
                    "\" role=\"img\" aria-label=\"" + HtmlEscape(chart.title) + "\">";
  if (!any) {
    return svg + "<text class=\"title\" x=\"10\" y=\"18\">" + HtmlEscape(chart.title) +
           "</text><text class=\"label\" x=\"10\" y=\"44\">no data</text></svg>";
  }
  const Frame f = MakeFrame(chart, width, height);
  AppendAxes(chart, f, width, height, &svg);
  for (size_t i = 0; i < chart.series.size(); ++i) AppendSeries(chart, f, i, &svg);
  AppendLegend(chart, f.left, height, width, &svg);
  return svg + "</svg>";
}

}  // namespace sigma::reports
