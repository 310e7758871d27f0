#include "engine/base/system_memory.h"

#include <unistd.h>

#include <cstdint>
#include <string>

#include "engine/base/file.h"

namespace sigma {

std::string SelectedSysfsChoice(std::string_view line) {
  const size_t open = line.find('[');
  const size_t close = line.find(']', open);
  if (open == std::string_view::npos || close == std::string_view::npos) return "";
  return std::string(line.substr(open + 1, close - open - 1));
}

std::string TransparentHugePagesMode() {
  StatusOr<std::string> text = ReadFile("/sys/kernel/mm/transparent_hugepage/enabled");
  const std::string mode = text.ok() ? SelectedSysfsChoice(*text) : "";
  return mode.empty() ? "unavailable" : mode;
}

size_t ParseCgroupMemoryLimit(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty() || text.size() > 19) return 0;  // "max", or more digits than fit
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  // cgroup v1 writes "no limit" as the largest page multiple below 2^63.
  return value >= (uint64_t{1} << 62) ? 0 : static_cast<size_t>(value);
}

namespace {

size_t PhysicalMemoryBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : 0;
}

// The smallest limit in `file` under `root` + each prefix of `path` (the cgroup and its
// ancestors); 0 if none is set.
size_t SmallestLimitOnPath(const std::string& root, std::string path, const std::string& file) {
  size_t smallest = 0;
  for (;;) {
    StatusOr<std::string> text = ReadFile(root + path + "/" + file);
    const size_t limit = text.ok() ? ParseCgroupMemoryLimit(*text) : 0;
    if (limit > 0 && (smallest == 0 || limit < smallest)) smallest = limit;
    if (path.empty() || path == "/") return smallest;
    const size_t slash = path.rfind('/');
    path.resize(slash == std::string::npos ? 0 : slash);
  }
}

}  // namespace

size_t UsableMemoryBytes() {
  size_t usable = PhysicalMemoryBytes();
  StatusOr<std::string> cgroups = ReadFile("/proc/self/cgroup");
  if (!cgroups.ok()) return usable;
  // Lines "id:controllers:path": "0::path" is cgroup v2 (mounted at /sys/fs/cgroup, or at
  // /sys/fs/cgroup/unified beside v1), a controller list with "memory" is cgroup v1.
  size_t start = 0;
  while (start < cgroups->size()) {
    size_t end = cgroups->find('\n', start);
    if (end == std::string::npos) end = cgroups->size();
    const std::string line = cgroups->substr(start, end - start);
    start = end + 1;
    const size_t a = line.find(':');
    const size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    const auto consider = [&](size_t limit) {
      if (limit > 0 && (usable == 0 || limit < usable)) usable = limit;
    };
    if (controllers.empty()) {
      consider(SmallestLimitOnPath("/sys/fs/cgroup", path, "memory.max"));
      consider(SmallestLimitOnPath("/sys/fs/cgroup/unified", path, "memory.max"));
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      consider(SmallestLimitOnPath("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes"));
    }
  }
  return usable;
}

}  // namespace sigma
