// FindInvalidUtf8: the one strict UTF-8 (RFC 3629) check, for Kafka messages and config files.
//
// Overlong forms, UTF-16 surrogates and code points above U+10FFFF are invalid. ASCII runs are
// checked 8 bytes at a time: ingest calls it for every message.
#pragma once

#include <cstddef>
#include <string_view>

namespace sg {

// Offset of the first byte that is not valid UTF-8, or npos when all of `in` is valid.
size_t FindInvalidUtf8(std::string_view in);

}  // namespace sg
