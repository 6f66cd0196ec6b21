// ForEachRecord: the one reader of the Sentinel emulator's --record file (one JSON object per
// accepted row: {"table", "received_ms", "row"}), used by tests and benchmarks.
//
// Readers poll that file while the emulator is still appending to it, and an append of a large
// request reaches the file in several writes. Only a line that ends in '\n' is whole: the last,
// unterminated one is left for the next read instead of being parsed half written. A whole line
// that is not JSON is the emulator's bug and throws, so a test fails on it rather than skipping it.
#pragma once

#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

namespace sg::testing {

inline void ForEachRecord(const std::string& path, const std::function<void(const nlohmann::json&)>& fn) {
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t start = 0;
  for (size_t end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start)) {
    if (end > start) fn(nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                                              text.begin() + static_cast<std::ptrdiff_t>(end)));
  }
}

}  // namespace sg::testing
