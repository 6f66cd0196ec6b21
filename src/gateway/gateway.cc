#include "sentinel_gateway/gateway.h"

#include <atomic>
#include <chrono>
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
#include "sentinel_gateway/spool.h"
#include "sentinel_gateway/thread_name.h"
#include "wiring.h"

namespace sg {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class GatewayImpl final : public Gateway {
 public:
  explicit GatewayImpl(config::GatewayConfig config) : config_(std::move(config)) {}
  ~GatewayImpl() override { Stop(); }

  Status Init() {
    SpoolOptions so;
    so.max_bytes = config_.spool.max_bytes;
    so.high_watermark = config_.spool.high_watermark;
    so.low_watermark = config_.spool.low_watermark;
    so.failed_max_bytes = config_.spool.failed_max_bytes;
    // A lock held for a moment (an older sentinel-spool's probe, the previous gateway still
    // stopping) is waited for, bounded, instead of exiting 3, which systemd does not restart.
    so.lock_wait_ms = 3000;
    Status s = Spool::Open(so, config_.spool.path, &spool_);
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

    IngestOptions iopts;
    s = BuildIngestOptions(config_, &iopts);
    if (!s.ok()) return s;
    // New events wake the drainer at once, so a lane waiting for its linger time adds no latency.
    iopts.on_spooled = [this] { drainer_->Notify(); };
    s = Ingest::Create(iopts, spool_.get(), &ingest_);
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
  Spool* spool() override { return spool_.get(); }
  Ingest* ingest() override { return ingest_.get(); }
  deliver::Drainer* drainer() override { return drainer_.get(); }

 private:
  Status StartMetricsServer() {
    const std::string& listen = config_.metrics.listen;
    size_t colon = listen.rfind(':');
    std::string host = listen.substr(0, colon);
    int port = std::atoi(listen.c_str() + colon + 1);
    http_ = std::make_unique<httplib::Server>();
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
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<control::ControlServer> control_;
  std::unique_ptr<DcrWatch> dcr_watch_;
  std::unique_ptr<deliver::Drainer> drainer_;
  std::unique_ptr<Ingest> ingest_;
  RequestHistogram histogram_;
  std::unique_ptr<httplib::Server> http_;
  std::thread http_thread_;
  std::string metrics_address_;
  std::atomic<bool> stopped_{false};
};

std::string GatewayImpl::Metrics() {
  std::string o;
  auto metric = [&](const char* name, const char* type, const char* help) {
    o += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  const IngestStats is = ingest_ ? ingest_->stats() : IngestStats();
  const struct {
    const char* name;
    const char* type;
    const char* help;
    int64_t value;
  } kIngest[] = {
      {"sg_events_consumed_total", "counter", "Kafka messages consumed.", static_cast<int64_t>(is.consumed)},
      {"sg_events_spooled_total", "counter", "Events appended (fsync'd) to the spool.", static_cast<int64_t>(is.spooled)},
      {"sg_events_quarantined_total", "counter", "Bad messages moved to the failed area at ingest.",
       static_cast<int64_t>(is.quarantined)},
      {"sg_spool_appends_total", "counter", "Successful spool appends (fsync'd batches).", static_cast<int64_t>(is.appends)},
      {"sg_spool_append_failures_total", "counter", "Failed spool appends (each retried).",
       static_cast<int64_t>(is.append_failures)},
      {"sg_kafka_commits_total", "counter", "Kafka offset commits.", static_cast<int64_t>(is.commits)},
      {"sg_kafka_commit_failures_total", "counter", "Failed Kafka offset commits.", static_cast<int64_t>(is.commit_failures)},
      {"sg_kafka_rebalances_total", "counter", "Partition assignment changes.", static_cast<int64_t>(is.rebalances)},
      {"sg_kafka_skipped_duplicates_total", "counter", "Re-delivered messages this spool already held (not spooled again).",
       static_cast<int64_t>(is.skipped_duplicates)},
      {"sg_kafka_offset_rewinds_total", "counter",
       "Partitions whose log ended below the spooled offset (topic recreated or truncated), consumed again.",
       static_cast<int64_t>(is.offset_rewinds)},
      {"sg_kafka_offset_resets_total", "counter",
       "Partitions whose position was no longer in the log (retention passed it): auto_offset_reset applied.",
       static_cast<int64_t>(is.offset_resets)},
      {"sg_kafka_offset_reset_skipped_messages_total", "counter",
       "Messages skipped by an offset reset: deleted by retention, or passed over by auto_offset_reset = latest.",
       static_cast<int64_t>(is.offset_reset_skipped)},
      {"sg_kafka_pauses_total", "counter", "Times consumption was paused (spool above its high watermark, or appends failing).",
       static_cast<int64_t>(is.pauses)},
      {"sg_kafka_consumer_restarts_total", "counter",
       "Kafka consumers destroyed and created again after a fatal librdkafka error (e.g. FENCED_INSTANCE_ID).",
       static_cast<int64_t>(is.consumer_restarts)},
      {"sg_kafka_paused", "gauge", "1 while consumption is paused (backpressure or spool errors).", is.paused ? 1 : 0},
      {"sg_kafka_assigned_partitions", "gauge", "Partitions assigned to this gateway.", is.assigned_partitions},
      {"sg_kafka_lag_messages", "gauge", "Messages behind the partitions' high watermarks (-1 unknown).", is.lag},
  };
  for (const auto& m : kIngest) {
    metric(m.name, m.type, m.help);
    o += fmt::format("{} {}\n", m.name, m.value);
  }
  metric("sg_kafka_partition_lag_messages", "gauge", "Messages behind the high watermark, per assigned partition (-1 unknown).");
  for (const auto& [tp, lag] : is.partition_lag) {
    o += fmt::format("sg_kafka_partition_lag_messages{{topic=\"{}\",partition=\"{}\"}} {}\n", tp.first, tp.second, lag);
  }

  if (drainer_ != nullptr) {
    auto counters = drainer_->Counters();
    // One family per counter, each with a series per route.
    struct Family {
      const char* name;
      const char* type;
      const char* help;
      uint64_t (*value)(const deliver::RouteCounters&);
    };
    static const Family kFamilies[] = {
        {"sg_events_delivered_total", "counter", "Events accepted by Azure, per route.",
         [](const deliver::RouteCounters& c) { return c.delivered_events; }},
        {"sg_bytes_delivered_total", "counter", "Request body bytes (JSON) accepted by Azure, per route.",
         [](const deliver::RouteCounters& c) { return c.delivered_bytes; }},
        {"sg_events_failed_total", "counter", "Events moved to the failed area after Azure refused them, per route.",
         [](const deliver::RouteCounters& c) { return c.failed_events; }},
        {"sg_requests_total", "counter", "Azure ingestion requests, per route.",
         [](const deliver::RouteCounters& c) { return c.requests; }},
        {"sg_events_time_replaced_total", "counter",
         "Events whose TimeGenerated Azure replaces by the arrival time (more than 2 days old or 1 day "
         "ahead); their true time is in the timestamp column, per route.",
         [](const deliver::RouteCounters& c) { return c.time_replaced_events; }},
        {"sg_bytes_sent_total", "counter",
         "Request body bytes accepted by Azure as sent (compressed with gzip), per route.",
         [](const deliver::RouteCounters& c) { return c.delivered_sent_bytes; }},
        {"sg_oversize_splits_total", "counter",
         "gzip batches split before sending because their compressed body was over the cap, per route.",
         [](const deliver::RouteCounters& c) { return c.oversize_splits; }},
        {"sg_json_cap_fallback", "gauge",
         "1 when Azure refused (413) a gzip body within the 1 MiB cap, so the route sends at most "
         "1 MiB of JSON per request from then on, per route.",
         [](const deliver::RouteCounters& c) { return static_cast<uint64_t>(c.json_cap_fallback ? 1 : 0); }},
        {"sg_requests_in_flight", "gauge", "Azure requests in flight, per route.",
         [](const deliver::RouteCounters& c) { return static_cast<uint64_t>(std::max<int64_t>(c.in_flight, 0)); }},
    };
    for (const Family& f : kFamilies) {
      metric(f.name, f.type, f.help);
      for (const auto& [r, c] : counters) o += fmt::format("{}{{route=\"{}\"}} {}\n", f.name, r, f.value(c));
    }
    // Per route and field name (the drainer caps the names per route).
    auto label = [](const std::string& v) {
      std::string out;
      for (char ch : v) {
        if (ch == '\\' || ch == '"') out.push_back('\\');
        if (ch == '\n') {
          out += "\\n";
          continue;
        }
        out.push_back(ch);
      }
      return out;
    };
    metric("sg_undeclared_fields_total", "counter",
           "Fields the route's stream does not declare, per route and field: copied whole into the "
           "AdditionalFields column when the stream has it, else left to Azure, which drops them.");
    for (const auto& [r, c] : counters) {
      for (const auto& [field, n] : c.undeclared_by_field) {
        o += fmt::format("sg_undeclared_fields_total{{route=\"{}\",field=\"{}\"}} {}\n", r, label(field), n);
      }
    }
    metric("sg_unconvertible_values_total", "counter",
           "Values no conversion fits to their column's declared type, per route and field: their "
           "original text goes into the AdditionalFields column when the stream has it.");
    for (const auto& [r, c] : counters) {
      for (const auto& [field, n] : c.unconvertible_by_field) {
        o += fmt::format("sg_unconvertible_values_total{{route=\"{}\",field=\"{}\"}} {}\n", r, label(field), n);
      }
    }
    metric("sg_colliding_fields_total", "counter",
           "Values whose flattened name an earlier field of the event holds ({\"a\":{\"b\":1}} beside "
           "a_b), per route and column: whole in the AdditionalFields column under their original "
           "path when the stream has it, else dropped.");
    for (const auto& [r, c] : counters) {
      for (const auto& [field, n] : c.colliding_by_field) {
        o += fmt::format("sg_colliding_fields_total{{route=\"{}\",field=\"{}\"}} {}\n", r, label(field), n);
      }
    }
    metric("sg_retries_total", "counter", "Retried Azure requests, per route and reason.");
    for (const auto& [r, c] : counters) {
      const std::pair<const char*, uint64_t> reasons[] = {{"transport", c.retries_transport},
                                                          {"throttled", c.retries_throttled},
                                                          {"server", c.retries_server},
                                                          {"auth", c.retries_auth},
                                                          {"refused", c.refused_requests}};
      for (const auto& [reason, n] : reasons) {
        o += fmt::format("sg_retries_total{{route=\"{}\",reason=\"{}\"}} {}\n", r, reason, n);
      }
    }
    metric("sg_route_state", "gauge", "1 for the state each route's lane is in.");
    for (const auto& [r, c] : counters) {
      o += fmt::format("sg_route_state{{route=\"{}\",state=\"{}\"}} 1\n", r, deliver::RouteStateName(c.state));
    }
    metric("sg_token_renewals_total", "counter", "Entra ID token renewals.");
    o += fmt::format("sg_token_renewals_total {}\n", drainer_->token_renewals());
  }
  histogram_.Render(&o);
  if (dcr_watch_ != nullptr) dcr_watch_->RenderMetrics(&o);

  if (spool_ != nullptr) {
    SpoolStats st;
    if (spool_->Stats(&st).ok()) {
      const int64_t now = NowMs();
      metric("sg_spool_pending_events", "gauge", "Events waiting in the spool, per route.");
      for (const auto& [r, rs] : st.routes) o += fmt::format("sg_spool_pending_events{{route=\"{}\"}} {}\n", r, rs.pending_events);
      metric("sg_spool_pending_bytes", "gauge", "Payload bytes waiting in the spool, per route.");
      for (const auto& [r, rs] : st.routes) o += fmt::format("sg_spool_pending_bytes{{route=\"{}\"}} {}\n", r, rs.pending_bytes);
      metric("sg_spool_oldest_event_age_seconds", "gauge", "Age of the oldest pending event, per route (0 when empty).");
      for (const auto& [r, rs] : st.routes) {
        double age = rs.oldest_enqueued_ms == 0 ? 0.0 : static_cast<double>(now - rs.oldest_enqueued_ms) / 1000.0;
        o += fmt::format("sg_spool_oldest_event_age_seconds{{route=\"{}\"}} {:.3f}\n", r, age);
      }
      metric("sg_spool_failed_batches", "gauge", "Batches in the failed area.");
      o += fmt::format("sg_spool_failed_batches {}\n", st.failed_batches);
      metric("sg_spool_failed_events", "gauge", "Events in the failed area.");
      o += fmt::format("sg_spool_failed_events {}\n", st.failed_events);
      metric("sg_spool_used_bytes", "gauge", "Pending payload bytes, bounded by max_bytes (the watermarks count these).");
      o += fmt::format("sg_spool_used_bytes {}\n", st.used_bytes);
      metric("sg_spool_failed_bytes", "gauge", "Payload bytes in the failed area (its own budget; never pauses ingest).");
      o += fmt::format("sg_spool_failed_bytes {}\n", st.failed_bytes);
      metric("sg_spool_failed_max_bytes", "gauge", "The failed area's budget: above it, drop or requeue failed batches.");
      o += fmt::format("sg_spool_failed_max_bytes {}\n", st.failed_max_bytes);
      metric("sg_spool_max_bytes", "gauge", "Configured spool capacity.");
      o += fmt::format("sg_spool_max_bytes {}\n", st.max_bytes);
      metric("sg_spool_disk_bytes", "gauge", "Bytes the spool occupies on disk.");
      o += fmt::format("sg_spool_disk_bytes {}\n", st.disk_bytes);
    }
  }
  return o;
}

Readiness GatewayImpl::Ready() {
  Readiness r;
  if (ingest_ != nullptr) {
    IngestHealth h = ingest_->health();
    if (!h.healthy) r.reasons.push_back("kafka: " + h.reason);
  }
  if (drainer_ != nullptr) {
    deliver::DrainerHealth h = drainer_->health();
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
