// BatchBuilder: packs shaped rows into one JSON-array request body within the API's limits.
//
// The body is "[" row "," row ... "]"; its exact size is known before it is built, so a batch of
// uncompressed JSON is never sent over the limit (Logs Ingestion: 1,048,576 bytes; Data
// Collector: 30 MB). With gzip, Logs Ingestion counts the compressed body against its 1 MiB
// (docs/AZURE.md, "Size limits and api-version"): CompressionRatio gives the JSON budget for such
// a batch, and the drainer checks the compressed size before sending.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

namespace sg::deliver {

class BatchBuilder {
 public:
  BatchBuilder(size_t max_body_bytes, size_t max_events)
      : max_body_(max_body_bytes), max_events_(max_events) {}

  // Size of the body with one more row of `row_bytes`.
  size_t SizeWith(size_t row_bytes) const { return (count_ == 0 ? 2 : size_ + 1) + row_bytes; }
  // True when a row of this size fits in an empty batch at all.
  bool FitsAlone(size_t row_bytes) const { return row_bytes + 2 <= max_body_; }
  // True when the row fits; false when the batch is full (count or bytes).
  bool CanAdd(size_t row_bytes) const {
    return count_ < max_events_ && SizeWith(row_bytes) <= max_body_;
  }
  void Add(size_t row_bytes) {
    size_ = SizeWith(row_bytes);
    ++count_;
  }
  size_t count() const { return count_; }
  size_t body_bytes() const { return count_ == 0 ? 2 : size_; }

 private:
  size_t max_body_;
  size_t max_events_;
  size_t size_ = 0;
  size_t count_ = 0;
};

// CompressionRatio: the JSON budget of a request whose gzip body must stay within a cap.
//
// Filling a batch to exactly 1 MiB of compressed body would mean compressing it again and again as
// it grows. Instead the budget comes from the ratio (compressed / JSON bytes) that the route's
// recent bodies achieved, aiming at kFill of the cap so that a batch that compresses a little worse
// than its predecessors still fits; the drainer compresses each batch once, and splits the rare one
// that does not fit before sending it. Not thread-safe.
class CompressionRatio {
 public:
  // Share of the cap a batch aims at: the ratio of Citrix batches varies by a few percent.
  static constexpr double kFill = 0.85;
  // Weight of the newest body in the running ratio.
  static constexpr double kWeight = 0.25;

  // No body measured yet: assume no gain, so the first batches hold `cap` bytes of JSON.
  double ratio() const { return ratio_; }
  bool measured() const { return measured_; }

  void Observe(size_t json_bytes, size_t compressed_bytes) {
    if (json_bytes == 0) return;
    const double r = std::min(1.0, static_cast<double>(compressed_bytes) / static_cast<double>(json_bytes));
    ratio_ = measured_ ? (1 - kWeight) * ratio_ + kWeight * r : r;
    measured_ = true;
  }

  // JSON bytes a batch may hold so that its compressed body stays within `cap`: never less than
  // `cap` itself (JSON within the cap may always be sent), never more than `json_cap`.
  size_t Budget(size_t cap, size_t json_cap) const {
    if (!measured_) return std::min(cap, json_cap);
    const double b = kFill * static_cast<double>(cap) / std::max(ratio_, 1e-3);
    const size_t budget = b >= static_cast<double>(json_cap) ? json_cap : static_cast<size_t>(b);
    return std::min(json_cap, std::max(cap, budget));
  }

 private:
  double ratio_ = 1.0;
  bool measured_ = false;
};

// Joins rows [begin, end) into a JSON array body.
template <typename Rows>
std::string JoinRows(const Rows& rows, size_t begin, size_t end) {
  size_t n = 2;
  for (size_t i = begin; i < end; ++i) n += rows[i].size() + 1;
  std::string body;
  body.reserve(n);
  body.push_back('[');
  for (size_t i = begin; i < end; ++i) {
    if (i != begin) body.push_back(',');
    body += rows[i];
  }
  body.push_back(']');
  return body;
}

}  // namespace sg::deliver
