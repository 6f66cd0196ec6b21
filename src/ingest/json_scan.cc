#include "json_scan.h"

#include "sentinel_gateway/json_scan.h"

namespace sg::ingest {
namespace {

// Notes the top-level keys; the value that follows the wanted one is captured (the last such
// member wins, as nlohmann keeps the last of duplicate keys).
class MemberFinder {
 public:
  MemberFinder(std::string_view member, JsonScan* out) : member_(member), out_(out) {}

  bool StartObject() { return Open(true); }
  bool StartArray() { return Open(false); }
  bool EndObject() { return Close(); }
  bool EndArray() { return Close(); }
  bool Key(std::string_view escaped) {
    if (depth_ != 1) return true;
    if (escaped.find('\\') == std::string_view::npos) {
      wanted_next_ = escaped == member_;
    } else {
      wanted_next_ = JsonUnescape(escaped, &key_buf_) && key_buf_ == member_;
    }
    return true;
  }
  bool Value(std::string_view raw, JsonKind kind) {
    if (depth_ == 0) return true;  // a scalar at the top level: not an object
    if (Take()) {
      out_->member_is_string = kind == JsonKind::kString;
      if (out_->member_is_string) {
        const std::string_view inner = raw.substr(1, raw.size() - 2);
        if (inner.find('\\') == std::string_view::npos) {
          out_->member_value.assign(inner);
        } else {
          JsonUnescape(inner, &out_->member_value);
        }
      }
    }
    return true;
  }

 private:
  // True (once) when the value now starting is the wanted member's.
  bool Take() {
    if (depth_ != 1 || !wanted_next_) return false;
    wanted_next_ = false;
    out_->member_found = true;
    out_->member_is_string = false;
    return true;
  }
  bool Open(bool object) {
    if (depth_ == 0) out_->is_object = object;
    if (Take()) out_->member_value.clear();  // an object or array: not a string
    ++depth_;
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }

  std::string_view member_;
  JsonScan* out_;
  int depth_ = 0;
  bool wanted_next_ = false;
  std::string key_buf_;
};

}  // namespace

JsonScan ScanForMember(std::string_view in, std::string_view member, int max_depth) {
  JsonScan out;
  MemberFinder finder(member, &out);
  JsonScanError error;
  out.ok = ScanJson(in, &finder, &error, max_depth < 0 ? 0 : static_cast<size_t>(max_depth));
  if (!out.ok) {
    out.error = error.what;
    out.error_offset = error.offset;
  }
  return out;
}

}  // namespace sg::ingest
