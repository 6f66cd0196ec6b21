// BatchBuilder: packs shaped rows into one JSON-array request body within the API's limits.
//
// The body is "[" row "," row ... "]"; its exact size is known before it is built, so a batch is
// never sent over the limit (Logs Ingestion: 1,048,576 bytes uncompressed; Data Collector: 30 MB).
#pragma once

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
