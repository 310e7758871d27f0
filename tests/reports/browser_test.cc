// Opens a rendered HTML report in headless Chromium (Debian package `chromium`) and checks what a
// user would see: charts (svg) and tables present, the sample filters working (driven through the
// URL fragment), hostile outputs inert, and no console messages at all (errors, CSP violations,
// or the hostile output's console.error calls). Screenshots are kept under
// <build>/test-artifacts/reports/. Skips when chromium is not installed.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <regex>

#include <gtest/gtest.h>

#include "engine/base/file.h"
#include "reports/report.h"
#include "tests/reports/fixture.h"

namespace sigma::reports {
namespace {

using testing::ScratchDir;

std::string FindChromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (FileExists(path)) return path;
  }
  return "";
}

struct BrowserResult {
  int exit_code = -1;
  std::string dom;
  std::string log;
};

// Runs chromium headless on `url`; extra flags (e.g. --dump-dom or --screenshot=...).
BrowserResult RunChromium(const std::string& chromium, const ScratchDir& dir, const std::string& url,
                          const std::string& flags) {
  const std::string dom_file = dir.File("dom.html"), log_file = dir.File("chromium.log");
  const std::string cmd = "timeout 120 " + chromium +
                          " --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions"
                          " --user-data-dir=" + dir.File("profile") +
                          " --enable-logging=stderr --v=0 " +
                          (flags.find("--window-size") == std::string::npos ? "--window-size=1400,2200 " : "") + flags + " '" + url +
                          "' > " + dom_file + " 2> " + log_file;
  BrowserResult r;
  const int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto dom = ReadFile(dom_file);
  auto log = ReadFile(log_file);
  r.dom = dom.ok() ? *dom : "";
  r.log = log.ok() ? *log : "";
  return r;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = 0; (p = text.find(needle, p)) != std::string::npos; p += needle.size()) ++n;
  return n;
}

// Lines of the browser log that report page console output or script errors.
std::string ConsoleLines(const std::string& log) {
  std::string out;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    if (line.find("CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos ||
        line.find("Content Security Policy") != std::string::npos) {
      out += line + "\n";
    }
    start = end + 1;
  }
  return out;
}

int ShownCount(const std::string& dom) {
  std::smatch m;
  if (!std::regex_search(dom, m, std::regex("<span id=\"shown\">([0-9]+)</span>"))) return -1;
  return std::stoi(m[1]);
}

TEST(ReportBrowserTest, RendersChartsTablesAndFiltersWithoutConsoleErrors) {
  const std::string chromium = FindChromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium is not installed (apt-get install chromium; scripts/setup.sh does it)";
  }
  ScratchDir dir;
  testing::FixtureShape shape;
  shape.runs = 4;
  ASSERT_TRUE(testing::BuildFixtureDb(dir.File("results.db"), shape).ok());
  ReportOptions options;
  options.max_samples = 10;
  const std::string html_path = dir.File("report.html");
  ASSERT_TRUE(WriteReport(dir.File("results.db"), html_path, ReportFormat::kHtml, options).ok());
  const std::string url = "file://" + html_path;

  const BrowserResult all = RunChromium(chromium, dir, url, "--dump-dom");
  ASSERT_EQ(all.exit_code, 0) << all.log;
  EXPECT_EQ(ConsoleLines(all.log), "");
  EXPECT_GE(Count(all.dom, "<svg"), 6u);
  EXPECT_GE(Count(all.dom, "<circle"), 20u);
  EXPECT_GE(Count(all.dom, "<table"), 4u);
  // 4 runs: 3 model runs x 3 tasks + the replay's 2 tasks, 10 samples each.
  EXPECT_EQ(ShownCount(all.dom), 110);
  // The hostile output stayed text: no element it could have created exists.
  EXPECT_EQ(all.dom.find("<img src=\"x\""), std::string::npos);
  EXPECT_EQ(all.dom.find("console.error('pwned')</script>"), std::string::npos);
  EXPECT_NE(all.dom.find("&lt;script&gt;console.error('pwned')&lt;/script&gt;"), std::string::npos);

  // Filters driven through the URL fragment, as a shared link would.
  const BrowserResult errors = RunChromium(chromium, dir, url + "#ok=e", "--dump-dom");
  EXPECT_EQ(ShownCount(errors.dom), 1) << "gqa16 has one errored sample among the shown ones";
  const BrowserResult task = RunChromium(chromium, dir, url + "#task=gsm8k&run=1", "--dump-dom");
  EXPECT_EQ(ShownCount(task.dom), 10);
  const BrowserResult search = RunChromium(chromium, dir, url + "#q=pwned", "--dump-dom");
  EXPECT_EQ(ShownCount(search.dom), 3) << "the hostile output is in gsm8k doc 3 of each model run";
  const BrowserResult verdict = RunChromium(chromium, dir, url + "#verdict=TIMEOUT&run=2", "--dump-dom");
  EXPECT_EQ(ShownCount(verdict.dom), 2) << "cmdgen docs 0 and 7 among the first 10";
  EXPECT_EQ(ConsoleLines(errors.log + task.log + search.log + verdict.log), "");

  // Screenshots as test artifacts.
  const std::string artifacts = std::string(SIGMA_BINARY_DIR) + "/test-artifacts/reports";
  ASSERT_TRUE(MakeDirectories(artifacts).ok());
  const BrowserResult shot = RunChromium(chromium, dir, url, "--screenshot=" + artifacts + "/report.png");
  EXPECT_EQ(shot.exit_code, 0) << shot.log;
  EXPECT_TRUE(FileExists(artifacts + "/report.png"));
  // The whole page with the sample browser (a headless screenshot does not follow scrolling).
  const BrowserResult shot2 = RunChromium(chromium, dir, url,
                                          "--window-size=1400,9000 --screenshot=" + artifacts + "/report_full.png");
  EXPECT_EQ(shot2.exit_code, 0);
  std::system(("cp " + html_path + " " + artifacts + "/report.html").c_str());
}

}  // namespace
}  // namespace sigma::reports
