// Files: whole-file reads and atomic writes, and read-only memory maps.
//
// MappedFile owns one read-only mapping for its lifetime (move-only); the bytes stay valid until it
// is destroyed. An empty file maps to an empty span. Thread safety: reads of a mapping are
// thread-safe; a MappedFile object itself is thread-compatible.
#ifndef SIGMA_ENGINE_BASE_FILE_H_
#define SIGMA_ENGINE_BASE_FILE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace sigma {

StatusOr<std::string> ReadFile(const std::string& path);

// The lines of a text file without their "\n" or "\r\n"; a final newline ends the last line (it
// does not start an empty one), blank lines inside are kept.
StatusOr<std::vector<std::string>> ReadLines(const std::string& path);

// Writes `data` to `path` through a temporary file in the same folder and a rename, so a reader
// never sees a half-written file (the temporary is a TempFileGuard's while it exists). Refused
// before writing where the file system has less room than `data` (CheckFreeSpace).
Status WriteFileAtomic(const std::string& path, std::string_view data);

// RESOURCE_EXHAUSTED naming `path` where its file system has fewer than `bytes` free for this
// user: checked before writing a file whose size is known, so that a mistaken size (a config
// with a huge dimension) is refused at once instead of filling the disk. OK where the free space
// cannot be read.
Status CheckFreeSpace(const std::string& path, uint64_t bytes);

// The folder of the file `path` ("." for a bare name).
std::string FolderOf(const std::string& path);

// Bytes free for this user on the file system that holds (or would hold) the file `path`: that of
// its folder. nullopt where it cannot be read.
std::optional<uint64_t> FreeBytes(const std::string& path);

// "512 bytes", "8.0 KB", "3.2 MB", "1.5 GB" (powers of 1000), for messages.
std::string FormatBytes(uint64_t bytes);

bool FileExists(const std::string& path);
bool IsDirectory(const std::string& path);
Status MakeDirectories(const std::string& path);

// The error of a failed create, write, sync or rename (`what`) of the file `path`, from errno: a
// full file system (or quota) is RESOURCE_EXHAUSTED and says how many bytes the write was to
// put there and how much room is left; a missing folder NOT_FOUND; else INTERNAL. Name the file
// asked for, not a temporary beside it.
Status WriteFailure(const std::string& what, const std::string& path, uint64_t bytes);

// Runs `write` to fill the folder `dir`, making the folder first where it does not exist. Where
// `write` fails and the folder was made for it, `files` (names inside it: what `write` writes) and
// then the folder are removed again, so that no half-written output is left looking like a whole
// one; a folder that was there before is left as it is.
Status WriteIntoFolder(const std::string& dir, std::initializer_list<std::string_view> files,
                       const std::function<Status()>& write);

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

  // Drops this process's mapping of the whole pages within [p, p + bytes) when that range lies in
  // this mapping (else does nothing): they leave the resident set but stay in the page cache, and
  // a later read maps them again. For bytes that have been copied elsewhere.
  void ReleasePages(const void* p, size_t bytes) const;

 private:
  void Reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Maps the pages under [p, p + bytes) of any mapping into this process in one call (Linux 5.14+
// MADV_POPULATE_READ) instead of one fault per 4 KiB page when they are first read; the bytes are
// not changed. Reading 4.6 GB out of a fresh file mapping took 11 s by faults on the 2-core VM,
// 2.3 s after this. Advice only: where the kernel refuses, reads fault as before.
void PrefaultForRead(const void* p, size_t bytes);

}  // namespace sigma

#endif  // SIGMA_ENGINE_BASE_FILE_H_
