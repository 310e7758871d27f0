#include "tasks/executor.h"

namespace sigma::tasks {

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOk: return "OK";
    case Verdict::kTimeout: return "TIMEOUT";
    case Verdict::kMemory: return "MEMORY";
    case Verdict::kOutputLimit: return "OUTPUT_LIMIT";
    case Verdict::kRuntimeError: return "RUNTIME_ERROR";
    case Verdict::kSandboxError: return "SANDBOX_ERROR";
  }
  return "SANDBOX_ERROR";
}

StatusOr<Verdict> ParseVerdict(std::string_view name) {
  for (Verdict v : {Verdict::kOk, Verdict::kTimeout, Verdict::kMemory, Verdict::kOutputLimit,
                    Verdict::kRuntimeError, Verdict::kSandboxError}) {
    if (VerdictName(v) == name) return v;
  }
  return InvalidArgumentError("unknown verdict '", name, "'");
}

}  // namespace sigma::tasks
