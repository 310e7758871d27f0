#include "harness/sandbox/launcher.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <system_error>
#include <mutex>
#include <thread>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>

namespace sigma::sandbox {
namespace {

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

using Clock = std::chrono::steady_clock;

constexpr int kPidfdIdType = 3;  // P_PIDFD (Linux 5.4), not in every libc header

// Everything the forked child needs, prepared before fork so the hook only makes system calls.
struct ChildSetup {
  std::vector<const char*> procs_files;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::vector<int> pass_fds;
  std::vector<std::pair<int, rlimit>> rlimits;
  bool drop_privileges = false;
  uid_t uid = 65534;
  gid_t gid = 65534;
};

// Reports `what` with errno through Boost's exec-error pipe and exits. Async-signal-safe.
template <typename Executor>
[[noreturn]] void FailChild(Executor& exec, const char* what) {
  exec.set_error(std::error_code(errno, std::system_category()), what);
  _exit(127);
}

// Runs in the forked child before execve: async-signal-safe calls only (no allocation, no locks).
template <typename Executor>
void RunChildSetup(const ChildSetup& setup, Executor& exec) {
  if (setsid() < 0) FailChild(exec, "sandbox child: setsid");
  for (const char* procs : setup.procs_files) {
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) FailChild(exec, "sandbox child: joining a cgroup");
    close(fd);
  }
  // Move the three stdio fds above 2 first so that dup2 cannot clobber one of them.
  const int wanted[3] = {setup.stdin_fd, setup.stdout_fd, setup.stderr_fd};
  int high[3];
  for (int i = 0; i < 3; ++i) {
    high[i] = fcntl(wanted[i], F_DUPFD_CLOEXEC, 3);
    if (high[i] < 0) FailChild(exec, "sandbox child: dup stdio");
  }
  for (int i = 0; i < 3; ++i) {
    if (dup2(high[i], i) < 0) FailChild(exec, "sandbox child: dup2 stdio");
  }
  // Every fd >= 3 closes at exec (Boost's error pipe included) except the ones bwrap must read.
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 65536; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  for (int fd : setup.pass_fds) {
    if (fcntl(fd, F_SETFD, 0) != 0) FailChild(exec, "sandbox child: keeping an fd");
  }
  for (const auto& [resource, limit] : setup.rlimits) {
    if (setrlimit(resource, &limit) != 0) FailChild(exec, "sandbox child: setrlimit");
  }
  if (setup.drop_privileges) {
    if (setgroups(0, nullptr) != 0) FailChild(exec, "sandbox child: setgroups");
    if (setresgid(setup.gid, setup.gid, setup.gid) != 0) FailChild(exec, "sandbox child: setgid");
    if (setresuid(setup.uid, setup.uid, setup.uid) != 0) FailChild(exec, "sandbox child: setuid");
  }
  // After the uid change, which clears it: bwrap dies with this thread of the harness.
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}

// Spawns bwrap; returns its pid. Boost exceptions stop here.
StatusOr<pid_t> Spawn(const LaunchSpec& spec, const ChildSetup& setup) {
  namespace bp = boost::process;
  try {
    bp::environment env;
    env["PATH"] = "/usr/bin:/bin";
    bp::child child(bp::exe = spec.exe, bp::args = spec.args, bp::env = env,
                    bp::extend::on_exec_setup = [&setup](auto& exec) { RunChildSetup(setup, exec); });
    pid_t pid = child.id();
    child.detach();  // from here on the launcher owns the pid (reaps it with wait4)
    return pid;
  } catch (const std::exception& e) {
    return UnavailableError("cannot start ", spec.exe, ": ", e.what());
  }
}

// One output stream: appends what is readable, up to `cap` bytes.
struct Stream {
  UniqueFd fd;
  std::string* data;
  bool* truncated;
  bool open = true;
};

// Reads everything available now. Returns false once the stream went over `cap`.
bool DrainStream(Stream& stream, int64_t cap) {
  char buffer[65536];
  while (stream.open) {
    ssize_t n = read(stream.fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return !*stream.truncated;
    if (n <= 0) {
      stream.open = false;
      stream.fd.Reset();
      break;
    }
    int64_t room = cap - static_cast<int64_t>(stream.data->size());
    if (room > 0) stream.data->append(buffer, static_cast<size_t>(std::min<int64_t>(room, n)));
    if (n > room) *stream.truncated = true;  // keep reading (and discarding) so nothing blocks
  }
  return !*stream.truncated;
}

// The pid of the sandbox's pid-namespace init, from bwrap's --info-fd JSON ({"child-pid": N}).
pid_t ParseChildPid(const std::string& info) {
  size_t key = info.find("\"child-pid\"");
  if (key == std::string::npos) return -1;
  size_t colon = info.find(':', key);
  if (colon == std::string::npos) return -1;
  return static_cast<pid_t>(std::strtol(info.c_str() + colon + 1, nullptr, 10));
}

// A pidfd on the namespace init, but only if it is still bwrap's child, or already ours after
// bwrap exited (we are a child subreaper), so that it cannot be a reused pid.
UniqueFd OpenInitPidfd(pid_t init_pid, pid_t bwrap_pid) {
  if (init_pid <= 0) return UniqueFd();
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, init_pid, 0)));
  if (!pidfd.valid()) return pidfd;
  std::string status = ReadSmallFile("/proc/" + std::to_string(init_pid) + "/status");
  size_t ppid = status.find("\nPPid:");
  const long parent = ppid == std::string::npos ? -1 : std::strtol(status.c_str() + ppid + 6,
                                                                   nullptr, 10);
  if (parent != bwrap_pid && parent != getpid()) {
    return UniqueFd();
  }
  return pidfd;
}

class Supervisor {
 public:
  Supervisor(pid_t pid, const SuperviseLimits& limits, RunCgroup* cgroup, Clock::time_point start)
      : pid_(pid), limits_(limits), cgroup_(cgroup), start_(start) {}

  void Run(Stream* out, Stream* err, UniqueFd info, Outcome* outcome);

 private:
  bool PollOnce(Stream* out, Stream* err, UniqueFd& info, Outcome* outcome);
  void KillTree();
  void Reap(Outcome* outcome);
  void AwaitInit();

  pid_t pid_;
  SuperviseLimits limits_;
  RunCgroup* cgroup_;
  Clock::time_point start_;
  UniqueFd pidfd_;
  UniqueFd init_pidfd_;
  std::string info_text_;
  bool reaped_ = false;
};

void Supervisor::Run(Stream* out, Stream* err, UniqueFd info, Outcome* outcome) {
  pidfd_ = UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, pid_, 0)));
  const Clock::time_point wall_deadline = start_ + std::chrono::milliseconds(limits_.wall_ms);
  while (!reaped_) {
    if (Clock::now() >= wall_deadline) {
      outcome->stop = StopReason::kWallLimit;
      break;
    }
    if (cgroup_ != nullptr && cgroup_->has_cpu()) {
      outcome->cgroup_cpu_ms = cgroup_->CpuMs();
      if (outcome->cgroup_cpu_ms >= static_cast<double>(limits_.cpu_ms)) {
        outcome->stop = StopReason::kCpuLimit;
        break;
      }
    }
    if (!PollOnce(out, err, info, outcome)) {
      outcome->stop = StopReason::kOutputLimit;
      break;
    }
  }
  if (!reaped_) KillTree();
  Reap(outcome);
  KillTree();  // whatever bwrap left (daemons of a finished command) goes now, not at teardown
  // Drain what the dying tree still wrote; EOF comes once its last process is gone.
  const Clock::time_point drain_deadline = Clock::now() + std::chrono::seconds(2);
  while ((out->open || err->open) && Clock::now() < drain_deadline) {
    pollfd fds[2] = {{out->open ? out->fd.get() : -1, POLLIN, 0},
                     {err->open ? err->fd.get() : -1, POLLIN, 0}};
    poll(fds, 2, 50);
    bool out_ok = DrainStream(*out, limits_.output_bytes);
    bool err_ok = DrainStream(*err, limits_.output_bytes);
    if ((!out_ok || !err_ok) && outcome->stop == StopReason::kExited) {
      outcome->stop = StopReason::kOutputLimit;
    }
  }
  AwaitInit();
  if (cgroup_ != nullptr) outcome->survivors = cgroup_->KillAllAndWait(2000);
}

// Waits for one event (output, info, exit) or the next CPU sample. False on the output cap.
bool Supervisor::PollOnce(Stream* out, Stream* err, UniqueFd& info, Outcome* outcome) {
  const auto now = Clock::now();
  int64_t wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        start_ + std::chrono::milliseconds(limits_.wall_ms) - now).count() + 1;
  if (cgroup_ != nullptr && cgroup_->has_cpu()) wait_ms = std::min<int64_t>(wait_ms, 20);
  if (!pidfd_.valid()) wait_ms = std::min<int64_t>(wait_ms, 5);  // kernels without pidfd_open
  pollfd fds[4] = {{out->open ? out->fd.get() : -1, POLLIN, 0},
                   {err->open ? err->fd.get() : -1, POLLIN, 0},
                   {info.get(), POLLIN, 0},
                   {pidfd_.get(), POLLIN, 0}};
  poll(fds, 4, static_cast<int>(std::max<int64_t>(wait_ms, 0)));
  if (!DrainStream(*out, limits_.output_bytes) || !DrainStream(*err, limits_.output_bytes)) {
    return false;
  }
  if (info.valid() && fds[2].revents != 0) {
    char buffer[512];
    ssize_t n = read(info.get(), buffer, sizeof(buffer));
    if (n > 0) info_text_.append(buffer, static_cast<size_t>(n));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      info.Reset();
      init_pidfd_ = OpenInitPidfd(ParseChildPid(info_text_), pid_);
    }
  }
  if (!pidfd_.valid() || fds[3].revents != 0) {
    int status = 0;
    rusage usage{};
    if (wait4(pid_, &status, WNOHANG, &usage) == pid_) {
      reaped_ = true;
      outcome->wait_status = status;
      outcome->usage = usage;
    }
  }
  return true;
}

void Supervisor::KillTree() {
  if (cgroup_ != nullptr) cgroup_->KillAllAndWait(0);
  if (init_pidfd_.valid()) syscall(SYS_pidfd_send_signal, init_pidfd_.get(), SIGKILL, nullptr, 0);
  if (!reaped_) {
    kill(-pid_, SIGKILL);  // bwrap's own process group (setsid in the child setup)
    kill(pid_, SIGKILL);
  }
}

void Supervisor::Reap(Outcome* outcome) {
  while (!reaped_) {
    int status = 0;
    rusage usage{};
    pid_t r = wait4(pid_, &status, 0, &usage);
    if (r == pid_) {
      outcome->wait_status = status;
      outcome->usage = usage;
    } else if (r < 0 && errno == EINTR) {
      continue;
    }
    reaped_ = true;
  }
  outcome->wall_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
}

// The namespace init's exit means the kernel has already killed every process in the namespace.
// Once bwrap has exited the init is our child (see EnableChildSubreaper) and is reaped here, so no
// zombie is left for an init process that may not reap (as in some containers).
void Supervisor::AwaitInit() {
  if (!init_pidfd_.valid()) return;
  syscall(SYS_pidfd_send_signal, init_pidfd_.get(), SIGKILL, nullptr, 0);
  siginfo_t info{};
  int r;
  do {
    r = waitid(static_cast<idtype_t>(kPidfdIdType), static_cast<id_t>(init_pidfd_.get()), &info,
               WEXITED);
  } while (r != 0 && errno == EINTR);
  if (r == 0) return;
  pollfd fd = {init_pidfd_.get(), POLLIN, 0};  // not our child: wait until it is gone
  poll(&fd, 1, 2000);
}

}  // namespace

void EnableChildSubreaper() {
  static std::once_flag once;
  std::call_once(once, [] { prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); });
}

StatusOr<Outcome> LaunchAndSupervise(LaunchSpec spec, const SuperviseLimits& limits,
                                     RunCgroup* cgroup) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return InternalError("pipe2: ", std::strerror(errno));
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return InternalError("pipe2: ", std::strerror(errno));
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  fcntl(out_read.get(), F_SETFL, O_NONBLOCK);
  fcntl(err_read.get(), F_SETFL, O_NONBLOCK);
  if (spec.info_read.valid()) fcntl(spec.info_read.get(), F_SETFL, O_NONBLOCK);

  ChildSetup setup;
  for (const std::string& file : spec.cgroup_procs_files) setup.procs_files.push_back(file.c_str());
  setup.stdin_fd = spec.stdin_fd.get();
  setup.stdout_fd = out_write.get();
  setup.stderr_fd = err_write.get();
  for (const UniqueFd& fd : spec.pass_fds) setup.pass_fds.push_back(fd.get());
  setup.rlimits = spec.rlimits;
  setup.drop_privileges = spec.drop_privileges;
  setup.uid = spec.uid;
  setup.gid = spec.gid;

  const Clock::time_point start = Clock::now();
  StatusOr<pid_t> pid = Spawn(spec, setup);
  // The child has its copies now; ours must go so that EOF means "the sandbox side is gone".
  out_write.Reset();
  err_write.Reset();
  spec.stdin_fd.Reset();
  spec.pass_fds.clear();
  if (!pid.ok()) return pid.status();

  Outcome outcome;
  Stream out{std::move(out_read), &outcome.stdout_data, &outcome.stdout_truncated};
  Stream err{std::move(err_read), &outcome.stderr_data, &outcome.stderr_truncated};
  Supervisor supervisor(*pid, limits, cgroup, start);
  supervisor.Run(&out, &err, std::move(spec.info_read), &outcome);
  return outcome;
}

}  // namespace sigma::sandbox
