// Helpers shared by the loader tests: scratch folders, raw safetensors bytes for hostile files,
// and small checkpoints built from ExpectedTensors with per-test edits.
#ifndef SIGMA_TESTS_ENGINE_LOADER_LOADER_TEST_UTIL_H_
#define SIGMA_TESTS_ENGINE_LOADER_LOADER_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/base/status.h"
#include "engine/loader/model_config.h"
#include "engine/loader/model_weights.h"
#include "engine/loader/safetensors.h"

namespace sigma::testing_util {

inline std::string OracleDir(const std::string& name) {
  return std::string(SIGMA_TEST_DATA) + "/oracle/" + name;
}

// A fresh folder under the test temp dir, removed at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = ::testing::TempDir() + "/sigma_loader_XXXXXX";
    SIGMA_CHECK(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp failed");
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// 8-byte little-endian length + header + data; `declared_len` overrides the length field.
inline std::string RawSafetensors(const std::string& header, const std::string& data,
                                  int64_t declared_len = -1) {
  const uint64_t len = declared_len >= 0 ? static_cast<uint64_t>(declared_len) : header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out + header + data;
}

// One tensor of a test checkpoint: its spec (editable) and f32 contents derived from its index.
struct TestTensor {
  SafetensorsTensorInfo info;
  std::string bytes;
};

inline std::string FloatBytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// The tensors of `config` as F32 with small deterministic values (norms 1).
inline std::vector<TestTensor> TensorsFor(const ModelConfig& config) {
  std::vector<TestTensor> out;
  int index = 0;
  for (const ExpectedTensor& spec : ExpectedTensors(config)) {
    int64_t n = 1;
    for (int64_t d : spec.shape) n *= d;
    std::vector<float> values(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      values[i] = spec.kind == TensorKind::kNorm ? 1.0f : 0.001f * ((i * 7 + index) % 13 - 6);
    }
    out.push_back({{spec.name, "F32", spec.shape}, FloatBytes(values)});
    ++index;
  }
  return out;
}

inline TestTensor* FindTestTensor(std::vector<TestTensor>& tensors, const std::string& name) {
  for (TestTensor& t : tensors) {
    if (t.info.name == name) return &t;
  }
  return nullptr;
}

// Writes config.json (config.ToJson()) and the tensors as one model.safetensors in `dir`.
inline Status WriteTestCheckpoint(const std::string& dir, const ModelConfig& config,
                                  const std::vector<TestTensor>& tensors) {
  std::vector<SafetensorsTensorData> data;
  for (const TestTensor& t : tensors) data.push_back({t.info, t.bytes});
  SIGMA_RETURN_IF_ERROR(WriteSafetensors(dir + "/model.safetensors", data));
  return WriteFileAtomic(dir + "/config.json", config.ToJson());
}

#define SIGMA_EXPECT_ERROR(expr, code_value, substring)                           \
  do {                                                                            \
    const ::sigma::Status status_ = (expr);                                       \
    EXPECT_EQ(status_.code(), code_value) << status_.ToString();                  \
    EXPECT_NE(status_.message().find(substring), std::string::npos)               \
        << "message '" << status_.message() << "' lacks '" << (substring) << "'"; \
  } while (0)

}  // namespace sigma::testing_util

#endif  // SIGMA_TESTS_ENGINE_LOADER_LOADER_TEST_UTIL_H_
