#include "harness/runner/task_loader.h"

#include <algorithm>
#include <map>
#include <set>

#include "aimicius/cmdgen/minilm_embedder.h"
#include "aimicius/eval_tasks.h"
#include "engine/base/file.h"
#include "harness/cli/flags.h"
#include "harness/runner/group_scores.h"
#include "harness/sandbox/bwrap_sandbox.h"
#include "tasks/code/load.h"
#include "tasks/registry.h"
#include "tasks/task.h"

namespace sigma::harness {
namespace {

const std::vector<std::string> kAimiciusGroup = {"nl2kql", "infrawise", "optiflow", "cmdgen_nvidia",
                                                 "cmdgen_amd"};

// The Sigma paper's problem-solving columns (Table 7): benchmarks and code tasks together.
const std::vector<std::string> kProblemSolvingGroup = {
    "mmlu", "mmlu_pro", "bbh", "humaneval", "mbpp", "hendrycks_math", "gsm8k"};

bool IsAimicius(const std::string& name) {
  return name == "cmdgen" ||
         std::find(kAimiciusGroup.begin(), kAimiciusGroup.end(), name) != kAimiciusGroup.end();
}

// Every task and group --tasks takes, for the error naming an unknown one.
std::string KnownTasks(const tasks::TaskRegistry& registry) {
  std::vector<std::string> names = registry.TaskNames();
  names.insert(names.end(), kAimiciusGroup.begin(), kAimiciusGroup.end());
  names.push_back("cmdgen");
  for (std::string& name : tasks::code::CodeTaskNames()) names.push_back(std::move(name));
  std::sort(names.begin(), names.end());
  std::vector<std::string> groups = {"aimicius", "all", "code", "sigma_problem_solving"};
  for (const auto& [group, members] : registry.groups()) groups.push_back(group);
  std::sort(groups.begin(), groups.end());
  std::string known;
  for (const std::string& name : names) known += (known.empty() ? "" : ", ") + name;
  for (const std::string& group : groups) known += ", " + group + " (group)";
  return known;
}

// data_dir/<task>/test.jsonl when the user gave a data folder (used where it holds that file;
// else the shipped sample set).
std::string AimiciusDataPath(const std::string& data_dir, const std::string& name) {
  if (data_dir.empty()) return "";
  const std::string folder = name.rfind("cmdgen", 0) == 0 ? "cmdgen" : name;
  return data_dir + "/" + folder + "/test.jsonl";
}

StatusOr<tasks::Executor*> Sandbox(LoadedTasks& loaded) {
  if (!loaded.executor) {
    SIGMA_ASSIGN_OR_RETURN(auto sandbox, sandbox::BwrapSandbox::Create());
    loaded.executor = std::move(sandbox);
  }
  return loaded.executor.get();
}

StatusOr<aimicius::Embedder*> Encoder(LoadedTasks& loaded, int threads) {
  if (!loaded.embedder) {
    SIGMA_ASSIGN_OR_RETURN(auto embedder, aimicius::MiniLmEmbedder::Open("", threads));
    loaded.embedder = std::move(embedder);
  }
  return loaded.embedder.get();
}

StatusOr<std::unique_ptr<tasks::EvalTask>> MakeAimicius(const std::string& name, const TaskLoadSpec& spec,
                                                        LoadedTasks& loaded) {
  std::string path = AimiciusDataPath(spec.data_dir, name);
  if (!path.empty() && !FileExists(path)) path.clear();
  if (name == "nl2kql") return aimicius::MakeNl2KqlTask(path);
  if (name == "infrawise") return aimicius::MakeInfrawiseTask(path);
  SIGMA_ASSIGN_OR_RETURN(tasks::Executor * executor, Sandbox(loaded));
  if (name == "optiflow") return aimicius::MakeOptiflowTask(path, executor);
  SIGMA_ASSIGN_OR_RETURN(aimicius::Embedder * embedder, Encoder(loaded, spec.threads));
  const std::string platform = name == "cmdgen" ? "" : name.substr(7);
  return aimicius::MakeCmdGenTask(path, platform, embedder, executor);
}

// Samples are stored, resumed and replayed by (task, document id): two documents with one id
// would be scored as one. The benchmark loader already names the JSONL lines; this covers every
// family.
Status CheckUniqueDocIds(const tasks::EvalTask& task) {
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < task.size(); ++i) {
    const auto [it, inserted] = first.emplace(task.DocId(i), i);
    if (!inserted) {
      return InvalidArgumentError("task ", task.name(), ": documents ", it->second, " and ", i,
                                  " have the same id '", it->first, "'");
    }
  }
  return Status::Ok();
}

}  // namespace

LoadedTasks::LoadedTasks() = default;
LoadedTasks::LoadedTasks(LoadedTasks&&) noexcept = default;
LoadedTasks& LoadedTasks::operator=(LoadedTasks&&) noexcept = default;
LoadedTasks::~LoadedTasks() = default;

StatusOr<LoadedTasks> LoadEvalTasks(const TaskLoadSpec& spec) {
  const std::string root = spec.tasks_dir.empty() ? tasks::DefaultBenchmarksDir() : spec.tasks_dir;
  SIGMA_ASSIGN_OR_RETURN(tasks::TaskRegistry registry, tasks::TaskRegistry::Scan(root));
  // Split the spec: AIMICIUS and code names here, the rest goes to the benchmark registry (in
  // order); "all" is every task of the three.
  std::vector<std::string> names;
  for (const std::string& item : cli::SplitCommaList(spec.tasks)) {
    if (item == "all") {
      for (const std::string& name : registry.TaskNames()) names.push_back(name);
      names.insert(names.end(), kAimiciusGroup.begin(), kAimiciusGroup.end());
      names.insert(names.end(), tasks::code::CodeGroup().begin(), tasks::code::CodeGroup().end());
    } else if (item == "aimicius") {
      names.insert(names.end(), kAimiciusGroup.begin(), kAimiciusGroup.end());
    } else if (item == "code") {
      names.insert(names.end(), tasks::code::CodeGroup().begin(), tasks::code::CodeGroup().end());
    } else if (item == "sigma_problem_solving") {  // the paper's problem-solving table
      names.insert(names.end(), kProblemSolvingGroup.begin(), kProblemSolvingGroup.end());
    } else {
      names.push_back(item);
    }
  }
  if (names.empty()) return InvalidArgumentError("--tasks: no task named");
  tasks::TaskLoadOptions options;
  options.data_dir = spec.data_dir;
  options.num_fewshot = spec.num_fewshot;
  options.apply_chat_template = spec.apply_chat_template;
  options.system_instruction = spec.system_instruction;
  options.fewshot_as_multiturn = spec.fewshot_as_multiturn;
  LoadedTasks loaded;
  std::set<std::string> seen;
  for (const std::string& item : names) {
    if (IsAimicius(item)) {
      if (!seen.insert(item).second) continue;
      SIGMA_ASSIGN_OR_RETURN(auto task, MakeAimicius(item, spec, loaded));
      if (spec.ChangesPrompts()) loaded.fixed_prompts.push_back(task->name());
      loaded.tasks.push_back(std::move(task));
      continue;
    }
    if (tasks::code::IsCodeTaskSpec(item)) {  // humaneval, mbpp (+ _chat, :n=N): tasks/code
      if (!seen.insert(item).second) continue;
      SIGMA_ASSIGN_OR_RETURN(tasks::Executor * executor, Sandbox(loaded));
      SIGMA_ASSIGN_OR_RETURN(auto task, tasks::code::LoadCodeTask(item, spec.data_dir, executor));
      if (spec.ChangesPrompts()) loaded.fixed_prompts.push_back(task->name());
      loaded.tasks.push_back(std::move(task));
      continue;
    }
    StatusOr<std::vector<std::string>> expanded = registry.Expand(item);
    if (!expanded.ok()) {
      if (expanded.status().code() != StatusCode::kNotFound) return expanded.status();
      return NotFoundError("--tasks: unknown task or group '", item, "' (known: ",
                           KnownTasks(registry), ")");
    }
    if (auto group = registry.groups().find(item); group != registry.groups().end()) {
      loaded.score_groups.insert(*group);
    }
    // A task named twice (itself and in a group) is loaded once.
    for (const std::string& name : *expanded) {
      if (!seen.insert(name).second) continue;
      SIGMA_ASSIGN_OR_RETURN(const std::string path, registry.ConfigPath(name));
      SIGMA_ASSIGN_OR_RETURN(auto task, tasks::Task::Load(path, options));
      loaded.tasks.push_back(std::make_unique<tasks::ConfigEvalTask>(std::move(task)));
    }
  }
  for (const auto& task : loaded.tasks) SIGMA_RETURN_IF_ERROR(CheckUniqueDocIds(*task));
  // A benchmark split into tasks (BBH) is scored as one, however its tasks were named.
  for (const auto& group : SplitBenchmarks(registry)) {
    const bool all = std::all_of(group.second.begin(), group.second.end(),
                                 [&](const std::string& name) { return seen.count(name) > 0; });
    if (all) loaded.score_groups.insert(group);
  }
  return loaded;
}

}  // namespace sigma::harness
