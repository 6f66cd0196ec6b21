#include "protocol.h"

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

namespace sg::control::wire {
namespace {

struct CodeName {
  Status::Code code;
  const char* name;
};
constexpr CodeName kCodes[] = {
    {Status::Code::kInvalidArgument, "invalid_argument"},
    {Status::Code::kNotFound, "not_found"},
    {Status::Code::kCorruption, "corruption"},
    {Status::Code::kIOError, "io_error"},
    {Status::Code::kBusy, "busy"},
    {Status::Code::kFull, "full"},
    {Status::Code::kUnavailable, "unavailable"},
    {Status::Code::kRejected, "rejected"},
    {Status::Code::kUnsupported, "unsupported"},
};

Status Make(Status::Code code, std::string msg) {
  switch (code) {
    case Status::Code::kOk: return Status::OK();
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(std::move(msg));
    case Status::Code::kNotFound: return Status::NotFound(std::move(msg));
    case Status::Code::kCorruption: return Status::Corruption(std::move(msg));
    case Status::Code::kIOError: return Status::IOError(std::move(msg));
    case Status::Code::kBusy: return Status::Busy(std::move(msg));
    case Status::Code::kFull: return Status::Full(std::move(msg));
    case Status::Code::kUnavailable: return Status::Unavailable(std::move(msg));
    case Status::Code::kRejected: return Status::Rejected(std::move(msg));
    case Status::Code::kUnsupported: return Status::Unsupported(std::move(msg));
  }
  return Status::Corruption(std::move(msg));
}

// A number of the peer's that is not an integer of the field's range.
struct BadNumber : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// nlohmann's get<integer>() static_casts any number: a float out of range (1e30) is undefined
// behaviour, 1.5 becomes 1 and -1 becomes 2^64-1. Accept integers within Int's range only.
template <typename Int>
Int Integer(const json& v) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<Int>::max())) return static_cast<Int>(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if constexpr (std::is_signed_v<Int>) {
      if (i >= static_cast<int64_t>(std::numeric_limits<Int>::min()) &&
          i <= static_cast<int64_t>(std::numeric_limits<Int>::max())) {
        return static_cast<Int>(i);
      }
    } else if (i >= 0) {
      return static_cast<Int>(i);
    }
  }
  throw BadNumber(fmt::format("{} is not an integer from {} to {}", v.dump(), std::numeric_limits<Int>::min(),
                              std::numeric_limits<Int>::max()));
}

// nlohmann's accessors throw on a wrong type; a peer's bad JSON must become a Status instead.
template <typename F>
Status Guard(const char* what, F&& f) {
  try {
    return f();
  } catch (const json::exception& e) {
    return Status::InvalidArgument(fmt::format("malformed {}: {}", what, e.what()));
  } catch (const BadNumber& e) {
    return Status::InvalidArgument(fmt::format("malformed {}: {}", what, e.what()));
  }
}

}  // namespace

json EncodeChangeRequest(const ChangeRequest& r) {
  json j;
  j["op"] = r.op == ChangeRequest::Op::kDrop ? "drop" : "requeue";
  j["ids"] = r.ids;
  if (r.all) {
    j["all"] = true;
    if (!r.route.empty()) j["route"] = r.route;
    if (r.http_status >= 0) j["status"] = r.http_status;
  }
  return j;
}

Status DecodeChangeRequest(const json& j, ChangeRequest* r) {
  return Guard("request", [&] {
    *r = ChangeRequest();
    std::string op = j.at("op").get<std::string>();
    if (op == "requeue") {
      r->op = ChangeRequest::Op::kRequeue;
    } else if (op == "drop") {
      r->op = ChangeRequest::Op::kDrop;
    } else {
      return Status::InvalidArgument(fmt::format("unknown change '{}'", op));
    }
    if (j.contains("ids")) {
      const json& ids = j.at("ids");
      if (!ids.is_array()) throw BadNumber("ids is not an array");
      for (const json& id : ids) r->ids.push_back(Integer<uint64_t>(id));
    }
    r->all = j.value("all", false);
    r->route = j.value("route", std::string());
    r->http_status = j.contains("status") ? Integer<int>(j.at("status")) : -1;
    return Status::OK();
  });
}

void EncodeChangeResult(const ChangeResult& r, json* j) {
  json changed = json::array();
  for (const BatchChange& c : r.changed) {
    changed.push_back({{"id", c.id}, {"route", c.route}, {"events", c.events}});
  }
  json skipped = json::array();
  for (const auto& [id, why] : r.skipped) skipped.push_back({{"id", id}, {"reason", why}});
  (*j)["changed"] = std::move(changed);
  (*j)["skipped"] = std::move(skipped);
  (*j)["events"] = r.events;
}

Status DecodeChangeResult(const json& j, ChangeResult* r) {
  return Guard("answer", [&] {
    *r = ChangeResult();
    if (j.contains("changed")) {
      for (const json& c : j.at("changed")) {
        r->changed.push_back({Integer<uint64_t>(c.at("id")), c.at("route").get<std::string>(),
                              Integer<uint64_t>(c.at("events"))});
      }
    }
    if (j.contains("skipped")) {
      for (const json& s : j.at("skipped")) {
        r->skipped.emplace_back(Integer<uint64_t>(s.at("id")), s.at("reason").get<std::string>());
      }
    }
    r->events = j.contains("events") ? Integer<uint64_t>(j.at("events")) : 0;
    return Status::OK();
  });
}

json EncodeStats(const spool::SpoolStats& s) {
  json routes = json::object();
  for (const auto& [name, r] : s.routes) {
    routes[name] = {{"pending_events", r.pending_events},
                    {"pending_bytes", r.pending_bytes},
                    {"oldest_enqueued_ms", r.oldest_enqueued_ms}};
  }
  return {{"routes", routes},
          {"failed_batches", s.failed_batches},
          {"failed_events", s.failed_events},
          {"failed_bytes", s.failed_bytes},
          {"used_bytes", s.used_bytes},
          {"disk_bytes", s.disk_bytes},
          {"max_bytes", s.max_bytes},
          {"appended_total", s.appended_total},
          {"acked_total", s.acked_total},
          {"quarantined_total", s.quarantined_total}};
}

Status DecodeStats(const json& j, spool::SpoolStats* s) {
  return Guard("stats", [&] {
    *s = spool::SpoolStats();
    for (const auto& [name, r] : j.at("routes").items()) {
      spool::RouteStats& rs = s->routes[name];
      rs.pending_events = Integer<uint64_t>(r.at("pending_events"));
      rs.pending_bytes = Integer<uint64_t>(r.at("pending_bytes"));
      rs.oldest_enqueued_ms = Integer<int64_t>(r.at("oldest_enqueued_ms"));
    }
    s->failed_batches = Integer<uint64_t>(j.at("failed_batches"));
    s->failed_events = Integer<uint64_t>(j.at("failed_events"));
    s->failed_bytes = Integer<uint64_t>(j.at("failed_bytes"));
    s->used_bytes = Integer<uint64_t>(j.at("used_bytes"));
    s->disk_bytes = Integer<uint64_t>(j.at("disk_bytes"));
    s->max_bytes = Integer<uint64_t>(j.at("max_bytes"));
    s->appended_total = Integer<uint64_t>(j.at("appended_total"));
    s->acked_total = Integer<uint64_t>(j.at("acked_total"));
    s->quarantined_total = Integer<uint64_t>(j.at("quarantined_total"));
    return Status::OK();
  });
}

json EncodeStatus(const Status& s) {
  if (s.ok()) return {{"ok", true}};
  const char* name = "io_error";
  for (const CodeName& c : kCodes) {
    if (c.code == s.code()) name = c.name;
  }
  return {{"ok", false}, {"code", name}, {"error", s.message()}};
}

Status DecodeStatus(const json& j) {
  if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean()) {
    return Status::Corruption("control answer without an \"ok\" field");
  }
  if (j["ok"].get<bool>()) return Status::OK();
  std::string code = j.contains("code") && j["code"].is_string() ? j["code"].get<std::string>() : "";
  std::string msg = j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>()
                                                                   : "the gateway reported an error";
  for (const CodeName& c : kCodes) {
    if (code == c.name) return Make(c.code, std::move(msg));
  }
  return Status::IOError(std::move(msg));
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Status Parse(const std::string& line, json* j) {
  *j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j->is_discarded() || !j->is_object()) {
    return Status::InvalidArgument("control message is not a JSON object");
  }
  return Status::OK();
}

}  // namespace sg::control::wire
