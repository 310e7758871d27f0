// The per-sample browser of the HTML report (internal to reports/): a table of the shown samples
// (prompt, output, extracted answer, target, verdict, scores, timing; a recorded replay output
// beside the model's where one exists) with filter controls that the report's inline script reads
// (task, run, correct/incorrect/error/ungraded, verdict, text search; also settable from the URL
// fragment, e.g. report.html#task=gsm8k&ok=0). Thread safety: pure functions.
#ifndef SIGMA_REPORTS_HTML_SAMPLES_H_
#define SIGMA_REPORTS_HTML_SAMPLES_H_

#include <string>

#include "reports/report.h"

namespace sigma::reports {

void AppendSampleBrowser(const ReportData& data, std::string* html);

}  // namespace sigma::reports

#endif  // SIGMA_REPORTS_HTML_SAMPLES_H_
