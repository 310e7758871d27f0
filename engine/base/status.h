// Status and StatusOr<T>: the error currency of every layer.
//
// Anything a user, a file or the environment can cause returns a Status (or a StatusOr<T> carrying a
// value). Broken invariants use SIGMA_CHECK (check.h) instead. Messages name the file, field or flag
// and what was expected; callers add context on the way out with Status::WithContext.
//
//   StatusOr<Config> LoadConfig(const std::string& path) {
//     SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     ...
//   }
//
// Thread safety: values; thread-compatible.
#ifndef SIGMA_ENGINE_BASE_STATUS_H_
#define SIGMA_ENGINE_BASE_STATUS_H_

#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "engine/base/check.h"

namespace sigma {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad flag, bad config value, malformed file content
  kNotFound,            // missing file, tensor, key, task
  kOutOfRange,          // offset or index past a bound
  kDataLoss,            // truncated or corrupt file
  kFailedPrecondition,  // e.g. a resume whose fingerprint changed
  kResourceExhausted,   // memory, disk, limits
  kDeadlineExceeded,    // timeouts
  kUnavailable,         // a component that cannot run here (no GPU, no bwrap)
  kUnimplemented,       // a valid request we do not support
  kInternal,            // third-party failures we cannot classify
  kAborted,             // interrupted by the user or a signal
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "INVALID_ARGUMENT: config.json: num_key_heads: expected a positive integer".
  std::string ToString() const;

  // Returns a copy whose message is "context: message"; OK stays OK.
  Status WithContext(std::string_view context) const;

  bool operator==(const Status& other) const {
    return code_ == other.code_ && message_ == other.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// StatusOr<T> holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : value_(status) {  // NOLINT: implicit by design
    SIGMA_CHECK(!status.ok(), "StatusOr built from an OK Status without a value");
  }
  StatusOr(Status&& status) : value_(std::move(status)) {  // NOLINT
    SIGMA_CHECK(!std::get<Status>(value_).ok(), "StatusOr built from an OK Status without a value");
  }
  StatusOr(const T& value) : value_(value) {}        // NOLINT
  StatusOr(T&& value) : value_(std::move(value)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(value_); }
  Status status() const { return ok() ? Status() : std::get<Status>(value_); }

  const T& value() const& {
    CheckHasValue();
    return std::get<T>(value_);
  }
  T& value() & {
    CheckHasValue();
    return std::get<T>(value_);
  }
  T&& value() && {
    CheckHasValue();
    return std::get<T>(std::move(value_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  void CheckHasValue() const {
    SIGMA_CHECK(ok(), "StatusOr::value() on an error: ", std::get<Status>(value_).ToString());
  }
  std::variant<Status, T> value_;
};

// Concatenates anything that streams into a std::ostream.
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

template <typename... Args>
Status InvalidArgumentError(const Args&... args) {
  return Status(StatusCode::kInvalidArgument, StrCat(args...));
}
template <typename... Args>
Status NotFoundError(const Args&... args) {
  return Status(StatusCode::kNotFound, StrCat(args...));
}
template <typename... Args>
Status OutOfRangeError(const Args&... args) {
  return Status(StatusCode::kOutOfRange, StrCat(args...));
}
template <typename... Args>
Status DataLossError(const Args&... args) {
  return Status(StatusCode::kDataLoss, StrCat(args...));
}
template <typename... Args>
Status FailedPreconditionError(const Args&... args) {
  return Status(StatusCode::kFailedPrecondition, StrCat(args...));
}
template <typename... Args>
Status ResourceExhaustedError(const Args&... args) {
  return Status(StatusCode::kResourceExhausted, StrCat(args...));
}
template <typename... Args>
Status DeadlineExceededError(const Args&... args) {
  return Status(StatusCode::kDeadlineExceeded, StrCat(args...));
}
template <typename... Args>
Status UnavailableError(const Args&... args) {
  return Status(StatusCode::kUnavailable, StrCat(args...));
}
template <typename... Args>
Status UnimplementedError(const Args&... args) {
  return Status(StatusCode::kUnimplemented, StrCat(args...));
}
template <typename... Args>
Status InternalError(const Args&... args) {
  return Status(StatusCode::kInternal, StrCat(args...));
}
template <typename... Args>
Status AbortedError(const Args&... args) {
  return Status(StatusCode::kAborted, StrCat(args...));
}

}  // namespace sigma

#define SIGMA_STATUS_CONCAT_INNER_(a, b) a##b
#define SIGMA_STATUS_CONCAT_(a, b) SIGMA_STATUS_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define SIGMA_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    ::sigma::Status sigma_status_ = (expr);         \
    if (!sigma_status_.ok()) return sigma_status_;  \
  } while (0)

// Evaluates a StatusOr expression; returns its Status on error, else moves the value into `lhs`
// (which may be a declaration: SIGMA_ASSIGN_OR_RETURN(auto x, F())).
#define SIGMA_ASSIGN_OR_RETURN(lhs, expr) \
  SIGMA_ASSIGN_OR_RETURN_IMPL_(SIGMA_STATUS_CONCAT_(sigma_statusor_, __LINE__), lhs, expr)
#define SIGMA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#endif  // SIGMA_ENGINE_BASE_STATUS_H_
