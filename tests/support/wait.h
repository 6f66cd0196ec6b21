// WaitFor: the one way tests wait for a condition that another thread or process makes true.
//
// It polls (every 5 ms) until `done` holds or `timeout` passes, and returns the condition's last
// answer, so a test asserts on the state it waited for rather than on time having passed.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace sg::testing {

inline bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace sg::testing
