#include <condition_variable>
#include <functional>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "sentinel_gateway/azure/backoff.h"
#include "sentinel_gateway/azure/compression.h"
#include "sentinel_gateway/azure/ingestion_client.h"
#include "sentinel_gateway/deliver.h"
#include "sentinel_gateway/deliver/batch_builder.h"
#include "sentinel_gateway/deliver/bisect.h"
#include "sentinel_gateway/deliver/shaper.h"
#include "sentinel_gateway/thread_name.h"

namespace sg::deliver {

using Clock = std::chrono::steady_clock;
using azure::Outcome;
using azure::PostResult;

const char* RouteStateName(RouteState state) {
  switch (state) {
    case RouteState::kIdle: return "idle";
    case RouteState::kDelivering: return "delivering";
    case RouteState::kRetrying: return "retrying";
    case RouteState::kAuthError: return "auth_error";
  }
  return "?";
}

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A batch's share of the read-ahead (ReserveReadAhead), given back when the batch is gone,
// whichever way it goes: delivered, never queued because of a stop, or left in a queue at a stop.
class ReadAheadShare {
 public:
  ReadAheadShare() = default;
  ReadAheadShare(uint64_t bytes, std::function<void(uint64_t)> give_back)
      : bytes_(bytes), give_back_(std::move(give_back)) {}
  ReadAheadShare(ReadAheadShare&& o) noexcept
      : bytes_(std::exchange(o.bytes_, 0)), give_back_(std::move(o.give_back_)) {}
  ReadAheadShare& operator=(ReadAheadShare&& o) noexcept {
    if (this != &o) {
      GiveBack();
      bytes_ = std::exchange(o.bytes_, 0);
      give_back_ = std::move(o.give_back_);
    }
    return *this;
  }
  ReadAheadShare(const ReadAheadShare&) = delete;
  ReadAheadShare& operator=(const ReadAheadShare&) = delete;
  ~ReadAheadShare() { GiveBack(); }

 private:
  void GiveBack() {
    if (bytes_ > 0 && give_back_) give_back_(bytes_);
    bytes_ = 0;
  }
  uint64_t bytes_ = 0;
  std::function<void(uint64_t)> give_back_;
};

struct Batch {
  std::vector<spool::PendingEvent> events;
  std::vector<std::string> rows;  // shaped, parallel to events
  ReadAheadShare read_ahead;      // what it holds of the read-ahead
};

}  // namespace

struct Lane {
  RouteConfig config;
  std::thread reader;
  std::vector<std::thread> workers;

  // Batches ready to send; bounded so that the reader runs at most `concurrency` batches ahead.
  std::mutex qmu;
  std::condition_variable qcv;
  std::deque<std::shared_ptr<Batch>> queue;
  bool closed = false;

  mutable std::mutex cmu;
  RouteCounters counters;
  std::set<std::string> undeclared_logged;
  std::set<std::string> unconvertible_logged;
  std::set<std::string> colliding_logged;
  // A 400 that both halves of a split got alike: the request as a whole is wrong (docs/AZURE.md,
  // "Request-level errors"). Until a request succeeds, that answer holds the route like a 401.
  std::string request_level_error;  // RefusalKey of it; empty: none known
  // No request on this route before this (a Retry-After it received); guarded by Impl::mu.
  Clock::time_point gate_until{};
  // Backoff probes (guarded by Impl::mu): the next time a backing-off worker may try early, and
  // the requests that succeeded, whose change wakes the route's sleeping workers.
  Clock::time_point next_probe{};
  uint64_t successes = 0;
  // gzip bodies (guarded by cmu): the running compression ratio sizes the batches; after a 413 to
  // a body within the compressed cap, the route keeps its JSON within that cap instead.
  CompressionRatio ratio;
  bool json_cap_fallback = false;
  // Exactly once after a crash: the in-doubt ranges found at start (set before the lane's threads
  // start, then only read). The reader skips their events; the resolver settles them and hands
  // those to be posted back through `released` (guarded by rmu).
  std::vector<spool::InDoubtRange> held;    // merged: disjoint, by first seq
  std::vector<uint64_t> held_keys;
  bool mark_failing = false;         // guarded by cmu: the last in-flight mark was refused   // the spool's in-doubt marks behind them (cleared when settled)
  std::mutex rmu;
  std::deque<spool::PendingEvent> released;

  bool Held(uint64_t seq) const {
    for (const auto& r : held) {
      if (seq >= r.first_seq && seq <= r.last_seq) return true;
    }
    return false;
  }
};

namespace {

// What makes two 400 answers "the same": Azure's error code, or its text when it gave none.
std::string RefusalKey(const PostResult& r) {
  return fmt::format("{} {}", r.http_status, r.error_code.empty() ? r.error_text : r.error_code);
}

}  // namespace

struct Drainer::Impl {
  DrainerOptions options;
  azure::AzureOptions azure;
  spool::Spool* spool = nullptr;
  size_t max_body = 0;      // the cap of a request body as sent (compressed when `compress`)
  bool compress = false;    // Logs Ingestion with gzip: the drainer compresses, and sizes by it
  std::shared_ptr<AzureClients> clients;  // options.clients, or the HTTPS ones
  mutable std::mutex lanes_mu;  // guards the list; a lane, once started, lives until Stop
  std::vector<std::unique_ptr<Lane>> lanes;

  void StartLane(std::unique_ptr<Lane> lane) {  // lanes_mu held
    Lane* l = lane.get();
    lanes.push_back(std::move(lane));
    for (int i = 0; i < options.concurrency; ++i) {
      ++running_workers;
      l->workers.emplace_back([this, l] {
        NameThisThread("sg-drain-send");  // shaping is the reader's; gzip and HTTPS are here
        Worker(*l);
      });
    }
    l->reader = std::thread([this, l] {
      NameThisThread("sg-drain-read");  // spool reads and shaping
      Reader(*l);
    });
  }

  // The read-ahead of all lanes (ReserveReadAhead); each lane's share is in its counters.
  std::mutex ra_mu;
  std::condition_variable ra_cv;
  uint64_t read_ahead = 0;

  std::atomic<bool> stopping{false};  // no new batches, no new attempts
  std::atomic<bool> cancel{false};    // abort requests in flight
  std::mutex mu;                      // guards wake-ups and the lanes' Retry-After gates
  std::condition_variable cv;
  uint64_t notify_generation = 0;

  std::atomic<int> running_workers{0};
  std::condition_variable done_cv;

  // Sleeps until `deadline`, Notify() (when wake_on_notify) or stop. False when stopping.
  bool SleepUntil(Clock::time_point deadline, bool wake_on_notify) {
    std::unique_lock<std::mutex> lock(mu);
    uint64_t gen = notify_generation;
    cv.wait_until(lock, deadline, [&] {
      return stopping.load() || (wake_on_notify && notify_generation != gen);
    });
    return !stopping.load();
  }

  void SetState(Lane& lane, RouteState state, const std::string& error) {
    RouteState old;
    {
      std::lock_guard<std::mutex> lock(lane.cmu);
      old = lane.counters.state;
      lane.counters.state = state;
      if (!error.empty()) lane.counters.last_error = error;
    }
    if (old == state) return;
    const std::string& route = lane.config.route;
    if (state == RouteState::kAuthError) {
      spdlog::error("route {}: Azure refuses the credentials or the destination ({}); retrying with "
                    "backoff and a fresh token, events stay in the spool until this is fixed",
                    route, error);
    } else if (state == RouteState::kRetrying) {
      spdlog::warn("route {}: delivery failing ({}); retrying with backoff, nothing is dropped",
                   route, error);
    } else if (old == RouteState::kRetrying || old == RouteState::kAuthError) {
      spdlog::info("route {}: delivery resumed", route);
    }
  }

  // ---- reader ----

  void Reader(Lane& lane) {
    const std::string& route = lane.config.route;
    ShapeOptions shape;
    shape.set_time_generated = azure.api == azure::Api::kLogsIngestion;
    shape.azure_column_names = azure.api == azure::Api::kLogsIngestion;
    shape.timestamp_field = options.timestamp_field;
    shape.event_id_field = options.event_id_field;
    shape.schema = lane.config.schema ? &*lane.config.schema : nullptr;
    // Hash lookups for each field of each event; rebuilt whenever the schema in use changes.
    std::optional<azure::ColumnIndex> index;
    auto reindex = [&] {
      if (shape.schema == nullptr) {
        index.reset();
      } else if (!index || index->schema() != shape.schema) {
        index.emplace(*shape.schema);
      }
      shape.index = index ? &*index : nullptr;
    };
    reindex();
    const size_t max_events = std::max<size_t>(1, options.max_batch_events);
    size_t budget = JsonBudget(lane);

    uint64_t cursor = 0;
    std::deque<std::pair<spool::PendingEvent, std::string>> carry;
    size_t carry_bytes = 0;
    Clock::time_point carry_since{};
    bool read_error_logged = false;
    uint64_t board_generation = 0;  // of the SchemaBoard entry in use
    std::shared_ptr<const azure::StreamSchema> board_schema;

    while (!stopping.load()) {
      bool spool_empty = false;
      budget = JsonBudget(lane);
      bool full = carry.size() >= max_events || carry_bytes + carry.size() + 1 >= budget;
      if (!full) {
        std::vector<spool::PendingEvent> events;
        // Events released by a resolution come first (the reader's cursor is past them).
        bool from_released = false;
        {
          std::lock_guard<std::mutex> lock(lane.rmu);
          while (!lane.released.empty() && events.size() < max_events - carry.size()) {
            events.push_back(std::move(lane.released.front()));
            lane.released.pop_front();
          }
          from_released = !events.empty();
        }
        Status s = from_released ? Status::OK()
                                 : spool->Read(route, cursor, max_events - carry.size(), budget, &events);
        if (!s.ok() && !s.IsNotFound()) {
          if (!read_error_logged) spdlog::error("route {}: spool read failed: {}", route, s.ToString());
          read_error_logged = true;
          SleepUntil(Clock::now() + options.poll_interval, false);
          continue;
        }
        read_error_logged = false;
        spool_empty = events.empty() && !from_released;
        shape.now_s = NowMs() / 1000;
        if (options.schema_board && options.schema_board->generation() != board_generation) {
          board_schema = options.schema_board->Get(lane.config.target, &board_generation);
          shape.schema = board_schema ? board_schema.get() : lane.config.schema ? &*lane.config.schema : nullptr;
          index.reset();  // a new schema may sit where the old one was freed: never reuse by address
          reindex();
        }
        for (auto& ev : events) {
          if (!from_released) {
            cursor = ev.seq;
            if (!lane.held.empty() && lane.Held(ev.seq)) continue;  // in doubt: the resolver's
          }
          std::string row;
          ShapeReport report;
          Status st = ShapeEvent(ev.payload, ev.source, shape, &row, &report);
          NoteShapeReport(lane, report);
          if (st.ok() && !BatchBuilder(max_body, 1).FitsAlone(row.size())) {
            st = Status::Rejected(fmt::format("event of {} bytes exceeds the request limit of {} "
                                              "bytes", row.size(), max_body));
          }
          if (!st.ok()) {
            FailEvents(lane, {ev.seq}, st.code() == Status::Code::kRejected ? 413 : 0,
                       st.code() == Status::Code::kRejected ? "too_large" : "invalid_event",
                       st.message(), 1);
            continue;
          }
          // Shaped: the row is what is sent; the payload is not needed again (the ack takes its
          // size, a refusal moves the event by its sequence), so memory holds one copy, not two.
          std::string().swap(ev.payload);
          if (carry.empty()) carry_since = Clock::now();
          carry_bytes += row.size();
          carry.emplace_back(std::move(ev), std::move(row));
        }
        if (compress && !carry.empty() && MeasureRatioOnce(lane, carry)) {
          budget = JsonBudget(lane);
        }
        full = carry.size() >= max_events || carry_bytes + carry.size() + 1 >= budget;
      }
      if (carry.empty()) {
        MarkIdleIfDone(lane);
        SleepUntil(Clock::now() + options.poll_interval, true);
        continue;
      }
      Clock::time_point due = carry_since + options.linger;
      if (!full && Clock::now() < due) {
        // Not full and the spool had nothing more: wait for the linger time or new events.
        if (spool_empty) SleepUntil(std::min(due, Clock::now() + options.poll_interval), true);
        continue;
      }
      auto batch = std::make_shared<Batch>();
      BatchBuilder builder(budget, max_events);
      while (!carry.empty() && builder.CanAdd(carry.front().second.size())) {
        builder.Add(carry.front().second.size());
        carry_bytes -= carry.front().second.size();
        batch->events.push_back(std::move(carry.front().first));
        batch->rows.push_back(std::move(carry.front().second));
        carry.pop_front();
      }
      carry_since = Clock::now();
      SortBySeq(batch.get());
      if (!ReserveReadAhead(lane, *batch)) break;
      if (!Enqueue(lane, std::move(batch))) break;
    }
    std::lock_guard<std::mutex> lock(lane.qmu);
    lane.closed = true;
    lane.qcv.notify_all();
  }

  // Acks take events in seq order; a batch mixes older released events with newer ones only
  // after a resolution, so it is sorted only then.
  static void SortBySeq(Batch* batch) {
    auto& ev = batch->events;
    bool sorted = true;
    for (size_t i = 1; i < ev.size() && sorted; ++i) sorted = ev[i - 1].seq < ev[i].seq;
    if (sorted) return;
    std::vector<size_t> order(ev.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ev[a].seq < ev[b].seq; });
    Batch out;
    out.events.reserve(ev.size());
    out.rows.reserve(ev.size());
    for (size_t i : order) {
      out.events.push_back(std::move(ev[i]));
      out.rows.push_back(std::move(batch->rows[i]));
    }
    *batch = std::move(out);
  }

  // JSON bytes the next batch may hold. Uncompressed bodies: the cap itself. gzip bodies: as much
  // as the route's compression ratio lets fit within the cap, at most 50 MiB (docs/AZURE.md, "Size
  // limits and api-version"), or the cap itself once Azure refused a body within it (413 fallback).
  size_t JsonBudget(Lane& lane) {
    if (!compress) return max_body;
    std::lock_guard<std::mutex> lock(lane.cmu);
    if (lane.json_cap_fallback) return max_body;
    return lane.ratio.Budget(max_body, azure::kLogsIngestionMaxInflatedBody);
  }

  // The route's first rows, before any body was compressed: one sample of them (about 256 KiB,
  // eight times gzip's window) gives the ratio, so that even the first batches are sized by it
  // rather than all being 1 MiB of JSON. True when it measured.
  bool MeasureRatioOnce(Lane& lane, const std::deque<std::pair<spool::PendingEvent, std::string>>& carry) {
    {
      std::lock_guard<std::mutex> lock(lane.cmu);
      if (lane.ratio.measured()) return false;
    }
    std::vector<std::string_view> rows;
    size_t bytes = 0;
    for (const auto& [ev, row] : carry) {
      if (bytes >= 256 * 1024) break;
      rows.push_back(row);
      bytes += row.size() + 1;
    }
    std::string zipped;
    if (!azure::GzipCompress(JoinRows(rows, 0, rows.size()), &zipped).ok()) return false;
    std::lock_guard<std::mutex> lock(lane.cmu);
    lane.ratio.Observe(bytes + 1, zipped.size());
    return true;
  }

  // Azure answered 413 to a gzip body within the compressed cap whose JSON was over it: this
  // Azure (or a proxy before it) counts the decompressed size. From now on the route keeps its
  // JSON within the cap, as Microsoft's SDKs do; logged once, counted.
  void FallBackToJsonCap(Lane& lane, const PostResult& r, size_t sent, size_t json) {
    {
      std::lock_guard<std::mutex> lock(lane.cmu);
      if (lane.json_cap_fallback) return;
      lane.json_cap_fallback = true;
      lane.counters.json_cap_fallback = true;
    }
    spdlog::warn("route {}: Azure refused a gzip body of {} bytes ({} bytes of JSON) as too large "
                 "({}), though within the {}-byte cap on the body as sent; from now on this route "
                 "sends at most {} bytes of JSON per request",
                 lane.config.route, sent, json, r.Describe(), max_body, max_body);
  }

  // Nothing read, queued or in flight: a delivering lane is idle (no log line for this change).
  void MarkIdleIfDone(Lane& lane) {
    {
      std::lock_guard<std::mutex> q(lane.qmu);
      if (!lane.queue.empty()) return;
    }
    std::lock_guard<std::mutex> lock(lane.cmu);
    if (lane.counters.state == RouteState::kDelivering && lane.counters.in_flight == 0) {
      lane.counters.state = RouteState::kIdle;
    }
  }

  // Read-ahead (DeliveryOptions::read_ahead_bytes): waits until the batch fits within the bound
  // with the other batches queued or in flight, or the lane holds none (so a table in an outage,
  // whose batches are retried for as long as it lasts, never holds the others back, and a batch
  // larger than the bound still goes). False when stopping.
  bool ReserveReadAhead(Lane& lane, Batch& batch) {
    uint64_t bytes = 0;
    // What the buffers hold, not their content's length: a row is reserved larger than it ends up.
    for (const std::string& row : batch.rows) bytes += row.capacity();
    std::unique_lock<std::mutex> lock(ra_mu);
    while (!stopping.load()) {
      uint64_t mine;
      {
        std::lock_guard<std::mutex> c(lane.cmu);
        mine = lane.counters.read_ahead_bytes;
      }
      if (mine == 0 || read_ahead + bytes <= options.read_ahead_bytes) {
        read_ahead += bytes;
        {
          std::lock_guard<std::mutex> c(lane.cmu);
          lane.counters.read_ahead_bytes += bytes;
        }
        batch.read_ahead = ReadAheadShare(bytes, [this, &lane](uint64_t n) { ReleaseReadAhead(lane, n); });
        return true;
      }
      ra_cv.wait_for(lock, std::chrono::milliseconds(100));
    }
    return false;
  }

  void ReleaseReadAhead(Lane& lane, uint64_t bytes) {
    {
      std::lock_guard<std::mutex> lock(ra_mu);
      read_ahead -= bytes;
      std::lock_guard<std::mutex> c(lane.cmu);
      lane.counters.read_ahead_bytes -= bytes;
    }
    ra_cv.notify_all();
  }

  bool Enqueue(Lane& lane, std::shared_ptr<Batch> batch) {
    std::unique_lock<std::mutex> lock(lane.qmu);
    size_t cap = static_cast<size_t>(std::max(1, options.concurrency));
    while (lane.queue.size() >= cap && !stopping.load()) {
      lane.qcv.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (stopping.load()) return false;
    lane.queue.push_back(std::move(batch));
    lane.qcv.notify_all();
    return true;
  }

  static void CountField(std::map<std::string, uint64_t>* by_field, const std::string& f) {
    auto it = by_field->find(f);
    if (it == by_field->end()) {
      it = by_field->size() < kMaxFieldsCounted ? by_field->emplace(f, 0).first
                                                : by_field->emplace("(other)", 0).first;
    }
    ++it->second;
  }

  void NoteShapeReport(Lane& lane, const ShapeReport& report) {
    if (report.undeclared.empty() && report.unconvertible.empty() && report.collided.empty() &&
        !report.time_replaced) {
      return;
    }
    std::lock_guard<std::mutex> lock(lane.cmu);
    lane.counters.undeclared_fields += report.undeclared.size();
    lane.counters.unconvertible_values += report.unconvertible.size();
    lane.counters.colliding_fields += report.collided.size();
    if (report.time_replaced) ++lane.counters.time_replaced_events;
    const bool catch_all = report.catch_all;
    // Each field is counted, and logged the first time (up to kMaxFieldsCounted names per kind).
    auto tally = [&](const std::vector<std::string>& fields, std::map<std::string, uint64_t>* by_field,
                     std::set<std::string>* logged, const auto& warn) {
      for (const auto& f : fields) {
        CountField(by_field, f);
        if (logged->size() < kMaxFieldsCounted && logged->insert(f).second) warn(f);
      }
    };
    tally(report.undeclared, &lane.counters.undeclared_by_field, &lane.undeclared_logged, [&](const std::string& f) {
      if (catch_all) {
        spdlog::warn("route {}: field '{}' is not declared by stream {}; it goes whole into the "
                     "AdditionalFields column", lane.config.route, f, lane.config.target);
      } else {
        spdlog::warn("route {}: field '{}' is not declared by stream {}, which has no "
                     "AdditionalFields column; Azure drops it: declare it in the DCR to keep it",
                     lane.config.route, f, lane.config.target);
      }
    });
    tally(report.unconvertible, &lane.counters.unconvertible_by_field, &lane.unconvertible_logged,
          [&](const std::string& f) {
            spdlog::warn("route {}: field '{}' has a value that cannot be converted to its declared "
                         "type; {}", lane.config.route, f,
                         catch_all ? "its original text goes into the AdditionalFields column"
                                   : "sent as is (Azure drops it)");
          });
    tally(report.collided, &lane.counters.colliding_by_field, &lane.colliding_logged, [&](const std::string& f) {
      spdlog::warn("route {}: two fields of an event flatten to the column name '{}'; the first "
                   "keeps it, the other {}", lane.config.route, f,
                   catch_all ? "goes whole into the AdditionalFields column under its original path"
                             : "is dropped (the stream has no AdditionalFields column)");
    });
  }

  // Runs a spool change (an ack, a move to the failed area) until it succeeds or the drainer
  // stops. The reader has moved past these events: given up, they would stay pending and unseen
  // until the next start. While the spool refuses (disk full, a reopen), the lane waits here and
  // sends nothing more; on stop they stay pending and are sent again at the next start.
  bool ChangeSpool(Lane& lane, const char* what, const std::function<Status()>& change) {
    std::chrono::milliseconds delay = options.backoff_initial;
    bool logged = false;
    while (true) {
      Status s = change();
      if (s.ok()) {
        if (logged) spdlog::info("route {}: spool {} works again", lane.config.route, what);
        return true;
      }
      if (!logged) {
        spdlog::error("route {}: spool {} failed: {}; retrying, the events stay pending", lane.config.route,
                      what, s.ToString());
        logged = true;
      }
      SetState(lane, RouteState::kRetrying, fmt::format("spool {} failing: {}", what, s.ToString()));
      if (!SleepUntil(Clock::now() + delay, false)) return false;
      delay = std::min(delay * 2, std::chrono::milliseconds(5000));
    }
  }

  void FailEvents(Lane& lane, const std::vector<uint64_t>& seqs, int http_status,
                  const std::string& reason, const std::string& text, int attempts) {
    spool::FailureInfo why;
    why.http_status = http_status;
    why.reason = reason;
    why.error_text = text;
    why.attempts = attempts;
    why.first_failure_ms = why.last_failure_ms = NowMs();
    uint64_t id = 0;
    if (!ChangeSpool(lane, "move to the failed area",
                     [&] { return spool->Fail(lane.config.route, seqs, why, &id); })) {
      return;
    }
    spdlog::error("route {}: {} event(s) refused ({}: {}); moved to failed batch {}",
                  lane.config.route, seqs.size(), reason, text, id);
    std::lock_guard<std::mutex> lock(lane.cmu);
    lane.counters.failed_events += seqs.size();
  }

  // ---- workers ----

  void Worker(Lane& lane) {
    std::unique_ptr<azure::IngestionClient> client;
    Status s = clients->NewIngestionClient(&cancel, &client);
    if (!s.ok()) {
      spdlog::error("route {}: cannot create the Azure client: {}", lane.config.route, s.ToString());
    }
    std::mt19937_64 rng(std::random_device{}());
    while (client) {
      std::shared_ptr<Batch> batch;
      {
        std::unique_lock<std::mutex> lock(lane.qmu);
        lane.qcv.wait(lock, [&] { return !lane.queue.empty() || lane.closed || stopping.load(); });
        if (lane.queue.empty() || stopping.load()) break;
        batch = std::move(lane.queue.front());
        lane.queue.pop_front();
        lane.qcv.notify_all();
      }
      Deliver(lane, *client, rng, *batch);  // the batch's read-ahead is given back as it goes
    }
    if (--running_workers == 0) {
      std::lock_guard<std::mutex> lock(mu);
      done_cv.notify_all();
    }
  }

  void Deliver(Lane& lane, azure::IngestionClient& client, std::mt19937_64& rng, Batch& batch) {
    PostResult last_refusal;  // the latest 400/413 answer: the failed area's error text
    PostResult prev_refusal;  // the one before: the other half of a split
    // A range that cannot go out as it is (its gzip body over the cap: the ratio estimate was too
    // optimistic; or JSON over the cap after a 413 fallback) is split like a refused one, without
    // a request. A single event always fits: its JSON is within the cap (Reader).
    auto split_unsent = [&](const char* why) {
      prev_refusal = std::move(last_refusal);
      last_refusal = PostResult();
      last_refusal.http_status = 413;
      last_refusal.outcome = Outcome::kPermanent;
      last_refusal.error_text = why;
      return RangeResult::kRefused;
    };
    auto post = [&](size_t begin, size_t end) -> RangeResult {
      std::string body = JoinRows(batch.rows, begin, end);
      const size_t body_size = body.size();
      std::string zipped;
      bool gzipped = false;
      if (compress) {
        bool fallback;
        {
          std::lock_guard<std::mutex> lock(lane.cmu);
          fallback = lane.json_cap_fallback;
        }
        if (fallback && body.size() > max_body && end - begin > 1) {
          return split_unsent("JSON over the cap after the 413 fallback");
        }
        // Compressed within the cap: a body over it is split anyway, so no worker holds a buffer
        // the size of its JSON. Over the cap, the ratio is learnt from the halves.
        Status zs = azure::GzipCompress(body, max_body, &zipped);
        if (zs.ok()) {
          std::lock_guard<std::mutex> lock(lane.cmu);
          lane.ratio.Observe(body.size(), zipped.size());
        }
        if (zs.ok() && zipped.size() <= max_body) {
          gzipped = true;
        } else if (body.size() > max_body && end - begin > 1) {
          {
            std::lock_guard<std::mutex> lock(lane.cmu);
            ++lane.counters.oversize_splits;
          }
          return split_unsent("gzip body over the cap");
        }
        // Else the JSON itself is within the cap (one event, or gzip failed): sent uncompressed,
        // which Content-Encoding being optional allows.
        if (!gzipped) zipped.clear();
      }
      // Only the compressed body is sent from here (retries included): the JSON, several times
      // its size, is not held through the request.
      if (gzipped) std::string().swap(body);
      const std::string& payload = gzipped ? zipped : body;
      // In flight from here until Azure's answer is known: a crash leaves the range in doubt. A
      // mark the spool refuses (a full disk) does not hold the request: delivery is what frees
      // the spool, and an unmarked request only falls back to the former bound (re-sent after a
      // crash), which is said once per streak.
      const uint64_t mark = batch.events[begin].seq;
      MarkInFlight(lane, mark, batch.events[end - 1].seq);
      int attempts = 0;
      while (true) {
        if (stopping.load()) return RangeResult::kStop;
        WaitForGate(lane);
        if (stopping.load()) return RangeResult::kStop;
        {
          std::lock_guard<std::mutex> lock(lane.cmu);
          ++lane.counters.in_flight;
          ++lane.counters.requests;
        }
        Clock::time_point t0 = Clock::now();
        PostResult r = compress ? client.PostPrepared(lane.config.target, payload, gzipped)
                                : client.Post(lane.config.target, body);
        auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
        {
          std::lock_guard<std::mutex> lock(lane.cmu);
          --lane.counters.in_flight;
        }
        if (r.cancelled || cancel.load()) return RangeResult::kStop;
        if (options.on_request) options.on_request(lane.config.route, r.http_status, latency);
        ++attempts;
        if (r.outcome == Outcome::kSuccess) {
          // Delivered: until the ack lands they stay pending (sent again after a stop, never lost).
          if (!ChangeSpool(lane, "ack", [&] { return spool->Ack(lane.config.route, batch.events, begin, end); })) {
            return RangeResult::kStop;
          }
          ClearMark(lane, mark);
          {
            std::lock_guard<std::mutex> lock(lane.cmu);
            lane.counters.delivered_events += end - begin;
            lane.counters.delivered_bytes += body_size;
            lane.counters.delivered_sent_bytes += compress ? payload.size() : body_size;
          }
          {
            std::lock_guard<std::mutex> lock(lane.cmu);
            lane.request_level_error.clear();
          }
          SetState(lane, RouteState::kDelivering, "");
          {
            std::lock_guard<std::mutex> lock(mu);
            ++lane.successes;  // Azure answers: workers backing off on this route try again now
          }
          cv.notify_all();
          return RangeResult::kAccepted;
        }
        if (r.outcome == Outcome::kPermanent) {
          bool refused = true;
          {
            std::lock_guard<std::mutex> lock(lane.cmu);
            if (r.http_status == 400 && lane.request_level_error == RefusalKey(r)) {
              r.outcome = Outcome::kAuth;  // known to be request-level: hold the route, retry below
              refused = false;
            } else {
              ++lane.counters.refused_requests;
            }
          }
          if (refused) {
            ClearMark(lane, mark);  // refused: Azure took none of it (the halves get marks of their own)
            prev_refusal = std::move(last_refusal);
            last_refusal = r;
            // Within the cap as sent, refused for the size of its JSON: fall back, and let the
            // split go on until the JSON fits; genuinely oversized events are isolated after that.
            if (r.http_status == 413 && gzipped && body_size > max_body) {
              FallBackToJsonCap(lane, r, payload.size(), body_size);
            }
            return RangeResult::kRefused;
          }
        }
        // Retryable or a configuration problem: back off and try again.
        {
          std::lock_guard<std::mutex> lock(lane.cmu);
          if (r.outcome == Outcome::kAuth) {
            ++lane.counters.retries_auth;
          } else if (r.http_status == 0) {
            ++lane.counters.retries_transport;
          } else if (r.http_status == 429) {
            ++lane.counters.retries_throttled;
          } else {
            ++lane.counters.retries_server;
          }
        }
        SetState(lane, r.outcome == Outcome::kAuth ? RouteState::kAuthError : RouteState::kRetrying,
                 r.Describe());
        if (options.max_attempts > 0 && attempts >= options.max_attempts) {
          std::vector<uint64_t> seqs;
          for (size_t i = begin; i < end; ++i) seqs.push_back(batch.events[i].seq);
          FailEvents(lane, seqs, r.http_status, "max_attempts", r.Describe(), attempts);
          ClearMark(lane, mark);
          return RangeResult::kAccepted;  // settled: nothing left to send for this range
        }
        auto delay = azure::FullJitterBackoff(attempts - 1, options.backoff_initial,
                                              options.backoff_cap, rng);
        if (r.retry_after) {
          delay = std::max(delay, *r.retry_after);
          std::lock_guard<std::mutex> lock(mu);
          lane.gate_until = std::max(lane.gate_until, Clock::now() + *r.retry_after);
        }
        if (!BackOff(lane, Clock::now() + delay, r.outcome == Outcome::kRetryable)) return RangeResult::kStop;
      }
    };
    auto reject = [&](size_t i) {
      const PostResult& r = last_refusal;
      FailEvents(lane, {batch.events[i].seq}, r.http_status,
                 fmt::format("http_{}", r.http_status), r.Describe(), 1);
      return true;
    };
    // Both halves of a split refused: the same 400 twice is the request, not the data.
    auto alike = [&] {
      if (last_refusal.http_status != 400 || azure::IsDataErrorCode(last_refusal.error_code) ||
          RefusalKey(prev_refusal) != RefusalKey(last_refusal)) {
        return false;
      }
      std::lock_guard<std::mutex> lock(lane.cmu);
      lane.request_level_error = RefusalKey(last_refusal);
      return true;
    };
    Bisect(0, batch.events.size(), post, reject, alike);
  }

  void MarkInFlight(Lane& lane, uint64_t first_seq, uint64_t last_seq) {
    Status s = spool->MarkInFlight(lane.config.route, first_seq, last_seq);
    std::lock_guard<std::mutex> lock(lane.cmu);
    if (s.ok()) {
      lane.mark_failing = false;
      return;
    }
    ++lane.counters.unmarked_requests;
    if (!lane.mark_failing) {
      spdlog::warn("route {}: the spool refuses in-flight marks ({}); requests go out unmarked, so a crash "
                   "now may post them twice", lane.config.route, s.ToString());
    }
    lane.mark_failing = true;
  }

  // The request's outcome is known. A clear that fails leaves the range in doubt for the next
  // start, which only costs a query; it is not worth holding the lane for.
  void ClearMark(Lane& lane, uint64_t first_seq) {
    Status s = spool->ClearInFlight(lane.config.route, first_seq);
    if (!s.ok()) spdlog::debug("route {}: in-flight clear failed: {}", lane.config.route, s.ToString());
  }

  // Sleeps out a retry's backoff until `until`. While the route backs off, one worker at a time
  // cuts its sleep short every probe_interval to try again (a probe), and a success on the route
  // wakes every sleeper: delivery resumes within about probe_interval of Azure's return instead
  // of after the rest of a backoff that grew during the outage. Retry-After still holds: the
  // gate is waited for before any request, probe or not. Only timeouts, 408, 429 and 5xx probe
  // (`may_probe`): a wrong secret would otherwise ask Entra ID for a token every interval.
  // False when stopping.
  bool BackOff(Lane& lane, Clock::time_point until, bool may_probe) {
    const bool probing = may_probe && options.probe_interval.count() > 0;
    std::unique_lock<std::mutex> lock(mu);
    const uint64_t seen = lane.successes;
    if (probing && lane.next_probe < Clock::now()) lane.next_probe = Clock::now() + options.probe_interval;
    while (true) {
      if (stopping.load()) return false;
      if (lane.successes != seen) return true;
      const Clock::time_point now = Clock::now();
      if (now >= until) return true;
      if (probing && now >= lane.next_probe) {
        lane.next_probe = now + options.probe_interval;  // this worker is the probe
        return true;
      }
      cv.wait_until(lock, probing ? std::min(until, lane.next_probe) : until);
    }
  }

  // ---- exactly once after a crash (issue 15) ----

  std::thread resolver;
  Clock::time_point started = Clock::now();

  // Pending events of `route` with seq in [r.first_seq, r.last_seq], in seq order.
  Status ReadRange(const spool::InDoubtRange& r, std::vector<spool::PendingEvent>* out) {
    out->clear();
    uint64_t cursor = r.first_seq > 0 ? r.first_seq - 1 : 0;
    while (true) {
      std::vector<spool::PendingEvent> got;
      Status s = spool->Read(r.route, cursor, 10'000, SIZE_MAX, &got);
      if (s.IsNotFound()) return Status::OK();
      if (!s.ok()) return s;
      if (got.empty()) return Status::OK();
      for (auto& ev : got) {
        if (ev.seq > r.last_seq) return Status::OK();
        cursor = ev.seq;
        out->push_back(std::move(ev));
      }
    }
  }

  void Release(Lane& lane, std::vector<spool::PendingEvent> events) {
    if (events.empty()) return;
    {
      std::lock_guard<std::mutex> lock(lane.rmu);
      for (auto& ev : events) lane.released.push_back(std::move(ev));
    }
    std::lock_guard<std::mutex> lock(mu);
    ++notify_generation;
    cv.notify_all();
  }

  // The Query API's refusal or silence as a metric label.
  static std::string FailureReason(const Status& s) {
    const std::string& m = s.message();
    if (s.code() == Status::Code::kUnavailable) return "unreachable";
    if (m.rfind("HTTP 403", 0) == 0) return "forbidden";
    if (m.rfind("HTTP 401", 0) == 0) return "unauthorized";
    if (m.rfind("HTTP 4", 0) == 0) return "refused";
    if (s.code() == Status::Code::kRejected) return "token_refused";  // Entra refused the identity
    return "invalid_answer";
  }

  // Asks which ids of `ids` are in `table`, retrying transient failures with backoff for at most
  // dedupe.query_timeout. The last failure when it gives up.
  Status QueryWithRetry(PresenceQuery& client, const std::string& table, const std::vector<std::string>& ids,
                        int64_t not_before_ms, std::set<std::string>* present, std::mt19937_64& rng) {
    const Clock::time_point give_up = Clock::now() + options.dedupe.query_timeout;
    for (int attempt = 0;; ++attempt) {
      Status s = client.PresentIds(table, options.event_id_field, ids, not_before_ms, present);
      if (s.ok() || s.code() != Status::Code::kUnavailable) return s;
      if (stopping.load()) return s;
      auto delay = azure::FullJitterBackoff(attempt, options.backoff_initial, options.backoff_cap, rng);
      if (Clock::now() + delay >= give_up) {
        return Status::Unavailable(fmt::format("{} (retried for {} s)", s.message(),
                                               options.dedupe.query_timeout.count() / 1000));
      }
      spdlog::warn("route {}: the Log Analytics Query API failed ({}); retrying", table, s.message());
      if (!SleepUntil(Clock::now() + delay, false)) return s;
    }
  }

  // Settles every in-doubt range: waits out Azure's ingestion latency, asks which ids arrived,
  // acks those and hands the rest back to their lane. Never drops: whatever cannot be checked is
  // posted, and the reason logged and counted.
  void Resolve() {
    std::vector<Lane*> todo;
    {
      std::lock_guard<std::mutex> lock(lanes_mu);
      for (auto& l : lanes) {
        if (!l->held.empty()) todo.push_back(l.get());
      }
    }
    const Clock::time_point due = started + options.dedupe.wait;
    spdlog::info("exactly once: {} table(s) have batches in doubt; their events wait {} s for Azure's "
                 "ingestion latency, then the Log Analytics Query API is asked which arrived",
                 todo.size(), options.dedupe.wait.count() / 1000);
    if (!SleepUntil(due, false)) return;
    std::unique_ptr<PresenceQuery> client;
    Status failure = clients->NewPresenceQuery(&cancel, &client);
    std::mt19937_64 rng(std::random_device{}());
    for (Lane* lane : todo) {
      const std::string& route = lane->config.route;
      uint64_t found_total = 0, posted_total = 0, unchecked_total = 0;
      for (const spool::InDoubtRange& r : lane->held) {
        std::vector<spool::PendingEvent> events;
        Status s;
        while (!(s = ReadRange(r, &events)).ok()) {
          spdlog::error("route {}: reading the events in doubt failed: {}; retrying", route, s.ToString());
          if (!SleepUntil(Clock::now() + options.backoff_initial, false)) return;
        }
        const int64_t n = static_cast<int64_t>(events.size());
        std::set<std::string> present;
        std::vector<spool::PendingEvent> with_id, without_id;
        for (auto& ev : events) (ev.source.topic.empty() ? without_id : with_id).push_back(std::move(ev));
        size_t checked = 0;  // with_id[0, checked) were asked about
        for (size_t i = 0; failure.ok() && i < with_id.size(); i += options.dedupe.ids_per_query) {
          const size_t end = std::min(with_id.size(), i + options.dedupe.ids_per_query);
          std::vector<std::string> ids;
          int64_t oldest = INT64_MAX;
          for (size_t k = i; k < end; ++k) {
            ids.push_back(EventId(with_id[k].source));
            oldest = std::min(oldest, with_id[k].enqueued_ms);
          }
          // TimeGenerated is the event's own time when within 2 days of its arrival, else the
          // arrival (docs/AZURE.md, "TimeGenerated"): never before enqueue minus 2 days.
          Status q = QueryWithRetry(*client, route, ids, oldest - 49LL * 3600 * 1000, &present, rng);
          if (stopping.load()) return;  // still in doubt: the next start settles it
          failure = q;
          if (q.ok()) checked = end;
        }
        if (!failure.ok()) {
          const std::string reason = FailureReason(failure);
          const uint64_t unasked = with_id.size() - checked;
          spdlog::error("route {}: cannot ask the Log Analytics Query API which of {} event(s) in doubt "
                        "arrived ({}; reason {}): posting them, which may duplicate those that did",
                        route, unasked, failure.ToString(), reason);
          std::lock_guard<std::mutex> lock(lane->cmu);
          lane->counters.in_doubt_failures[reason] += unasked;
        }
        // Found: delivered, whatever became of later chunks. Asked and absent: posted after the
        // query. Never asked (no id, or the query failed first): posted unchecked.
        std::vector<spool::PendingEvent> delivered, post;
        uint64_t after_query = 0;
        for (size_t k = 0; k < with_id.size(); ++k) {
          spool::PendingEvent& ev = with_id[k];
          if (k < checked && present.count(EventId(ev.source)) > 0) {
            delivered.push_back(std::move(ev));
          } else {
            after_query += k < checked ? 1 : 0;
            post.push_back(std::move(ev));
          }
        }
        if (!delivered.empty() &&
            !ChangeSpool(*lane, "ack", [&] { return spool->Ack(route, delivered); })) {
          return;
        }
        const uint64_t unchecked = post.size() - after_query + without_id.size();
        found_total += delivered.size();
        posted_total += after_query;
        unchecked_total += unchecked;
        {
          std::lock_guard<std::mutex> lock(lane->cmu);
          lane->counters.in_doubt_already_delivered += delivered.size();
          lane->counters.in_doubt_posted += after_query;
          lane->counters.in_doubt_posted_unchecked += unchecked;
          lane->counters.in_doubt_events =
              lane->counters.in_doubt_events >= static_cast<uint64_t>(n) ? lane->counters.in_doubt_events - n : 0;
        }
        for (auto& ev : without_id) post.push_back(std::move(ev));
        std::sort(post.begin(), post.end(), [](const spool::PendingEvent& a, const spool::PendingEvent& b) { return a.seq < b.seq; });
        Release(*lane, std::move(post));
      }
      // Cleared once all are settled: a stop before leaves them in doubt, and the next start asks
      // again about what is still pending (what was acked meanwhile is gone; what was posted is
      // found, or has an in-flight mark of its own).
      for (uint64_t key : lane->held_keys) {
        if (!ChangeSpool(*lane, "in-doubt clear", [&] { return spool->ClearInDoubt(route, key); })) return;
      }
      spdlog::info("route {}: events in doubt settled: {} already in the table (acked), {} posted after "
                   "the query, {} posted unchecked", route, found_total, posted_total, unchecked_total);
    }
  }

  static std::string EventId(const spool::SourceRef& s) {
    return fmt::format("{}/{}/{}", s.topic, s.partition, s.offset);  // as the shaper writes it
  }

  void WaitForGate(Lane& lane) {
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping.load() && Clock::now() < lane.gate_until) {
      cv.wait_until(lock, lane.gate_until, [&] { return stopping.load(); });
    }
  }
};

Drainer::Drainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Drainer::~Drainer() { Stop(std::chrono::milliseconds(0)); }

Status Drainer::Start(const DrainerOptions& options, const azure::AzureOptions& az, spool::Spool* spool,
                      std::unique_ptr<Drainer>* out) {
  if (spool == nullptr) return Status::InvalidArgument("no spool");
  if (options.routes.empty()) return Status::InvalidArgument("no routes to deliver");
  if (options.concurrency < 1) return Status::InvalidArgument("concurrency must be at least 1");
  if (options.max_batch_events < 1) return Status::InvalidArgument("max_batch_events must be >= 1");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->azure = az;
  impl->spool = spool;
  size_t api_limit = az.api == azure::Api::kLogsIngestion ? azure::kLogsIngestionMaxBody
                                                          : azure::kDataCollectorMaxBody;
  impl->max_body = std::min(api_limit, std::max<size_t>(options.max_batch_bytes, 64));
  impl->compress = az.api == azure::Api::kLogsIngestion && az.gzip;
  Status s;
  if (options.clients) {
    impl->clients = options.clients;
  } else {
    std::unique_ptr<AzureClients> https;
    s = NewHttpsClients(az, options.dedupe, &impl->cancel, &https);
    if (!s.ok()) return s;
    impl->clients = std::move(https);
  }
  // Validate the client options once, so a bad setting fails Start rather than every worker.
  std::unique_ptr<azure::IngestionClient> probe;
  s = impl->clients->NewIngestionClient(nullptr, &probe);
  if (!s.ok()) return s;
  std::set<std::string> seen;
  for (const auto& r : options.routes) {
    if (r.route.empty() || r.target.empty()) return Status::InvalidArgument("a route lacks a name or target");
    if (!seen.insert(r.route).second) return Status::InvalidArgument("route " + r.route + " is listed twice");
  }
  if (options.dedupe.query && options.event_id_field.empty()) {
    return Status::InvalidArgument("dedupe by query needs an event id field");
  }
  if (options.dedupe.query) {
    std::unique_ptr<PresenceQuery> q;  // validates the options now, not minutes later
    s = impl->clients->NewPresenceQuery(nullptr, &q);
    if (!s.ok()) return s;
  }
  std::vector<spool::InDoubtRange> doubt;
  s = spool->InDoubt(&doubt);
  if (!s.ok()) return s;
  bool any_held = false;
  {
    std::lock_guard<std::mutex> lock(impl->lanes_mu);
    for (const auto& r : options.routes) {
      auto lane = std::make_unique<Lane>();
      lane->config = r;
      uint64_t n = 0;
      for (const spool::InDoubtRange& d : doubt) {
        if (d.route != r.route) continue;
        std::vector<spool::PendingEvent> events;
        s = impl->ReadRange(d, &events);
        if (!s.ok()) return s;
        n += events.size();
        if (options.dedupe.query) {
          lane->held.push_back(d);
          lane->held_keys.push_back(d.first_seq);
        } else {
          // Posted again as before: the reader meets them as ordinary pending events.
          s = spool->ClearInDoubt(d.route, d.first_seq);
          if (!s.ok()) return s;
        }
      }
      if (n > 0 && !options.dedupe.query) {
        spdlog::warn("route {}: {} event(s) were being posted when the gateway stopped; they are posted "
                     "again, and those Azure had accepted are duplicated ([sentinel] dedupe = \"query\" "
                     "checks first)", r.route, n);
        lane->counters.in_doubt_posted_unchecked += n;
      }
      if (options.dedupe.query) {
        // Ranges can overlap (a batch that mixed released events spans others, a promoted mark
        // inside a power cut's head range): merged, each event is settled once. n above may count
        // an event twice; recounted from the merge.
        lane->held = spool::MergeInDoubt(std::move(lane->held));
        n = 0;
        for (const spool::InDoubtRange& h : lane->held) {
          std::vector<spool::PendingEvent> events;
          s = impl->ReadRange(h, &events);
          if (!s.ok()) return s;
          n += events.size();
        }
        lane->counters.in_doubt_events = n;
      }
      any_held = any_held || !lane->held.empty();
      impl->StartLane(std::move(lane));
    }
  }
  if (any_held) {
    Impl* d = impl.get();
    impl->resolver = std::thread([d] {
      NameThisThread("sg-drain-doubt");
      d->Resolve();
    });
  }
  out->reset(new Drainer(std::move(impl)));
  return Status::OK();
}

void Drainer::Notify() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  ++impl_->notify_generation;
  impl_->cv.notify_all();
}

void Drainer::AddMissingLanes() {
  Impl* d = impl_.get();
  if (!d->options.route_config) return;
  std::lock_guard<std::mutex> lock(d->lanes_mu);
  if (d->stopping.load()) return;  // Stop holds lanes_mu once stopping is set
  std::set<std::string> have;
  for (const auto& lane : d->lanes) have.insert(lane->config.route);
  for (const std::string& route : d->spool->Routes()) {
    if (have.count(route) > 0) continue;
    RouteConfig rc;
    Status s = d->options.route_config(route, &rc);
    if (!s.ok() || rc.target.empty()) {
      spdlog::error("route {}: events are pending for a table without a lane, and no lane can be made for "
                    "it: {}", route, s.ok() ? "no stream or Log-Type" : s.ToString());
      continue;
    }
    rc.route = route;
    spdlog::info("route {}: new lane to {} for events requeued into it", route, rc.target);
    auto lane = std::make_unique<Lane>();
    lane->config = std::move(rc);
    d->StartLane(std::move(lane));
  }
}

void Drainer::Stop(std::chrono::milliseconds grace) {
  Impl* d = impl_.get();
  if (d == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(d->mu);
    d->stopping = true;
    d->cv.notify_all();
  }
  std::lock_guard<std::mutex> lanes_lock(d->lanes_mu);  // no lane is added from here on
  for (auto& lane : d->lanes) {
    std::lock_guard<std::mutex> lock(lane->qmu);
    lane->qcv.notify_all();
  }
  {
    std::unique_lock<std::mutex> lock(d->mu);
    d->done_cv.wait_for(lock, grace, [&] { return d->running_workers.load() == 0; });
  }
  d->cancel = true;
  if (d->resolver.joinable()) d->resolver.join();
  for (auto& lane : d->lanes) {
    if (lane->reader.joinable()) lane->reader.join();
    for (auto& w : lane->workers) {
      if (w.joinable()) w.join();
    }
    // Batches no worker took stay in the spool (nothing was acked); dropping them here, while the
    // lane's counters exist, gives their read-ahead back.
    std::deque<std::shared_ptr<Batch>> left;
    {
      std::lock_guard<std::mutex> lock(lane->qmu);
      left.swap(lane->queue);
    }
  }
}

std::map<std::string, RouteCounters> Drainer::Counters() const {
  std::map<std::string, RouteCounters> out;
  std::lock_guard<std::mutex> lanes_lock(impl_->lanes_mu);
  for (const auto& lane : impl_->lanes) {
    std::lock_guard<std::mutex> lock(lane->cmu);
    out[lane->config.route] = lane->counters;
  }
  return out;
}

DrainerHealth Drainer::Health() const {
  DrainerHealth h;
  std::lock_guard<std::mutex> lanes_lock(impl_->lanes_mu);
  for (const auto& lane : impl_->lanes) {
    std::lock_guard<std::mutex> lock(lane->cmu);
    if (lane->counters.state == RouteState::kAuthError) {
      h.degraded = true;
      if (!h.reason.empty()) h.reason += "; ";
      h.reason += fmt::format("route {}: Azure refuses access or the request ({})",
                              lane->config.route, lane->counters.last_error);
    }
  }
  return h;
}

uint64_t Drainer::token_renewals() const {
  return impl_->clients ? impl_->clients->token_renewals() : 0;
}

}  // namespace sg::deliver
