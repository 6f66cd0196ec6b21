// Bisection of a rejected batch: isolates the events Azure refuses and delivers all the others.
//
// post(begin, end) sends events [begin, end) and reports whether Azure accepted them, refused the
// data itself (permanent), or the attempt ended otherwise (stop: the caller is shutting down).
// A refused range is split in halves until single events remain; those go to reject(index).
// Ranges are tried in order, so acknowledgements stay in FIFO order within the batch.
#pragma once

#include <cstddef>
#include <functional>

namespace sg::deliver {

enum class RangeResult { kAccepted, kRefused, kStop };

// Returns false when post() asked to stop.
inline bool Bisect(size_t begin, size_t end,
                   const std::function<RangeResult(size_t, size_t)>& post,
                   const std::function<bool(size_t)>& reject) {
  if (begin >= end) return true;
  switch (post(begin, end)) {
    case RangeResult::kAccepted:
      return true;
    case RangeResult::kStop:
      return false;
    case RangeResult::kRefused:
      break;
  }
  if (end - begin == 1) return reject(begin);
  size_t mid = begin + (end - begin) / 2;
  return Bisect(begin, mid, post, reject) && Bisect(mid, end, post, reject);
}

}  // namespace sg::deliver
