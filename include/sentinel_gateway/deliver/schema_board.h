// SchemaBoard: the stream schemas the drainer's lanes shape rows to, replaceable while they run.
//
// The gateway reads the deployed DCR back periodically (docs/AZURE.md, "The deployed DCR read
// back"); a new read must reach the lanes without a restart. A lane looks at the board's
// generation before shaping what it read, and takes its stream's schema again when it changed.
// Entries are by stream (a lane's RouteConfig::target), so that a lane made later, for events
// requeued into a table that had none, finds the deployed DCR's stream as well. A lane whose stream
// has no entry keeps the schema of its RouteConfig. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "sentinel_gateway/azure/stream_schema.h"

namespace sg::deliver {

class SchemaBoard {
 public:
  // Replaces every stream's entry at once (one generation); lanes whose stream is absent from
  // `schemas` go back to their RouteConfig schema.
  void Publish(std::map<std::string, std::shared_ptr<const azure::StreamSchema>> schemas) {
    std::lock_guard<std::mutex> lock(mu_);
    schemas_ = std::move(schemas);
    generation_.fetch_add(1, std::memory_order_release);
  }

  // The stream's schema (null: none published) and the generation it belongs to.
  std::shared_ptr<const azure::StreamSchema> Get(const std::string& stream, uint64_t* generation) const {
    std::lock_guard<std::mutex> lock(mu_);
    *generation = generation_.load(std::memory_order_acquire);
    auto it = schemas_.find(stream);
    return it == schemas_.end() ? nullptr : it->second;
  }

  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const azure::StreamSchema>> schemas_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace sg::deliver
