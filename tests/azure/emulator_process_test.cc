// The sentinel-emulator program: prints its ready line, serves HTTPS with its CA, exits 0 on
// SIGTERM. The test starts it as a child process and always stops it.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "sentinel_gateway/azure/http_client.h"
#include "subprocess.h"

namespace sg::azure {
namespace {

TEST(EmulatorProcessTest, ReadyLineServesStatsAndStopsOnSigterm) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sg-emu-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  std::string dir = tmpl;
  sg::testing::Subprocess emu;  // its destructor kills and reaps the emulator if a check below fails
  ASSERT_TRUE(emu.Start({SG_EMULATOR_BIN, "--listen", "127.0.0.1:0", "--tls-dir", dir + "/tls"}));
  std::string rest;
  const bool got = emu.WaitForLine("listening=", &rest, std::chrono::seconds(30));
  const std::string ready = "listening=" + rest;
  std::string url, ca;
  if (size_t c = rest.find(" ca="); got && c != std::string::npos) {
    url = rest.substr(0, c);
    ca = rest.substr(c + 4);
  }
  int status_code = 0;
  std::string body;
  if (!url.empty()) {
    HttpClientOptions o;
    o.ca_file = ca;
    std::unique_ptr<HttpClient> http;
    if (HttpClient::Create(o, &http).ok()) {
      HttpResponse r;
      Status gs = http->Get(url + "/emulator/stats", {}, &r);
      EXPECT_TRUE(gs.ok()) << gs.ToString();
      status_code = r.status;
      body = r.body;
    }
  }
  emu.Signal(SIGTERM);
  const int exit_code = emu.Wait(std::chrono::seconds(30));
  std::filesystem::remove_all(dir);

  ASSERT_TRUE(got) << "no ready line";
  EXPECT_EQ(url.rfind("https://127.0.0.1:", 0), 0u) << ready;
  EXPECT_EQ(status_code, 200) << ready;
  EXPECT_EQ(nlohmann::json::parse(body, nullptr, false).value("rows_total", -1), 0) << body;
  EXPECT_EQ(exit_code, 0) << "exit status, 128+signal when killed, -1 when still running";
}

}  // namespace
}  // namespace sg::azure
