#include "sentinel_gateway/deliver/shaper.h"

#include "sentinel_gateway/json_scan.h"
#include "sentinel_gateway/deliver/long_field_columns.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sg::deliver {
namespace {

using nlohmann::json;

constexpr std::string_view kCatchAll = "AdditionalFields";

// True when the schema declares a column named `<name>_...`: the object `name` is flattened.
// `probe` is scratch space (no allocation per call once it has grown).
bool HasColumnsUnder(const azure::StreamSchema& schema, std::string_view name, std::string* probe) {
  probe->assign(name);
  probe->push_back('_');
  auto it = schema.columns.lower_bound(*probe);
  return it != schema.columns.end() && it->first.compare(0, probe->size(), *probe) == 0;
}

// The schema's catch-all column (docs/AZURE.md, "Fields that do not fit"), when it declares one.
bool HasCatchAll(const azure::StreamSchema* schema) {
  if (schema == nullptr) return false;
  static const std::string kName(kCatchAll);  // runs for every event: no string built per call
  auto it = schema->columns.find(kName);
  return it != schema->columns.end() && it->second == azure::ColumnType::kDynamic;
}

// The schema's columns, looked up by hash when the caller gave an index of it, else in its map.
class Columns {
 public:
  Columns(const azure::StreamSchema* schema, const azure::ColumnIndex* index)
      : schema_(schema), index_(index != nullptr && index->schema() == schema ? index : nullptr) {}
  const azure::ColumnType* Find(const std::string& name, size_t hash) const {
    if (index_ != nullptr) return index_->Find(name, hash);
    auto it = schema_->columns.find(name);
    return it == schema_->columns.end() ? nullptr : &it->second;
  }
  bool HasColumnsUnder(std::string_view name, std::string* probe) const {
    return index_ != nullptr ? index_->HasColumnsUnder(name) : sg::deliver::HasColumnsUnder(*schema_, name, probe);
  }

 private:
  const azure::StreamSchema* schema_;
  const azure::ColumnIndex* index_;
};

// Seconds since the epoch of an ISO 8601 date-time (its offset, if any, ignored: hours do not
// matter against Azure's 2 days). False when `s` does not start like one.
bool EpochSeconds(std::string_view s, int64_t* out) {
  if (s.size() < 19) return false;
  auto num = [&](size_t pos, size_t n, int64_t* v) {
    *v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      *v = *v * 10 + (s[i] - '0');
    }
    return true;
  };
  int64_t y, m, d, hh, mm, ss;
  if (!num(0, 4, &y) || s[4] != '-' || !num(5, 2, &m) || s[7] != '-' || !num(8, 2, &d) ||
      !num(11, 2, &hh) || s[13] != ':' || !num(14, 2, &mm) || s[16] != ':' || !num(17, 2, &ss) ||
      m < 1 || m > 12 || d < 1 || d > 31) {
    return false;
  }
  // Days from 1970-01-01 (H. Hinnant's days_from_civil).
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  *out = (era * 146097 + doe - 719468) * 86400 + hh * 3600 + mm * 60 + ss;
  return true;
}

// docs/AZURE.md, "TimeGenerated": Azure keeps it only from 2 days back to 1 day ahead.
bool TimeReplacedByAzure(std::string_view time, int64_t now_s) {
  int64_t t;
  if (now_s == 0 || !EpochSeconds(time, &t)) return false;
  return t < now_s - 2 * 86400 || t > now_s + 86400;
}

// A value whose row name an earlier field already holds (ShapeReport::collided).
struct Collided {
  std::string pointer;  // its original path, as a JSON Pointer (RFC 6901)
  std::string column;
  json value;
};

struct FlattenContext {
  const azure::StreamSchema* schema;
  bool catch_all;
  bool azure_names;
  std::string probe;
  std::vector<const std::string*> path;  // the keys down to the field being flattened
  std::vector<Collided> collided;
};

void AppendPointerStep(std::string_view key, std::string* out) {
  out->push_back('/');
  for (char ch : key) {
    if (ch == '~') {
      out->append("~0");
    } else if (ch == '/') {
      out->append("~1");
    } else {
      out->push_back(ch);
    }
  }
}

// Counts a collision under its column, once per event and name (a name the event already reports
// as undeclared or unconvertible is counted there).
void CountCollided(const std::string& column, ShapeReport* report) {
  if (report == nullptr) return;
  for (const auto* names : {&report->undeclared, &report->unconvertible, &report->collided}) {
    if (std::find(names->begin(), names->end(), column) != names->end()) return;
  }
  report->collided.push_back(column);
}

// Puts `value` under `key` in the catch-all object `extra`, or, when an earlier value holds that
// key, under `pointer`; false (nothing put) when that is taken as well.
bool PutExtra(json* extra, const std::string& key, const std::string& pointer, json&& value) {
  auto& obj = extra->get_ref<json::object_t&>();
  auto [it, inserted] = obj.try_emplace(key);
  if (!inserted) std::tie(it, inserted) = obj.try_emplace(pointer);
  if (inserted) it->second = std::move(value);
  return inserted;
}

// An object under `name` stays whole when its column is `dynamic`, or when the schema has a
// catch-all and declares nothing under it (then it lands whole in a column or the catch-all).
bool KeepWhole(const std::string& name, FlattenContext* c) {
  if (c->schema == nullptr) return false;
  auto col = c->schema->columns.find(name);
  if (col != c->schema->columns.end() && col->second == azure::ColumnType::kDynamic) return true;
  return c->catch_all && !HasColumnsUnder(*c->schema, name, &c->probe);
}

// `name` is the field's flattened name; an empty key is a name too ({"":{"a":1}} gives "_a", as
// the streaming path does).
void Flatten(const std::string& name, json&& value, FlattenContext* c, json* out) {
  if (value.is_object() && !KeepWhole(name, c)) {
    for (auto& [k, v] : value.items()) {
      c->path.push_back(&k);
      Flatten(name + "_" + k, std::move(v), c, out);
      c->path.pop_back();
    }
    return;
  }
  // Two fields can flatten to one name ({"a":{"b":1}} beside "a_b"): a row must not hold a key
  // twice (docs/AZURE.md), so the first in key order keeps it and the later is set aside.
  auto& row = out->get_ref<json::object_t&>();
  auto [it, inserted] = row.try_emplace(c->azure_names ? std::string(DcrColumnFor(name)) : name);
  if (inserted) {
    it->second = std::move(value);
    return;
  }
  Collided& later = c->collided.emplace_back();
  for (const std::string* k : c->path) AppendPointerStep(*k, &later.pointer);
  later.column = it->first;
  later.value = std::move(value);
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
  // Scratch space that outlives one event, so that shaping reuses its buffers instead of
  // allocating them per event (the reader thread shapes every event; see shape_bench).
  struct Frame;
  struct Scratch {
    std::string probe, extra, prefix, key;
    std::vector<Frame> stack;
  };

  FlattenHandler(const std::string& timestamp_field, const azure::StreamSchema* schema,
                 const azure::ColumnIndex* index, bool azure_names, ShapeReport* report,
                 std::string* out, Scratch* scratch)
      : timestamp_field_(timestamp_field), schema_(schema), columns_(schema, index),
        catch_all_(HasCatchAll(schema)), azure_names_(azure_names),
        probe_(scratch->probe), extra_(scratch->extra), report_(report), out_(out),
        stack_(scratch->stack), prefix_(scratch->prefix), key_(scratch->key) {
    extra_.clear();
    stack_.clear();
    prefix_.clear();
    key_.clear();
  }

  bool StartObject() {
    if (stack_.empty()) {
      stack_.push_back({true, true, false, 0});
      return true;
    }
    if (stack_.back().flat) {
      if (schema_ != nullptr) {
        // A `dynamic` column takes the object whole; so does the catch-all when the schema
        // declares nothing under it (the document path's KeepWhole).
        const azure::ColumnType* type = Declared();
        if (type != nullptr && *type == azure::ColumnType::kDynamic) {
          OpenVerbatim('{');
          return true;
        }
        if (catch_all_ && !columns_.HasColumnsUnder(key_, &probe_)) {
          if (type != nullptr) needs_document_ = true;  // an object for a typed column: convert
          OpenUndeclared('{');
          return true;
        }
      }
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
    const Frame& f = stack_.back();
    if (f.flat) {
      prefix_.resize(f.prefix_mark);
    } else {
      out_->push_back('}');
      if (f.to_extra) AddExtra(f.extra_key, std::string_view(*out_).substr(f.prefix_mark));
    }
    stack_.pop_back();
    return true;
  }
  bool StartArray() {
    if (stack_.empty()) return false;  // the event must be an object
    if (schema_ != nullptr && stack_.back().flat) {
      const azure::ColumnType* type = Declared();
      if (type != nullptr && *type != azure::ColumnType::kDynamic) needs_document_ = true;
      if (type == nullptr && catch_all_) {
        OpenUndeclared('[');
        return true;
      }
    }
    OpenVerbatim('[');
    return true;
  }
  bool EndArray() {
    out_->push_back(']');
    const Frame& f = stack_.back();
    if (f.to_extra) AddExtra(f.extra_key, std::string_view(*out_).substr(f.prefix_mark));
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
      key_hash_ = azure::ColumnIndex::Hash(key_);
      // An escaped key may name the same column as an unescaped one: only the document path
      // compares them as text.
      if (k.find('\\') != std::string_view::npos) needs_document_ = true;
      if (stack_.size() == 1 && k == "TimeGenerated") has_time_generated_ = true;
      // The event's own catch-all field is merged with ours by the document path.
      if (catch_all_ && stack_.size() == 1 && k == kCatchAll) needs_document_ = true;
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
  bool Value(std::string_view raw, JsonKind kind) {
    if (stack_.empty()) return false;
    if (kind == JsonKind::kString && stack_.size() == 1 && key_ == timestamp_field_) {
      timestamp_ = raw.substr(1, raw.size() - 2);
    }
    BeforeValue();
    const azure::ColumnType* type = schema_ != nullptr && stack_.back().flat ? Declared() : nullptr;
    if (type == nullptr || kind == JsonKind::kNull || AlreadyFits(*type, raw, kind)) {
      out_->append(raw);
      if (type == nullptr && catch_all_ && stack_.back().flat) {
        if (report_ != nullptr) report_->undeclared.push_back(key_);
        AddExtra(key_, raw);
      }
      return true;
    }
    // Another kind than the column's, or a type that needs a closer look (int range, date-time):
    // this one value is parsed and converted exactly as the document path converts it.
    json v = json::parse(raw, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded()) return false;
    if (!azure::ConvertValue(*type, &v)) {
      if (report_ != nullptr) report_->unconvertible.push_back(key_);
      if (catch_all_) AddExtra(key_, raw);  // its original text, in the catch-all
    }
    out_->append(v.dump(-1, ' ', false, json::error_handler_t::replace));
    return true;
  }

  // `"key":value` entries for the catch-all column, comma-separated.
  const std::string& extra() const { return extra_; }
  void AddExtra(std::string_view key, std::string_view raw_value) {
    if (!extra_.empty()) extra_.push_back(',');
    extra_.push_back('"');
    extra_.append(key);
    extra_.append("\":");
    extra_.append(raw_value);
  }

  // Two fields that flatten to one row name ({"a":{"b":1}} beside "a_b", or the event's own event
  // id field): rare, so the document path settles which keeps the column. A set of the row keys'
  // hashes finds them (open addressing on the stack, no allocation); two names with one hash only
  // cost that detour, and so does an event with more keys than the set holds.
  void NoteRowKey(std::string_view key) { NoteRowKeyHash(azure::ColumnIndex::Hash(key)); }
  void NoteRowKeyHash(size_t key_hash) {
    if (++row_keys_ > kKeySlots * 3 / 4) {
      needs_document_ = true;
      return;
    }
    const size_t h = key_hash | 1;  // 0 marks a free slot
    for (size_t i = h % kKeySlots;; i = (i + 1) % kKeySlots) {
      if (key_slots_[i] == 0) {
        key_slots_[i] = h;
        return;
      }
      if (key_slots_[i] == h) {
        needs_document_ = true;
        return;
      }
    }
  }

  bool needs_document() const { return needs_document_; }
  bool catch_all() const { return catch_all_; }
  // The schema's type of TimeGenerated, or null when it declares none.
  const azure::ColumnType* TimeGeneratedType() const {
    static const std::string kName("TimeGenerated");
    static const size_t kHash = azure::ColumnIndex::Hash(kName);
    return columns_.Find(kName, kHash);
  }
  bool has_time_generated() const { return has_time_generated_; }
  const std::optional<std::string_view>& timestamp() const { return timestamp_; }
  bool any_field() const { return any_field_; }

 public:
  struct Frame {
    bool flat;       // an object being flattened into the row
    bool first;      // verbatim containers: no element written yet
    bool after_key;  // verbatim objects: a key was written, its value comes next
    size_t prefix_mark;  // flat: prefix_'s length before it; to_extra: where the value starts in out_
    bool to_extra = false;  // an undeclared container: copied whole into the catch-all at its end
    std::string extra_key{};
  };

 private:

  // An undeclared object or array: whole in the row (an assumed schema removes nothing) and in the
  // catch-all.
  void OpenUndeclared(char c) {
    if (report_ != nullptr) report_->undeclared.push_back(key_);
    OpenVerbatim(c);
    Frame& f = stack_.back();
    f.to_extra = true;
    f.prefix_mark = out_->size() - 1;
    f.extra_key = key_;
  }

  // True when a scalar's text already has the column's type, as azure::ValueMatches would say
  // of the parsed value; false when unsure (then the value is parsed and converted).
  static bool AlreadyFits(azure::ColumnType type, std::string_view raw, JsonKind kind) {
    using azure::ColumnType;
    using sg::JsonKind;
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
    // An escaped key (the schema names unescaped columns) has set needs_document_ in Key(); the
    // row is then shaped by the document path, whatever this answers.
    if (needs_document_) return nullptr;
    return columns_.Find(key_, key_hash_);
  }

  void BeforeValue() {
    Frame& top = stack_.back();
    if (top.flat) {
      NoteRowKeyHash(key_hash_);
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
  Columns columns_;
  bool catch_all_;
  bool azure_names_;
  std::string& probe_;
  std::string& extra_;
  ShapeReport* report_;
  std::string* out_;
  static constexpr size_t kKeySlots = 256;
  std::array<size_t, kKeySlots> key_slots_{};
  size_t row_keys_ = 0;
  std::vector<Frame>& stack_;
  std::string& prefix_;  // escaped, e.g. occurrence_details_
  std::string& key_;     // escaped, with prefix
  size_t key_hash_ = 0;  // ColumnIndex::Hash(key_), once per key
  std::string_view last_key_;  // escaped, without prefix (a span of the input)
  bool any_field_ = false;
  bool needs_document_ = false;
  bool has_time_generated_ = false;
  std::optional<std::string_view> timestamp_;  // escaped inner of the top-level timestamp
};

// False in *done when the event needs the document path (see FlattenHandler).
Status ShapeStreaming(std::string_view payload, const spool::SourceRef& source, const ShapeOptions& options,
                      std::string* row, ShapeReport* report, bool* done) {
  *done = false;
  const azure::StreamSchema* schema = options.schema;
  row->clear();
  // Room for what shaping adds (TimeGenerated, the event id, the catch-all's wrapping, longer
  // column names), so a row is allocated once, not grown by doubling as it is written.
  row->reserve(payload.size() + payload.size() / 8 + 192);
  row->push_back('{');
  const size_t reported = report != nullptr ? report->unconvertible.size() : 0;
  const size_t reported_undeclared = report != nullptr ? report->undeclared.size() : 0;
  thread_local FlattenHandler::Scratch scratch;  // one event at a time per thread
  FlattenHandler h(options.timestamp_field, schema, options.index, options.azure_column_names, report,
                   row, &scratch);
  if (!ScanJson(payload, &h)) return Status::InvalidArgument("event is not a JSON object");
  bool want_time = options.set_time_generated && !h.has_time_generated() && h.timestamp() &&
                   (schema == nullptr || h.TimeGeneratedType() != nullptr);
  const bool want_id = !options.event_id_field.empty() && !source.topic.empty();
  if (want_id) h.NoteRowKey(options.event_id_field);
  if (h.needs_document() ||
      (want_time && schema != nullptr && h.timestamp()->find('\\') != std::string_view::npos)) {
    if (report != nullptr) {
      report->unconvertible.resize(reported);
      report->undeclared.resize(reported_undeclared);
    }
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
    if (report != nullptr) report->time_replaced = TimeReplacedByAzure(*h.timestamp(), options.now_s);
    // As the document path reports it: a string is converted to no column type, only checked
    // (without building a json value for the common types: this runs for every event).
    if (schema != nullptr && report != nullptr) {
      const azure::ColumnType type = *h.TimeGeneratedType();
      const std::string_view ts = *h.timestamp();
      bool fits = type == azure::ColumnType::kString || type == azure::ColumnType::kDynamic ||
                  (type == azure::ColumnType::kDateTime && azure::IsIso8601DateTime(ts)) ||
                  (type == azure::ColumnType::kGuid && azure::ValueMatches(type, json(std::string(ts))));
      if (!fits) {
        report->unconvertible.push_back("TimeGenerated");
        if (h.catch_all()) {
          std::string quoted = "\"";
          quoted.append(ts);
          quoted.push_back('"');
          h.AddExtra("TimeGenerated", quoted);
        }
      }
    }
  }
  if (want_id) {
    // "<field>":"<topic>/<partition>/<offset>", written in place (this runs for every event).
    if (any) row->push_back(',');
    any = true;
    row->push_back('"');
    row->append(options.event_id_field);
    row->append("\":");
    AppendEscaped(source.topic, row);
    row->pop_back();  // the topic's closing quote: partition and offset follow
    const fmt::format_int partition(source.partition), offset(source.offset);  // no allocation
    row->push_back('/');
    row->append(partition.data(), partition.size());
    row->push_back('/');
    row->append(offset.data(), offset.size());
    row->push_back('"');
  }
  if (!h.extra().empty()) {
    if (any) row->push_back(',');
    row->append("\"AdditionalFields\":{");
    row->append(h.extra());
    row->push_back('}');
  }
  row->push_back('}');
  *done = true;
  return Status::OK();
}

}  // namespace

Status ShapeEvent(std::string_view payload, const spool::SourceRef& source, const ShapeOptions& options,
                  std::string* row, ShapeReport* report) {
  if (report != nullptr) {
    report->catch_all = HasCatchAll(options.schema);
    report->time_replaced = false;
  }
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
  const azure::StreamSchema* schema = options.schema;
  FlattenContext context{schema, HasCatchAll(schema), options.azure_column_names, {}, {}, {}};
  json out = json::object();
  if (!options.event_id_field.empty() && !source.topic.empty()) {
    // First, so that the event's own field of that name is the one set aside: analysts
    // deduplicate by the gateway's id.
    out[options.event_id_field] = fmt::format("{}/{}/{}", source.topic, source.partition, source.offset);
  }
  for (auto& [k, v] : in.items()) {
    context.path.assign(1, &k);
    Flatten(k, std::move(v), &context, &out);
  }

  bool want_time = options.set_time_generated && !out.contains("TimeGenerated") &&
                   (schema == nullptr || schema->columns.count("TimeGenerated") != 0);
  if (want_time) {
    auto it = out.find(options.timestamp_field);
    if (it != out.end() && it->is_string()) {
      if (report != nullptr) {
        report->time_replaced = TimeReplacedByAzure(it->get_ref<const std::string&>(), options.now_s);
      }
      out["TimeGenerated"] = *it;
    }
  }
  if (schema != nullptr) {
    // Fields the stream does not declare, and values no conversion fits, go to the catch-all
    // column when the schema has one (docs/AZURE.md, "Fields that do not fit"): Azure would drop
    // them without a word. An assumed schema also leaves them in the row (the deployed DCR may
    // declare more); a schema read from the DCR removes them.
    const bool keep = schema->keep_undeclared;
    json extra = json::object();
    for (auto it = out.begin(); it != out.end();) {
      auto col = schema->columns.find(it.key());
      if (col == schema->columns.end()) {
        if (context.catch_all) {
          if (report != nullptr) report->undeclared.push_back(it.key());
          extra[it.key()] = keep ? it.value() : std::move(it.value());
        } else if (keep) {
          ++it;
          continue;
        } else if (report != nullptr) {
          report->undeclared.push_back(it.key());
        }
        it = keep ? std::next(it) : out.erase(it);
        continue;
      }
      if (!azure::ConvertValue(col->second, &it.value())) {
        if (report != nullptr) report->unconvertible.push_back(it.key());
        if (context.catch_all) {
          extra[it.key()] = it.value();  // unchanged: the original text
          if (!keep) {
            it = out.erase(it);
            continue;
          }
        }
        // Without a catch-all: sent unchanged, Azure decides.
      }
      ++it;
    }
    // A value set aside by a collision goes whole under its original path ("/a_b" beside the
    // column a_b that {"a":{"b":..}} took).
    for (Collided& later : context.collided) {
      CountCollided(later.column, report);
      // Else (no catch-all, or its key taken too) it is lost, counted above.
      if (context.catch_all) PutExtra(&extra, later.pointer, later.pointer, std::move(later.value));
    }
    if (!extra.empty()) {
      // The event's own AdditionalFields: its members join ours; one whose key we use moves to
      // its original path ("/AdditionalFields/<key>"), a value that is no object to its own key.
      json& mine = out[std::string(kCatchAll)];
      const std::string own = "/" + std::string(kCatchAll);
      if (mine.is_object()) {
        for (auto& [k, v] : mine.items()) {
          std::string pointer = own;
          AppendPointerStep(k, &pointer);
          if (extra.contains(k)) CountCollided(std::string(kCatchAll), report);
          PutExtra(&extra, k, pointer, std::move(v));  // else lost: counted
        }
      } else if (!mine.is_null()) {
        if (extra.contains(kCatchAll)) CountCollided(std::string(kCatchAll), report);
        PutExtra(&extra, std::string(kCatchAll), own, std::move(mine));
      }
      mine = std::move(extra);
    }
  } else {
    for (const Collided& later : context.collided) CountCollided(later.column, report);  // no catch-all
  }
  *row = out.dump(-1, ' ', false, json::error_handler_t::replace);
  return Status::OK();
}

}  // namespace sg::deliver
