#include "harness/cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace sigma::cli {

Progress::Progress(std::string label, int64_t total, FILE* out, int64_t plain_every)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      plain_every_(plain_every > 0 ? plain_every : 1),
      terminal_(::isatty(::fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - std::chrono::seconds(1)) {}

std::string Progress::FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  }
  return buf;
}

std::string Progress::Line(int64_t done, const std::string& note) const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // Rate over what this process did, and only once there is something to measure.
  const int64_t fresh = done - std::max<int64_t>(first_done_, 0);
  const double rate = elapsed > 1.0 && fresh > 0 ? fresh / elapsed : 0;
  std::string line = label_ + " ";
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    if (terminal_) {
      const int width = 24;
      const int filled = static_cast<int>(frac * width);
      line += '[';
      line.append(static_cast<size_t>(filled), '#');
      line.append(static_cast<size_t>(width - filled), '.');
      line += "] ";
    }
    char buf[128];
    const double eta = rate > 0 ? (total_ - done) / rate : NAN;
    std::snprintf(buf, sizeof(buf), "%lld/%lld (%.0f%%) %.2f/s ETA %s",
                  static_cast<long long>(done), static_cast<long long>(total_), frac * 100, rate,
                  FormatDuration(eta).c_str());
    line += buf;
  } else {
    line += std::to_string(done) + " done";
  }
  line += " elapsed " + FormatDuration(elapsed);
  if (!note.empty()) line += " | " + note;
  return line;
}

void Progress::Update(int64_t done, const std::string& note) {
  last_done_ = done;
  if (first_done_ < 0) first_done_ = done;
  const auto now = std::chrono::steady_clock::now();
  if (terminal_) {
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::fprintf(out_, "\r\033[K%s", Line(done, note).c_str());
  } else {
    if (done / plain_every_ == last_plain_ / plain_every_ && last_plain_ >= 0) return;
    last_plain_ = done;
    std::fprintf(out_, "%s\n", Line(done, note).c_str());
  }
  std::fflush(out_);
}

void Progress::Finish(const std::string& note) {
  if (terminal_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s\n", Line(last_done_, note).c_str());
  std::fflush(out_);
}

}  // namespace sigma::cli
