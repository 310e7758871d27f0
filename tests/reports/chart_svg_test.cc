#include "reports/chart_svg.h"

#include <gtest/gtest.h>

#include <string>

namespace sigma::reports {
namespace {

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

Chart ThreeRows() {
  Chart chart;
  chart.title = "Headline <metric>";
  chart.y_label = "score, %";
  chart.x_categories = {"arc_easy", "<script>alert(1)</script>",
                        "bbh_tracking_shuffled_objects_seven_objects"};
  ChartSeries a{"run 1 <model>", {}, false};
  a.points.push_back({0, 0, std::nullopt, std::nullopt, "arc_easy acc = 0"});
  a.points.push_back({1, 100, 90.0, 100.0, "second"});
  a.points.push_back({7, 50, std::nullopt, std::nullopt, "no such row"});
  ChartSeries b{"run 2", {}, false};
  b.points.push_back({2, 25, 10.0, 40.0, "third"});
  chart.series = {a, b};
  return chart;
}

// One row per category, its height growing with them; labels escaped and long ones shortened
// with the whole name as a tooltip; a point per (series, row) that exists, its error bar along
// the value axis.
TEST(RowChartTest, LaysOutOneRowPerCategory) {
  const std::string svg = RenderSvgRowChart(ThreeRows(), 860);
  const int height = 40 + 3 * 18 + 40 + (2 * 14 + 8);  // rows, then a legend line
                                                       // per series
  EXPECT_NE(svg.find("viewBox=\"0 0 860 " + std::to_string(height) + ".0\""), std::string::npos)
      << svg;
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(svg.find(">bbh_tracking_shuffled_objects_se..<title>"
                     "bbh_tracking_shuffled_objects_seven_objects</title>"),
            std::string::npos)
      << svg;
  EXPECT_EQ(Count(svg, "<circle"), 3u);  // the point past the last row is left out
  EXPECT_EQ(svg.find("no such row"), std::string::npos);
  EXPECT_NE(svg.find("Headline &lt;metric&gt;"), std::string::npos);
  EXPECT_NE(svg.find("run 1 &lt;model&gt;"), std::string::npos);
  // Value 0 sits on the label column's edge (x = 230), 100 near the right margin (860 - 24).
  EXPECT_NE(svg.find("<circle cx=\"230.0\""), std::string::npos) << svg;
  const size_t at = svg.find("<title>run 1 &lt;model&gt;: second</title>");
  ASSERT_NE(at, std::string::npos);
  const size_t cx = svg.rfind("<circle cx=\"", at);
  const double x = std::stod(svg.substr(cx + 12));
  EXPECT_GT(x, 800);
  EXPECT_LE(x, 836);
  // The value axis' label under the rows, the legend under it.
  EXPECT_NE(svg.find("y=\"126.0\" text-anchor=\"middle\">score, %</text>"), std::string::npos)
      << svg;
  EXPECT_NE(svg.find("<text class=\"legend\" x=\"244.0\" y=\"144.0\">run 1 &lt;model&gt;"),
            std::string::npos)
      << svg;
  // Each row's label is vertically centred on its row: row 0 at 40 + 9 (+4 for the baseline).
  EXPECT_NE(svg.find("y=\"53.0\" text-anchor=\"end\">arc_easy"), std::string::npos) << svg;
}

// A legend entry too long for the chart's width keeps the file names of the paths in it (what
// tells the series apart), and the whole name as its tooltip; one that fits is shown whole.
TEST(ChartLegendTest, LongNamesKeepTheFileNamesOfTheirPaths) {
  Chart chart;
  chart.x_log = true;
  chart.series.push_back(
      {"models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf · run 1 samples",
       {{512, 290, std::nullopt, std::nullopt, "a"}}});
  chart.series.push_back({"replay:/data/recorded/gpt4-outputs.jsonl · run 2",
                          {{512, 1, std::nullopt, std::nullopt, "b"}}});
  chart.series.push_back({"short name", {{1024, 280, std::nullopt, std::nullopt, "c"}}});
  const std::string svg = RenderSvgChart(chart, 400, 300);
  EXPECT_NE(svg.find(">SmolLM2-135M-Instruct.Q4_1 · run 1 samples<title>models/smollm2-135m-"
                     "instruct/SmolLM2-135M-Instruct.Q4_1.gguf · run 1 samples</title>"),
            std::string::npos)
      << svg;
  EXPECT_NE(svg.find(">replay:gpt4-outputs · run 2<title>"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">short name<title>short name</title>"), std::string::npos);
  // The legend sits below the plot, a line a series: the element 3 * 14 + 8 taller.
  EXPECT_NE(svg.find("viewBox=\"0 0 400 350.0\""), std::string::npos);
  const std::string wide = RenderSvgChart(chart);
  EXPECT_NE(wide.find(">models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf · run 1 "
                      "samples<title>"),
            std::string::npos);
}

// Rows grow with the series dodged in them.
TEST(RowChartTest, RowsGrowWithTheSeries) {
  EXPECT_EQ(RowChartRowHeight(1), 18.0);
  EXPECT_EQ(RowChartRowHeight(2), 18.0);
  EXPECT_EQ(RowChartRowHeight(4), 28.0);
  Chart chart = ThreeRows();
  chart.series.push_back(chart.series[0]);
  chart.series.push_back(chart.series[1]);
  const std::string svg = RenderSvgRowChart(chart, 860);
  EXPECT_NE(svg.find("viewBox=\"0 0 860 228.0\""), std::string::npos);  // 40 + 3 * 28 + 40 + 64
}

TEST(RowChartTest, WithoutPointsSaysNoData) {
  Chart chart = ThreeRows();
  chart.series.clear();
  EXPECT_NE(RenderSvgRowChart(chart).find(">no data</text>"), std::string::npos);
  chart = ThreeRows();
  chart.x_categories.clear();
  EXPECT_NE(RenderSvgRowChart(chart).find(">no data</text>"), std::string::npos);
}

}  // namespace
}  // namespace sigma::reports
