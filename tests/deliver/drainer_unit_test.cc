// The drainer's delivery logic without HTTPS or RocksDB (issue 14): the in-memory spool and a fake
// Azure (tests/support) whose every answer is scripted and every request recorded. What each test
// proves is asserted on the requests Azure got and on the spool, so a broken retry, split, ack or
// gate fails it. The same paths over HTTPS against the emulator stay in pipeline_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fake_azure.h"
#include "memory_spool.h"
#include "sentinel_gateway/deliver.h"
#include "wait.h"

namespace sg::deliver {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using testing::FakeAnswer;
using testing::FakeAzure;
using testing::FakeRequest;
using testing::MemorySpool;
using testing::WaitFor;

const std::string kRouteA = "TableA_CL";
const std::string kRouteB = "TableB_CL";
const std::string kRouteC = "TableC_CL";

std::string TargetOf(const std::string& route) { return "Custom-" + route.substr(0, route.size() - 3); }

class DrainerUnitTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (drainer_) drainer_->Stop(0ms);
    drainer_.reset();
  }

  // Quick retries, so that a test of a retry takes milliseconds.
  DrainerOptions Options(const std::vector<std::string>& routes) {
    DrainerOptions d;
    for (const auto& r : routes) d.routes.push_back({r, TargetOf(r), std::nullopt});
    d.linger = 5ms;
    d.poll_interval = 5ms;
    d.backoff_initial = 1ms;
    d.backoff_cap = 10ms;
    d.max_batch_events = 50;
    d.concurrency = 3;
    d.clients = fake_;
    return d;
  }

  void Start(const DrainerOptions& d) {
    azure::AzureOptions a;  // only the API and gzip matter: the fake makes the clients
    a.api = azure::Api::kLogsIngestion;
    Status s = Drainer::Start(d, a, &spool_, &drainer_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Appends events uid [first, first+n) to `route`; `poison` uids carry "poison": true.
  // text_bytes > 0: each event also carries a "text" of that many letters (larger events).
  void Feed(const std::string& route, int first, int n, const std::set<int>& poison = {}, size_t text_bytes = 0) {
    spool::AppendBatch b;
    for (int i = first; i < first + n; ++i) {
      json j = {{"route", route}, {"uid", i}, {"timestamp", "2021-12-15T01:00:00Z"}};
      if (poison.count(i) > 0) j["poison"] = true;
      if (text_bytes > 0) j["text"] = std::string(text_bytes, static_cast<char>('a' + i % 26));
      b.events.push_back({route, j.dump(), spool::SourceRef{"topic-" + route, 0, i}});
    }
    ASSERT_TRUE(spool_.Append(b).ok());
    if (drainer_) drainer_->Notify();
  }

  spool::SpoolStats Stats() {
    spool::SpoolStats st;
    EXPECT_TRUE(spool_.Stats(&st).ok());
    return st;
  }
  uint64_t Pending() {
    uint64_t n = 0;
    for (const auto& [r, rs] : Stats().routes) n += rs.pending_events;
    return n;
  }

  static std::vector<json> Rows(const FakeRequest& r) {
    json body = json::parse(r.body);
    EXPECT_TRUE(body.is_array()) << r.body;
    return {body.begin(), body.end()};
  }
  static bool Accepted(const FakeRequest& r) { return r.http_status >= 200 && r.http_status < 300; }

  // target -> uid -> how many accepted requests carried it.
  std::map<std::string, std::map<int, int>> AcceptedUids() {
    std::map<std::string, std::map<int, int>> out;
    for (const FakeRequest& r : fake_->requests()) {
      if (!Accepted(r)) continue;
      for (const json& row : Rows(r)) out[r.target][row["uid"].get<int>()]++;
    }
    return out;
  }

  // Every uid of [0, n) but `except` accepted exactly once at `target`, and nothing else.
  void ExpectDeliveredOnce(const std::string& target, int n, const std::set<int>& except = {}) {
    std::map<int, int> got = AcceptedUids()[target];
    for (int i = 0; i < n; ++i) {
      auto it = got.find(i);
      if (except.count(i) > 0) {
        EXPECT_TRUE(it == got.end()) << target << " uid " << i << " was accepted";
      } else {
        EXPECT_EQ(it == got.end() ? 0 : it->second, 1) << target << " uid " << i;
      }
    }
    EXPECT_EQ(got.size(), static_cast<size_t>(n) - except.size()) << target;
  }

  MemorySpool spool_;
  std::shared_ptr<FakeAzure> fake_ = std::make_shared<FakeAzure>();
  std::unique_ptr<Drainer> drainer_;
};

// a) 503s, a 500 and a dropped connection are retried; every event is acked once, and only after
// a 2xx that carried it.
TEST_F(DrainerUnitTest, TransientErrorsAreRetriedAndEveryEventIsAckedExactlyOnce) {
  fake_->Push(FakeAnswer::Http(503), 4);
  fake_->Push(FakeAnswer::NetworkError());
  fake_->Push(FakeAnswer::Http(500));
  fake_->Push(FakeAnswer::Http(503), 3);
  Feed(kRouteA, 0, 500);
  Start(Options({kRouteA}));
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 20s));
  drainer_->Stop(1s);

  ExpectDeliveredOnce(TargetOf(kRouteA), 500);
  spool::SpoolStats st = Stats();
  EXPECT_EQ(st.acked_total, 500u);
  EXPECT_EQ(st.failed_events, 0u);
  EXPECT_EQ(spool_.redundant_acks(), 0u);
  EXPECT_TRUE(spool_.InFlight().empty());  // every mark cleared once its answer was known
  RouteCounters c = drainer_->Counters()[kRouteA];
  EXPECT_EQ(c.retries_server, 8u);
  EXPECT_EQ(c.retries_transport, 1u);
  EXPECT_EQ(c.delivered_events, 500u);
  EXPECT_EQ(c.requests, fake_->request_count());
  // Each of the 9 failures was followed by a request that carried the same events again.
  EXPECT_EQ(fake_->request_count(), 500u / 50 + 9);
}

// b) A 400 to a batch with one bad row: the batch is split until that row is alone; it goes to the
// failed area with Azure's status and text, everything else is delivered once.
TEST_F(DrainerUnitTest, A400BisectsAndFailsOnlyTheRefusedEvent) {
  fake_->SetResponder([](const FakeRequest& r) {
    if (r.body.find("\"poison\":true") != std::string::npos) {
      return FakeAnswer::Http(400, R"({"error":{"code":"InvalidRecord","message":"row 3 has a poisoned value"}})");
    }
    return FakeAnswer::Accepted();
  });
  const int poison = 37;
  Feed(kRouteA, 0, 64, {poison});
  DrainerOptions d = Options({kRouteA});
  d.max_batch_events = 64;
  d.linger = 10s;  // one batch of all 64
  d.concurrency = 1;
  Start(d);
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 20s));
  drainer_->Stop(1s);

  ExpectDeliveredOnce(TargetOf(kRouteA), 64, {poison});
  std::vector<spool::FailedBatch> failed;
  ASSERT_TRUE(spool_.ListFailed(0, 10, "", &failed).ok());
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].route, kRouteA);
  ASSERT_EQ(failed[0].events.size(), 1u);
  EXPECT_EQ(json::parse(failed[0].events[0].payload)["uid"], poison);
  EXPECT_EQ(failed[0].why.http_status, 400);
  EXPECT_EQ(failed[0].why.reason, "http_400");
  EXPECT_NE(failed[0].why.error_text.find("poisoned value"), std::string::npos) << failed[0].why.error_text;
  EXPECT_EQ(Stats().acked_total, 63u);
  // Bisection, not one request per event: the refused half is halved 6 times (64 -> 1), each
  // level posting both halves: 1 + 2 * 6 requests.
  EXPECT_EQ(fake_->request_count(), 13u);
  RouteCounters c = drainer_->Counters()[kRouteA];
  EXPECT_EQ(c.failed_events, 1u);
  EXPECT_EQ(c.refused_requests, 7u);  // the whole batch and the refused half of each level
  EXPECT_NE(c.state, RouteState::kAuthError);
}

// c) A 429's Retry-After holds its route: the next request of that route goes out no sooner,
// though its backoff (1 ms) and probes (every 5 ms) would send it at once; the other route is not
// held.
TEST_F(DrainerUnitTest, RetryAfterHoldsTheRouteThatReceivedIt) {
  const auto retry_after = 1000ms;
  bool throttled = false;  // guarded by the fake's lock: the responder runs under it
  fake_->SetResponder([&](const FakeRequest& r) {
    if (r.target == TargetOf(kRouteA) && !throttled) {
      throttled = true;
      return FakeAnswer::Throttled(retry_after);
    }
    return FakeAnswer::Accepted();
  });
  Feed(kRouteA, 0, 150);
  DrainerOptions d = Options({kRouteA, kRouteB});
  d.concurrency = 1;
  d.probe_interval = 5ms;
  Start(d);
  ASSERT_TRUE(WaitFor([&] { return drainer_->Counters()[kRouteA].retries_throttled == 1; }, 10s));
  Feed(kRouteB, 0, 100);
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 20s));
  drainer_->Stop(1s);

  std::vector<FakeRequest> reqs = fake_->requests();
  std::vector<FakeRequest> a, b;
  for (const FakeRequest& r : reqs) (r.target == TargetOf(kRouteA) ? a : b).push_back(r);
  ASSERT_GE(a.size(), 4u);
  EXPECT_EQ(a[0].http_status, 429);
  for (size_t i = 1; i < a.size(); ++i) {
    EXPECT_GE(a[i].at - a[0].at, retry_after) << "request " << i << " of the throttled route went out early";
  }
  // The other route delivered meanwhile.
  ASSERT_EQ(b.size(), 2u);
  EXPECT_LT(b.back().at - a[0].at, retry_after);
  ExpectDeliveredOnce(TargetOf(kRouteA), 150);
  ExpectDeliveredOnce(TargetOf(kRouteB), 100);
  EXPECT_EQ(drainer_->Counters()[kRouteA].retries_throttled, 1u);
}

// d) 401 and 403 hold the route in auth_error, visible in Counters and health, and nothing is acked
// or failed; once Azure accepts again the route delivers and health recovers.
TEST_F(DrainerUnitTest, AuthErrorsHoldTheRouteDegradeHealthAndAckNothing) {
  std::atomic<bool> fixed{false};
  fake_->SetResponder([&](const FakeRequest& r) {
    if (fixed.load()) return FakeAnswer::Accepted();
    if (r.target == TargetOf(kRouteA)) {
      return FakeAnswer::Http(401, R"({"error":{"code":"InvalidToken","message":"the token is not valid"}})");
    }
    return FakeAnswer::Http(403, R"({"error":{"code":"Forbidden","message":"no Monitoring Metrics Publisher"}})");
  });
  Feed(kRouteA, 0, 100);
  Feed(kRouteB, 0, 100);
  Start(Options({kRouteA, kRouteB}));
  ASSERT_TRUE(WaitFor([&] {
    auto c = drainer_->Counters();
    return c[kRouteA].retries_auth >= 3 && c[kRouteB].retries_auth >= 3;
  }, 10s));

  auto c = drainer_->Counters();
  EXPECT_EQ(c[kRouteA].state, RouteState::kAuthError);
  EXPECT_EQ(c[kRouteB].state, RouteState::kAuthError);
  EXPECT_NE(c[kRouteA].last_error.find("401"), std::string::npos) << c[kRouteA].last_error;
  EXPECT_NE(c[kRouteB].last_error.find("403"), std::string::npos) << c[kRouteB].last_error;
  DrainerHealth h = drainer_->Health();
  EXPECT_TRUE(h.degraded);
  EXPECT_NE(h.reason.find(kRouteA), std::string::npos) << h.reason;
  EXPECT_NE(h.reason.find("InvalidToken"), std::string::npos) << h.reason;
  EXPECT_NE(h.reason.find(kRouteB), std::string::npos) << h.reason;
  EXPECT_NE(h.reason.find("Forbidden"), std::string::npos) << h.reason;
  EXPECT_EQ(Pending(), 200u);
  EXPECT_EQ(Stats().acked_total, 0u);
  EXPECT_EQ(Stats().failed_events, 0u);
  EXPECT_EQ(c[kRouteA].delivered_events + c[kRouteB].delivered_events, 0u);

  fixed = true;
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 20s));
  drainer_->Stop(1s);
  EXPECT_FALSE(drainer_->Health().degraded) << drainer_->Health().reason;
  ExpectDeliveredOnce(TargetOf(kRouteA), 100);
  ExpectDeliveredOnce(TargetOf(kRouteB), 100);
}

// e) Each route's events go to its own target (stream), and only there.
TEST_F(DrainerUnitTest, EachRoutesEventsGoToItsOwnTarget) {
  Feed(kRouteA, 0, 120);
  Feed(kRouteB, 0, 80);
  Feed(kRouteC, 0, 40);
  Start(Options({kRouteA, kRouteB, kRouteC}));
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 20s));
  drainer_->Stop(1s);

  std::map<std::string, std::string> route_of_target = {
      {TargetOf(kRouteA), kRouteA}, {TargetOf(kRouteB), kRouteB}, {TargetOf(kRouteC), kRouteC}};
  for (const FakeRequest& r : fake_->requests()) {
    ASSERT_EQ(route_of_target.count(r.target), 1u) << r.target;
    for (const json& row : Rows(r)) EXPECT_EQ(row["route"], route_of_target[r.target]) << r.body;
  }
  ExpectDeliveredOnce(TargetOf(kRouteA), 120);
  ExpectDeliveredOnce(TargetOf(kRouteB), 80);
  ExpectDeliveredOnce(TargetOf(kRouteC), 40);
  auto c = drainer_->Counters();
  EXPECT_EQ(c[kRouteA].delivered_events, 120u);
  EXPECT_EQ(c[kRouteB].delivered_events, 80u);
  EXPECT_EQ(c[kRouteC].delivered_events, 40u);
}

// What the drainer reads ahead of delivery is bounded across tables (read_ahead_bytes): batches
// queued or in flight hold their events' shaped rows. With the bound at its smallest, each
// table holds one batch at a time, and a table in an outage (503 on every request, retried) still
// never holds the others back: a table with nothing read ahead may always take one batch.
TEST_F(DrainerUnitTest, ReadAheadIsBoundedAndATableInOutageDoesNotHoldTheOthers) {
  Feed(kRouteA, 0, 1000);
  DrainerOptions d = Options({kRouteA, kRouteB});
  d.concurrency = 4;       // without the bound, A's four workers would each hold a batch, and
  d.read_ahead_bytes = 1;  // four more would wait in its queue
  // Shared with the responder, which the fake may still call after this body returns (the
  // fixture stops the drainer in TearDown): a local captured by reference would be gone by then.
  auto a_down = std::make_shared<std::atomic<bool>>(true);
  fake_->SetResponder([a_down](const FakeRequest& r) {
    return r.target == TargetOf(kRouteA) && a_down->load() ? FakeAnswer::Http(503) : FakeAnswer::Accepted();
  });
  Start(d);
  ASSERT_TRUE(WaitFor([&] { return fake_->requests().size() >= 30; }, 10s));
  std::set<int> tried;
  for (const FakeRequest& r : fake_->requests()) {
    for (const json& row : Rows(r)) tried.insert(row["uid"].get<int>());
  }
  EXPECT_LE(tried.size(), d.max_batch_events) << "A read more than one batch ahead during its outage";
  EXPECT_GT(drainer_->Counters()[kRouteA].read_ahead_bytes, 0u);
  Feed(kRouteB, 0, 300);
  ASSERT_TRUE(WaitFor([&] { return Stats().routes[kRouteB].pending_events == 0; }, 10s))
      << "B waited for A's outage";
  *a_down = false;
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 20s)) << Pending() << " still pending";
  ExpectDeliveredOnce(TargetOf(kRouteA), 1000);
  ExpectDeliveredOnce(TargetOf(kRouteB), 300);
  ASSERT_TRUE(WaitFor([&] { return drainer_->Counters()[kRouteA].read_ahead_bytes == 0; }, 5s))
      << "delivered batches still count as read ahead";
}

// The read-ahead counts what a batch holds in memory: its shaped rows' buffers (reserved larger than
// the rows, so that they are written without regrowing; memory is what the bound is for), and not
// the events' payloads as well: once shaped, a payload is not needed until the ack (which takes
// only its size) or a refusal (which moves the event from the spool by its sequence), so a batch
// read ahead holds half the memory it would with both.
TEST_F(DrainerUnitTest, TheReadAheadCountsTheRowsBuffersAndHoldsNoPayload) {
  Feed(kRouteA, 0, 50, {}, 4000);  // one batch (max_batch_events 50) of 4 KB events, held while Azure answers 503
  DrainerOptions d = Options({kRouteA});
  d.concurrency = 1;
  auto down = std::make_shared<std::atomic<bool>>(true);  // the fake may answer after the body returns
  fake_->SetResponder([down](const FakeRequest&) { return down->load() ? FakeAnswer::Http(503) : FakeAnswer::Accepted(); });
  Start(d);
  ASSERT_TRUE(WaitFor([&] { return fake_->requests().size() >= 2; }, 10s));
  const FakeRequest r = fake_->requests().front();
  const size_t rows = Rows(r).size();
  ASSERT_EQ(rows, 50u);
  const uint64_t row_bytes = r.body.size() - 2 - (rows - 1);  // "[" rows joined by "," "]"
  std::vector<spool::PendingEvent> held;
  ASSERT_TRUE(spool_.Read(kRouteA, 0, 50, SIZE_MAX, &held).ok());
  uint64_t payload_bytes = 0;
  for (const auto& e : held) payload_bytes += e.payload.size();
  const uint64_t counted = drainer_->Counters()[kRouteA].read_ahead_bytes;
  EXPECT_GT(counted, row_bytes) << "the read-ahead counts the rows' lengths, less than their buffers hold";
  EXPECT_LT(counted, row_bytes + payload_bytes) << "the count includes the events' payloads beside the rows";
  EXPECT_EQ(Pending(), 50u);
  *down = false;  // Azure is back: the batch is delivered and acked
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 10s)) << Pending() << " still pending";
  EXPECT_EQ(spool_.acked_payload_bytes_held(), 0u) << "the batch held its events' payloads until the ack";
}

// A stop releases what the drainer read ahead: the batch a worker retries, the one queued behind it
// and the one the reader waits to queue. (A drainer holds nothing once stopped; the gauge says so.)
TEST_F(DrainerUnitTest, AStoppedDrainerHoldsNothingReadAhead) {
  Feed(kRouteA, 0, 1000);
  DrainerOptions d = Options({kRouteA});
  d.concurrency = 1;  // one batch in the worker, one in the queue, the reader blocked with a third
  fake_->SetResponder([](const FakeRequest&) { return FakeAnswer::Http(503); });
  Start(d);
  ASSERT_TRUE(WaitFor([&] { return fake_->requests().size() >= 3; }, 10s));
  EXPECT_GT(drainer_->Counters()[kRouteA].read_ahead_bytes, 0u);
  drainer_->Stop(0ms);
  EXPECT_EQ(drainer_->Counters()[kRouteA].read_ahead_bytes, 0u) << "batches dropped at the stop still count";
  EXPECT_EQ(Pending(), 1000u) << "a stop acks nothing";
}

// Exactly once after a crash, through the seam's presence query: of the events a previous run left
// in doubt, those the Query API finds are acked without a post, the rest are posted once.
TEST_F(DrainerUnitTest, EventsInDoubtThatAzureHasAreAckedWithoutAPost) {
  Feed(kRouteA, 0, 20);
  std::vector<spool::PendingEvent> head;
  ASSERT_TRUE(spool_.Read(kRouteA, 0, 10, SIZE_MAX, &head).ok());
  ASSERT_EQ(head.size(), 10u);
  ASSERT_TRUE(spool_.MarkInFlight(kRouteA, head.front().seq, head.back().seq).ok());
  spool_.PromoteInFlight();  // the previous process stopped with uids 0..9 posted, answer unknown
  std::set<std::string> present;
  for (int i = 0; i < 6; ++i) present.insert("topic-" + kRouteA + "/0/" + std::to_string(i));
  fake_->SetPresent(present);
  DrainerOptions d = Options({kRouteA});
  d.event_id_field = "sg_event_id";
  d.dedupe.query = true;
  d.dedupe.wait = 0ms;
  Start(d);
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 20s));
  drainer_->Stop(1s);

  EXPECT_EQ(fake_->queries_made(), 1u);
  ExpectDeliveredOnce(TargetOf(kRouteA), 20, {0, 1, 2, 3, 4, 5});
  std::vector<spool::InDoubtRange> doubt;
  ASSERT_TRUE(spool_.InDoubt(&doubt).ok());
  EXPECT_TRUE(doubt.empty());
  auto c = drainer_->Counters()[kRouteA];
  EXPECT_EQ(c.in_doubt_already_delivered, 6u);
  EXPECT_EQ(c.in_doubt_posted, 4u);
  EXPECT_EQ(c.in_doubt_events, 0u);
  EXPECT_EQ(Stats().acked_total, 20u);
  EXPECT_EQ(spool_.redundant_acks(), 0u);
}

}  // namespace
}  // namespace sg::deliver
