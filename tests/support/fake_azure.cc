#include "fake_azure.h"

#include "sentinel_gateway/azure/compression.h"

namespace sg::testing {

namespace {

class FakeIngestionClient : public azure::IngestionClient {
 public:
  FakeIngestionClient(FakeAzure* azure, const std::atomic<bool>* cancel) : azure_(azure), cancel_(cancel) {}

  azure::PostResult Post(const std::string& target, const std::string& body) override {
    return azure_->Answer(target, body, false, cancel_);
  }
  azure::PostResult PostPrepared(const std::string& target, const std::string& payload, bool gzipped) override {
    return azure_->Answer(target, payload, gzipped, cancel_);
  }
  azure::Api api() const override { return azure_->api(); }
  size_t max_body_bytes() const override {
    return azure_->api() == azure::Api::kLogsIngestion ? azure::kLogsIngestionMaxBody : azure::kDataCollectorMaxBody;
  }

 private:
  FakeAzure* azure_;
  const std::atomic<bool>* cancel_;
};

class FakePresenceQuery : public deliver::PresenceQuery {
 public:
  explicit FakePresenceQuery(FakeAzure* azure) : azure_(azure) {}
  Status PresentIds(const std::string&, const std::string&, const std::vector<std::string>& ids, int64_t,
                    std::set<std::string>* present) override {
    return azure_->PresentIds(ids, present);
  }

 private:
  FakeAzure* azure_;
};

}  // namespace

FakeAzure::FakeAzure(azure::Api api) : api_(api) {}

void FakeAzure::Push(FakeAnswer answer) { Push(std::move(answer), 1); }

void FakeAzure::Push(FakeAnswer answer, int times) {
  std::lock_guard<std::mutex> l(mu_);
  for (int i = 0; i < times; ++i) queued_.push_back(answer);
}

void FakeAzure::SetResponder(std::function<FakeAnswer(const FakeRequest&)> responder) {
  std::lock_guard<std::mutex> l(mu_);
  responder_ = std::move(responder);
}

void FakeAzure::SetPresent(std::set<std::string> ids) {
  std::lock_guard<std::mutex> l(mu_);
  present_ = std::move(ids);
}

void FakeAzure::SetQueryStatus(Status status) {
  std::lock_guard<std::mutex> l(mu_);
  query_status_ = std::move(status);
}

std::vector<FakeRequest> FakeAzure::requests() {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}

size_t FakeAzure::request_count() {
  std::lock_guard<std::mutex> l(mu_);
  return requests_.size();
}

size_t FakeAzure::clients_made() {
  std::lock_guard<std::mutex> l(mu_);
  return clients_made_;
}

size_t FakeAzure::queries_made() {
  std::lock_guard<std::mutex> l(mu_);
  return queries_made_;
}

Status FakeAzure::NewIngestionClient(const std::atomic<bool>* cancel, std::unique_ptr<azure::IngestionClient>* out) {
  std::lock_guard<std::mutex> l(mu_);
  ++clients_made_;
  *out = std::make_unique<FakeIngestionClient>(this, cancel);
  return Status::OK();
}

Status FakeAzure::NewPresenceQuery(const std::atomic<bool>*, std::unique_ptr<deliver::PresenceQuery>* out) {
  *out = std::make_unique<FakePresenceQuery>(this);
  return Status::OK();
}

azure::PostResult FakeAzure::Answer(const std::string& target, const std::string& payload, bool gzipped,
                                    const std::atomic<bool>* cancel) {
  FakeRequest req;
  req.target = target;
  req.gzipped = gzipped;
  req.at = std::chrono::steady_clock::now();
  if (!gzipped || !azure::GzipDecompress(payload, azure::kLogsIngestionMaxInflatedBody, &req.body).ok()) {
    req.body = payload;
  }
  FakeAnswer a;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!queued_.empty()) {
      a = std::move(queued_.front());
      queued_.pop_front();
    } else if (responder_) {
      a = responder_(req);
    }
    req.http_status = a.http_status;
    requests_.push_back(req);
  }
  azure::PostResult r;
  r.http_status = a.http_status;
  if (a.http_status == 0) {
    r.error_text = a.transport_error;
  } else if (!azure::ParseErrorBody(a.body, &r.error_code, &r.error_text)) {
    r.error_text = a.body;
  }
  r.outcome = azure::Classify(api_, r.http_status, r.error_code);
  r.retry_after = a.retry_after;
  r.cancelled = cancel != nullptr && cancel->load();
  return r;
}

Status FakeAzure::PresentIds(const std::vector<std::string>& ids, std::set<std::string>* present) {
  std::lock_guard<std::mutex> l(mu_);
  ++queries_made_;
  if (!query_status_.ok()) return query_status_;
  for (const std::string& id : ids) {
    if (present_.count(id) > 0) present->insert(id);
  }
  return Status::OK();
}

}  // namespace sg::testing
