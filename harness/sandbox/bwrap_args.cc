#include "harness/sandbox/bwrap_args.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "harness/sandbox/sys_util.h"

namespace sigma::sandbox {
namespace {

// Top-level host entries that are symlinks into /usr on merged-/usr systems, dirs elsewhere.
constexpr const char* kSystemDirs[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};

// The /etc files a dynamically linked program or an interpreter needs; nothing secret.
constexpr const char* kEtcFiles[] = {
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/passwd", "/etc/group",
    "/etc/nsswitch.conf", "/etc/localtime", "/etc/alternatives", "/etc/hosts",
};

void Add(std::vector<std::string>* args, std::initializer_list<std::string> items) {
  args->insert(args->end(), items);
}

void AddSystemDirs(std::vector<std::string>* args) {
  Add(args, {"--ro-bind", "/usr", "/usr"});
  for (const char* dir : kSystemDirs) {
    struct stat st;
    if (lstat(dir, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlink(dir, target, sizeof(target) - 1);
      if (n <= 0) continue;
      Add(args, {"--symlink", std::string(target, static_cast<size_t>(n)), dir});
    } else if (S_ISDIR(st.st_mode)) {
      Add(args, {"--ro-bind", dir, dir});
    }
  }
  for (const char* file : kEtcFiles) Add(args, {"--ro-bind-try", file, file});
}

void AddWorkDir(const BwrapArgsInput& input, std::vector<std::string>* args) {
  const tasks::Limits& limits = input.request->limits;
  const std::string tmpfs_bytes = std::to_string(limits.tmpfs_mb << 20);
  Add(args, {"--proc", "/proc", "--dev", "/dev"});
  // --dev's /dev/shm would be an unbounded tmpfs (half of RAM): replace it with a bounded one.
  Add(args, {"--size", tmpfs_bytes, "--tmpfs", "/dev/shm"});
  Add(args, {"--size", tmpfs_bytes, "--perms", "0755", "--tmpfs", kWorkDir});
  Add(args, {"--symlink", kWorkDir, "/tmp"});
  std::set<std::string> made_dirs;
  size_t index = 0;
  for (const auto& [relative, contents] : input.request->files) {
    for (size_t slash = relative.find('/'); slash != std::string::npos;
         slash = relative.find('/', slash + 1)) {
      std::string dir = std::string(kWorkDir) + "/" + relative.substr(0, slash);
      if (made_dirs.insert(dir).second) Add(args, {"--dir", dir});
    }
    Add(args, {"--perms", "0644", "--file", std::to_string(input.file_fds[index++]),
               std::string(kWorkDir) + "/" + relative});
  }
}

void AddHostTools(const HostTools& tools, std::vector<std::string>* args) {
  Add(args, {"--ro-bind-try", "/sys", "/sys"});
  for (const std::string& device : tools.devices) Add(args, {"--dev-bind-try", device, device});
  for (const std::string& binary : tools.binaries) {
    if (binary.rfind("/usr/", 0) == 0) continue;  // already visible
    Add(args, {"--ro-bind", binary, binary});
  }
}

std::string HostToolsPath(const HostTools* tools) {
  std::string path = kDefaultPath;
  if (tools == nullptr) return path;
  for (const std::string& binary : tools->binaries) {
    std::string dir = binary.substr(0, binary.rfind('/'));
    if ((":" + path + ":").find(":" + dir + ":") == std::string::npos) {
      path += ":" + dir;
    }
  }
  return path;
}

bool ValidEnvName(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool HasNul(const std::string& text) { return text.find('\0') != std::string::npos; }

}  // namespace

HostTools DiscoverHostTools(const std::vector<std::string>& tools, const std::string& search_path) {
  HostTools found;
  for (const std::string& tool : tools) {
    std::string path = FindExecutable(tool, search_path);
    char resolved[PATH_MAX];
    if (path.empty() || realpath(path.c_str(), resolved) == nullptr) {
      found.missing.push_back(tool);
      continue;
    }
    found.binaries.push_back(path);
    if (resolved != path) found.binaries.push_back(resolved);
  }
  if (DIR* dev = opendir("/dev")) {
    while (dirent* entry = readdir(dev)) {
      std::string name = entry->d_name;
      if (name.rfind("nvidia", 0) == 0 || name == "kfd" || name == "dri") {
        found.devices.push_back("/dev/" + name);
      }
    }
    closedir(dev);
  }
  return found;
}

Status ValidateRequest(const tasks::ExecRequest& request) {
  if (request.argv.empty() || request.argv[0].empty()) {
    return InvalidArgumentError("exec request: argv: expected a program name");
  }
  for (const std::string& arg : request.argv) {
    if (HasNul(arg)) return InvalidArgumentError("exec request: argv: NUL byte in an argument");
  }
  for (const auto& [name, value] : request.env) {
    if (!ValidEnvName(name)) return InvalidArgumentError("exec request: env: bad name '", name, "'");
    if (HasNul(value)) return InvalidArgumentError("exec request: env: ", name, ": NUL byte");
  }
  for (const auto& [path, contents] : request.files) {
    bool bad = path.empty() || path[0] == '/' || HasNul(path) || path.back() == '/';
    for (const std::string& part : SplitString(path, '/')) {
      bad = bad || part.empty() || part == "." || part == "..";
    }
    if (bad) {
      return InvalidArgumentError("exec request: files: '", path,
                                  "': expected a relative path without '.', '..' or empty parts");
    }
  }
  // Every limit positive, and below a bound far past any real use, so that turning it into
  // nanoseconds, bytes or rlimits cannot overflow (a wall limit of 9e18 ms once fired at once).
  constexpr int64_t kWeekMs = int64_t{7} * 24 * 3600 * 1000, kFourMi = int64_t{1} << 22;
  const tasks::Limits& l = request.limits;
  const struct {
    const char* name;
    int64_t value, max;
  } limits[] = {{"wall_ms", l.wall_ms, kWeekMs},     {"cpu_ms", l.cpu_ms, kWeekMs},
                {"memory_mb", l.memory_mb, kFourMi}, {"pids", l.pids, kFourMi},
                {"output_kb", l.output_kb, kFourMi}, {"file_size_mb", l.file_size_mb, kFourMi},
                {"tmpfs_mb", l.tmpfs_mb, kFourMi}};
  for (const auto& limit : limits) {
    if (limit.value <= 0 || limit.value > limit.max) {
      return InvalidArgumentError("exec request: limits: ", limit.name, " ", limit.value,
                                  " outside 1..", limit.max);
    }
  }
  if (request.profile != "default" && request.profile != "host-tools") {
    return InvalidArgumentError("exec request: profile: '", request.profile,
                                "': expected 'default' or 'host-tools'");
  }
  return Status::Ok();
}

std::vector<std::string> BuildBwrapArgs(const BwrapArgsInput& input) {
  const tasks::ExecRequest& request = *input.request;
  std::vector<std::string> args = {
      "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv",
      "--disable-userns", "--uid", std::to_string(input.sandbox_uid), "--gid",
      std::to_string(input.sandbox_gid), "--hostname", "sandbox"};
  AddSystemDirs(&args);
  AddWorkDir(input, &args);
  const bool host_tools = request.profile == "host-tools" && input.host_tools != nullptr;
  if (host_tools) AddHostTools(*input.host_tools, &args);
  // The root is bwrap's own tmpfs (holding the mount points): unbounded and writable unless
  // remounted read-only after the last mount. Non-recursive, so /box and /dev/shm stay writable.
  Add(&args, {"--remount-ro", "/"});
  if (input.info_fd >= 0) Add(&args, {"--info-fd", std::to_string(input.info_fd)});
  Add(&args, {"--chdir", kWorkDir});
  Add(&args, {"--setenv", "PATH", HostToolsPath(host_tools ? input.host_tools : nullptr)});
  Add(&args, {"--setenv", "HOME", kWorkDir, "--setenv", "TMPDIR", "/tmp"});
  Add(&args, {"--setenv", "LANG", "C.UTF-8"});
  for (const auto& [name, value] : request.env) Add(&args, {"--setenv", name, value});
  args.push_back("--");
  args.insert(args.end(), request.argv.begin(), request.argv.end());
  return args;
}

}  // namespace sigma::sandbox
