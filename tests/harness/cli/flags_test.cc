#include "harness/cli/flags.h"

#include <gtest/gtest.h>

namespace sigma::cli {
namespace {

TEST(FlagsTest, ParsesTypedFlagsAndPositionals) {
  std::string model = "m";
  int64_t threads = 0;
  double temp = 1.0;
  bool json = false;
  Flags flags("gen", "sigma-eval gen", "test");
  flags.TakesPositional(2);
  flags.String("model", &model, "model");
  flags.Int("threads", &threads, "threads");
  flags.Double("temperature", &temp, "t");
  flags.Bool("json", &json, "json");
  ASSERT_TRUE(flags.Parse({"--model", "x", "--threads=4", "pos", "--json", "--temperature",
                           "0.5", "--", "--not-a-flag"}).ok());
  EXPECT_EQ(model, "x");
  EXPECT_EQ(threads, 4);
  EXPECT_EQ(temp, 0.5);
  EXPECT_TRUE(json);
  EXPECT_TRUE(flags.was_set("threads"));
  EXPECT_EQ(flags.positional(), (std::vector<std::string>{"pos", "--not-a-flag"}));
}

TEST(FlagsTest, ErrorsNameTheFlag) {
  int64_t n = 0;
  Flags flags("gen", "u", "s");
  flags.Int("n", &n, "n");
  EXPECT_EQ(flags.Parse({"--n", "x1"}).message(), "--n: expected an integer, got 'x1'");
  Flags flags2("gen", "u", "s");
  flags2.Int("n", &n, "n");
  EXPECT_EQ(flags2.Parse({"--bogus"}).message(), "gen: unknown flag '--bogus' (see gen --help)");
  Flags flags3("gen", "u", "s");
  flags3.Int("n", &n, "n");
  EXPECT_EQ(flags3.Parse({"--n"}).message(), "--n: missing value");
}

// A command takes no positional arguments unless it says how many: a stray word (say a second
// task after "--tasks mmlu") is refused, naming the word and the command's usage.
TEST(FlagsTest, PositionalsPastWhatTheCommandTakesAreRefused) {
  std::string tasks;
  Flags none("run", "sigma-eval run --tasks T", "s");
  none.String("tasks", &tasks, "tasks");
  EXPECT_EQ(none.Parse({"--tasks", "mmlu", "gsm8k"}).message(),
            "run: unexpected argument 'gsm8k' (usage: sigma-eval run --tasks T)");
  Flags one("show", "sigma-eval show [RUN]", "s");
  one.TakesPositional(1);
  EXPECT_TRUE(one.Parse({"3"}).ok());
  Flags two("show", "sigma-eval show [RUN]", "s");
  two.TakesPositional(1);
  EXPECT_EQ(two.Parse({"3", "4"}).message(),
            "show: unexpected argument '4' (usage: sigma-eval show [RUN])");
  Flags any("sandbox", "u", "s");
  any.TakesPositional(Flags::kAnyNumber);
  EXPECT_TRUE(any.Parse({"--", "sh", "-c", "true"}).ok());
  EXPECT_EQ(any.positional().size(), 3u);
  // --help still prints the help, whatever else is on the line.
  Flags help("run", "u", "s");
  EXPECT_TRUE(help.Parse({"stray", "--help"}).ok());
  EXPECT_TRUE(help.help_requested());
}

TEST(FlagsTest, IntList) {
  auto ids = ParseIntList("1, 2,3", "prompt-ids");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_FALSE(ParseIntList("1,a", "prompt-ids").ok());
}

}  // namespace
}  // namespace sigma::cli
