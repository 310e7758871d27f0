#include "harness/runner/group_scores.h"

#include <algorithm>
#include <limits>

namespace sigma::harness {

std::map<std::string, std::vector<std::string>> SplitBenchmarks(
    const tasks::TaskRegistry& registry) {
  std::map<std::string, std::vector<std::string>> out;
  if (auto bbh = registry.groups().find("bbh"); bbh != registry.groups().end()) out.insert(*bbh);
  return out;
}

std::string GroupLabel(const GroupScore& score) { return score.group + " (group)"; }

int LabelWidth(const std::vector<TaskSummary>& tasks, const std::vector<GroupScore>& groups,
               int minimum) {
  size_t width = static_cast<size_t>(minimum);
  for (const TaskSummary& t : tasks) width = std::max(width, t.task.size());
  for (const GroupScore& g : groups) width = std::max(width, GroupLabel(g).size());
  return static_cast<int>(width);
}

std::vector<GroupScore> GroupScores(const std::map<std::string, std::vector<std::string>>& wanted,
                                    const std::vector<TaskSummary>& tasks) {
  std::map<std::string, const TaskSummary*> by_name;
  for (const TaskSummary& t : tasks) by_name[t.task] = &t;
  std::vector<GroupScore> out;
  for (const auto& [group, members] : wanted) {
    std::vector<const TaskSummary*> present;
    for (const std::string& m : members) {
      auto it = by_name.find(m);
      if (it != by_name.end() && !it->second->results.empty()) present.push_back(it->second);
    }
    if (present.empty() || present.size() != members.size()) continue;
    for (const store::TaskResultRow& first : present[0]->results) {
      if (!tasks::IsMeanMetric(first.metric)) continue;
      std::vector<tasks::Aggregate> parts;
      for (const TaskSummary* t : present) {
        for (const store::TaskResultRow& r : t->results) {
          if (r.metric != first.metric) continue;
          constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
          parts.push_back(
              {r.metric, r.value.value_or(kNaN), r.stderr_value.value_or(0.0), kNaN, kNaN, r.n});
        }
      }
      if (parts.size() != present.size()) continue;  // a member without this metric
      out.push_back({group, members.size(), tasks::PoolMeans(first.metric, parts)});
    }
  }
  return out;
}

}  // namespace sigma::harness
