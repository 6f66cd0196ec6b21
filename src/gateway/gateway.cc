#include "sentinel_gateway/gateway.h"

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "dcr_watch.h"
#include "request_histogram.h"
#include "sentinel_gateway/control.h"
#include "sentinel_gateway/deliver.h"
#include "sentinel_gateway/ingest.h"
#include "sentinel_gateway/prometheus_writer.h"
#include "sentinel_gateway/spool.h"
#include "sentinel_gateway/thread_name.h"
#include "wiring.h"

namespace sg {
namespace {

// Threads serving /metrics, /healthz and /readyz: a scraper, a probe and an operator's curl at once.
constexpr size_t kMetricsThreads = 4;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class GatewayImpl final : public Gateway {
 public:
  explicit GatewayImpl(config::GatewayConfig config) : config_(std::move(config)) {}
  ~GatewayImpl() override {
    // Best effort: the only failure Stop() reports is ingest's last append, logged when it
    // happened; an owner that needs the outcome calls Stop() itself first.
    Stop().IgnoreError();
  }

  Status Init() {
    spool::SpoolOptions so;
    so.max_bytes = config_.spool.max_bytes;
    so.high_watermark = config_.spool.high_watermark;
    so.low_watermark = config_.spool.low_watermark;
    so.failed_max_bytes = config_.spool.failed_max_bytes;
    // What a power cut can leave posted but pending (see SpoolOptions::in_flight_bound_events).
    so.in_flight_bound_events = config_.delivery.UnmarkedPostBound();
    // A lock held for a moment (an older sentinel-spool's probe, the previous gateway still
    // stopping) is waited for, bounded, instead of exiting 3, which systemd does not restart.
    so.lock_wait_ms = 3000;
    Status s = spool::Spool::Open(so, config_.spool.path, &spool_);
    if (!s.ok()) return s;

    deliver::DrainerOptions dopts;
    s = BuildDrainerOptions(config_, spool_->Routes(), &dopts);
    if (!s.ok()) return s;
    dopts.on_request = [this](const std::string& route, int status, std::chrono::microseconds latency) {
      histogram_.Observe(route, status, latency);
    };
    azure::AzureOptions aopts;
    s = BuildAzureOptions(config_, &aopts);
    if (!s.ok()) return s;
    // The deployed DCR, when configured, is read before delivery starts: the first batch is shaped
    // to it. A refused read only means the built-in schema (said once).
    s = DcrWatch::Start(config_, aopts, &dopts, &dcr_watch_);
    if (!s.ok()) return s;
    // Delivery of a backlog starts before consumption: a restart drains what the last run left.
    s = deliver::Drainer::Start(dopts, aopts, spool_.get(), &drainer_);
    if (!s.ok()) return s;

    // Operators change the spool (requeue, drop) through this socket while the gateway runs, so
    // their changes are applied by the process that owns the spool, atomically with its own writes.
    // Started after the drainer, which it wakes when requeued events are waiting.
    control::ControlServerOptions co;
    co.log = [](const std::string& line) { spdlog::info("{}", line); };
    co.on_change = [this](const auto&, const auto&) {
      drainer_->AddMissingLanes();  // a requeue into a table that had no lane
      drainer_->Notify();
    };
    s = control::ControlServer::Start(spool_.get(), co, &control_);
    if (!s.ok()) return s;

    ingest::IngestOptions iopts;
    s = BuildIngestOptions(config_, &iopts);
    if (!s.ok()) return s;
    // New events wake the drainer at once, so a lane waiting for its linger time adds no latency.
    iopts.on_spooled = [this] { drainer_->Notify(); };
    s = ingest::Ingest::Create(iopts, spool_.get(), &ingest_);
    if (!s.ok()) return s;
    s = ingest_->Start();
    if (!s.ok()) return s;

    if (!config_.metrics.listen.empty()) {
      s = StartMetricsServer();
      if (!s.ok()) return s;
    }
    spdlog::info("gateway: running; spool {} holds {} bytes", config_.spool.path, spool_->UsedBytes());
    return Status::OK();
  }

  Status Stop() override {
    if (stopped_.exchange(true)) return Status::OK();
    Status first;
    if (control_ != nullptr) control_->Stop();  // no operator change may land while stages stop
    if (dcr_watch_ != nullptr) dcr_watch_->Stop();
    if (ingest_ != nullptr) {
      Status s = ingest_->Stop();
      if (!s.ok()) first = s;
    }
    if (drainer_ != nullptr) drainer_->Stop(config_.delivery.shutdown_grace);
    if (http_ != nullptr) {
      http_->stop();
      if (http_thread_.joinable()) http_thread_.join();
    }
    spdlog::info("gateway: stopped; {} bytes pending in the spool", spool_ ? spool_->UsedBytes() : 0);
    return first;
  }

  std::string Metrics() override;
  Readiness Ready() override;
  std::string metrics_address() const override { return metrics_address_; }
  spool::Spool* spool() override { return spool_.get(); }
  ingest::Ingest* ingest() override { return ingest_.get(); }
  deliver::Drainer* drainer() override { return drainer_.get(); }

 private:
  Status StartMetricsServer() {
    const std::string& listen = config_.metrics.listen;
    size_t colon = listen.rfind(':');
    std::string host = listen.substr(0, colon);
    int port = std::atoi(listen.c_str() + colon + 1);
    http_ = std::make_unique<httplib::Server>();
    // A fixed pool: httplib's default is max(8, cores - 1) threads, too many for an edge VM's
    // scraper and health probes, and a flood of connections must not grow the gateway's threads.
    // Connections beyond it wait in the queue; a keep-alive client holds a thread at most
    // keep_alive_timeout (5 s by default) between requests.
    http_->new_task_queue = [] { return new httplib::ThreadPool(kMetricsThreads); };
    http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(Metrics(), "text/plain; version=0.0.4");
    });
    http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"alive"})", "application/json");
    });
    http_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      Readiness r = Ready();
      nlohmann::json j = {{"ready", r.ready}, {"reasons", r.reasons}};
      res.status = r.ready ? 200 : 503;
      res.set_content(j.dump(), "application/json");
    });
    if (port == 0) {
      port = http_->bind_to_any_port(host);
    } else if (!http_->bind_to_port(host, port)) {
      port = -1;
    }
    if (port <= 0) return Status::IOError(fmt::format("metrics: cannot listen on {}", listen));
    metrics_address_ = fmt::format("{}:{}", host, port);
    http_thread_ = std::thread([this] {
      NameThisThread("sg-metrics");
      http_->listen_after_bind();
    });
    spdlog::info("gateway: metrics on http://{}/metrics, health on /healthz and /readyz", metrics_address_);
    return Status::OK();
  }

  config::GatewayConfig config_;
  std::unique_ptr<spool::Spool> spool_;
  std::unique_ptr<control::ControlServer> control_;
  std::unique_ptr<DcrWatch> dcr_watch_;
  std::unique_ptr<deliver::Drainer> drainer_;
  std::unique_ptr<ingest::Ingest> ingest_;
  RequestHistogram histogram_;
  std::unique_ptr<httplib::Server> http_;
  std::thread http_thread_;
  std::string metrics_address_;
  std::atomic<bool> stopped_{false};
};

std::string GatewayImpl::Metrics() {
  PrometheusWriter w;
  using Type = PrometheusWriter::Type;
  const ingest::IngestStats is = ingest_ ? ingest_->Stats() : ingest::IngestStats();
  const struct {
    const char* name;
    Type type;
    const char* help;
    int64_t value;
  } kIngest[] = {
      {"sg_events_consumed_total", Type::kCounter, "Kafka messages consumed.", static_cast<int64_t>(is.consumed)},
      {"sg_events_spooled_total", Type::kCounter, "Events appended (fsync'd) to the spool.", static_cast<int64_t>(is.spooled)},
      {"sg_events_quarantined_total", Type::kCounter, "Bad messages moved to the failed area at ingest.",
       static_cast<int64_t>(is.quarantined)},
      {"sg_spool_appends_total", Type::kCounter, "Successful spool appends (fsync'd batches).", static_cast<int64_t>(is.appends)},
      {"sg_spool_append_failures_total", Type::kCounter, "Failed spool appends (each retried).",
       static_cast<int64_t>(is.append_failures)},
      {"sg_kafka_commits_total", Type::kCounter, "Kafka offset commits.", static_cast<int64_t>(is.commits)},
      {"sg_kafka_commit_failures_total", Type::kCounter, "Failed Kafka offset commits.", static_cast<int64_t>(is.commit_failures)},
      {"sg_kafka_rebalances_total", Type::kCounter, "Partition assignment changes.", static_cast<int64_t>(is.rebalances)},
      {"sg_kafka_skipped_duplicates_total", Type::kCounter, "Re-delivered messages this spool already held (not spooled again).",
       static_cast<int64_t>(is.skipped_duplicates)},
      {"sg_kafka_offset_rewinds_total", Type::kCounter,
       "Partitions whose log ended below the spooled offset (topic recreated or truncated), consumed again.",
       static_cast<int64_t>(is.offset_rewinds)},
      {"sg_kafka_offset_resets_total", Type::kCounter,
       "Partitions whose position was no longer in the log (retention passed it): auto_offset_reset applied.",
       static_cast<int64_t>(is.offset_resets)},
      {"sg_kafka_offset_reset_skipped_messages_total", Type::kCounter,
       "Messages skipped by an offset reset: deleted by retention, or passed over by auto_offset_reset = latest.",
       static_cast<int64_t>(is.offset_reset_skipped)},
      {"sg_kafka_pauses_total", Type::kCounter, "Times consumption was paused (spool above its high watermark, or appends failing).",
       static_cast<int64_t>(is.pauses)},
      {"sg_kafka_consumer_restarts_total", Type::kCounter,
       "Kafka consumers destroyed and created again after a fatal librdkafka error (e.g. FENCED_INSTANCE_ID).",
       static_cast<int64_t>(is.consumer_restarts)},
      {"sg_kafka_paused", Type::kGauge, "1 while consumption is paused (backpressure or spool errors).", is.paused ? 1 : 0},
      {"sg_kafka_assigned_partitions", Type::kGauge, "Partitions assigned to this gateway.", is.assigned_partitions},
      {"sg_kafka_lag_messages", Type::kGauge, "Messages behind the partitions' high watermarks (-1 unknown).", is.lag},
  };
  for (const auto& m : kIngest) {
    w.Family(m.name, m.type, m.help);
    w.Sample(m.name, {}, m.value);
  }
  w.Gauge("sg_kafka_partition_lag_messages", "Messages behind the high watermark, per assigned partition (-1 unknown).");
  for (const auto& [tp, lag] : is.partition_lag) {
    w.Sample("sg_kafka_partition_lag_messages", {{"topic", tp.first}, {"partition", std::to_string(tp.second)}}, lag);
  }

  if (drainer_ != nullptr) {
    auto counters = drainer_->Counters();
    // One family per counter, each with a series per route.
    struct Family {
      const char* name;
      Type type;
      const char* help;
      uint64_t (*value)(const deliver::RouteCounters&);
    };
    static const Family kFamilies[] = {
        {"sg_events_delivered_total", Type::kCounter, "Events accepted by Azure, per route.",
         [](const deliver::RouteCounters& c) { return c.delivered_events; }},
        {"sg_bytes_delivered_total", Type::kCounter, "Request body bytes (JSON) accepted by Azure, per route.",
         [](const deliver::RouteCounters& c) { return c.delivered_bytes; }},
        {"sg_events_failed_total", Type::kCounter, "Events moved to the failed area after Azure refused them, per route.",
         [](const deliver::RouteCounters& c) { return c.failed_events; }},
        {"sg_requests_total", Type::kCounter, "Azure ingestion requests, per route.",
         [](const deliver::RouteCounters& c) { return c.requests; }},
        {"sg_events_time_replaced_total", Type::kCounter,
         "Events whose TimeGenerated Azure replaces by the arrival time (more than 2 days old or 1 day "
         "ahead); their true time is in the timestamp column, per route.",
         [](const deliver::RouteCounters& c) { return c.time_replaced_events; }},
        {"sg_bytes_sent_total", Type::kCounter,
         "Request body bytes accepted by Azure as sent (compressed with gzip), per route.",
         [](const deliver::RouteCounters& c) { return c.delivered_sent_bytes; }},
        {"sg_oversize_splits_total", Type::kCounter,
         "gzip batches split before sending because their compressed body was over the cap, per route.",
         [](const deliver::RouteCounters& c) { return c.oversize_splits; }},
        {"sg_json_cap_fallback", Type::kGauge,
         "1 when Azure refused (413) a gzip body within the 1 MiB cap, so the route sends at most "
         "1 MiB of JSON per request from then on, per route.",
         [](const deliver::RouteCounters& c) { return static_cast<uint64_t>(c.json_cap_fallback ? 1 : 0); }},
        {"sg_requests_in_flight", Type::kGauge, "Azure requests in flight, per route.",
         [](const deliver::RouteCounters& c) { return static_cast<uint64_t>(std::max<int64_t>(c.in_flight, 0)); }},
        {"sg_read_ahead_bytes", Type::kGauge,
         "Shaped row bytes (as allocated) of the batches read from the spool and not yet delivered, per route "
         "([delivery] read_ahead_bytes bounds their sum).",
         [](const deliver::RouteCounters& c) { return c.read_ahead_bytes; }},
        {"sg_unmarked_requests_total", Type::kCounter,
         "Requests sent without an in-flight mark because the spool refused it (a full disk): a crash "
         "while they are out may post them twice, per route.",
         [](const deliver::RouteCounters& c) { return c.unmarked_requests; }},
        {"sg_in_doubt_events", Type::kGauge,
         "Events held aside because their batch was being posted when the gateway stopped, until the "
         "Log Analytics Query API says whether they arrived ([sentinel] dedupe = \"query\"), per route.",
         [](const deliver::RouteCounters& c) { return c.in_doubt_events; }},
    };
    for (const Family& f : kFamilies) {
      w.Family(f.name, f.type, f.help);
      for (const auto& [r, c] : counters) w.Sample(f.name, {{"route", r}}, f.value(c));
    }
    // Per route and field name (the drainer caps the names per route).
    const struct {
      const char* name;
      const char* help;
      std::map<std::string, uint64_t> deliver::RouteCounters::*by_field;
    } kPerField[] = {
        {"sg_undeclared_fields_total",
         "Fields the route's stream does not declare, per route and field: copied whole into the "
         "AdditionalFields column when the stream has it, else left to Azure, which drops them.",
         &deliver::RouteCounters::undeclared_by_field},
        {"sg_unconvertible_values_total",
         "Values no conversion fits to their column's declared type, per route and field: their "
         "original text goes into the AdditionalFields column when the stream has it.",
         &deliver::RouteCounters::unconvertible_by_field},
        {"sg_colliding_fields_total",
         "Values whose flattened name an earlier field of the event holds ({\"a\":{\"b\":1}} beside "
         "a_b), per route and column: whole in the AdditionalFields column under their original "
         "path when the stream has it, else dropped.",
         &deliver::RouteCounters::colliding_by_field},
    };
    for (const auto& f : kPerField) {
      w.Counter(f.name, f.help);
      for (const auto& [r, c] : counters) {
        for (const auto& [field, n] : c.*f.by_field) w.Sample(f.name, {{"route", r}, {"field", field}}, n);
      }
    }
    w.Counter("sg_in_doubt_resolved_total",
              "Events in doubt after an unclean stop, per route and outcome: already_delivered (found by the "
              "Query API, acked), posted (asked, absent), posted_unchecked (dedupe off, no id, or the query failed).");
    for (const auto& [r, c] : counters) {
      w.Sample("sg_in_doubt_resolved_total", {{"route", r}, {"outcome", "already_delivered"}}, c.in_doubt_already_delivered);
      w.Sample("sg_in_doubt_resolved_total", {{"route", r}, {"outcome", "posted"}}, c.in_doubt_posted);
      w.Sample("sg_in_doubt_resolved_total", {{"route", r}, {"outcome", "posted_unchecked"}}, c.in_doubt_posted_unchecked);
    }
    w.Counter("sg_in_doubt_resolution_failures_total",
              "Events in doubt posted without an answer from the Log Analytics Query API, per route and reason "
              "(forbidden: no Log Analytics Reader role; unauthorized; refused; unreachable; token_refused; invalid_answer).");
    for (const auto& [r, c] : counters) {
      for (const auto& [reason, n] : c.in_doubt_failures) {
        w.Sample("sg_in_doubt_resolution_failures_total", {{"route", r}, {"reason", reason}}, n);
      }
    }
    w.Counter("sg_retries_total", "Retried Azure requests, per route and reason.");
    for (const auto& [r, c] : counters) {
      const std::pair<const char*, uint64_t> reasons[] = {{"transport", c.retries_transport},
                                                          {"throttled", c.retries_throttled},
                                                          {"server", c.retries_server},
                                                          {"auth", c.retries_auth},
                                                          {"refused", c.refused_requests}};
      for (const auto& [reason, n] : reasons) w.Sample("sg_retries_total", {{"route", r}, {"reason", reason}}, n);
    }
    w.Gauge("sg_route_state", "1 for the state each route's lane is in.");
    for (const auto& [r, c] : counters) {
      w.Sample("sg_route_state", {{"route", r}, {"state", deliver::RouteStateName(c.state)}}, 1);
    }
    w.Counter("sg_token_renewals_total", "Entra ID token renewals.");
    w.Sample("sg_token_renewals_total", {}, drainer_->token_renewals());
  }
  histogram_.Render(&w);
  if (dcr_watch_ != nullptr) dcr_watch_->RenderMetrics(&w);

  if (spool_ != nullptr) {
    spool::SpoolStats st;
    if (spool_->Stats(&st).ok()) {
      const int64_t now = NowMs();
      w.Gauge("sg_spool_pending_events", "Events waiting in the spool, per route.");
      for (const auto& [r, rs] : st.routes) w.Sample("sg_spool_pending_events", {{"route", r}}, rs.pending_events);
      w.Gauge("sg_spool_pending_bytes", "Payload bytes waiting in the spool, per route.");
      for (const auto& [r, rs] : st.routes) w.Sample("sg_spool_pending_bytes", {{"route", r}}, rs.pending_bytes);
      w.Gauge("sg_spool_oldest_event_age_seconds", "Age of the oldest pending event, per route (0 when empty).");
      for (const auto& [r, rs] : st.routes) {
        double age = rs.oldest_enqueued_ms == 0 ? 0.0 : static_cast<double>(now - rs.oldest_enqueued_ms) / 1000.0;
        w.Sample("sg_spool_oldest_event_age_seconds", {{"route", r}}, age);
      }
      const struct {
        const char* name;
        const char* help;
        uint64_t value;
      } kSpool[] = {
          {"sg_spool_failed_batches", "Batches in the failed area.", st.failed_batches},
          {"sg_spool_failed_events", "Events in the failed area.", st.failed_events},
          {"sg_spool_used_bytes", "Pending payload bytes, bounded by max_bytes (the watermarks count these).",
           st.used_bytes},
          {"sg_spool_failed_bytes", "Payload bytes in the failed area (its own budget; never pauses ingest).",
           st.failed_bytes},
          {"sg_spool_failed_max_bytes", "The failed area's budget: above it, drop or requeue failed batches.",
           st.failed_max_bytes},
          {"sg_spool_max_bytes", "Configured spool capacity.", st.max_bytes},
          {"sg_spool_disk_bytes", "Bytes the spool occupies on disk.", st.disk_bytes},
      };
      for (const auto& m : kSpool) {
        w.Gauge(m.name, m.help);
        w.Sample(m.name, {}, m.value);
      }
    }
  }
  return w.text();
}

Readiness GatewayImpl::Ready() {
  Readiness r;
  if (ingest_ != nullptr) {
    ingest::IngestHealth h = ingest_->Health();
    if (!h.healthy) r.reasons.push_back("kafka: " + h.reason);
  }
  if (drainer_ != nullptr) {
    deliver::DrainerHealth h = drainer_->Health();
    if (h.degraded) r.reasons.push_back("azure: " + h.reason);
  }
  if (spool_ != nullptr && spool_->AboveHighWatermark()) {
    r.reasons.push_back(fmt::format("spool: above its high watermark ({} of {} bytes); consumption is paused",
                                    spool_->UsedBytes(), config_.spool.max_bytes));
  }
  r.ready = r.reasons.empty();
  return r;
}

}  // namespace

Status Gateway::Start(const config::GatewayConfig& config, std::unique_ptr<Gateway>* out) {
  auto g = std::make_unique<GatewayImpl>(config);
  Status s = g->Init();
  if (!s.ok()) return s;
  *out = std::move(g);
  return Status::OK();
}

}  // namespace sg
