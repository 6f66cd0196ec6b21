// The emulator's ingestion endpoints: the Logs Ingestion API and the HTTP Data Collector API, and
// what Azure drops from rows without a word (emulator_impl.h).
#include "emulator_impl.h"

namespace sg::emulator {

void Emulator::Impl::CountDropped(const std::string& stream, const DropCounts& d) {
  std::lock_guard<std::mutex> lock(mu);
  DropCounts& total = dropped[stream];
  total.undeclared += d.undeclared;
  total.mismatched += d.mismatched;
  total.time_replaced += d.time_replaced;
  for (const auto& [column, n] : d.columns) total.columns[column] += n;
}

void Emulator::Impl::NoteLogError(const std::string& stream, const std::string& column, const std::string& message) {
  std::lock_guard<std::mutex> lock(mu);
  if (log_errors.size() >= 100) log_errors.erase(log_errors.begin());
  log_errors.push_back({{"InputStreamId", stream}, {"Column", column}, {"Message", message}});
}

std::string Emulator::Impl::IsoNow() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::floor<std::chrono::seconds>(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(secs)), ms);
}

bool Emulator::Impl::OutsideTimeWindow(const std::string& value, int64_t now_s) {
  if (!azure::IsIso8601DateTime(value)) return true;  // not a time: Azure cannot keep it
  std::tm tm{};
  if (::strptime(value.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return true;
  const int64_t t = ::timegm(&tm);
  return t < now_s - 2 * 86400 || t > now_s + 86400;
}

void Emulator::Impl::LogsIngestion(const httplib::Request& req, httplib::Response& res) {
  const std::string dcr = req.matches[1];
  const std::string stream = req.matches[2];
  if (ApplyFaults(res, true, false, stream)) return;
  auto reply = [&](Answer a) { Reply(res, a, false); };
  if (!req.has_param("api-version")) {
    return reply({400, "MissingApiVersion", "The api-version query parameter is required.", -1});
  }
  // Both versions Azure accepts: 2023-01-01 (Microsoft's SDKs, the REST spec's stable version)
  // and 2021-11-01-preview (Fluent Bit, older samples). Source: Azure/azure-rest-api-specs,
  // specification/monitor/data-plane/ingestion/{stable/2023-01-01,preview/2021-11-01-preview}.
  const std::string version = req.get_param_value("api-version");
  if (version != "2023-01-01" && version != "2021-11-01-preview") {
    return reply({400, "InvalidApiVersion", "Unsupported api-version.", -1});
  }
  std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) != 0) {
    return reply({401, "InvalidAuthenticationToken", "Bearer token is missing.", -1});
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = tokens.find(auth.substr(7));
    if (it == tokens.end()) {
      return reply({401, "InvalidAuthenticationToken", "The access token is invalid.", -1});
    }
    if (Clock::now() >= it->second.expires) {
      return reply({401, "TokenExpired", "The access token has expired.", -1});
    }
    // A token is good only for the audience it was asked for (IssuedToken): one for the
    // management scope is refused here, as the Logs Ingestion endpoint refuses it (401
    // InvalidAudience; Learn "Logs Ingestion API in Azure Monitor", the token's scope
    // https://monitor.azure.com/.default).
    if (!IsIngestionAudience(it->second.audience)) {
      return reply({401, "InvalidAudience",
                    "The access token was issued for audience " + it->second.audience +
                        ", not for Azure Monitor ingestion (https://monitor.azure.com).", -1});
    }
  }
  if (!options.dcr_id.empty() && dcr != options.dcr_id) {
    return reply({404, "NotFound", "Data collection rule " + dcr + " not found.", -1});
  }
  // The 1 MiB cap applies to the body as sent: compressed when Content-Encoding is gzip (Learn
  // "Azure Monitor service limits", Logs Ingestion API; Azure/azure-sdk-for-python issue 27436,
  // answered by the SDK's maintainers). cpp-httplib may have inflated the body already, so the
  // size sent is the Content-Length header when there is one.
  size_t sent = req.body.size();
  if (req.has_header("Content-Length")) {
    try {
      sent = std::stoull(req.get_header_value("Content-Length"));
    } catch (...) {
    }
  }
  if (sent > azure::kLogsIngestionMaxBody) {
    return reply({413, "ContentLengthLimitExceeded",
                  "Maximum allowed content length: 1048576 bytes (1 MB). Provided content "
                  "length: " + std::to_string(sent) + " bytes", -1});
  }
  std::string ct = req.get_header_value("Content-Type");
  if (ct.rfind("application/json", 0) != 0) {
    return reply({415, "UnsupportedMediaType", "Content-Type must be application/json.", -1});
  }
  const std::string* body = &req.body;
  std::string inflated;
  std::string enc = req.get_header_value("Content-Encoding");
  // cpp-httplib built with zlib (Debian's is) inflates gzip bodies itself before the handler
  // runs; then only the magic bytes tell whether the body is still compressed.
  bool still_gzip = req.body.size() >= 2 && static_cast<unsigned char>(req.body[0]) == 0x1f &&
                    static_cast<unsigned char>(req.body[1]) == 0x8b;
  // Decompressed, a body may hold up to 50 MiB (open-telemetry/otel-arrow pull request 2535,
  // from Azure's behaviour; the SDK issue above).
  if (enc == "gzip" && still_gzip) {
    Status s = azure::GzipDecompress(req.body, kMaxInflatedBody, &inflated);
    if (!s.ok()) {
      if (s.message().find("beyond") != std::string::npos) {
        return reply({413, "ContentLengthLimitExceeded",
                      "The decompressed body exceeds 52428800 bytes (50 MB).", -1});
      }
      return reply({400, "InvalidContentEncoding", "The gzip body could not be read.", -1});
    }
    body = &inflated;
  } else if (!enc.empty() && enc != "gzip") {
    return reply({400, "InvalidContentEncoding", "Unsupported Content-Encoding " + enc, -1});
  }
  if (body->size() > kMaxInflatedBody) {
    return reply({413, "ContentLengthLimitExceeded",
                  "The decompressed body exceeds 52428800 bytes (50 MB).", -1});
  }
  const bool gzipped = enc == "gzip";
  int64_t inflated_cap;
  {
    std::lock_guard<std::mutex> lock(mu);
    inflated_cap = faults.refuse_inflated_above;
  }
  if (gzipped && inflated_cap > 0 && body->size() > static_cast<size_t>(inflated_cap)) {
    // The test device of Faults::refuse_inflated_above, worded as Azure's 413.
    return reply({413, "ContentLengthLimitExceeded",
                  "Maximum allowed content length: 1048576 bytes (1 MB). Provided content "
                  "length: " + std::to_string(body->size()) + " bytes", -1});
  }
  if (auto limited = CheckRate("dcr:" + dcr, body->size(), Conn(req))) return reply(*limited);
  if (stream.rfind("Custom-", 0) != 0 && stream.rfind("Microsoft-", 0) != 0) {
    return reply({400, "InvalidStream", "Stream " + stream + " is not declared in the DCR.", -1});
  }
  const azure::StreamSchema* schema = nullptr;
  if (!schemas.empty()) {
    auto it = schemas.find(stream);
    if (it == schemas.end()) {
      return reply({400, "InvalidStream", "Stream " + stream + " is not declared in the DCR.", -1});
    }
    schema = &it->second;
  }
  if (schema == nullptr && record == nullptr && !options.query_api) {
    RowCounter counter(false);
    if (!ScanJson(*body, &counter)) {
      return reply({400, "InvalidPayload", "The body must be a JSON array of objects.", -1});
    }
    Count(TableForStream(stream), counter.rows(), body->size());
    NoteAccepted(stream, sent, body->size(), counter.rows(), gzipped);
    res.status = 204;
    return;
  }
  json array = json::parse(*body, nullptr, false);
  if (!array.is_array()) {
    return reply({400, "InvalidPayload", "The body must be a JSON array of objects.", -1});
  }
  std::string refuse_field;
  {
    std::lock_guard<std::mutex> lock(mu);
    refuse_field = faults.refuse_field;
  }
  for (size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_object()) {
      return reply({400, "InvalidPayload", fmt::format("Record {} is not an object.", i), -1});
    }
    if (!refuse_field.empty() && array[i].contains(refuse_field)) {
      return reply({400, "InvalidDataFormat",
                    fmt::format("Record {}: emulated refusal of field '{}'.", i, refuse_field), -1});
    }
  }
  const std::string received = IsoNow();
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  DropCounts drops;
  for (json& row : array) {
    if (schema != nullptr) {
      for (auto it = row.begin(); it != row.end();) {
        auto col = schema->columns.find(it.key());
        // Learn "Logs Ingestion API in Azure Monitor" and "Monitor and troubleshoot DCR data
        // collection": keys the stream does not declare are dropped without an error, and a
        // value whose JSON type does not fit its column is dropped while the call answers 204;
        // only the DCR's metrics ("Log Columns Dropped") and DCRLogErrors show it. A `dynamic`
        // column takes an object or array whole (ValueMatches).
        if (col == schema->columns.end()) {
          ++drops.undeclared;
          ++drops.columns[it.key()];
          NoteLogError(stream, it.key(), "the column is not declared in the stream");
          it = row.erase(it);
          continue;
        }
        if (!azure::ValueMatches(col->second, it.value())) {
          ++drops.mismatched;
          ++drops.columns[it.key()];
          NoteLogError(stream, it.key(),
                       fmt::format("declared {} but the value is {}", azure::ColumnTypeName(col->second),
                                   it.value().type_name()));
          it = row.erase(it);
          continue;
        }
        ++it;
      }
    }
    // Learn "Standard columns in Azure Monitor Logs", TimeGenerated: a value more than 2 days
    // old or more than 1 day ahead is replaced by the time the row was received.
    auto tg = row.find("TimeGenerated");
    if (tg != row.end() && (!tg->is_string() || OutsideTimeWindow(tg->get<std::string>(), now_s))) {
      ++drops.time_replaced;
      *tg = received;
    }
  }
  CountDropped(stream, drops);
  NoteAccepted(stream, sent, body->size(), array.size(), gzipped);
  Record(TableForStream(stream), array, body->size());
  if (options.query_api) Store(QueryTable(stream), array);
  DelayAnswer();
  res.status = 204;
}

void Emulator::Impl::DataCollector(const httplib::Request& req, httplib::Response& res) {
  if (ApplyFaults(res, true, true)) return;
  auto reply = [&](Answer a) { Reply(res, a, true); };
  if (!req.has_param("api-version")) {
    return reply({400, "MissingApiVersion", "The api-version query parameter is missing.", -1});
  }
  if (req.get_param_value("api-version") != "2016-04-01") {
    return reply({400, "InvalidApiVersion", "The API version isn't recognized.", -1});
  }
  std::string ct = req.get_header_value("Content-Type");
  if (ct.empty()) return reply({400, "MissingContentType", "The content type wasn't specified.", -1});
  if (ct.rfind("application/json", 0) == 0 && ct != "application/json") {
    // The signature covers "application/json" exactly (Learn "HTTP Data Collector API",
    // Authorization): with a charset the string signed differs and Azure answers 403.
    return reply({403, "InvalidAuthorization", "The signature is not valid.", -1});
  }
  if (ct != "application/json") {
    return reply({400, "UnsupportedContentType", "The content type wasn't application/json.", -1});
  }
  std::string log_type = req.get_header_value("Log-Type");
  if (log_type.empty()) return reply({400, "MissingLogType", "The Log-Type header is missing.", -1});
  if (!ValidLogType(log_type)) {
    return reply({400, "InvalidLogType", "The log type contained special characters or was too long.", -1});
  }
  std::string date = req.get_header_value("x-ms-date");
  std::chrono::system_clock::time_point t;
  if (date.empty() || !azure::ParseHttpDate(date, &t)) {
    return reply({403, "InvalidAuthorization", "The x-ms-date header is missing or invalid.", -1});
  }
  auto skew = std::chrono::system_clock::now() - t;
  if (skew > options.max_date_skew || -skew > options.max_date_skew) {
    return reply({403, "InvalidAuthorization", "The x-ms-date header is too far from the current time.", -1});
  }
  std::string auth = req.get_header_value("Authorization");
  std::string prefix = "SharedKey " + options.workspace_id + ":";
  if (auth.rfind("SharedKey ", 0) != 0) {
    return reply({403, "InvalidAuthorization", "The Authorization header is not SharedKey.", -1});
  }
  if (auth.rfind(prefix, 0) != 0) {
    return reply({400, "InvalidCustomerId", "The workspace ID is unknown.", -1});
  }
  std::string expected;
  if (!azure::SharedKeySignature(options.shared_key, req.body.size(), date, &expected).ok()) {
    return reply({500, "UnspecifiedError", "emulator shared key is invalid", -1});
  }
  std::string given = auth.substr(prefix.size());
  if (given.size() != expected.size() ||
      CRYPTO_memcmp(given.data(), expected.data(), given.size()) != 0) {
    return reply({403, "InvalidAuthorization", "The signature is not valid.", -1});
  }
  if (req.body.size() > azure::kDataCollectorMaxBody) {
    res.status = 404;  // the Data Collector API answers a too-large request with 404
    res.set_content("Request too large", "text/plain");
    return;
  }
  if (auto limited = CheckRate("ws:" + options.workspace_id, req.body.size(), Conn(req))) {
    return reply(*limited);
  }
  if (record == nullptr) {
    RowCounter counter(true);
    if (!ScanJson(req.body, &counter)) {
      return reply({400, "InvalidDataFormat", "The body is not valid JSON.", -1});
    }
    Count(log_type + "_CL", counter.rows(), req.body.size());
    res.status = 200;
    return;
  }
  json array = json::parse(req.body, nullptr, false);
  if (array.is_object()) array = json::array({std::move(array)});
  bool ok = array.is_array();
  for (const auto& row : array) ok = ok && row.is_object();
  if (!ok) return reply({400, "InvalidDataFormat", "The body is not valid JSON.", -1});
  Record(log_type + "_CL", array, req.body.size());
  if (options.query_api) Store(log_type + "_CL", array);
  res.status = 200;
}

}  // namespace sg::emulator
