#include "sentinel_gateway/deliver/azure_clients.h"

#include "sentinel_gateway/azure/query_client.h"
#include "sentinel_gateway/deliver.h"

namespace sg::deliver {

namespace {

class HttpsPresenceQuery : public PresenceQuery {
 public:
  explicit HttpsPresenceQuery(std::unique_ptr<azure::QueryClient> client) : client_(std::move(client)) {}

  Status PresentIds(const std::string& table, const std::string& id_column,
                    const std::vector<std::string>& ids, int64_t not_before_ms,
                    std::set<std::string>* present) override {
    return client_->PresentIds(table, id_column, ids, not_before_ms, present);
  }

 private:
  std::unique_ptr<azure::QueryClient> client_;
};

class HttpsClients : public AzureClients {
 public:
  HttpsClients(const azure::AzureOptions& azure, const DedupeOptions& dedupe,
               std::shared_ptr<azure::TokenProvider> tokens)
      : azure_(azure),
        query_endpoint_(dedupe.query_endpoint),
        workspace_id_(dedupe.workspace_id),
        tokens_(std::move(tokens)) {}

  Status NewIngestionClient(const std::atomic<bool>* cancel,
                            std::unique_ptr<azure::IngestionClient>* out) override {
    return azure::NewIngestionClient(azure_, tokens_, cancel, out);
  }

  Status NewPresenceQuery(const std::atomic<bool>* cancel, std::unique_ptr<PresenceQuery>* out) override {
    out->reset();
    std::unique_ptr<azure::QueryClient> client;
    Status s = azure::QueryClient::Create(azure_, query_endpoint_, workspace_id_, cancel, &client);
    if (!s.ok()) return s;
    *out = std::make_unique<HttpsPresenceQuery>(std::move(client));
    return Status::OK();
  }

  uint64_t token_renewals() const override { return tokens_ ? tokens_->renewals() : 0; }

 private:
  const azure::AzureOptions azure_;
  const std::string query_endpoint_;
  const std::string workspace_id_;
  const std::shared_ptr<azure::TokenProvider> tokens_;  // shared by every ingestion client
};

}  // namespace

Status NewHttpsClients(const azure::AzureOptions& azure, const DedupeOptions& dedupe,
                       const std::atomic<bool>* cancel, std::unique_ptr<AzureClients>* out) {
  std::shared_ptr<azure::TokenProvider> tokens;
  Status s = azure::NewTokenProvider(azure, &tokens, cancel);
  if (!s.ok()) return s;
  *out = std::make_unique<HttpsClients>(azure, dedupe, std::move(tokens));
  return Status::OK();
}

}  // namespace sg::deliver
