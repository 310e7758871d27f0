// Small POSIX helpers shared by the sandbox files: whole-file reads and writes of tiny control files
// (cgroupfs, procfs), an fd owner, string splitting, executable lookup.
//
// Thread safety: all functions are reentrant; UniqueFd is a move-only value.
#ifndef SIGMA_HARNESS_SANDBOX_SYS_UTIL_H_
#define SIGMA_HARNESS_SANDBOX_SYS_UTIL_H_

#include <string>
#include <vector>

namespace sigma::sandbox {

// Reads up to 1 MiB of `path`; "" when it cannot be read.
std::string ReadSmallFile(const std::string& path);
// Writes `text` to an existing file (O_WRONLY, no create); false on any error.
bool WriteSmallFile(const std::string& path, const std::string& text);

std::vector<std::string> SplitString(const std::string& text, char separator);

// The first executable `name` in the colon-separated `search_path` (or `name` itself when it
// contains a slash and is executable); "" when none.
std::string FindExecutable(const std::string& name, const std::string& search_path);

// Number of open descriptors of this process (entries of /proc/self/fd).
int CountOpenFds();

// Owns one file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace sigma::sandbox

#endif  // SIGMA_HARNESS_SANDBOX_SYS_UTIL_H_
