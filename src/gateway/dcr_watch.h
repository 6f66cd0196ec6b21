// DcrWatch: the deployed DCR, read back at start and every dcr_refresh, as the schema the
// drainer's lanes shape rows to.
//
// Guarantees:
//  - The first read happens before delivery starts (bounded by the connect and request
//    timeouts), so the first batch is already shaped to the DCR as deployed.
//  - A stream the DCR declares replaces the built-in schema of its route; fields it does not
//    declare, or values that do not fit, go to AdditionalFields when it has that column, and are
//    counted either way (the shaper). Per table, the Citrix fields it would drop or mistype are
//    logged once per change and exported (sg_dcr_fields).
//  - A read that is refused (403 without Reader, 401, 404) or fails leaves the built-in schema
//    (or the last DCR read) in place and is said once per failure streak; nothing waits on it:
//    events are never held or dropped because of the management plane.
// Thread-safe: RenderMetrics from any thread.
#pragma once

#include <memory>
#include <string>

#include "sentinel_gateway/azure/azure_options.h"
#include "sentinel_gateway/config.h"
#include "sentinel_gateway/deliver.h"
#include "sentinel_gateway/prometheus_writer.h"
#include "sentinel_gateway/status.h"

namespace sg {

class DcrWatch {
 public:
  // Does nothing (null *out) without sentinel.dcr_resource_id. Sets dopts->schema_board. Fails
  // only on invalid options, never because Azure refuses or is unreachable.
  static Status Start(const config::GatewayConfig& config, const azure::AzureOptions& azure,
                      deliver::DrainerOptions* dopts, std::unique_ptr<DcrWatch>* out);
  ~DcrWatch();
  void Stop();
  // sg_dcr_schema_source, sg_dcr_reads_total, sg_dcr_fields, sg_dcr_stream_missing.
  void RenderMetrics(PrometheusWriter* out) const;

  struct Impl;

 private:
  explicit DcrWatch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sg
