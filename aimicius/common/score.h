// TaskScore: what an AIMICIUS scorer returns for one sample, shaped to map one-to-one onto
// tasks::SampleScore (metrics, stats, extracted answer) once the task framework wraps the scorers.
//
// Per-sample metric values are in [0, 1] (binary metrics are 0 or 1); a task's reported score is
// the mean over samples times 100, as in the paper (reference/paper.md §6.0). A metric that could
// not be measured for a sample (e.g. a CMDGen output score where the tool is absent) is left out
// of `metrics`, never written as 0; `stats` says why.
// Thread safety: a value.
#ifndef SIGMA_AIMICIUS_COMMON_SCORE_H_
#define SIGMA_AIMICIUS_COMMON_SCORE_H_

#include <map>
#include <string>

namespace sigma::aimicius {

struct TaskScore {
  std::map<std::string, double> metrics;  // "syntax_accuracy" -> 1, ...
  std::map<std::string, double> stats;    // raw numbers: latencies, counts, flags
  std::string extracted;                  // the answer the scorer read from the output
  std::string detail;                     // for people: why a metric failed (parse error, ...)
};

}  // namespace sigma::aimicius

#endif  // SIGMA_AIMICIUS_COMMON_SCORE_H_
