// --tasks resolution across the task families: benchmark groups and the groups that span the
// benchmarks and the code tasks.
#include "harness/runner/task_loader.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

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

}  // namespace
}  // namespace sigma::harness
