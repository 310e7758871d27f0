// The bwrap command line of one sandbox run: namespaces, the read-only view of the host, the
// size-limited work dir, the environment, and the two profiles (see harness/sandbox/README.md).
//
//   default     no network; of the host only /usr, the /bin,/lib* links or dirs and a few /etc
//               files (dynamic loader cache, passwd/group, nsswitch, localtime, alternatives),
//               all read-only; fresh /proc and minimal /dev; tmpfs work dir /box (also HOME and
//               /tmp) and /dev/shm, both size-limited.
//   host-tools  default plus read-only binds of the named host tools that exist (e.g. nvidia-smi,
//               rocm-smi), read-only /sys and the GPU device nodes those tools need
//               (/dev/nvidia*, /dev/kfd, /dev/dri). Still no network.
//
// Thread safety: pure functions over values.
#ifndef SIGMA_HARNESS_SANDBOX_BWRAP_ARGS_H_
#define SIGMA_HARNESS_SANDBOX_BWRAP_ARGS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "engine/base/status.h"
#include "tasks/executor.h"

namespace sigma::sandbox {

inline constexpr char kWorkDir[] = "/box";
inline constexpr char kDefaultPath[] = "/usr/local/bin:/usr/bin:/bin";

// What the host-tools profile adds, found once when the sandbox is created.
struct HostTools {
  std::vector<std::string> binaries;      // absolute host paths that exist (symlinks resolved)
  std::vector<std::string> devices;       // device nodes to bind (e.g. /dev/nvidiactl)
  std::vector<std::string> missing;       // requested tools not found on this machine
};

// Looks up each tool name (or absolute path) in `search_path`, and the GPU device nodes.
HostTools DiscoverHostTools(const std::vector<std::string>& tools, const std::string& search_path);

// Rejects what the sandbox must never be handed: an empty argv, NUL bytes in arguments or env,
// bad env names, file paths that are absolute, contain "..", empty or NUL; limits <= 0; an
// unknown profile. INVALID_ARGUMENT naming the field.
Status ValidateRequest(const tasks::ExecRequest& request);

struct BwrapArgsInput {
  const tasks::ExecRequest* request = nullptr;
  uid_t sandbox_uid = 65534;
  gid_t sandbox_gid = 65534;
  int info_fd = -1;                       // bwrap --info-fd, or -1
  std::vector<int> file_fds;              // one readable fd per request->files entry, in order
  const HostTools* host_tools = nullptr;  // used by the host-tools profile
};

// bwrap's arguments (without argv[0]), ending with "--" and the request's argv.
std::vector<std::string> BuildBwrapArgs(const BwrapArgsInput& input);

}  // namespace sigma::sandbox

#endif  // SIGMA_HARNESS_SANDBOX_BWRAP_ARGS_H_
