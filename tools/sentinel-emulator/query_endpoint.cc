// The emulator's Log Analytics Query API: rows kept after their ingestion delay, and the KQL
// subset the gateway sends (kql.h, emulator_impl.h).
#include "emulator_impl.h"

namespace sg::emulator {

void Emulator::Impl::Store(const std::string& table, const json& array) {
  const auto now_sys = std::chrono::system_clock::now();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now_sys.time_since_epoch()).count();
  std::lock_guard<std::mutex> lock(mu);
  const int64_t delay = faults.ingestion_delay_ms >= 0 ? faults.ingestion_delay_ms : options.ingestion_delay.count();
  const Clock::time_point visible = Clock::now() + std::chrono::milliseconds(delay);
  auto& rows_of = stored[table];
  for (const json& row : array) {
    StoredRow r;
    r.visible = visible;
    r.time_generated_ms = now_ms;  // the arrival when the row has no TimeGenerated
    auto tg = row.find("TimeGenerated");
    if (tg != row.end() && tg->is_string()) ParseIsoMs(tg->get<std::string>(), &r.time_generated_ms);
    r.row = row;
    rows_of.push_back(std::move(r));
  }
}

void Emulator::Impl::Query(const httplib::Request& req, httplib::Response& res) {
  if (ApplyFaults(res, false, false)) return;
  auto reply = [&](int status, const std::string& code, const std::string& message) {
    res.status = status;
    res.set_content(json{{"error", {{"code", code}, {"message", message}}}}.dump(), "application/json");
  };
  if (!options.query_api) return reply(404, "PathNotFoundError", "The requested path does not exist.");
  const std::string workspace = req.matches[1];
  std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) != 0) {
    return reply(401, "AuthorizationRequiredError", "Valid authentication was not provided.");
  }
  bool deny;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = tokens.find(auth.substr(7));
    if (it == tokens.end() || Clock::now() >= it->second.expires) {
      return reply(401, "InvalidTokenError", "The provided authentication is not valid for this resource.");
    }
    if (!IsQueryAudience(it->second.audience)) {
      return reply(401, "InvalidTokenError", "The provided authentication is not valid for this resource "
                                             "(audience " + it->second.audience + ").");
    }
    deny = faults.deny_query;
  }
  if (workspace != options.workspace_id) {
    return reply(404, "WorkspaceNotFoundError", "The workspace could not be found.");
  }
  if (deny) {
    return reply(403, "InsufficientAccessError",
                 "The provided credentials have insufficient access to perform the requested operation");
  }
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("query") || !body["query"].is_string()) {
    return reply(400, "BadArgumentError", "The request had some invalid properties: query is required.");
  }
  KqlQuery q;
  std::string error;
  if (!ParseKql(body["query"].get<std::string>(), &q, &error)) {
    return reply(400, "BadArgumentError", "The request had some invalid properties: " + error);
  }
  json rows = json::array();
  std::vector<std::string> columns = q.project;
  {
    std::lock_guard<std::mutex> lock(mu);
    const Clock::time_point now = Clock::now();
    auto it = stored.find(q.table);
    if (it != stored.end()) {
      for (const StoredRow& r : it->second) {
        if (now < r.visible) continue;  // not ingested yet
        if (q.time_strict ? r.time_generated_ms <= q.time_from_ms : r.time_generated_ms < q.time_from_ms) continue;
        bool match = true;
        for (const auto& [col, values] : q.in_filters) {
          auto v = r.row.find(col);
          if (v == r.row.end() || !v->is_string() || values.count(v->get<std::string>()) == 0) {
            match = false;
            break;
          }
        }
        if (!match) continue;
        if (columns.empty()) {
          for (const auto& [k, v] : r.row.items()) columns.push_back(k);
        }
        json out = json::array();
        for (const std::string& c : columns) out.push_back(r.row.contains(c) ? r.row[c] : json());
        rows.push_back(std::move(out));
      }
    }
  }
  json cols = json::array();
  for (const std::string& c : columns) cols.push_back({{"name", c}, {"type", "string"}});
  res.status = 200;
  res.set_content(json{{"tables", json::array({{{"name", "PrimaryResult"}, {"columns", cols}, {"rows", rows}}})}}.dump(),
                  "application/json");
}

}  // namespace sg::emulator
