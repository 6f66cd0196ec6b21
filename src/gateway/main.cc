// sentinel-gateway: the gateway program (run, check-config, demo, import-citrix).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <sys/stat.h>

int main(int argc, char** argv) {
  umask(077);  // the spool and every file the gateway writes are private to its user
  CLI::App app{"sentinel-gateway: durable Citrix Analytics -> Microsoft Sentinel gateway"};
  app.set_version_flag("--version", std::string("sentinel-gateway ") + SG_VERSION);
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stdout);
  }
  return 0;
}
