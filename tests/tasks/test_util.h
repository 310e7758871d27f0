// Helpers for task tests: scratch folders holding a config and its dataset; backend responses.
#ifndef SIGMA_TESTS_TASKS_TEST_UTIL_H_
#define SIGMA_TESTS_TASKS_TEST_UTIL_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tasks/types.h"

namespace sigma::tasks {

// A generation that answered `text`.
inline Response TextResponse(std::string text) {
  Response r;
  r.text = std::move(text);
  return r;
}

// Log-likelihoods of a request's continuations.
inline Response LoglikelihoodResponse(std::vector<LoglikelihoodResult> results) {
  Response r;
  r.loglikelihoods = std::move(results);
  return r;
}

// A request the backend failed.
inline Response FailedResponse(std::string error) {
  Response r;
  r.error = std::move(error);
  return r;
}

class TaskDir {
 public:
  TaskDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sigma_tasks_XXXXXX").string();
    char* made = mkdtemp(templ.data());
    path_ = made != nullptr ? made : "";
  }
  ~TaskDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string file = path_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace sigma::tasks

#endif  // SIGMA_TESTS_TASKS_TEST_UTIL_H_
