// The start offset of an assigned partition (see start_offsets.h).
#include "start_offsets.h"

#include <algorithm>

namespace sg {
namespace ingest {

int64_t ResumePosition(int64_t committed, int64_t spooled) {
  int64_t start = committed;  // -1: committed offset unknown
  if (spooled >= 0) start = std::max(committed, spooled + 1);
  return start;
}

StartOffset ChooseStart(int64_t committed, int64_t spooled, int64_t lo, int64_t hi, bool reset_latest) {
  StartOffset r;
  r.position = ResumePosition(committed, spooled);
  r.start = r.position;
  if (r.start < 0) return r;
  if (hi >= 0) {
    if (spooled >= 0 && hi <= spooled) {
      // The log ends below what this spool holds: recreated, or truncated by an unclean leader
      // election. A committed offset past the new end means truncation: what lies below the end
      // is what this spool already has. No committed offset (a deleted topic loses its group
      // offsets) or one inside the log: take it, or the log's start.
      r.why = StartOffset::Why::kRewound;
      r.start = lo;
      if (committed > hi) {
        r.start = hi;
      } else if (committed >= lo) {
        r.start = committed;
      }
    } else if (r.start < lo) {
      r.why = StartOffset::Why::kRetentionPassed;
      r.start = reset_latest ? hi : lo;
    }
  }
  r.commit_spooled = spooled >= 0 && r.start == spooled + 1 && r.start > committed;
  return r;
}

}  // namespace ingest
}  // namespace sg
