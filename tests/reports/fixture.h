// A realistic results database for the reports tests, written through the harness's ResultsStore
// (the real writer): three runs (sigma-1.5b, gqa16, replay:gpt4.jsonl) over arc_easy / gsm8k /
// cmdgen with hostile outputs, an errored sample, task aggregates, and speed rows (a bench session
// with sigma-1.5b and gqa16 at three contexts, plus per-run rows). Timestamps are fixed afterwards
// so rendered outputs are byte-stable (goldens).
#ifndef SIGMA_TESTS_REPORTS_FIXTURE_H_
#define SIGMA_TESTS_REPORTS_FIXTURE_H_

#include <cstdint>
#include <string>

#include "engine/base/status.h"

namespace sigma::reports::testing {

struct FixtureShape {
  int runs = 3;              // 1: sigma-1.5b, 2: gqa16, 3: replay (when >= 3); more: sigma-1.5b
  int tasks = 3;             // arc_easy, gsm8k, cmdgen, then task_3, ...
  int docs_per_task = 20;
  bool speed = true;
};

// Writes the database at `path` (must not exist).
Status BuildFixtureDb(const std::string& path, const FixtureShape& shape = {});

// The hostile output stored in gsm8k doc 3 of every model run.
std::string HostileOutput();

// A scratch folder removed when the object goes away.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace sigma::reports::testing

#endif  // SIGMA_TESTS_REPORTS_FIXTURE_H_
