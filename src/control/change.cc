// ApplyChange: requeue and drop of failed batches, shared by the offline tool and the live server.
#include <algorithm>

#include <fmt/format.h>

#include "sentinel_gateway/control.h"

namespace sg::control {
namespace {

// Failed batches are decoded whole (events included) when listed; a small page bounds memory.
constexpr size_t kPage = 16;

bool Matches(const spool::FailedBatch& fb, const ChangeRequest& r) {
  return r.http_status < 0 || fb.why.http_status == r.http_status;
}

}  // namespace

std::string SocketPath(const std::string& spool_dir) {
  std::string dir = spool_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + "/" + kSocketName;
}

Status ApplyChange(spool::Spool* spool, const ChangeRequest& request, ChangeResult* result) {
  *result = ChangeResult();
  const bool requeue = request.op == ChangeRequest::Op::kRequeue;
  const char* verb = requeue ? "requeue" : "drop";

  // The targets, each with its route and event count, checked before anything changes.
  std::vector<BatchChange> targets;
  if (request.all) {
    if (!requeue) return Status::InvalidArgument("drop takes explicit batch ids, never all");
    if (!request.ids.empty()) return Status::InvalidArgument("give batch ids or all, not both");
    // Collected first and bounded to what exists now: batches that fail again while we requeue
    // get new ids and are not chased.
    uint64_t after = 0;
    for (;;) {
      std::vector<spool::FailedBatch> page;
      Status s = spool->ListFailed(after, kPage, request.route, &page);
      if (!s.ok()) return s;
      for (const spool::FailedBatch& fb : page) {
        after = fb.id;
        if (!Matches(fb, request)) continue;
        if (fb.route.empty()) {
          result->skipped.emplace_back(
              fb.id, "no route (input that could not be classified): export or drop it");
          continue;
        }
        targets.push_back({fb.id, fb.route, fb.events.size()});
      }
      if (page.size() < kPage) break;
    }
  } else {
    if (request.ids.empty()) return Status::InvalidArgument(fmt::format("{} needs batch ids", verb));
    std::vector<uint64_t> ids = request.ids;
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (uint64_t id : ids) {
      spool::FailedBatch fb;
      Status s = spool->GetFailed(id, &fb);
      if (s.IsNotFound()) {
        return Status::NotFound(fmt::format("no failed batch {}; nothing was changed", id));
      }
      if (!s.ok()) return s;
      if (requeue && fb.route.empty()) {
        return Status::InvalidArgument(fmt::format(
            "failed batch {} has no route (its input could not be classified) and cannot be "
            "requeued; export or drop it. Nothing was changed",
            id));
      }
      targets.push_back({id, fb.route, fb.events.size()});
    }
  }

  for (const BatchChange& t : targets) {
    Status s;
    uint64_t events = t.events;
    if (requeue) {
      size_t moved = 0;
      s = spool->Requeue(t.id, &moved);
      events = moved;
    } else {
      s = spool->Drop(t.id);
    }
    if (s.IsNotFound()) {
      // Requeued or dropped by someone else between the check and now: the batch is gone either way.
      result->skipped.emplace_back(t.id, "no longer failed (changed meanwhile)");
      continue;
    }
    if (!s.ok()) return s;  // `result` lists the batches already changed
    result->changed.push_back({t.id, t.route, events});
    result->events += events;
  }
  return Status::OK();
}

}  // namespace sg::control
