#include "commands.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "access.h"
#include "format.h"
#include "sentinel_gateway/control.h"

namespace sg::spooltool {
namespace {

// Keys in the order written: "id" and "kind" first reads better in a terminal.
using json = nlohmann::ordered_json;

// Failed batches are decoded with their events; pages keep memory bounded on a big failed area.
constexpr size_t kFailedPage = 16;
constexpr size_t kReadPage = 1000;

std::string Dump(const json& j, int indent = -1) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

void Line(const json& j) { fmt::print("{}\n", Dump(j)); }

// "1 event", "2 events"; "1 batch", "2 batches".
std::string Count(uint64_t n, const char* noun) {
  std::string_view w(noun);
  return fmt::format("{} {}{}", n, w, n == 1 ? "" : (w.ends_with("h") ? "es" : "s"));
}

bool IsBatchId(const std::string& s) {
  return !s.empty() && s.size() <= 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// An id as `ls` prints it: a number names a failed batch, anything else a route's pending events.
struct Target {
  bool failed = false;
  uint64_t id = 0;
  std::string route;
};
Target ParseTarget(const std::string& s) {
  Target t;
  if (IsBatchId(s)) {
    t.failed = true;
    t.id = std::stoull(s);
  } else {
    t.route = s;
  }
  return t;
}

// Opens the spool for `intent` and says on stderr which path was taken.
Status OpenAccess(const CommandOptions& o, Intent intent, Access* access) {
  Status s = access->Open(o.spool, intent, o.max_bytes);
  if (s.ok()) fmt::print(stderr, "sentinel-spool: {}\n", access->Describe());
  return s;
}

bool RouteKnown(spool::Spool* spool, const std::string& route) {
  std::vector<std::string> routes = spool->Routes();
  return std::find(routes.begin(), routes.end(), route) != routes.end();
}

Status UnknownId(const std::string& id) {
  return Status::NotFound(fmt::format(
      "no failed batch or route named '{}' (`sentinel-spool ls` lists them)", id));
}

json SourceJson(const spool::SourceRef& s) {
  return {{"topic", s.topic}, {"partition", s.partition}, {"offset", s.offset}};
}

// One event as exported: where it is, where it came from, and the event itself (parsed JSON) or,
// for input that is not JSON, its text as "payload".
json EventJson(const std::string& id, const char* kind, const std::string& route, const spool::PendingEvent& e) {
  json j = {{"id", id}, {"kind", kind}, {"route", route}, {"seq", e.seq},
            {"enqueued", IsoTime(e.enqueued_ms)}};
  if (!e.source.topic.empty()) j["source"] = SourceJson(e.source);
  json parsed = json::parse(e.payload, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    j["payload"] = e.payload;
  } else {
    j["event"] = std::move(parsed);
  }
  return j;
}

std::string ReasonText(const spool::FailureInfo& why) {
  if (why.error_text.empty()) return why.reason;
  if (why.reason.empty()) return why.error_text;
  return why.reason + ": " + why.error_text;
}

json FailedJson(const spool::FailedBatch& fb, int64_t now) {
  return {{"id", std::to_string(fb.id)},
          {"kind", "failed"},
          {"route", fb.route},
          {"events", fb.events.size()},
          {"bytes", fb.bytes},
          {"http_status", fb.why.http_status},
          {"reason", fb.why.reason},
          {"error_text", fb.why.error_text},
          {"attempts", fb.why.attempts},
          {"first_failure", IsoTime(fb.why.first_failure_ms)},
          {"last_failure", IsoTime(fb.why.last_failure_ms)},
          {"age_s", (now - fb.why.first_failure_ms) / 1000}};
}

json PendingJson(const std::string& route, const spool::RouteStats& r, int64_t now) {
  json j = {{"id", route}, {"kind", "pending"}, {"route", route}, {"events", r.pending_events},
            {"bytes", r.pending_bytes}};
  if (r.oldest_enqueued_ms > 0) {
    j["oldest_enqueued"] = IsoTime(r.oldest_enqueued_ms);
    j["age_s"] = (now - r.oldest_enqueued_ms) / 1000;
  }
  return j;
}

// Calls fn(batch) for every failed batch (after `route` filter), oldest first, up to `limit` (0: all).
template <typename F>
Status ForEachFailed(spool::Spool* spool, const std::string& route, size_t limit, F&& fn) {
  uint64_t after = 0;
  size_t seen = 0;
  for (;;) {
    std::vector<spool::FailedBatch> page;
    Status s = spool->ListFailed(after, kFailedPage, route, &page);
    if (!s.ok()) return s;
    for (spool::FailedBatch& fb : page) {
      after = fb.id;
      if (limit > 0 && seen >= limit) return Status::OK();
      ++seen;
      fn(fb);
    }
    if (page.size() < kFailedPage) return Status::OK();
  }
}

// Calls fn(events) for each page of pending events of `route`, oldest first, up to `limit` (0: all).
template <typename F>
Status ForEachPending(spool::Spool* spool, const std::string& route, size_t limit, F&& fn) {
  uint64_t after = 0;
  size_t seen = 0;
  for (;;) {
    size_t want = limit > 0 ? std::min(kReadPage, limit - seen) : kReadPage;
    if (want == 0) return Status::OK();
    std::vector<spool::PendingEvent> page;
    Status s = spool->Read(route, after, want, 8u << 20, &page);
    if (!s.ok()) return s;
    if (page.empty()) return Status::OK();
    after = page.back().seq;
    seen += page.size();
    fn(page);
  }
}

// Route column: as wide as the terminal allows once the numeric columns are placed.
size_t RouteWidth(size_t fixed) {
  size_t w = TerminalWidth();
  return w > fixed + 12 ? w - fixed : 12;
}

void PrintRouteTable(const std::map<std::string, spool::RouteStats>& routes, const std::string& title,
                     int64_t now) {
  const size_t rw = RouteWidth(32);
  fmt::print("{:<{}}  {:>8}  {:>10}  {:>8}\n", title, rw, "EVENTS", "BYTES", "OLDEST");
  for (const auto& [name, r] : routes) {
    fmt::print("{:<{}}  {:>8}  {:>10}  {:>8}\n", FitLeft(name, rw), rw, r.pending_events,
               HumanBytes(r.pending_bytes),
               r.oldest_enqueued_ms > 0 ? HumanAge(now - r.oldest_enqueued_ms) : "-");
  }
}

// "citrix-risk/0 offsets 1200..1249", one per partition the events came from.
std::vector<std::string> SourceSummary(const std::vector<spool::PendingEvent>& events) {
  std::map<std::pair<std::string, int32_t>, std::pair<int64_t, int64_t>> ranges;
  for (const spool::PendingEvent& e : events) {
    if (e.source.topic.empty()) continue;
    auto [it, fresh] = ranges.try_emplace({e.source.topic, e.source.partition}, e.source.offset, e.source.offset);
    if (!fresh) {
      it->second.first = std::min(it->second.first, e.source.offset);
      it->second.second = std::max(it->second.second, e.source.offset);
    }
  }
  std::vector<std::string> out;
  for (const auto& [tp, r] : ranges) {
    out.push_back(r.first == r.second ? fmt::format("{}/{} offset {}", tp.first, tp.second, r.first)
                                      : fmt::format("{}/{} offsets {}..{}", tp.first, tp.second, r.first, r.second));
  }
  if (out.empty()) out.push_back("-");
  return out;
}

void PrintWrapped(const std::string& text, size_t width, const std::string& indent) {
  std::istringstream in(text);
  std::string word, line;
  while (in >> word) {
    if (!line.empty() && line.size() + 1 + word.size() + indent.size() > width) {
      fmt::print("{}{}\n", indent, line);
      line.clear();
    }
    line += line.empty() ? word : " " + word;
  }
  if (!line.empty()) fmt::print("{}{}\n", indent, line);
}

void PrintEvents(const std::vector<spool::PendingEvent>& events, size_t total, int64_t now) {
  size_t i = 0;
  for (const spool::PendingEvent& e : events) {
    ++i;
    std::string src = e.source.topic.empty()
                          ? std::string()
                          : fmt::format(", from {}/{}@{}", e.source.topic, e.source.partition, e.source.offset);
    fmt::print("\nevent {} of {}: seq {}{}, enqueued {} ago\n", i, total, e.seq, src, HumanAge(now - e.enqueued_ms));
    json parsed = json::parse(e.payload, nullptr, false);
    if (parsed.is_discarded()) {
      fmt::print("(not valid JSON, shown as stored)\n{}\n", e.payload);
    } else {
      fmt::print("{}\n", Dump(parsed, 2));
    }
  }
  if (total > events.size()) {
    fmt::print("\n... {} more events; `export` prints them all\n", total - events.size());
  }
}

// Reads ids from the arguments, expanding "-" to the ids on stdin: plain ids separated by
// whitespace, or the JSON lines of `ls --json` (their "id"; pending lines are skipped, and so are
// failed batches without a route when `requeue` is true, since those can only be exported or dropped).
Status CollectIds(const std::vector<std::string>& args, std::vector<std::string>* ids, bool requeue = false) {
  for (const std::string& a : args) {
    if (a != "-") {
      ids->push_back(a);
      continue;
    }
    std::string line;
    size_t n = 0;
    while (std::getline(std::cin, line)) {
      ++n;
      size_t start = line.find_first_not_of(" \t\r");
      if (start == std::string::npos) continue;
      if (line[start] == '{') {
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("id")) {
          return Status::InvalidArgument(fmt::format("stdin line {}: a JSON line without an \"id\"", n));
        }
        if (j.value("kind", std::string()) == "pending") continue;  // `ls --json` lists routes too
        const json& id = j["id"];
        if (requeue && j.contains("route") && j["route"] == "") {
          fmt::print(stderr, "sentinel-spool: skipped batch {}: no route (input that could not be classified)\n",
                     id.is_string() ? id.get<std::string>() : Dump(id));
          continue;
        }
        ids->push_back(id.is_string() ? id.get<std::string>() : Dump(id));
        continue;
      }
      std::istringstream words(line);
      std::string w;
      while (words >> w) ids->push_back(w);
    }
  }
  return Status::OK();
}

// Turns ids into failed batch ids; a route's pending events cannot be requeued or dropped.
Status BatchIds(const std::vector<std::string>& ids, const char* verb, std::vector<uint64_t>* out) {
  for (const std::string& id : ids) {
    if (!IsBatchId(id)) {
      return Status::InvalidArgument(fmt::format(
          "'{}' is not a failed batch id; only failed batches can be {} (see `ls --failed`)", id, verb));
    }
    out->push_back(std::stoull(id));
  }
  return Status::OK();
}

int ChangeCommand(const CommandOptions& o, control::ChangeRequest request, const char* done) {
  Access access;
  Status s = OpenAccess(o, Intent::kChange, &access);
  if (!s.ok()) return Fail(s);
  control::ChangeResult result;
  if (access.mode() == Access::Mode::kLiveControl) {
    s = access.client()->Change(request, &result);
  } else {
    s = control::ApplyChange(access.spool(), request, &result);
  }
  if (o.json) {
    json changed = json::array(), skipped = json::array();
    for (const auto& c : result.changed) {
      changed.push_back({{"id", std::to_string(c.id)}, {"route", c.route}, {"events", c.events}});
    }
    for (const auto& [id, why] : result.skipped) skipped.push_back({{"id", std::to_string(id)}, {"reason", why}});
    json j = {{"access", access.Kind()}, {"changed", changed}, {"skipped", skipped},
              {"batches", result.changed.size()}, {"events", result.events}};
    if (access.live()) j["pid"] = access.pid();
    if (!s.ok()) j["error"] = s.message();
    Line(j);
  } else {
    for (const auto& c : result.changed) {
      fmt::print("{} batch {}: {} {}\n", done, c.id, Count(c.events, "event"),
                 c.route.empty() ? "without a route" : "of " + c.route);
    }
    for (const auto& [id, why] : result.skipped) fmt::print("skipped batch {}: {}\n", id, why);
    if (s.ok()) {
      fmt::print("{} {}, {}\n", done, Count(result.changed.size(), "batch"), Count(result.events, "event"));
    }
  }
  return s.ok() ? kExitOk : Fail(s);
}

}  // namespace

int Fail(const Status& s) {
  fmt::print(stderr, "sentinel-spool: {}\n", s.message());
  if (s.IsNotFound()) return kExitNotFound;
  if (s.IsBusy()) return kExitBusy;
  return kExitError;
}

int Usage(const std::string& message) {
  fmt::print(stderr, "sentinel-spool: {}\nRun with --help for usage.\n", message);
  return kExitUsage;
}

int Stats(const CommandOptions& o) {
  Access access;
  Status s = OpenAccess(o, Intent::kRead, &access);
  if (!s.ok()) return Fail(s);
  spool::SpoolStats st;
  s = access.spool()->Stats(&st);
  std::vector<spool::PartitionOffset> offsets;
  if (s.ok()) s = access.spool()->SourceOffsets(&offsets);
  if (!s.ok()) return Fail(s);
  const int64_t now = NowMs();
  const uint64_t max = access.max_bytes() > 0 ? access.max_bytes() : st.max_bytes;
  uint64_t pending_events = 0, pending_bytes = 0, in_doubt = 0;
  int64_t oldest = 0;
  for (const auto& [name, r] : st.routes) {
    in_doubt += r.in_doubt_events;
    pending_events += r.pending_events;
    pending_bytes += r.pending_bytes;
    if (r.oldest_enqueued_ms > 0 && (oldest == 0 || r.oldest_enqueued_ms < oldest)) oldest = r.oldest_enqueued_ms;
  }

  if (o.json) {
    json routes = json::array();
    for (const auto& [name, r] : st.routes) {
      routes.push_back(PendingJson(name, r, now));
      if (r.in_doubt_events > 0) routes.back()["in_doubt_events"] = r.in_doubt_events;
    }
    json offs = json::array();
    for (const auto& p : offsets) offs.push_back({{"topic", p.topic}, {"partition", p.partition}, {"offset", p.offset}});
    json j = {{"spool", access.dir()},
              {"access", access.Kind()},
              {"used_bytes", st.used_bytes},
              {"max_bytes", max},
              {"max_bytes_source", access.max_bytes_source()},
              {"disk_bytes", st.disk_bytes},
              {"pending_events", pending_events},
              {"pending_bytes", pending_bytes},
              {"in_doubt_events", in_doubt},
              {"failed_batches", st.failed_batches},
              {"failed_events", st.failed_events},
              {"failed_bytes", st.failed_bytes},
              {"appended_total", st.appended_total},
              {"acked_total", st.acked_total},
              {"quarantined_total", st.quarantined_total},
              {"routes", routes},
              {"offsets", offs}};
    if (access.live()) j["pid"] = access.pid();
    if (oldest > 0) j["oldest_enqueued"] = IsoTime(oldest);
    Line(j);
    return kExitOk;
  }

  const char* max_note = std::string_view(access.max_bytes_source()) == "default"
                             ? "; the default maximum: --config shows yours"
                             : "";
  fmt::print("spool     {}\n", access.dir());
  fmt::print("used      {} of {} ({:.1f}%{})\n", HumanBytes(st.used_bytes), HumanBytes(max),
             max > 0 ? 100.0 * static_cast<double>(st.used_bytes) / static_cast<double>(max) : 0.0, max_note);
  fmt::print("disk      {} (RocksDB files)\n", HumanBytes(st.disk_bytes));
  fmt::print("pending   {} events, {}{}\n", pending_events, HumanBytes(pending_bytes),
             oldest > 0 ? ", oldest " + HumanAge(now - oldest) : "");
  if (in_doubt > 0) {
    // Pending events of batches that were being posted when the gateway stopped: Azure may hold
    // them already. [sentinel] dedupe = "query" checks before posting them (issue 15).
    fmt::print("in doubt  {} events (being posted when the gateway stopped)\n", in_doubt);
  }
  fmt::print("failed    {} batches, {} events, {}\n", st.failed_batches, st.failed_events, HumanBytes(st.failed_bytes));
  fmt::print("lifetime  {} appended, {} delivered, {} quarantined\n", st.appended_total, st.acked_total,
             st.quarantined_total);
  if (!st.routes.empty()) {
    fmt::print("\n");
    PrintRouteTable(st.routes, "ROUTE", now);
  }
  if (in_doubt > 0) {
    const size_t rw = RouteWidth(30);
    fmt::print("\n{:<{}}  {:>8}\n", "ROUTE", rw, "IN DOUBT");
    for (const auto& [name, r] : st.routes) {
      if (r.in_doubt_events > 0) fmt::print("{:<{}}  {:>8}\n", FitLeft(name, rw), rw, r.in_doubt_events);
    }
  }
  if (!offsets.empty()) {
    const size_t tw = RouteWidth(30);
    fmt::print("\n{:<{}}  {:>9}  {:>17}\n", "KAFKA TOPIC", tw, "PARTITION", "SPOOLED UP TO");
    for (const auto& p : offsets) fmt::print("{:<{}}  {:>9}  {:>17}\n", FitLeft(p.topic, tw), tw, p.partition, p.offset);
  }
  return kExitOk;
}

int List(const CommandOptions& o) {
  Access access;
  Status s = OpenAccess(o, Intent::kRead, &access);
  if (!s.ok()) return Fail(s);
  spool::Spool* spool = access.spool();
  const int64_t now = NowMs();
  if (!o.route.empty() && !RouteKnown(spool, o.route)) {
    return Fail(Status::NotFound(fmt::format("no route named '{}' in this spool", o.route)));
  }

  // Pending events are not batched in the spool (the drainer forms its batches when it reads), so
  // they are listed as one line per route: its id is the route name.
  std::map<std::string, spool::RouteStats> pending;
  if (!o.failed_only) {
    spool::SpoolStats st;
    s = spool->Stats(&st);
    if (!s.ok()) return Fail(s);
    for (const auto& [name, r] : st.routes) {
      if (r.pending_events > 0 && (o.route.empty() || name == o.route)) pending[name] = r;
    }
  }
  // Failed batches, without their events (only the line's fields are kept), grouped by route.
  struct FailedLine {
    spool::FailedBatch meta;
    uint64_t events = 0;
  };
  std::vector<FailedLine> failed;
  s = ForEachFailed(spool, o.route, o.limit, [&](spool::FailedBatch& fb) {
    FailedLine line;
    line.events = fb.events.size();
    fb.events.clear();
    line.meta = std::move(fb);
    failed.push_back(std::move(line));
  });
  if (!s.ok()) return Fail(s);

  if (o.json) {
    for (const auto& [name, r] : pending) Line(PendingJson(name, r, now));
    for (FailedLine& f : failed) {
      json j = FailedJson(f.meta, now);
      j["events"] = f.events;
      Line(j);
    }
    return kExitOk;
  }

  if (!o.failed_only) {
    if (pending.empty()) {
      fmt::print("no pending events\n");
    } else {
      PrintRouteTable(pending, "PENDING (id = route)", now);
    }
  }
  if (failed.empty()) {
    if (!o.failed_only) fmt::print("\n");
    fmt::print("no failed batches\n");
    return kExitOk;
  }
  std::vector<std::string> order;  // routes in the order of their oldest failed batch
  std::map<std::string, std::vector<const FailedLine*>> by_route;
  for (const FailedLine& f : failed) {
    auto& v = by_route[f.meta.route];
    if (v.empty()) order.push_back(f.meta.route);
    v.push_back(&f);
  }
  const size_t w = TerminalWidth();
  const size_t reason_w = w > 47 + 10 ? w - 47 : 10;
  bool first_group = true;
  for (const std::string& route : order) {
    if (!o.failed_only || !first_group) fmt::print("\n");  // a blank line between tables
    first_group = false;
    fmt::print("FAILED {}\n", route.empty() ? "(no route: input that could not be classified)" : Fit(route, w - 7));
    fmt::print("{:>6}  {:>6}  {:>10}  {:>6}  {:>4}  {:>3}  {}\n", "ID", "EVENTS", "BYTES", "AGE", "HTTP",
               "TRY", "REASON");
    for (const FailedLine* f : by_route[route]) {
      const spool::FailedBatch& b = f->meta;
      fmt::print("{:>6}  {:>6}  {:>10}  {:>6}  {:>4}  {:>3}  {}\n", b.id, f->events, HumanBytes(b.bytes),
                 HumanAge(now - b.why.first_failure_ms), b.why.http_status > 0 ? std::to_string(b.why.http_status) : "-",
                 b.why.attempts, Fit(ReasonText(b.why), reason_w));
    }
  }
  return kExitOk;
}

int Show(const CommandOptions& o) {
  if (o.ids.size() != 1) return Usage("show takes exactly one id");
  Access access;
  Status s = OpenAccess(o, Intent::kRead, &access);
  if (!s.ok()) return Fail(s);
  spool::Spool* spool = access.spool();
  const int64_t now = NowMs();
  const Target t = ParseTarget(o.ids[0]);
  const size_t limit = o.limit;  // 0: all

  if (t.failed) {
    spool::FailedBatch fb;
    s = spool->GetFailed(t.id, &fb);
    if (s.IsNotFound()) return Fail(UnknownId(o.ids[0]));
    if (!s.ok()) return Fail(s);
    const size_t total = fb.events.size();
    std::vector<spool::PendingEvent> shown(fb.events.begin(),
                                    fb.events.begin() + static_cast<std::ptrdiff_t>(limit > 0 ? std::min(limit, total) : total));
    if (o.json) {
      json j = FailedJson(fb, now);
      json events = json::array();
      for (const spool::PendingEvent& e : shown) events.push_back(EventJson(o.ids[0], "failed", fb.route, e));
      j["event_list"] = std::move(events);
      j["events_shown"] = shown.size();
      Line(j);
      return kExitOk;
    }
    fmt::print("failed batch {}\n", fb.id);
    fmt::print("  route         {}\n", fb.route.empty() ? "(none: input that could not be classified)" : fb.route);
    fmt::print("  events        {} ({})\n", total, HumanBytes(fb.bytes));
    fmt::print("  http status   {}\n", fb.why.http_status > 0 ? std::to_string(fb.why.http_status) : "- (no HTTP answer)");
    fmt::print("  reason        {}\n", fb.why.reason.empty() ? "-" : fb.why.reason);
    fmt::print("  attempts      {}\n", fb.why.attempts);
    fmt::print("  first failed  {} ({} ago)\n", HumanTime(fb.why.first_failure_ms), HumanAge(now - fb.why.first_failure_ms));
    fmt::print("  last failed   {} ({} ago)\n", HumanTime(fb.why.last_failure_ms), HumanAge(now - fb.why.last_failure_ms));
    std::vector<std::string> sources = SourceSummary(fb.events);
    for (size_t i = 0; i < sources.size(); ++i) {
      fmt::print("  {:<14}{}\n", i == 0 ? "source" : "", sources[i]);
    }
    fmt::print("error text\n");
    if (fb.why.error_text.empty()) {
      fmt::print("  -\n");
    } else {
      PrintWrapped(fb.why.error_text, TerminalWidth(), "  ");
    }
    PrintEvents(shown, total, now);
    return kExitOk;
  }

  if (!RouteKnown(spool, t.route)) return Fail(UnknownId(o.ids[0]));
  spool::SpoolStats st;
  s = spool->Stats(&st);
  if (!s.ok()) return Fail(s);
  const spool::RouteStats r = st.routes[t.route];
  std::vector<spool::PendingEvent> shown;
  s = ForEachPending(spool, t.route, limit, [&](std::vector<spool::PendingEvent>& page) {
    for (spool::PendingEvent& e : page) shown.push_back(std::move(e));
  });
  if (!s.ok()) return Fail(s);
  if (o.json) {
    json j = PendingJson(t.route, r, now);
    json events = json::array();
    for (const spool::PendingEvent& e : shown) events.push_back(EventJson(t.route, "pending", t.route, e));
    j["event_list"] = std::move(events);
    j["events_shown"] = shown.size();
    Line(j);
    return kExitOk;
  }
  fmt::print("pending events of route {}\n", t.route);
  fmt::print("  events        {} ({})\n", r.pending_events, HumanBytes(r.pending_bytes));
  if (r.oldest_enqueued_ms > 0) {
    fmt::print("  oldest        {} ({} ago)\n", HumanTime(r.oldest_enqueued_ms), HumanAge(now - r.oldest_enqueued_ms));
  }
  PrintEvents(shown, std::max<size_t>(r.pending_events, shown.size()), now);
  return kExitOk;
}

int Export(const CommandOptions& o) {
  Access access;
  Status s = OpenAccess(o, Intent::kRead, &access);
  if (!s.ok()) return Fail(s);
  spool::Spool* spool = access.spool();
  uint64_t count = 0;
  auto emit = [&](const std::string& id, const char* kind, const std::string& route, const spool::PendingEvent& e) {
    ++count;
    if (o.raw) {
      fmt::print("{}\n", e.payload);
    } else {
      Line(EventJson(id, kind, route, e));
    }
  };
  auto export_failed = [&](const spool::FailedBatch& fb) {
    for (const spool::PendingEvent& e : fb.events) emit(std::to_string(fb.id), "failed", fb.route, e);
  };
  auto export_pending = [&](const std::string& route) {
    return ForEachPending(spool, route, 0, [&](std::vector<spool::PendingEvent>& page) {
      for (const spool::PendingEvent& e : page) emit(route, "pending", route, e);
    });
  };

  if (!o.ids.empty()) {
    std::vector<std::string> ids;
    s = CollectIds(o.ids, &ids);
    if (!s.ok()) return Usage(s.message());
    // Every id is checked before anything is printed, so a typo never yields half an export.
    for (const std::string& id : ids) {
      Target t = ParseTarget(id);
      spool::FailedBatch fb;
      if (t.failed ? !spool->GetFailed(t.id, &fb).ok() : !RouteKnown(spool, t.route)) {
        return Fail(UnknownId(id));
      }
    }
    for (const std::string& id : ids) {
      Target t = ParseTarget(id);
      if (t.failed) {
        spool::FailedBatch fb;
        s = spool->GetFailed(t.id, &fb);
        if (s.ok()) export_failed(fb);
      } else {
        s = export_pending(t.route);
      }
      if (!s.ok()) return Fail(s);
    }
  } else {
    if (!o.route.empty() && !RouteKnown(spool, o.route)) {
      return Fail(Status::NotFound(fmt::format("no route named '{}' in this spool", o.route)));
    }
    if (!o.failed_only) {
      for (const std::string& route : spool->Routes()) {
        if (!o.route.empty() && route != o.route) continue;
        s = export_pending(route);
        if (!s.ok()) return Fail(s);
      }
    }
    s = ForEachFailed(spool, o.route, 0, [&](spool::FailedBatch& fb) { export_failed(fb); });
    if (!s.ok()) return Fail(s);
  }
  std::fflush(stdout);
  fmt::print(stderr, "sentinel-spool: exported {} events\n", count);
  return kExitOk;
}

int Requeue(const CommandOptions& o) {
  control::ChangeRequest r;
  r.op = control::ChangeRequest::Op::kRequeue;
  if (o.all) {
    if (!o.ids.empty()) return Usage("requeue takes batch ids or --all, not both");
    r.all = true;
    r.route = o.route;
    r.http_status = o.http_status;
  } else {
    if (!o.route.empty() || o.http_status >= 0) return Usage("--route and --status go with --all");
    if (o.ids.empty()) return Usage("requeue needs batch ids, - (ids on stdin) or --all");
    std::vector<std::string> ids;
    Status s = CollectIds(o.ids, &ids, /*requeue=*/true);
    if (s.ok()) s = BatchIds(ids, "requeued", &r.ids);
    if (!s.ok()) return Usage(s.message());
    if (r.ids.empty()) {
      fmt::print(stderr, "sentinel-spool: no batch ids given on stdin; nothing to requeue\n");
      return kExitOk;
    }
  }
  return ChangeCommand(o, r, "requeued");
}

int Drop(const CommandOptions& o) {
  if (o.ids.empty()) return Usage("drop needs batch ids (or - to read them from stdin)");
  if (!o.yes) {
    return Usage("drop deletes failed batches and their events for good; add --yes to confirm "
                 "(`export ID...` keeps a copy first)");
  }
  control::ChangeRequest r;
  r.op = control::ChangeRequest::Op::kDrop;
  std::vector<std::string> ids;
  Status s = CollectIds(o.ids, &ids);
  if (s.ok()) s = BatchIds(ids, "dropped", &r.ids);
  if (!s.ok()) return Usage(s.message());
  if (r.ids.empty()) {
    fmt::print(stderr, "sentinel-spool: no batch ids given on stdin; nothing to drop\n");
    return kExitOk;
  }
  return ChangeCommand(o, r, "dropped");
}

}  // namespace sg::spooltool
