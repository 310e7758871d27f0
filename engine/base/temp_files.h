// Temporary files that a stopped process removes: a large file written under a temporary name
// and renamed into place when complete (SafetensorsWriter: a model's weights, gigabytes) is
// registered while it exists, so that Ctrl-C or a SIGTERM during make-model, convert or bench's
// preset generation removes it instead of leaving a partial file that nothing will ever clean up.
//
// TempFileGuard registers a path for its lifetime (up to kMaxTempFiles at once; past that it is
// simply not registered). RemoveTempFilesOnSignals installs SIGINT and SIGTERM handlers that
// unlink every registered path and then end the process by the same signal (exit status as
// without the handler). Registration is thread-safe; the handler only reads a fixed table of
// paths and calls unlink, which are async-signal-safe.
#ifndef SIGMA_ENGINE_BASE_TEMP_FILES_H_
#define SIGMA_ENGINE_BASE_TEMP_FILES_H_

#include <string>

namespace sigma {

inline constexpr int kMaxTempFiles = 16;

class TempFileGuard {
 public:
  explicit TempFileGuard(const std::string& path);
  ~TempFileGuard();
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;

  bool registered() const { return slot_ >= 0; }

 private:
  int slot_ = -1;
};

// For commands that write large files; not for `run`, whose SIGINT stops between batches.
void RemoveTempFilesOnSignals();

}  // namespace sigma

#endif  // SIGMA_ENGINE_BASE_TEMP_FILES_H_
