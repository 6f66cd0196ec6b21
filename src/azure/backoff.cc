#include "sentinel_gateway/azure/backoff.h"

#include <algorithm>

namespace sg::azure {

std::chrono::milliseconds BackoffCeiling(int attempt, std::chrono::milliseconds initial,
                                         std::chrono::milliseconds cap) {
  if (initial.count() <= 0 || cap.count() <= 0) return std::chrono::milliseconds(0);
  int64_t ceiling = initial.count();
  for (int i = 0; i < attempt && ceiling < cap.count(); ++i) ceiling *= 2;
  return std::chrono::milliseconds(std::min(ceiling, cap.count()));
}

std::chrono::milliseconds FullJitterBackoff(int attempt, std::chrono::milliseconds initial,
                                            std::chrono::milliseconds cap, std::mt19937_64& rng) {
  auto ceiling = BackoffCeiling(attempt, initial, cap);
  std::uniform_int_distribution<int64_t> dist(0, ceiling.count());
  return std::chrono::milliseconds(dist(rng));
}

}  // namespace sg::azure
