// EvalTask: the interface the runner drives. A config-driven benchmark (tasks::Task, wrapped by
// ConfigEvalTask below) and the AIMICIUS tasks (aimicius/) both implement it, so the runner, the
// store and the reports treat every task alike.
//
// Documents are addressed by position i in [0, size()); DocId(i) is the stable id stored with the
// sample (resume skips stored ids). Score() may run generated code through an Executor it was
// given at construction. Errors a backend or scorer reports for one document are data
// (SampleScore::error); a Status error means the task itself is broken for that document.
// Thread safety: implementations must allow concurrent const calls.
#ifndef SIGMA_TASKS_EVAL_TASK_H_
#define SIGMA_TASKS_EVAL_TASK_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "tasks/metrics.h"
#include "tasks/task.h"
#include "tasks/types.h"

namespace sigma::tasks {

class EvalTask {
 public:
  virtual ~EvalTask() = default;
  virtual const std::string& name() const = 0;
  // Stored in run_tasks.version; changes whenever prompts, data or scoring change.
  virtual std::string version() const = 0;
  // SHA-256 over everything that determines the task's requests and scores (run fingerprint).
  virtual const std::string& hash() const = 0;
  // Settings a reader of the results needs (thresholds, decoding), as a JSON object.
  virtual std::string SettingsJson() const { return "{}"; }

  virtual size_t size() const = 0;
  virtual std::string DocId(size_t i) const = 0;
  virtual StatusOr<std::string> Prompt(size_t i) const = 0;
  virtual StatusOr<std::vector<Request>> BuildRequests(size_t i) const = 0;
  // A second turn built from the first turn's responses (Optiflow: "improve this plan"). The
  // runner calls it only when no first response failed; empty = no second turn. Score() then gets
  // the first turn's responses followed by the second turn's.
  virtual StatusOr<std::vector<Request>> FollowUpRequests(size_t i,
                                                          const std::vector<Response>& first) const {
    return std::vector<Request>{};
  }
  virtual StatusOr<SampleScore> Score(size_t i, const std::vector<Response>& responses) const = 0;
  virtual std::vector<Aggregate> AggregateScores(const std::vector<SampleScore>& samples) const = 0;
};

// A tasks::Task (JSON config + JSONL data) as an EvalTask.
class ConfigEvalTask : public EvalTask {
 public:
  explicit ConfigEvalTask(std::unique_ptr<Task> task) : task_(std::move(task)) {}

  const std::string& name() const override { return task_->name(); }
  std::string version() const override { return task_->version(); }
  const std::string& hash() const override { return task_->hash(); }
  size_t size() const override { return task_->docs().size(); }
  std::string DocId(size_t i) const override { return task_->docs()[i].id; }
  StatusOr<std::string> Prompt(size_t i) const override {
    return task_->BuildPrompt(task_->docs()[i]);
  }
  StatusOr<std::vector<Request>> BuildRequests(size_t i) const override {
    return task_->BuildRequests(task_->docs()[i]);
  }
  StatusOr<SampleScore> Score(size_t i, const std::vector<Response>& responses) const override {
    return task_->Score(task_->docs()[i], responses);
  }
  std::vector<Aggregate> AggregateScores(const std::vector<SampleScore>& samples) const override {
    return task_->AggregateScores(samples);
  }

  const Task& task() const { return *task_; }

 private:
  std::unique_ptr<Task> task_;
};

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_EVAL_TASK_H_
