#include "sentinel_gateway/azure/stream_schema.h"

#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

namespace sg::azure {

bool ParseColumnType(const std::string& name, ColumnType* type) {
  static const std::map<std::string, ColumnType> kTypes = {
      {"string", ColumnType::kString},   {"int", ColumnType::kInt},
      {"long", ColumnType::kLong},       {"real", ColumnType::kReal},
      {"boolean", ColumnType::kBoolean}, {"bool", ColumnType::kBoolean},
      {"datetime", ColumnType::kDateTime}, {"dynamic", ColumnType::kDynamic},
      {"guid", ColumnType::kGuid}};
  std::string n;
  for (char c : name) n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto it = kTypes.find(n);
  if (it == kTypes.end()) return false;
  *type = it->second;
  return true;
}

const char* ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kString: return "string";
    case ColumnType::kInt: return "int";
    case ColumnType::kLong: return "long";
    case ColumnType::kReal: return "real";
    case ColumnType::kBoolean: return "boolean";
    case ColumnType::kDateTime: return "datetime";
    case ColumnType::kDynamic: return "dynamic";
    case ColumnType::kGuid: return "guid";
  }
  return "?";
}

Status ParseStreamSchemas(const nlohmann::json& doc, std::map<std::string, StreamSchema>* out) {
  const nlohmann::json* decls = nullptr;
  if (doc.is_object() && doc.contains("properties") && doc["properties"].is_object() &&
      doc["properties"].contains("streamDeclarations")) {
    decls = &doc["properties"]["streamDeclarations"];
  } else if (doc.is_object() && doc.contains("resources") && doc["resources"].is_array()) {
    for (const auto& r : doc["resources"]) {
      if (r.is_object() && r.contains("properties") && r["properties"].is_object() &&
          r["properties"].contains("streamDeclarations")) {
        decls = &r["properties"]["streamDeclarations"];
        break;
      }
    }
  } else if (doc.is_object() && doc.contains("streamDeclarations")) {
    decls = &doc["streamDeclarations"];
  } else {
    decls = &doc;
  }
  if (decls == nullptr || !decls->is_object()) {
    return Status::InvalidArgument("no streamDeclarations object");
  }
  for (const auto& [stream, decl] : decls->items()) {
    if (!decl.is_object() || !decl.contains("columns") || !decl["columns"].is_array()) {
      return Status::InvalidArgument("stream " + stream + " has no columns array");
    }
    StreamSchema schema;
    for (const auto& col : decl["columns"]) {
      if (!col.is_object() || !col.contains("name") || !col["name"].is_string() ||
          !col.contains("type") || !col["type"].is_string()) {
        return Status::InvalidArgument("stream " + stream + ": a column lacks name or type");
      }
      ColumnType t;
      if (!ParseColumnType(col["type"].get<std::string>(), &t)) {
        return Status::InvalidArgument("stream " + stream + ": unknown column type " +
                                       col["type"].get<std::string>());
      }
      schema.columns[col["name"].get<std::string>()] = t;
    }
    (*out)[stream] = std::move(schema);
  }
  return Status::OK();
}

Status LoadStreamSchemas(const std::string& path, std::map<std::string, StreamSchema>* out) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read stream schema file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(ss.str(), nullptr, false);
  if (doc.is_discarded()) return Status::InvalidArgument("stream schema file " + path + " is not JSON");
  Status s = ParseStreamSchemas(doc, out);
  if (!s.ok()) return Status::InvalidArgument(path + ": " + s.message());
  return Status::OK();
}

bool IsIso8601DateTime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff...][Z|+HH:MM|-HH:MM]
  auto digits = [&](size_t pos, size_t n) {
    if (pos + n > s.size()) return false;
    for (size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
  };
  if (!digits(0, 4) || s.size() < 19 || s[4] != '-' || !digits(5, 2) || s[7] != '-' ||
      !digits(8, 2) || (s[10] != 'T' && s[10] != ' ') || !digits(11, 2) || s[13] != ':' ||
      !digits(14, 2) || s[16] != ':' || !digits(17, 2)) {
    return false;
  }
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  if (i == s.size()) return true;
  if (s[i] == 'Z' && i + 1 == s.size()) return true;
  if ((s[i] == '+' || s[i] == '-') && i + 6 == s.size() && digits(i + 1, 2) && s[i + 3] == ':' &&
      digits(i + 4, 2)) {
    return true;
  }
  return false;
}

namespace {

bool IsGuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

bool ParseInteger(const std::string& s, int64_t* v) {
  if (s.empty()) return false;
  size_t pos = 0;
  try {
    *v = std::stoll(s, &pos);
  } catch (...) {
    return false;
  }
  return pos == s.size();
}

bool ParseReal(const std::string& s, double* v) {
  if (s.empty()) return false;
  size_t pos = 0;
  try {
    *v = std::stod(s, &pos);
  } catch (...) {
    return false;
  }
  return pos == s.size() && std::isfinite(*v);
}

}  // namespace

bool ValueMatches(ColumnType type, const nlohmann::json& v) {
  if (v.is_null()) return true;
  switch (type) {
    case ColumnType::kString: return v.is_string();
    // Kusto's int is signed 32-bit and long signed 64-bit (Kusto "int data type", "long data
    // type"). An unsigned number is checked as unsigned: read as int64 it would wrap (2^64-1 as -1).
    case ColumnType::kInt:
      if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(INT32_MAX);
      return v.is_number_integer() && v.get<int64_t>() >= INT32_MIN && v.get<int64_t>() <= INT32_MAX;
    case ColumnType::kLong:
      if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX);
      return v.is_number_integer();
    case ColumnType::kReal: return v.is_number();
    case ColumnType::kBoolean: return v.is_boolean();
    case ColumnType::kDateTime: return v.is_string() && IsIso8601DateTime(v.get<std::string>());
    case ColumnType::kDynamic: return true;
    case ColumnType::kGuid: return v.is_string() && IsGuid(v.get<std::string>());
  }
  return false;
}

bool ConvertValue(ColumnType type, nlohmann::json* value) {
  nlohmann::json& v = *value;
  if (ValueMatches(type, v)) return true;
  switch (type) {
    case ColumnType::kString:
      if (v.is_number() || v.is_boolean()) {
        v = v.dump();
        return true;
      }
      if (v.is_object() || v.is_array()) {
        v = v.dump();
        return true;
      }
      return false;
    case ColumnType::kInt:
    case ColumnType::kLong: {
      int64_t n;
      if (v.is_string() && ParseInteger(v.get<std::string>(), &n)) {
        nlohmann::json c = n;
        if (!ValueMatches(type, c)) return false;
        v = c;
        return true;
      }
      if (v.is_number_float()) {
        double d = v.get<double>();
        if (std::floor(d) == d && std::fabs(d) < 9.0e15) {
          nlohmann::json c = static_cast<int64_t>(d);
          if (!ValueMatches(type, c)) return false;
          v = c;
          return true;
        }
      }
      if (v.is_boolean()) {
        v = v.get<bool>() ? 1 : 0;
        return true;
      }
      return false;
    }
    case ColumnType::kReal: {
      double d;
      if (v.is_string() && ParseReal(v.get<std::string>(), &d)) {
        v = d;
        return true;
      }
      return false;
    }
    case ColumnType::kBoolean:
      if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (s == "true" || s == "True" || s == "1") { v = true; return true; }
        if (s == "false" || s == "False" || s == "0") { v = false; return true; }
      }
      if (v.is_number_integer()) {
        int64_t n = v.get<int64_t>();
        if (n == 0 || n == 1) { v = (n == 1); return true; }
      }
      return false;
    case ColumnType::kDateTime:
    case ColumnType::kGuid:
    case ColumnType::kDynamic:
      return false;
  }
  return false;
}

}  // namespace sg::azure
