// WaitFor: the one way tests wait for a condition that another thread or process makes true.
//
// It polls (every 5 ms, or `poll` for a condition that costs a request, such as a metrics scrape)
// until `done` holds or `timeout` passes, and returns the condition's last answer, so a test asserts
// on the state it waited for rather than on time having passed. Benchmarks use it too.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace sg::testing {

inline bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                    std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace sg::testing
