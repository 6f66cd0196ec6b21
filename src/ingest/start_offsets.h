// Where an assigned partition starts: the decision alone, as a pure function, so that each case
// (committed, spooled, recreated or truncated log, retention passed) is stated once.
//
// Guarantees: a partition never starts at or below an offset this spool holds unless the log now
// ends below it (recreated or truncated: the new log is consumed again); it starts inside the log
// whenever the log's ends are known; it never starts below the group's committed offset except
// on a rewind. commit_spooled says the spool holds more than the group committed, so the spool's
// offset must be committed too (or the partition's next owner would read it again).
#pragma once

#include <cstdint>

namespace sg {
namespace ingest {

struct StartOffset {
  enum class Why {
    kResume,           // after the committed and spooled offsets (or unknown: auto.offset.reset)
    kRewound,          // the log ends at or below the spooled offset: consumed again
    kRetentionPassed,  // the log starts above the position: resumed per auto_offset_reset
  };
  int64_t position = -1;  // max(committed, spooled + 1) before the log was consulted; -1 unknown
  int64_t start = -1;     // where to start; -1: librdkafka applies auto.offset.reset
  Why why = Why::kResume;
  bool commit_spooled = false;
};

// max(committed, spooled + 1), or -1 when neither is known: the log ends are worth asking for
// only when this is known.
int64_t ResumePosition(int64_t committed, int64_t spooled);

// `committed` and `spooled` are -1 when unknown, `lo` and `hi` (the log's start and end) -1
// when they could not be asked. `reset_latest`: auto_offset_reset is "latest".
StartOffset ChooseStart(int64_t committed, int64_t spooled, int64_t lo, int64_t hi, bool reset_latest);

}  // namespace ingest
}  // namespace sg
