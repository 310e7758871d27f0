// MATH answers read and compared as lm-evaluation-harness's hendrycks_math does. Reference:
// tests/data/tasks/math_answers.json, written by `tests/oracle/lm_eval_requests.py --math` with
// lm-eval 0.4.13's own functions (strip_string, is_equiv, process_results).
#include "tasks/math_answer.h"

#include <gtest/gtest.h>

#include "engine/base/file.h"
#include "tasks/jsonl.h"
#include "tasks/task.h"
#include "tests/tasks/test_util.h"

namespace sigma::tasks {
namespace {

const std::string kRoot = std::string(SIGMA_SOURCE_DIR);

std::unique_ptr<rapidjson::Document> Reference() {
  auto text = ReadFile(kRoot + "/tests/data/tasks/math_answers.json");
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  auto doc = ParseJsonStrict(text.ok() ? *text : "{}", "math_answers.json");
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? std::move(doc).value() : std::make_unique<rapidjson::Document>();
}

TEST(MathAnswerTest, NormalizationAndEquivalenceAreLmEvals) {
  const auto reference = Reference();
  ASSERT_TRUE(reference->IsObject() && reference->HasMember("normalized"));
  int raised = 0;
  for (const auto& row : (*reference)["normalized"].GetArray()) {
    const std::string answer = row["answer"].GetString();
    const std::optional<std::string> ours = math::Normalize(answer);
    if (row["normalized"].IsNull()) {
      EXPECT_FALSE(ours.has_value()) << "'" << answer << "' -> '" << ours.value_or("") << "'";
      ++raised;
    } else {
      ASSERT_TRUE(ours.has_value()) << "'" << answer << "' raised";
      EXPECT_EQ(*ours, row["normalized"].GetString()) << "'" << answer << "'";
    }
  }
  EXPECT_EQ((*reference)["normalized"].Size(), 171u);
  EXPECT_EQ(raised, 9);  // trailing \sqrt and \frac, two units, non-integer a/b
  int equivalent = 0;
  for (const auto& pair : (*reference)["pairs"].GetArray()) {
    const bool want = pair["equiv"].GetBool();
    EXPECT_EQ(math::IsEquiv(pair["a"].GetString(), pair["b"].GetString()), want)
        << "'" << pair["a"].GetString() << "' vs '" << pair["b"].GetString() << "'";
    equivalent += want ? 1 : 0;
  }
  EXPECT_EQ(equivalent, 113);
}

TEST(MathAnswerTest, TheTaskReadsAndScoresResponsesAsHendrycksMath) {
  const auto reference = Reference();
  ASSERT_TRUE(reference->IsObject() && reference->HasMember("responses"));
  auto task = Task::Load(kRoot + "/tasks/benchmarks/hendrycks_math/config.json");
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  const auto& golds = (*reference)["golds"];
  ASSERT_EQ((*task)->docs().size(), golds.Size());
  int right = 0;
  for (const auto& row : (*reference)["responses"].GetArray()) {
    const Document& doc = (*task)->docs()[row["doc"].GetUint()];
    const std::string response = row["response"].GetString();
    auto score = (*task)->Score(doc, {TextResponse(response)});
    ASSERT_TRUE(score.ok()) << score.status().ToString();
    EXPECT_EQ(score->target, golds[row["doc"].GetUint()].GetString());
    const double want = row["exact_match"].GetDouble();
    EXPECT_EQ(score->metrics.at("math_equiv"), want) << "doc " << doc.index << ": " << response;
    right += want == 1.0 ? 1 : 0;
  }
  EXPECT_EQ(right, 28);
}

TEST(MathAnswerTest, BoxedAnswersAndTheirErrors) {
  EXPECT_EQ(*math::BoxedAnswer("so $x = \\boxed{\\frac{1}{\\sqrt{3}}}$."), "\\frac{1}{\\sqrt{3}}");
  EXPECT_EQ(*math::BoxedAnswer("first \\boxed{42}, then \\boxed{8}"), "8");
  EXPECT_EQ(*math::BoxedAnswer("it is \\boxed 5$ so"), "5");
  EXPECT_EQ(*math::LastBoxed("\\fbox{7} done"), "\\fbox{7}");
  EXPECT_FALSE(math::BoxedAnswer("\\fbox{7}").ok());          // remove_boxed's assert
  EXPECT_FALSE(math::LastBoxed("\\boxed{open").has_value());  // braces never close
  auto none = math::BoxedAnswer("no box here");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no \\boxed{...} answer"), std::string::npos);
  EXPECT_EQ(math::DollarSpan("a $1$ b $2$ c"), "1$ b $2");
  EXPECT_EQ(math::DollarSpan("only $ one"), "only $ one");
}

}  // namespace
}  // namespace sigma::tasks
