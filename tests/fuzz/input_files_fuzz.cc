// libFuzzer harness for the text and binary files a user hands the project besides GGUF (that is
// gguf_fuzz.cc): safetensors checkpoints, model config.json, tokenizer.json, task config.json,
// prompt templates and JSONL datasets, a whole task (a config and its documents, each built
// into requests and scored with made-up responses), and MATH answers. The first byte picks the
// parser, the rest is its input; every one must return a Status error (or a value), never crash,
// hang or read out of bounds. Built only with clang and -DSIGMA_FUZZ=ON
// (tests/fuzz/CMakeLists.txt); seeds in tests/fuzz/corpus/inputs/ (tests/fuzz/make_input_seeds.py).
// Run:
//   ./input_files_fuzz -max_total_time=300 -max_len=65536 tests/fuzz/corpus/inputs
#include <rapidjson/document.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "engine/loader/model_config.h"
#include "engine/loader/safetensors.h"
#include "engine/tokenizer/tokenizer.h"
#include "tasks/jsonl.h"
#include "tasks/math_answer.h"
#include "tasks/task.h"
#include "tasks/task_config.h"
#include "tasks/template.h"

namespace {

volatile uint64_t sink = 0;

// SafetensorsFile reads from a path: the input goes to one scratch file per process, removed at
// exit.
struct ScratchFile {
  ScratchFile() : path("/tmp/input_files_fuzz." + std::to_string(getpid()) + ".safetensors") {}
  ~ScratchFile() { unlink(path.c_str()); }
  const std::string path;
};

void Safetensors(std::string_view bytes) {
  static const ScratchFile scratch;
  const std::string& path = scratch.path;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return;
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  auto file = sigma::SafetensorsFile::Open(path);
  if (!file.ok()) return;
  for (const auto& [name, view] : (*file)->tensors()) {
    const auto* data = static_cast<const uint8_t*>(view.data);
    if (view.nbytes > 0) sink = sink + data[0] + data[view.nbytes - 1];
  }
}

void Tokenizer(std::string_view text) {
  auto tok = sigma::Tokenizer::FromTokenizerJsonText(text, "fuzz/tokenizer.json");
  if (!tok.ok()) return;
  const auto ids = (*tok)->Encode("Hello world 123 <|im_start|> \xff\xfe caf\xc3\xa9", true);
  sink = sink + (*tok)->Decode(ids).size();
}

void Template(std::string_view text) {
  auto tmpl = sigma::tasks::Template::Parse(text, "fuzz: template");
  if (!tmpl.ok()) return;
  rapidjson::Document doc;
  doc.Parse(R"({"question": " Why? ", "subject": "high_school_physics", "choices": ["a", "b"],
                "answer": 1, "nested": {"list": [1, 2.5, "x"]}})");
  auto text_out = tmpl->Render(doc);
  auto list_out = tmpl->RenderList(doc);
  sink = sink + text_out.ok() + list_out.ok();
}

// A task config, a line holding only "---", then its JSONL documents: each document's requests
// built, then scored with responses of the right shape (a text, one log-likelihood a
// continuation) and with none.
void WholeTask(std::string_view input) {
  const size_t split = input.find("\n---\n");
  if (split == std::string_view::npos) return;
  auto config = sigma::tasks::ParseTaskConfig(input.substr(0, split), "fuzz/task/config.json");
  if (!config.ok()) return;
  auto docs = sigma::tasks::ParseJsonl(input.substr(split + 5), "fuzz/task/test.jsonl",
                                       config->doc_id_field);
  if (!docs.ok()) return;
  auto task = sigma::tasks::Task::Create(*config, *docs, *docs, "fuzz");
  if (!task.ok()) return;
  std::vector<sigma::tasks::SampleScore> scores;
  for (size_t i = 0; i < (*task)->docs().size() && i < 8; ++i) {
    const sigma::tasks::Document& doc = (*task)->docs()[i];
    auto requests = (*task)->BuildRequests(doc);
    if (!requests.ok()) continue;
    std::vector<sigma::tasks::Response> responses;
    for (const sigma::tasks::Request& r : *requests) {
      sigma::tasks::Response response;
      response.text = "The answer is 42.\n#### 42";
      for (size_t c = 0; c < r.continuations.size(); ++c) {
        response.loglikelihoods.push_back({-1.0 - static_cast<double>(c % 3), c == 0, 2});
      }
      responses.push_back(std::move(response));
    }
    auto score = (*task)->Score(doc, responses);
    if (score.ok()) scores.push_back(*score);
    sink = sink + (*task)->Score(doc, {}).ok();
  }
  sink = sink + (*task)->AggregateScores(scores).size();
}

// MATH answers (tasks/math_answer.h): the boxed answer of a solution, the normalisation, the
// comparison with a fixed answer and with itself, the dollar span.
void MathAnswer(std::string_view text) {
  namespace math = sigma::tasks::math;
  const auto boxed = math::LastBoxed(text);
  const auto answer = math::BoxedAnswer(text);
  const auto normalized = math::Normalize(text);
  sink = sink + boxed.has_value() + answer.ok() + (normalized ? normalized->size() : 0) +
         math::IsEquiv(text, "\\frac{1}{2}") + math::IsEquiv(text, text) +
         math::DollarSpan(text).size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0: Safetensors(input); break;
    case 1: sink = sink + sigma::ParseModelConfig(input, "fuzz/config.json").ok(); break;
    case 2: Tokenizer(input); break;
    case 3: sink = sink + sigma::tasks::ParseTaskConfig(input, "fuzz/task/config.json").ok(); break;
    case 4: Template(input); break;
    case 5: sink = sink + sigma::tasks::ParseJsonl(input, "fuzz.jsonl", "id").ok(); break;
    case 6: WholeTask(input); break;
    case 7: MathAnswer(input); break;
  }
  return 0;
}
