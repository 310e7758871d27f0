// Executor: the interface through which scorers run model-generated code and commands.
//
// Tasks never see the sandbox; the harness wires its bubblewrap sandbox in as the Executor
// (harness/sandbox). A run's outcome, including a hostile program's, is data: a Verdict plus what it
// printed. Only a failure to run anything at all (the sandbox cannot start) is a Status error.
// Thread safety: implementations must allow concurrent Run calls.
#ifndef SIGMA_TASKS_EXECUTOR_H_
#define SIGMA_TASKS_EXECUTOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace sigma::tasks {

enum class Verdict {
  kOk,            // exited with status 0
  kTimeout,       // wall or CPU limit reached; the whole process tree was killed
  kMemory,        // memory limit reached (OOM kill or allocation failure under the limit)
  kOutputLimit,   // stdout/stderr or a written file exceeded its cap
  kRuntimeError,  // non-zero exit or killed by a signal
  kSandboxError,  // the sandbox itself failed for this run
};

std::string_view VerdictName(Verdict verdict);  // "OK", "TIMEOUT", ...
StatusOr<Verdict> ParseVerdict(std::string_view name);

struct Limits {
  int64_t wall_ms = 10'000;
  int64_t cpu_ms = 10'000;
  int64_t memory_mb = 512;
  int64_t pids = 64;
  int64_t output_kb = 1024;     // per stream
  int64_t file_size_mb = 16;    // largest file a program may write
  int64_t tmpfs_mb = 64;        // size of the writable work dir
};

struct ExecRequest {
  // argv[0] is resolved inside the sandbox (e.g. "bash", "python3").
  std::vector<std::string> argv;
  std::string stdin_data;
  // Files created in the work dir before the run: relative path -> contents.
  std::map<std::string, std::string> files;
  // Environment given to the program (nothing of the host's passes unless listed).
  std::map<std::string, std::string> env;
  Limits limits;
  std::string profile = "default";  // "default" or "host-tools"
};

struct ExecResult {
  Verdict verdict = Verdict::kSandboxError;
  int exit_code = -1;    // when the program exited
  int term_signal = 0;   // when it was killed by a signal
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  double wall_ms = 0;
  double cpu_ms = 0;
  int64_t peak_memory_kb = 0;
  std::string detail;    // why SANDBOX_ERROR / MEMORY / OUTPUT_LIMIT, for people
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual StatusOr<ExecResult> Run(const ExecRequest& request) = 0;
};

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_EXECUTOR_H_
