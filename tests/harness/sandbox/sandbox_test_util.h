// Helpers for the sandbox tests: one shared sandbox per test binary (created once; a machine where
// it cannot start fails every test loudly), run helpers that tag each run with a unique marker in
// its environment, a scan of /proc for survivors carrying that marker, and a snapshot of host
// paths that no sandboxed program may change.
// Thread safety: Shared() and Marker() are thread-safe; the rest are plain functions.
#ifndef SIGMA_TESTS_HARNESS_SANDBOX_SANDBOX_TEST_UTIL_H_
#define SIGMA_TESTS_HARNESS_SANDBOX_SANDBOX_TEST_UTIL_H_

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness/sandbox/bwrap_sandbox.h"
#include "harness/sandbox/sys_util.h"

namespace sigma::sandbox::testing {

inline constexpr char kMarkerVar[] = "SIGMA_SANDBOX_TEST_MARKER";

// The shared sandbox. Aborts the test (fatal failure) with the preflight message when unavailable.
inline BwrapSandbox* Shared() {
  static StatusOr<std::unique_ptr<BwrapSandbox>>* sandbox =
      new StatusOr<std::unique_ptr<BwrapSandbox>>(BwrapSandbox::Create());
  if (!sandbox->ok()) {
    ADD_FAILURE() << "the sandbox must work on this machine: " << sandbox->status().ToString();
    return nullptr;
  }
  return sandbox->value().get();
}

inline std::string Marker() {
  static std::atomic<int> counter{0};
  std::string marker = "m";
  marker += std::to_string(getpid());
  marker += 'x';
  marker += std::to_string(counter.fetch_add(1));
  return marker;
}

// A request running `script` under bash, tagged with a fresh marker (returned in *marker).
inline tasks::ExecRequest Bash(const std::string& script, std::string* marker) {
  tasks::ExecRequest request;
  *marker = Marker();
  request.argv = {"bash", "-c", script};
  request.env[kMarkerVar] = *marker;
  request.limits.wall_ms = 5000;
  request.limits.cpu_ms = 5000;
  return request;
}

// pids of live (non-zombie) processes whose cmdline or environment contains `marker`.
inline std::vector<int> ProcessesWithMarker(const std::string& marker) {
  std::vector<int> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* entry = readdir(proc)) {
    int pid = std::atoi(entry->d_name);
    if (pid <= 0 || pid == getpid()) continue;
    std::string base = std::string("/proc/") + entry->d_name;
    std::string stat = ReadSmallFile(base + "/stat");
    size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z') continue;
    if (ReadSmallFile(base + "/environ").find(marker) != std::string::npos ||
        ReadSmallFile(base + "/cmdline").find(marker) != std::string::npos) {
      found.push_back(pid);
    }
  }
  closedir(proc);
  return found;
}

// Processes (zombies included) whose parent is this process: the sandbox must leave none.
inline int ChildrenOfThisProcess() {
  int count = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  const std::string self = std::to_string(getpid());
  while (dirent* entry = readdir(proc)) {
    if (std::atoi(entry->d_name) <= 0) continue;
    std::string status = ReadSmallFile(std::string("/proc/") + entry->d_name + "/status");
    size_t ppid = status.find("\nPPid:\t");
    if (ppid != std::string::npos && status.compare(ppid + 7, self.size() + 1, self + "\n") == 0) {
      ++count;
    }
  }
  closedir(proc);
  return count;
}

// Names in `dir` (sorted by std::map) with size and mtime, as one string.
inline std::string DirListing(const std::string& dir) {
  std::map<std::string, std::string> entries;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      struct stat st;
      std::string path = dir + "/" + e->d_name;
      if (lstat(path.c_str(), &st) != 0) continue;
      // Directories by name only: their mtimes move whenever anyone (not us) uses /tmp etc.
      entries[e->d_name] = S_ISDIR(st.st_mode) ? "dir"
                                               : std::to_string(st.st_size) + "@" +
                                                     std::to_string(st.st_mtime);
    }
    closedir(d);
  }
  std::string out;
  for (const auto& [name, info] : entries) out += name + "=" + info + ";";
  return out;
}

// What no sandboxed program may change on the host.
inline std::string HostSnapshot() {
  std::string snapshot;
  for (const char* dir : {"/", "/etc", "/usr", "/usr/bin", "/root", "/var/tmp", "/srv", "/home"}) {
    snapshot += std::string(dir) + ":" + DirListing(dir) + "\n";
  }
  for (const char* file : {"/etc/passwd", "/etc/shadow", "/etc/hosts"}) {
    snapshot += std::string(file) + ":" + ReadSmallFile(file) + "\n";
  }
  return snapshot;
}

// Checks the run left nothing behind: no process with the marker, host paths unchanged.
inline void ExpectNothingSurvived(const std::string& marker, const std::string& host_before) {
  EXPECT_EQ(ProcessesWithMarker(marker).size(), 0u) << "a sandboxed process survived the run";
  std::string after = HostSnapshot();
  if (after == host_before) return;
  size_t at = 0;
  while (at < after.size() && at < host_before.size() && after[at] == host_before[at]) ++at;
  size_t from = at > 100 ? at - 100 : 0;
  ADD_FAILURE() << "the host changed near: ..." << host_before.substr(from, 200) << "... now ..."
                << after.substr(from, 200);
}

// Run directories of this process left in the cgroup hierarchies.
inline int LeftoverCgroups() {
  int count = 0;
  const CgroupLayout& layout = Shared()->cgroups();
  std::string prefix = "sigma-sbx-" + std::to_string(getpid()) + "-";
  for (const std::string* parent :
       {&layout.v2_parent, &layout.memory_parent, &layout.pids_parent, &layout.cpuacct_parent}) {
    if (parent->empty()) continue;
    if (DIR* d = opendir(parent->c_str())) {
      while (dirent* e = readdir(d)) {
        if (std::string(e->d_name).rfind(prefix, 0) == 0) ++count;
      }
      closedir(d);
    }
  }
  return count;
}

}  // namespace sigma::sandbox::testing

#endif  // SIGMA_TESTS_HARNESS_SANDBOX_SANDBOX_TEST_UTIL_H_
