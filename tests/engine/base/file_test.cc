#include "engine/base/file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>

#include "engine/base/check.h"

namespace sigma {
namespace {

TEST(FileTest, AtomicWriteThenReadAndMap) {
  const std::string dir = testing::TempDir() + "/file_test_" + std::to_string(::getpid());
  ASSERT_TRUE(MakeDirectories(dir).ok());
  const std::string path = dir + "/x.bin";
  const std::string data("abc\0def", 7);
  ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, data);
  auto mapped = MappedFile::Open(path);
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(mapped->size(), 7u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(mapped->data()), 7), data);
  MappedFile moved = std::move(*mapped);
  EXPECT_EQ(moved.size(), 7u);
  std::filesystem::remove_all(dir);
}

// A file that cannot be created is named as asked for, not by the temporary written first.
TEST(FileTest, AtomicWriteIntoAMissingFolderNamesTheFile) {
  const std::string path =
      testing::TempDir() + "/no_such_folder_" + std::to_string(::getpid()) + "/report.html";
  const Status s = WriteFileAtomic(path, "x");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), path + ": cannot create: No such file or directory");
}

TEST(FileTest, CheckFreeSpaceRefusesWhatTheFileSystemCannotHold) {
  const std::string path = testing::TempDir() + "/model.safetensors";
  EXPECT_TRUE(CheckFreeSpace(path, 4096).ok());
  const Status s = CheckFreeSpace(path, uint64_t{1} << 62);  // 4.6 EB
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message().rfind(path + ": needs 4.6 EB, and ", 0), 0u) << s.message();
  EXPECT_TRUE(CheckFreeSpace("relative-name", 1).ok());  // the current folder's file system
}

TEST(FileTest, FolderOfAFileIsItsParentOrTheCurrentFolder) {
  EXPECT_EQ(FolderOf("/tmp/x/results.db"), "/tmp/x");
  EXPECT_EQ(FolderOf("results.db"), ".");
  EXPECT_EQ(FolderOf("runs/results.db"), "runs");
}

TEST(FileTest, FreeBytesReadsTheFolderOfAFileThatNeedNotExist) {
  const std::optional<uint64_t> free = FreeBytes(testing::TempDir() + "/not-yet-written.db");
  ASSERT_TRUE(free.has_value());
  EXPECT_GT(*free, 0u);
  EXPECT_FALSE(FreeBytes("/no/such/folder/x.db").has_value());
}

TEST(FileTest, WriteIntoFolderRemovesTheFolderItMadeWhenTheWriteFails) {
  const std::string base = testing::TempDir() + "/write_into_" + std::to_string(::getpid());
  const std::string made = base + "/new/out";
  const auto half_written = [&](const std::string& dir) {
    return [dir] {
      SIGMA_CHECK(WriteFileAtomic(dir + "/model.safetensors", "partial").ok(), "write");
      return ResourceExhaustedError("disk full");
    };
  };
  Status s = WriteIntoFolder(made, {"model.safetensors", "config.json"}, half_written(made));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(FileExists(made)) << "the folder made for the write is gone, with its file";
  EXPECT_TRUE(IsDirectory(base + "/new")) << "only the folder asked for is removed";

  // A folder that was there before keeps what it had (and what the write left).
  const std::string existing = base + "/existing";
  ASSERT_TRUE(MakeDirectories(existing).ok());
  ASSERT_TRUE(WriteFileAtomic(existing + "/notes.txt", "mine").ok());
  s = WriteIntoFolder(existing, {"model.safetensors"}, half_written(existing));
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(FileExists(existing + "/notes.txt"));
  EXPECT_TRUE(FileExists(existing + "/model.safetensors"));

  // A write that succeeds keeps its folder.
  const std::string ok = base + "/ok";
  EXPECT_TRUE(WriteIntoFolder(ok, {"config.json"}, [&] {
                return WriteFileAtomic(ok + "/config.json", "{}");
              }).ok());
  EXPECT_TRUE(FileExists(ok + "/config.json"));
  std::filesystem::remove_all(base);
}

TEST(FileTest, FormatBytesPicksTheUnitThatKeepsFourFigures) {
  EXPECT_EQ(FormatBytes(0), "0 bytes");
  EXPECT_EQ(FormatBytes(1), "1 byte");
  EXPECT_EQ(FormatBytes(999), "999 bytes");
  EXPECT_EQ(FormatBytes(1000), "1.0 KB");
  EXPECT_EQ(FormatBytes(8191), "8.2 KB");
  EXPECT_EQ(FormatBytes(999'949), "999.9 KB");
  EXPECT_EQ(FormatBytes(999'950), "1.0 MB");  // not "1000.0 KB"
  EXPECT_EQ(FormatBytes(2'880'012'300'000'000), "2.9 PB");
  EXPECT_EQ(FormatBytes(UINT64_MAX), "18.4 EB");
}

TEST(FileTest, ReadLinesSplitsOnNewlinesAndDropsCarriageReturns) {
  const std::string dir = testing::TempDir() + "/lines_test_" + std::to_string(::getpid());
  ASSERT_TRUE(MakeDirectories(dir).ok());
  const std::string path = dir + "/x.txt";
  ASSERT_TRUE(WriteFileAtomic(path, "a\r\n\nb c\nlast\n").ok());
  auto lines = ReadLines(path);
  ASSERT_TRUE(lines.ok()) << lines.status().message();
  EXPECT_EQ(*lines, (std::vector<std::string>{"a", "", "b c", "last"}));
  ASSERT_TRUE(WriteFileAtomic(path, "no newline").ok());
  EXPECT_EQ(*ReadLines(path), std::vector<std::string>{"no newline"});
  ASSERT_TRUE(WriteFileAtomic(path, "").ok());
  EXPECT_TRUE(ReadLines(path)->empty());
  EXPECT_EQ(ReadLines(dir + "/missing").status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(FileTest, MissingFileIsNotFound) {
  auto read = ReadFile("/nonexistent/sigma/file");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
  auto mapped = MappedFile::Open("/nonexistent/sigma/file");
  EXPECT_EQ(mapped.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadFile("/").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sigma
