// Ingest: the Kafka consumer that moves Citrix Analytics events into the spool.
//
// Guarantees (README, "What it guarantees", 1, 3, 4 and 8; docs/ARCHITECTURE.md):
//  - An offset is stored for commit only after the spool append holding its message returned OK
//    (enable.auto.offset.store=false; every append is fsync'd by the spool).
//  - Messages of one poll cycle go to the spool in one atomic append, together with the highest
//    offset per partition. The next cycle's messages are gathered while that append is fsync'd;
//    at most one append is in flight, so batches reach the spool in order. On assignment each partition starts at max(committed, spooled + 1), so a
//    crash between the spool write and the Kafka commit spools nothing twice.
//  - Bad input (not UTF-8, not JSON, not an object, no event_type, too large) is quarantined into
//    the spool's failed area with its reason and topic/partition/offset; its offset advances.
//  - A failed append (IOError, Full) advances no offset: the same batch is retried with backoff and
//    Health() says why. Above the spool's high watermark all partitions are paused (the consumer
//    keeps polling so it stays in the group) and resumed below the low watermark.
//  - On assignment each known position is checked against the log: a log that ends below the
//    spooled offset (topic recreated, or truncated by an unclean election) is consumed again from
//    the committed offset or its start (offset_rewinds; the spool's offset is replaced); a log
//    that starts above it (retention passed it while nobody consumed) resumes per
//    auto_offset_reset, and what was skipped is logged and counted (offset_resets,
//    offset_reset_skipped). A position retention passes while assigned is reset by librdkafka
//    itself, with its own warning in the log.
//  - Every assignment gets the pause state of the moment, paused or resumed explicitly (librdkafka
//    keeps an application pause across unassign and assign).
//  - A failed append holds consumption only while its batch exists: a revoke that takes the
//    batch's partitions away ends the failure.
//  - Commits: asynchronous every commit_interval, synchronous on revoke and on Stop.
//  - Rebalances: cooperative-sticky by default with incremental assign/unassign; an eager protocol
//    (another member, or a configured eager strategy) is handled with assign/unassign.
//  - The SASL password never appears in a log line, an error or a Status.
//
// Thread safety: Start and Stop from one controlling thread; Stats() and Health() from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sentinel_gateway/event_classifier.h"
#include "sentinel_gateway/event_router.h"
#include "sentinel_gateway/kafka_options.h"
#include "sentinel_gateway/status.h"

namespace sg::spool {
class Spool;
}  // namespace sg::spool

namespace sg::ingest {

// The Kafka settings (KafkaOptions, shared with the gateway's [kafka] section), the password, and
// the stage's own settings.
struct IngestOptions : KafkaOptions {
  std::string password;  // secret: never logged

  // --- Events ---
  RouterOptions routes;
  ClassifierOptions classifier;

  // --- Batching, commits and retries ---
  // (max_batch_messages, max_batch_bytes and commit_interval are KafkaOptions'.)
  int poll_timeout_ms = 100;            // wait for the first message of a batch
  int append_retry_initial_ms = 100;    // backoff after a failed append, doubling ...
  int append_retry_max_ms = 5000;       // ... up to this
  int assign_committed_timeout_ms = 10000;  // fetch of committed offsets on assignment
  int close_timeout_ms = 10000;         // bound on retrying the last batch during Stop

  // --- Hook ---
  // Called after each append that put events in the spool, as soon as they are durable (the
  // gateway wakes the drainer with it), on the thread that appended: the consumer thread or its
  // append thread. Must be quick and thread-safe, and must not call into Ingest.
  std::function<void()> on_spooled;
  // Tests only: called with each librdkafka consumer handle (an rd_kafka_t*) once it exists, so a
  // test can raise an error on it (rd_kafka_test_fatal_error). Never set by the gateway.
  std::function<void(void* consumer)> TEST_on_consumer_created;
};

struct IngestStats {
  uint64_t consumed = 0;          // messages taken from Kafka
  uint64_t spooled = 0;           // events appended to the spool
  uint64_t quarantined = 0;       // messages appended to the failed area
  uint64_t spooled_bytes = 0;     // payload bytes appended (events and quarantined)
  uint64_t appends = 0;           // successful spool appends (fsync'd batches)
  uint64_t append_failures = 0;   // failed spool appends (each retried)
  uint64_t append_micros = 0;     // time spent in spool appends (write + fsync), microseconds
  uint64_t commits = 0;           // successful offset commits
  uint64_t commit_failures = 0;
  uint64_t skipped_duplicates = 0;  // re-delivered messages this spool already holds
  uint64_t offset_rewinds = 0;    // partitions whose log ended below the spooled offset (recreated
                                  // or truncated topic): consumed again from the new log
  uint64_t offset_resets = 0;     // positions no longer in the log (retention passed them)
  uint64_t offset_reset_skipped = 0;  // messages those resets skipped (deleted, or passed by "latest")
  uint64_t rebalances = 0;        // assignment changes
  uint64_t partitions_lost = 0;   // partitions taken away without a revoke (no commit possible)
  uint64_t consumer_restarts = 0;  // consumers destroyed and created again after a fatal error
  uint64_t pauses = 0;            // times consumption was paused for backpressure or failures
  bool paused = false;            // consumption paused right now
  int assigned_partitions = 0;
  int64_t lag = -1;               // messages behind the high watermark over the assignment; -1 unknown
  std::map<std::pair<std::string, int32_t>, int64_t> partition_lag;  // per assigned partition; -1 unknown
  std::string last_error;         // most recent Kafka or spool error (never a secret)
  int64_t last_error_ms = 0;      // Unix epoch ms of last_error
};

struct IngestHealth {
  bool healthy = true;
  std::string reason;  // why not healthy, or "paused: ..." for a healthy but paused consumer
};

class Ingest {
 public:
  // Validates the options and creates the consumer; `spool` must outlive the Ingest.
  // InvalidArgument names the offending setting (never its value when it is a secret).
  static Status Create(const IngestOptions& options, spool::Spool* spool, std::unique_ptr<Ingest>* ingest);

  virtual ~Ingest() = default;
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  // Subscribes and starts the consumer thread.
  virtual Status Start() = 0;
  // Stops fetching, appends the batch in hand (retrying up to close_timeout_ms), commits offsets
  // synchronously and leaves the group. Idempotent. Returns the last append error, if the final
  // batch could not be spooled (its offsets were not committed: nothing is lost).
  virtual Status Stop() = 0;

  virtual IngestStats Stats() const = 0;
  virtual IngestHealth Health() const = 0;

 protected:
  Ingest() = default;
};

}  // namespace sg
