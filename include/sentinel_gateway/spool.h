// Spool: the gateway's durable local write-ahead queue, on RocksDB.
//
// Every event the gateway has taken from Kafka lives here until Azure accepted it or an operator
// dropped it. Guarantees:
//  - Each operation is one atomic RocksDB WriteBatch: after a crash (kill -9 at any instant) either
//    all of it is visible or none of it.
//  - Append, Fail, Requeue and Drop return OK only once their write is fsync'd (sync=true);
//    concurrent appends share one fsync through RocksDB's group commit.
//  - Every event is in exactly one state: pending (per route, FIFO by sequence) or failed.
//  - The highest Kafka offset spooled per topic-partition is written in the same batch as the events,
//    so a consumer can resume exactly where the spool ends; and Append is idempotent over it: an
//    event or quarantined message whose offset is at or below the recorded one is not written
//    again (a retry after a failed fsync is spooled once), unless the batch rewinds that
//    partition's offset (PartitionOffset::rewound: its log was recreated or truncated).
//  - Ack is fsync'd at least every ack_sync_interval_ms and every ack_sync_events events: a power
//    cut re-delivers at most that window of acks; a process crash loses none.
//  - A spool that met an I/O error it cannot leave in-process (or whose reopen failed) reopens
//    itself with backoff, without waiting for a caller; while closed it reports itself above the
//    high watermark and its reads fail with IOError.
//  - Opening never scans the events: counters live in the meta column family.
//  - Errors come back as Status; a corrupted or newer-format spool is reported, never rewritten.
//  - In-flight marks (issue 15): a sequence range a lane is posting is recorded before the post
//    and cleared once its outcome is known, with the WAL but without an fsync of its own (a process
//    crash keeps it; a power cut may lose the newest). The writer's open turns the marks a previous
//    process left (it stopped while those requests were out) into "in doubt" ranges, durably,
//    before anything else is written; they stay until the drainer resolves them (ClearInDoubt).
//  - Power loss (issue 15): a power cut can take back the unsynced tail of the WAL, and with it
//    in-flight marks and acks. A writer records the machine's boot id while it has the spool open
//    and removes the record when it closes. A writer that finds another boot's record knows the
//    previous one never closed and the machine restarted since: it puts the head of each route in
//    doubt, up to SpoolOptions::in_flight_bound_events plus ack_sync_events pending events, in the
//    same synced write as the promotion. A clean stop, or a crash without a restart, adds nothing.
//
// Thread safety: all methods may be called concurrently from several threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sentinel_gateway/status.h"

namespace rocksdb {
class Env;
}

namespace sg::spool {

// Where an event came from in Kafka. Empty topic for events with no Kafka origin.
struct SourceRef {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

// An event to append: its route (destination table) and its JSON payload.
struct NewEvent {
  std::string route;
  std::string payload;
  SourceRef source;
};

// Why a batch of events failed, as recorded in the failed area.
struct FailureInfo {
  int http_status = 0;     // 0 when no HTTP answer (e.g. quarantined input, connection errors)
  std::string reason;      // short machine-readable reason: "invalid_json", "http_400", ...
  std::string error_text;  // Azure's error text or the parser's message
  int attempts = 0;
  int64_t first_failure_ms = 0;  // Unix epoch milliseconds
  int64_t last_failure_ms = 0;
};

// A message that could not become an event (bad input), quarantined with its reason.
struct QuarantinedMessage {
  std::string route;  // best guess, may be empty
  std::string payload;
  SourceRef source;
  FailureInfo why;
};

// Highest offset spooled for one topic-partition.
struct PartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  // Replaces the recorded offset even when lower (the partition's log was recreated or
  // truncated); otherwise the recorded offset only grows.
  bool rewound = false;
};

// One atomic append: events, quarantined messages and the offsets they cover.
struct AppendBatch {
  std::vector<NewEvent> events;
  std::vector<QuarantinedMessage> quarantined;
  // Highest offset per partition covered by this batch (events and quarantined together).
  std::vector<PartitionOffset> offsets;
};

// A pending event as read back.
struct PendingEvent {
  uint64_t seq = 0;  // position in its route, strictly increasing in append order
  std::string payload;
  // The payload's size as spooled, set by Read: what an Ack takes off the route's byte count. It
  // stays when a reader releases the payload once done with it (the drainer does after shaping),
  // so that what waits for its ack holds no copy of the event.
  uint64_t payload_bytes = 0;
  SourceRef source;
  int64_t enqueued_ms = 0;
};

// A batch in the failed area.
struct FailedBatch {
  uint64_t id = 0;
  std::string route;
  FailureInfo why;
  std::vector<PendingEvent> events;  // seq is the event's former pending sequence (informative)
  int64_t bytes = 0;                 // payload bytes
};

// A sequence range of one route whose delivery is in doubt: it was being posted when the process
// that posted it stopped without learning the outcome. Its pending events may or may not be in
// Azure already.
struct InDoubtRange {
  std::string route;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;   // inclusive
  int64_t marked_ms = 0;   // when the post began (Unix epoch milliseconds)
};

// The ranges with those of one route that overlap or touch joined into one, sorted by route then
// first seq (a range keeps the earliest marked_ms). Wherever each event in doubt must count once.
std::vector<InDoubtRange> MergeInDoubt(std::vector<InDoubtRange> ranges);

struct RouteStats {
  // Pending events inside in-doubt ranges (also counted in pending_events). A read-only open
  // (a stopped gateway) counts the ranges still marked in flight too: the next start holds them.
  uint64_t in_doubt_events = 0;
  uint64_t pending_events = 0;
  uint64_t pending_bytes = 0;
  int64_t oldest_enqueued_ms = 0;  // 0 when the route is empty
};

struct SpoolStats {
  std::map<std::string, RouteStats> routes;
  uint64_t failed_batches = 0;
  uint64_t failed_events = 0;
  uint64_t failed_bytes = 0;
  uint64_t used_bytes = 0;     // pending payload bytes: what max_bytes and the watermarks bound
  uint64_t disk_bytes = 0;     // SST files + WAL + memtables as RocksDB reports them
  uint64_t max_bytes = 0;
  uint64_t failed_max_bytes = 0;  // the failed area's budget (failed_bytes above it: act)
  uint64_t appended_total = 0;   // events ever appended
  uint64_t acked_total = 0;      // events ever acknowledged as delivered
  uint64_t quarantined_total = 0;
  // Events and quarantined messages of appends that were already spooled (their offsets at or
  // below the recorded ones: a retry after a failed fsync), not written again. Since open.
  uint64_t duplicates_skipped = 0;
};

struct SpoolOptions {
  // Capacity of the pending events: appends that would take pending payload bytes past max_bytes
  // fail with Status::Full.
  uint64_t max_bytes = 20ull << 30;
  // Backpressure thresholds as fractions of max_bytes (see AboveHighWatermark / BelowLowWatermark).
  // They count pending events only: a large failed area never pauses ingest.
  double high_watermark = 0.90;
  double low_watermark = 0.80;
  // The failed area's own budget (0: a quarter of max_bytes). It refuses nothing (moving a batch
  // there, or quarantining bad input, never fails for room: that would stop delivery or ingest);
  // it is what the disk must hold beside max_bytes, and Stats / the metrics say when it is
  // exceeded, so an operator drops or requeues.
  uint64_t failed_max_bytes = 0;
  // Open without writing (inspection of a stopped gateway's spool). Does not take the lock.
  bool read_only = false;
  // Open as a RocksDB secondary instance following a running gateway (read-only, no lock).
  // secondary_path is the secondary's own scratch directory.
  bool secondary = false;
  std::string secondary_path;
  // Create the spool if it does not exist. A new spool is built in a temporary directory beside
  // `path` and renamed into place once complete, so a kill during the first open leaves no spool
  // (the next start creates it again) rather than a half-made one every start refuses.
  bool create_if_missing = true;
  // A writer finding the spool's lock held tries again for this long before Busy (the gateway:
  // a few seconds, so a tool's lock probe or a previous gateway still stopping does not make
  // systemd give up on it).
  int lock_wait_ms = 0;
  // Acks are written without an fsync of their own; the ack stream is synced once this much time
  // has passed since the last sync or once this many acked events are unsynced, whichever comes
  // first. A power cut re-delivers at most what was acked in that window (see README guarantee 5).
  uint32_t ack_sync_interval_ms = 1000;
  uint32_t ack_sync_events = 10000;
  // The most pending events of one route, counted from its head, that the previous writer's
  // drainer may have posted without a durable in-flight mark: what a power cut may leave in Azure
  // but pending here (see the guarantees above). The gateway sets the drainer's
  // deliver::DeliveryOptions::UnmarkedPostBound() (2 x concurrency x max_batch_events);
  // ack_sync_events is added for acks the cut took back.
  uint64_t in_flight_bound_events = 2 * 4 * 10'000;
  // The machine's boot id (empty: /proc/sys/kernel/random/boot_id). Tests simulate a restart by
  // opening with another one. When no boot id can be read, an unclean stop counts as a restart.
  std::string boot_id;
  // Tests inject a fault-injecting Env here (disk full). Not owned.
  rocksdb::Env* env = nullptr;
};

class Spool {
 public:
  static constexpr uint32_t kFormatVersion = 1;

  // Opens (or creates) the spool at `path`. Errors: Busy ("spool is in use by pid N"),
  // Unsupported (format newer than this build), Corruption, IOError, NotFound (no spool and
  // create_if_missing is false).
  static Status Open(const SpoolOptions& options, const std::string& path,
                     std::unique_ptr<Spool>* spool);

  virtual ~Spool() = default;
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends events and quarantined messages and records the offsets, atomically and durably.
  // Full when the capacity would be exceeded (nothing written); IOError on disk errors (nothing
  // written, the spool keeps working once the cause is gone).
  virtual Status Append(const AppendBatch& batch) = 0;

  // Reads up to max_events / max_bytes (payload bytes; at least one event is returned when any is
  // pending) of the oldest pending events of `route` whose seq is > after_seq (0: from the head).
  // Not const: a writer moves a record it cannot decode to the failed area (reason
  // corrupt_record), so one bad record never blocks its route, and remembers the route's head.
  virtual Status Read(const std::string& route, uint64_t after_seq, size_t max_events,
                      size_t max_bytes, std::vector<PendingEvent>* out) = 0;

  // Removes delivered events: `events` must be pending events of `route` as returned by Read, in
  // seq order; each takes its payload_bytes (its payload's size when that is larger: an event
  // made by hand) off the route's byte count, so a reader may release the payloads first. One
  // atomic WriteBatch of point deletes. fsync'd only when ack_sync_interval_ms has passed or
  // ack_sync_events events are unsynced (a background sync covers an idle tail): a power loss may
  // re-deliver that window, a process crash loses nothing.
  virtual Status Ack(const std::string& route, const std::vector<PendingEvent>& events) = 0;
  // Ack of the sub-range events[begin, end).
  virtual Status Ack(const std::string& route, const std::vector<PendingEvent>& events,
                     size_t begin, size_t end) = 0;

  // Moves the given pending events (by seq) of `route` into one new failed batch. NotFound if
  // any of them is not pending. *batch_id receives the new batch's id.
  virtual Status Fail(const std::string& route, const std::vector<uint64_t>& seqs,
                      const FailureInfo& why, uint64_t* batch_id) = 0;

  // Moves a failed batch back to the tail of its route's pending events. *moved = its event count.
  virtual Status Requeue(uint64_t batch_id, size_t* moved) = 0;

  // Deletes a failed batch for good (an operator's explicit request).
  virtual Status Drop(uint64_t batch_id) = 0;

  // Failed batches, oldest id first, starting after `after_id`; optional route filter.
  virtual Status ListFailed(uint64_t after_id, size_t limit, const std::string& route_filter,
                            std::vector<FailedBatch>* out) const = 0;
  virtual Status GetFailed(uint64_t batch_id, FailedBatch* out) const = 0;

  // In-flight marks (see the guarantees above). `first_seq` identifies a mark within its route;
  // marking again replaces it. Not synced: cheap enough to write before every request.
  virtual Status MarkInFlight(const std::string& route, uint64_t first_seq, uint64_t last_seq) = 0;
  virtual Status ClearInFlight(const std::string& route, uint64_t first_seq) = 0;
  // The in-doubt ranges, by route then first seq. A read-only open also lists the ranges still
  // marked in flight (the stopped gateway's next start finds them in doubt); a secondary does not
  // (its primary is posting them).
  virtual Status InDoubt(std::vector<InDoubtRange>* out) const = 0;
  // The range was resolved: its events are acked, or back in the ordinary path. Synced.
  virtual Status ClearInDoubt(const std::string& route, uint64_t first_seq) = 0;

  // Routes that have ever held events (from meta; no scan).
  virtual std::vector<std::string> Routes() const = 0;

  // Not const: it reads the head of each route with Read (see there).
  virtual Status Stats(SpoolStats* out) = 0;

  // Highest offset spooled per topic-partition (also while the spool is closed after an I/O error:
  // then the offsets it held when it closed).
  virtual Status SourceOffsets(std::vector<PartitionOffset>* out) const = 0;
  // Highest offset spooled for one partition, or -1 when none.
  virtual int64_t SourceOffset(const std::string& topic, int32_t partition) const = 0;

  // Backpressure: pending bytes are above the high watermark (pause consumption) ...
  virtual bool AboveHighWatermark() const = 0;
  // ... and below the low watermark (resume).
  virtual bool BelowLowWatermark() const = 0;
  virtual uint64_t UsedBytes() const = 0;

  // For secondary instances: catch up with the primary's latest writes.
  virtual Status CatchUp() = 0;

  // Directory of this spool.
  virtual const std::string& path() const = 0;

 protected:
  Spool() = default;
};

}  // namespace sg::spool
