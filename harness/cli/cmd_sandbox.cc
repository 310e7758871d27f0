// sigma-eval sandbox: runs one command in the bubblewrap sandbox and prints the result as JSON.
//
//   sigma-eval sandbox [--profile P] [--wall-ms N --cpu-ms N --memory-mb N --pids N --output-kb N]
//                      [--file-size-mb N --tmpfs-mb N --stdin-file PATH --env K=V,...] -- CMD ARGS...
//
// Exit code: 0 verdict OK, 1 any other verdict (the JSON says which), 2 bad usage, 3 the sandbox
// cannot start here (preflight) or failed for this run (SANDBOX_ERROR).
#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"
#include "harness/sandbox/bwrap_sandbox.h"

namespace sigma::cli {
namespace {

void AppendField(const char* name, const std::string& raw_json, bool last, std::string* out) {
  *out += "  \"";
  *out += name;
  *out += "\": ";
  *out += raw_json;
  *out += last ? "\n" : ",\n";
}

std::string ResultJson(const tasks::ExecResult& r) {
  std::string out = "{\n";
  char number[64];
  AppendField("verdict", JsonQuote(std::string(tasks::VerdictName(r.verdict))), false, &out);
  AppendField("exit_code", r.exit_code >= 0 ? std::to_string(r.exit_code) : "null", false, &out);
  AppendField("signal", r.term_signal > 0 ? std::to_string(r.term_signal) : "null", false, &out);
  std::snprintf(number, sizeof(number), "%.3f", r.wall_ms);
  AppendField("wall_ms", number, false, &out);
  std::snprintf(number, sizeof(number), "%.3f", r.cpu_ms);
  AppendField("cpu_ms", number, false, &out);
  AppendField("peak_memory_kb", std::to_string(r.peak_memory_kb), false, &out);
  AppendField("stdout", JsonQuote(r.stdout_data), false, &out);
  AppendField("stdout_truncated", r.stdout_truncated ? "true" : "false", false, &out);
  AppendField("stderr", JsonQuote(r.stderr_data), false, &out);
  AppendField("stderr_truncated", r.stderr_truncated ? "true" : "false", false, &out);
  AppendField("detail", JsonQuote(r.detail), true, &out);
  return out + "}\n";
}

Status ParseEnv(const std::string& text, std::map<std::string, std::string>* env) {
  for (const std::string& item : SplitCommaList(text)) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("--env: '", item, "': expected NAME=VALUE");
    }
    (*env)[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return Status::Ok();
}

}  // namespace

int RunSandbox(const Args& args) {
  tasks::ExecRequest request;
  std::string stdin_file, env_text;
  Flags flags("sandbox", "sigma-eval sandbox [flags] -- CMD ARGS...",
              "Runs one command in the bubblewrap sandbox and prints the verdict as JSON.");
  flags.String("profile", &request.profile, "sandbox profile: default or host-tools");
  flags.Int("wall-ms", &request.limits.wall_ms, "wall-clock limit (ms)");
  flags.Int("cpu-ms", &request.limits.cpu_ms, "CPU-time limit for the whole process tree (ms)");
  flags.Int("memory-mb", &request.limits.memory_mb, "memory limit (MiB)");
  flags.Int("pids", &request.limits.pids, "process and thread limit");
  flags.Int("output-kb", &request.limits.output_kb, "cap per output stream (KiB)");
  flags.Int("file-size-mb", &request.limits.file_size_mb, "largest file the command may write");
  flags.Int("tmpfs-mb", &request.limits.tmpfs_mb, "size of the writable work dir (MiB)");
  flags.String("stdin-file", &stdin_file, "file whose contents become the command's stdin");
  flags.String("env", &env_text, "environment for the command: NAME=VALUE,...");
  flags.TakesPositional(Flags::kAnyNumber);
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  request.argv = flags.positional();
  if (request.argv.empty()) {
    return ReportError("sandbox", InvalidArgumentError("expected a command after '--'"));
  }
  if (Status s = ParseEnv(env_text, &request.env); !s.ok()) return ReportError("sandbox", s);
  if (!stdin_file.empty()) {
    StatusOr<std::string> data = ReadFile(stdin_file);
    if (!data.ok()) return ReportError("sandbox", data.status().WithContext("--stdin-file"));
    request.stdin_data = std::move(*data);
  }
  auto sandbox = sandbox::BwrapSandbox::Create();
  if (!sandbox.ok()) return ReportError("sandbox", sandbox.status());
  StatusOr<tasks::ExecResult> result = (*sandbox)->Run(request);
  if (!result.ok()) return ReportError("sandbox", result.status());
  std::fputs(ResultJson(*result).c_str(), stdout);
  if (result->verdict == tasks::Verdict::kOk) return kExitOk;
  return result->verdict == tasks::Verdict::kSandboxError ? kExitEnvironment : kExitFailed;
}

}  // namespace sigma::cli
