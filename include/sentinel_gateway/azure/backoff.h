// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").
//
// Attempt n (0-based) waits a uniformly random delay in [0, min(cap, initial * 2^n)]. Full jitter
// spreads the retries of many clients after an outage, so they do not all come back at once.
#pragma once

#include <chrono>
#include <random>

namespace sg::azure {

// The upper bound of the delay for `attempt`: min(cap, initial * 2^attempt), never overflowing.
std::chrono::milliseconds BackoffCeiling(int attempt, std::chrono::milliseconds initial,
                                         std::chrono::milliseconds cap);

// A uniformly random delay in [0, BackoffCeiling(attempt, initial, cap)].
std::chrono::milliseconds FullJitterBackoff(int attempt, std::chrono::milliseconds initial,
                                            std::chrono::milliseconds cap, std::mt19937_64& rng);

}  // namespace sg::azure
