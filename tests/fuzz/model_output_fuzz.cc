// libFuzzer harness for what the AIMICIUS scorers do with a model's output, which is hostile input
// (aimicius/common/text.h): JSON and code-block extraction, KQL parsing and component analysis
// (the NL2KQL scorer), command extraction and shell-word splitting (CMDGen; its scorer also needs
// the sentence encoder), the Infrawise DCW and retrieval scorers, and OptiFlow plans read from a
// program's stdout, checked and simulated; each against the first record of its sample set. The first byte picks the scorer, the rest is the output. Built only with clang
// and -DSIGMA_FUZZ=ON (tests/fuzz/CMakeLists.txt); seeds in tests/fuzz/corpus/model_output/
// (tests/fuzz/make_model_output_seeds.py). Run:
//   ./model_output_fuzz -max_total_time=300 -max_len=65536 tests/fuzz/corpus/model_output
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "aimicius/cmdgen/cmdgen.h"
#include "aimicius/common/text.h"
#include "aimicius/infrawise/infrawise.h"
#include "aimicius/nl2kql/nl2kql.h"
#include "aimicius/optiflow/optiflow.h"
#include "aimicius/optiflow/plan.h"
#include "engine/base/file.h"
#include "engine/base/json.h"

namespace {

volatile uint64_t sink = 0;

// The first record of an AIMICIUS sample set (SIGMA_SOURCE_DIR is set by the build).
std::unique_ptr<rapidjson::Document> FirstRecord(const char* task) {
  auto text = sigma::ReadFile(std::string(SIGMA_SOURCE_DIR) + "/aimicius/data/" + task + "/sample.jsonl");
  if (!text.ok()) std::abort();
  auto doc = sigma::ParseJson(std::string_view(*text).substr(0, text->find('\n')), task);
  if (!doc.ok()) std::abort();
  return std::move(*doc);
}

template <class T>
const T& Check(const sigma::StatusOr<T>& value) {
  if (!value.ok()) std::abort();
  return *value;
}

struct Records {
  Records()
      : nl2kql(Check(sigma::aimicius::ParseNl2KqlRecord(*FirstRecord("nl2kql"), "nl2kql"))),
        infrawise(Check(sigma::aimicius::ParseInfrawiseRecord(*FirstRecord("infrawise"), "infrawise"))),
        topology(Check(sigma::aimicius::optiflow::ParseTopology(*FirstRecord("optiflow"), "optiflow"))) {}
  sigma::aimicius::Nl2KqlRecord nl2kql;
  sigma::aimicius::InfrawiseRecord infrawise;
  sigma::aimicius::optiflow::Topology topology;
};

const Records& Sample() {
  static const Records records;
  return records;
}

void Plan(std::string_view text) {
  sink = sink + sigma::aimicius::ExtractPythonCode(text).has_value();
  auto plan = sigma::aimicius::optiflow::ParsePlanFromStdout(text);
  if (!plan.ok()) return;
  sink = sink + sigma::aimicius::optiflow::PlanToJson(*plan).size();
  const auto& topology = Sample().topology;
  if (!sigma::aimicius::optiflow::CheckPlan(topology, 2, *plan).ok()) return;
  sink = sink + sigma::aimicius::optiflow::SimulateLatency(topology, 1.0, *plan).ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view output =
      sigma::aimicius::ClipModelOutput(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  switch (data[0] % 5) {
    case 0: {
      auto score = sigma::aimicius::ScoreNl2Kql(Sample().nl2kql, output);
      sink = sink + (score.ok() ? score->metrics.size() : 0);
      break;
    }
    case 1: {
      const std::string command = sigma::aimicius::ExtractCommand(output);
      sink = sink + sigma::aimicius::ShellWords(command).size();
      break;
    }
    case 2:
      sink = sink + sigma::aimicius::ScoreDcw(Sample().infrawise, output).metrics.size() +
             sigma::aimicius::ScoreRetrieval(Sample().infrawise, output).metrics.size();
      break;
    case 3: Plan(output); break;
    case 4:
      sink = sink + sigma::aimicius::ExtractJson(output, '{').ok() +
             sigma::aimicius::ExtractJson(output, '[').ok() +
             sigma::aimicius::ExtractCodeBlocks(output).size();
      break;
  }
  return 0;
}
