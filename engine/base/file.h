// Files: whole-file reads and atomic writes, and read-only memory maps.
//
// MappedFile owns one read-only mapping for its lifetime (move-only); the bytes stay valid until it
// is destroyed. An empty file maps to an empty span. Thread safety: reads of a mapping are
// thread-safe; a MappedFile object itself is thread-compatible.
#ifndef SIGMA_ENGINE_BASE_FILE_H_
#define SIGMA_ENGINE_BASE_FILE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/base/status.h"

namespace sigma {

StatusOr<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` through a temporary file in the same folder and a rename, so a reader
// never sees a half-written file.
Status WriteFileAtomic(const std::string& path, std::string_view data);

bool FileExists(const std::string& path);
bool IsDirectory(const std::string& path);
Status MakeDirectories(const std::string& path);

class MappedFile {
 public:
  static StatusOr<MappedFile> Open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void Reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_BASE_FILE_H_
