// The engine commands as a user runs them: make-model -> logits / generate, the oracle fixtures
// through the CLI, embed (the same bytes on any thread count), clear errors with meaningful exit
// codes for bad input, and --device: cpu explicitly, an unknown device, and cuda where this machine
// cannot run it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/cpu/cpu_features.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/encoder/bert_encoder.h"
#include "engine/language_model.h"
#include "tests/e2e/cli_util.h"

namespace sigma {
namespace {

using testing_util::QueryInt;
using testing_util::Refused;
using testing_util::RunSigmaEval;

class EngineCliTest : public testing::Test {
 protected:
  void SetUp() override { dir_ = testing_util::MakeTempDir("engine-cli"); }
  void TearDown() override { testing_util::RemoveTree(dir_); }
  std::string dir_;
};

// The first line of `command`'s stdout (its stderr discarded), or "" where it fails.
std::string CommandOutput(const std::string& command) {
  FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
  if (pclose(pipe) != 0) return "";
  return out.substr(0, out.find('\n'));
}

std::vector<float> ReadFloats(const std::string& path) {
  auto bytes = ReadFile(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  std::vector<float> out(bytes.ok() ? bytes->size() / 4 : 0);
  if (bytes.ok()) std::memcpy(out.data(), bytes->data(), out.size() * 4);
  return out;
}

TEST_F(EngineCliTest, OracleLogitsThroughTheCli) {
  const std::string oracle = std::string(SIGMA_TEST_DATA) + "/oracle/sigma-diffqkv-tiny";
  const std::string ids =
      "117,132,44,192,100,102,246,235,84,136,223,228,221,146,14,252,45,216,250,93,167,34,169,127";
  auto r = RunSigmaEval("logits --model " + oracle + " --prompt-ids " + ids +
                        " --selective-v 4 --out " + dir_ + "/l.f32");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<float> got = ReadFloats(dir_ + "/l.f32");
  const std::vector<float> want = ReadFloats(oracle + "/logits_selv.f32");
  ASSERT_EQ(got.size(), want.size());
  float worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
  EXPECT_LT(worst, 1e-3f);
}

// SIGMA_CPU_ISA caps the kernel family (`device` names the one the kernels dispatch to), and every
// family gives the Sigma oracle's logits with a bf16 cache (the AMX family's score pass among
// them) within model_test's tolerance for a bf16 cache against the f32 reference.
TEST_F(EngineCliTest, CpuIsaCapChoosesTheKernelsAndEachGivesTheOracleLogits) {
  const std::string oracle = std::string(SIGMA_TEST_DATA) + "/oracle/sigma-diffqkv-tiny";
  const std::string ids =
      "117,132,44,192,100,102,246,235,84,136,223,228,221,146,14,252,45,216,250,93,167,34,169,127";
  const std::vector<float> want = ReadFloats(oracle + "/logits.f32");
  float scale = 1;
  for (float x : want) scale = std::max(scale, std::fabs(x));
  const std::string best = CpuSupportsAmx()          ? "avx512_amx"
                           : CpuSupportsAvx512Bf16() ? "avx512_bf16"
                           : CpuSupportsAvx2()       ? "avx2"
                                                     : "generic";
  const struct {
    const char* cap;  // null: unset
    std::string kernels;
  } cases[] = {{nullptr, best},
               {"avx512", best == "avx512_amx" ? "avx512_bf16" : best},
               {"avx2", CpuSupportsAvx2() ? "avx2" : "generic"},
               {"generic", "generic"}};
  for (const auto& c : cases) {
    if (c.cap == nullptr) {
      unsetenv("SIGMA_CPU_ISA");
    } else {
      setenv("SIGMA_CPU_ISA", c.cap, 1);
    }
    const std::string label = c.cap == nullptr ? "unset" : c.cap;
    auto device = RunSigmaEval("device");
    EXPECT_NE(device.out.find("kernels " + c.kernels + "\n"), std::string::npos)
        << label << ": " << device.out;
    auto r = RunSigmaEval("logits --model " + oracle + " --prompt-ids " + ids +
                          " --kv-dtype bf16 --out " + dir_ + "/l.f32");
    ASSERT_EQ(r.exit_code, 0) << label << ": " << r.err;
    const std::vector<float> got = ReadFloats(dir_ + "/l.f32");
    ASSERT_EQ(got.size(), want.size()) << label;
    float worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
    EXPECT_LT(worst, 2e-2f * scale) << label;  // model_test's tolerance for a bf16 cache
  }
  unsetenv("SIGMA_CPU_ISA");
}

// make-model and convert write a model only where --out is free (missing, or an empty folder);
// an existing file or a folder with files is refused and left as it was unless --force.
TEST_F(EngineCliTest, ModelWritersDoNotReplaceAnOutputWithoutForce) {
  const std::string oracle = std::string(SIGMA_TEST_DATA) + "/oracle/llama-gqa-tiny";
  ASSERT_EQ(RunSigmaEval("make-model --config sigma-tiny --out " + dir_ + "/m").exit_code, 0);
  const std::string weights = *ReadFile(dir_ + "/m/model.safetensors");
  auto r = RunSigmaEval("make-model --config llama-tiny --out " + dir_ + "/m");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--out: the folder " + dir_ + "/m is not empty; --force"), std::string::npos)
      << r.err;
  EXPECT_EQ(*ReadFile(dir_ + "/m/model.safetensors"), weights);

  ASSERT_EQ(RunSigmaEval("convert --in " + oracle + " --out " + dir_ + "/o.gguf").exit_code, 0);
  // Back into the checkpoint folder it came from: refused (it once overwrote its files).
  r = RunSigmaEval("convert --in " + dir_ + "/o.gguf --out " + dir_ + "/m");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(*ReadFile(dir_ + "/m/model.safetensors"), weights);
  r = RunSigmaEval("convert --in " + oracle + " --out " + dir_ + "/o.gguf");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("o.gguf exists; --force replaces it"), std::string::npos) << r.err;
  r = RunSigmaEval("convert --in " + oracle + " --out " + dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is a folder; a checkpoint folder converts to one .gguf file"),
            std::string::npos)
      << r.err;

  EXPECT_EQ(
      RunSigmaEval("convert --in " + oracle + " --out " + dir_ + "/o.gguf --type q8_0 --force")
          .exit_code,
      0);
  EXPECT_EQ(RunSigmaEval("convert --in " + dir_ + "/o.gguf --out " + dir_ + "/m --force").exit_code,
            0);
  EXPECT_NE(*ReadFile(dir_ + "/m/model.safetensors"), weights);
  ASSERT_TRUE(MakeDirectories(dir_ + "/empty").ok());
  EXPECT_EQ(RunSigmaEval("make-model --config sigma-tiny --out " + dir_ + "/empty").exit_code, 0);
}

// Ctrl-C while make-model writes a large model: the partial weights file (temporary name) is
// removed and the process still ends by SIGINT (it used to stay: up to 3 GB for sigma-1.5b).
TEST_F(EngineCliTest, InterruptedMakeModelLeavesNoPartialFile) {
  const std::string out = dir_ + "/big";
  const std::string config = dir_ + "/big.json";  // 0.67 GB of bf16 weights
  ASSERT_TRUE(WriteFileAtomic(config, R"({"model_type": "llama", "vocab_size": 32000,
      "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 4,
      "num_attention_heads": 16, "num_key_value_heads": 16, "rms_norm_eps": 1e-6,
      "rope_theta": 10000.0})")
                  .ok());
  const std::string binary = std::string(SIGMA_BINARY_DIR) + "/harness/sigma-eval";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::freopen("/dev/null", "w", stderr);
    ::execl(binary.c_str(), binary.c_str(), "make-model", "--config", config.c_str(), "--out",
            out.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until the weights are being written (1 MB of them).
  std::string partial;
  for (int i = 0; i < 3000 && partial.empty(); ++i) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(out, error)) {
      if (entry.path().string().find(".tmp.") != std::string::npos &&
          entry.file_size(error) > (1 << 20)) {
        partial = entry.path().string();
      }
    }
    if (partial.empty()) ::usleep(10'000);
  }
  ASSERT_FALSE(partial.empty()) << "no temporary weights file appeared in " << out;
  ::kill(child, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGINT);
  EXPECT_FALSE(FileExists(partial));
  EXPECT_FALSE(FileExists(out + "/model.safetensors"));
}

TEST_F(EngineCliTest, MakeModelThenGenerateIsDeterministic) {
  auto made = RunSigmaEval("make-model --config sigma-tiny --out " + dir_ + "/m --seed 3");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_TRUE(FileExists(dir_ + "/m/config.json"));
  EXPECT_TRUE(FileExists(dir_ + "/m/model.safetensors"));
  const std::string gen =
      "generate --model " + dir_ + "/m --prompt-ids 1,2,3,4 --max-tokens 8 --json";
  auto a = RunSigmaEval(gen);
  // One thread, and the weights read from the file mapping instead of the load-time copy.
  auto b = RunSigmaEval(gen + " --threads 1 --device cpu --mmap-weights");
  // Two threads, decode steps as a team or as a parallel loop per projection.
  auto c = RunSigmaEval(gen + " --threads 2 --decode-team always");
  auto d = RunSigmaEval(gen + " --threads 2 --decode-team never");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const auto tokens = [](const std::string& json) { return json.substr(0, json.find(']') + 1); };
  EXPECT_EQ(tokens(a.out), tokens(b.out));
  EXPECT_EQ(tokens(a.out), tokens(c.out));
  EXPECT_EQ(tokens(a.out), tokens(d.out));
  EXPECT_NE(a.out.find("\"new_tokens\":8"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("\"decode_tokens_per_s\":"), std::string::npos);
}

// generate's speed line gives only what it measured: no time to first token when no token was
// sampled (it printed 0.0 ms), no decode rate before a second new token (0.0 tok/s); JSON: null.
TEST_F(EngineCliTest, GenerateReportsOnlyTheSpeedItMeasured) {
  const std::string oracle = std::string(SIGMA_TEST_DATA) + "/oracle/llama-gqa-tiny";
  const auto run = [&](int max_tokens, const char* json) {
    return RunSigmaEval("generate --model " + oracle + " --prompt-ids 1,2,3 --max-tokens " +
                        std::to_string(max_tokens) + json);
  };
  auto r = run(0, "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("[max_tokens] prompt 3 tokens: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("time to first token"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("| decode 0 tokens\n"), std::string::npos) << r.err;
  r = run(0, " --json");
  EXPECT_NE(r.out.find("\"ttft_ms\":null"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"decode_tokens_per_s\":null"), std::string::npos) << r.out;
  r = run(1, "");
  EXPECT_NE(r.err.find("time to first token "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("| decode 1 tokens\n"), std::string::npos) << r.err;
  r = run(3, " --json");
  EXPECT_EQ(r.out.find("null"), std::string::npos) << r.out;
  r = run(3, "");
  EXPECT_NE(r.err.find("| decode 3 tokens: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("note:"), std::string::npos) << r.err;
  // Past the 256 positions the tiny model was trained on: said, and the text still comes.
  r = run(254, "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("note: the prompt (3 tokens) and --max-tokens 254 reach past the 256 "
                       "positions the model was trained on"),
            std::string::npos)
      << r.err;
}

TEST_F(EngineCliTest, BadInputGetsClearErrorsAndUsageExitCode) {
  auto r = RunSigmaEval("generate --model /nonexistent --prompt-ids 1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent"), std::string::npos) << r.err;

  EXPECT_TRUE(
      Refused("generate --model x --prompt-ids 1,b", "--prompt-ids: expected an integer, got 'b'"));
  // Chat flags that would be ignored (the ids are the prompt as given; a system message needs
  // --chat).
  EXPECT_TRUE(Refused("generate --model x --prompt-ids 1 --chat",
                      "--chat applies to a --prompt text, not to --prompt-ids"));
  EXPECT_TRUE(Refused("generate --model x --prompt hi --system 'Be brief.'",
                      "--system: the system message of a --chat prompt; add --chat"));

  // convert names each output for what it holds (the loaders tell a GGUF file by its name).
  const std::string tiny = std::string(SIGMA_TEST_DATA) + "/oracle/llama-gqa-tiny";
  EXPECT_TRUE(Refused("convert --in " + tiny + " --out " + dir_ + "/model.bin",
                      "converts to one GGUF file"));

  EXPECT_TRUE(Refused("logits --bogus-flag 1", "unknown flag '--bogus-flag'"));

  EXPECT_TRUE(Refused("make-model --config no-such-preset --out " + dir_ + "/x",
                      "neither a file nor a preset"));
  EXPECT_TRUE(Refused("make-model --config sigma-tiny --out " + dir_ + "/x.gguf",
                      "make-model writes a checkpoint folder"));
  EXPECT_FALSE(FileExists(dir_ + "/x.gguf"));
  EXPECT_TRUE(Refused("make-model --config sigma-tiny --threads 4294967298 --out " + dir_ + "/x",
                      "--threads: expected 0..1024, got 4294967298"));
  EXPECT_FALSE(FileExists(dir_ + "/x/config.json"));
  // A config whose weights no disk holds (here ~2.9 PB) is refused before writing (it used to
  // write until the disk was full).
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/huge.json", R"({"model_type": "llama",
      "vocab_size": 256, "hidden_size": 4000000, "intermediate_size": 60000000,
      "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 8,
      "head_dim": 16, "rms_norm_eps": 1e-6, "rope_theta": 10000.0})")
                  .ok());
  const auto huge =
      RunSigmaEval("make-model --config " + dir_ + "/huge.json --out " + dir_ + "/huge");
  EXPECT_EQ(huge.exit_code, 1);
  EXPECT_NE(
      huge.err.find("RESOURCE_EXHAUSTED: " + dir_ + "/huge/model.safetensors: needs 2.9 PB, and "),
      std::string::npos)
      << huge.err;
  EXPECT_FALSE(FileExists(dir_ + "/huge")) << "the folder made for it is removed";

  const std::string oracle = std::string(SIGMA_TEST_DATA) + "/oracle/llama-gqa-tiny";
  EXPECT_TRUE(Refused("logits --model " + oracle + " --prompt-ids 1,100000 --out " + dir_ + "/l",
                      "token 100000 outside the vocabulary"));

  // A stop id outside the vocabulary (it was cut to 32 bits and kept, a stop that never fires).
  EXPECT_TRUE(Refused("generate --model " + oracle + " --prompt-ids 1,2 --stop-ids 99999999999",
                      "--stop-ids: token 99999999999 outside the vocabulary [0, 384)"));

  EXPECT_TRUE(Refused("generate --model " + oracle + " --prompt-ids 1,2 --decode-team sometimes",
                      "--decode-team: expected auto, always or never, got 'sometimes'"));

  // Sampling flags (shared by generate and run): a --top-k past int was once cut to its low bits.
  EXPECT_TRUE(Refused("generate --model " + oracle + " --prompt-ids 1,2 --top-k 5000000000",
                      "--top-k: expected 0..2147483647, got 5000000000"));
  EXPECT_TRUE(Refused("generate --model " + oracle + " --prompt-ids 1,2 --top-p 0",
                      "--top-p: expected a value in (0, 1], got 0"));

  // Bad flag values for compare (the bootstrap's count is an int inside).
  EXPECT_TRUE(Refused("compare 1 2 --bootstrap 3000000000 --db " + dir_ + "/none.db",
                      "--bootstrap: expected 0..100000000, got 3000000000"));

  r = RunSigmaEval("no-such-command");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command"), std::string::npos);
}

// An empty prompt given is a prompt: with --chat an empty user turn the model answers; as plain
// text (no BOS in SmolLM2's tokenizer) or as an empty id list, an error that says so. All three
// were "give exactly one of --prompt and --prompt-ids", which both named flags had been.
TEST_F(EngineCliTest, AnEmptyPromptIsAPromptNotAMissingFlag) {
  const std::string model = DefaultModelPath();
  if (!FileExists(model)) GTEST_SKIP() << "default model missing at " << model;
  auto r = RunSigmaEval("generate --model " + model + " --prompt '' --chat --max-tokens 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("prompt "), std::string::npos) << r.err;  // the speed line
  EXPECT_TRUE(Refused("generate --model " + model + " --prompt '' --max-tokens 2",
                      "--prompt: '' encodes to no tokens"));
  EXPECT_TRUE(Refused("generate --model " + model + " --prompt-ids '' --max-tokens 2",
                      "--prompt-ids: no ids"));
  EXPECT_TRUE(Refused("generate --model " + model + " --max-tokens 2",
                      "give exactly one of --prompt and --prompt-ids"));
}

// tokenize --export-hf: the default model's tokenizer as Hugging Face files, which tokenize as the
// GGUF does; a second export into the same folder is refused, as is --export-hf with text.
TEST_F(EngineCliTest, TokenizeExportsHuggingFaceFiles) {
  const std::string model = DefaultModelPath();
  if (!FileExists(model)) GTEST_SKIP() << "default model missing at " << model;
  const std::string out = dir_ + "/hf";
  const auto exported = RunSigmaEval("tokenize --model " + model + " --export-hf " + out);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_TRUE(FileExists(out + "/tokenizer_config.json"));
  const std::string text = "'Hello, w\xc3\xb6rld! 12345 <|im_start|>user\n  ls -la'";
  const auto from_gguf = RunSigmaEval("tokenize --model " + model + " --text " + text);
  const auto from_json = RunSigmaEval("tokenize --model " + out + "/tokenizer.json --text " + text);
  ASSERT_EQ(from_gguf.exit_code, 0) << from_gguf.err;
  EXPECT_EQ(from_json.out, from_gguf.out) << from_json.err;
  EXPECT_TRUE(Refused("tokenize --model " + model + " --export-hf " + out,
                      "tokenizer.json exists; remove it first"));
  EXPECT_TRUE(Refused("tokenize --model " + model + " --export-hf " + out + " --text x",
                      "--export-hf takes no --text"));
}

// tokenize on the default model: text -> ids -> the same bytes (several scripts, an emoji, a
// shell line), and an id past the vocabulary refused rather than skipped.
TEST_F(EngineCliTest, TokenizeRoundTripsAndRefusesIdsPastTheVocabulary) {
  const std::string model = DefaultModelPath();
  if (!FileExists(model)) GTEST_SKIP() << "default model missing at " << model;
  const std::string text =
      "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x99\x82\n  ls -la | grep x\n";
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/text.txt", text).ok());
  const auto encoded = RunSigmaEval("tokenize --model " + model + " --file " + dir_ + "/text.txt");
  ASSERT_EQ(encoded.exit_code, 0) << encoded.err;
  ASSERT_EQ(encoded.out.front(), '[') << encoded.out;
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/ids.txt", encoded.out).ok());
  const auto decoded =
      RunSigmaEval("tokenize --decode --model " + model + " --file " + dir_ + "/ids.txt");
  ASSERT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_EQ(decoded.out, text);
  const auto bad = RunSigmaEval("tokenize --decode --model " + model + " --text 1,99999999");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("token id 99999999 is past the vocabulary"), std::string::npos) << bad.err;
  // The three spellings of a list of ids give the same text.
  for (const char* ids : {"'[1, 2, 3]'", "'1 2 3'", "1,2,3", "' [1,2,3] '"}) {
    const auto r = RunSigmaEval("tokenize --decode --model " + model + " --text " + ids);
    EXPECT_EQ(r.exit_code, 0) << ids << ": " << r.err;
    EXPECT_EQ(r.out, RunSigmaEval("tokenize --decode --model " + model + " --text 1,2,3").out);
  }
  // Malformed lists are refused with the byte where they go wrong ("-" once aborted the process
  // with an uncaught std::invalid_argument; "[1,2" and "1,,2" were read as 1, 2).
  const std::pair<const char*, const char*> malformed[] = {
      {"-", "expected a token id (digits) at byte 0"},
      {"'[1,2'", "expected ']' at byte 4"},
      {"1,,2", "expected a token id (digits) at byte 2"},
      {"1,2,", "expected a token id after ',' at byte 4"},
      {"1-2", "expected a token id (digits) at byte 1"},
      {"'[1 2]'", "expected ',' or ']' at byte 3"},
      {"'[1] 2'", "unexpected text at byte 4"},
      {"99999999999", "token id out of range at byte 0"},
      {"abc", "expected a token id (digits) at byte 0"},
  };
  for (const auto& [ids, message] : malformed) {
    const auto r = RunSigmaEval("tokenize --decode --model " + model + " --text " + ids);
    EXPECT_EQ(r.exit_code, 2) << ids << ": " << r.out;
    EXPECT_NE(r.err.find(message), std::string::npos) << ids << ": " << r.err;
  }
}

// inspect: how the engine reads a model, as text and as JSON; and a chat template outside the
// Jinja the engine renders is named with why, by inspect and by generate --chat (which once said
// only that the model had none).
TEST_F(EngineCliTest, InspectShowsHowTheEngineReadsAModel) {
  const std::string model = DefaultModelPath();
  if (!FileExists(model)) GTEST_SKIP() << "default model missing at " << model;
  const auto text = RunSigmaEval("inspect");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  for (const char* line :
       {"architecture  llama\n", "30 layers, hidden 576", "9 Q / 3 K / 3 V heads",
        "full          every layer\n", "q4_1 210", "chat template renders\n"}) {
    EXPECT_NE(text.out.find(line), std::string::npos) << line << " in\n" << text.out;
  }
  // A Gemma 2 checkpoint: its windows, caps and scale.
  const std::string gemma2 = dir_ + "/gemma2";
  const auto made = RunSigmaEval("make-model --config " + std::string(SIGMA_SOURCE_DIR) +
                                 "/tests/data/gemma/gemma2.json --seed 1 --out " + gemma2);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto g = RunSigmaEval("inspect --model " + gemma2);
  ASSERT_EQ(g.exit_code, 0) << g.err;
  for (const char* line :
       {"architecture  gemma2\n", "scale 1/sqrt(24)", "scores soft-capped at 0.04",
        "logits        soft-capped at 0.25\n", "sliding       window 7 in layers 0, 2\n",
        "full          layers 1, 3\n", "tokenizer     none"}) {
    EXPECT_NE(g.out.find(line), std::string::npos) << line << " in\n" << g.out;
  }
  // SmolLM3's layers without RoPE; OLMo 3's YaRN on its full layers, the sliding ones unscaled.
  for (const auto& [name, lines] :
       {std::pair<std::string, std::vector<std::string>>{"smollm3/config.json",
                                                         {"no rope       layers 3, 7\n"}},
        {"olmo3/config.json",
         {"rope          base 500000, yarn x4 of 64 positions", "(full layers)\n",
          "rope (local)  base 500000, unscaled (sliding layers)\n",
          "q/k norms (over all heads), norms after the attention and the FFN, none before"}},
        // Mixtures of experts: the experts line, Qwen2-MoE's shared expert, Qwen3-MoE's dense
        // layer.
        {"moe/qwen2_moe.json",
         {"experts       6 of FFN 32, 2 a token (softmax over all, the top as they are), a shared "
          "expert of FFN 80 (sigmoid-gated)\n"}},
        {"moe/qwen3_moe_dense_layers.json",
         {"experts       8 of FFN 40, 3 a token (softmax over all, the top as they are), dense "
          "FFN in layers 1\n"}},
        // gpt-oss: its clamped SwiGLU, o biases and sinks, biased experts, YaRN not truncated.
        {"moe/gpt_oss.json",
         {"FFN 40 (SwiGLU clamped at 0.25, (up + 1) x gate x sigmoid(1.702 gate))",
          "q/k/v/o biases, a sink logit a head\n",
          "2 a token (softmax over all, the top renormalised), biases on the router and the "
          "experts\n",
          "yarn x4 of 128 positions (cos and sin x1.13863; ramp not truncated)"}}}) {
    const std::string out = dir_ + "/" + name.substr(0, name.find('.'));
    ASSERT_EQ(RunSigmaEval("make-model --config " + std::string(SIGMA_SOURCE_DIR) + "/tests/data/" +
                           name + " --seed 1 --out " + out)
                  .exit_code,
              0);
    const auto r = RunSigmaEval("inspect --model " + out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const std::string& line : lines) {
      EXPECT_NE(r.out.find(line), std::string::npos) << line << " in\n" << r.out;
    }
  }
  const auto json = RunSigmaEval("inspect --json --model " + gemma2);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto doc = ParseJson(json.out, "inspect --json");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString() << "\n" << json.out;
  EXPECT_EQ(std::string((**doc)["config"]["model_type"].GetString()), "gemma2");
  EXPECT_TRUE((**doc)["tokenizer"].IsNull());
  EXPECT_GT((**doc)["weights"]["bytes"].GetUint64(), 0u);

  // The default model's tokenizer beside a checkpoint of its vocabulary, with a template that
  // uses a Jinja call block.
  const std::string chat = dir_ + "/chat";
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/chat.json",
                              R"({"model_type": "llama", "vocab_size": 49152, "hidden_size": 64,
                                  "intermediate_size": 96, "num_hidden_layers": 1,
                                  "num_attention_heads": 4})")
                  .ok());
  ASSERT_EQ(
      RunSigmaEval("make-model --config " + dir_ + "/chat.json --seed 1 --out " + chat).exit_code,
      0);
  ASSERT_EQ(RunSigmaEval("tokenize --model " + model + " --export-hf " + chat).exit_code, 0);
  ASSERT_TRUE(WriteFileAtomic(chat + "/tokenizer_config.json",
                              R"({"chat_template": "{% call foo() %}x{% endcall %}"})")
                  .ok());
  const auto unusable = RunSigmaEval("inspect --model " + chat);
  ASSERT_EQ(unusable.exit_code, 0) << unusable.err;
  EXPECT_NE(unusable.out.find("chat template does not render: "), std::string::npos)
      << unusable.out;
  EXPECT_TRUE(Refused("generate --chat --max-tokens 2 --prompt hi --model " + chat,
                      "chat template is outside the Jinja this engine renders: "));
}

// embed on the CMDGen encoder: an item per line of --file, unit length, each line's item what
// --text gives for it alone, and the same bytes on one thread and on two (the sentence encoder's
// attention once gave each worker's score row different last bits: with GCC's default FMA
// contraction, --threads 2 printed 0.0471025147 or 0.0471025333 for what --threads 1 printed as
// 0.0471025258, and CMDGen's scores differed between a run and its resume).
TEST_F(EngineCliTest, EmbedGivesTheSameBytesOnAnyThreadCount) {
  const std::string encoder = DefaultEncoderPath();
  if (!IsDirectory(encoder)) GTEST_SKIP() << "sentence encoder missing at " << encoder;
  const std::vector<std::string> lines = {
      "sb deploy -f hosts.ini",
      "sudo docker-compose run --no-image-name \"super-bench-docker-image\"",
      "ls",
      "nvidia-smi --query-gpu=name,memory.total --format=csv",
      "rocm-smi --showmeminfo vram",
      "find / -name '*.log' -size +10M -exec ls -lh {} \\;",
      "",
      "kubectl get pods -A",
      "python3 -c 'import torch; print(torch.cuda.is_available())'",
      "cat /proc/cpuinfo | grep 'model name' | head -1"};
  std::string file_text;
  for (const std::string& line : lines) file_text += line + "\n";
  const std::string file = dir_ + "/sentences.txt";
  ASSERT_TRUE(WriteFileAtomic(file, file_text).ok());

  const auto one = RunSigmaEval("embed --threads 1 --file " + file);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  for (int rep = 0; rep < 3; ++rep) {
    const auto two = RunSigmaEval("embed --threads 2 --file " + file);
    ASSERT_EQ(two.exit_code, 0) << two.err;
    EXPECT_EQ(two.out, one.out) << "repetition " << rep;
  }

  auto doc = ParseJson(one.out, "embed output");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const rapidjson::Value& items = (**doc)["items"];
  ASSERT_EQ(items.Size(), lines.size());
  for (rapidjson::SizeType i = 0; i < items.Size(); ++i) {
    EXPECT_EQ(items[i]["text"].GetString(), lines[i]);
    const auto& embedding = items[i]["embedding"];
    ASSERT_EQ(embedding.Size(), 384u);
    double norm = 0;
    for (const auto& x : embedding.GetArray()) norm += x.GetDouble() * x.GetDouble();
    EXPECT_NEAR(norm, 1.0, 1e-5) << lines[i];
  }
  // A line's item does not depend on the lines around it.
  const auto alone = RunSigmaEval("embed --threads 2 --text 'sb deploy -f hosts.ini'");
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  auto alone_doc = ParseJson(alone.out, "embed output");
  ASSERT_TRUE(alone_doc.ok()) << alone_doc.status().ToString();
  const auto& a = (**alone_doc)["items"][0]["embedding"];
  for (rapidjson::SizeType k = 0; k < a.Size(); ++k) {
    ASSERT_EQ(a[k].GetDouble(), items[0]["embedding"][k].GetDouble()) << "dimension " << k;
  }

  EXPECT_TRUE(Refused("embed", "give exactly one of --text and --file"));
  EXPECT_TRUE(Refused("embed --text a --file " + file, "give exactly one of --text and --file"));
  EXPECT_TRUE(Refused("embed --model " + dir_ + "/nothing --text a", dir_ + "/nothing"));
}

// The git commit stamped into the build (cmake/GitCommit.cmake, run by every build), as the header
// it writes spells it.
std::string StampedCommit() {
  auto header = ReadFile(SIGMA_BINARY_DIR "/harness/generated/harness/git_commit.h");
  if (!header.ok()) return "";
  const size_t open = header->find('"');
  const size_t close = header->find('"', open + 1);
  return open == std::string::npos || close == std::string::npos
             ? ""
             : header->substr(open + 1, close - open - 1);
}

// --version prints the build identity with the commit stamped at build time, and a bench session
// records the same string.
TEST_F(EngineCliTest, VersionNamesTheStampedCommitAndSessionsRecordIt) {
  const std::string commit = StampedCommit();
  ASSERT_FALSE(commit.empty()) << "no stamped commit in the build folder";
  auto r = RunSigmaEval("--version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("sigma-eval ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("(git " + commit + ", "), std::string::npos) << r.out << " vs " << commit;

  const std::string db = dir_ + "/bench.db";
  ASSERT_EQ(RunSigmaEval("bench --models sigma-tiny --contexts 16 --reps 1 --warmup 0 "
                         "--decode-steps 1 --prompt-tokens 0 --read-bandwidth-mib 0 "
                         "--model-cache " + dir_ + "/cache --db " + db)
                .exit_code,
            0);
  const std::string build = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM bench_runs WHERE engine_build = '" + build + "'"), 1)
      << build;
}

// The stamp follows the checkout: HEAD's short hash, "-dirty" while a tracked file differs from it
// (untracked files do not count), the new hash after a commit, "unknown" outside a repository.
TEST_F(EngineCliTest, GitCommitStampFollowsTheCheckout) {
  if (CommandOutput("git --version").empty()) GTEST_SKIP() << "git is not installed";
  const std::string repo = dir_ + "/repo", header = dir_ + "/out/git_commit.h";
  const std::string git = "git -C '" + repo + "' -c user.name=t -c user.email=t@example.com ";
  const auto stamp = [&](const std::string& source) {
    const std::string cmd = std::string("'" SIGMA_CMAKE_COMMAND "' -DSOURCE_DIR='") + source +
                            "' -DOUT='" + header + "' -P '" SIGMA_SOURCE_DIR
                            "/cmake/GitCommit.cmake' && cat '" + header + "'";
    return CommandOutput(cmd);
  };
  ASSERT_TRUE(MakeDirectories(repo).ok());
  ASSERT_TRUE(WriteFileAtomic(repo + "/a.txt", "one\n").ok());
  ASSERT_EQ(std::system((git + "init -q && " + git + "add a.txt && " + git + "commit -qm one")
                            .c_str()),
            0);
  const std::string first = CommandOutput(git + "rev-parse --short HEAD");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(stamp(repo), "#define SIGMA_GIT_COMMIT \"" + first + "\"");

  ASSERT_TRUE(WriteFileAtomic(repo + "/untracked.txt", "x\n").ok());
  EXPECT_EQ(stamp(repo), "#define SIGMA_GIT_COMMIT \"" + first + "\"");
  ASSERT_TRUE(WriteFileAtomic(repo + "/a.txt", "two\n").ok());
  EXPECT_EQ(stamp(repo), "#define SIGMA_GIT_COMMIT \"" + first + "-dirty\"");

  ASSERT_EQ(std::system((git + "commit -qam two").c_str()), 0);
  const std::string second = CommandOutput(git + "rev-parse --short HEAD");
  ASSERT_NE(second, first);
  EXPECT_EQ(stamp(repo), "#define SIGMA_GIT_COMMIT \"" + second + "\"");

  ASSERT_TRUE(MakeDirectories(dir_ + "/plain").ok());
  EXPECT_EQ(stamp(dir_ + "/plain"), "#define SIGMA_GIT_COMMIT \"unknown\"");
}

TEST_F(EngineCliTest, BrokenCheckpointIsReportedNotCrashed) {
  ASSERT_TRUE(MakeDirectories(dir_ + "/bad").ok());
  const std::string oracle = std::string(SIGMA_TEST_DATA) + "/oracle/llama-gqa-tiny";
  auto config = ReadFile(oracle + "/config.json");
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/bad/config.json", *config).ok());
  auto weights = ReadFile(oracle + "/model.safetensors");
  ASSERT_TRUE(weights.ok());
  ASSERT_TRUE(
      WriteFileAtomic(dir_ + "/bad/model.safetensors", weights->substr(0, weights->size() / 2))
          .ok());
  auto r = RunSigmaEval("generate --model " + dir_ + "/bad --prompt-ids 1,2");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r.err;
}

TEST_F(EngineCliTest, CpuBenchStoresEachRowWithTheReadBandwidthAroundIt) {
  const std::string db = dir_ + "/bench.db";
  auto r = RunSigmaEval(
      "bench --models sigma-tiny --contexts 16,64 --reps 2 --warmup 1 "
      "--decode-steps 2 --prompt-tokens 8 --read-bandwidth-mib 16 --model-cache " +
      dir_ + "/cache --db " + db);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("read GB/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bench run 1 stored in"), std::string::npos) << r.out;
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM bench_runs WHERE state = 'complete'"), 1);
  // Two decode rows, each with the bandwidth probed before its repetitions and its share of it
  // (a tiny model's step: far from 0, and not 100x off); the prefill row has none.
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM speed WHERE phase = 'decode' AND bytes_moved > 0 "
                     "AND json_extract(config_json, '$.read_gbps') > 0 "
                     "AND json_extract(config_json, '$.read_share') BETWEEN 0.0001 AND 100"),
            2);
  // A share past 100% (a tiny model's step reads from the caches) gets the line that says why.
  const bool past_probe =
      QueryInt(
          db, "SELECT count(*) FROM speed WHERE json_extract(config_json, '$.read_share') > 1") > 0;
  EXPECT_EQ(r.out.find("% read past 100: part of a step's bytes came from the CPU's caches") !=
                std::string::npos,
            past_probe)
      << r.out;
  // ... and the mean and sample std of those shares, which `compare` tests between sessions.
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM speed WHERE phase = 'decode' "
                     "AND json_extract(config_json, '$.read_share_mean') "
                     "BETWEEN 0.0001 AND 100 "
                     "AND json_extract(config_json, '$.read_share_std') >= 0"),
            2);
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM speed WHERE phase = 'prefill' AND "
                     "json_extract(config_json, '$.read_gbps') IS NULL"),
            1);
  // Every row says which transparent-huge-page mode it ran under (it moves decode speed ~10%),
  // and how decode steps ran (--decode-team, default auto).
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM speed WHERE json_extract(config_json, '$.thp') IN "
                     "('always', 'madvise', 'never', 'unavailable')"),
            3);
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM speed WHERE "
                     "json_extract(config_json, '$.decode_team') = 'auto'"),
            3);
  // 0 skips the measurement; a negative size is a usage error naming the flag.
  auto skip = RunSigmaEval(
      "bench --models sigma-tiny --contexts 16 --reps 1 --warmup 0 "
      "--decode-steps 1 --prompt-tokens 0 --read-bandwidth-mib 0 "
      "--model-cache " +
      dir_ + "/cache --db " + db);
  ASSERT_EQ(skip.exit_code, 0) << skip.err;
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM speed WHERE bench_id = 2 AND "
                     "json_extract(config_json, '$.read_gbps') IS NULL"),
            1);
  auto bad = RunSigmaEval(
      "bench --models sigma-tiny --contexts 16 --read-bandwidth-mib -1 "
      "--model-cache " +
      dir_ + "/cache --db " + db);
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--read-bandwidth-mib"), std::string::npos) << bad.err;
  // A thread count past int (once cut to its low bits: 2^32 + 2 ran as 2 threads).
  EXPECT_TRUE(
      Refused("bench --models sigma-tiny --contexts 16 --threads 4294967298 --model-cache " + dir_ +
                  "/cache --db " + db,
              "--threads: expected 0..1024, got 4294967298"));
  // A model that is neither a path nor a preset, named before a session is stored for the sweep.
  bad = RunSigmaEval("bench --models sigma-tiny,/no/such/model --db " + db);
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(
      bad.err.find("--models: '/no/such/model' is neither a model file or folder nor a preset"),
      std::string::npos)
      << bad.err;
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM bench_runs"), 2);  // nothing stored by the bad ones
  // A sweep whose KV cache cannot fit in memory is refused before it writes one (it was killed
  // by the kernel midway); its session is marked failed, the earlier ones stay as they were.
  bad = RunSigmaEval("bench --models sigma-tiny --contexts 16777216 --batch 1024 --model-cache " +
                     dir_ + "/cache --db " + db);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--contexts / --batch: sigma-tiny at 1677"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find(" positions x 1024 sequences needs"), std::string::npos) << bad.err;
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM bench_runs WHERE state = 'complete'"), 2);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM speed WHERE bench_id = 3"), 0);
  // A model path with a quote and a backslash is stored as valid JSON (it once broke the session's
  // and the rows' config_json, and with them the report's settings and bandwidth shares), and the
  // session's configuration names what the sweep was asked for.
  const std::string odd = dir_ + "/q\"b\\s";
  ASSERT_EQ(RunSigmaEval("make-model --config sigma-tiny --seed 1 --out '" + odd + "'").exit_code,
            0);
  auto quoted = RunSigmaEval("bench --models '" + odd +
                             "' --contexts 16 --reps 1 --warmup 0 --decode-steps 1 "
                             "--prompt-tokens 0 --read-bandwidth-mib 16 --db " +
                             db);
  ASSERT_EQ(quoted.exit_code, 0) << quoted.err;
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM bench_runs WHERE json_valid(config_json) AND "
                     "json_extract(config_json, '$.models') = '" +
                         odd +
                         "' AND "
                         "json_extract(config_json, '$.reps') = 1 AND "
                         "json_extract(config_json, '$.decode_steps') = 1"),
            1);
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM speed WHERE json_valid(config_json) AND "
                     "json_extract(config_json, '$.model') = '" +
                         odd + "'"),
            1);
}

// bench's table lines its columns up under the header however long the model's name (a path
// here; the column was 12 wide, so a path pushed each row's figures off their headings).
TEST_F(EngineCliTest, BenchTableColumnsLineUpUnderALongModelPath) {
  const std::string model = std::string(SIGMA_TEST_DATA) + "/oracle/llama-gqa-tiny";
  auto r = RunSigmaEval("bench --models " + model +
                        " --contexts 16 --reps 1 --warmup 0 --decode-steps 1 --prompt-tokens 4 "
                        "--read-bandwidth-mib 0 --db " +
                        dir_ + "/bench.db");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines;
  for (size_t at = 0; at < r.out.size();) {
    const size_t end = std::min(r.out.find('\n', at), r.out.size());
    lines.push_back(r.out.substr(at, end - at));
    at = end + 1;
  }
  const auto header = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.rfind("model ", 0) == 0 && l.find(" phase ") != std::string::npos;
  });
  ASSERT_NE(header, lines.end()) << r.out;
  const size_t phase_column = header->find(" phase ") + 1;
  int rows = 0;
  for (const std::string& line : lines) {
    if (line.rfind(model + " ", 0) != 0) continue;
    ++rows;
    EXPECT_EQ(line.find_first_not_of(' ', model.size()), phase_column) << *header << "\n" << line;
    EXPECT_EQ(line.size(), header->size() + 1) << *header << "\n"
                                               << line;  // "±": 2 bytes, 1 column
  }
  EXPECT_EQ(rows, 2) << r.out;  // prefill and one decode context
  // Prefill times neither the attention nor the bytes a step reads: dashes, not zeros.
  const auto prefill = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find(" prefill ") != std::string::npos;
  });
  ASSERT_NE(prefill, lines.end()) << r.out;
  EXPECT_EQ(prefill->find(" 0.000 "), std::string::npos) << *prefill;
  EXPECT_NE(prefill->find(" -         -         -       -"), std::string::npos) << *prefill;
}

// The engine commands that take --device, each with the flags it needs to get that far.
std::vector<std::string> DeviceCommands(const std::string& dir) {
  const std::string oracle = std::string(SIGMA_TEST_DATA) + "/oracle/llama-gqa-tiny";
  return {
      "generate --model " + oracle + " --prompt-ids 1,2,3 --max-tokens 2",
      "logits --model " + oracle + " --prompt-ids 1,2,3 --out " + dir + "/l.f32",
      "bench --models sigma-tiny --contexts 16 --reps 1 --warmup 0 --decode-steps 1 "
      "--prompt-tokens 0 "
      "--model-cache " +
          dir + "/cache --db " + dir + "/bench.db",
      "run --model " + oracle + " --tasks arc_easy --limit 1 --db " + dir + "/run.db",
  };
}

int CountLines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST_F(EngineCliTest, DeviceCudaWithoutAUsableGpuIsOneClearEnvironmentError) {
  if (cuda::DeviceCount() > 0)
    GTEST_SKIP() << "a CUDA device is visible; tests/gpu covers --device cuda";
  const std::string why = cuda::Compiled()
                              ? "--device cuda: no CUDA device: "
                              : "--device cuda: this build has no CUDA backend (configure with "
                                "-DSIGMA_CUDA=ON where nvcc and cuBLAS exist)";
  for (const std::string& command : DeviceCommands(dir_)) {
    auto r = RunSigmaEval(command + " --device cuda");
    const std::string name = command.substr(0, command.find(' '));
    EXPECT_EQ(r.exit_code, 3) << command << "\n" << r.err;  // environment (README: exit codes)
    EXPECT_EQ(r.err.rfind("sigma-eval " + name + ": UNAVAILABLE: " + why, 0), 0u) << r.err;
    EXPECT_EQ(CountLines(r.err), 1) << "one line, no per-sample noise:\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  // Nothing was written before the check: no results database, no generated checkpoint.
  EXPECT_FALSE(FileExists(dir_ + "/bench.db"));
  EXPECT_FALSE(FileExists(dir_ + "/run.db"));
  EXPECT_FALSE(FileExists(dir_ + "/cache"));
  EXPECT_FALSE(FileExists(dir_ + "/l.f32"));
}

TEST_F(EngineCliTest, UnknownDeviceIsAUsageErrorNamingTheFlag) {
  for (const std::string& command : DeviceCommands(dir_)) {
    auto r = RunSigmaEval(command + " --device tpu");
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.err;  // usage
    EXPECT_NE(r.err.find("--device: expected cpu or cuda, got 'tpu'"), std::string::npos) << r.err;
    EXPECT_EQ(CountLines(r.err), 1) << r.err;
  }
}

}  // namespace
}  // namespace sigma
