// ScanJson accepts exactly what nlohmann::json::accept accepts (differential test on fixed cases,
// random documents and random mutations of them), and hands out the right spans.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sentinel_gateway/json_scan.h"

namespace sg {
namespace {

using nlohmann::json;

struct Recorder {
  std::vector<std::string> events;
  bool StartObject() { return events.push_back("{"), true; }
  bool EndObject() { return events.push_back("}"), true; }
  bool StartArray() { return events.push_back("["), true; }
  bool EndArray() { return events.push_back("]"), true; }
  bool Key(std::string_view k) { return events.push_back("K:" + std::string(k)), true; }
  bool Value(std::string_view v, JsonKind) { return events.push_back("V:" + std::string(v)), true; }
};

bool Scan(const std::string& s) {
  Recorder r;
  return ScanJson(s, &r);
}

TEST(JsonScanTest, SpansAreRawAndInOrder) {
  Recorder r;
  ASSERT_TRUE(ScanJson(R"( {"a\"b": [1, -2.5e3, "x\u00e9", true, null, {}], "c": false} )", &r));
  std::vector<std::string> want = {"{", "K:a\\\"b", "[", "V:1", "V:-2.5e3", "V:\"x\\u00e9\"",
                                   "V:true", "V:null", "{", "}", "]", "K:c", "V:false", "}"};
  EXPECT_EQ(r.events, want);
}

TEST(JsonScanTest, FixedCasesAgreeWithNlohmann) {
  std::vector<std::string> cases = {
      "{}", "[]", "0", "-0", "1.0", "1e5", "1E+5", "1e-5", "01", "1.", ".5", "-", "+1", "1e",
      "\"\"", "\"\\u0000\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83dx\"",
      "\"\\x\"", "\"\t\"", "\"\x7f\"", "\"\xc3\xa9\"", "\"\xc3\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"", "\"\xf0\x9f\x98\x80\"", "\"\xe0\x80\x80\"", "[1,]", "[,1]", "{\"a\"}",
      "{\"a\":}", "{\"a\":1,}", "{,}", "{1:2}", "[1 2]", "true", "tru", "nulll", "[] []", "  [ ]  ",
      "", " ", "[\"a\",{\"b\":[null]}]", "{\"a\":1}x", "\"abc", "[[[[[[]]]]]]", "[[[[[[]]]]]",
      "\"\\/\"", "{\"a\" : 1 , \"b\" :[ ]}", "1 2", "\"\\uD800\\uDC00\"", "\"\\uDBFF\\uDFFF\"",
      "\"\\u12\"", "\"\\u12G4\""};
  for (const auto& c : cases) EXPECT_EQ(Scan(c), json::accept(c)) << c;
}

json RandomDoc(std::mt19937_64& rng, int depth) {
  std::uniform_int_distribution<int> kind(0, depth > 3 ? 4 : 6);
  switch (kind(rng)) {
    case 0: return nullptr;
    case 1: return std::uniform_int_distribution<int>(0, 1)(rng) == 1;
    case 2: return static_cast<int64_t>(rng()) >> std::uniform_int_distribution<int>(0, 62)(rng);
    case 3: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
    case 4: {
      std::string s;
      int n = std::uniform_int_distribution<int>(0, 12)(rng);
      const char* pool[] = {"a", "b", "\"", "\\", "\n", "\x01", "\xc3\xa9", "\xf0\x9f\x98\x80", "/", " "};
      for (int i = 0; i < n; ++i) s += pool[std::uniform_int_distribution<int>(0, 9)(rng)];
      return s;
    }
    case 5: {
      json a = json::array();
      int n = std::uniform_int_distribution<int>(0, 4)(rng);
      for (int i = 0; i < n; ++i) a.push_back(RandomDoc(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      int n = std::uniform_int_distribution<int>(0, 4)(rng);
      for (int i = 0; i < n; ++i) o["k" + std::to_string(i) + (i % 2 ? "\\x" : "")] = RandomDoc(rng, depth + 1);
      return o;
    }
  }
}

TEST(JsonScanTest, RandomDocumentsAndMutationsAgreeWithNlohmann) {
  std::mt19937_64 rng(20261128);
  const std::string alphabet = "{}[]:,\"\\ -+.0123456789eEtrufalsn\x01\x7f\xc3\xa9\xed\xf4\x80\xbf";
  int accepted_mutants = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string doc = RandomDoc(rng, 0).dump();
    ASSERT_TRUE(Scan(doc)) << doc;
    for (int m = 0; m < 20; ++m) {
      std::string s = doc;
      int edits = std::uniform_int_distribution<int>(1, 3)(rng);
      for (int e = 0; e < edits; ++e) {
        size_t pos = s.empty() ? 0 : std::uniform_int_distribution<size_t>(0, s.size() - 1)(rng);
        char c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
        switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
          case 0: s.insert(s.begin() + static_cast<long>(pos), c); break;
          case 1: if (!s.empty()) s.erase(pos, 1); break;
          default: if (!s.empty()) s[pos] = c;
        }
      }
      bool want = json::accept(s);
      accepted_mutants += want;
      ASSERT_EQ(Scan(s), want) << s;
    }
  }
  EXPECT_GT(accepted_mutants, 100);  // the mutations exercise both answers
}

TEST(JsonScanTest, DeepNestingDoesNotOverflow) {
  std::string deep(200000, '[');
  deep += std::string(200000, ']');
  EXPECT_TRUE(Scan(deep));
  deep.pop_back();
  EXPECT_FALSE(Scan(deep));
}

struct Nothing {
  bool StartObject() { return true; }
  bool EndObject() { return true; }
  bool StartArray() { return true; }
  bool EndArray() { return true; }
  bool Key(std::string_view) { return true; }
  bool Value(std::string_view, JsonKind) { return true; }
};

// A failure says where and why (the classifier's quarantine reason quotes both).
TEST(JsonScanTest, FailuresSayWhereAndWhy) {
  struct Case {
    std::string in;
    size_t offset;
    std::string what;
  };
  for (const Case& c : std::vector<Case>{{"", 0, "empty input"},
                                         {"  ", 2, "unexpected end of input"},
                                         {R"({"a" 1})", 5, "expected ':'"},
                                         {R"({1:2})", 1, "expected a string key or '}'"},
                                         {R"({"a":1,})", 7, "expected a string key"},
                                         {R"({"a":1 "b":2})", 7, "expected ',' or '}'"},
                                         {"[1 2]", 3, "expected ',' or ']'"},
                                         {"[1] x", 4, "unexpected data after the JSON value"},
                                         {"[tru]", 1, "invalid literal"},
                                         {"[+1]", 1, "expected a JSON value"},
                                         {"[1.]", 3, "invalid number: digit expected after '.'"},
                                         {"[1e999]", 1, "number out of range"},
                                         {"[\"a\u0001\"]", 3, "control character in string"},
                                         {R"(["\x"])", 3, "invalid escape in string"},
                                         {R"(["\ud800"])", 8, "unpaired UTF-16 surrogate in \\u escape"},
                                         {"[\"\xc3\x28\"]", 2, "invalid UTF-8 in string"},
                                         {R"(["abc)", 5, "unterminated string"}}) {
    Nothing n;
    JsonScanError e;
    EXPECT_FALSE(ScanJson(c.in, &n, &e)) << c.in;
    EXPECT_EQ(std::string(e.what), c.what) << c.in;
    EXPECT_EQ(e.offset, c.offset) << c.in;
  }
}

TEST(JsonScanTest, MaxDepthBoundsTheNesting) {
  Nothing n;
  JsonScanError e;
  EXPECT_TRUE(ScanJson("[[[1]]]", &n, &e, 3));
  EXPECT_FALSE(ScanJson("[[[[1]]]]", &n, &e, 3));
  EXPECT_EQ(std::string(e.what), "nesting too deep");
  EXPECT_EQ(e.offset, 3u);
  EXPECT_TRUE(ScanJson("7", &n, &e, 0));  // a scalar has no depth
}

TEST(JsonScanTest, UnescapeDecodesWhatTheScannerAccepts) {
  std::string out;
  ASSERT_TRUE(JsonUnescape(R"(a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00)", &out));
  EXPECT_EQ(out, "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  for (const char* bad : {R"(\x)", R"(\u12)", R"(\ud800)", R"(\udc00)", "\\"}) {
    EXPECT_FALSE(JsonUnescape(bad, &out)) << bad;
  }
  // Every string of the random documents decodes as nlohmann decodes it.
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string text;
    for (int k = 0; k < 12; ++k) text.push_back(static_cast<char>(rng() % 2 == 0 ? 'a' + rng() % 26 : rng() % 0x80));
    text += "\xc3\xa9\xf0\x9f\x98\x80";
    const std::string dumped = json(text).dump(-1, ' ', /*ensure_ascii=*/rng() % 2 == 0);
    ASSERT_TRUE(JsonUnescape(std::string_view(dumped).substr(1, dumped.size() - 2), &out)) << dumped;
    EXPECT_EQ(out, text) << dumped;
  }
}

}  // namespace
}  // namespace sg
