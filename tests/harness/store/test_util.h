// Helpers shared by the results-store tests: a scratch folder removed at the end of the test.
#ifndef SIGMA_TESTS_HARNESS_STORE_TEST_UTIL_H_
#define SIGMA_TESTS_HARNESS_STORE_TEST_UTIL_H_

#include <cstdlib>
#include <filesystem>
#include <string>

namespace sigma::store {

class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sigma_store_XXXXXX").string();
    char* made = mkdtemp(templ.data());
    path_ = made != nullptr ? made : "";
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace sigma::store

#endif  // SIGMA_TESTS_HARNESS_STORE_TEST_UTIL_H_
