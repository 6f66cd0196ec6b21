// sentinel-spool's formatting and config helpers.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "config_file.h"
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

TEST(ConfigFileTest, Sizes) {
  uint64_t b = 0;
  ASSERT_TRUE(ParseSize("20GiB", &b).ok());
  EXPECT_EQ(b, 20ull << 30);
  ASSERT_TRUE(ParseSize("512MB", &b).ok());
  EXPECT_EQ(b, 512'000'000u);
  ASSERT_TRUE(ParseSize("1048576", &b).ok());
  EXPECT_EQ(b, 1048576u);
  ASSERT_TRUE(ParseSize("1.5 KiB", &b).ok());
  EXPECT_EQ(b, 1536u);
  EXPECT_FALSE(ParseSize("20 parsecs", &b).ok());
  EXPECT_FALSE(ParseSize("GiB", &b).ok());
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

}  // namespace
}  // namespace sg::spooltool
