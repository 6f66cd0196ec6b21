// Drainer: takes events from the spool and posts them to Microsoft Sentinel.
//
// Guarantees:
//  - One lane per route: a table that is failing never holds back another. Within a lane,
//    batches leave in spool (FIFO) order; up to `concurrency` requests are in flight per lane.
//  - Events leave the spool (Ack) only after Azure accepted their request. A crash between
//    Azure's answer and the Ack re-posts at most the requests in flight (the only duplicates).
//    An ack or a move to the failed area that the spool refuses (disk full, a reopen) is retried
//    in place until it succeeds or the drainer stops; the lane sends nothing more meanwhile.
//  - Request bodies never exceed the API's limits as Azure counts them, nor the configured event
//    count: Logs Ingestion 1 MiB as sent (with gzip: compressed, and at most 50 MiB of JSON;
//    batches are sized by the route's running compression ratio and each compressed body is
//    checked before it is sent, split when over), Data Collector 30 MB of JSON, one Log-Type.
//  - A 413 to a gzip body within the cap whose JSON was over it turns the route to the JSON cap
//    (1 MiB of JSON per request, as Microsoft's SDKs send) for the rest of the process, logged
//    once and counted; the refused batch is split until it fits and delivered.
//  - Timeouts, connection and TLS errors, 408, 429 and 5xx are retried without limit by default,
//    with exponential backoff and full jitter; a Retry-After (at most 10 minutes) is honoured
//    by the lane that received it: no request of that route goes out before it elapses.
//  - 401/403 and request-level errors (unknown stream or DCR, wrong URL, a 400 with a
//    request-level code, a 400 that both halves of a split get alike; docs/AZURE.md) are retried
//    with backoff and a fresh token; the route turns to "auth_error", the drainer reports
//    degraded health naming the cause and logs an error; the events stay pending.
//  - Other 400s and 413: the batch is split in halves until the refused events are isolated;
//    everything Azure accepts is delivered, and only the refused single events go to the spool's
//    failed area with the HTTP status and Azure's error text.
//  - Before a request goes out its sequence range is marked in flight in the spool; the mark is
//    cleared once Azure answered it (accepted, or refused for good). A mark the spool refuses
//    does not hold the request (counted in unmarked_requests, logged once per streak). After an unclean stop the
//    marks left are "in doubt" (Spool::InDoubt). With dedupe.query those events are held aside
//    (the rest of the route flows as usual) until dedupe.wait has passed since the start; then
//    the Log Analytics Query API is asked which of their ids are in the route's table: those are
//    acked, the rest posted. A query that cannot be made (refused, or unreachable for
//    dedupe.query_timeout) posts the events as before and says why (log, counters); nothing is
//    ever dropped. Without dedupe.query the in-doubt events are posted again, counted.
//    Events posted after a resolution go out after younger ones: order within a route holds for
//    everything else.
//  - Logs per state change of a route, never per event, never a secret.
// Thread-safe: Counters() and Health() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sentinel_gateway/azure/azure_options.h"
#include "sentinel_gateway/azure/stream_schema.h"
#include "sentinel_gateway/deliver/azure_clients.h"
#include "sentinel_gateway/deliver/delivery_options.h"
#include "sentinel_gateway/deliver/schema_board.h"
#include "sentinel_gateway/spool.h"
#include "sentinel_gateway/status.h"

namespace sg::deliver {

struct RouteConfig {
  std::string route;   // the spool route: the destination table, e.g. CitrixAnalytics_riskScoreChange_V1_CL
  std::string target;  // stream (Logs Ingestion) or Log-Type (Data Collector)
  std::optional<azure::StreamSchema> schema;  // the stream's declared columns, when known
};

// The settings the gateway's [delivery] section shares (DeliveryOptions), and the drainer's own.
struct DrainerOptions : DeliveryOptions {
  std::vector<RouteConfig> routes;
  std::chrono::milliseconds poll_interval{200};  // an idle lane looks at the spool this often
  // Shaping (event_id_field is DeliveryOptions').
  DedupeOptions dedupe;
  std::string timestamp_field = "timestamp";
  // Makes the lane of a route that has events in the spool but no lane (events requeued into a
  // table the configuration of the start did not list). Unset: such events wait for a restart.
  std::function<Status(const std::string& route, RouteConfig* out)> route_config;
  // Optional: schemas that replace a route's RouteConfig schema while the lanes run (the deployed
  // DCR, read back periodically).
  std::shared_ptr<SchemaBoard> schema_board;
  // Optional observer of every request (latency histogram for metrics). Called from workers.
  std::function<void(const std::string& route, int http_status, std::chrono::microseconds latency)>
      on_request;
  // Optional: where the clients come from (deliver/azure_clients.h). Unset: the real HTTPS
  // clients of Start's AzureOptions (NewHttpsClients). Tests give fakes. The AzureOptions still
  // choose the API, gzip and the body cap either way.
  std::shared_ptr<AzureClients> clients;
};

enum class RouteState { kIdle, kDelivering, kRetrying, kAuthError };
inline constexpr size_t kMaxFieldsCounted = 200;
const char* RouteStateName(RouteState state);

struct RouteCounters {
  uint64_t delivered_events = 0;
  uint64_t delivered_bytes = 0;    // request body bytes accepted (uncompressed)
  uint64_t delivered_sent_bytes = 0;  // the same bodies as sent (compressed with gzip)
  uint64_t requests = 0;
  // gzip bodies: batches split before sending because their compressed body was over the cap
  // (the ratio estimate was too optimistic).
  uint64_t oversize_splits = 0;
  // Azure refused (413) a gzip body within the cap: the route now sends at most the cap in JSON.
  bool json_cap_fallback = false;
  uint64_t retries_transport = 0;  // no HTTP answer
  uint64_t retries_throttled = 0;  // 429
  uint64_t retries_server = 0;     // 408, 5xx
  uint64_t retries_auth = 0;       // 401, 403, other configuration errors
  uint64_t refused_requests = 0;   // 400/413 answers (before bisection settles them)
  uint64_t failed_events = 0;      // moved to the failed area
  // Fields the stream does not declare, and values no conversion fits their column's type: each
  // went to the catch-all column AdditionalFields (or, without one, was removed or left to Azure).
  uint64_t undeclared_fields = 0;
  uint64_t unconvertible_values = 0;
  // The same, per field name (at most kMaxFieldsCounted names per route; later ones count as "(other)").
  std::map<std::string, uint64_t> undeclared_by_field;
  std::map<std::string, uint64_t> unconvertible_by_field;
  // Values whose flattened name an earlier field of the event held (ShapeReport::collided), per
  // field name: whole in AdditionalFields under their original path, or, without it, dropped.
  uint64_t colliding_fields = 0;
  std::map<std::string, uint64_t> colliding_by_field;
  // Events whose TimeGenerated Azure replaces by the arrival time: more than 2 days old or more
  // than 1 day ahead (docs/AZURE.md, "TimeGenerated"). Their true time stays in `timestamp`.
  uint64_t time_replaced_events = 0;
  // Exactly once after a crash: events held in doubt now (a gauge); then how they were settled:
  // found in the table and acked, posted after a query found them absent, posted unchecked
  // (dedupe off, or the query failed: in_doubt_failures by reason).
  uint64_t in_doubt_events = 0;
  uint64_t in_doubt_already_delivered = 0;
  uint64_t in_doubt_posted = 0;
  uint64_t in_doubt_posted_unchecked = 0;
  std::map<std::string, uint64_t> in_doubt_failures;  // reason -> events
  uint64_t unmarked_requests = 0;  // requests sent without an in-flight mark (the spool refused it)
  int64_t in_flight = 0;
  // Row bytes (as allocated) of this route's batches read and not yet delivered (a gauge; their sum
  // over routes stays within read_ahead_bytes but for the one batch each route may always hold).
  uint64_t read_ahead_bytes = 0;
  RouteState state = RouteState::kIdle;
  std::string last_error;          // Azure's answer or the transport error; never a secret
};

struct DrainerHealth {
  bool degraded = false;
  std::string reason;  // empty when healthy
};

class Drainer {
 public:
  // Starts one lane per route. The spool must outlive the drainer. Fails only on invalid options
  // (never because Azure is unreachable: that is retried).
  static Status Start(const DrainerOptions& options, const azure::AzureOptions& azure,
                      spool::Spool* spool, std::unique_ptr<Drainer>* out);
  ~Drainer();  // Stop(0)
  Drainer(const Drainer&) = delete;
  Drainer& operator=(const Drainer&) = delete;

  // New events were appended: lanes waiting for a fuller batch or idle look again at once.
  void Notify();

  // Starts a lane (through DrainerOptions::route_config) for each spool route that has none, so
  // events requeued into a table without a lane are delivered without a restart.
  void AddMissingLanes();

  // Stops reading, lets requests in flight finish for up to `grace`, then cancels them. Events of
  // unfinished requests stay pending in the spool.
  void Stop(std::chrono::milliseconds grace);

  std::map<std::string, RouteCounters> Counters() const;
  DrainerHealth Health() const;
  uint64_t token_renewals() const;

  struct Impl;

 private:
  explicit Drainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sg::deliver
