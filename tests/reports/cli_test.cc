// Drives `sigma-eval report` and `sigma-eval compare` as a user (or CI) would: files written, exit
// codes (0 ok, 1 regression, 2 usage / bad input).
#include <gtest/gtest.h>

#include "engine/base/file.h"
#include "tests/e2e/cli_util.h"
#include "tests/reports/fixture.h"

namespace sigma::reports {
namespace {

using sigma::testing_util::RunSigmaEval;
using testing::ScratchDir;

class ReportCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("results.db");
    ASSERT_TRUE(testing::BuildFixtureDb(db_).ok());
  }
  ScratchDir dir_;
  std::string db_;
};

TEST_F(ReportCliTest, ReportWritesEachFormat) {
  for (const char* format : {"html", "md", "json"}) {
    const std::string out = dir_.File(std::string("r.") + format);
    const auto r = RunSigmaEval("report --db " + db_ + " --runs 1,2,3 --out " + out + " --format " + format +
                                " --max-samples 3");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(FileExists(out)) << format;
  }
  EXPECT_EQ(RunSigmaEval("report --db " + db_ + " --out x --format pdf").exit_code, 2);
  EXPECT_EQ(RunSigmaEval("report --db " + db_ + " --runs 9 --out " + dir_.File("x.html")).exit_code, 2);
  EXPECT_EQ(RunSigmaEval("report --db " + dir_.File("missing.db") + " --out " + dir_.File("y.html")).exit_code, 2);
  const auto negative =
      RunSigmaEval("report --db " + db_ + " --max-samples -5 --out " + dir_.File("z.html"));
  EXPECT_EQ(negative.exit_code, 2);
  EXPECT_NE(negative.err.find("--max-samples: expected -1 (all) or a count >= 0, got -5"),
            std::string::npos)
      << negative.err;
  EXPECT_FALSE(FileExists(dir_.File("z.html")));
}

TEST_F(ReportCliTest, CompareExitCodes) {
  auto ok = RunSigmaEval("compare 1 2 --db " + db_ + " --bootstrap 200");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("## sigma-eval compare: run 1"), std::string::npos);
  auto regress = RunSigmaEval("compare 1 2 --db " + db_ + " --bootstrap 200 --fail-on decode_tok_s:-5%");
  EXPECT_EQ(regress.exit_code, 1) << regress.err;
  EXPECT_NE(regress.out.find("regression"), std::string::npos);
  auto lenient = RunSigmaEval("compare 1 2 --db " + db_ + " --bootstrap 200 --fail-on decode_tok_s:-50%");
  EXPECT_EQ(lenient.exit_code, 0) << lenient.out;
  auto json = RunSigmaEval("compare 1 2 --db " + db_ + " --bootstrap 200 --format json --fail-on acc:-0.9");
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_EQ(json.out.rfind("{\"format\":\"sigma-eval-compare\"", 0), 0u);
  EXPECT_EQ(RunSigmaEval("compare 1 --db " + db_).exit_code, 2);
  EXPECT_EQ(RunSigmaEval("compare 1 2 --db " + db_ + " --fail-on acc").exit_code, 2);
  EXPECT_EQ(RunSigmaEval("compare 1 77 --db " + db_).exit_code, 2);
}

}  // namespace
}  // namespace sigma::reports
