// Status and Result<T>: how every fallible call in wangge reports failure.
// No exception crosses a module boundary; errors travel as values.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace wangge {

// Numbered explicitly: codes appear in logs and tests; never renumber.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,
  kNotFound = 2,
  kAlreadyExists = 3,
  kFailedPrecondition = 4,
  kPermissionDenied = 5,
  kUnauthenticated = 6,
  kResourceExhausted = 7,
  kUnavailable = 8,
  kCorruption = 9,
  kIOError = 10,
  kInternal = 11,
  kNoSpace = 12,  // the disk holding the data is full: nothing was written
  // A file is damaged, or records that were acknowledged are missing: the data is not
  // what was written, through no one's intent (kCorruption is data that does not check out,
  // such as an altered log). Recovery: a backup, or salvage.
  kDataLoss = 13,
  // Well-formed input that cannot be placed or processed as it stands (a position outside
  // every grid, an image over the pixel limit): HTTP 422.
  kOutOfRange = 14,
};

// Snake-case name of a code, as used in JSON error bodies ("invalid_argument").
std::string_view StatusCodeName(StatusCode code);

// A code, a message and optionally the input field it concerns. Immutable.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The input field the error is about, or empty.
  const std::string& field() const { return field_; }
  // "invalid_argument: severity must be 1-4 (field severity)".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string field_;
};

inline Status InvalidArgument(std::string msg, std::string field = {}) {
  return Status(StatusCode::kInvalidArgument, std::move(msg), std::move(field));
}
inline Status NotFound(std::string msg) { return Status(StatusCode::kNotFound, std::move(msg)); }
inline Status FailedPrecondition(std::string msg) {
  return Status(StatusCode::kFailedPrecondition, std::move(msg));
}
inline Status PermissionDenied(std::string msg) {
  return Status(StatusCode::kPermissionDenied, std::move(msg));
}
inline Status Corruption(std::string msg) {
  return Status(StatusCode::kCorruption, std::move(msg));
}
inline Status OutOfRange(std::string msg, std::string field = {}) {
  return Status(StatusCode::kOutOfRange, std::move(msg), std::move(field));
}
inline Status DataLoss(std::string msg) { return Status(StatusCode::kDataLoss, std::move(msg)); }
inline Status IOError(std::string msg) { return Status(StatusCode::kIOError, std::move(msg)); }
inline Status Internal(std::string msg) { return Status(StatusCode::kInternal, std::move(msg)); }
inline Status Unavailable(std::string msg) {
  return Status(StatusCode::kUnavailable, std::move(msg));
}

// Either a T or a non-OK Status. Not thread-safe.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result built from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
inline Status AsStatus(Status s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace wangge

#define WANGGE_CONCAT_INNER(a, b) a##b
#define WANGGE_CONCAT(a, b) WANGGE_CONCAT_INNER(a, b)

#define WANGGE_RETURN_IF_ERROR(expr)                                      \
  do {                                                                    \
    ::wangge::Status wangge_status_ = ::wangge::internal::AsStatus(expr); \
    if (!wangge_status_.ok()) return wangge_status_;                      \
  } while (0)

#define WANGGE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#define WANGGE_ASSIGN_OR_RETURN(lhs, expr) \
  WANGGE_ASSIGN_OR_RETURN_IMPL(WANGGE_CONCAT(wangge_result_, __LINE__), lhs, expr)
