// What this machine's memory allows: how much of it this process may use (RAM or a container's
// cgroup limit), and whether the kernel hands out transparent huge pages (LargeBuffer). The
// engine's huge-page policies (KV cache, weight copies) are sized against these.
#ifndef SIGMA_ENGINE_BASE_SYSTEM_MEMORY_H_
#define SIGMA_ENGINE_BASE_SYSTEM_MEMORY_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace sigma {

// Memory this process may use, in bytes: the machine's physical memory, or less where a cgroup
// memory limit says so (v2 memory.max or v1 memory.limit_in_bytes, on any level from this
// process's cgroup up to the root; a container's limit is seen this way). 0 where the machine's
// memory cannot be read. The huge-page policies (KV cache, weight copies) take a quarter of it.
size_t UsableMemoryBytes();
// The limit a cgroup memory file states, in bytes: 0 for none ("max", or v1's "unlimited" value
// near 2^63); a malformed file reads as none.
size_t ParseCgroupMemoryLimit(std::string_view text);

// The kernel's transparent-huge-page mode, the bracketed word of
// /sys/kernel/mm/transparent_hugepage/enabled: "always" or "madvise" (LargeBuffer gets huge
// pages), "never", or "unavailable" (no such file, or no bracketed word).
std::string TransparentHugePagesMode();
// The bracketed word of a sysfs choice line ("always [madvise] never" -> "madvise"), or "".
std::string SelectedSysfsChoice(std::string_view line);

}  // namespace sigma

#endif  // SIGMA_ENGINE_BASE_SYSTEM_MEMORY_H_
