// `sigma-eval prompts` previews what `run` sends: the same prompt bytes and prompt token count as
// the sample a run stores for that document, with run's --max-gen-toks and --num-fewshot; --doc
// picks one document; bad flags are refused.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

#include "engine/base/file.h"
#include "engine/language_model.h"
#include "tests/e2e/cli_util.h"

namespace sigma {
namespace {

using testing_util::QueryInt;
using testing_util::Refused;
using testing_util::RunSigmaEval;

TEST(PromptsCliTest, PreviewIsWhatRunSends) {
  if (!FileExists(DefaultModelPath())) GTEST_SKIP() << "default model missing";
  const std::string dir = testing_util::MakeTempDir("prompts");
  const std::string db = dir + "/r.db";
  auto preview = RunSigmaEval("prompts --tasks gsm8k --limit 2 --max-gen-toks 3 --json");
  ASSERT_EQ(preview.exit_code, 0) << preview.err;
  const size_t line_end = preview.out.find('\n');
  ASSERT_NE(line_end, std::string::npos);
  rapidjson::Document first;
  ASSERT_FALSE(first.Parse(preview.out.substr(0, line_end).c_str()).HasParseError()) << preview.out;
  EXPECT_NE(preview.out.find("\"doc_index\":1,"), std::string::npos) << preview.out;  // two docs
  const auto& request = first["requests"][0];
  EXPECT_EQ(request["max_tokens"].GetInt64(), 3);

  auto run = RunSigmaEval("run --tasks gsm8k --limit 1 --max-gen-toks 3 --db " + db);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(QueryInt(db, "SELECT prompt_tokens FROM samples"), request["prompt_tokens"].GetInt64());
  EXPECT_EQ(QueryInt(db, "SELECT length(CAST(prompt AS BLOB)) FROM samples"),
            static_cast<int64_t>(request["context"].GetStringLength()));
  EXPECT_EQ(QueryInt(db, "SELECT new_tokens <= 3 FROM samples"), 1);

  // Run's --num-fewshot: no examples, a shorter prompt.
  auto zero_shot = RunSigmaEval("prompts --tasks gsm8k --num-fewshot 0 --json");
  ASSERT_EQ(zero_shot.exit_code, 0) << zero_shot.err;
  rapidjson::Document zero;
  ASSERT_FALSE(zero.Parse(zero_shot.out.c_str()).HasParseError()) << zero_shot.out;
  EXPECT_LT(zero["requests"][0]["prompt_tokens"].GetInt64(), request["prompt_tokens"].GetInt64());

  // One document by id, as text; without a model, no token counts.
  const std::string id = first["doc_id"].GetString();
  auto one = RunSigmaEval("prompts --tasks gsm8k --doc " + id + " --model none");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out.rfind("=== gsm8k: document 0, id " + id +
                              " (1 request) ===\n"
                              "--- request 1: generate_until, at most 256 new tokens, stops at",
                          0),
            0u)
      << one.out;
  EXPECT_EQ(one.out.find("tokens, at most"), std::string::npos) << one.out;

  // Run's --apply-chat-template: the messages and the model's rendering of them.
  auto chat = RunSigmaEval("prompts --tasks arc_easy --apply-chat-template");
  ASSERT_EQ(chat.exit_code, 0) << chat.err;
  EXPECT_NE(chat.out.find("--- request 1: multiple_choice (chat), context "), std::string::npos)
      << chat.out;
  EXPECT_NE(chat.out.find("--- as the model reads it (its chat template)\n<|im_start|>system"),
            std::string::npos)
      << chat.out;
  // And --fewshot-as-multiturn: MMLU's examples as turns, its description the system message.
  auto turns = RunSigmaEval("prompts --tasks mmlu --apply-chat-template --fewshot-as-multiturn");
  ASSERT_EQ(turns.exit_code, 0) << turns.err;
  EXPECT_NE(turns.out.find("[system]\nThe following are multiple choice questions (with answers) "
                           "about "),
            std::string::npos)
      << turns.out;
  EXPECT_NE(turns.out.find("Answer:\n[assistant]\n"), std::string::npos) << turns.out;
  EXPECT_NE(turns.out.find("<|im_start|>assistant\nD<|im_end|>"), std::string::npos) << turns.out;

  EXPECT_TRUE(
      Refused("prompts --tasks gsm8k --doc no-such-doc", "--doc: no document 'no-such-doc'"));
  EXPECT_TRUE(Refused("prompts --tasks gsm8k --model http://127.0.0.1:1/v1", "--model"));
  EXPECT_TRUE(Refused("prompts --tasks gsm8k --limit -1", "--limit"));
  EXPECT_TRUE(Refused("prompts --tasks gsm8k --max-gen-toks -5", "--max-gen-toks"));
  EXPECT_TRUE(Refused("prompts", "--tasks: required"));
  EXPECT_TRUE(Refused("prompts --tasks no_such_task", "unknown task or group 'no_such_task'"));
  testing_util::RemoveTree(dir);
}

}  // namespace
}  // namespace sigma
