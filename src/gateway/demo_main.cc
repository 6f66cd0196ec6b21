// sentinel-gateway-demo: the whole pipeline on an embedded default (demo.h). A program of its own so
// that the daemon, sentinel-gateway, links neither the Azure emulator nor a Kafka mock cluster.
#include <CLI/CLI.hpp>

#include "demo.h"

int main(int argc, char** argv) {
  CLI::App app{"sentinel-gateway-demo: the whole pipeline on an embedded Kafka mock cluster and Azure emulator,\n"
               "with synthetic Citrix events, an Azure outage on the way, and a count at the end."};
  sg::DemoOptions o;
  app.add_option("--events,-n", o.events, "events to produce")->capture_default_str();
  app.add_option("--rate,-r", o.rate, "events per second")->capture_default_str();
  app.add_option("--outage", o.outage_seconds, "seconds of Azure outage (503) on the way; 0: none")->capture_default_str();
  app.add_option("--keep", o.keep_dir, "keep the spool and the emulator's record in this directory");
  CLI11_PARSE(app, argc, argv);
  return sg::RunDemo(o);
}
