#include "check_azure.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sentinel_gateway/azure/builtin_streams.h"
#include "sentinel_gateway/azure/dcr_coverage.h"
#include "sentinel_gateway/azure/dcr_reader.h"
#include "sentinel_gateway/azure/ingestion_client.h"
#include "sentinel_gateway/azure/query_client.h"
#include "wiring.h"

namespace sg {
namespace {

// "  label (N): a, b, c" wrapped at about 100 columns, continuation lines indented.
void PrintList(std::FILE* out, const std::string& label, const std::vector<std::string>& items) {
  std::string line = fmt::format("  {} ({}):", label, items.size());
  if (items.empty()) line += " -";
  const std::string indent(6, ' ');
  bool first = true;
  for (const std::string& item : items) {
    std::string piece = (first ? " " : ", ") + item;
    if (line.size() + piece.size() > 100 && !first) {
      std::fprintf(out, "%s,\n", line.c_str());
      line = indent + item;
    } else {
      line += piece;
    }
    first = false;
  }
  std::fprintf(out, "%s\n", line.c_str());
}

}  // namespace

int CheckAzure(const config::GatewayConfig& config, std::FILE* out) {
  azure::AzureOptions aopts;
  if (Status s = BuildAzureOptions(config, &aopts); !s.ok()) {
    std::fprintf(out, "configuration: %s\n", s.message().c_str());
    return 2;
  }
  if (aopts.api != azure::Api::kLogsIngestion) {
    std::fprintf(out, "check-azure checks the Logs Ingestion API and its DCR; api = \"data_collector\" has none\n");
    return 2;
  }
  deliver::DrainerOptions dopts;
  if (Status s = BuildDrainerOptions(config, {}, &dopts); !s.ok()) {
    std::fprintf(out, "configuration: %s\n", s.message().c_str());
    return 2;
  }
  const azure::CloudEndpoints cloud = azure::EndpointsFor(aopts.cloud);

  // 1. A token for ingestion: the credentials work (nothing is posted).
  std::shared_ptr<azure::TokenProvider> tokens;
  Status s = azure::NewTokenProvider(aopts, &tokens);
  std::string token;
  if (s.ok()) s = tokens->GetToken(&token);
  std::fill(token.begin(), token.end(), '\0');
  const std::string how = aopts.managed_identity ? "managed identity" : "client credentials";
  if (!s.ok()) {
    std::fprintf(out, "token: FAILED (%s, scope %s): %s\n", how.c_str(), cloud.scope.c_str(), s.ToString().c_str());
    return 1;
  }
  std::fprintf(out, "token: ok (%s, scope %s)\n",
               how.c_str(), (aopts.scope.empty() ? cloud.scope : aopts.scope).c_str());

  // 2. The deployed DCR.
  const config::SentinelConfig& sc = config.sentinel;
  if (sc.dcr_resource_id.empty()) {
    std::fprintf(out,
                 "dcr: not read (sentinel.dcr_resource_id is not set): the gateway shapes to its built-in schema, "
                 "and what the deployed DCR drops cannot be checked. Set dcr_resource_id and give the identity "
                 "Reader on the DCR.\n");
    return 1;
  }
  std::unique_ptr<azure::DcrReader> reader;
  s = azure::DcrReader::Create(aopts, sc.management_endpoint, sc.dcr_resource_id, nullptr, &reader);
  azure::DeployedDcr dcr;
  if (s.ok()) s = reader->Read(&dcr);
  if (!s.ok()) {
    std::fprintf(out, "dcr: FAILED to read %s: %s\n", sc.dcr_resource_id.c_str(), s.ToString().c_str());
    if (s.code() == Status::Code::kRejected) {
      std::fprintf(out, "  (the gateway would fall back to its built-in schema; a 403 means the identity needs "
                        "Reader on the DCR)\n");
    }
    return 1;
  }
  std::fprintf(out, "dcr: %s (immutableId %s), read with scope %s\n", dcr.resource_id.c_str(),
               dcr.immutable_id.c_str(), reader->scope().c_str());
  int problems = 0;
  if (!dcr.immutable_id.empty() && dcr.immutable_id != aopts.dcr_immutable_id) {
    std::fprintf(out, "  MISMATCH: the gateway posts to dcr_immutable_id %s, not to this DCR\n",
                 aopts.dcr_immutable_id.c_str());
    ++problems;
  }

  // 3. Per table: what lands where.
  std::set<std::string> skip = {"TimeGenerated", "AdditionalFields"};
  if (config.delivery.event_id_field != "sg_event_id") skip.insert("sg_event_id");
  const auto& builtin = azure::BuiltinStreamSchemas();
  size_t lost_total = 0, catch_all_total = 0, tables_losing = 0;
  for (const auto& route : dopts.routes) {
    std::fprintf(out, "\n%s  stream %s\n", route.route.c_str(), route.target.c_str());
    auto deployed = dcr.streams.find(route.target);
    auto ours = builtin.find(route.target);
    if (deployed == dcr.streams.end()) {
      std::fprintf(out, "  NOT DECLARED in the DCR: Azure refuses every request to it (InvalidStream); its events "
                        "would wait in the spool\n");
      ++problems;
      ++tables_losing;
      continue;
    }
    auto flow = dcr.transforms.find(route.target);
    if (flow != dcr.transforms.end() && flow->second != "source") {
      std::fprintf(out, "  transform: %s\n", flow->second.c_str());
    }
    if (ours == builtin.end()) {
      std::fprintf(out, "  declares %zu column(s); not a Citrix table the gateway knows the fields of\n",
                   deployed->second.columns.size());
      continue;
    }
    std::vector<std::string> declared, catch_all, lost;
    for (const auto& f : azure::CompareStreams(ours->second, &deployed->second, skip)) {
      switch (f.fate) {
        case azure::FieldFate::kDeclared:
          declared.push_back(f.column == f.field ? f.field : fmt::format("{} (in {})", f.field, f.column));
          break;
        case azure::FieldFate::kCatchAll: catch_all.push_back(fmt::format("{} ({})", f.field, f.why)); break;
        case azure::FieldFate::kLost: lost.push_back(fmt::format("{} ({})", f.field, f.why)); break;
      }
    }
    PrintList(out, "declared", declared);
    PrintList(out, "AdditionalFields", catch_all);
    PrintList(out, "lost", lost);
    lost_total += lost.size();
    catch_all_total += catch_all.size();
    if (!lost.empty()) ++tables_losing;
  }
  // 4. Exactly once: the Log Analytics Query API answers this identity (Log Analytics Reader).
  if (config.sentinel.dedupe == "query" && !dopts.routes.empty()) {
    std::unique_ptr<azure::QueryClient> query;
    Status qs = azure::QueryClient::Create(aopts, config.sentinel.query_endpoint, config.sentinel.workspace_id,
                                           nullptr, &query);
    std::set<std::string> present;
    if (qs.ok()) {
      qs = query->PresentIds(dopts.routes.front().route, config.delivery.event_id_field, {"check-azure/0/-1"}, 0,
                             &present);
    }
    if (qs.ok()) {
      std::fprintf(out, "\nquery API: workspace %s answers (dedupe = \"query\" can settle events in doubt)\n",
                   config.sentinel.workspace_id.c_str());
    } else {
      std::fprintf(out, "\nquery API: %s\n  events in doubt after a crash would be posted unchecked (give the "
                        "identity Log Analytics Reader on the workspace: config/azure/README.md, 5c)\n",
                   qs.ToString().c_str());
      ++problems;
    }
  }
  std::fprintf(out, "\n");
  if (lost_total == 0 && problems == 0) {
    std::fprintf(out, "ok: nothing would be lost (%zu field(s) go to AdditionalFields)\n", catch_all_total);
    return 0;
  }
  std::fprintf(out, "would lose data: %zu field(s) dropped by Azure, %zu table(s) affected, %d other problem(s)\n",
               lost_total, tables_losing, problems);
  return 1;
}

}  // namespace sg
