// Scores of task groups: a group's mean metrics pooled over its members' samples, as
// lm-evaluation-harness aggregates its groups (BBH's 27 subtasks are one benchmark, scored over
// all their samples). tasks::PoolMeans says how.
// Thread safety: a pure function.
#ifndef SIGMA_HARNESS_RUNNER_GROUP_SCORES_H_
#define SIGMA_HARNESS_RUNNER_GROUP_SCORES_H_

#include <map>
#include <string>
#include <vector>

#include "harness/runner/runner.h"
#include "tasks/metrics.h"
#include "tasks/registry.h"

namespace sigma::harness {

struct GroupScore {
  std::string group;
  size_t members = 0;
  tasks::Aggregate aggregate;
};

// The registry's groups that are one benchmark split into tasks (BBH's 27 subtasks): a run that
// holds all of a group's tasks reports the group's pooled score whether or not it named it.
std::map<std::string, std::vector<std::string>> SplitBenchmarks(
    const tasks::TaskRegistry& registry);

// A group's row label in score tables, "<group> (group)".
std::string GroupLabel(const GroupScore& score);

// The width of a score table's first column: the longest task name or group label, at least
// `minimum`.
int LabelWidth(const std::vector<TaskSummary>& tasks, const std::vector<GroupScore>& groups,
               int minimum);

// For each group in `wanted` (name -> member tasks) whose members all have results in `tasks`:
// one score per mean metric that every member reports, in the first member's metric order.
std::vector<GroupScore> GroupScores(const std::map<std::string, std::vector<std::string>>& wanted,
                                    const std::vector<TaskSummary>& tasks);

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_RUNNER_GROUP_SCORES_H_
