// Bisection of a rejected batch: isolates the events Azure refuses and delivers all the others.
//
// post(begin, end) sends events [begin, end) and reports whether Azure accepted them, refused the
// data itself (permanent), or the attempt ended otherwise (stop: the caller is shutting down).
// A refused range is split in halves until single events remain; those go to reject(index).
//
// A request that is wrong as a whole (docs/AZURE.md, "Request-level errors") fails every row
// alike, and splitting it proves nothing. So when both halves of a refused range are refused too,
// alike() is asked whether the two refusals were the same request-level error; if so the whole
// range goes back to post(), which by then knows (alike() told the caller) to hold it and retry
// with backoff like a 401/403, instead of moving the feed to the failed area one event per call.
//
// Ranges are tried in order, so acknowledgements stay in FIFO order within the batch, with one
// exception: when the left half is refused, the right half is sent (and may be accepted) before
// the left half's events are isolated.
#pragma once

#include <cstddef>
#include <functional>

namespace sg::deliver {

enum class RangeResult { kAccepted, kRefused, kStop };

namespace internal {

// [begin, end) was refused. False when post() asked to stop.
inline bool SettleRefused(size_t begin, size_t end,
                          const std::function<RangeResult(size_t, size_t)>& post,
                          const std::function<bool(size_t)>& reject,
                          const std::function<bool()>& alike);

inline bool Send(size_t begin, size_t end, const std::function<RangeResult(size_t, size_t)>& post,
                 const std::function<bool(size_t)>& reject, const std::function<bool()>& alike) {
  if (begin >= end) return true;
  switch (post(begin, end)) {
    case RangeResult::kAccepted:
      return true;
    case RangeResult::kStop:
      return false;
    case RangeResult::kRefused:
      break;
  }
  return SettleRefused(begin, end, post, reject, alike);
}

inline bool SettleRefused(size_t begin, size_t end,
                          const std::function<RangeResult(size_t, size_t)>& post,
                          const std::function<bool(size_t)>& reject,
                          const std::function<bool()>& alike) {
  if (end - begin == 1) return reject(begin);
  const size_t mid = begin + (end - begin) / 2;
  const RangeResult left = post(begin, mid);
  if (left == RangeResult::kStop) return false;
  if (left == RangeResult::kAccepted) return Send(mid, end, post, reject, alike);
  const RangeResult right = post(mid, end);
  if (right == RangeResult::kStop) return false;
  if (right == RangeResult::kRefused && alike && alike()) {
    return Send(begin, end, post, reject, alike);  // a request-level error: post() now holds it
  }
  if (!SettleRefused(begin, mid, post, reject, alike)) return false;
  return right == RangeResult::kAccepted || SettleRefused(mid, end, post, reject, alike);
}

}  // namespace internal

// Returns false when post() asked to stop.
inline bool Bisect(size_t begin, size_t end,
                   const std::function<RangeResult(size_t, size_t)>& post,
                   const std::function<bool(size_t)>& reject,
                   const std::function<bool()>& alike = {}) {
  return internal::Send(begin, end, post, reject, alike);
}

}  // namespace sg::deliver
