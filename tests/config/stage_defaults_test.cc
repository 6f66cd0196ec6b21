// The configuration's defaults are the stages' defaults: a default GatewayConfig, wired into each
// stage's options as the gateway does (src/gateway/wiring.h), gives what a default-constructed
// options struct of that stage holds. The shared settings agree by construction (the config
// sections derive from the stages' structs); this holds the wiring and the rest to it.
#include <cctype>
#include <string>

#include <gtest/gtest.h>

#include "wiring.h"

namespace sg {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(StageDefaultsTest, KafkaSectionIsIngestsDefaults) {
  const config::GatewayConfig c;
  ingest::IngestOptions wired;
  ASSERT_TRUE(BuildIngestOptions(c, &wired).ok());
  const ingest::IngestOptions stage;
  // The three that once disagreed (45 s, 32 MiB and plaintext in ingest; the gateway ran with these).
  EXPECT_EQ(wired.session_timeout, stage.session_timeout);
  EXPECT_EQ(wired.session_timeout, std::chrono::milliseconds(60'000));
  EXPECT_EQ(wired.max_batch_bytes, stage.max_batch_bytes);
  EXPECT_EQ(wired.max_batch_bytes, 4u << 20);
  EXPECT_EQ(wired.security_protocol, Lower(stage.security_protocol));  // the gateway lowercases it
  EXPECT_EQ(wired.security_protocol, "sasl_ssl");
  EXPECT_EQ(wired.client_id, stage.client_id);
  EXPECT_EQ(wired.sasl_mechanism, stage.sasl_mechanism);
  EXPECT_EQ(wired.verify_hostname, stage.verify_hostname);
  EXPECT_EQ(wired.auto_offset_reset, stage.auto_offset_reset);
  EXPECT_EQ(wired.max_poll_interval, stage.max_poll_interval);
  EXPECT_EQ(wired.assignment_strategy, stage.assignment_strategy);
  EXPECT_EQ(wired.group_instance_id, stage.group_instance_id);
  EXPECT_EQ(wired.commit_interval, stage.commit_interval);
  EXPECT_EQ(wired.max_batch_messages, stage.max_batch_messages);
  EXPECT_EQ(wired.password, stage.password);
}

TEST(StageDefaultsTest, DeliverySectionIsTheDrainersDefaults) {
  const config::GatewayConfig c;
  deliver::DrainerOptions wired;
  ASSERT_TRUE(BuildDrainerOptions(c, {}, &wired).ok());
  const deliver::DrainerOptions stage;
  EXPECT_EQ(wired.max_batch_events, stage.max_batch_events);
  EXPECT_EQ(wired.max_batch_bytes, stage.max_batch_bytes);
  EXPECT_EQ(wired.linger, stage.linger);
  EXPECT_EQ(wired.concurrency, stage.concurrency);
  EXPECT_EQ(wired.backoff_initial, stage.backoff_initial);
  EXPECT_EQ(wired.backoff_cap, stage.backoff_cap);
  EXPECT_EQ(wired.probe_interval, stage.probe_interval);
  EXPECT_EQ(wired.max_attempts, stage.max_attempts);
  // Once "" in the drainer; the gateway ran with the id on.
  EXPECT_EQ(wired.event_id_field, stage.event_id_field);
  EXPECT_EQ(wired.event_id_field, "sg_event_id");
  // [sentinel]'s dedupe keys are the drainer's DedupeOptions.
  EXPECT_EQ(wired.dedupe.query, stage.dedupe.query);
  EXPECT_EQ(wired.dedupe.workspace_id, stage.dedupe.workspace_id);
  EXPECT_EQ(wired.dedupe.query_endpoint, stage.dedupe.query_endpoint);
  EXPECT_EQ(wired.dedupe.wait, stage.dedupe.wait);
  EXPECT_EQ(wired.dedupe.query_timeout, stage.dedupe.query_timeout);
}

TEST(StageDefaultsTest, SentinelSectionIsTheAzureClientsDefaults) {
  const config::GatewayConfig c;
  azure::AzureOptions wired;
  ASSERT_TRUE(BuildAzureOptions(c, &wired).ok());
  const azure::AzureOptions stage;
  EXPECT_EQ(wired.api, stage.api);
  EXPECT_EQ(wired.cloud, stage.cloud);
  EXPECT_EQ(wired.ca_file, stage.ca_file);
  EXPECT_EQ(wired.proxy, stage.proxy);
  EXPECT_EQ(wired.connect_timeout, stage.connect_timeout);
  EXPECT_EQ(wired.request_timeout, stage.request_timeout);
  EXPECT_EQ(wired.endpoint, stage.endpoint);
  EXPECT_EQ(wired.dcr_immutable_id, stage.dcr_immutable_id);
  // Once off in the clients; the gateway ran with gzip on.
  EXPECT_EQ(wired.gzip, stage.gzip);
  EXPECT_TRUE(wired.gzip);
  EXPECT_EQ(wired.login_endpoint, stage.login_endpoint);
  EXPECT_EQ(wired.tenant_id, stage.tenant_id);
  EXPECT_EQ(wired.client_id, stage.client_id);
  EXPECT_EQ(wired.client_secret, stage.client_secret);
  EXPECT_EQ(wired.managed_identity, stage.managed_identity);
  EXPECT_EQ(wired.imds_url, stage.imds_url);
  EXPECT_EQ(wired.workspace_id, stage.workspace_id);
  EXPECT_EQ(wired.shared_key, stage.shared_key);
  EXPECT_EQ(wired.data_collector_endpoint, stage.data_collector_endpoint);
  EXPECT_EQ(wired.time_generated_field, stage.time_generated_field);
  EXPECT_EQ(wired.azure_resource_id, stage.azure_resource_id);
}

}  // namespace
}  // namespace sg
