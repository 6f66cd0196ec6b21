#include "dcr_watch.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "sentinel_gateway/azure/builtin_streams.h"
#include "sentinel_gateway/azure/dcr_coverage.h"
#include "sentinel_gateway/azure/dcr_reader.h"
#include "sentinel_gateway/thread_name.h"

namespace sg {

struct DcrWatch::Impl {
  std::unique_ptr<azure::DcrReader> reader;
  std::shared_ptr<deliver::SchemaBoard> board;
  std::vector<std::pair<std::string, std::string>> routes;  // route, target
  std::string event_id_field;
  std::chrono::milliseconds refresh{3'600'000};

  std::atomic<bool> cancel{false};
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread thread;

  // Guarded by mu; what the metrics show.
  bool from_dcr = false;
  uint64_t reads_ok = 0, reads_failed = 0;
  bool failure_logged = false;
  std::map<std::string, std::vector<azure::FieldCoverage>> report;  // route -> fields not declared
  std::set<std::string> missing;                                    // routes whose stream is absent
  std::map<std::string, std::string> logged;                        // route -> the report last logged

  void ReadOnce() {
    azure::DeployedDcr dcr;
    Status s = reader->Read(&dcr);
    std::lock_guard<std::mutex> lock(mu);
    if (!s.ok()) {
      ++reads_failed;
      if (!failure_logged) {
        failure_logged = true;
        spdlog::warn("dcr: cannot read the deployed DCR ({}); {}", s.ToString(),
                     from_dcr ? "keeping the streams of the last read"
                              : "shaping to the built-in schema (config/azure's DCR), which may differ from the "
                                "deployed one: grant the gateway's identity Reader on the DCR");
      }
      return;
    }
    ++reads_ok;
    if (failure_logged) spdlog::info("dcr: the deployed DCR is readable again");
    failure_logged = false;
    std::map<std::string, std::shared_ptr<const azure::StreamSchema>> schemas;
    std::map<std::string, std::vector<azure::FieldCoverage>> new_report;
    std::set<std::string> new_missing;
    const auto& builtin = azure::BuiltinStreamSchemas();
    std::set<std::string> skip = {"TimeGenerated", "AdditionalFields"};
    if (event_id_field != "sg_event_id") skip.insert("sg_event_id");
    for (const auto& [route, target] : routes) {
      auto it = dcr.streams.find(target);
      if (it == dcr.streams.end()) {
        new_missing.insert(route);
        if (missing.count(route) == 0) {
          spdlog::error("dcr: table {}: the deployed DCR declares no stream {}; Azure refuses its requests "
                        "(InvalidStream) and its events wait in the spool: add the stream to the DCR",
                        route, target);
        }
        continue;
      }
      auto ours = builtin.find(target);
      if (ours == builtin.end()) continue;  // not a Citrix table we know the fields of
      std::vector<azure::FieldCoverage> lossy;
      for (auto& f : azure::CompareStreams(ours->second, &it->second, skip)) {
        if (f.fate != azure::FieldFate::kDeclared) lossy.push_back(std::move(f));
      }
      std::string text;
      for (const auto& f : lossy) {
        text += fmt::format("{}{} ({}, {})", text.empty() ? "" : ", ", f.field, f.why,
                            f.fate == azure::FieldFate::kLost ? "dropped by Azure" : "kept in AdditionalFields");
      }
      if (logged[route] != text || !from_dcr) {
        if (lossy.empty()) {
          spdlog::info("dcr: table {}: stream {} declares every Citrix field", route, target);
        } else {
          spdlog::warn("dcr: table {}: stream {} does not declare {} Citrix field(s): {}", route, target,
                       lossy.size(), text);
        }
        logged[route] = text;
      }
      new_report[route] = std::move(lossy);
    }
    if (!from_dcr) {
      spdlog::info("dcr: shaping to the deployed DCR {} (immutable id {}), read back every {}s", dcr.resource_id,
                   dcr.immutable_id, refresh.count() / 1000);
    }
    from_dcr = true;
    report = std::move(new_report);
    missing = std::move(new_missing);
    // Every stream the DCR declares, not only the configured routes': a lane made later for a
    // requeued table shapes to its stream too.
    for (const auto& [stream, schema] : dcr.streams) {
      schemas[stream] = std::make_shared<const azure::StreamSchema>(schema);
    }
    board->Publish(std::move(schemas));
  }

  void Loop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping) {
      cv.wait_for(lock, refresh, [&] { return stopping; });
      if (stopping) break;
      lock.unlock();
      ReadOnce();
      lock.lock();
    }
  }
};

DcrWatch::DcrWatch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DcrWatch::~DcrWatch() { Stop(); }

Status DcrWatch::Start(const config::GatewayConfig& c, const azure::AzureOptions& azure,
                       deliver::DrainerOptions* dopts, std::unique_ptr<DcrWatch>* out) {
  out->reset();
  const config::SentinelConfig& s = c.sentinel;
  if (s.dcr_resource_id.empty() || azure.api != azure::Api::kLogsIngestion) return Status::OK();
  auto impl = std::make_unique<Impl>();
  Status st = azure::DcrReader::Create(azure, s.management_endpoint, s.dcr_resource_id, &impl->cancel,
                                       &impl->reader);
  if (!st.ok()) return st;
  impl->board = std::make_shared<deliver::SchemaBoard>();
  impl->refresh = s.dcr_refresh;
  impl->event_id_field = c.delivery.event_id_field;
  for (const auto& r : dopts->routes) impl->routes.emplace_back(r.route, r.target);
  dopts->schema_board = impl->board;
  impl->ReadOnce();
  Impl* d = impl.get();
  impl->thread = std::thread([d] {
    NameThisThread("sg-dcr-watch");
    d->Loop();
  });
  out->reset(new DcrWatch(std::move(impl)));
  return Status::OK();
}

void DcrWatch::Stop() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cancel = true;
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void DcrWatch::RenderMetrics(PrometheusWriter* o) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  o->Gauge("sg_dcr_schema_source",
           "1 for what rows are shaped to: the deployed DCR read back (dcr) or the built-in schema (builtin).");
  o->Sample("sg_dcr_schema_source", {{"source", impl_->from_dcr ? "dcr" : "builtin"}}, 1);
  o->Counter("sg_dcr_reads_total", "Reads of the deployed DCR through Azure Resource Manager, by result.");
  o->Sample("sg_dcr_reads_total", {{"result", "ok"}}, impl_->reads_ok);
  o->Sample("sg_dcr_reads_total", {{"result", "failed"}}, impl_->reads_failed);
  o->Gauge("sg_dcr_fields",
           "1 for each Citrix field the deployed DCR does not declare (or declares with a type its values do "
           "not fit), per route: fate catch_all (kept in AdditionalFields) or lost (dropped by Azure).");
  for (const auto& [route, fields] : impl_->report) {
    for (const auto& f : fields) {
      o->Sample("sg_dcr_fields", {{"route", route}, {"field", f.field}, {"fate", azure::FieldFateName(f.fate)}}, 1);
    }
  }
  o->Gauge("sg_dcr_stream_missing", "1 for each route whose stream the deployed DCR does not declare.");
  for (const auto& route : impl_->missing) o->Sample("sg_dcr_stream_missing", {{"route", route}}, 1);
}

}  // namespace sg
