#include "sentinel_gateway/azure/compression.h"

#include <zlib.h>

namespace sg::azure {

Status GzipCompress(std::string_view data, std::string* out) {
  z_stream zs{};
  // 15 + 16: a gzip header and trailer rather than raw zlib. Level 6: zlib's default balance.
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::InvalidArgument("deflateInit2 failed");
  }
  out->resize(deflateBound(&zs, data.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out->data());
  zs.avail_out = static_cast<uInt>(out->size());
  int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::InvalidArgument("gzip compression failed");
  out->resize(zs.total_out);
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
