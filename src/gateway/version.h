// What `sentinel-gateway --version` prints: the program's version and the versions of the
// libraries it runs with (asked of each library at run time, not taken from its headers).
#pragma once

#include <string>

namespace sg {

// Lines "sentinel-gateway X", "librdkafka X (how linked)", "RocksDB X", "libcurl X (TLS backend)",
// "OpenSSL X", each ending in '\n'.
std::string VersionText();

}  // namespace sg
