// Rebalancing: what the consumer does when partitions are assigned, revoked or lost, and where
// each assigned partition starts (start_offsets.h decides; this file asks the spool and the
// broker, applies it, and says and counts what was rewound or lost to retention).
//
// Guarantees: a revoke spools the batch in hand of the revoked partitions before their offsets
// are committed (unless they were lost, or the spool is failing: then it leaves them to their
// next owner, unspooled and uncommitted); every assignment gets the pause state of the moment.
#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/core.h>

#include "ingest_impl.h"
#include "sentinel_gateway/spool.h"
#include "start_offsets.h"

namespace sg {
namespace ingest {

void IngestImpl::SetStartOffsets(rd_kafka_topic_partition_list_t* parts, std::map<TopicPartition, int64_t>* ahead) {
  if (parts->cnt == 0) return;
  std::vector<int64_t> spooled(parts->cnt, -1);
  for (int i = 0; i < parts->cnt; ++i) {
    spooled[i] = spool_->SourceOffset(parts->elems[i].topic, parts->elems[i].partition);
    spooled_high_[TopicPartition(parts->elems[i].topic, parts->elems[i].partition)] = spooled[i];
  }
  TopicPartitionListPtr committed(rd_kafka_topic_partition_list_copy(parts));
  rd_kafka_resp_err_t err = rd_kafka_committed(rk_.get(), committed.get(), opts_.assign_committed_timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Starting after the spool's offset never loses an event; at worst it re-reads what another
    // gateway of the group spooled meanwhile.
    spdlog::warn("ingest: cannot fetch committed offsets ({}); starting after the spooled offsets",
                 rd_kafka_err2str(err));
  }
  for (int i = 0; i < parts->cnt; ++i) {
    int64_t c = -1;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && committed->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
        committed->elems[i].offset >= 0) {
      c = committed->elems[i].offset;
    }
    const TopicPartition tp(parts->elems[i].topic, parts->elems[i].partition);
    int64_t lo = -1, hi = -1;
    if (ResumePosition(c, spooled[i]) >= 0) {
      // Check the position against the log: a log that ends below what this spool holds was
      // recreated or truncated (starting after the spooled offset would skip every new message
      // until the log grows past it); one that starts above it lost messages to retention.
      if (rd_kafka_query_watermark_offsets(rk_.get(), tp.first.c_str(), tp.second, &lo, &hi,
                                           opts_.assign_committed_timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        lo = hi = -1;
      }
    }
    const StartOffset so = ChooseStart(c, spooled[i], lo, hi, opts_.auto_offset_reset == "latest");
    if (so.why == StartOffset::Why::kRewound) {
      spdlog::warn("ingest: {}[{}] ends at offset {} (starts at {}), below offset {} that this spool holds: the "
                   "topic was recreated or truncated; consuming it again from offset {}",
                   tp.first, tp.second, hi, lo, spooled[i], so.start);
      rewind_pending_.insert(tp);
      spooled_high_[tp] = so.start - 1;
      std::lock_guard<std::mutex> l(mu_);
      ++stats_.offset_rewinds;
    } else if (so.why == StartOffset::Why::kRetentionPassed) {
      CountRetentionLoss(tp, so.position, lo, so.start);
    }
    if (so.start >= 0) parts->elems[i].offset = so.start;
    // The spool holds more than the group committed (a commit refused, e.g. by a fatal error,
    // or a crash before it): commit the spool's offset too, or the partition's next owner in
    // another gateway would read those messages again.
    if (so.commit_spooled) (*ahead)[tp] = spooled[i];
    start_offset_[tp] = so.start;
    if (so.start >= 0) next_offset_[tp] = so.start;
  }
}

void IngestImpl::CountRetentionLoss(const TopicPartition& tp, int64_t position, int64_t lo, int64_t resumed_at) {
  spdlog::error("ingest: {}[{}]: offsets {} to {} were deleted by Kafka's retention before this gateway spooled "
                "them ({} messages lost upstream){}; consuming from offset {}",
                tp.first, tp.second, position, lo - 1, lo - position,
                resumed_at > lo ? fmt::format(", and auto_offset_reset = \"{}\" skips the {} retained ones",
                                              opts_.auto_offset_reset, resumed_at - lo)
                                : "",
                resumed_at);
  std::lock_guard<std::mutex> l(mu_);
  ++stats_.offset_resets;
  stats_.offset_reset_skipped += static_cast<uint64_t>(resumed_at - position);
  stats_.last_error = fmt::format("kafka: {}[{}]: {} messages deleted by retention before they were spooled",
                                  tp.first, tp.second, lo - position);
  stats_.last_error_ms = NowMs();
}

void IngestImpl::CheckGap(const TopicPartition& tp, int64_t expected, int64_t offset) {
  // The fetch response that carried this message also brought the log's start offset (Fetch v5+,
  // LogStartOffset), which librdkafka keeps: if the log now starts above where this partition
  // was, librdkafka reset an out-of-range position (auto.offset.reset) and what lies between was
  // never spooled. A gap inside the log (transaction markers, compaction) loses nothing.
  int64_t lo = -1, hi = -1;
  if (rd_kafka_get_watermark_offsets(rk_.get(), tp.first.c_str(), tp.second, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      lo <= expected) {
    return;
  }
  CountRetentionLoss(tp, expected, std::min(lo, offset), offset);
}

void IngestImpl::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.rebalances;
  }
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (!cooperative) {  // eager: the whole assignment
      spooled_high_.clear(), start_offset_.clear(), next_offset_.clear();
    }
    std::map<TopicPartition, int64_t> ahead;
    SetStartOffsets(parts, &ahead);
    if (cooperative) {
      if (KafkaErrorPtr e{rd_kafka_incremental_assign(rk, parts)}) {
        RecordError(fmt::format("kafka: incremental assign failed: {}", rd_kafka_error_string(e.get())));
      }
    } else {
      rd_kafka_assign(rk, parts);
      assigned_.clear();
    }
    if (!ahead.empty()) StoreOffsets(ahead);  // assigned now: the next commit carries them
    for (int i = 0; i < parts->cnt; ++i) assigned_.emplace(parts->elems[i].topic, parts->elems[i].partition);
    // librdkafka keeps an application pause across unassign and assign (librdkafka issue 1849):
    // a partition paused before it was revoked would come back paused after a resume of the
    // assignment of the time. Give every assigned partition the state of now, both ways.
    if (parts->cnt > 0) {
      if (paused_) {
        rd_kafka_pause_partitions(rk, parts);
      } else {
        rd_kafka_resume_partitions(rk, parts);
      }
    }
    spdlog::info("ingest: assigned {} partitions ({}), {} in total", parts->cnt,
                 cooperative ? "cooperative" : "eager", assigned_.size());
    if (restarted_) {  // the recreated consumer is back in its group: the fatal error is over
      restarted_ = false;
      std::lock_guard<std::mutex> l(mu_);
      kafka_error_.clear();
    }
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    std::set<TopicPartition> revoked;
    for (int i = 0; i < parts->cnt; ++i) revoked.emplace(parts->elems[i].topic, parts->elems[i].partition);
    const bool lost = rd_kafka_assignment_lost(rk);
    WaitInflight();  // its offsets must be stored before the commit below
    if (!lost && cur_.msgs > 0 && !failing_) {
      // Spool what we hold of these partitions before their offsets are committed and handed on.
      TryAppend();
    }
    if (cur_.msgs > 0) DropPartitionsFromBatch(revoked);
    if (!lost) CommitSync();
    if (cooperative) {
      if (KafkaErrorPtr e{rd_kafka_incremental_unassign(rk, parts)}) {
        RecordError(fmt::format("kafka: incremental unassign failed: {}", rd_kafka_error_string(e.get())));
      }
      for (const auto& tp : revoked) {
        assigned_.erase(tp), spooled_high_.erase(tp), start_offset_.erase(tp), next_offset_.erase(tp);
        rewind_pending_.erase(tp);
      }
    } else {
      UnassignAll(rk);
    }
    if (lost) {
      std::lock_guard<std::mutex> l(mu_);
      stats_.partitions_lost += static_cast<uint64_t>(parts->cnt);
    }
    spdlog::info("ingest: {} {} partitions, {} left", lost ? "lost" : "revoked", parts->cnt, assigned_.size());
  } else {
    RecordError(fmt::format("kafka: rebalance failed: {}", rd_kafka_err2str(err)));
    UnassignAll(rk);
  }
  std::lock_guard<std::mutex> l(mu_);
  stats_.assigned_partitions = static_cast<int>(assigned_.size());
}

void IngestImpl::UnassignAll(rd_kafka_t* rk) {
  rd_kafka_assign(rk, nullptr);
  assigned_.clear();
  spooled_high_.clear();
  start_offset_.clear();
  next_offset_.clear();
  rewind_pending_.clear();
}

void IngestImpl::DropPartitionsFromBatch(const std::set<TopicPartition>& revoked) {
  const size_t dropped = cur_.Drop(revoked);
  if (cur_.msgs == 0) {
    ClearBatch();
    ClearFailure();  // the batch that failed is gone: nothing holds consumption back any more
  }
  if (dropped > 0) {
    spdlog::warn("ingest: {} unspooled messages of revoked partitions left to their next owner", dropped);
  }
}

}  // namespace ingest
}  // namespace sg
