#include "tasks/task_config.h"

#include <gtest/gtest.h>

#include "tasks/task.h"
#include "tests/tasks/test_util.h"

namespace sigma::tasks {
namespace {

constexpr const char* kGood = R"({
  "name": "toy", "version": 2, "request_type": "generate_until",
  "dataset": {"splits": {"test": "test.jsonl"}},
  "prompt": {"template": "Q: {{q}}\nA:", "target": "{{a}}"},
  "metrics": [{"name": "exact_match"}]
})";

// Replaces the first occurrence of `from` in the good config.
std::string Mutate(const std::string& from, const std::string& to) {
  std::string text = kGood;
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

std::string ErrorOf(const std::string& config) {
  auto parsed = ParseTaskConfig(config, "/cfg/toy.json");
  return parsed.ok() ? "<ok>" : parsed.status().message();
}

TEST(TaskConfigTest, GoodConfigHasDefaults) {
  auto c = ParseTaskConfig(kGood, "/cfg/toy.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "toy");
  EXPECT_EQ(c->version, 2);
  EXPECT_EQ(c->splits.at("test"), "/cfg/test.jsonl");
  EXPECT_EQ(c->fewshot_split, "test");
  EXPECT_EQ(c->target_delimiter, " ");
  EXPECT_EQ(c->fewshot_delimiter, "\n\n");
  EXPECT_EQ(c->max_tokens, 256);
  ASSERT_EQ(c->filters.size(), 1u);
  EXPECT_EQ(c->filters[0].name(), "none");
  EXPECT_EQ(c->gold.text(), "{{a}}");
  TaskLoadOptions elsewhere;
  elsewhere.data_dir = "/data";
  auto relocated = ParseTaskConfig(kGood, "/cfg/toy.json", elsewhere);
  ASSERT_TRUE(relocated.ok());
  EXPECT_EQ(relocated->splits.at("test"), "/data/toy/test.jsonl");
}

TEST(TaskConfigTest, NumFewshotFromTheCommandLineReplacesTheConfigs) {
  const std::string three_shot = Mutate(R"("metrics")", R"("fewshot": {"num": 3}, "metrics")");
  TaskLoadOptions options;
  auto own = ParseTaskConfig(three_shot, "/cfg/toy.json", options);
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->num_fewshot, 3);
  for (int64_t n : {0, 1, 64}) {
    options.num_fewshot = n;
    auto c = ParseTaskConfig(three_shot, "/cfg/toy.json", options);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->num_fewshot, n);
  }
  options.num_fewshot = 65;
  auto too_many = ParseTaskConfig(kGood, "/cfg/toy.json", options);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().message(), "--num-fewshot: expected 0..64, got 65");
  // A task scoring whole texts takes no examples: refused, naming the task; 0 is fine.
  const std::string rolling =
      R"({"name": "wiki", "version": 1, "request_type": "loglikelihood_rolling",
    "dataset": {"splits": {"test": "test.jsonl"}}, "prompt": {"template": "{{text}}"},
    "metrics": [{"name": "word_perplexity"}]})";
  options.num_fewshot = 2;
  auto refused = ParseTaskConfig(rolling, "/cfg/wiki.json", options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--num-fewshot 2: task 'wiki' scores whole texts"),
            std::string::npos)
      << refused.status().message();
  options.num_fewshot = 0;
  EXPECT_TRUE(ParseTaskConfig(rolling, "/cfg/wiki.json", options).ok());
}

TEST(TaskConfigTest, ChatTemplateAndSystemInstructionFromTheCommandLine) {
  TaskLoadOptions options;
  auto plain = ParseTaskConfig(kGood, "/cfg/toy.json", options);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_FALSE(plain->chat_template);
  options.apply_chat_template = true;
  options.system_instruction = "Be brief.";
  auto chat = ParseTaskConfig(kGood, "/cfg/toy.json", options);
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  EXPECT_TRUE(chat->chat_template);
  EXPECT_EQ(chat->system, "Be brief.");
  // A task's own system message follows the instruction.
  const std::string own_system =
      Mutate(R"("template": )", R"("system": "You grade maths.", "template": )");
  auto both = ParseTaskConfig(own_system, "/cfg/toy.json", options);
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(both->system, "Be brief.\n\nYou grade maths.");
}

TEST(TaskConfigTest, UnknownKeysAndWrongTypesNameTheKey) {
  EXPECT_EQ(ErrorOf(Mutate("\"version\": 2", "\"version\": 2, \"verison\": 3")),
            "/cfg/toy.json: unknown key 'verison'");
  EXPECT_EQ(ErrorOf(Mutate("\"version\": 2", "\"version\": \"2\"")),
            "/cfg/toy.json: version: expected an integer, got a string");
  EXPECT_EQ(ErrorOf(Mutate("\"target\": \"{{a}}\"", "\"target\": \"{{a}}\", \"tmeplate\": \"x\"")),
            "/cfg/toy.json: prompt: unknown key 'tmeplate'");
  EXPECT_EQ(ErrorOf(Mutate("\"target\": \"{{a}}\"", "\"target\": 5")),
            "/cfg/toy.json: prompt: target: expected a string, got an integer");
  EXPECT_EQ(ErrorOf(Mutate("\"test.jsonl\"", "[\"test.jsonl\"]")),
            "/cfg/toy.json: dataset: splits: test: expected a string, got an array");
  EXPECT_EQ(ErrorOf(Mutate("[{\"name\": \"exact_match\"}]",
                           "[{\"name\": \"exact_match\", \"ignore_case\": \"yes\"}]")),
            "/cfg/toy.json: metrics[0]: ignore_case: expected a boolean, got a string");
  EXPECT_EQ(ErrorOf(Mutate("\"exact_match\"", "\"acc_norm\"")),
            "/cfg/toy.json: metrics[0]: name: metric 'acc_norm' is not available for "
            "generate_until tasks");
  EXPECT_EQ(ErrorOf(Mutate("\"generate_until\"", "\"generate\"")),
            "/cfg/toy.json: request_type: unknown request type 'generate' (expected "
            "generate_until, loglikelihood, loglikelihood_rolling or multiple_choice)");
  EXPECT_NE(ErrorOf(Mutate("\"name\": \"toy\", ", "")).find("missing required string field 'name'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Mutate("{{q}}", "{{q")).find("prompt: template: '{{' at offset"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Mutate("\"metrics\": [{\"name\": \"exact_match\"}]",
                           "\"metrics\": [{\"name\": \"pass@k\", \"k\": [1, 5]}]"))
                .find("k=5 needs generation.num_samples >= k"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Mutate("\"test\": \"test.jsonl\"}", "\"test\": \"t.jsonl\"}, \"test_split\": \"dev\""))
                .find("dataset: split 'dev' is not listed in splits"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Mutate("\"version\": 2,", "\"version\": 2, \"version\": 3,"))
                .find("duplicate key 'version'"),
            std::string::npos);
  std::string mc = Mutate("\"generate_until\"", "\"multiple_choice\"");
  mc.replace(mc.find("exact_match"), 11, "acc");
  EXPECT_EQ(ErrorOf(mc), "/cfg/toy.json: prompt: multiple_choice needs 'choices'");
  // An empty list of choices, and labels that do not match the choices one for one (both once
  // crashed the run when it scored the first document).
  mc.replace(mc.find("\"target\""), 8, "\"choices\": [], \"target\"");
  EXPECT_EQ(ErrorOf(mc), "/cfg/toy.json: prompt: choices: expected at least one item, got []");
  mc.replace(mc.find("[]"), 2, "[\"no\", \"yes\"], \"choice_labels\": [\"n\", \"y\", \"m\"]");
  EXPECT_EQ(ErrorOf(mc), "/cfg/toy.json: prompt: 3 choice_labels for 2 choices");
  // An empty stop string was ignored (generation ran to max_tokens).
  EXPECT_EQ(
      ErrorOf(Mutate("\"metrics\"", "\"generation\": {\"until\": [\"\\n\", \"\"]}, \"metrics\"")),
      "/cfg/toy.json: generation: until[1]: an empty stop string");
  EXPECT_NE(ErrorOf("{not json").find("/cfg/toy.json: invalid JSON"), std::string::npos);
  EXPECT_EQ(ErrorOf(Mutate("\"metrics\"",
                           "\"fewshot\": {\"num\": 2, \"sampler\": \"lm_eval\"}, \"metrics\"")),
            "/cfg/toy.json: fewshot: sampler: expected random, first_n or python_random, got "
            "'lm_eval'");
  EXPECT_EQ(ErrorOf(Mutate("\"metrics\"",
                           "\"fewshot\": {\"num\": 2, \"sampler\": "
                           "\"python_random\", \"same_field\": \"q\"}, \"metrics\"")),
            "/cfg/toy.json: fewshot: sampler python_random draws from the whole pool (lm-eval's); "
            "same_field does not apply to it");
}

TEST(TaskConfigTest, MissingDatasetAndMalformedLineAreClearErrors) {
  TaskDir dir;
  const std::string config = dir.Write("toy/config.json", kGood);
  auto missing = Task::Load(config);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("dataset split 'test': file '" + dir.path() +
                                            "/toy/test.jsonl' not found"),
            std::string::npos)
      << missing.status().message();

  dir.Write("toy/test.jsonl", "{\"q\": \"1+1\", \"a\": \"2\"}\n{\"q\": \"2+2\", \"a\": }\n");
  auto malformed = Task::Load(config);
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.status().message().find(dir.path() + "/toy/test.jsonl:2: invalid JSON"),
            std::string::npos)
      << malformed.status().message();

  dir.Write("toy/test.jsonl", "{\"q\": \"1+1\", \"a\": \"2\"}\n");
  auto good = Task::Load(config);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ((*good)->docs().size(), 1u);
  EXPECT_EQ((*good)->hash().size(), 64u);
  EXPECT_EQ((*good)->version().substr(0, 2), "2-");
  // The data-dir override reads from <data_dir>/<task>/.
  TaskDir data;
  data.Write("toy/test.jsonl", "{\"q\": \"a\", \"a\": \"b\"}\n{\"q\": \"c\", \"a\": \"d\"}\n");
  auto moved = Task::Load(config, {.data_dir = data.path()});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ((*moved)->docs().size(), 2u);
  EXPECT_NE((*moved)->hash(), (*good)->hash());
  EXPECT_FALSE(Task::Load(dir.path() + "/absent.json").ok());
}

}  // namespace
}  // namespace sigma::tasks
