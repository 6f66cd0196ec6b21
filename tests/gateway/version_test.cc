// `sentinel-gateway --version` names the libraries it runs with, and the librdkafka linked is one
// that can log in to Kafka 4.x brokers over SCRAM (2.6.1 or newer; docs/librdkafka.md).
#include <array>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "subprocess.h"

namespace {

// "2.8.0" -> {2, 8, 0}; anything else -> {0, 0, 0}.
std::array<int, 3> ParseVersion(const std::string& v) {
  std::array<int, 3> out{0, 0, 0};
  if (std::sscanf(v.c_str(), "%d.%d.%d", &out[0], &out[1], &out[2]) != 3) return {0, 0, 0};
  return out;
}

// The first word after `name ` on the line that starts with it.
std::string VersionOf(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + " ", 0) != 0) continue;
    std::istringstream words(line.substr(name.size() + 1));
    std::string v;
    words >> v;
    return v;
  }
  return "";
}

TEST(VersionTest, GatewayReportsItsLibrariesAndALibrdkafkaOfAtLeast261) {
  const sg::testing::RunResult r = sg::testing::RunProgram({SG_GATEWAY_PATH, "--version"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* name : {"sentinel-gateway", "librdkafka", "RocksDB", "libcurl", "OpenSSL"}) {
    EXPECT_FALSE(VersionOf(r.out, name).empty()) << "no " << name << " line in:\n" << r.out;
  }
  const std::string rdkafka = VersionOf(r.out, "librdkafka");
  EXPECT_GE(ParseVersion(rdkafka), (std::array<int, 3>{2, 6, 1})) << r.out;
  // The program and this test link the same librdkafka (cmake/Rdkafka.cmake chooses one).
  EXPECT_EQ(rdkafka, rd_kafka_version_str());
}

TEST(VersionTest, LinkedLibrdkafkaIsAtLeast261) {
  // rd_kafka_version(): 0xMMmmrrpp, pp the pre-release id (0xff for a release).
  EXPECT_GE(static_cast<unsigned>(rd_kafka_version()) >> 8, 0x020601u) << rd_kafka_version_str();
}

}  // namespace
