// Per-run control groups for the sandbox: memory and pid limits, CPU and peak-memory accounting, and
// the "nothing survives" check (the group is empty before it is removed).
//
// Both layouts are handled, detected once per process:
//   - cgroup v2 (a cgroup2 mount at /sys/fs/cgroup): one directory per run under the caller's own
//     group, memory.max / pids.max / memory.oom.group, cgroup.kill, cpu.stat, memory.peak.
//   - cgroup v1 (controllers mounted at /sys/fs/cgroup/<controller>): one directory per run in each of
//     the memory, pids and cpuacct hierarchies, under the caller's group in that hierarchy.
// A controller whose directory cannot be created (read-only cgroupfs, no delegation, not root) is
// simply absent; the sandbox then falls back to rlimits for it. Directories are named
// "sigma-sbx-<harness pid>-<n>", so RemoveStaleGroups() can find and clean the groups of a harness
// that died mid-run.
//
// Ownership: a RunCgroup owns its directories and removes them in its destructor (after killing
// whatever is left inside). Thread safety: CgroupLayout is immutable after Detect(); each RunCgroup
// is used by one thread.
#ifndef SIGMA_HARNESS_SANDBOX_CGROUP_H_
#define SIGMA_HARNESS_SANDBOX_CGROUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace sigma::sandbox {

// Where per-run groups go. Empty paths mean "controller not usable".
struct CgroupLayout {
  bool v2 = false;
  std::string v2_parent;        // v2: parent directory of run groups
  std::string memory_parent;    // v1 parents, one per hierarchy
  std::string pids_parent;
  std::string cpuacct_parent;

  // Probes /proc/self/cgroup and /sys/fs/cgroup (creating and removing a test group). Never fails:
  // an unusable layout just has empty paths.
  static CgroupLayout Detect();
  std::string Describe() const;  // "v1 (memory, pids, cpuacct)", "none", ...
};

struct CgroupStats {
  bool has_cpu = false;
  bool has_memory = false;
  double cpu_ms = 0;
  int64_t peak_memory_kb = 0;
  int64_t oom_kills = 0;
};

class RunCgroup {
 public:
  // Creates the run's groups and applies the limits (memory in MiB, pids). Controllers that cannot
  // be created are left out (has_memory() etc. say which).
  static StatusOr<RunCgroup> Create(const CgroupLayout& layout, int64_t memory_mb, int64_t pids);

  RunCgroup(RunCgroup&& other) noexcept;
  RunCgroup& operator=(RunCgroup&&) = delete;
  RunCgroup(const RunCgroup&) = delete;
  ~RunCgroup();

  bool has_memory() const { return has_memory_; }
  bool has_pids() const { return has_pids_; }
  bool has_cpu() const { return has_cpu_; }

  // The cgroup.procs files a new process must write its pid into (all of the run's groups).
  const std::vector<std::string>& procs_files() const { return procs_files_; }

  // CPU time used so far by everything in the group (ms); -1 when not accounted.
  double CpuMs() const;
  CgroupStats Stats() const;

  // SIGKILLs every process in the groups (cgroup.kill on v2) until they are empty or `timeout_ms`
  // passes. Returns the number of processes still present (0 = nothing survived).
  int KillAllAndWait(int timeout_ms);

 private:
  RunCgroup() = default;
  void Remove();

  bool v2_ = false;
  bool has_memory_ = false;
  bool has_pids_ = false;
  bool has_cpu_ = false;
  std::string memory_dir_;   // v2: the one directory, also in pids_dir_ and cpu_dir_
  std::string pids_dir_;
  std::string cpu_dir_;
  std::vector<std::string> dirs_;  // distinct directories to remove
  std::vector<std::string> procs_files_;
};

// Kills and removes "sigma-sbx-<pid>-*" groups whose harness pid is no longer alive. Best effort.
void RemoveStaleGroups(const CgroupLayout& layout);

}  // namespace sigma::sandbox

#endif  // SIGMA_HARNESS_SANDBOX_CGROUP_H_
