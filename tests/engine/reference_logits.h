// Helpers of the tests that check the engine's logits against a reference computed elsewhere
// (tests/oracle/*.py) from a checkpoint make-model writes: the checkpoint rebuilt (make-model is
// seeded and portable), a model loaded for the comparison, the reference file read, and the
// difference over the rows the reference kept.
#ifndef SIGMA_TESTS_ENGINE_REFERENCE_LOGITS_H_
#define SIGMA_TESTS_ENGINE_REFERENCE_LOGITS_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/gguf/convert.h"
#include "engine/loader/checkpoint_layout.h"
#include "engine/loader/model_config.h"
#include "engine/loader/random_checkpoint.h"
#include "engine/loader/safetensors.h"
#include "engine/model.h"

namespace sigma::testing_util {

// The config in `path` (a config.json).
inline ModelConfig ReadModelConfig(const std::string& path) {
  auto text = ReadFile(path);
  SIGMA_CHECK(text.ok(), text.status().ToString());
  auto config = ParseModelConfig(*text, path);
  SIGMA_CHECK(config.ok(), config.status().ToString());
  return *config;
}

// This process's own folder in the temp dir (ctest runs each test as a process, several at once),
// removed when the process exits.
inline const std::string& CheckpointRoot() {
  struct Root {
    std::string dir = ::testing::TempDir() + "/reference_logits_" + std::to_string(::getpid());
    ~Root() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  };
  static const Root root;
  return root.dir;
}

// make-model's bf16 checkpoint of `config` with `seed`, in a fresh folder of CheckpointRoot().
inline std::string RandomCheckpoint(const ModelConfig& config, const std::string& name,
                                    uint64_t seed) {
  const std::string dir = CheckpointRoot() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path());
  const Status written = WriteRandomCheckpoint(config, dir, seed, DType::kBF16, 2);
  SIGMA_CHECK(written.ok(), written.ToString());
  return dir;
}

// The model at `path` on 2 threads with an f32 KV cache.
inline std::unique_ptr<Model> LoadF32Cache(const std::string& path,
                                           DecodeTeam team = DecodeTeam::kAuto,
                                           int64_t max_context = 128) {
  EngineOptions options;
  options.threads = 2;
  options.kv_dtype = "f32";
  options.max_context = max_context;
  options.decode_team = team;
  auto model = Model::Load(path, options);
  SIGMA_CHECK(model.ok(), model.status().ToString());
  return std::move(*model);
}

// Token ids 1 .. n, the prompt the references run.
inline std::vector<int32_t> IdsFromOne(int32_t n) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = i + 1;
  return ids;
}

// Every position's logits of ids 1..70 (the references' prompt) by a model of `weights` on 2
// threads with an f32 KV cache; copy_weights false: read from the file mapping (no decode copies,
// so no tiles: the float kernels, f32 activations).
inline std::vector<float> AllLogitsOf(ModelWeights weights, bool copy_weights = true) {
  EngineOptions options;
  options.threads = 2;
  options.kv_dtype = "f32";
  options.max_context = 128;
  options.copy_weights = copy_weights;
  auto model = Model::FromWeights(std::move(weights), options);
  SIGMA_CHECK(model.ok(), model.status().ToString());
  std::vector<float> logits;
  const Status run = (*model)->Prefill(0, IdsFromOne(70), LogitsMode::kAll, &logits);
  SIGMA_CHECK(run.ok(), run.ToString());
  return logits;
}

// The weights at `path` (a folder or a GGUF), which must load.
inline ModelWeights LoadWeights(const std::string& path) {
  auto weights = LoadModelWeights(path);
  SIGMA_CHECK(weights.ok(), weights.status().ToString());
  return std::move(*weights);
}

// A small config.json (vocabulary 64, hidden 32, FFN 48, 2 layers, 4 heads) with `fields` (JSON
// members, "model_type" among them) is refused, the message holding `words`.
inline void ExpectSmallConfigRefused(const std::string& fields, const std::string& words) {
  const std::string json = StrCat("{", fields,
                                  R"(, "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
                                  "num_hidden_layers": 2, "num_attention_heads": 4})");
  const auto config = ParseModelConfig(json, "config.json");
  ASSERT_FALSE(config.ok()) << json;
  EXPECT_NE(config.status().ToString().find(words), std::string::npos)
      << config.status().ToString();
}

// The checkpoint folder `folder` read through `config`'s layout (ApplyLayout: a family's stacked
// experts) is refused, the message holding `words`.
inline void ExpectLayoutRefused(const std::string& folder, const ModelConfig& config,
                                const std::string& words) {
  auto source = SafetensorsWeightSource::Open(folder);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  const Status refused = (*source)->ApplyLayout(CheckpointLayout(config));
  EXPECT_NE(refused.message().find(words), std::string::npos) << refused.ToString();
}

// `folder` converted to a GGUF of `type` (`sigma-eval convert --type`) at
// CheckpointRoot()/`name`.gguf, replacing an earlier one.
inline std::string ConvertToGguf(const std::string& folder, const std::string& name, DType type) {
  const std::string gguf = CheckpointRoot() + "/" + name + ".gguf";
  std::filesystem::remove(gguf);
  ConvertOptions options;
  options.type = type;
  const Status converted = Convert(folder, gguf, options);
  SIGMA_CHECK(converted.ok(), converted.ToString());
  return gguf;
}

// Every position's logits of ids 1..70 (the references' prompt) by the model at `path`
// (LoadF32Cache).
inline std::vector<float> AllLogits(const std::string& path) {
  std::vector<float> logits;
  const Status run = LoadF32Cache(path)->Prefill(0, IdsFromOne(70), LogitsMode::kAll, &logits);
  SIGMA_CHECK(run.ok(), run.ToString());
  return logits;
}

// `folder` converted to an f32 GGUF (`sigma-eval convert --type f32`, what the llama.cpp
// references ran) and that back to a checkpoint folder, both under CheckpointRoot()/`name`_gguf.
struct GgufRoundTrip {
  std::string gguf;
  std::string back;
};
inline GgufRoundTrip ConvertThroughF32Gguf(const std::string& folder, const std::string& name) {
  const std::string dir = CheckpointRoot() + "/" + name + "_gguf";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  GgufRoundTrip paths{dir + "/" + name + ".gguf", dir + "/back"};
  ConvertOptions f32;
  f32.type = DType::kF32;
  const Status to_gguf = Convert(folder, paths.gguf, f32);
  SIGMA_CHECK(to_gguf.ok(), to_gguf.ToString());
  const Status to_folder = Convert(paths.gguf, paths.back, ConvertOptions{});
  SIGMA_CHECK(to_folder.ok(), to_folder.ToString());
  return paths;
}

// The path of fixture `file` in tests/data/`dir`.
inline std::string TestData(const std::string& dir, const std::string& file) {
  return std::string(SIGMA_TEST_DATA) + "/" + dir + "/" + file;
}

// A float32 little-endian file.
inline std::vector<float> ReadF32File(const std::string& path) {
  auto bytes = ReadFile(path);
  SIGMA_CHECK(bytes.ok(), bytes.status().ToString());
  std::vector<float> out(bytes->size() / sizeof(float));
  std::memcpy(out.data(), bytes->data(), out.size() * sizeof(float));
  return out;
}

// The rows 0, step, 2 step, ... below n, and n - 1.
inline std::vector<int64_t> EveryNthRowAndLast(int64_t n, int64_t step) {
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < n; r += step) rows.push_back(r);
  if (rows.back() != n - 1) rows.push_back(n - 1);
  return rows;
}

// The largest |all[rows[i]][v] - kept[i][v]|: `all` holds every position's logits, `kept` those of
// `rows` only.
inline float WorstRowDifference(const std::vector<float>& all, const std::vector<int64_t>& rows,
                                const std::vector<float>& kept, int64_t vocab) {
  SIGMA_CHECK(kept.size() == rows.size() * static_cast<size_t>(vocab), "reference holds ",
              kept.size(), " logits, not ", rows.size(), " rows of ", vocab);
  float worst = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (int64_t v = 0; v < vocab; ++v) {
      worst = std::max(worst, std::fabs(all[rows[i] * vocab + v] - kept[i * vocab + v]));
    }
  }
  return worst;
}

// The largest |Δlogit| between `all` (every position's logits of ids 1..70, AllLogits) and a
// reference file of the rows the oracle scripts keep: transformers' 0, 5, ..., 65 and 69
// (tests/oracle/transformers_reference.py), llama.cpp's 0, 7, ..., 63 and 69
// (tests/oracle/llama3_rope_reference.py).
enum class Reference { kTransformers, kLlamaCpp };
inline float DifferenceFrom(const std::vector<float>& all, const std::string& path,
                            Reference reference) {
  const auto vocab = static_cast<int64_t>(all.size() / 70);
  const int64_t step = reference == Reference::kTransformers ? 5 : 7;
  return WorstRowDifference(all, EveryNthRowAndLast(70, step), ReadF32File(path), vocab);
}

// A model family's fixtures in tests/data/`dir`: its files, the configs there, and make-model's
// bf16 checkpoint of one with seed 5, the one the references ran (named `dir` for config.json,
// else the config file's stem).
class FamilyFixture {
 public:
  explicit constexpr FamilyFixture(const char* dir) : dir_(dir) {}
  std::string Data(const std::string& file) const { return TestData(dir_, file); }
  ModelConfig Config(const std::string& json = "config.json") const {
    return ReadModelConfig(Data(json));
  }
  std::string Checkpoint(const std::string& json = "config.json") const {
    const std::string name =
        json == "config.json" ? std::string(dir_) : json.substr(0, json.rfind('.'));
    return RandomCheckpoint(Config(json), name, 5);
  }

 private:
  const char* dir_;
};

// Decode steps give the logits of one full forward: the model at `path` prefills the first `split`
// of `ids`, then decodes the rest one step at a time, as a team of its threads and as parallel
// loops, each step within `tolerance` (1e-5; more for quantized weights, whose decode steps take
// integer kernels that round the activations) of the full forward's row.
inline void ExpectDecodeStepsGiveTheFullForwardsLogits(const std::string& path,
                                                       const std::vector<int32_t>& ids,
                                                       size_t split, float tolerance = 1e-5f) {
  std::vector<float> full;
  ASSERT_TRUE(LoadF32Cache(path)->Prefill(0, ids, LogitsMode::kAll, &full).ok());
  const size_t vocab = full.size() / ids.size();
  for (DecodeTeam team : {DecodeTeam::kAlways, DecodeTeam::kNever}) {
    const std::unique_ptr<Model> model = LoadF32Cache(path, team);
    std::vector<float> step;
    ASSERT_TRUE(model->Prefill(0, {ids.data(), split}, LogitsMode::kLast, &step).ok());
    for (size_t i = split; i < ids.size(); ++i) {
      const TokenRow row{0, ids[i]};
      EXPECT_EQ(model->UsesDecodeTeam({&row, 1}), team == DecodeTeam::kAlways);
      ASSERT_TRUE(model->Forward({&row, 1}, LogitsMode::kLast, &step).ok());
      float worst = 0;
      for (size_t v = 0; v < vocab; ++v) {
        worst = std::max(worst, std::fabs(step[v] - full[i * vocab + v]));
      }
      EXPECT_LT(worst, tolerance) << "position " << i
                                  << (team == DecodeTeam::kAlways ? " (team)" : "");
    }
  }
}

}  // namespace sigma::testing_util

#endif  // SIGMA_TESTS_ENGINE_REFERENCE_LOGITS_H_
