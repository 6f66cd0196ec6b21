// Citrix import: turns the Logstash pipeline that Citrix Analytics prepares for a tenant into a
// gateway configuration.
//
// Citrix hands out its Kafka settings as a Logstash file (`input { kafka { bootstrap_servers => ...
// topics => [...] group_id => ... sasl_jaas_config => "... username=\"..\" password=\"..\";" } }`).
// The import reads that `kafka` input and writes the gateway's [kafka] section; the Azure side is
// left for the user to complete (check-config names what is missing). The SASL password is returned
// separately so the caller can store it in a 0600 file: it is never part of the TOML text, a note or
// an error. A JKS truststore gets the exact keytool command that turns it into the PEM file
// librdkafka needs.
#pragma once

#include <string>
#include <vector>

#include "sentinel_gateway/status.h"

namespace sg::config {

struct CitrixImport {
  std::string toml;                // the gateway configuration text
  std::string password;            // the SASL password from sasl_jaas_config (secret), may be empty
  std::vector<std::string> notes;  // what the user must do next, and settings that were ignored
};

// `password_ref` is the TOML line used for the password (e.g. `password_file = "citrix.password"`).
Status ImportCitrixLogstash(const std::string& text, const std::string& name, const std::string& password_ref,
                            CitrixImport* out);

}  // namespace sg::config
