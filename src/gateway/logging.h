// Logging: the gateway's log lines on stderr, human text or JSON lines, one line per state change.
// Messages never carry secrets: the stages guarantee it for what they log.
#pragma once

#include <string>

#include "sentinel_gateway/status.h"

namespace sg {

// level: trace | debug | info | warn | error; format: text | json.
Status SetupLogging(const std::string& level, const std::string& format);

}  // namespace sg
