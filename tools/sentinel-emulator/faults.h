// Faults: the failures a test injects into the emulator (POST /emulator/faults, merged into the
// active ones; DELETE clears them): Azure's own failure modes (an outage with its status, code and
// Retry-After, random 5xx, latency, hung or closed connections) and a few test devices that are
// not Azure behaviours, each marked as such. An unknown fault or field is refused, never ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "sentinel_gateway/status.h"

namespace sg::emulator {

struct Faults {
  int outage_status = 0;
  std::string outage_code;  // empty: CodeForStatus
  std::string outage_stream;  // empty: every request; else only Logs Ingestion posts to it
  std::string failure_code;
  // A test device, not an Azure behaviour: a request holding a row with this top-level key is
  // refused as bad data (400 InvalidDataFormat), so that tests can exercise row-level refusals.
  std::string refuse_field;
  // A test device, not an Azure behaviour: a gzip body whose decompressed size exceeds this many
  // bytes (0: off) is answered 413 as if Azure counted the decompressed body against its 1 MiB cap,
  // the reading Microsoft's SDKs chunk by, so that tests can exercise the gateway's fallback to
  // that cap. Azure counts the body as sent (Learn "Azure Monitor service limits", Logs Ingestion
  // API; Azure/azure-sdk-for-python issue 27436).
  int64_t refuse_inflated_above = 0;
  std::chrono::steady_clock::time_point outage_until{};
  int64_t outage_retry_after_s = -1;
  double failure_rate = 0;
  int failure_status = 500;
  int64_t latency_ms = 0;
  int64_t hang = 0;
  double hang_rate = 0;
  int64_t hang_seconds = 30;
  int64_t close = 0;
  double close_rate = 0;
  // A test device standing for an identity without Reader on the DCR: the management read then
  // answers 403 AuthorizationFailed as ARM does (Learn "Troubleshoot Azure RBAC", see ReadDcr).
  bool deny_dcr_read = false;
  // A test device standing for an identity without Log Analytics Reader on the workspace: the
  // Query API answers 403 InsufficientAccessError (see Query).
  bool deny_query = false;
  // A test device, not an Azure behaviour: the answer to an accepted ingestion request leaves this
  // long after its rows were accepted (a slow way back), so that a test's kill -9 lands between
  // Azure's acceptance and the client's reading of its 2xx.
  int64_t answer_delay_ms = 0;
  int64_t ingestion_delay_ms = -1;  // -1: EmulatorOptions::ingestion_delay
};

// Merges a fault request (a JSON object) into *faults: on success every field it names is set, on
// failure nothing is. `now` starts an outage's clock. Also accepts the token faults
// ("token_lifetime_s", "expire_tokens"), which the caller applies to its tokens.
Status MergeFaults(const nlohmann::json& j, std::chrono::steady_clock::time_point now, Faults* faults);

}  // namespace sg::emulator
