// Under --apply-chat-template the general benchmarks send the chat messages EleutherAI's
// lm-evaluation-harness sends under its --apply_chat_template: the same system message (the
// instruction, then the task's description), the same user and assistant turns with and without
// --fewshot_as_multiturn, and the same continuations (no target delimiter) and stop strings, for
// zero-shot multiple choice (ARC-Easy), choices completing the context (Winogrande), 5-shot
// generation (GSM8K) and 5-shot multiple choice with a description (MMLU).
// Reference: tests/data/tasks/lm_eval_chat_requests.jsonl, written by
// tests/oracle/lm_eval_requests.py --chat with lm-eval 0.4.13's own task configs.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "tasks/jsonl.h"
#include "tasks/registry.h"
#include "tasks/task.h"

namespace sigma::tasks {
namespace {

TEST(LmEvalChatParityTest, ChatsAreLmEvalsUnderItsChatTemplate) {
  const std::string path =
      std::string(SIGMA_SOURCE_DIR) + "/tests/data/tasks/lm_eval_chat_requests.jsonl";
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto rows = ParseJsonl(*text, path, "");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  auto registry = TaskRegistry::Scan(std::string(SIGMA_SOURCE_DIR) + "/tasks/benchmarks");
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  // Our tasks under each setting, loaded once: (task, multiturn, instruction).
  std::map<std::tuple<std::string, bool, std::string>, std::unique_ptr<Task>> tasks;
  std::map<std::string, int> compared;
  for (const Document& row : *rows) {
    const rapidjson::Value& f = *row.fields;
    const std::string name = f["task"].GetString();
    const bool multiturn = f["multiturn"].GetBool();
    const std::string instruction = f["system_instruction"].GetString();
    SCOPED_TRACE(name + " doc " + std::to_string(f["doc"].GetInt64()) +
                 (multiturn ? " multiturn" : "") + (instruction.empty() ? "" : " instruction"));
    auto& task = tasks[{name, multiturn, instruction}];
    if (task == nullptr) {
      TaskLoadOptions options;
      options.apply_chat_template = true;
      options.fewshot_as_multiturn = multiturn;
      options.system_instruction = instruction;
      // The reference is zero-shot where lm-eval's own config is (ARC, Winogrande).
      if (name == "arc_easy" || name == "winogrande") options.num_fewshot = 0;
      auto loaded = Task::Load(*registry->ConfigPath(name), options);
      ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
      task = std::move(*loaded);
    }
    const Document& doc = task->docs().at(static_cast<size_t>(f["doc"].GetInt64()));
    auto requests = task->BuildRequests(doc);
    ASSERT_TRUE(requests.ok()) << requests.status().ToString();
    const auto& expected = f["requests"].GetArray();
    // lm-eval makes one request a choice; a multiple-choice request here holds them all, one a
    // continuation (Winogrande: one request a choice, as lm-eval).
    std::vector<std::pair<const Request*, size_t>> ours;
    for (const Request& r : *requests) {
      for (size_t c = 0; c < std::max<size_t>(r.continuations.size(), 1); ++c)
        ours.push_back({&r, c});
    }
    ASSERT_EQ(ours.size(), expected.Size());
    for (rapidjson::SizeType i = 0; i < expected.Size(); ++i) {
      const rapidjson::Value& e = expected[i];
      const Request& r = *ours[i].first;
      EXPECT_TRUE(e["generation_prompt"].GetBool());  // what the engine's rendering adds
      const auto& chat = e["chat"].GetArray();
      ASSERT_EQ(r.chat.size(), chat.Size()) << "request " << i;
      for (rapidjson::SizeType m = 0; m < chat.Size(); ++m) {
        EXPECT_EQ(r.chat[m].role, chat[m]["role"].GetString()) << "request " << i << " turn " << m;
        EXPECT_EQ(r.chat[m].content, chat[m]["content"].GetString())
            << "request " << i << " turn " << m;
      }
      if (e.HasMember("until")) {
        std::vector<std::string> until;
        for (const auto& stop : e["until"].GetArray()) until.push_back(stop.GetString());
        EXPECT_EQ(r.stop, until);
      } else {
        EXPECT_EQ(r.continuations.at(ours[i].second), e["continuation"].GetString());
      }
    }
    ++compared[name];
  }
  // Every task under all four settings.
  for (const char* name : {"arc_easy", "winogrande", "gsm8k", "mmlu"}) {
    EXPECT_GE(compared[name], 8) << name;
  }
}

}  // namespace
}  // namespace sigma::tasks
