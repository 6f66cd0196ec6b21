// Status: the outcome of an operation that crosses a module edge.
//
// Modules report failure with a Status value, never with an exception: a caller sees at its
// call site that an operation can fail and decides what to do. A Status is cheap to return
// when OK (no allocation). Messages are written for an operator and must never contain a
// secret (passwords, keys, tokens).
//
// Status is [[nodiscard]]: a call whose Status is dropped does not compile (the build treats
// warnings as errors). Where ignoring a failure is genuinely right (best-effort cleanup in a
// destructor, a close after another error was already reported), call IgnoreError() on it with
// a comment saying why, so that the decision is visible at the call site.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace sg {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller or the configuration asked for something impossible
    kNotFound,         // the named thing does not exist
    kCorruption,       // stored data is damaged; never repaired silently
    kIOError,          // the disk or the OS failed (including disk full)
    kBusy,             // held by someone else (a spool in use by another process)
    kFull,             // a capacity limit is reached; retry later, nothing was written
    kUnavailable,      // a remote peer cannot be reached or answered with a retryable error
    kRejected,         // a remote peer refused the data permanently
    kUnsupported,      // a newer format or a feature this build lacks
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Busy(std::string msg) { return {Code::kBusy, std::move(msg)}; }
  static Status Full(std::string msg) { return {Code::kFull, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status Rejected(std::string msg) { return {Code::kRejected, std::move(msg)}; }
  static Status Unsupported(std::string msg) { return {Code::kUnsupported, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsFull() const { return code_ == Code::kFull; }
  bool IsBusy() const { return code_ == Code::kBusy; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }

  // Explicitly drops this Status (RocksDB: PermitUncheckedError). A no-op that documents, at the
  // call site, that the failure is deliberately ignored; say why in a comment next to the call.
  void IgnoreError() const {}

  // "Corruption: <message>", or "OK".
  std::string ToString() const;
  static std::string_view CodeName(Code code);

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace sg
