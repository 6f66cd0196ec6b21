#include "kql.h"

#include <cctype>
#include <ctime>
#include <regex>

namespace sg::emulator {

bool ParseIsoMs(const std::string& v, int64_t* ms) {
  std::tm tm{};
  if (v.size() < 19 || ::strptime(v.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return false;
  int64_t frac = 0;
  if (v.size() > 20 && v[19] == '.') {
    int digits = 0;
    for (size_t i = 20; i < v.size() && std::isdigit(static_cast<unsigned char>(v[i])) && digits < 3; ++i, ++digits) {
      frac = frac * 10 + (v[i] - '0');
    }
    while (digits++ < 3) frac *= 10;
  }
  *ms = static_cast<int64_t>(::timegm(&tm)) * 1000 + frac;
  return true;
}

namespace {

// Splits on '|' outside string literals; trims each part.
std::vector<std::string> KqlStages(const std::string& q) {
  std::vector<std::string> out(1);
  bool in_str = false;
  for (size_t i = 0; i < q.size(); ++i) {
    char c = q[i];
    if (in_str && c == '\\' && i + 1 < q.size()) {
      out.back() += c;
      out.back() += q[++i];
      continue;
    }
    if (c == '"') in_str = !in_str;
    if (c == '|' && !in_str) {
      out.emplace_back();
      continue;
    }
    out.back() += c;
  }
  for (auto& s : out) {
    size_t a = s.find_first_not_of(" \t\n"), b = s.find_last_not_of(" \t\n");
    s = a == std::string::npos ? "" : s.substr(a, b - a + 1);
  }
  return out;
}

bool IsIdent(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// "a", "b" -> {a, b}; false on anything else.
bool ParseStringList(std::string s, std::set<std::string>* out) {
  size_t i = 0;
  auto skip = [&] { while (i < s.size() && (s[i] == ' ' || s[i] == ',')) ++i; };
  skip();
  while (i < s.size()) {
    if (s[i] != '"') return false;
    std::string v;
    ++i;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) {
        ++i;
        v += s[i] == 'n' ? '\n' : s[i];
      } else {
        v += s[i];
      }
      ++i;
    }
    if (i >= s.size()) return false;
    ++i;
    out->insert(std::move(v));
    skip();
  }
  return true;
}

}  // namespace

bool ParseKql(const std::string& text, KqlQuery* q, std::string* error) {
  std::vector<std::string> stages = KqlStages(text);
  q->table = stages[0];
  if (!IsIdent(q->table)) {
    *error = "the query must start with a table name";
    return false;
  }
  static const std::regex kTime(R"(^where\s+TimeGenerated\s*(>=|>)\s*datetime\(\s*([^)\s]+)\s*\)$)");
  static const std::regex kIn(R"(^where\s+([A-Za-z0-9_]+)\s+in\s*\((.*)\)$)");
  static const std::regex kProject(R"(^project\s+(.+)$)");
  for (size_t i = 1; i < stages.size(); ++i) {
    std::smatch m;
    if (std::regex_match(stages[i], m, kTime)) {
      if (!ParseIsoMs(m[2], &q->time_from_ms)) {
        *error = "datetime(" + m[2].str() + ") is not a date";
        return false;
      }
      q->time_strict = m[1] == ">";
    } else if (std::regex_match(stages[i], m, kIn)) {
      std::set<std::string> values;
      if (!ParseStringList(m[2], &values)) {
        *error = "the in() list must hold string literals";
        return false;
      }
      q->in_filters.emplace_back(m[1], std::move(values));
    } else if (std::regex_match(stages[i], m, kProject)) {
      std::string cols = m[1];
      size_t start = 0;
      while (start <= cols.size()) {
        size_t comma = cols.find(',', start);
        std::string c = cols.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        c.erase(0, c.find_first_not_of(' '));
        c.erase(c.find_last_not_of(' ') + 1);
        if (!IsIdent(c)) {
          *error = "project takes column names";
          return false;
        }
        q->project.push_back(c);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else {
      *error = "this emulator does not support the operator '" + stages[i].substr(0, 40) + "'";
      return false;
    }
  }
  return true;
}

}  // namespace sg::emulator
