#include "reports/results_reader.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "engine/base/file.h"
#include "harness/store/schema.h"
#include "harness/store/sqlite.h"
#include "tests/reports/fixture.h"

namespace sigma::reports {
namespace {

using testing::ScratchDir;

TEST(ResultsReaderTest, MissingFileIsNotFound) {
  ScratchDir dir;
  auto reader = ResultsReader::Open(dir.File("nope.db"));
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kNotFound);
  EXPECT_NE(reader.status().message().find("nope.db"), std::string::npos);
}

TEST(ResultsReaderTest, NonSqliteFileIsRefused) {
  ScratchDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.File("x.db"), std::string(4096, 'x')).ok());
  auto reader = ResultsReader::Open(dir.File("x.db"));
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(reader.status().message().find("not a sigma-eval results database"), std::string::npos)
      << reader.status().ToString();
}

void MakeDb(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(ResultsReaderTest, OtherSqliteDatabaseIsRefused) {
  ScratchDir dir;
  MakeDb(dir.File("other.db"), "CREATE TABLE t (x); PRAGMA user_version = 7;");
  auto reader = ResultsReader::Open(dir.File("other.db"));
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(reader.status().message().find("not a sigma-eval results database"), std::string::npos);
}

TEST(ResultsReaderTest, NewerSchemaIsRefused) {
  ScratchDir dir;
  MakeDb(dir.File("new.db"), "CREATE TABLE runs (id); PRAGMA application_id = 1397179734; "
                             "PRAGMA user_version = 99;");
  auto reader = ResultsReader::Open(dir.File("new.db"));
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(reader.status().message().find("schema version 99 is newer"), std::string::npos)
      << reader.status().ToString();
}

TEST(ResultsReaderTest, ReadsFixtureByteExact) {
  ScratchDir dir;
  ASSERT_TRUE(testing::BuildFixtureDb(dir.File("r.db")).ok());
  auto reader = ResultsReader::Open(dir.File("r.db"));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->schema_version(), 3);
  auto runs = (*reader)->ReadRuns();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 3u);
  EXPECT_EQ((*runs)[0].model, "sigma-1.5b");
  EXPECT_TRUE((*runs)[2].IsReplay());
  EXPECT_EQ((*runs)[0].started_at, "2026-01-02T03:04:05.000Z");
  EXPECT_FALSE((*reader)->ReadRuns({1, 42}).ok());

  auto page = (*reader)->ReadSamples(1, "gsm8k", 2, 3);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].doc_id, "doc-2");
  EXPECT_EQ((*page)[1].raw_output, testing::HostileOutput());  // NUL and invalid UTF-8 kept
  const int64_t prompt = (*page)[0].prompt_tokens.value_or(0);
  EXPECT_EQ((*page)[0].reused_tokens, prompt / 64 * 64 / 2);
  auto count = (*reader)->CountSamples(1, "gsm8k");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 20);

  auto scores = (*reader)->ReadSampleScores(2);
  ASSERT_TRUE(scores.ok());
  ASSERT_EQ(scores->size(), 60u);
  int errors = 0;
  for (const SampleScores& s : *scores) errors += s.has_error;
  EXPECT_EQ(errors, 1);
  EXPECT_EQ((*scores)[0].metrics.count("acc"), 1u);

  auto results = (*reader)->ReadTaskResults(1);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(results->size(), 5u);  // acc, acc_norm, cmd_score, 2 x exact_match
  auto benches = (*reader)->ReadBenchRuns();
  ASSERT_TRUE(benches.ok());
  ASSERT_EQ(benches->size(), 1u);
  auto speed = (*reader)->ReadSpeed({1}, {(*benches)[0].id});
  ASSERT_TRUE(speed.ok());
  EXPECT_EQ(speed->size(), 9u);  // 2 models x (3 decode + 1 prefill) + run 1's row
}

// A file of an older schema is read as it is (reports never migrate): the columns it lacks come
// back as they were before they existed.
TEST(ResultsReaderTest, ReadsAnOlderSchemaAsItIs) {
  ScratchDir dir;
  {
    auto db = store::OpenDatabase(dir.File("v2.db"), /*create=*/true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(store::Migrate(db->get(), 2).ok());
    ASSERT_TRUE(store::Exec(db->get(),
                            "INSERT INTO runs (fingerprint, config_json, started_at) "
                            "VALUES ('fp', '{}', 'now');"
                            "INSERT INTO samples (run_id, task, doc_id, prompt, raw_output, "
                            "extracted, prompt_tokens, segment, created_at) "
                            "VALUES (1, 'mmlu', 'd', 'p', 'o', 'e', 300, 2, 'now');",
                            "seed v2")
                    .ok());
  }
  auto reader = ResultsReader::Open(dir.File("v2.db"));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->schema_version(), 2);
  auto samples = (*reader)->ReadSamples(1, "mmlu", 0, -1);
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_EQ(samples->size(), 1u);
  EXPECT_EQ((*samples)[0].prompt_tokens, 300);
  EXPECT_EQ((*samples)[0].segment, 2);
  EXPECT_FALSE((*samples)[0].reused_tokens.has_value());
}

TEST(ResultsReaderTest, ParseSampleMetricsSaysWhetherAGenerationWasCutOff) {
  bool cut_off = true;
  ASSERT_TRUE(
      ParseSampleMetrics(R"({"em":1,"_stop_reasons":["stop_string","stop_token"]})", &cut_off)
          .ok());
  EXPECT_FALSE(cut_off);
  for (const char* reason : {"max_tokens", "context_full"}) {
    auto m = ParseSampleMetrics(
        std::string(R"({"em":0,"_stop_reasons":["stop_string",")") + reason + R"("]})", &cut_off);
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE(cut_off) << reason;
    EXPECT_EQ(m->size(), 1u);
  }
  ASSERT_TRUE(ParseSampleMetrics(R"({"acc":1})", &cut_off).ok());  // loglikelihood, or replay
  EXPECT_FALSE(cut_off);
}

TEST(ResultsReaderTest, ParseSampleMetricsSkipsPrivateKeys) {
  auto m = ParseSampleMetrics(R"({"acc":1,"_stats":{"x":1},"f1":0.5,"ok":true,"name":"x"})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 3u);
  EXPECT_EQ(m->at("ok"), 1.0);
  EXPECT_FALSE(ParseSampleMetrics("[1]").ok());
}

TEST(SpeedRowConfigTest, ReadsTheFieldsItKnowsAndSkipsTheRest) {
  const SpeedRowConfig c = ParseSpeedRowConfig(
      R"({"model":"smollm2","kv_dtype":"bf16","selective_v":64,"read_gbps":61.5,)"
      R"("read_share":0.72,"read_share_mean":0.71,"read_share_std":0.02,"thp":"madvise"})");
  EXPECT_EQ(c.model, "smollm2");
  EXPECT_EQ(c.kv_dtype, "bf16");
  EXPECT_EQ(c.selective_v, 64);
  EXPECT_EQ(c.read_gbps, 61.5);
  EXPECT_EQ(c.read_share, 0.72);
  EXPECT_EQ(c.read_share_mean, 0.71);
  EXPECT_EQ(c.read_share_std, 0.02);
  // Wrong types, not an object, not JSON: the fields stay empty.
  const SpeedRowConfig wrong =
      ParseSpeedRowConfig(R"({"model":7,"read_gbps":"fast","read_share":null,"selective_v":1.5})");
  EXPECT_EQ(wrong.model, "");
  EXPECT_EQ(wrong.selective_v, 0);
  EXPECT_FALSE(wrong.read_gbps.has_value());
  EXPECT_FALSE(wrong.read_share.has_value());
  for (const char* bad : {"[1,2]", "{\"model\":", "", "null"}) {
    const SpeedRowConfig b = ParseSpeedRowConfig(bad);
    EXPECT_EQ(b.model, "") << bad;
    EXPECT_FALSE(b.read_share.has_value()) << bad;
  }
}

// The settings that tell runs of one model apart, from configurations as `sigma-eval run` writes
// them.
TEST(RunSettingsTest, SaysWhatTellsRunsOfOneModelApart) {
  EXPECT_EQ(RunSettings(R"({"backend":{"backend":"engine","model":"m.gguf","kv_dtype":"bf16",)"
                        R"("selective_v":0,"max_context":4096,"temperature":0,"top_k":0,)"
                        R"("top_p":1,"seed":0},"tasks":[],"limit":10,"batch":4})"),
            "kv bf16, batch 4, limit 10");
  EXPECT_EQ(RunSettings(R"({"backend":{"backend":"engine","kv_dtype":"f16","selective_v":64,)"
                        R"("temperature":0.7,"top_k":40,"top_p":0.9,"seed":3,"device":"cuda"},)"
                        R"("limit":0,"batch":1})"),
            "kv f16, batch 1, selective V 64, temperature 0.7, top-p 0.9, top-k 40, seed 3, "
            "device cuda");
  EXPECT_EQ(RunSettings(R"({"backend":{"backend":"replay","model":"replay:gpt4.jsonl"},)"
                        R"("limit":5,"batch":4})"),
            "replay, batch 4, limit 5");
  // Wrong types are left out; what is not a JSON object says nothing.
  EXPECT_EQ(RunSettings(R"({"backend":{"backend":"openai","model":"m","tokenizer_sha256":"ab",)"
                        R"("temperature":0},"batch":8,"limit":0})"),
            "api, batch 8");
  EXPECT_EQ(RunSettings(R"({"backend":{"backend":"openai","model":"m","tokenizer_sha256":null},)"
                        R"("batch":4,"limit":3})"),
            "api, text offsets, batch 4, limit 3");
  // The run's prompt flags.
  EXPECT_EQ(RunSettings(R"({"backend":{"backend":"engine","kv_dtype":"bf16"},"batch":4,"limit":0,)"
                        R"("cli":{"data_dir":"","num_fewshot":0,"apply_chat_template":true,)"
                        R"("fewshot_as_multiturn":true,"system_instruction":"Be brief.",)"
                        R"("max_gen_tokens":64}})"),
            "kv bf16, batch 4, 0-shot, chat template, multiturn, system instruction, max 64 new "
            "tokens");
  EXPECT_EQ(RunSettings(R"({"batch":4,"cli":{"data_dir":"","apply_chat_template":false}})"),
            "batch 4");
  EXPECT_EQ(RunSettings(R"({"backend":{"kv_dtype":3,"temperature":"hot"},"batch":2.5})"), "");
  for (const char* bad : {"[1,2]", "{\"backend\":", "", "null", "{\"run\":1}"}) {
    EXPECT_EQ(RunSettings(bad), "") << bad;
  }
}

}  // namespace
}  // namespace sigma::reports
