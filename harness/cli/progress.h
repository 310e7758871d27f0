// Progress: a progress line for long runs. On a terminal it redraws one line with a bar, counts,
// rate and ETA (at most ~10 times a second); otherwise it prints a plain line every `plain_every`
// items and at the end, so logs of CI and nohup runs stay readable.
// Thread safety: not thread-safe.
#ifndef SIGMA_HARNESS_CLI_PROGRESS_H_
#define SIGMA_HARNESS_CLI_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sigma::cli {

class Progress {
 public:
  // total <= 0: unknown. `out` is usually stderr.
  Progress(std::string label, int64_t total, FILE* out = stderr, int64_t plain_every = 10);
  void Update(int64_t done, const std::string& note = "");
  void Finish(const std::string& note = "");

  // "1h02m", "3m05s", "12s".
  static std::string FormatDuration(double seconds);

 private:
  std::string Line(int64_t done, const std::string& note) const;

  std::string label_;
  int64_t total_;
  FILE* out_;
  int64_t plain_every_;
  bool terminal_;
  int64_t last_plain_ = -1;
  int64_t last_done_ = 0;
  int64_t first_done_ = -1;  // done count at the first update (a resumed run starts > 0)
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace sigma::cli

#endif  // SIGMA_HARNESS_CLI_PROGRESS_H_
