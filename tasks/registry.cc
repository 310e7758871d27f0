#include "tasks/registry.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "engine/base/file.h"
#include "tasks/task_config.h"

#ifndef SIGMA_TASKS_BENCHMARKS_DIR
#define SIGMA_TASKS_BENCHMARKS_DIR "tasks/benchmarks"
#endif

namespace sigma::tasks {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string DefaultBenchmarksDir() {
  const char* env = std::getenv("SIGMA_TASKS_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return SIGMA_TASKS_BENCHMARKS_DIR;
}

StatusOr<TaskRegistry> TaskRegistry::Scan(const std::string& root) {
  namespace fs = std::filesystem;
  if (!IsDirectory(root)) return NotFoundError(root, ": task folder not found");
  TaskRegistry registry;
  registry.root_ = root;
  std::vector<fs::path> folders;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "config.json")) {
      folders.push_back(entry.path());
    }
  }
  if (ec) return InternalError(root, ": cannot list: ", ec.message());
  std::sort(folders.begin(), folders.end());
  for (const fs::path& folder : folders) {
    const std::string path = (folder / "config.json").string();
    SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    SIGMA_ASSIGN_OR_RETURN(TaskConfig config, ParseTaskConfig(text, path));
    auto [it, inserted] = registry.configs_.emplace(config.name, path);
    if (!inserted) {
      return InvalidArgumentError(path, ": task name '", config.name, "' is also used by ",
                                  it->second);
    }
    for (const std::string& group : config.groups) {
      registry.groups_[group].push_back(config.name);
    }
  }
  for (auto& [group, members] : registry.groups_) {
    if (registry.configs_.count(group) > 0) {
      return InvalidArgumentError(root, ": '", group, "' is both a task and a group name");
    }
    std::sort(members.begin(), members.end());
  }
  return registry;
}

std::vector<std::string> TaskRegistry::TaskNames() const {
  std::vector<std::string> names;
  for (const auto& [name, path] : configs_) names.push_back(name);
  return names;
}

StatusOr<std::string> TaskRegistry::ConfigPath(std::string_view task) const {
  auto it = configs_.find(std::string(task));
  if (it == configs_.end()) return NotFoundError("unknown task '", task, "'");
  return it->second;
}

StatusOr<std::vector<std::string>> TaskRegistry::Expand(std::string_view spec) const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& name) {
    if (seen.insert(name).second) out.push_back(name);
  };
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string_view::npos) comma = spec.size();
    const std::string item(Trim(spec.substr(pos, comma - pos)));
    pos = comma + 1;
    if (item.empty()) continue;
    if (item == "all") {
      for (const auto& [name, path] : configs_) add(name);
    } else if (configs_.count(item) > 0) {
      add(item);
    } else if (auto g = groups_.find(item); g != groups_.end()) {
      for (const std::string& name : g->second) add(name);
    } else {
      std::string known;
      for (const auto& [name, path] : configs_) known += (known.empty() ? "" : ", ") + name;
      for (const auto& [name, members] : groups_) known += ", " + name + " (group)";
      return NotFoundError("--tasks: unknown task or group '", item, "' (known: ", known, ")");
    }
  }
  if (out.empty()) return InvalidArgumentError("--tasks: no task named in '", spec, "'");
  return out;
}

StatusOr<std::vector<std::unique_ptr<Task>>> TaskRegistry::LoadTasks(
    std::string_view spec, const TaskLoadOptions& options) const {
  SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> names, Expand(spec));
  std::vector<std::unique_ptr<Task>> tasks;
  for (const std::string& name : names) {
    SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<Task> task, Task::Load(configs_.at(name), options));
    tasks.push_back(std::move(task));
  }
  return tasks;
}

}  // namespace sigma::tasks
