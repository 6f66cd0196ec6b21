// The sentinel-emulator program: prints its ready line, serves HTTPS with its CA, exits 0 on
// SIGTERM. The test starts it as a child process and always stops it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "sentinel_gateway/azure/http_client.h"

namespace sg::azure {
namespace {

TEST(EmulatorProcessTest, ReadyLineServesStatsAndStopsOnSigterm) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sg-emu-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  std::string dir = tmpl;
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    std::string tls = dir + "/tls";
    ::execl(SG_EMULATOR_BIN, SG_EMULATOR_BIN, "--listen", "127.0.0.1:0", "--tls-dir", tls.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  FILE* f = ::fdopen(out[0], "r");
  char line[512] = {0};
  bool got = std::fgets(line, sizeof(line), f) != nullptr;  // blocks until the ready line
  std::string ready = got ? line : "";
  std::string url, ca;
  size_t l = ready.find("listening="), c = ready.find(" ca=");
  if (l != std::string::npos && c != std::string::npos) {
    url = ready.substr(l + 10, c - l - 10);
    ca = ready.substr(c + 4);
    while (!ca.empty() && (ca.back() == '\n' || ca.back() == '\r')) ca.pop_back();
  }
  int status_code = 0;
  std::string body;
  if (!url.empty()) {
    HttpClientOptions o;
    o.ca_file = ca;
    std::unique_ptr<HttpClient> http;
    if (HttpClient::Create(o, &http).ok()) {
      HttpResponse r;
      // EXPECT, not ASSERT: the emulator process below must still be stopped.
      Status gs = http->Get(url + "/emulator/stats", {}, &r);
      EXPECT_TRUE(gs.ok()) << gs.ToString();
      status_code = r.status;
      body = r.body;
    }
  }
  ::kill(pid, SIGTERM);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  std::fclose(f);
  std::filesystem::remove_all(dir);

  ASSERT_TRUE(got) << "no ready line";
  EXPECT_EQ(url.rfind("https://127.0.0.1:", 0), 0u) << ready;
  EXPECT_EQ(status_code, 200) << ready;
  EXPECT_EQ(nlohmann::json::parse(body, nullptr, false).value("rows_total", -1), 0) << body;
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
}

}  // namespace
}  // namespace sg::azure
