// sentinel-gateway: the gateway program (run, check-config, check-azure, import-citrix). The demo is
// its own program, sentinel-gateway-demo (demo_main.cc), so the daemon links neither the Azure
// emulator nor a Kafka mock cluster.
//
// Exit codes: 0 success (a clean stop after SIGTERM/SIGINT included); 1 runtime error; 2 usage or
// configuration error; 3 the spool cannot be used (in use by another process, newer format,
// corrupted); 4 stopped at once by a second signal (nothing acknowledged is lost).
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "check_azure.h"
#include "logging.h"
#include "version.h"
#include "wiring.h"
#include "sentinel_gateway/citrix_import.h"
#include "sentinel_gateway/config.h"
#include "sentinel_gateway/gateway.h"

namespace {

constexpr int kExitOk = 0, kExitError = 1, kExitConfig = 2, kExitSpool = 3, kExitForced = 4;

int LoadConfig(const std::string& path, sg::config::GatewayConfig* config) {
  sg::Status s = sg::config::Load(path, config);
  if (!s.ok()) {
    std::fprintf(stderr, "sentinel-gateway: %s\n", s.message().c_str());
    return kExitConfig;
  }
  return kExitOk;
}

int Run(const std::string& config_path) {
  // Block the stop signals before any thread starts, so that only sigwait below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  sg::config::GatewayConfig config;
  if (int rc = LoadConfig(config_path, &config); rc != kExitOk) return rc;
  if (sg::Status s = sg::SetupLogging(config.log.level, config.log.format); !s.ok()) {
    std::fprintf(stderr, "sentinel-gateway: %s\n", s.message().c_str());
    return kExitConfig;
  }
  for (const std::string& w : config.warnings) spdlog::warn("config: {}", w);

  std::unique_ptr<sg::Gateway> gateway;
  sg::Status s = sg::Gateway::Start(config, &gateway);
  if (!s.ok()) {
    spdlog::error("cannot start: {}", s.ToString());
    bool spool_problem = s.IsBusy() || s.IsCorruption() || s.code() == sg::Status::Code::kUnsupported;
    return spool_problem ? kExitSpool : (s.code() == sg::Status::Code::kInvalidArgument ? kExitConfig : kExitError);
  }
  int sig = 0;
  sigwait(&stop, &sig);
  spdlog::info("received {}: stopping (a second signal stops at once; the spool keeps everything acknowledged)",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
  std::thread([stop] {
    int again = 0;
    sigwait(&stop, &again);
    spdlog::warn("second signal: exiting now; pending events stay in the spool");
    spdlog::default_logger()->flush();
    _exit(kExitForced);
  }).detach();
  s = gateway->Stop();
  gateway.reset();
  if (!s.ok()) {
    spdlog::warn("stopped with an error: {}", s.ToString());
    return kExitError;
  }
  return kExitOk;
}

// quiet: validate only (the unit's ExecStartPre), so the journal does not get the whole
// configuration on every start; warnings and errors still go to stderr.
int CheckConfig(const std::string& path, bool quiet) {
  sg::config::GatewayConfig config;
  if (int rc = LoadConfig(path, &config); rc != kExitOk) return rc;
  for (const std::string& w : config.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  // The stream schemas are separate files: read them now rather than at the first `run`.
  sg::deliver::DrainerOptions drainer;
  if (sg::Status s = sg::BuildDrainerOptions(config, {}, &drainer); !s.ok()) {
    std::fprintf(stderr, "sentinel-gateway: %s: %s\n", path.c_str(), s.message().c_str());
    return kExitConfig;
  }
  if (!quiet) std::fputs(sg::config::Redacted(config).c_str(), stdout);
  return kExitOk;
}

int CheckAzureCommand(const std::string& path) {
  sg::config::GatewayConfig config;
  if (int rc = LoadConfig(path, &config); rc != kExitOk) return rc;
  return sg::CheckAzure(config, stdout);
}

int ImportCitrix(const std::string& input, const std::string& output, const std::string& credstore) {
  std::ifstream in(input);
  if (!in) {
    std::fprintf(stderr, "sentinel-gateway: cannot read %s\n", input.c_str());
    return kExitConfig;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  // Secrets found in the pipeline: with --credstore, systemd credentials there (the names the
  // packaged unit's LoadCredential= lines load); else beside the configuration in 0600 files with
  // -o; else named environment variables (the configuration's ${VAR} form).
  struct SecretFile {
    const char* file;
    const char* credential;
    const char* env;
    const char* what;
    std::string sg::config::CitrixImport::*value;
  };
  const SecretFile kSecrets[] = {
      {"citrix-kafka.password", "sentinel-gateway.kafka-password", "CITRIX_KAFKA_PASSWORD", "The SASL password (from sasl_jaas_config)",
       &sg::config::CitrixImport::password},
      {"sentinel-client.secret", "sentinel-gateway.client-secret", "SENTINEL_CLIENT_SECRET", "The Entra ID app's secret (client_app_secret)",
       &sg::config::CitrixImport::client_secret},
      {"sentinel-shared.key", "sentinel-gateway.shared-key", "SENTINEL_SHARED_KEY", "The workspace key (workspace_key)",
       &sg::config::CitrixImport::shared_key},
  };
  sg::config::ImportSecretRefs refs;
  std::string* ref_of[] = {&refs.password, &refs.client_secret, &refs.shared_key};
  const char* keys[] = {"password", "client_secret", "shared_key"};
  for (size_t i = 0; i < 3; ++i) {
    *ref_of[i] = !credstore.empty() ? fmt::format("{}_credential = \"{}\"", keys[i], kSecrets[i].credential)
                 : output.empty()   ? fmt::format("{} = \"${{{}}}\"", keys[i], kSecrets[i].env)
                                    : fmt::format("{}_file = \"{}\"", keys[i], kSecrets[i].file);
  }
  sg::config::CitrixImport imp;
  sg::Status s = sg::config::ImportCitrixLogstash(ss.str(), input, refs, &imp);
  if (!s.ok()) {
    std::fprintf(stderr, "sentinel-gateway: %s\n", s.message().c_str());
    return kExitConfig;
  }
  // Writes a secret to a new 0600 file (the umask keeps it private from its creation on).
  auto write_secret = [](const std::string& path, const std::string& value) {
    ::umask(077);
    std::ofstream file(path, std::ios::trunc);
    file << value << "\n";
    file.close();
    return file && ::chmod(path.c_str(), 0600) == 0;
  };
  if (!credstore.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(credstore, ec);
    for (const SecretFile& f : kSecrets) {
      const std::string& value = imp.*f.value;
      if (value.empty()) continue;
      std::string path = (std::filesystem::path(credstore) / f.credential).string();
      if (ec || !write_secret(path, value)) {
        std::fprintf(stderr, "sentinel-gateway: cannot write %s\n", path.c_str());
        return kExitError;
      }
      imp.notes.insert(imp.notes.begin(), fmt::format("{} is the credential {} (mode 0600).", f.what, path));
    }
  }
  if (output.empty()) {
    std::fputs(imp.toml.c_str(), stdout);
    for (const SecretFile& f : kSecrets) {
      if ((imp.*f.value).empty() || !credstore.empty()) continue;
      imp.notes.insert(imp.notes.begin(), fmt::format("{}: export it as {}, or use -o to store it in a 0600 file "
                                                      "beside the configuration.", f.what, f.env));
    }
  } else {
    std::filesystem::path out(output);
    std::filesystem::path dir = out.has_parent_path() ? out.parent_path() : std::filesystem::path(".");
    for (const SecretFile& f : kSecrets) {
      const std::string& value = imp.*f.value;
      if (value.empty() || !credstore.empty()) continue;
      std::string path = (dir / f.file).string();
      if (!write_secret(path, value)) {
        std::fprintf(stderr, "sentinel-gateway: cannot write %s\n", path.c_str());
        return kExitError;
      }
      imp.notes.insert(imp.notes.begin(), fmt::format("{} is in {} (mode 0600).", f.what, path));
    }
    std::ofstream o(output, std::ios::trunc);
    o << imp.toml;
    if (!o) {
      std::fprintf(stderr, "sentinel-gateway: cannot write %s\n", output.c_str());
      return kExitError;
    }
    // The configuration holds no secret (they are references), and the service's user must read it.
    (void)::chmod(output.c_str(), 0644);
    std::fprintf(stderr, "wrote %s\n", output.c_str());
  }
  for (const std::string& n : imp.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives each contending thread a heap arena of its own (up to 8 per core) and keeps what
  // each one freed. With ingest, RocksDB, librdkafka and the drainer's lanes all allocating, that
  // doubled peak RSS at full speed: 306-324 MiB by default, 144-163 MiB with 2 arenas
  // (e2e-bench, docs/BENCHMARKS.md). An operator's MALLOC_ARENA_MAX still decides.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
  umask(077);  // the spool and every file the gateway writes are private to its user
  CLI::App app{"sentinel-gateway: carries Citrix Analytics risk events from Kafka into Microsoft Sentinel,\n"
               "through a durable local spool, without losing an event."};
  // --version: the program's and its libraries' versions (librdkafka, RocksDB, libcurl, OpenSSL).
  std::string version = sg::VersionText();
  if (!version.empty() && version.back() == '\n') version.pop_back();
  app.set_version_flag("--version", version);
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 runtime error, 2 usage or configuration error, 3 spool unusable, 4 forced stop.");

  std::string config_path;
  auto* run = app.add_subcommand("run", "Run the gateway until SIGTERM or SIGINT.");
  run->add_option("--config,-c", config_path, "configuration file (TOML)")->required();

  auto* check = app.add_subcommand("check-config", "Validate a configuration and print it with secrets redacted.");
  check->add_option("--config,-c", config_path, "configuration file (TOML)")->required();
  bool check_quiet = false;
  check->add_flag("--quiet,-q", check_quiet, "validate only: print nothing but warnings and errors");

  auto* check_azure = app.add_subcommand(
      "check-azure",
      "Get a token, read the deployed DCR back and print per table which Citrix fields land, go to "
      "AdditionalFields or would be lost (posts nothing; exit 0 only when nothing would be lost).");
  check_azure->add_option("--config,-c", config_path, "configuration file (TOML)")->required();

  std::string import_input, import_output;
  auto* import = app.add_subcommand("import-citrix", "Turn the Logstash file Citrix Analytics prepares into a gateway configuration.");
  import->add_option("FILE", import_input, "the Logstash pipeline from Citrix Analytics")->required();
  import->add_option("--output,-o", import_output, "write the configuration here (and the secrets beside it, mode 0600)");
  std::string import_credstore;
  import->add_option("--credstore", import_credstore,
                     "write the secrets as systemd credentials in this directory instead (e.g. /etc/credstore, "
                     "which the packaged unit loads), and refer to them with *_credential");

  // Where the demo went, for those who remember `sentinel-gateway demo`.
  auto* demo = app.add_subcommand("demo", "The demo is its own program: sentinel-gateway-demo (tools/demo.sh).");
  demo->allow_extras();
  demo->group("");  // not listed in --help

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitConfig;
  }
  if (*run) return Run(config_path);
  if (*check) return CheckConfig(config_path, check_quiet);
  if (*check_azure) return CheckAzureCommand(config_path);
  if (*import) return ImportCitrix(import_input, import_output, import_credstore);
  if (*demo) {
    std::fprintf(stderr, "sentinel-gateway: the demo is its own program: sentinel-gateway-demo (tools/demo.sh)\n");
    return kExitConfig;
  }
  return kExitConfig;
}
