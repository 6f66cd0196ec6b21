// The emulator's identity endpoints: Entra ID client-credential tokens, the IMDS managed identity
// and the management-plane read of the DCR (emulator_impl.h).
#include "emulator_impl.h"

namespace sg::emulator {

void Emulator::Impl::Token(const httplib::Request& req, httplib::Response& res) {
  if (ApplyFaults(res, false, false)) return;
  auto fail = [&](int status, const char* error, const char* desc) {
    res.status = status;
    res.set_content(json{{"error", error}, {"error_description", desc}}.dump(),
                    "application/json");
  };
  if (req.matches[1] != options.tenant_id) {
    return fail(400, "invalid_request", "AADSTS90002: Tenant not found.");
  }
  if (req.get_param_value("grant_type") != "client_credentials") {
    return fail(400, "unsupported_grant_type", "AADSTS70003: unsupported grant type.");
  }
  std::string scope = req.get_param_value("scope");
  if (scope.size() < 9 || scope.compare(scope.size() - 9, 9, "/.default") != 0) {
    return fail(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.");
  }
  if (req.get_param_value("client_id") != options.client_id) {
    return fail(400, "unauthorized_client", "AADSTS700016: Application not found in the directory.");
  }
  std::string secret = req.get_param_value("client_secret");
  if (secret.size() != options.client_secret.size() ||
      CRYPTO_memcmp(secret.data(), options.client_secret.data(), secret.size()) != 0) {
    return fail(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
  }
  IssueToken(res, false, AudienceOf(scope));
}

void Emulator::Impl::Imds(const httplib::Request& req, httplib::Response& res) {
  if (ApplyFaults(res, false, false)) return;
  if (req.get_header_value("Metadata") != "true") {
    res.status = 400;
    res.set_content(json{{"error", "invalid_request"},
                         {"error_description", "Required metadata header not specified"}}
                        .dump(),
                    "application/json");
    return;
  }
  if (req.get_param_value("resource").empty() || req.get_param_value("api-version").empty()) {
    res.status = 400;
    res.set_content(json{{"error", "invalid_request"},
                         {"error_description", "resource and api-version are required"}}
                        .dump(),
                    "application/json");
    return;
  }
  IssueToken(res, true, AudienceOf(req.get_param_value("resource")));
}

void Emulator::Impl::IssueToken(httplib::Response& res, bool imds, const std::string& audience) {
  std::string token = "emu." + RandomHex(24);
  int64_t lifetime;
  {
    std::lock_guard<std::mutex> lock(mu);
    Clock::time_point now = Clock::now();
    for (auto it = tokens.begin(); it != tokens.end();) {
      it = (it->second.expires + std::chrono::minutes(10) < now) ? tokens.erase(it) : std::next(it);
    }
    lifetime = token_lifetime_s;
    tokens[token] = IssuedToken{now + std::chrono::seconds(lifetime), audience};
    ++tokens_issued;
  }
  json body = {{"token_type", "Bearer"}, {"access_token", token}};
  if (imds) {
    body["expires_in"] = std::to_string(lifetime);
    body["resource"] = audience + "/";
  } else {
    body["expires_in"] = lifetime;
    body["ext_expires_in"] = lifetime;
  }
  res.set_content(body.dump(), "application/json");
}

void Emulator::Impl::ReadDcr(const httplib::Request& req, httplib::Response& res) {
  if (ApplyFaults(res, false, false)) return;
  auto reply = [&](Answer a) {
    res.status = a.status;
    res.set_content(json{{"error", {{"code", a.code}, {"message", a.message}}}}.dump(),
                    "application/json");
  };
  const std::string id = req.matches[1];
  if (!req.has_param("api-version")) {
    return reply({400, "MissingApiVersionParameter",
                  "The api-version query parameter (?api-version=) is required for all requests.", -1});
  }
  // The versions the REST reference lists for dataCollectionRules (2021-04-01 .. 2024-03-11).
  static const std::set<std::string> kVersions = {"2021-04-01", "2021-09-01-preview", "2022-06-01",
                                                  "2023-03-11", "2024-03-11"};
  const std::string version = req.get_param_value("api-version");
  if (kVersions.count(version) == 0) {
    return reply({400, "NoRegisteredProviderFound",
                  "No registered resource provider found for API version '" + version +
                      "' and type 'dataCollectionRules'.", -1});
  }
  std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) != 0) {
    return reply({401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", -1});
  }
  bool deny;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = tokens.find(auth.substr(7));
    if (it == tokens.end()) {
      return reply({401, "InvalidAuthenticationToken", "The access token is invalid.", -1});
    }
    if (Clock::now() >= it->second.expires) {
      return reply({401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time.", -1});
    }
    if (!IsManagementAudience(it->second.audience)) {
      return reply({401, "InvalidAuthenticationTokenAudience",
                    "The access token has been obtained for wrong audience or resource '" +
                        it->second.audience +
                        "'. It should exactly match with one of the allowed audiences "
                        "'https://management.core.windows.net/','https://management.azure.com/'.", -1});
    }
    deny = faults.deny_dcr_read;
  }
  if (deny) {
    return reply({403, "AuthorizationFailed",
                  "The client '" + options.client_id + "' does not have authorization to perform action "
                  "'Microsoft.Insights/dataCollectionRules/read' over scope '" + id +
                      "' or the scope is invalid.", -1});
  }
  // Resource ids are case-insensitive in ARM.
  auto lower = [](std::string v) {
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  if (dcr.is_null() || lower(id) != lower(options.dcr_resource_id)) {
    return reply({404, "ResourceNotFound", "The Resource '" + id + "' was not found.", -1});
  }
  json answer = dcr;
  answer["properties"]["endpoints"]["logsIngestion"] = fmt::format("https://{}:{}", options.host, port);
  res.set_content(answer.dump(), "application/json");
}

}  // namespace sg::emulator
