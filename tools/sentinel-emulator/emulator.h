// Emulator: a local HTTPS server that behaves like Microsoft Sentinel's ingestion endpoints.
//
// One port serves the Entra token endpoint (/{tenant}/oauth2/v2.0/token), a managed-identity
// metadata endpoint (/metadata/identity/oauth2/token), the Logs Ingestion API
// (/dataCollectionRules/{dcr}/streams/{stream}), the Data Collector API (/api/logs) and the
// management-plane read of the DCR it holds (GET {dcrResourceId}?api-version=...), with the
// checks and answers Azure gives (docs/AZURE.md, with its Microsoft sources), the Log Analytics
// Query API over what it accepted (EmulatorOptions::query_api), plus a control
// surface for tests: POST/DELETE /emulator/faults and GET /emulator/stats.
// Every accepted row is recorded (JSON lines {"table":..,"row":..}) when a record file is set.
// Used by the sentinel-emulator program, the integration tests, the demo and the benchmarks.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "sentinel_gateway/status.h"

namespace sg::emulator {

struct EmulatorOptions {
  std::string host = "127.0.0.1";
  int port = 0;               // 0: pick a free port
  std::string tls_dir;        // required: see EnsureTlsFiles
  std::string record_file;    // empty: do not record rows
  std::string workspace_id = "00000000-0000-0000-0000-000000000001";
  std::string shared_key = "c2VudGluZWwtZW11bGF0b3Itc2hhcmVkLWtleQ==";
  std::string tenant_id = "00000000-0000-0000-0000-0000000000aa";
  std::string client_id = "00000000-0000-0000-0000-0000000000bb";
  std::string client_secret = "emulator-secret";
  std::string dcr_id;         // empty: any DCR id is accepted
  // Optional DCR (a deployed resource, an ARM template holding one, or bare stream declarations):
  // ingestion applies its streams as Azure does, and the management read returns it.
  std::string schema_file;
  // The resource id under which the management read serves that DCR.
  std::string dcr_resource_id =
      "/subscriptions/00000000-0000-0000-0000-0000000000cc/resourceGroups/sentinel/providers/"
      "Microsoft.Insights/dataCollectionRules/citrix-analytics";
  int64_t token_lifetime_s = 3600;
  // Rate limits per DCR (and per workspace for the Data Collector API).
  bool rate_limits = true;
  uint64_t rate_requests = 12'000;
  uint64_t rate_bytes = 2'000'000'000ull;
  std::chrono::milliseconds rate_window{60'000};
  // Early-retry accounting (see CheckRate in emulator.cc): a request before the Retry-After
  // counts when its connection was told, when its connection's previous answer left early_margin
  // after the 429, or when it arrives early_grace after the 429.
  std::chrono::milliseconds early_margin{250};
  std::chrono::milliseconds early_grace{1000};
  std::chrono::seconds max_date_skew{900};
  // The Log Analytics Query API (POST /v1/workspaces/{workspace_id}/query) over the rows accepted
  // (kept in memory, so off unless asked), for the KQL subset the gateway's exactly-once
  // resolution sends. A row becomes queryable ingestion_delay after its 2xx, as in Azure, where
  // it takes 20 s to a few minutes (also settable as the fault "ingestion_delay_ms").
  bool query_api = false;
  std::chrono::milliseconds ingestion_delay{0};
  int threads = 64;
};

class Emulator {
 public:
  static Status Start(const EmulatorOptions& options, std::unique_ptr<Emulator>* out);
  ~Emulator();  // stops the server
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  int port() const;
  std::string base_url() const;  // https://127.0.0.1:PORT
  std::string ca_file() const;   // the CA clients must trust (empty if tls_dir brought a cert)

  // The same JSON as GET /emulator/stats.
  nlohmann::json Stats() const;
  // The same as POST /emulator/faults (merged into the active faults) and DELETE.
  Status SetFaults(const nlohmann::json& faults);
  void ClearFaults();

  void Stop();

  struct Impl;

 private:
  explicit Emulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sg::emulator
