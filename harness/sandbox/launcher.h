// Process control for one sandbox run: spawns the bwrap command line through Boost.Process v1 and
// supervises it until exit or a limit.
//
// Why Boost.Process v1 is used only as a spawner (reference/reliability.md §2.2): in Boost 1.74 its
// wait_for sleeps the full timeout when the child has already exited or another thread reaped the
// SIGCHLD (T1/T2), terminate() and ~child() kill only the direct child (T3/T8), exit_code() cannot
// tell exit(9) from SIGKILL (T9), limit_handles breaks stdio (T7b) and its pipes are not CLOEXEC
// (T7). So the launcher lets Boost fork and exec (its exec-error pipe turns a failed execve into an
// exception, which is converted to a Status here) and does everything else itself:
//   - in the child, an on_exec_setup hook (async-signal-safe calls only) starts a new session, joins
//     the run's cgroups, installs stdin/stdout/stderr, marks every other fd close-on-exec except the
//     ones bwrap must receive, sets rlimits and drops to the sandbox uid;
//   - the parent detach()es the boost::process::child at once, opens a pidfd, and runs one poll()
//     loop over stdout, stderr, bwrap's info fd and the pidfd, with the wall deadline and cgroup
//     CPU sampling as its timeout; it reaps with wait4() and reads WIFSIGNALED itself;
//   - on a limit it SIGKILLs the cgroup, the sandbox's pid-namespace init (learnt from --info-fd)
//     and bwrap's process group; bwrap's --die-with-parent and the pid namespace take the rest.
// SIGCHLD is never touched, so the launcher coexists with other code that spawns children, as long
// as nothing reaps with waitpid(-1).
//
// Zombies: when bwrap exits, its pid-namespace init is orphaned. A container init that does not
// reap (measured here: /process_api left them as zombies, which count against RLIMIT_NPROC of the
// sandbox uid) would accumulate them, so the harness makes itself a child subreaper
// (EnableChildSubreaper, process-wide, once) and reaps that init by its pidfd. Other orphaned
// grandchildren of the harness also come to it then; the harness does not reap those.
//
// Thread safety: LaunchAndSupervise may run in many threads at once. The spawning thread must stay
// alive until the call returns (bwrap's --die-with-parent is tied to it; it does).
#ifndef SIGMA_HARNESS_SANDBOX_LAUNCHER_H_
#define SIGMA_HARNESS_SANDBOX_LAUNCHER_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "harness/sandbox/cgroup.h"
#include "harness/sandbox/sys_util.h"

namespace sigma::sandbox {

struct LaunchSpec {
  std::string exe;                 // absolute path of bwrap
  std::vector<std::string> args;   // arguments after argv[0]
  UniqueFd stdin_fd;               // becomes fd 0 (a sealed memfd)
  std::vector<UniqueFd> pass_fds;  // kept open across exec at their own numbers
  std::vector<std::string> cgroup_procs_files;  // joined before exec
  std::vector<std::pair<int, rlimit>> rlimits;  // applied before exec
  bool drop_privileges = false;    // setgroups({}), setresgid/setresuid to uid/gid below
  uid_t uid = 65534;
  gid_t gid = 65534;
  UniqueFd info_read;              // parent end of bwrap's --info-fd pipe (write end in pass_fds)
};

struct SuperviseLimits {
  int64_t wall_ms = 10'000;
  int64_t cpu_ms = 10'000;         // checked against the cgroup when it accounts CPU
  int64_t output_bytes = 1 << 20;  // per stream
};

enum class StopReason { kExited, kWallLimit, kCpuLimit, kOutputLimit };

struct Outcome {
  StopReason stop = StopReason::kExited;
  int wait_status = 0;             // from wait4 on bwrap
  rusage usage{};                  // bwrap's own (the sandboxed tree is accounted by the cgroup)
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  double wall_ms = 0;
  double cgroup_cpu_ms = -1;       // last sample, -1 when not accounted
  int survivors = 0;               // processes still in the cgroup after teardown (want 0)
};

// prctl(PR_SET_CHILD_SUBREAPER) for this process, once. Called by BwrapSandbox::Create.
void EnableChildSubreaper();

// Spawns and supervises. Takes ownership of every fd in `spec`: the child's copies are closed in
// the parent right after the spawn, so EOF on a pipe means the sandbox side is gone. `cgroup` may
// be null. Returns an error only when bwrap could not be started at all.
StatusOr<Outcome> LaunchAndSupervise(LaunchSpec spec, const SuperviseLimits& limits,
                                     RunCgroup* cgroup);

}  // namespace sigma::sandbox

#endif  // SIGMA_HARNESS_SANDBOX_LAUNCHER_H_
