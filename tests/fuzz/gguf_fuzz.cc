// libFuzzer harness for the GGUF reader and everything that consumes its metadata: the typed
// getters, ModelConfigFromGguf, GgufWeightSource, and Tokenizer::FromGguf (+ a short Encode, and
// the tokenizer written as tokenizer.json and read back, as convert does).
// Built only with clang and -DSIGMA_FUZZ=ON (tests/fuzz/CMakeLists.txt); seeds in
// tests/fuzz/corpus/gguf/ (tests/fuzz/make_gguf_seeds.py). Run:
//   ./gguf_fuzz -max_total_time=300 -max_len=65536 tests/fuzz/corpus/gguf
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_model.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

void Consume(const sigma::GgufFile& f) {
  volatile uint64_t sink = 0;
  for (const auto& [key, value] : f.metadata()) {
    sink = sink + key.size() + value.count + value.str.size();
    auto s = f.GetString(key);
    auto u = f.GetUint(key);
    auto a = f.GetStringArray(key);
    auto b = f.GetF32Array(key);
    auto c = f.GetI32Array(key);
    sink = sink + s.ok() + u.ok() + a.ok() + b.ok() + c.ok();
  }
  for (const sigma::GgufTensorInfo& t : f.tensors()) {
    auto data = f.TensorData(t);
    if (!data.empty()) sink = sink + data[0] + data[data.size() - 1];
  }
}

void Exercise(const sigma::Tokenizer& tok) {
  tok.Decode(tok.Encode("Hello world 123 <|im_start|> \xff", true));
  auto files = tok.ToHfFiles();
  if (!files.ok()) return;
  auto back = sigma::Tokenizer::FromTokenizerJsonText(files->tokenizer_json, "exported.json",
                                                      files->tokenizer_config_json);
  if (back.ok()) (*back)->Encode("Hello world 123 <|im_start|> \xff", true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = sigma::GgufFile::FromBytes(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.gguf");
  if (!file.ok()) return 0;
  Consume(**file);
  auto config = sigma::ModelConfigFromGguf(**file);
  if (config.ok()) {
    std::shared_ptr<const sigma::GgufFile> shared(std::move(*file));
    auto source = sigma::GgufWeightSource::Create(shared, *config);
    auto tok = sigma::Tokenizer::FromGguf(*shared);
    if (tok.ok()) Exercise(**tok);
    return 0;
  }
  auto tok = sigma::Tokenizer::FromGguf(**file);
  if (tok.ok()) Exercise(**tok);
  return 0;
}
