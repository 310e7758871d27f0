// TaskRegistry: finds the task configs under a folder and expands --tasks specs into task names.
//
// Layout: <root>/<folder>/config.json, one task per folder (tasks/benchmarks/ holds the general
// benchmarks). A spec is a comma-separated list of task names, group names (a config's "groups")
// and "all"; expansion keeps the order given and drops repeats: "mmlu,arc" -> mmlu, arc_challenge,
// arc_easy. Unknown names are NOT_FOUND listing what exists.
// Thread safety: immutable after Scan.
#ifndef SIGMA_TASKS_REGISTRY_H_
#define SIGMA_TASKS_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "tasks/task.h"

namespace sigma::tasks {

// $SIGMA_TASKS_DIR when set, else the source tree's tasks/benchmarks (compiled in).
std::string DefaultBenchmarksDir();

class TaskRegistry {
 public:
  // Validates every config (without reading datasets). Two configs with one name are an error.
  static StatusOr<TaskRegistry> Scan(const std::string& root);

  std::vector<std::string> TaskNames() const;  // sorted
  // group -> member task names (sorted)
  const std::map<std::string, std::vector<std::string>>& groups() const { return groups_; }
  StatusOr<std::string> ConfigPath(std::string_view task) const;

  StatusOr<std::vector<std::string>> Expand(std::string_view spec) const;
  // Expand, then Task::Load each.
  StatusOr<std::vector<std::unique_ptr<Task>>> LoadTasks(std::string_view spec,
                                                         const TaskLoadOptions& options = {}) const;

 private:
  std::string root_;
  std::map<std::string, std::string> configs_;  // task name -> config path
  std::map<std::string, std::vector<std::string>> groups_;
};

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_REGISTRY_H_
