// SIGMA_CHECK: always-on invariant checks for bugs (never for user input, which gets a Status).
// On failure prints file, line, condition and message to stderr and aborts.
// SIGMA_DCHECK is compiled only in debug builds, for hot loops.
#ifndef SIGMA_ENGINE_BASE_CHECK_H_
#define SIGMA_ENGINE_BASE_CHECK_H_

#include <sstream>
#include <string>

namespace sigma::internal {

[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              const std::string& message);

template <typename... Args>
std::string CheckMessage(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

}  // namespace sigma::internal

#define SIGMA_CHECK(cond, ...)                                                    \
  do {                                                                            \
    if (!(cond)) [[unlikely]] {                                                   \
      ::sigma::internal::CheckFailed(                                             \
          __FILE__, __LINE__, #cond,                                              \
          ::sigma::internal::CheckMessage("" __VA_OPT__(, ) __VA_ARGS__));        \
    }                                                                             \
  } while (0)

#ifdef NDEBUG
#define SIGMA_DCHECK(cond, ...) \
  do {                          \
  } while (0)
#else
#define SIGMA_DCHECK(cond, ...) SIGMA_CHECK(cond __VA_OPT__(, ) __VA_ARGS__)
#endif

#endif  // SIGMA_ENGINE_BASE_CHECK_H_
