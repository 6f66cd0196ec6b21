#include "rate_limiter.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

namespace sg::emulator {

std::optional<RateLimiter::Refusal> RateLimiter::Check(const std::string& key, uint64_t bytes,
                                                       const std::string& connection, Clock::time_point now) {
  State& r = state_[key];
  auto secs_until = [&](Clock::time_point t) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count();
    return std::max<int64_t>(1, (ms + 999) / 1000);
  };
  auto conn = connection_deadlines_.find(connection);
  const bool told = conn != connection_deadlines_.end() && now < conn->second;
  if (conn != connection_deadlines_.end() && !told) connection_deadlines_.erase(conn);
  if (now < r.retry_deadline || told) {
    // HTTP/1.1 carries one request at a time per connection: one sent on a connection that was
    // told to wait, or after that connection's answer left, was sent knowing of the 429.
    auto last = last_answer_.find(connection);
    const bool sent_after = last != last_answer_.end() && last->second >= r.retry_set + limits_.early_margin;
    if (told || sent_after || now >= r.retry_set + limits_.early_grace) ++early_retries_;
    const Clock::time_point until = std::max(r.retry_deadline, told ? conn->second : now);
    const int64_t retry = secs_until(until);
    connection_deadlines_[connection] = now + std::chrono::seconds(retry);
    return Refusal{retry, "request arrived before the Retry-After elapsed"};
  }
  if (now - r.window_start >= limits_.window) {
    r.window_start = now;
    r.requests = 0;
    r.bytes = 0;
  }
  if (r.requests + 1 > limits_.requests || r.bytes + bytes > limits_.bytes) {
    const int64_t retry = secs_until(r.window_start + limits_.window);
    r.retry_deadline = now + std::chrono::seconds(retry);
    r.retry_set = now;
    connection_deadlines_[connection] = r.retry_deadline;
    return Refusal{retry, fmt::format("rate limit of {} requests or {} bytes per {} ms exceeded", limits_.requests,
                                      limits_.bytes, limits_.window.count())};
  }
  ++r.requests;
  r.bytes += bytes;
  return std::nullopt;
}

void RateLimiter::NoteAnswer(const std::string& connection, Clock::time_point now) {
  // Bounded: connections idle for 5 minutes are forgotten once many accumulate.
  if (last_answer_.size() > 100'000) {
    for (auto it = last_answer_.begin(); it != last_answer_.end();) {
      it = now - it->second > std::chrono::minutes(5) ? last_answer_.erase(it) : std::next(it);
    }
  }
  last_answer_[connection] = now;
}

}  // namespace sg::emulator
