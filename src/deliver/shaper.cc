#include "sentinel_gateway/deliver/shaper.h"

#include "sentinel_gateway/azure/json_scan.h"

#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sg::deliver {
namespace {

using nlohmann::json;

void Flatten(const std::string& prefix, json&& value, json* out) {
  if (value.is_object()) {
    for (auto& [k, v] : value.items()) {
      Flatten(prefix.empty() ? k : prefix + "_" + k, std::move(v), out);
    }
    return;
  }
  (*out)[prefix] = std::move(value);
}

void AppendEscaped(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t run = 0;  // start of the current run of characters that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default: out->append(fmt::format("\\u{:04x}", c));
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

// Streaming shaper (no schema): flattens while scanning, copying keys and values from the input
// as they are (still escaped), without building a document. The same row as the document path
// (tests hold them equal), several times faster.
class FlattenHandler {
 public:
  FlattenHandler(const std::string& timestamp_field, std::string* out)
      : timestamp_field_(timestamp_field), out_(out) {}

  bool StartObject() {
    if (stack_.empty()) {
      stack_.push_back({true, true, false, 0});
      return true;
    }
    if (stack_.back().flat) {
      // A nested object: its fields join the row under "<key>_".
      size_t mark = prefix_.size();
      prefix_.append(last_key_);
      prefix_.push_back('_');
      stack_.push_back({true, true, false, mark});
      return true;
    }
    OpenVerbatim('{');
    return true;
  }
  bool EndObject() {
    Frame f = stack_.back();
    stack_.pop_back();
    if (f.flat) {
      prefix_.resize(f.prefix_mark);
    } else {
      out_->push_back('}');
    }
    return true;
  }
  bool StartArray() {
    if (stack_.empty()) return false;  // the event must be an object
    OpenVerbatim('[');
    return true;
  }
  bool EndArray() {
    out_->push_back(']');
    stack_.pop_back();
    return true;
  }
  bool Key(std::string_view k) {
    Frame& top = stack_.back();
    if (top.flat) {
      last_key_ = k;
      key_.assign(prefix_);
      key_.append(k);
      if (stack_.size() == 1 && k == "TimeGenerated") has_time_generated_ = true;
      return true;
    }
    if (!top.first) out_->push_back(',');
    top.first = false;
    out_->push_back('"');
    out_->append(k);
    out_->append("\":");
    top.after_key = true;
    return true;
  }
  bool Value(std::string_view raw, azure::JsonKind kind) {
    if (stack_.empty()) return false;
    if (kind == azure::JsonKind::kString && stack_.size() == 1 && key_ == timestamp_field_) {
      timestamp_ = raw.substr(1, raw.size() - 2);
    }
    BeforeValue();
    out_->append(raw);
    return true;
  }

  bool has_time_generated() const { return has_time_generated_; }
  const std::optional<std::string_view>& timestamp() const { return timestamp_; }
  bool any_field() const { return any_field_; }

 private:
  struct Frame {
    bool flat;       // an object being flattened into the row
    bool first;      // verbatim containers: no element written yet
    bool after_key;  // verbatim objects: a key was written, its value comes next
    size_t prefix_mark;
  };

  void BeforeValue() {
    Frame& top = stack_.back();
    if (top.flat) {
      if (any_field_) out_->push_back(',');
      any_field_ = true;
      out_->push_back('"');
      out_->append(key_);
      out_->append("\":");
    } else if (top.after_key) {
      top.after_key = false;
    } else {
      if (!top.first) out_->push_back(',');
      top.first = false;
    }
  }
  void OpenVerbatim(char c) {
    BeforeValue();
    out_->push_back(c);
    stack_.push_back({false, true, false, 0});
  }

  const std::string& timestamp_field_;
  std::string* out_;
  std::vector<Frame> stack_;
  std::string prefix_;  // escaped, e.g. occurrence_details_
  std::string key_;     // escaped, with prefix
  std::string_view last_key_;  // escaped, without prefix (a span of the input)
  bool any_field_ = false;
  bool has_time_generated_ = false;
  std::optional<std::string_view> timestamp_;  // escaped inner of the top-level timestamp
};

Status ShapeStreaming(std::string_view payload, const SourceRef& source,
                      const ShapeOptions& options, std::string* row) {
  row->clear();
  row->reserve(payload.size() + 64);
  row->push_back('{');
  FlattenHandler h(options.timestamp_field, row);
  if (!azure::ScanJson(payload, &h)) return Status::InvalidArgument("event is not a JSON object");
  bool any = h.any_field();
  auto add = [&](std::string_view key, std::string_view escaped_value) {
    if (any) row->push_back(',');
    any = true;
    row->push_back('"');
    row->append(key);
    row->append("\":\"");
    row->append(escaped_value);
    row->push_back('"');
  };
  if (options.set_time_generated && !h.has_time_generated() && h.timestamp()) {
    add("TimeGenerated", *h.timestamp());
  }
  if (!options.event_id_field.empty() && !source.topic.empty()) {
    std::string id = fmt::format("{}/{}/{}", source.topic, source.partition, source.offset);
    std::string escaped;
    AppendEscaped(id, &escaped);
    add(options.event_id_field, std::string_view(escaped).substr(1, escaped.size() - 2));
  }
  row->push_back('}');
  return Status::OK();
}

}  // namespace

Status ShapeEvent(std::string_view payload, const SourceRef& source, const ShapeOptions& options,
                  std::string* row, ShapeReport* report) {
  if (options.schema == nullptr && !options.use_document) {
    return ShapeStreaming(payload, source, options, row);
  }
  // nlohmann stops at a NUL byte and would accept `{...}\0junk`; JSON (RFC 8259) never holds a raw
  // NUL, and the streaming path rejects it too: both paths must agree.
  if (payload.find('\0') != std::string_view::npos) return Status::InvalidArgument("event holds a NUL byte");
  json in = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!in.is_object()) return Status::InvalidArgument("event is not a JSON object");
  json out = json::object();
  for (auto& [k, v] : in.items()) Flatten(k, std::move(v), &out);

  const azure::StreamSchema* schema = options.schema;
  bool want_time = options.set_time_generated && !out.contains("TimeGenerated") &&
                   (schema == nullptr || schema->columns.count("TimeGenerated") != 0);
  if (want_time) {
    auto it = out.find(options.timestamp_field);
    if (it != out.end() && it->is_string()) out["TimeGenerated"] = *it;
  }
  if (!options.event_id_field.empty() && !source.topic.empty()) {
    out[options.event_id_field] =
        fmt::format("{}/{}/{}", source.topic, source.partition, source.offset);
  }
  if (schema != nullptr) {
    for (auto it = out.begin(); it != out.end();) {
      auto col = schema->columns.find(it.key());
      if (col == schema->columns.end()) {
        if (schema->keep_undeclared) {
          ++it;
          continue;
        }
        if (report != nullptr) report->undeclared.push_back(it.key());
        it = out.erase(it);
        continue;
      }
      if (!azure::ConvertValue(col->second, &it.value()) && report != nullptr) {
        // Sent unchanged: Azure decides, and a refusal isolates this event by bisection.
        report->unconvertible.push_back(it.key());
      }
      ++it;
    }
  }
  *row = out.dump(-1, ' ', false, json::error_handler_t::replace);
  return Status::OK();
}

}  // namespace sg::deliver
