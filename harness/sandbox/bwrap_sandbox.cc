#include "harness/sandbox/bwrap_sandbox.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "harness/sandbox/launcher.h"
#include "harness/sandbox/sys_util.h"

namespace sigma::sandbox {
namespace {

using tasks::ExecRequest;
using tasks::ExecResult;
using tasks::Verdict;

constexpr int64_t kMaxOpenFiles = 256;

// A sealed memfd holding `data`, positioned at 0: stdin and the work-dir files come from these,
// so no host temp file or pipe writer is needed and nothing can block on them.
StatusOr<UniqueFd> MakeSealedMemfd(const char* name, const std::string& data) {
  UniqueFd fd(memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return InternalError("memfd_create: ", std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ResourceExhaustedError("writing a memfd: ", std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  lseek(fd.get(), 0, SEEK_SET);
  fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  return fd;
}

std::vector<std::pair<int, rlimit>> MakeRlimits(const tasks::Limits& limits, const RunCgroup& cg,
                                                bool non_root) {
  auto both = [](int64_t v) { return rlimit{static_cast<rlim_t>(v), static_cast<rlim_t>(v)}; };
  std::vector<std::pair<int, rlimit>> out = {
      {RLIMIT_CORE, both(0)},
      {RLIMIT_NOFILE, both(kMaxOpenFiles)},
      {RLIMIT_FSIZE, both(limits.file_size_mb << 20)},
  };
  // Per-process CPU backstop; the cgroup (when present) enforces the precise total.
  int64_t cpu_s = (limits.cpu_ms + 999) / 1000 + (cg.has_cpu() ? 1 : 0);
  out.push_back({RLIMIT_CPU, rlimit{static_cast<rlim_t>(cpu_s), static_cast<rlim_t>(cpu_s + 1)}});
  if (!cg.has_memory()) out.push_back({RLIMIT_AS, both(limits.memory_mb << 20)});
  // RLIMIT_NPROC counts every process of the real uid, and is ignored for root: only a fallback.
  if (!cg.has_pids() && non_root) out.push_back({RLIMIT_NPROC, both(limits.pids)});
  return out;
}

bool LooksLikeAllocationFailure(const std::string& err) {
  for (const char* marker : {"MemoryError", "std::bad_alloc", "Cannot allocate memory",
                             "out of memory", "Out of memory"}) {
    if (err.find(marker) != std::string::npos) return true;
  }
  return false;
}

// Fills exit_code / term_signal from bwrap's wait status (128+N means "killed by signal N").
void DecodeStatus(int wait_status, ExecResult* result) {
  if (WIFSIGNALED(wait_status)) {
    result->term_signal = WTERMSIG(wait_status);
    return;
  }
  int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 255;
  if (code > 128 && code <= 128 + 64) {
    result->term_signal = code - 128;
  } else {
    result->exit_code = code;
  }
}

void Decide(const Outcome& o, const CgroupStats& stats, const tasks::Limits& limits,
            ExecResult* r) {
  const bool bwrap_failed = r->exit_code == 1 && r->stderr_data.rfind("bwrap: ", 0) == 0;
  if (o.stop == StopReason::kWallLimit) {
    r->verdict = Verdict::kTimeout;
    r->detail = StrCat("wall time limit of ", limits.wall_ms, " ms reached; process tree killed");
  } else if (o.stop == StopReason::kCpuLimit || r->term_signal == SIGXCPU) {
    r->verdict = Verdict::kTimeout;
    r->detail = StrCat("CPU time limit of ", limits.cpu_ms, " ms reached; process tree killed");
  } else if (o.stop == StopReason::kOutputLimit || r->stdout_truncated || r->stderr_truncated) {
    r->verdict = Verdict::kOutputLimit;
    r->detail = StrCat("output over ", limits.output_kb, " KiB on ",
                       r->stdout_truncated ? "stdout" : "stderr", "; process tree killed");
  } else if (r->term_signal == SIGXFSZ) {
    r->verdict = Verdict::kOutputLimit;
    r->detail = StrCat("a written file went over ", limits.file_size_mb, " MiB");
  } else if (stats.oom_kills > 0) {
    r->verdict = Verdict::kMemory;
    r->detail = StrCat("memory limit of ", limits.memory_mb, " MiB reached (OOM kill)");
  } else if (bwrap_failed && r->stderr_data.find("execvp") != std::string::npos) {
    r->verdict = Verdict::kRuntimeError;
    r->exit_code = 127;
    r->detail = "command not found in the sandbox";
  } else if (bwrap_failed) {
    r->verdict = Verdict::kSandboxError;
    r->detail = "bwrap could not set up the sandbox: " +
                r->stderr_data.substr(0, r->stderr_data.find('\n'));
  } else if (r->exit_code == 0) {
    r->verdict = Verdict::kOk;
  } else if (LooksLikeAllocationFailure(r->stderr_data)) {
    r->verdict = Verdict::kMemory;
    r->detail = StrCat("allocation failed under the memory limit of ", limits.memory_mb, " MiB");
  } else {
    r->verdict = Verdict::kRuntimeError;
  }
  if (o.survivors > 0) {
    r->verdict = Verdict::kSandboxError;
    r->detail = StrCat(o.survivors, " process(es) survived the teardown");
  }
}

std::string FindBwrap(const std::string& configured) {
  if (!configured.empty()) return FindExecutable(configured, "");
  return FindExecutable("bwrap", "/usr/bin:/bin:/usr/local/bin");
}

}  // namespace

std::string ExplainPreflightFailure(const std::string& bwrap_path, const std::string& bwrap_stderr,
                                    int exit_code) {
  if (bwrap_path.empty()) {
    return "sandbox unavailable: bwrap (bubblewrap) not found; install the Debian package "
           "'bubblewrap' or pass its path";
  }
  std::string first_line = bwrap_stderr.substr(0, bwrap_stderr.find('\n'));
  std::string cause;
  if (first_line.find("namespace") != std::string::npos ||
      first_line.find("Operation not permitted") != std::string::npos ||
      first_line.find("uid map") != std::string::npos) {
    cause = " (user namespaces look disabled: check sysctl user.max_user_namespaces and "
            "kernel.unprivileged_userns_clone, or the container's seccomp/AppArmor policy)";
  }
  return StrCat("sandbox unavailable: ", bwrap_path, " cannot start a sandbox (exit ", exit_code,
                first_line.empty() ? "" : ": " + first_line, ")", cause);
}

BwrapSandbox::BwrapSandbox(SandboxOptions options, std::string bwrap, CgroupLayout cgroups,
                           HostTools tools)
    : options_(std::move(options)),
      bwrap_(std::move(bwrap)),
      cgroups_(std::move(cgroups)),
      host_tools_(std::move(tools)),
      drop_privileges_(geteuid() == 0) {}

StatusOr<std::unique_ptr<BwrapSandbox>> BwrapSandbox::Create(SandboxOptions options) {
  std::string bwrap = FindBwrap(options.bwrap_path);
  if (bwrap.empty()) return UnavailableError(ExplainPreflightFailure("", "", 0));
  EnableChildSubreaper();
  CgroupLayout layout = options.use_cgroups ? CgroupLayout::Detect() : CgroupLayout{};
  RemoveStaleGroups(layout);
  HostTools tools = DiscoverHostTools(options.host_tools, options.host_tools_search_path);
  std::unique_ptr<BwrapSandbox> sandbox(
      new BwrapSandbox(std::move(options), bwrap, std::move(layout), std::move(tools)));
  ExecRequest trial;
  trial.argv = {"true"};
  trial.limits.wall_ms = 10'000;
  StatusOr<ExecResult> result = sandbox->Run(trial);
  if (!result.ok()) {
    return UnavailableError(ExplainPreflightFailure(bwrap, result.status().message(), -1));
  }
  if (result->verdict != Verdict::kOk) {
    return UnavailableError(ExplainPreflightFailure(
        bwrap, result->stderr_data.empty() ? result->detail : result->stderr_data,
        result->exit_code >= 0 ? result->exit_code : 128 + result->term_signal));
  }
  return sandbox;
}

std::string BwrapSandbox::Describe() const {
  std::string tools;
  for (const std::string& b : host_tools_.binaries) tools += (tools.empty() ? "" : ", ") + b;
  return StrCat("bwrap ", bwrap_, "; cgroups ", cgroups_.Describe(), "; uid ",
                options_.sandbox_uid, drop_privileges_ ? " (real)" : " (mapped)",
                "; host tools: ", tools.empty() ? "none found" : tools);
}

StatusOr<ExecResult> BwrapSandbox::Run(const ExecRequest& request) {
  SIGMA_RETURN_IF_ERROR(ValidateRequest(request));
  const tasks::Limits& limits = request.limits;
  LaunchSpec spec;
  spec.exe = bwrap_;
  SIGMA_ASSIGN_OR_RETURN(spec.stdin_fd, MakeSealedMemfd("sandbox-stdin", request.stdin_data));
  BwrapArgsInput args;
  args.request = &request;
  args.sandbox_uid = options_.sandbox_uid;
  args.sandbox_gid = options_.sandbox_gid;
  args.host_tools = &host_tools_;
  for (const auto& [path, contents] : request.files) {
    SIGMA_ASSIGN_OR_RETURN(UniqueFd fd, MakeSealedMemfd("sandbox-file", contents));
    args.file_fds.push_back(fd.get());
    spec.pass_fds.push_back(std::move(fd));
  }
  int info_pipe[2];
  if (pipe2(info_pipe, O_CLOEXEC) != 0) return InternalError("pipe2: ", std::strerror(errno));
  spec.info_read = UniqueFd(info_pipe[0]);
  spec.pass_fds.emplace_back(info_pipe[1]);
  args.info_fd = info_pipe[1];
  spec.args = BuildBwrapArgs(args);

  SIGMA_ASSIGN_OR_RETURN(RunCgroup cgroup, RunCgroup::Create(cgroups_, limits.memory_mb,
                                                             limits.pids));
  spec.cgroup_procs_files = cgroup.procs_files();
  spec.rlimits = MakeRlimits(limits, cgroup, drop_privileges_);
  spec.drop_privileges = drop_privileges_;
  spec.uid = options_.sandbox_uid;
  spec.gid = options_.sandbox_gid;

  SuperviseLimits supervise{limits.wall_ms, limits.cpu_ms, limits.output_kb << 10};
  SIGMA_ASSIGN_OR_RETURN(Outcome outcome, LaunchAndSupervise(std::move(spec), supervise, &cgroup));
  const CgroupStats stats = cgroup.Stats();

  ExecResult result;
  result.stdout_data = std::move(outcome.stdout_data);
  result.stderr_data = std::move(outcome.stderr_data);
  result.stdout_truncated = outcome.stdout_truncated;
  result.stderr_truncated = outcome.stderr_truncated;
  result.wall_ms = outcome.wall_ms;
  const double rusage_cpu_ms =
      (outcome.usage.ru_utime.tv_sec + outcome.usage.ru_stime.tv_sec) * 1e3 +
      (outcome.usage.ru_utime.tv_usec + outcome.usage.ru_stime.tv_usec) / 1e3;
  result.cpu_ms = stats.has_cpu ? stats.cpu_ms : rusage_cpu_ms;
  result.peak_memory_kb = stats.has_memory ? stats.peak_memory_kb : outcome.usage.ru_maxrss;
  DecodeStatus(outcome.wait_status, &result);
  Decide(outcome, stats, limits, &result);
  return result;
}

}  // namespace sigma::sandbox
