// `sentinel-gateway import-citrix` as an operator runs it: the configuration and its secrets land
// where the service can use them, private, and the result passes check-config.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "subprocess.h"

namespace {

// Runs the gateway with `args`; `out` gets its stdout and stderr. `env`: NAME=VALUE set for it.
int Gateway(const std::vector<std::string>& args, std::string* out, const std::string& env = "") {
  std::vector<std::string> argv;
  if (!env.empty()) argv = {"/usr/bin/env", env};
  argv.push_back(SG_GATEWAY_PATH);
  argv.insert(argv.end(), args.begin(), args.end());
  const sg::testing::RunResult r = sg::testing::RunProgram(argv);
  *out = r.out + r.err;
  return r.exit_code;
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ImportCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sg-import-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/citrix-ca.pem") << "";  // the CA the imported configuration names
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  const std::string input_ = std::string(SG_TESTDATA_DIR) + "/citrix-logstash-jks.conf";
};

// --credstore: the secrets become systemd credentials (0600, in a 0700 directory) under the names
// the packaged unit loads, the configuration refers to them and holds none, and check-config
// accepts it with that directory as $CREDENTIALS_DIRECTORY.
TEST_F(ImportCliTest, CredstoreWritesCredentialsTheUnitLoads) {
  std::string out;
  ASSERT_EQ(Gateway({"import-citrix", input_, "-o", dir_ + "/gateway.toml", "--credstore", dir_ + "/credstore"}, &out), 0)
      << out;
  const std::string cred = dir_ + "/credstore";
  EXPECT_EQ(Mode(cred), 0700u);
  EXPECT_EQ(Mode(cred + "/sentinel-gateway.kafka-password"), 0600u);
  EXPECT_EQ(Mode(cred + "/sentinel-gateway.shared-key"), 0600u);
  EXPECT_EQ(Read(cred + "/sentinel-gateway.kafka-password"), "S3cr3t-Pa55\n");
  EXPECT_EQ(Read(cred + "/sentinel-gateway.shared-key"), "c2hhcmVkLWtleQ==\n");
  const std::string toml = Read(dir_ + "/gateway.toml");
  EXPECT_EQ(Mode(dir_ + "/gateway.toml"), 0644u);  // no secret in it; the service user reads it
  EXPECT_NE(toml.find("password_credential = \"sentinel-gateway.kafka-password\""), std::string::npos) << toml;
  EXPECT_NE(toml.find("shared_key_credential = \"sentinel-gateway.shared-key\""), std::string::npos) << toml;
  EXPECT_EQ(toml.find("S3cr3t-Pa55"), std::string::npos);
  EXPECT_EQ(out.find("S3cr3t-Pa55"), std::string::npos) << out;
  EXPECT_EQ(Gateway({"check-config", "--quiet", "--config", dir_ + "/gateway.toml"}, &out,
                    "CREDENTIALS_DIRECTORY=" + cred),
            0)
      << out;
  EXPECT_EQ(out, "");
}

// -o alone: the secrets go to 0600 files beside the configuration, referred to with *_file.
TEST_F(ImportCliTest, OutputWritesSecretFilesBesideTheConfiguration) {
  std::string out;
  ASSERT_EQ(Gateway({"import-citrix", input_, "-o", dir_ + "/gateway.toml"}, &out), 0) << out;
  EXPECT_EQ(Mode(dir_ + "/citrix-kafka.password"), 0600u);
  EXPECT_EQ(Mode(dir_ + "/sentinel-shared.key"), 0600u);
  EXPECT_EQ(Gateway({"check-config", "--quiet", "--config", dir_ + "/gateway.toml"}, &out), 0) << out;
}

}  // namespace
