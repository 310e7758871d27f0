#include "harness/sandbox/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "harness/sandbox/sys_util.h"

namespace sigma::sandbox {
namespace {

constexpr char kRoot[] = "/sys/fs/cgroup";
constexpr char kPrefix[] = "sigma-sbx-";

std::atomic<uint64_t> g_run_counter{0};

// The caller's group path in the hierarchy that carries `controller` ("" = v2 unified line).
std::string OwnGroupPath(const std::string& controller) {
  std::string text = ReadSmallFile("/proc/self/cgroup");
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string::npos) continue;
    std::string controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path = line.substr(c2 + 1);
    if (controller.empty()) {
      if (line.compare(0, 3, "0::") == 0) return path;
      continue;
    }
    for (const std::string& c : SplitString(controllers, ',')) {
      if (c == controller) return path;
    }
  }
  return "";
}

// Creates and removes a probe group under `parent`; true when `key_file` appears in it.
bool ProbeParent(const std::string& parent, const char* key_file) {
  std::string probe = parent + "/" + kPrefix + "probe-" + std::to_string(getpid());
  if (mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) return false;
  bool ok = access((probe + "/" + key_file).c_str(), F_OK) == 0;
  rmdir(probe.c_str());
  return ok;
}

std::string JoinGroup(const std::string& mount, const std::string& own) {
  if (own.empty() || own == "/") return mount;
  return mount + own;
}

// Reads "key value" lines (memory.events, cpu.stat, memory.oom_control); -1 when absent.
int64_t ReadKeyedValue(const std::string& path, const std::string& key) {
  std::string text = ReadSmallFile(path);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (text.compare(pos, key.size() + 1, key + " ") == 0) {
      return std::strtoll(text.c_str() + pos + key.size() + 1, nullptr, 10);
    }
    pos = end + 1;
  }
  return -1;
}

int64_t ReadInt(const std::string& path) {
  std::string text = ReadSmallFile(path);
  if (text.empty()) return -1;
  return std::strtoll(text.c_str(), nullptr, 10);
}

std::vector<pid_t> ReadProcs(const std::string& dir) {
  std::vector<pid_t> pids;
  for (const std::string& word : SplitString(ReadSmallFile(dir + "/cgroup.procs"), '\n')) {
    if (!word.empty()) pids.push_back(static_cast<pid_t>(std::atoi(word.c_str())));
  }
  return pids;
}

// SIGKILLs `pid` through a pidfd, after checking (with the pidfd held, so the pid cannot be reused
// in between) that the process is still in the group named `group_name`.
void KillIfInGroup(pid_t pid, const std::string& group_name) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return;
  std::string membership = ReadSmallFile("/proc/" + std::to_string(pid) + "/cgroup");
  if (membership.find(group_name) != std::string::npos) {
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  }
  close(pidfd);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

CgroupLayout CgroupLayout::Detect() {
  CgroupLayout layout;
  if (access((std::string(kRoot) + "/cgroup.controllers").c_str(), F_OK) == 0) {
    layout.v2 = true;
    std::string parent = JoinGroup(kRoot, OwnGroupPath(""));
    // Best effort: a run group only gets memory/pids files if the parent delegates them.
    WriteSmallFile(parent + "/cgroup.subtree_control", "+memory +pids");
    if (ProbeParent(parent, "cgroup.procs")) layout.v2_parent = parent;
    return layout;
  }
  struct V1 {
    const char* controller;
    const char* key_file;
    std::string* out;
  } v1[] = {{"memory", "memory.limit_in_bytes", &layout.memory_parent},
            {"pids", "pids.max", &layout.pids_parent},
            {"cpuacct", "cpuacct.usage", &layout.cpuacct_parent}};
  for (V1& c : v1) {
    std::string parent =
        JoinGroup(std::string(kRoot) + "/" + c.controller, OwnGroupPath(c.controller));
    if (ProbeParent(parent, c.key_file)) *c.out = parent;
  }
  return layout;
}

std::string CgroupLayout::Describe() const {
  if (v2) return v2_parent.empty() ? "v2 (not writable)" : "v2 at " + v2_parent;
  std::string parts;
  for (auto [name, path] : {std::pair{"memory", &memory_parent}, std::pair{"pids", &pids_parent},
                            std::pair{"cpuacct", &cpuacct_parent}}) {
    if (path->empty()) continue;
    parts += parts.empty() ? name : std::string(", ") + name;
  }
  return parts.empty() ? "none writable (rlimits only)" : "v1 (" + parts + ")";
}

StatusOr<RunCgroup> RunCgroup::Create(const CgroupLayout& layout, int64_t memory_mb, int64_t pids) {
  RunCgroup group;
  group.v2_ = layout.v2;
  const std::string name = StrCat(kPrefix, getpid(), "-", g_run_counter.fetch_add(1));
  auto make = [&](const std::string& parent) -> std::string {
    if (parent.empty()) return "";
    std::string dir = parent + "/" + name;
    if (mkdir(dir.c_str(), 0755) != 0) return "";
    group.dirs_.push_back(dir);
    group.procs_files_.push_back(dir + "/cgroup.procs");
    return dir;
  };
  const int64_t memory_bytes = memory_mb << 20;
  if (layout.v2) {
    std::string dir = make(layout.v2_parent);
    if (dir.empty()) return group;
    group.cpu_dir_ = dir;
    group.has_cpu_ = access((dir + "/cpu.stat").c_str(), F_OK) == 0;
    group.has_memory_ = WriteSmallFile(dir + "/memory.max", std::to_string(memory_bytes));
    if (group.has_memory_) {
      WriteSmallFile(dir + "/memory.swap.max", "0");
      WriteSmallFile(dir + "/memory.oom.group", "1");
      group.memory_dir_ = dir;
    }
    group.has_pids_ = WriteSmallFile(dir + "/pids.max", std::to_string(pids));
    if (group.has_pids_) group.pids_dir_ = dir;
    return group;
  }
  group.memory_dir_ = make(layout.memory_parent);
  if (!group.memory_dir_.empty()) {
    group.has_memory_ =
        WriteSmallFile(group.memory_dir_ + "/memory.limit_in_bytes", std::to_string(memory_bytes));
    WriteSmallFile(group.memory_dir_ + "/memory.memsw.limit_in_bytes",
                   std::to_string(memory_bytes));
    WriteSmallFile(group.memory_dir_ + "/memory.swappiness", "0");
  }
  group.pids_dir_ = make(layout.pids_parent);
  if (!group.pids_dir_.empty()) {
    group.has_pids_ = WriteSmallFile(group.pids_dir_ + "/pids.max", std::to_string(pids));
  }
  group.cpu_dir_ = make(layout.cpuacct_parent);
  group.has_cpu_ = !group.cpu_dir_.empty();
  return group;
}

RunCgroup::RunCgroup(RunCgroup&& other) noexcept
    : v2_(other.v2_),
      has_memory_(other.has_memory_),
      has_pids_(other.has_pids_),
      has_cpu_(other.has_cpu_),
      memory_dir_(std::move(other.memory_dir_)),
      pids_dir_(std::move(other.pids_dir_)),
      cpu_dir_(std::move(other.cpu_dir_)),
      dirs_(std::move(other.dirs_)),
      procs_files_(std::move(other.procs_files_)) {
  other.dirs_.clear();
}

RunCgroup::~RunCgroup() { Remove(); }

double RunCgroup::CpuMs() const {
  if (!has_cpu_) return -1;
  if (v2_) {
    int64_t usec = ReadKeyedValue(cpu_dir_ + "/cpu.stat", "usage_usec");
    return usec < 0 ? -1 : usec / 1000.0;
  }
  int64_t ns = ReadInt(cpu_dir_ + "/cpuacct.usage");
  return ns < 0 ? -1 : ns / 1e6;
}

CgroupStats RunCgroup::Stats() const {
  CgroupStats stats;
  double cpu = CpuMs();
  stats.has_cpu = cpu >= 0;
  stats.cpu_ms = stats.has_cpu ? cpu : 0;
  if (!has_memory_) return stats;
  stats.has_memory = true;
  int64_t peak = v2_ ? ReadInt(memory_dir_ + "/memory.peak")
                     : ReadInt(memory_dir_ + "/memory.max_usage_in_bytes");
  stats.peak_memory_kb = peak < 0 ? 0 : peak / 1024;
  stats.oom_kills = v2_ ? ReadKeyedValue(memory_dir_ + "/memory.events", "oom_kill")
                        : ReadKeyedValue(memory_dir_ + "/memory.oom_control", "oom_kill");
  if (stats.oom_kills < 0) stats.oom_kills = 0;
  return stats;
}

int RunCgroup::KillAllAndWait(int timeout_ms) {
  if (dirs_.empty()) return 0;
  const std::string name = BaseName(dirs_.front());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int remaining = 0;
  for (int round = 0;; ++round) {
    remaining = 0;
    for (const std::string& dir : dirs_) {
      std::vector<pid_t> pids = ReadProcs(dir);
      remaining = std::max<int>(remaining, static_cast<int>(pids.size()));
      if (pids.empty()) continue;
      if (v2_ && WriteSmallFile(dir + "/cgroup.kill", "1")) continue;
      for (pid_t pid : pids) KillIfInGroup(pid, name);
    }
    if (remaining == 0 || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::microseconds(round < 20 ? 200 : 2000));
  }
  return remaining;
}

void RunCgroup::Remove() {
  if (dirs_.empty()) return;
  KillAllAndWait(2000);
  for (const std::string& dir : dirs_) {
    // rmdir can briefly fail with EBUSY while the last exiting task is being released.
    for (int i = 0; i < 2000 && rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(i < 50 ? 100 : 1000));
    }
  }
  dirs_.clear();
}

void RemoveStaleGroups(const CgroupLayout& layout) {
  for (const std::string* parent : {&layout.v2_parent, &layout.memory_parent, &layout.pids_parent,
                                    &layout.cpuacct_parent}) {
    if (parent->empty()) continue;
    DIR* dir = opendir(parent->c_str());
    if (dir == nullptr) continue;
    std::vector<std::string> stale;
    while (dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name.compare(0, sizeof(kPrefix) - 1, kPrefix) != 0) continue;
      pid_t owner = static_cast<pid_t>(std::atoi(name.c_str() + sizeof(kPrefix) - 1));
      if (owner <= 0 || owner == getpid() || kill(owner, 0) == 0 || errno != ESRCH) continue;
      stale.push_back(*parent + "/" + name);
    }
    closedir(dir);
    for (const std::string& path : stale) {
      for (int round = 0; round < 100; ++round) {
        std::vector<pid_t> pids = ReadProcs(path);
        if (pids.empty()) break;
        for (pid_t pid : pids) KillIfInGroup(pid, BaseName(path));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      rmdir(path.c_str());
    }
  }
}

}  // namespace sigma::sandbox
