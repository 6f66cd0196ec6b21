// Gateway: the running pipeline built from a GatewayConfig: spool, Kafka ingest, Sentinel drainer,
// and the metrics/health HTTP endpoint.
//
// Start opens the spool (failing fast if another gateway holds it) and starts delivery of any backlog
// at once, beside consumption of new events: start-up never scans the spool. Stop is the graceful
// shutdown of SIGTERM: ingest stops fetching, spools the batch in hand and commits its offsets; the
// drainer gives requests in flight a bounded time; events not yet accepted by Azure stay pending.
// Thread safety: Stop from the controlling thread; the observers (Metrics, Readiness) from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sentinel_gateway/config.h"
#include "sentinel_gateway/status.h"

namespace sg {

namespace spool {
class Spool;
}
namespace ingest {
class Ingest;
}
namespace deliver {
class Drainer;
}

struct Readiness {
  bool ready = true;
  std::vector<std::string> reasons;  // why not ready: Kafka, Azure, spool
};

class Gateway {
 public:
  static Status Start(const config::GatewayConfig& config, std::unique_ptr<Gateway>* out);
  virtual ~Gateway() = default;

  // Graceful stop; returns the first error met while stopping (nothing acknowledged is lost either way).
  virtual Status Stop() = 0;

  // Prometheus text exposition of every metric.
  virtual std::string Metrics() = 0;
  virtual Readiness Ready() = 0;
  // Address the metrics server listens on ("127.0.0.1:9464"), empty when disabled.
  virtual std::string metrics_address() const = 0;

  virtual spool::Spool* spool() = 0;
  virtual ingest::Ingest* ingest() = 0;
  virtual deliver::Drainer* drainer() = 0;

 protected:
  Gateway() = default;
};

}  // namespace sg
