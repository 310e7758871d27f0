#include "harness/runner/task_loader.h"

#include "tasks/registry.h"

namespace sigma::harness {

StatusOr<std::vector<std::unique_ptr<tasks::EvalTask>>> LoadEvalTasks(const TaskLoadSpec& spec) {
  const std::string root = spec.tasks_dir.empty() ? tasks::DefaultBenchmarksDir() : spec.tasks_dir;
  SIGMA_ASSIGN_OR_RETURN(tasks::TaskRegistry registry, tasks::TaskRegistry::Scan(root));
  tasks::TaskLoadOptions options;
  options.data_dir = spec.data_dir;
  SIGMA_ASSIGN_OR_RETURN(auto loaded, registry.LoadTasks(spec.tasks, options));
  std::vector<std::unique_ptr<tasks::EvalTask>> out;
  for (auto& task : loaded) out.push_back(std::make_unique<tasks::ConfigEvalTask>(std::move(task)));
  return out;
}

}  // namespace sigma::harness
