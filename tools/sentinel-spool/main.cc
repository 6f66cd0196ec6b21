// sentinel-spool: the operator's window into the gateway's spool (think mailq and postsuper -r).
// See docs/OPERATIONS.md for a session, the output formats and the exit codes.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "config_file.h"

namespace {

using namespace sg::spooltool;

constexpr char kFooter[] = R"(Ids: `ls` prints a failed batch as its number and a route's pending events as the
route's name; `show` and `export` take both, `requeue` and `drop` take batch numbers.
`-` reads ids from stdin (whitespace-separated, or the JSON lines of `ls --json`).

With the gateway stopped the spool is opened directly ("offline"). With the gateway
running, reading commands follow it through a RocksDB secondary instance and changes
go through its control socket <spool>/control.sock ("live via pid N"); stderr says
which path was taken.

Exit codes: 0 ok, 1 error, 2 usage, 3 not found (no spool, unknown id or route),
4 spool in use by a process that serves no control socket.)";

}  // namespace

int main(int argc, char** argv) {
  // RocksDB's warnings (through the spool) go to stderr: stdout carries only the command's output.
  auto log = std::make_shared<spdlog::logger>("sentinel-spool", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_level(spdlog::level::warn);
  spdlog::set_default_logger(log);
  CLI::App app{"sentinel-spool: inspect the gateway's spool; requeue or drop failed batches"};
  app.set_version_flag("--version", std::string("sentinel-spool ") + SG_VERSION);
  app.footer(kFooter);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the command

  CommandOptions o;
  std::string config;
  auto* spool_opt = app.add_option("--spool", o.spool, "Spool directory")->type_name("DIR");
  auto* config_opt = app.add_option("--config", config, "Gateway config file: use its [spool] path")
                         ->type_name("FILE");
  spool_opt->excludes(config_opt);
  app.add_flag("--json", o.json, "Machine-readable output: one JSON object per line");

  auto* stats = app.add_subcommand("stats", "Pending per route, failed, size, Kafka offsets");

  auto* ls = app.add_subcommand("ls", "One line per route of pending events and per failed batch");
  ls->add_flag("--failed", o.failed_only, "Only failed batches");
  ls->add_option("--route", o.route, "Only this route")->type_name("ROUTE");
  ls->add_option("--limit", o.limit, "At most N failed batches (oldest first)")->type_name("N");

  auto* show = app.add_subcommand("show", "A failed batch or a route's pending events in full");
  show->add_option("id", o.ids, "Failed batch id or route name")->required()->expected(1);
  auto* show_limit = show->add_option("--limit", o.limit, "Events shown (default 20, 0: all)")->type_name("N");

  auto* exp = app.add_subcommand("export", "Events as JSON lines on stdout");
  exp->add_flag("--failed", o.failed_only, "Only events of failed batches");
  exp->add_option("--route", o.route, "Only this route")->type_name("ROUTE");
  exp->add_flag("--raw", o.raw, "Payloads only, one per line (for re-ingestion elsewhere)");
  exp->add_option("ids", o.ids, "Failed batch ids or route names (default: everything)");

  auto* requeue = app.add_subcommand("requeue", "Move failed batches back to pending for retry");
  requeue->add_option("ids", o.ids, "Failed batch ids, or - to read them from stdin");
  requeue->add_flag("--all", o.all, "Every failed batch (narrowed by --route and --status)");
  requeue->add_option("--route", o.route, "With --all: only this route")->type_name("ROUTE");
  requeue->add_option("--status", o.http_status, "With --all: only this HTTP status (0: no answer)")
      ->type_name("CODE")
      ->check(CLI::Range(0, 999));

  auto* drop = app.add_subcommand("drop", "Delete failed batches for good (needs --yes)");
  drop->add_option("ids", o.ids, "Failed batch ids, or - to read them from stdin");
  drop->add_flag("--yes", o.yes, "Confirm the deletion");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports an unknown command as "A subcommand is required"; name it instead.
    for (int i = 1; i < argc && e.get_name() == "RequiredError" && app.get_subcommands().empty(); ++i) {
      std::string arg = argv[i];
      if (arg == "--spool" || arg == "--config") {
        ++i;
      } else if (!arg.empty() && arg[0] != '-') {
        return Usage(fmt::format("unknown command '{}' (commands: stats, ls, show, export, requeue, drop)", arg));
      }
    }
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  if (!config.empty()) {
    SpoolLocation where;
    sg::Status s = ReadSpoolLocation(config, &where);
    if (!s.ok()) return Fail(s);
    o.spool = where.path;
    o.max_bytes = where.max_bytes;
  }
  if (o.spool.empty()) return Usage("give the spool with --spool DIR or --config FILE");
  if (show->parsed() && show_limit->count() == 0) o.limit = 20;

  if (stats->parsed()) return Stats(o);
  if (ls->parsed()) return List(o);
  if (show->parsed()) return Show(o);
  if (exp->parsed()) return Export(o);
  if (requeue->parsed()) return Requeue(o);
  if (drop->parsed()) return Drop(o);
  return Usage("no command");
}
