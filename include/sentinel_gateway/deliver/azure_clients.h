// AzureClients: what the drainer asks of Azure, behind one small interface (issue 14).
//
// The drainer makes every client it uses through this interface: one IngestionClient per worker
// (and one at Start, to validate the options), and the Query API's presence lookup when
// dedupe.query settles events in doubt. The default (DrainerOptions::clients unset) is
// NewHttpsClients: the real HTTPS clients, with one token cache shared by the workers. Tests give
// the drainer fakes instead and prove its delivery logic without HTTPS.
// Guarantees:
//  - The drainer behaves the same whichever implementation it is given: it decides every retry,
//    split, ack and failure itself from the PostResults and Statuses it gets back.
//  - An implementation must be thread-safe: clients are made from several workers at once; each
//    client made is used by one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sentinel_gateway/azure/azure_options.h"
#include "sentinel_gateway/azure/ingestion_client.h"
#include "sentinel_gateway/status.h"

namespace sg::deliver {

struct DedupeOptions;

// Which event ids are present in a table (the Log Analytics Query API, azure/query_client.h).
// Transient failures Unavailable (retried by the drainer), refusals Rejected.
class PresenceQuery {
 public:
  virtual ~PresenceQuery() = default;
  // Adds to *present those of `ids` found in `table` (column `id_column`), looking no further back
  // than not_before_ms (Unix epoch milliseconds).
  virtual Status PresentIds(const std::string& table, const std::string& id_column,
                            const std::vector<std::string>& ids, int64_t not_before_ms,
                            std::set<std::string>* present) = 0;
};

class AzureClients {
 public:
  virtual ~AzureClients() = default;
  // A client for one worker. cancel (may be null): set, it aborts the client's request in flight.
  // Fails (InvalidArgument names the setting) when the options cannot make one.
  virtual Status NewIngestionClient(const std::atomic<bool>* cancel,
                                    std::unique_ptr<azure::IngestionClient>* out) = 0;
  // The presence lookup of dedupe.query; asked only when it is on.
  virtual Status NewPresenceQuery(const std::atomic<bool>* cancel,
                                  std::unique_ptr<PresenceQuery>* out) = 0;
  // Tokens fetched again since the start (0 when the API has none).
  virtual uint64_t token_renewals() const = 0;
};

// The real clients: HTTPS to the Logs Ingestion or Data Collector API of `azure`, and the Query
// API of `dedupe`. Validates the identity settings now (NewTokenProvider); `cancel` (may be null)
// aborts a running token request.
Status NewHttpsClients(const azure::AzureOptions& azure, const DedupeOptions& dedupe,
                       const std::atomic<bool>* cancel, std::unique_ptr<AzureClients>* out);

}  // namespace sg::deliver
