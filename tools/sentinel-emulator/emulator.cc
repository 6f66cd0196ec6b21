// The Sentinel emulator: its lifecycle, replies, injected faults, rate limits and stats; the
// endpoints live beside it (emulator_impl.h says where).
#include "emulator_impl.h"

namespace sg::emulator {

void Emulator::Impl::Reply(httplib::Response& res, const Answer& a, bool data_collector) {
  res.status = a.status;
  if (a.retry_after_s >= 0) res.set_header("Retry-After", std::to_string(a.retry_after_s));
  if (a.status >= 400) {
    json body;
    if (data_collector) {
      body = {{"Error", a.code}, {"Message", a.message}};
    } else {
      res.set_header("x-ms-error-code", a.code);
      body = {{"error", {{"code", a.code}, {"message", a.message}}}};
    }
    res.set_content(body.dump(), "application/json");
  }
}

bool Emulator::Impl::ApplyFaults(httplib::Response& res, bool ingestion, bool data_collector,
                                 const std::string& stream) {
  std::unique_lock<std::mutex> lock(mu);
  Faults f = faults;
  Clock::time_point now = Clock::now();
  if (f.latency_ms > 0) {
    uint64_t gen = fault_generation;
    cv.wait_until(lock, now + std::chrono::milliseconds(f.latency_ms),
                  [&] { return stopping || fault_generation != gen; });
    now = Clock::now();
  }
  if (f.outage_status != 0 && now < f.outage_until &&
      (f.outage_stream.empty() || f.outage_stream == stream)) {
    Answer a{f.outage_status,
             f.outage_code.empty() ? CodeForStatus(f.outage_status) : f.outage_code,
             "emulated outage", f.outage_retry_after_s};
    lock.unlock();
    Reply(res, a, data_collector);
    return true;
  }
  if (!ingestion) return false;
  std::uniform_real_distribution<double> u(0, 1);
  bool hang = false;
  if (faults.hang > 0) {
    --faults.hang;
    hang = true;
  } else if (f.hang_rate > 0 && u(rng) < f.hang_rate) {
    hang = true;
  }
  if (hang) {
    ++hung_requests;
    uint64_t gen = fault_generation;
    cv.wait_until(lock, now + std::chrono::seconds(f.hang_seconds),
                  [&] { return stopping || fault_generation != gen; });
    lock.unlock();
    Reply(res, Answer{504, "GatewayTimeout", "emulated hang", -1}, data_collector);
    return true;
  }
  bool close = false;
  if (faults.close > 0) {
    --faults.close;
    close = true;
  } else if (f.close_rate > 0 && u(rng) < f.close_rate) {
    close = true;
  }
  if (close) {
    ++closed_connections;
    lock.unlock();
    // Headers go out, then the connection drops before the promised body: the client sees a
    // transfer cut in the middle. Nothing is recorded.
    res.status = 500;
    res.set_content_provider(
        1024, "application/json",
        [](size_t, size_t, httplib::DataSink&) { return false; });
    return true;
  }
  if (f.failure_rate > 0 && u(rng) < f.failure_rate) {
    lock.unlock();
    Reply(res,
          Answer{f.failure_status,
                 f.failure_code.empty() ? CodeForStatus(f.failure_status) : f.failure_code,
                 "emulated failure", -1},
          data_collector);
    return true;
  }
  return false;
}

std::optional<Answer> Emulator::Impl::CheckRate(const std::string& key, uint64_t bytes, const std::string& connection) {
  if (!options.rate_limits) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu);
  auto refusal = limiter->Check(key, bytes, connection, Clock::now());
  if (!refusal) return std::nullopt;
  return Answer{429, "TooManyRequests", refusal->message, refusal->retry_after_s};
}

void Emulator::Impl::DelayAnswer() {
  int64_t ms;
  {
    std::lock_guard<std::mutex> lock(mu);
    ms = faults.answer_delay_ms;
  }
  if (ms <= 0) return;
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping; });
}

std::string Emulator::Impl::Conn(const httplib::Request& req) {
  return req.remote_addr + ":" + std::to_string(req.remote_port);
}

json Emulator::Impl::StatsJson() const {
  std::lock_guard<std::mutex> lock(mu);
  json by_status = json::object();
  for (auto [status, n] : requests_by_status) by_status[std::to_string(status)] = n;
  uint64_t total_rows = 0;
  for (auto& [t, n] : rows) total_rows += n;
  json drops = json::object();
  for (const auto& [stream, d] : dropped) {
    drops[stream] = {{"undeclared_keys", d.undeclared},
                     {"mismatched_values", d.mismatched},
                     {"columns_dropped", d.undeclared + d.mismatched},
                     {"time_generated_replaced", d.time_replaced},
                     {"columns", d.columns.empty() ? json::object() : json(d.columns)}};
  }
  return json{{"rows", rows.empty() ? json::object() : json(rows)},
              {"dropped", drops},
              {"log_errors", log_errors},
              {"rows_total", total_rows},
              {"requests", by_status},
              {"requests_total", requests_total},
              {"early_retries", limiter->early_retries()},
              {"bytes_accepted", bytes_accepted},
              {"accepted_requests", accepted_requests.empty() ? json::array() : json(accepted_requests)},
              {"largest_body_sent", largest_sent},
              {"largest_body_inflated", largest_inflated},
              {"tokens_issued", tokens_issued},
              {"closed_connections", closed_connections},
              {"hung_requests", hung_requests}};
}

Status Emulator::Impl::SetFaults(const json& j) {
  std::lock_guard<std::mutex> lock(mu);
  Status st = MergeFaults(j, Clock::now(), &faults);  // faults.h; all or nothing
  if (!st.ok()) return st;
  // Token faults act on the issued tokens, which live here.
  try {
    token_lifetime_s = j.value("token_lifetime_s", token_lifetime_s);
    if (j.value("expire_tokens", false)) {
      Clock::time_point now = Clock::now();
      for (auto& [t, issued] : tokens) issued.expires = std::min(issued.expires, now);
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("bad fault: ") + e.what());
  }
  return Status::OK();
}

void Emulator::Impl::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu);
  faults = Faults();
  token_lifetime_s = options.token_lifetime_s;
  ++fault_generation;
  cv.notify_all();
}


Emulator::Emulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Emulator::~Emulator() { Stop(); }

Status Emulator::Start(const EmulatorOptions& options, std::unique_ptr<Emulator>* out) {
  auto impl = std::make_unique<Impl>();
  Impl* d = impl.get();
  d->options = options;
  d->token_lifetime_s = options.token_lifetime_s;
  d->limiter = std::make_unique<RateLimiter>(RateLimits{options.rate_requests, options.rate_bytes, options.rate_window,
                                                        options.early_margin, options.early_grace});
  if (options.tls_dir.empty()) return Status::InvalidArgument("--tls-dir is required");
  Status s = EnsureTlsFiles(options.tls_dir, &d->tls);
  if (!s.ok()) return s;
  std::string key;
  if (!azure::Base64Decode(options.shared_key, &key) || key.empty()) {
    return Status::InvalidArgument("the shared key is not valid base64");
  }
  if (!options.schema_file.empty()) {
    s = azure::LoadStreamSchemas(options.schema_file, &d->schemas);
    if (!s.ok()) return s;
    s = LoadDcrResource(options, &d->dcr);
    if (!s.ok()) return s;
    const json& flows = d->dcr["properties"].contains("dataFlows") ? d->dcr["properties"]["dataFlows"] : json();
    if (flows.is_array()) {
      for (const auto& f : flows) {
        if (!f.is_object() || !f.contains("outputStream") || !f["outputStream"].is_string()) continue;
        for (const auto& st : f.value("streams", json::array())) {
          if (st.is_string()) d->output_tables[st.get<std::string>()] = TableForStream(f["outputStream"].get<std::string>());
        }
      }
    }
  }
  if (!options.record_file.empty()) {
    d->record = std::fopen(options.record_file.c_str(), "a");
    if (d->record == nullptr) return Status::IOError("cannot open record file " + options.record_file);
  }
  d->server = std::make_unique<httplib::SSLServer>(d->tls.cert.c_str(), d->tls.key.c_str());
  if (!d->server->is_valid()) return Status::IOError("cannot load TLS certificate from " + options.tls_dir);
  httplib::SSLServer& svr = *d->server;
  int threads = std::max(4, options.threads);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr.set_payload_max_length(kMaxInflatedBody + 1024 * 1024);
  svr.set_keep_alive_max_count(1'000'000);
  // Short: an idle keep-alive connection holds a server thread, and stop() waits for it.
  svr.set_keep_alive_timeout(5);
  svr.set_read_timeout(30, 0);
  svr.set_write_timeout(30, 0);

  // A request target may come in absolute form (RFC 9112 section 3.2.2: "POST https://host/path"),
  // which Azure's front ends accept and Fluent Bit's azure_logs_ingestion output sends.
  const std::string abs = R"((?:https?://[^/]+)?)";
  svr.Post(abs + R"(/([^/]+)/oauth2/v2\.0/token)",
           [d](const httplib::Request& req, httplib::Response& res) { d->Token(req, res); });
  // The OpenID Connect discovery document that MSAL-based clients (azure-identity's
  // ClientSecretCredential) read before asking for a token. Source: Learn "OpenID Connect on the
  // Microsoft identity platform", "Find your app's OpenID configuration document URI"
  // (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc).
  svr.Get(abs + R"(/([^/]+)/v2\.0/\.well-known/openid-configuration)",
          [d](const httplib::Request& req, httplib::Response& res) {
            const std::string tenant = req.matches[1];
            const std::string base = fmt::format("https://{}:{}", d->options.host, d->port);
            const std::string root = base + "/" + tenant;
            res.set_content(json{{"issuer", base + "/" + tenant + "/v2.0"},
                                 {"token_endpoint", root + "/oauth2/v2.0/token"},
                                 {"authorization_endpoint", root + "/oauth2/v2.0/authorize"},
                                 {"jwks_uri", root + "/discovery/v2.0/keys"},
                                 {"response_types_supported", json::array({"code", "id_token", "token"})},
                                 {"subject_types_supported", json::array({"pairwise"})},
                                 {"id_token_signing_alg_values_supported", json::array({"RS256"})},
                                 {"token_endpoint_auth_methods_supported",
                                  json::array({"client_secret_post", "client_secret_basic"})},
                                 {"tenant_region_scope", "NA"}}
                                .dump(),
                            "application/json");
          });
  // An ARM resource id: /subscriptions/{}/resourceGroups/{}/providers/{}/dataCollectionRules/{},
  // eight segments matched loosely since ARM ids are case-insensitive (ReadDcr compares them).
  svr.Get(abs + R"(((?:/[^/?]+){8}))",
          [d](const httplib::Request& req, httplib::Response& res) { d->ReadDcr(req, res); });
  svr.Get(abs + "/metadata/identity/oauth2/token",
          [d](const httplib::Request& req, httplib::Response& res) { d->Imds(req, res); });
  svr.Post(abs + R"(/dataCollectionRules/([^/]+)/streams/([^/]+))",
           [d](const httplib::Request& req, httplib::Response& res) { d->LogsIngestion(req, res); });
  svr.Post(abs + R"(/v1/workspaces/([^/]+)/query)",
           [d](const httplib::Request& req, httplib::Response& res) { d->Query(req, res); });
  svr.Post(abs + "/api/logs",
           [d](const httplib::Request& req, httplib::Response& res) { d->DataCollector(req, res); });
  svr.Get("/emulator/stats", [d](const httplib::Request&, httplib::Response& res) {
    res.set_content(d->StatsJson().dump(), "application/json");
  });
  svr.Post("/emulator/faults", [d](const httplib::Request& req, httplib::Response& res) {
    Status st = d->SetFaults(json::parse(req.body, nullptr, false));
    res.status = st.ok() ? 204 : 400;
    if (!st.ok()) res.set_content(json{{"error", st.message()}}.dump(), "application/json");
  });
  svr.Delete("/emulator/faults", [d](const httplib::Request&, httplib::Response& res) {
    d->ClearFaults();
    res.status = 204;
  });
  svr.set_logger([d](const httplib::Request& req, const httplib::Response& res) {
    if (req.path.rfind("/emulator/", 0) == 0) return;
    std::lock_guard<std::mutex> lock(d->mu);
    ++d->requests_by_status[res.status];
    ++d->requests_total;
    d->limiter->NoteAnswer(Impl::Conn(req), Clock::now());
  });

  if (options.port == 0) {
    d->port = svr.bind_to_any_port(options.host);
    if (d->port <= 0) return Status::IOError("cannot listen on " + options.host);
  } else {
    if (!svr.bind_to_port(options.host, options.port)) {
      return Status::IOError(fmt::format("cannot listen on {}:{}", options.host, options.port));
    }
    d->port = options.port;
  }
  d->thread = std::thread([d] { d->server->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it so Stop() can never be lost.
  for (int i = 0; i < 5000 && !svr.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!svr.is_running()) {
    svr.stop();
    d->thread.detach();
    return Status::IOError("the HTTPS server did not start");
  }
  out->reset(new Emulator(std::move(impl)));
  return Status::OK();
}

int Emulator::port() const { return impl_->port; }

std::string Emulator::base_url() const {
  return fmt::format("https://{}:{}", impl_->options.host, impl_->port);
}

std::string Emulator::ca_file() const { return impl_->tls.ca; }

nlohmann::json Emulator::Stats() const { return impl_->StatsJson(); }

Status Emulator::SetFaults(const nlohmann::json& faults) { return impl_->SetFaults(faults); }

void Emulator::ClearFaults() { impl_->ClearFaults(); }

void Emulator::Stop() {
  if (!impl_ || !impl_->server) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->server.reset();
}

}  // namespace sg::emulator
