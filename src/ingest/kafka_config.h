// The consumer's librdkafka configuration, as a pure function of IngestOptions.
//
// Guarantees:
//  - ConsumerProperties() checks the connection options and lists every property the consumer is
//    created with, in the order they are applied; the raw `librdkafka` map comes last, so it
//    overrides everything the gateway sets. The at-least-once contract is in this list: offsets
//    are stored and committed by ingest itself (enable.auto.offset.store and enable.auto.commit
//    are false), never by librdkafka behind the spool's back. The fetch tuning the gateway relies
//    on (fetch.wait.max.ms, queued.max.messages.kbytes, fetch.queue.backoff.ms) is in it too, so
//    every consumer gets it, not only the gateway's.
//  - Secrets follow the one rule (IsSecretKey): an error about a property whose key is secret
//    names the key, never its value; librdkafka's own message, which may quote the value, is
//    used only for keys that are not secret.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "sentinel_gateway/ingest.h"
#include "sentinel_gateway/status.h"

namespace sg {
namespace ingest {

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// InvalidArgument names the missing or wrong setting (brokers, group_id, security_protocol,
// username/password for SASL). Touches nothing but `*props`.
Status ConsumerProperties(const IngestOptions& options, KafkaProperties* props);

// Sets each property on `conf`, stopping at the first that librdkafka refuses.
Status ApplyProperties(const KafkaProperties& props, rd_kafka_conf_t* conf);

}  // namespace ingest
}  // namespace sg
