// --tasks resolution across the task families (benchmark groups and the groups that span the
// benchmarks and the code tasks), and the groups a run reports a pooled score for.
#include "harness/runner/task_loader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>

#include "harness/runner/group_scores.h"

namespace sigma::harness {
namespace {

std::vector<std::string> Names(const LoadedTasks& loaded) {
  std::vector<std::string> names;
  for (const auto& task : loaded.tasks) names.push_back(task->name());
  return names;
}

TEST(TaskLoaderTest, ProblemSolvingIsThePapersTableAcrossFamilies) {
  TaskLoadSpec spec;
  spec.tasks = "sigma_problem_solving";
  auto loaded = LoadEvalTasks(spec);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const std::vector<std::string> names = Names(*loaded);
  ASSERT_EQ(names.size(), 33u);  // mmlu, mmlu_pro, 27 BBH subtasks, humaneval, mbpp, MATH, gsm8k
  EXPECT_EQ(names.front(), "mmlu");
  EXPECT_EQ(names[1], "mmlu_pro");
  EXPECT_EQ(names[2], "bbh_boolean_expressions");
  EXPECT_EQ(std::vector<std::string>(names.end() - 4, names.end()),
            (std::vector<std::string>{"humaneval", "mbpp", "hendrycks_math", "gsm8k"}));
  // Named again beside the group, a task is loaded once.
  spec.tasks = "gsm8k,sigma_problem_solving,bbh_navigate";
  auto again = LoadEvalTasks(spec);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->tasks.size(), 33u);
  EXPECT_EQ(Names(*again).front(), "gsm8k");
}

TEST(TaskLoaderTest, GeneralGroupsAndUnknownNames) {
  TaskLoadSpec spec;
  spec.tasks = "sigma_general";
  auto general = LoadEvalTasks(spec);
  ASSERT_TRUE(general.ok()) << general.status().ToString();
  const std::vector<std::string> names = Names(*general);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()),
            (std::set<std::string>{"arc_challenge", "arc_easy", "boolq", "hellaswag", "logiqa",
                                   "openbookqa", "piqa", "sciq", "winogrande"}));
  spec.tasks = "sigma_problem_solvin";
  auto unknown = LoadEvalTasks(spec);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("sigma_problem_solving (group)"), std::string::npos)
      << unknown.status().ToString();
  EXPECT_NE(unknown.status().message().find("bbh (group)"), std::string::npos);
}

TEST(TaskLoaderTest, GroupsNamedAndBbhGetPooledScores) {
  TaskLoadSpec spec;
  spec.tasks = "arc,boolq";
  auto arc = LoadEvalTasks(spec);
  ASSERT_TRUE(arc.ok()) << arc.status().ToString();
  EXPECT_EQ(
      arc->score_groups,
      (std::map<std::string, std::vector<std::string>>{{"arc", {"arc_challenge", "arc_easy"}}}));
  // BBH's subtasks named one by one are still BBH; sigma_problem_solving names the group.
  std::string every_bbh;
  spec.tasks = "sigma_problem_solving";
  auto problem_solving = LoadEvalTasks(spec);
  ASSERT_TRUE(problem_solving.ok()) << problem_solving.status().ToString();
  ASSERT_EQ(problem_solving->score_groups.size(), 1u);
  for (const std::string& name : problem_solving->score_groups.at("bbh")) {
    every_bbh += (every_bbh.empty() ? "" : ",") + name;
  }
  spec.tasks = every_bbh;
  auto one_by_one = LoadEvalTasks(spec);
  ASSERT_TRUE(one_by_one.ok());
  EXPECT_EQ(one_by_one->score_groups.count("bbh"), 1u);
  spec.tasks = "bbh_navigate,bbh_snarks";  // not all of them: no BBH score
  EXPECT_TRUE(LoadEvalTasks(spec)->score_groups.empty());
}

TEST(GroupScoresTest, MeanMetricsEveryMemberReportsArePooled) {
  const auto row = [](const char* metric, double value, double se, int64_t n) {
    store::TaskResultRow r;
    r.metric = metric;
    r.value = value;
    r.stderr_value = se;
    r.n = n;
    return r;
  };
  std::vector<TaskSummary> tasks(3);
  tasks[0].task = "a";
  tasks[0].results = {row("acc", 0.3, 0.15, 10), row("acc_norm", 0.4, 0.1, 10),
                      row("perplexity", 5, 1, 10)};
  tasks[1].task = "b";
  tasks[1].results = {row("acc", 0.75, 0.25, 4), row("perplexity", 6, 1, 4)};
  tasks[2].task = "c";
  const std::map<std::string, std::vector<std::string>> groups = {
      {"ab", {"a", "b"}}, {"abc", {"a", "b", "c"}}};  // c has no results: abc gets no score
  const std::vector<GroupScore> scores = GroupScores(groups, tasks);
  ASSERT_EQ(scores.size(), 1u);  // acc only: b has no acc_norm, perplexity is no mean
  EXPECT_EQ(scores[0].group, "ab");
  EXPECT_EQ(scores[0].members, 2u);
  EXPECT_EQ(scores[0].aggregate.metric, "acc");
  EXPECT_EQ(scores[0].aggregate.n, 14);
  EXPECT_NEAR(scores[0].aggregate.value, (10 * 0.3 + 4 * 0.75) / 14, 1e-15);
  EXPECT_NEAR(scores[0].aggregate.stderr_value,
              std::sqrt((9 * 10 * 0.15 * 0.15 + 3 * 4 * 0.25 * 0.25) / 12 / 14), 1e-15);
}

}  // namespace
}  // namespace sigma::harness
