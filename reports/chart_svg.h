// Inline SVG charts for the HTML report: line/scatter charts over a numeric (optionally log2) or a
// categorical x axis, with optional error bars, a legend and <title> tooltips. No scripts, no
// external references: the SVG is self-contained text, and every label goes through HtmlEscape.
// Thread safety: pure functions.
#ifndef SIGMA_REPORTS_CHART_SVG_H_
#define SIGMA_REPORTS_CHART_SVG_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace sigma::reports {

struct ChartPoint {
  double x = 0;  // category index when the chart is categorical
  double y = 0;
  std::optional<double> lo;  // error bar, when set
  std::optional<double> hi;
  std::string tip;  // tooltip text (escaped when rendered)
};

struct ChartSeries {
  std::string name;
  std::vector<ChartPoint> points;
  bool lines = true;  // connect the points (in x order)
};

struct Chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool x_log = false;                     // log2 x axis (context lengths)
  std::vector<std::string> x_categories;  // non-empty: categorical x; series are dodged
  std::vector<ChartSeries> series;
  bool y_from_zero = true;
};

// The chart as an <svg> element (width x height CSS pixels for the plot, scalable via viewBox),
// the legend below it, a line a series (the element that much taller). A chart without points
// renders a small "no data" box.
std::string RenderSvgChart(const Chart& chart, int width = 860, int height = 340);

// A categorical chart laid out in rows: one row per category (x_categories, top to bottom, its
// label left of the plot), the values along the horizontal axis (y_label names it), each series'
// point of a row dodged vertically in it, error bars horizontal, the legend below. Its height
// grows with the categories (RowChartRowHeight each), so dozens of tasks stay readable.
// A point's x is its category index; x_log is ignored.
// A row's height for `series` series: 18 px for one or two, 5 more for each further one.
inline double RowChartRowHeight(size_t series) {
  return 18.0 + 5.0 * static_cast<double>(series > 2 ? series - 2 : 0);
}
std::string RenderSvgRowChart(const Chart& chart, int width = 860);

// The i-th colour of the palette (cycles).
const char* SeriesColor(size_t i);

}  // namespace sigma::reports

#endif  // SIGMA_REPORTS_CHART_SVG_H_
