#include "sentinel_gateway/deliver/shaper.h"

#include "sentinel_gateway/azure/json_scan.h"
#include "sentinel_gateway/deliver/routes.h"

#include <charconv>
#include <cstdint>
#include <iterator>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sg::deliver {
namespace {

using nlohmann::json;

// `name` is the field's flattened name; an empty key is a name too ({"":{"a":1}} gives "_a", as
// the streaming path does).
void Flatten(const std::string& name, json&& value, bool azure_names, json* out) {
  if (value.is_object()) {
    for (auto& [k, v] : value.items()) {
      Flatten(name + "_" + k, std::move(v), azure_names, out);
    }
    return;
  }
  if (azure_names) {
    (*out)[std::string(DcrColumnFor(name))] = std::move(value);
  } else {
    (*out)[name] = std::move(value);
  }
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
//
// With an assumed schema (keep_undeclared: nothing is removed) it also converts the declared
// columns: a value of the declared kind is copied as it is, another is parsed on its own and
// converted as the document path would. What it cannot do in one pass (an escaped key, an array
// in a declared non-dynamic column, an escaped timestamp) sets needs_document(); the caller then
// shapes the event with the document path instead.
class FlattenHandler {
 public:
  FlattenHandler(const std::string& timestamp_field, const azure::StreamSchema* schema,
                 bool azure_names, ShapeReport* report, std::string* out)
      : timestamp_field_(timestamp_field), schema_(schema), azure_names_(azure_names),
        report_(report), out_(out) {}

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
    if (schema_ != nullptr && stack_.back().flat) {
      const azure::ColumnType* type = Declared();
      if (type != nullptr && *type != azure::ColumnType::kDynamic) needs_document_ = true;
    }
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
      if (azure_names_ && key_.size() > 45) key_ = DcrColumnFor(key_);
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
    const azure::ColumnType* type = schema_ != nullptr && stack_.back().flat ? Declared() : nullptr;
    if (type == nullptr || kind == azure::JsonKind::kNull || AlreadyFits(*type, raw, kind)) {
      out_->append(raw);
      return true;
    }
    // Another kind than the column's, or a type that needs a closer look (int range, date-time):
    // this one value is parsed and converted exactly as the document path converts it.
    json v = json::parse(raw, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded()) return false;
    if (!azure::ConvertValue(*type, &v) && report_ != nullptr) report_->unconvertible.push_back(key_);
    out_->append(v.dump(-1, ' ', false, json::error_handler_t::replace));
    return true;
  }

  bool needs_document() const { return needs_document_; }
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

  // True when a scalar's text already has the column's type, as azure::ValueMatches would say
  // of the parsed value; false when unsure (then the value is parsed and converted).
  static bool AlreadyFits(azure::ColumnType type, std::string_view raw, azure::JsonKind kind) {
    using azure::ColumnType;
    using azure::JsonKind;
    switch (type) {
      case ColumnType::kDynamic: return true;
      case ColumnType::kString: return kind == JsonKind::kString;
      case ColumnType::kReal: return kind == JsonKind::kNumber;
      case ColumnType::kBoolean: return kind == JsonKind::kTrue || kind == JsonKind::kFalse;
      case ColumnType::kInt:
      case ColumnType::kLong: {
        if (kind != JsonKind::kNumber || raw.find_first_of(".eE") != std::string_view::npos) return false;
        int64_t n = 0;
        auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), n);
        if (ec != std::errc() || end != raw.data() + raw.size()) return false;  // beyond int64: parse
        return type == ColumnType::kLong || (n >= INT32_MIN && n <= INT32_MAX);
      }
      case ColumnType::kDateTime:
        return kind == JsonKind::kString && raw.find('\\') == std::string_view::npos &&
               azure::IsIso8601DateTime(raw.substr(1, raw.size() - 2));
      default:
        return false;
    }
  }

  // The schema's type for the current row field, or null when the schema does not declare it.
  const azure::ColumnType* Declared() {
    if (key_.find('\\') != std::string::npos) {
      needs_document_ = true;  // the key is escaped; the schema names unescaped columns
      return nullptr;
    }
    auto it = schema_->columns.find(key_);
    return it == schema_->columns.end() ? nullptr : &it->second;
  }

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
  const azure::StreamSchema* schema_;
  bool azure_names_;
  ShapeReport* report_;
  std::string* out_;
  std::vector<Frame> stack_;
  std::string prefix_;  // escaped, e.g. occurrence_details_
  std::string key_;     // escaped, with prefix
  std::string_view last_key_;  // escaped, without prefix (a span of the input)
  bool any_field_ = false;
  bool needs_document_ = false;
  bool has_time_generated_ = false;
  std::optional<std::string_view> timestamp_;  // escaped inner of the top-level timestamp
};

// False in *done when the event needs the document path (see FlattenHandler).
Status ShapeStreaming(std::string_view payload, const SourceRef& source, const ShapeOptions& options,
                      std::string* row, ShapeReport* report, bool* done) {
  *done = false;
  const azure::StreamSchema* schema = options.schema;
  row->clear();
  row->reserve(payload.size() + 64);
  row->push_back('{');
  const size_t reported = report != nullptr ? report->unconvertible.size() : 0;
  FlattenHandler h(options.timestamp_field, schema, options.azure_column_names, report, row);
  if (!azure::ScanJson(payload, &h)) return Status::InvalidArgument("event is not a JSON object");
  bool want_time = options.set_time_generated && !h.has_time_generated() && h.timestamp() &&
                   (schema == nullptr || schema->columns.count("TimeGenerated") != 0);
  if (h.needs_document() || (want_time && schema != nullptr && h.timestamp()->find('\\') != std::string_view::npos)) {
    if (report != nullptr) report->unconvertible.resize(reported);
    return Status::OK();
  }
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
  if (want_time) {
    add("TimeGenerated", *h.timestamp());
    // As the document path reports it: a string is converted to no column type, only checked
    // (without building a json value for the common types: this runs for every event).
    if (schema != nullptr && report != nullptr) {
      const azure::ColumnType type = schema->columns.at("TimeGenerated");
      const std::string_view ts = *h.timestamp();
      bool fits = type == azure::ColumnType::kString || type == azure::ColumnType::kDynamic ||
                  (type == azure::ColumnType::kDateTime && azure::IsIso8601DateTime(ts)) ||
                  (type == azure::ColumnType::kGuid && azure::ValueMatches(type, json(std::string(ts))));
      if (!fits) report->unconvertible.push_back("TimeGenerated");
    }
  }
  if (!options.event_id_field.empty() && !source.topic.empty()) {
    // "<field>":"<topic>/<partition>/<offset>", written in place (this runs for every event).
    if (any) row->push_back(',');
    any = true;
    row->push_back('"');
    row->append(options.event_id_field);
    row->append("\":");
    AppendEscaped(source.topic, row);
    row->pop_back();  // the topic's closing quote: partition and offset follow
    fmt::format_to(std::back_inserter(*row), "/{}/{}\"", source.partition, source.offset);
  }
  row->push_back('}');
  *done = true;
  return Status::OK();
}

}  // namespace

Status ShapeEvent(std::string_view payload, const SourceRef& source, const ShapeOptions& options,
                  std::string* row, ShapeReport* report) {
  if ((options.schema == nullptr || options.schema->keep_undeclared) && !options.use_document) {
    bool done = false;
    Status s = ShapeStreaming(payload, source, options, row, report, &done);
    if (!s.ok() || done) return s;
  }
  // nlohmann stops at a NUL byte and would accept `{...}\0junk`; JSON (RFC 8259) never holds a raw
  // NUL, and the streaming path rejects it too: both paths must agree.
  if (payload.find('\0') != std::string_view::npos) return Status::InvalidArgument("event holds a NUL byte");
  json in = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!in.is_object()) return Status::InvalidArgument("event is not a JSON object");
  json out = json::object();
  for (auto& [k, v] : in.items()) Flatten(k, std::move(v), options.azure_column_names, &out);

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
