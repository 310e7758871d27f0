// The runner's requests, built for backend tests.
#ifndef SIGMA_TESTS_HARNESS_BACKENDS_TEST_REQUESTS_H_
#define SIGMA_TESTS_HARNESS_BACKENDS_TEST_REQUESTS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tasks/types.h"

namespace sigma::harness::testing_util {

inline tasks::Request GenerateRequest(const std::string& context, int64_t max_tokens,
                                      std::vector<std::string> stop = {}) {
  tasks::Request r;
  r.type = tasks::RequestType::kGenerateUntil;
  r.context = context;
  r.max_tokens = max_tokens;
  r.stop = std::move(stop);
  return r;
}

// A multiple-choice request: the log-likelihood of each continuation after `context`.
inline tasks::Request ChoicesRequest(const std::string& context,
                                     std::vector<std::string> continuations) {
  tasks::Request r;
  r.type = tasks::RequestType::kMultipleChoice;
  r.context = context;
  r.continuations = std::move(continuations);
  return r;
}

inline tasks::Request RollingRequest(const std::string& text) {
  tasks::Request r;
  r.type = tasks::RequestType::kLoglikelihoodRolling;
  r.continuations = {text};
  return r;
}

}  // namespace sigma::harness::testing_util

#endif  // SIGMA_TESTS_HARNESS_BACKENDS_TEST_REQUESTS_H_
