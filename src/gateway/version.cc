#include "version.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <libdeflate.h>
#include <librdkafka/rdkafka.h>
#include <openssl/crypto.h>
#include <rocksdb/version.h>

#ifndef SG_RDKAFKA_ORIGIN
#define SG_RDKAFKA_ORIGIN "unknown origin"
#endif

namespace sg {

std::string VersionText() {
  const curl_version_info_data* curl = curl_version_info(CURLVERSION_NOW);
  std::string out = fmt::format("sentinel-gateway {}\n", SG_VERSION);
  out += fmt::format("librdkafka {} ({})\n", rd_kafka_version_str(), SG_RDKAFKA_ORIGIN);
  out += fmt::format("RocksDB {}\n", rocksdb::GetRocksVersionAsString(true));
  out += fmt::format("libcurl {} ({})\n", curl->version, curl->ssl_version ? curl->ssl_version : "no TLS");
  out += fmt::format("{}\n", OpenSSL_version(OPENSSL_VERSION));  // "OpenSSL 3.0.19 27 Jan 2026"
  out += fmt::format("libdeflate {} (request bodies' gzip)\n", LIBDEFLATE_VERSION_STRING);  // headers' version
  return out;
}

}  // namespace sg
