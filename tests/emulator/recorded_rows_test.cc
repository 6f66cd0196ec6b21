// ForEachRecord (tests/support/recorded_rows.h) reads the --record file while the emulator is
// still appending: a half-written last line waits for the next read instead of failing the test
// (the CI run of stop 21 failed on exactly that, in PipelineFaultTest's polling).
#include "../support/recorded_rows.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace sg::testing {
namespace {

class RecordedRowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sg-record-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/rows.jsonl";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Append(const std::string& text) { std::ofstream(path_, std::ios::app | std::ios::binary) << text; }
  std::vector<int> Uids() {
    std::vector<int> out;
    ForEachRecord(path_, [&](const nlohmann::json& j) { out.push_back(j["row"]["uid"].get<int>()); });
    return out;
  }
  std::string dir_, path_;
};

TEST_F(RecordedRowsTest, AHalfWrittenLastLineWaitsForTheRest) {
  Append("{\"table\":\"T\",\"received_ms\":1,\"row\":{\"uid\":1}}\n{\"table\":\"T\",\"rec");
  EXPECT_EQ(Uids(), std::vector<int>({1}));
  Append("eived_ms\":2,\"row\":{\"uid\":2}}\n");
  EXPECT_EQ(Uids(), std::vector<int>({1, 2}));
}

TEST_F(RecordedRowsTest, AWholeLineThatIsNotJsonFails) {
  Append("{\"table\":\"T\",\"row\":{\"uid\":1}}\nnot json\n");
  EXPECT_THROW(Uids(), nlohmann::json::parse_error);
}

TEST_F(RecordedRowsTest, AMissingFileHasNoRows) { EXPECT_TRUE(Uids().empty()); }

}  // namespace
}  // namespace sg::testing
