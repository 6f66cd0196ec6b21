// The one rule for which configuration keys hold secrets: the gateway's own keys and the librdkafka
// properties passed through `[kafka.librdkafka]`. Every place that prints, logs or reports a key's
// value (check-config, ingest's errors, warnings) asks this rule, so they cannot disagree.
//
// Guarantees: a key this rule calls secret has its value replaced, never shown, wherever the
// gateway prints it. The rule errs on the side of secrecy: any key naming a password, secret,
// JAAS or OAUTHBEARER configuration, or an inline private key or keystore, is secret.
#pragma once

#include <string_view>

namespace sg {

// True when the value of `key` (a gateway key such as "client_secret" or a librdkafka property
// such as "ssl.key.pem") must never be shown.
bool IsSecretKey(std::string_view key);

}  // namespace sg
