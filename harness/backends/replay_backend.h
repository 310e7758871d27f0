// ReplayBackend: answers generate_until requests with recorded outputs, read from JSONL records
//   {"task": "gsm8k", "doc_id": "12", "output": "The answer is 7."}
// ("outputs": [...] instead, for documents with several generate requests: the n samples of
// pass@k, Infrawise's two questions, Optiflow's two turns; the request's position among the
// document's requests, follow-up turns included, picks one). Requests without a record, and log-likelihood requests (recordings
// have no probabilities), get a per-request error naming what is missing. The file's SHA-256
// goes into the run fingerprint.
// Thread safety: not thread-safe.
#ifndef SIGMA_HARNESS_BACKENDS_REPLAY_BACKEND_H_
#define SIGMA_HARNESS_BACKENDS_REPLAY_BACKEND_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "harness/backends/backend.h"

namespace sigma::harness {

class ReplayBackend : public Backend {
 public:
  // Reads and validates every line (errors name file and line).
  static StatusOr<std::unique_ptr<ReplayBackend>> Open(const std::string& path);

  std::string Describe() const override { return "replay:" + path_; }
  std::string FingerprintJson() const override;
  Status Run(std::span<BackendItem> items) override;

  size_t size() const { return outputs_.size(); }

 private:
  ReplayBackend() = default;
  std::string path_;
  std::string sha256_;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> outputs_;
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_BACKENDS_REPLAY_BACKEND_H_
