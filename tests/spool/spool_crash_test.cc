// Crash test: a child process appends, acks, fails, requeues and drops without pause while the
// parent SIGKILLs it at random moments. After every kill the parent reopens the spool and checks,
// against the child's journal, that every acknowledged append is present exactly once with an
// intact payload, that no partial batch is visible, that every event is in exactly one state and
// that the counters agree with the contents.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include "sentinel_gateway/spool.h"
#include "spool_test_util.h"

namespace sg {
namespace {

const std::vector<std::string> kRoutes = {"CitrixAnalytics_userProfile_CL", "CitrixAnalytics_riskScoreChange_CL",
                                          "CitrixAnalytics_indicatorEventDetails_CL"};

std::string Payload(uint64_t id) {
  std::string pad((id * 7919) % 1500, static_cast<char>('a' + id % 26));
  return "{\"id\":" + std::to_string(id) + ",\"pad\":\"" + pad + "\"}";
}

uint64_t IdOf(const std::string& payload) {
  return std::strtoull(payload.c_str() + 6, nullptr, 10);  // after {"id":
}

void JournalLine(int fd, const std::string& line) {
  std::string l = line + "\n";
  if (::write(fd, l.data(), l.size()) != static_cast<ssize_t>(l.size())) _exit(3);
}

std::string Ids(const std::vector<spool::PendingEvent>& events) {
  std::string s;
  for (const auto& e : events) s += " " + std::to_string(IdOf(e.payload));
  return s;
}

[[noreturn]] void ChildLoop(const std::string& spool_path, const std::string& journal, int ready_fd,
                            uint64_t first_id, unsigned seed) {
  std::unique_ptr<spool::Spool> spool;
  Status s = spool::Spool::Open(spool::SpoolOptions(), spool_path, &spool);
  if (!s.ok()) {
    std::fprintf(stderr, "child: %s\n", s.ToString().c_str());
    _exit(2);
  }
  int jfd = ::open(journal.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
  if (jfd < 0) _exit(4);
  char one = 1;
  if (::write(ready_fd, &one, 1) != 1) _exit(5);
  std::mt19937_64 rng(seed);
  uint64_t next_id = first_id;
  for (;;) {
    const std::string& route = kRoutes[rng() % kRoutes.size()];
    const int32_t partition = static_cast<int32_t>(rng() % 3);
    unsigned op = rng() % 20;
    if (op < 10) {
      spool::AppendBatch b;
      uint64_t first = next_id;
      int n = 1 + static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) {
        b.events.push_back(testing::MakeEvent(route, Payload(next_id), partition, static_cast<int64_t>(next_id)));
        ++next_id;
      }
      if (rng() % 4 == 0) {
        spool::QuarantinedMessage q;
        q.payload = Payload(next_id);
        q.source = {"citrix-risk", partition, static_cast<int64_t>(next_id)};
        q.why.reason = "invalid_json";
        b.quarantined.push_back(q);
        ++next_id;
      }
      b.offsets = {{"citrix-risk", partition, static_cast<int64_t>(next_id - 1)}};
      JournalLine(jfd, "a " + std::to_string(first) + " " + std::to_string(next_id - 1) + " " +
                           std::to_string(partition));
      if (!spool->Append(b).ok()) _exit(6);
      JournalLine(jfd, "A " + std::to_string(first) + " " + std::to_string(next_id - 1));
    } else if (op < 15) {
      std::vector<spool::PendingEvent> head;
      if (!spool->Read(route, 0, 1 + rng() % 50, SIZE_MAX, &head).ok()) _exit(7);
      if (head.empty()) continue;
      size_t n = 1 + rng() % head.size();
      head.resize(n);
      JournalLine(jfd, "k" + Ids(head));  // intent: these may vanish from here on
      if (!spool->Ack(route, head).ok()) _exit(8);
    } else if (op < 17) {
      std::vector<spool::PendingEvent> head;
      if (!spool->Read(route, 0, 10, SIZE_MAX, &head).ok()) _exit(9);
      if (head.empty()) continue;
      std::vector<uint64_t> seqs = {head[rng() % head.size()].seq};
      spool::FailureInfo why;
      why.http_status = 400;
      why.reason = "http_400";
      why.error_text = "rejected by test";
      if (!spool->Fail(route, seqs, why, nullptr).ok()) _exit(10);
    } else {
      std::vector<spool::FailedBatch> failed;
      if (!spool->ListFailed(0, 8, "", &failed).ok()) _exit(11);
      if (failed.empty()) continue;
      const spool::FailedBatch& fb = failed[rng() % failed.size()];
      if (op == 19 && rng() % 3 == 0) {
        JournalLine(jfd, "d" + Ids(fb.events));
        if (!spool->Drop(fb.id).ok()) _exit(12);
      } else if (!fb.route.empty()) {
        size_t moved = 0;
        if (!spool->Requeue(fb.id, &moved).ok()) _exit(13);
      }
    }
  }
}

struct Journal {
  struct Batch {
    uint64_t first = 0, last = 0;
    int32_t partition = 0;
    bool committed = false;
  };
  std::map<uint64_t, Batch> batches;  // by first id
  std::set<uint64_t> may_vanish;      // ids whose ack or drop was intended

  static Journal Load(const std::string& path) {
    Journal j;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string kind;
      ls >> kind;
      if (kind == "a") {
        Batch b;
        ls >> b.first >> b.last >> b.partition;
        if (ls) j.batches[b.first] = b;
      } else if (kind == "A") {
        uint64_t first = 0;
        ls >> first;
        j.batches[first].committed = true;
      } else if (kind == "X") {  // an append the kill interrupted before it committed
        uint64_t first = 0;
        ls >> first;
        j.batches.erase(first);
      } else if (kind == "k" || kind == "d") {
        uint64_t id;
        while (ls >> id) j.may_vanish.insert(id);
      }
    }
    return j;
  }
};

// Checks the spool against the journal, then settles the append the kill interrupted: the next child
// may ack or fail its events, so it must count from now on as committed (or as never written).
void Verify(const std::string& spool_path, const std::string& journal_path, int kill_no) {
  const Journal journal = Journal::Load(journal_path);
  SCOPED_TRACE("after kill " + std::to_string(kill_no));
  std::unique_ptr<spool::Spool> spool;
  Status s = spool::Spool::Open(spool::SpoolOptions(), spool_path, &spool);
  ASSERT_TRUE(s.ok()) << s.ToString();

  std::map<uint64_t, int> seen;
  spool::SpoolStats stats;
  ASSERT_TRUE(spool->Stats(&stats).ok());
  for (const std::string& route : spool->Routes()) {
    uint64_t cursor = 0, count = 0;
    std::vector<spool::PendingEvent> out;
    do {
      ASSERT_TRUE(spool->Read(route, cursor, 1000, SIZE_MAX, &out).ok());
      for (const auto& e : out) {
        uint64_t id = IdOf(e.payload);
        ASSERT_EQ(e.payload, Payload(id)) << "damaged payload in route " << route;
        ++seen[id];
        cursor = e.seq;
        ++count;
      }
    } while (!out.empty());
    EXPECT_EQ(stats.routes[route].pending_events, count) << "pending counter of " << route;
  }
  uint64_t failed_events = 0, failed_batches = 0, after = 0;
  std::vector<spool::FailedBatch> failed;
  do {
    ASSERT_TRUE(spool->ListFailed(after, 500, "", &failed).ok());
    for (const auto& fb : failed) {
      ++failed_batches;
      for (const auto& e : fb.events) {
        uint64_t id = IdOf(e.payload);
        ASSERT_EQ(e.payload, Payload(id)) << "damaged payload in failed batch " << fb.id;
        ++seen[id];
        ++failed_events;
      }
      after = fb.id;
    }
  } while (!failed.empty());
  EXPECT_EQ(stats.failed_events, failed_events);
  EXPECT_EQ(stats.failed_batches, failed_batches);

  for (const auto& [id, n] : seen) ASSERT_EQ(n, 1) << "event " << id << " is in " << n << " places";
  for (const auto& [first, b] : journal.batches) {
    size_t present = 0, total = b.last - b.first + 1;
    for (uint64_t id = b.first; id <= b.last; ++id) {
      if (seen.count(id)) {
        ++present;
      } else if (b.committed) {
        ASSERT_TRUE(journal.may_vanish.count(id)) << "acknowledged event " << id << " was lost";
      }
    }
    if (!b.committed) {
      ASSERT_TRUE(present == 0 || present == total)
          << "partial batch " << b.first << ".." << b.last << " visible: " << present << "/" << total;
      std::ofstream(journal_path, std::ios::app)
          << (present == total ? "A " : "X ") << b.first << " " << b.last << "\n";
    } else {
      EXPECT_GE(spool->SourceOffset("citrix-risk", b.partition), static_cast<int64_t>(b.last));
    }
  }
  for (const auto& [id, n] : seen) {
    auto it = journal.batches.upper_bound(id);
    ASSERT_TRUE(it != journal.batches.begin()) << "event " << id << " was never appended";
    --it;
    ASSERT_LE(id, it->second.last) << "event " << id << " was never appended";
  }
}

TEST(SpoolCrashTest, KillNineAtRandomMomentsLosesNothingAcknowledged) {
  int kills = 50;
  if (const char* env = std::getenv("SG_CRASH_KILLS")) kills = std::atoi(env);
  testing::TempDir dir;
  const std::string spool_path = dir.Sub("spool"), journal = dir.Sub("journal");
  std::mt19937 rng(std::random_device{}());
  unsigned base_seed = rng();
  std::cerr << "seed " << base_seed << "\n";
  for (int k = 1; k <= kills; ++k) {
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(pipefd[0]);
      ChildLoop(spool_path, journal, pipefd[1], static_cast<uint64_t>(k) * 1000000, base_seed + k);
    }
    ::close(pipefd[1]);
    char c = 0;
    ASSERT_EQ(::read(pipefd[0], &c, 1), 1) << "child did not open the spool";
    ::close(pipefd[0]);
    // The point of the test is an arbitrary kill moment while the child works, not synchronisation.
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 80000));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "child exited by itself with status " << WEXITSTATUS(wstatus);
    Verify(spool_path, journal, k);
    if (HasFatalFailure()) return;
  }
  Journal j = Journal::Load(journal);
  size_t committed = 0;
  for (const auto& [f, b] : j.batches) committed += b.committed;
  std::cerr << kills << " kills, " << committed << " acknowledged appends verified\n";
  EXPECT_GT(committed, static_cast<size_t>(kills)) << "the child did too little work to prove anything";
}

// A filesystem that kills the process (exit code 9, no destructors, like kill -9) at its n-th
// mutating call: creating, appending, syncing, renaming or deleting a file.
class KillAtStepFileSystem : public rocksdb::FileSystemWrapper {
 public:
  KillAtStepFileSystem(std::shared_ptr<rocksdb::FileSystem> base, int step)
      : rocksdb::FileSystemWrapper(std::move(base)), step_(step) {}
  const char* Name() const override { return "KillAtStepFileSystem"; }
  void Step() {
    if (++n_ == step_) ::_exit(9);
  }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    Step();
    rocksdb::IOStatus s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok()) *r = std::make_unique<File>(std::move(*r), this);
    return s;
  }
  rocksdb::IOStatus RenameFile(const std::string& a, const std::string& b, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
    Step();
    return target()->RenameFile(a, b, o, dbg);
  }
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    Step();
    return target()->DeleteFile(f, o, dbg);
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile>&& f, KillAtStepFileSystem* fs)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(f)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      fs_->Step();
      return target()->Append(d, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o, const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* dbg) override {
      fs_->Step();
      return target()->Append(d, o, v, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      fs_->Step();
      return target()->Sync(o, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      fs_->Step();
      return target()->Fsync(o, dbg);
    }

   private:
    KillAtStepFileSystem* fs_;
  };
  const int step_;
  std::atomic<int> n_{0};
};

// Issue 12 item 7: a kill at any step of the very first open leaves either no spool or a whole one;
// the next start always opens it (and it works).
TEST(SpoolCreationTest, AKillAtAnyStepOfTheFirstOpenLeavesASpoolTheNextStartOpens) {
  testing::TempDir dir;
  int finished_at = 0;
  for (int step = 1; step <= 400 && finished_at == 0; ++step) {
    SCOPED_TRACE("killed at step " + std::to_string(step));
    const std::string path = dir.Sub("spool" + std::to_string(step));
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto fs = std::make_shared<KillAtStepFileSystem>(rocksdb::FileSystem::Default(), step);
      std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
      spool::SpoolOptions o;
      o.env = env.get();
      std::unique_ptr<spool::Spool> s;
      Status st = spool::Spool::Open(o, path, &s);
      ::_exit(st.ok() ? 0 : 1);  // no destructors: the spool is left as a kill leaves it
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 0) finished_at = step;
    std::unique_ptr<spool::Spool> s;
    Status st = spool::Spool::Open(spool::SpoolOptions(), path, &s);
    ASSERT_TRUE(st.ok()) << st.ToString();
    spool::AppendBatch b;
    b.events.push_back(spool::NewEvent{"CitrixAnalytics_riskScoreChange_CL", "e", {"citrix-risk", 0, 0}});
    b.offsets = {{"citrix-risk", 0, 0}};
    ASSERT_TRUE(s->Append(b).ok());
    std::vector<spool::PendingEvent> out;
    ASSERT_TRUE(s->Read("CitrixAnalytics_riskScoreChange_CL", 0, 10, SIZE_MAX, &out).ok());
    EXPECT_EQ(out.size(), 1u);
  }
  EXPECT_GT(finished_at, 1) << "the first open never completed within 400 steps";
}

}  // namespace
}  // namespace sg
