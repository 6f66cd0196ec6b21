#include "sentinel_gateway/azure/compression.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

namespace sg::azure {

namespace {

struct CompressorDeleter {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};

}  // namespace

Status GzipCompress(std::string_view data, std::string* out) { return GzipCompress(data, SIZE_MAX, out); }

Status GzipCompress(std::string_view data, size_t max_output, std::string* out) {
  // libdeflate compresses a whole buffer, which a request body is, about twice as fast as zlib
  // at a better ratio; level 1 is 8 times faster than zlib's default level 6 for 84% of its
  // ratio on Citrix-like events (docs/BENCHMARKS.md, "Compression"). One compressor per thread:
  // allocating one costs more than compressing a small body.
  thread_local std::unique_ptr<libdeflate_compressor, CompressorDeleter> compressor(
      libdeflate_alloc_compressor(kGzipLevel));
  if (compressor == nullptr) return Status::IOError("libdeflate: cannot allocate a compressor");
  // libdeflate fails (returns 0) rather than write past the buffer, so the cap is the buffer, with
  // a little room: its block writer wants a few bytes of slack at the end (OUTPUT_END_PADDING),
  // and a member that needs them must still fit when it is within the cap.
  constexpr size_t kSlack = 64;
  const size_t bound = libdeflate_gzip_compress_bound(compressor.get(), data.size());
  const bool capped = max_output < bound - std::min(bound, kSlack);
  out->resize(capped ? max_output + kSlack : bound);
  size_t n = libdeflate_gzip_compress(compressor.get(), data.data(), data.size(), out->data(), out->size());
  if (n == 0 || n > max_output) {
    std::string().swap(*out);
    if (n == 0 && !capped) return Status::InvalidArgument("gzip compression failed");
    return Status::Full("gzip body over " + std::to_string(max_output) + " bytes");
  }
  out->resize(n);
  // The buffer is the bound or the cap, often several times the output: give the rest back rather
  // than hold it for the whole request (a copy of the compressed bytes only).
  out->shrink_to_fit();
  return Status::OK();
}

Status GzipDecompress(std::string_view data, size_t max_output, std::string* out) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return Status::InvalidArgument("inflateInit2 failed");
  out->clear();
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::InvalidArgument("invalid gzip data");
    }
    out->append(buf, sizeof(buf) - zs.avail_out);
    if (out->size() > max_output) {
      inflateEnd(&zs);
      return Status::InvalidArgument("gzip data expands beyond the limit");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return Status::InvalidArgument("truncated gzip data");
    }
  }
  inflateEnd(&zs);
  return Status::OK();
}

}  // namespace sg::azure
