// BwrapSandbox: the harness's tasks::Executor. Runs model-generated commands and code inside
// bubblewrap with namespaces, a read-only view of the host, a size-limited tmpfs work dir, a
// non-root uid, rlimits and per-run cgroups, and turns whatever happens into an ExecResult.
//
//   auto sandbox = BwrapSandbox::Create();      // preflight: UNAVAILABLE with one clear message
//   if (!sandbox.ok()) ...fail the whole run once...
//   StatusOr<tasks::ExecResult> r = (*sandbox)->Run(request);   // r->verdict is data
//
// Pieces: bwrap_args.h builds the command line (profiles), launcher.h spawns and supervises it,
// cgroup.h limits and accounts it. Verdict rules, in order: TIMEOUT (wall deadline, cgroup CPU
// time, or SIGXCPU from the RLIMIT_CPU backstop), OUTPUT_LIMIT (a stream over output_kb, or SIGXFSZ
// from RLIMIT_FSIZE), MEMORY (cgroup OOM kill, or an allocation-failure message under RLIMIT_AS),
// SANDBOX_ERROR (bwrap could not set the sandbox up, or a process survived teardown), OK (exit 0),
// RUNTIME_ERROR (anything else). bwrap reports a command killed by signal N as exit 128+N, so an
// exit code in 129..192 is reported as term_signal N (the shell's convention).
//
// Ownership: the sandbox owns its options and the cgroup layout; each Run owns its fds, memfds and
// cgroups and releases all of them before returning (no processes, fds or directories outlive it).
// Thread safety: Run may be called from many threads at once.
#ifndef SIGMA_HARNESS_SANDBOX_BWRAP_SANDBOX_H_
#define SIGMA_HARNESS_SANDBOX_BWRAP_SANDBOX_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "harness/sandbox/bwrap_args.h"
#include "harness/sandbox/cgroup.h"
#include "tasks/executor.h"

namespace sigma::sandbox {

struct SandboxOptions {
  std::string bwrap_path;                 // "" = look in /usr/bin, /bin, /usr/local/bin
  uid_t sandbox_uid = 65534;              // real uid bwrap runs under when started as root
  gid_t sandbox_gid = 65534;
  bool use_cgroups = true;                // false: rlimits only (tests of the fallback)
  // Tools the host-tools profile binds read-only where they exist (names or absolute paths).
  std::vector<std::string> host_tools = {"nvidia-smi", "rocm-smi", "amd-smi"};
  std::string host_tools_search_path =
      "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin:/opt/rocm/bin:/usr/local/cuda/bin";
};

class BwrapSandbox : public tasks::Executor {
 public:
  // Finds bwrap, detects cgroups, removes stale groups of dead harnesses, and starts one minimal
  // sandbox. UNAVAILABLE (see ExplainPreflightFailure) when that cannot work on this machine.
  static StatusOr<std::unique_ptr<BwrapSandbox>> Create(SandboxOptions options = {});

  StatusOr<tasks::ExecResult> Run(const tasks::ExecRequest& request) override;

  // "bwrap /usr/bin/bwrap; cgroups v1 (memory, pids, cpuacct); uid 65534; host tools: ..."
  std::string Describe() const;
  const CgroupLayout& cgroups() const { return cgroups_; }
  const HostTools& host_tools() const { return host_tools_; }

 private:
  BwrapSandbox(SandboxOptions options, std::string bwrap, CgroupLayout cgroups, HostTools tools);

  SandboxOptions options_;
  std::string bwrap_;
  CgroupLayout cgroups_;
  HostTools host_tools_;
  bool drop_privileges_;  // started as root: bwrap itself runs as sandbox_uid
};

// One sentence for a preflight failure: what failed, the likely cause, and what to do.
// `bwrap_path` is "" when bwrap was not found; `bwrap_stderr` and `exit_code` come from the trial
// sandbox otherwise.
std::string ExplainPreflightFailure(const std::string& bwrap_path, const std::string& bwrap_stderr,
                                    int exit_code);

}  // namespace sigma::sandbox

#endif  // SIGMA_HARNESS_SANDBOX_BWRAP_SANDBOX_H_
