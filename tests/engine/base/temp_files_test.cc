#include "engine/base/temp_files.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/file.h"

namespace sigma {
namespace {

std::string Scratch(const std::string& name) {
  return testing::TempDir() + "/temp_files_test_" + std::to_string(::getpid()) + "_" + name;
}

// A process ended by SIGINT or SIGTERM removes the files registered at that moment, and only
// those, and still dies by the signal.
TEST(TempFilesTest, ASignalRemovesTheRegisteredFilesAndStillEndsTheProcess) {
  for (const int signal : {SIGINT, SIGTERM}) {
    const std::string partial = Scratch("partial"), done = Scratch("done"),
                      other = Scratch("other");
    for (const std::string& path : {partial, done, other}) {
      ASSERT_TRUE(WriteFileAtomic(path, "bytes").ok());
    }
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      RemoveTempFilesOnSignals();
      { const TempFileGuard finished(done); }  // unregistered again: kept
      const TempFileGuard writing(partial);
      std::raise(signal);
      ::_exit(0);  // not reached
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << status;
    EXPECT_EQ(WTERMSIG(status), signal);
    EXPECT_FALSE(FileExists(partial));
    EXPECT_TRUE(FileExists(done));
    EXPECT_TRUE(FileExists(other));
    ::unlink(done.c_str());
    ::unlink(other.c_str());
  }
}

TEST(TempFilesTest, ATableFullOrAPathTooLongIsNotRegistered) {
  std::vector<std::unique_ptr<TempFileGuard>> guards;
  for (int i = 0; i < kMaxTempFiles; ++i) {
    guards.push_back(std::make_unique<TempFileGuard>(Scratch(std::to_string(i))));
    EXPECT_TRUE(guards.back()->registered()) << i;
  }
  EXPECT_FALSE(TempFileGuard(Scratch("one too many")).registered());
  guards.pop_back();  // frees a slot
  EXPECT_TRUE(TempFileGuard(Scratch("again")).registered());
  EXPECT_FALSE(TempFileGuard(std::string(5000, 'x')).registered());
}

}  // namespace
}  // namespace sigma
