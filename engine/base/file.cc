#include "engine/base/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/base/temp_files.h"

namespace sigma {
namespace {

Status ErrnoError(const std::string& what, const std::string& path) {
  const int err = errno;
  const std::string reason = std::strerror(err);
  if (err == ENOENT) return NotFoundError(path, ": ", what, ": ", reason);
  return InternalError(path, ": ", what, ": ", reason);
}

}  // namespace

StatusOr<std::string> ReadFile(const std::string& path) {
  if (IsDirectory(path)) return InvalidArgumentError(path, ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("cannot open", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return ErrnoError("read failed", path);
  return buffer.str();
}

StatusOr<std::vector<std::string>> ReadLines(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    pos = end + 1;
  }
  return lines;
}

std::string FolderOf(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

std::optional<uint64_t> FreeBytes(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(FolderOf(path).c_str(), &fs) != 0) return std::nullopt;
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1000) return StrCat(bytes, bytes == 1 ? " byte" : " bytes");
  const char* units[] = {"KB", "MB", "GB", "TB", "PB", "EB"};
  double value = static_cast<double>(bytes) / 1000;
  int unit = 0;
  while (value >= 999.95 && unit < 5) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

Status CheckFreeSpace(const std::string& path, uint64_t bytes) {
  const std::optional<uint64_t> free = FreeBytes(path);
  if (!free.has_value() || bytes <= *free) return Status::Ok();
  return ResourceExhaustedError(path, ": needs ", FormatBytes(bytes), ", and ", FolderOf(path),
                                " has ", FormatBytes(*free), " free");
}

Status WriteFileAtomic(const std::string& path, std::string_view data) {
  // The temporary needs the room even where it replaces a file as large.
  SIGMA_RETURN_IF_ERROR(CheckFreeSpace(path, data.size()));
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const TempFileGuard guard(tmp);  // a GGUF model can take a while to write
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  // Errors name the file asked for (the temporary beside it is a detail; its folder is the same).
  if (fd < 0) return WriteFailure("cannot create", path, data.size());
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status status = WriteFailure("write failed", path, data.size());
      ::close(fd);
      ::unlink(tmp.c_str());
      return status;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Status status = WriteFailure("fsync/close failed", path, data.size());
    ::unlink(tmp.c_str());
    return status;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status status = ErrnoError("rename failed", path);
    ::unlink(tmp.c_str());
    return status;
  }
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status MakeDirectories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return InternalError(path, ": cannot create directory: ", ec.message());
  return Status::Ok();
}

Status WriteFailure(const std::string& what, const std::string& path, uint64_t bytes) {
  const int err = errno;
  if (err != ENOSPC && err != EDQUOT) return ErrnoError(what, path);  // errno is still err
  const std::optional<uint64_t> free = FreeBytes(path);
  std::string details = bytes > 0 ? StrCat("writing ", FormatBytes(bytes)) : "";
  if (free.has_value()) details += StrCat(details.empty() ? "" : "; ", FormatBytes(*free), " free");
  return ResourceExhaustedError(path, ": ", what, ": ", std::strerror(err),
                                details.empty() ? "" : StrCat(" (", details, ")"));
}

Status WriteIntoFolder(const std::string& dir, std::initializer_list<std::string_view> files,
                       const std::function<Status()>& write) {
  const bool made = !IsDirectory(dir);
  SIGMA_RETURN_IF_ERROR(MakeDirectories(dir));
  Status written = write();
  if (!written.ok() && made) {
    std::error_code ignored;
    for (std::string_view file : files) {
      std::filesystem::remove(std::filesystem::path(dir) / file, ignored);
    }
    std::filesystem::remove(dir, ignored);  // only where nothing else is in it
  }
  return written;
}

StatusOr<MappedFile> MappedFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status status = ErrnoError("fstat failed", path);
    ::close(fd);
    return status;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError(path, ": not a regular file");
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<size_t>(st.st_size);
  if (file.size_ > 0) {
    void* p = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      Status status = ErrnoError("mmap failed", path);
      ::close(fd);
      return status;
    }
    file.data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(other.data_), size_(other.size_), path_(std::move(other.path_)) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = other.data_;
    size_ = other.size_;
    path_ = std::move(other.path_);
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() { Reset(); }

void MappedFile::Reset() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

void MappedFile::ReleasePages(const void* p, size_t bytes) const {
  const auto begin = reinterpret_cast<uintptr_t>(p);
  const auto mapped = reinterpret_cast<uintptr_t>(data_);
  if (data_ == nullptr || begin < mapped || bytes > size_ || begin - mapped > size_ - bytes) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t end = (begin + bytes) / page * page;
  // A private read-only file mapping: MADV_DONTNEED only unmaps; the contents stay the file's.
  if (end > first) (void)::madvise(reinterpret_cast<void*>(first), end - first, MADV_DONTNEED);
}

void PrefaultForRead(const void* p, size_t bytes) {
#ifdef MADV_POPULATE_READ
  if (bytes == 0) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = reinterpret_cast<uintptr_t>(p) / page * page;
  const uintptr_t end = reinterpret_cast<uintptr_t>(p) + bytes;
  (void)::madvise(reinterpret_cast<void*>(first), end - first, MADV_POPULATE_READ);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace sigma
