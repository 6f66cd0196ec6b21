// sentinel-spool's formatting and config helpers.
#include <filesystem>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "config_file.h"
#include "sentinel_gateway/config.h"
#include "format.h"
#include "spool_test_util.h"

namespace sg::spooltool {
namespace {

TEST(FormatTest, Bytes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1024), "1.0 KiB");
  EXPECT_EQ(HumanBytes(1258291), "1.2 MiB");
  EXPECT_EQ(HumanBytes(20ull << 30), "20.0 GiB");
}

TEST(FormatTest, Ages) {
  EXPECT_EQ(HumanAge(-5), "0s");
  EXPECT_EQ(HumanAge(41'999), "41s");
  EXPECT_EQ(HumanAge(192'000), "3m12s");
  EXPECT_EQ(HumanAge(2 * 3600'000 + 5 * 60'000), "2h05m");
  EXPECT_EQ(HumanAge(3 * 86400'000LL + 4 * 3600'000), "3d04h");
}

TEST(FormatTest, Times) {
  EXPECT_EQ(HumanTime(1764316811123), "2025-11-28 08:00:11 UTC");
  EXPECT_EQ(IsoTime(1764316811123), "2025-11-28T08:00:11.123Z");
}

TEST(FormatTest, FitCutsAndFlattens) {
  EXPECT_EQ(Fit("short", 10), "short");
  EXPECT_EQ(Fit("a\nmulti  line\ttext", 40), "a multi line text");
  EXPECT_EQ(Fit("InvalidStream: the stream", 12), "InvalidSt...");
  EXPECT_EQ(FitLeft("CitrixAnalytics_indicatorEventDetails_V1_CL", 20), "...ventDetails_V1_CL");
  EXPECT_EQ(Fit("InvalidStream: the stream", 12).size(), 12u);
  EXPECT_EQ(FitLeft("CitrixAnalytics_indicatorEventDetails_V1_CL", 20).size(), 20u);
}

// The tool reads max_bytes with the gateway's own grammar: what the gateway refuses (a fraction,
// "1.5GiB") it refuses too, naming file, line and key, instead of using a size the gateway never would.
TEST(ConfigFileTest, SizesFollowTheGatewaysGrammar) {
  sg::testing::TempDir dir;
  std::ofstream(dir.Sub("ok.toml")) << "[spool]\npath = \"s\"\nmax_bytes = \"20GiB\"\n";
  SpoolLocation where;
  ASSERT_TRUE(ReadSpoolLocation(dir.Sub("ok.toml"), &where).ok());
  EXPECT_EQ(where.max_bytes, 20ull << 30);
  std::ofstream(dir.Sub("frac.toml")) << "[spool]\npath = \"s\"\nmax_bytes = \"1.5GiB\"\n";
  Status s = ReadSpoolLocation(dir.Sub("frac.toml"), &where);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("frac.toml:3: spool.max_bytes"), std::string::npos) << s.message();
  uint64_t b = 0;
  EXPECT_FALSE(config::ParseSize("1.5GiB", &b).ok());  // as the gateway says
}

// With no [spool] path, the tool finds the spool where the gateway puts it: under systemd's
// $STATE_DIRECTORY when that is set.
TEST(ConfigFileTest, DefaultSpoolUnderStateDirectoryAsTheGatewayPutsIt) {
  sg::testing::TempDir dir;
  std::ofstream(dir.Sub("gateway.toml")) << "[kafka]\nbrokers = \"x:9092\"\n";
  ::setenv("STATE_DIRECTORY", "/var/lib/sentinel-gateway", 1);
  SpoolLocation where;
  Status s = ReadSpoolLocation(dir.Sub("gateway.toml"), &where);
  ::unsetenv("STATE_DIRECTORY");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(where.path, "/var/lib/sentinel-gateway/spool");
}

TEST(ConfigFileTest, SpoolPathIsRelativeToTheConfigFile) {
  sg::testing::TempDir dir;
  std::filesystem::create_directories(dir.Sub("etc"));
  std::ofstream(dir.Sub("etc/gateway.toml")) << "[kafka]\nbrokers = \"x:9092\"\n[spool]\npath = \"../var/spool\"\nmax_bytes = 1048576\n";
  SpoolLocation where;
  ASSERT_TRUE(ReadSpoolLocation(dir.Sub("etc/gateway.toml"), &where).ok());
  EXPECT_EQ(where.path, dir.Sub("var/spool"));
  EXPECT_EQ(where.max_bytes, 1048576u);

  std::ofstream(dir.Sub("etc/default.toml")) << "[kafka]\nbrokers = \"x:9092\"\n";
  ASSERT_TRUE(ReadSpoolLocation(dir.Sub("etc/default.toml"), &where).ok());
  EXPECT_EQ(where.path, dir.Sub("etc/spool"));  // the gateway's default, "spool"
  EXPECT_EQ(where.max_bytes, 0u);

  std::ofstream(dir.Sub("etc/broken.toml")) << "[spool\npath = 1\n";
  Status s = ReadSpoolLocation(dir.Sub("etc/broken.toml"), &where);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("broken.toml:1:"), std::string::npos) << s.message();
}

// The tool reads [spool] with the gateway's own loader (config::LoadSection): what the gateway
// refuses in [spool] the tool refuses with the same message, and the other sections (secrets in
// variables the operator's shell does not have) are not read.
TEST(ConfigFileTest, SpoolSectionIsReadByTheGatewaysLoaderAlone) {
  sg::testing::TempDir dir;
  std::ofstream(dir.Sub("typo.toml")) << "[spool]\npath = \"s\"\nmax_byte = \"2GiB\"\n";
  SpoolLocation where;
  Status s = ReadSpoolLocation(dir.Sub("typo.toml"), &where);
  EXPECT_NE(s.message().find("typo.toml:3: spool.max_byte: unknown key"), std::string::npos) << s.message();
  std::ofstream(dir.Sub("gw.toml")) << "[kafka]\npassword = \"${SG_TEST_SURELY_UNSET}\"\n[spool]\npath = \"s\"\n";
  s = ReadSpoolLocation(dir.Sub("gw.toml"), &where);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(where.path, dir.Sub("s"));
  EXPECT_EQ(where.max_bytes, 0u);
}

}  // namespace
}  // namespace sg::spooltool
