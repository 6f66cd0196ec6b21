// sentinel-emulator: Microsoft Sentinel's ingestion endpoints on one local HTTPS port.
//
// Prints one line "listening=https://HOST:PORT ca=DIR/ca.pem" on stdout once it accepts
// connections, then serves until SIGTERM or SIGINT and exits 0.
#include <signal.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "emulator.h"

int main(int argc, char** argv) {
  sg::emulator::EmulatorOptions o;
  std::string listen = "127.0.0.1:0";
  double rate_window_s = 60;
  bool no_rate_limits = false;
  CLI::App app{"Local HTTPS emulator of Microsoft Sentinel's ingestion APIs (tests, demo, bench)"};
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: pick a free one)")
      ->capture_default_str();
  app.add_option("--record", o.record_file, "append every accepted row to this JSON-lines file");
  app.add_option("--tls-dir", o.tls_dir,
                 "uses DIR/cert.pem+key.pem, or writes a fresh test CA (DIR/ca.pem) and cert")
      ->required();
  app.add_option("--workspace-id", o.workspace_id, "Data Collector workspace id")->capture_default_str();
  app.add_option("--shared-key", o.shared_key, "Data Collector shared key (base64)");
  app.add_option("--tenant-id", o.tenant_id, "Entra tenant id")->capture_default_str();
  app.add_option("--client-id", o.client_id, "Entra client id")->capture_default_str();
  app.add_option("--client-secret", o.client_secret, "Entra client secret");
  app.add_option("--dcr-id", o.dcr_id, "accept only this DCR immutable id (default: any)");
  app.add_option("--schema", o.schema_file,
                 "the DCR it holds (deployed resource, ARM template or streamDeclarations): applied to "
                 "ingestion as Azure does, and served by the management read");
  app.add_option("--dcr-resource-id", o.dcr_resource_id, "the DCR's ARM resource id (management read)")
      ->capture_default_str();
  app.add_option("--token-lifetime", o.token_lifetime_s, "token lifetime in seconds")
      ->capture_default_str();
  app.add_flag("--no-rate-limits", no_rate_limits, "turn the per-DCR rate limits off");
  app.add_option("--rate-requests", o.rate_requests, "requests per window per DCR")
      ->capture_default_str();
  app.add_option("--rate-bytes", o.rate_bytes, "bytes per window per DCR")->capture_default_str();
  app.add_option("--rate-window", rate_window_s, "rate-limit window in seconds")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "server threads (each keep-alive connection holds one)")
      ->capture_default_str();
  int64_t ingestion_delay_ms = 0;
  app.add_flag("--query-api", o.query_api,
               "serve the Log Analytics Query API over the rows accepted (kept in memory)");
  app.add_option("--ingestion-delay-ms", ingestion_delay_ms,
                 "a row becomes queryable this long after its 2xx, as in Azure")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  o.ingestion_delay = std::chrono::milliseconds(ingestion_delay_ms);

  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "--listen must be HOST:PORT\n";
    return 2;
  }
  o.host = listen.substr(0, colon);
  try {
    o.port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    std::cerr << "--listen must be HOST:PORT\n";
    return 2;
  }
  o.rate_limits = !no_rate_limits;
  o.rate_window = std::chrono::milliseconds(static_cast<int64_t>(rate_window_s * 1000));

  // Block the stop signals in every thread; the main thread waits for them with sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<sg::emulator::Emulator> emu;
  sg::Status s = sg::emulator::Emulator::Start(o, &emu);
  if (!s.ok()) {
    std::cerr << "sentinel-emulator: " << s.ToString() << "\n";
    return 1;
  }
  std::printf("listening=%s ca=%s\n", emu->base_url().c_str(), emu->ca_file().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  emu->Stop();
  std::cerr << "sentinel-emulator: stopped\n";
  return 0;
}
