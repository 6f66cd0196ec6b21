#include "sentinel_gateway/status.h"

namespace sg {

std::string_view Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "Invalid argument";
    case Code::kNotFound: return "Not found";
    case Code::kCorruption: return "Corruption";
    case Code::kIOError: return "IO error";
    case Code::kBusy: return "Busy";
    case Code::kFull: return "Full";
    case Code::kUnavailable: return "Unavailable";
    case Code::kRejected: return "Rejected";
    case Code::kUnsupported: return "Unsupported";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

}  // namespace sg
