// DeliveryOptions: the drainer's batching, concurrency, retry and event id settings, shared by
// deliver::DrainerOptions (which derives from it) and the gateway's [delivery] section
// (config::DeliveryConfig derives from it too), so each field and its default is written once
// and the gateway passes the section to the drainer with one assignment. DedupeOptions: the
// drainer's exactly-once settings, whose defaults the [sentinel] section's dedupe keys take.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sg::deliver {

struct DeliveryOptions {
  // Batching. The API's own limit always applies on top of max_batch_bytes.
  uint64_t max_batch_events = 10'000;
  // The cap of a request body as sent: compressed with gzip on the Logs Ingestion API.
  uint64_t max_batch_bytes = 1'048'576;
  std::chrono::milliseconds linger{500};  // wait this long for a fuller batch
  int concurrency = 4;  // requests in flight per lane
  // Memory: the buffers (the shaped rows, as allocated; a payload is released once shaped) of the
  // batches read from the spool and not yet delivered (queued or in flight), all lanes together.
  // A lane with none may always take one batch, so a table in an outage never holds the others
  // back. The reader's batch in the making comes on top.
  uint64_t read_ahead_bytes = 64ull << 20;
  // Retries.
  std::chrono::milliseconds backoff_initial{1'000};
  std::chrono::milliseconds backoff_cap{300'000};
  // While a route backs off after timeouts, 408, 429 or 5xx, one request (a probe) goes out this
  // often, so delivery resumes within about this long of Azure's return rather than after the
  // rest of a backoff that grew during the outage; a probe's success wakes the route's workers.
  // Retry-After still holds. 0: off (each retry waits out its own backoff).
  std::chrono::milliseconds probe_interval{2'000};
  int max_attempts = 0;  // 0: retry retryable errors forever; else fail the batch after this many
  // A stable id per event (topic/partition/offset) in this field, on by default: Sentinel users
  // deduplicate with it, and dedupe.query needs it. Empty: off.
  std::string event_id_field = "sg_event_id";

  // The most events of one route these settings may have posted without a durable in-flight mark
  // (the spool's SpoolOptions::in_flight_bound_events): the batches in flight when the WAL was
  // last synced, whose marks may be unsynced too, and those taken after.
  uint64_t UnmarkedPostBound() const {
    return 2ull * static_cast<uint64_t>(concurrency) * max_batch_events;
  }
};

// Exactly once after a crash (issue 15; docs/AZURE.md, "Exactly once"): the drainer's
// (DrainerOptions::dedupe); the gateway's [sentinel] dedupe keys take their defaults from here.
struct DedupeOptions {
  bool query = false;  // false: events in doubt are posted again (today's behaviour)
  std::string workspace_id;
  std::string query_endpoint;  // empty: the cloud's (https://api.loganalytics.io)
  // Azure's ingestion latency: rows become queryable up to minutes after their 2xx, so the
  // question is asked this long after the drainer started (after the crash, then).
  std::chrono::milliseconds wait{300'000};
  // A Query API that does not answer (or answers 429/5xx) is retried with backoff this long, then
  // the events are posted.
  std::chrono::milliseconds query_timeout{600'000};
  size_t ids_per_query = 500;
};

}  // namespace sg::deliver
