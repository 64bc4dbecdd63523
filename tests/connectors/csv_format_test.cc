// CsvRecordReader (RFC 4180 splitting) and the typed conversion of fields and rows.

#include "sluice/connectors/csv_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace sluice {

/// A user-defined field type: an amount "12.34" held in cents.
struct Cents {
  int64_t value = 0;
};

/// The specialization point at work for a user type.
template <>
struct CsvFieldParser<Cents> {
  static bool parse(std::string_view field, Cents& out, std::string& error) {
    double d;
    if (!CsvFieldParser<double>::parse(field, d, error)) return false;
    out.value = static_cast<int64_t>(d * 100 + (d < 0 ? -0.5 : 0.5));
    return true;
  }
};

namespace {

/// One record as the tests see it: copied out of the reader.
struct Rec {
  std::vector<std::string> fields;
  int64_t line = 0;
  bool ok = true;
  std::string error;
  std::string raw;
  bool operator==(const Rec&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Rec& r) {
  os << "{line " << r.line << (r.ok ? " ok" : " BAD: " + r.error) << ", raw '" << r.raw
     << "', fields";
  for (const auto& f : r.fields) os << " [" << f << "]";
  return os << "}";
}

std::vector<Rec> splitAll(std::string_view data, size_t bufferSize = 1 << 20,
                          char delimiter = ',') {
  CsvRecordReader reader = CsvRecordReader::overString(data, delimiter, bufferSize);
  std::vector<Rec> out;
  while (reader.next()) {
    Rec r;
    for (auto f : reader.fields()) r.fields.emplace_back(f);
    r.line = reader.line();
    r.ok = reader.ok();
    r.error = reader.error();
    r.raw = std::string(reader.raw());
    out.push_back(std::move(r));
  }
  return out;
}

Rec ok(std::vector<std::string> fields, int64_t line, std::string raw) {
  return Rec{std::move(fields), line, true, "", std::move(raw)};
}

/// The fields of every record, for the cases where only they matter.
std::vector<std::vector<std::string>> fieldsOf(const std::vector<Rec>& recs) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : recs) out.push_back(r.fields);
  return out;
}

using Rows = std::vector<std::vector<std::string>>;

TEST(CsvRecordReader, PlainFieldsAndLineNumbers) {
  auto recs = splitAll("a,b,c\n1,2,3\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0], ok({"a", "b", "c"}, 1, "a,b,c"));
  EXPECT_EQ(recs[1], ok({"1", "2", "3"}, 2, "1,2,3"));
}

TEST(CsvRecordReader, QuotedDelimiters) {
  auto recs = splitAll("a,\"b,c\",d\n\"x,\",\",y\"\n");
  EXPECT_EQ(fieldsOf(recs), (Rows{{"a", "b,c", "d"}, {"x,", ",y"}}));
  EXPECT_EQ(recs[0].raw, "a,\"b,c\",d");
}

TEST(CsvRecordReader, DoubledQuotesAreOneQuote) {
  auto recs = splitAll("536,\"RECORD FRAME 7\"\" SINGLE SIZE \",2\n\"\"\"\",\"a\"\"\"\"b\"\n");
  EXPECT_EQ(fieldsOf(recs),
            (Rows{{"536", "RECORD FRAME 7\" SINGLE SIZE ", "2"}, {"\"", "a\"\"b"}}));
}

TEST(CsvRecordReader, EmbeddedNewlinesSpanLines) {
  auto recs = splitAll("1,\"line1\nline2\n\",x\n2,y,z\n\"\n\",3\n");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0], ok({"1", "line1\nline2\n", "x"}, 1, "1,\"line1\nline2\n\",x"));
  EXPECT_EQ(recs[1], ok({"2", "y", "z"}, 4, "2,y,z"));
  EXPECT_EQ(recs[2], ok({"\n", "3"}, 5, "\"\n\",3"));
}

TEST(CsvRecordReader, CrlfLineEnds) {
  auto recs = splitAll("a,b\r\nc,\"d\"\r\n\"e\r\nf\",g\r\nmid\rdle,h\r\nlast,\"q\"\r");
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[0], ok({"a", "b"}, 1, "a,b"));
  EXPECT_EQ(recs[1], ok({"c", "d"}, 2, "c,\"d\""));
  EXPECT_EQ(recs[2], ok({"e\r\nf", "g"}, 3, "\"e\r\nf\",g"));
  EXPECT_EQ(recs[3], ok({"mid\rdle", "h"}, 5, "mid\rdle,h"));
  EXPECT_EQ(recs[4], ok({"last", "q"}, 6, "last,\"q\""));
  // A final unquoted CR is dropped, as FileSource drops it.
  EXPECT_EQ(fieldsOf(splitAll("x,y\r")), (Rows{{"x", "y"}}));
}

TEST(CsvRecordReader, EmptyFieldsAndEmptyLines) {
  EXPECT_EQ(fieldsOf(splitAll(",,\n\"\",a,\"\"\n")), (Rows{{"", "", ""}, {"", "a", ""}}));
  // A trailing delimiter makes a trailing empty field, with and without a line end.
  EXPECT_EQ(fieldsOf(splitAll("a,b,\nc,d,")), (Rows{{"a", "b", ""}, {"c", "d", ""}}));
  // An empty line is a record of one empty field; the last line end adds no record.
  auto recs = splitAll("a\n\nb\n\r\n");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[1], ok({""}, 2, ""));
  EXPECT_EQ(recs[2], ok({"b"}, 3, "b"));
  EXPECT_EQ(recs[3], ok({""}, 4, ""));
  EXPECT_TRUE(splitAll("").empty());
  EXPECT_EQ(fieldsOf(splitAll("no newline")), (Rows{{"no newline"}}));
}

TEST(CsvRecordReader, UnterminatedQuoteAtEndIsABadRecord) {
  auto recs = splitAll("ok,1\nbad,\"never closed\nmore,2\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0], ok({"ok", "1"}, 1, "ok,1"));
  EXPECT_FALSE(recs[1].ok);
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_EQ(recs[1].raw, "bad,\"never closed\nmore,2\n");
  EXPECT_NE(recs[1].error.find("unterminated quoted field 2"), std::string::npos) << recs[1];
  EXPECT_NE(recs[1].error.find("line 2"), std::string::npos) << recs[1];
}

TEST(CsvRecordReader, QuoteInsideUnquotedFieldIsABadRecord) {
  auto recs = splitAll("a,b\"c,d\nnext,1\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_FALSE(recs[0].ok);
  EXPECT_EQ(recs[0].line, 1);
  EXPECT_EQ(recs[0].raw, "a,b\"c,d");
  EXPECT_NE(recs[0].error.find("unquoted field 2"), std::string::npos) << recs[0];
  EXPECT_EQ(recs[1], ok({"next", "1"}, 2, "next,1"));
}

TEST(CsvRecordReader, GarbageAfterClosingQuoteIsABadRecord) {
  auto recs = splitAll("\"a\"x,b\r\n\"multi\nline\" ,c\nd\n\"e\"\rf\ng\n");
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_FALSE(recs[0].ok);
  EXPECT_EQ(recs[0].raw, "\"a\"x,b");
  EXPECT_NE(recs[0].error.find("unexpected 'x' after the closing quote of field 1"),
            std::string::npos)
      << recs[0];
  EXPECT_FALSE(recs[1].ok);
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_EQ(recs[1].raw, "\"multi\nline\" ,c");
  EXPECT_NE(recs[1].error.find("unexpected ' '"), std::string::npos) << recs[1];
  EXPECT_EQ(recs[2], ok({"d"}, 4, "d"));
  EXPECT_FALSE(recs[3].ok);  // a CR after the closing quote that does not end the line
  EXPECT_NE(recs[3].error.find("'\\r'"), std::string::npos) << recs[3];
  EXPECT_EQ(recs[4], ok({"g"}, 6, "g"));
}

TEST(CsvRecordReader, OtherDelimiters) {
  EXPECT_EQ(fieldsOf(splitAll("a;\"b;c\";d,e\n", 1 << 20, ';')), (Rows{{"a", "b;c", "d,e"}}));
  EXPECT_EQ(fieldsOf(splitAll("a\tb c\t\n", 1 << 20, '\t')), (Rows{{"a", "b c", ""}}));
  EXPECT_THROW(CsvRecordReader::overString("", '"'), std::invalid_argument);
  EXPECT_THROW(CsvRecordReader::overString("", '\n'), std::invalid_argument);
}

TEST(CsvRecordReader, SkipsUtf8ByteOrderMark) {
  auto recs = splitAll("\xEF\xBB\xBFid,name\n1,x\n", 1);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0], ok({"id", "name"}, 1, "id,name"));
}

/// Random fields full of delimiters, quotes, CR and LF; encoded as RFC 4180 says.
struct Corpus {
  std::string text;
  std::vector<Rec> expected;
};

Corpus randomCorpus(uint32_t seed, int records) {
  std::mt19937 rng(seed);
  const std::string alphabet = "ab,\"\r\n x";
  Corpus c;
  int64_t line = 1;
  for (int r = 0; r < records; ++r) {
    Rec rec;
    rec.line = line;
    int nFields = 1 + static_cast<int>(rng() % 5);
    std::string raw;
    for (int f = 0; f < nFields; ++f) {
      std::string value;
      int len = static_cast<int>(rng() % 7);
      for (int i = 0; i < len; ++i) value += alphabet[rng() % alphabet.size()];
      bool mustQuote = value.find_first_of(",\"\r\n") != std::string::npos;
      // A lone empty field would be an empty line: still one empty field, fine either way.
      if (mustQuote || rng() % 4 == 0) {
        std::string q = "\"";
        for (char ch : value) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        q += "\"";
        raw += q;
      } else {
        raw += value;
      }
      if (f + 1 < nFields) raw += ",";
      line += std::count(value.begin(), value.end(), '\n');
      rec.fields.push_back(value);
    }
    rec.raw = raw;
    c.text += raw;
    bool last = r + 1 == records;
    if (!last || rng() % 2) c.text += rng() % 2 ? "\r\n" : "\n";
    ++line;
    c.expected.push_back(rec);
  }
  return c;
}

TEST(CsvRecordReader, RandomRfc4180RoundTripAtEveryBufferSize) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    Corpus c = randomCorpus(seed, 200);
    for (size_t bufferSize : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{7}, size_t{16},
                              size_t{61}, size_t{1} << 20}) {
      auto recs = splitAll(c.text, bufferSize);
      ASSERT_EQ(recs.size(), c.expected.size()) << "seed " << seed << " buffer " << bufferSize;
      for (size_t i = 0; i < recs.size(); ++i) {
        ASSERT_EQ(recs[i], c.expected[i])
            << "seed " << seed << " buffer " << bufferSize << " record " << i;
      }
    }
  }
}

TEST(CsvRecordReader, MalformedInputGivesTheSameRecordsAtEveryBufferSize) {
  const std::string text =
      "a,\"b\nc\"x,d\r\ne,f\"g\n\"h\"\"i\",j\r\n\"k\"\r\"l\n,\n\"unterminated\r\nat,end";
  auto reference = splitAll(text);
  ASSERT_EQ(reference.size(), 6u);
  EXPECT_EQ(std::count_if(reference.begin(), reference.end(), [](const Rec& r) { return r.ok; }),
            2);
  for (size_t bufferSize = 1; bufferSize < 40; ++bufferSize) {
    EXPECT_EQ(splitAll(text, bufferSize), reference) << "buffer " << bufferSize;
  }
}

TEST(CsvRecordReader, ResumesAtAPosition) {
  const std::string text = "h1,h2\n\"a\nb\",1\nc,2\nd,3\n";
  CsvRecordReader first = CsvRecordReader::overString(text, ',', 3);
  ASSERT_TRUE(first.next());
  ASSERT_TRUE(first.next());
  int64_t position = first.position();
  ASSERT_TRUE(first.next());
  EXPECT_EQ(first.line(), 4);

  CsvRecordReader resumed = CsvRecordReader::overString(text, ',', 3);
  resumed.skipTo(position);
  ASSERT_TRUE(resumed.next());
  EXPECT_EQ(resumed.line(), 4);
  EXPECT_EQ(resumed[0], "c");
  EXPECT_EQ(resumed.position(), first.position());
  EXPECT_THROW(resumed.skipTo(1), std::out_of_range);
  EXPECT_THROW(resumed.skipTo(1000), std::out_of_range);
}

TEST(CsvRecordReader, ReusesFieldStorage) {
  std::string text;
  for (int i = 1000; i < 2000; ++i)
    text += "some field," + std::to_string(i) + ",\"quoted, too\"\n";
  CsvRecordReader reader = CsvRecordReader::overString(text, ',', 4096);
  ASSERT_TRUE(reader.next());
  const char* storage = reader[0].data();
  const std::string_view* fields = reader.fields().data();
  int n = 1;
  while (reader.next()) {
    ++n;
    ASSERT_EQ(reader[0].data(), storage);
    ASSERT_EQ(reader.fields().data(), fields);
  }
  EXPECT_EQ(n, 1000);
}

TEST(CsvRecordReader, PropagatesSourceErrors) {
  int calls = 0;
  CsvRecordReader reader(
      [&calls](char* buffer, size_t) -> size_t {
        if (++calls > 1) throw std::runtime_error("disk on fire");
        buffer[0] = 'a';
        buffer[1] = ',';
        return 2;
      },
      ',', 2);
  EXPECT_THROW(reader.next(), std::runtime_error);
}

// ---- typed fields ----

template <typename T>
std::string errorOf(std::string_view field) {
  T out{};
  std::string error;
  if (CsvFieldParser<T>::parse(field, out, error)) return "";
  EXPECT_FALSE(error.empty());
  return error;
}

template <typename T>
T parsed(std::string_view field) {
  T out{};
  std::string error;
  EXPECT_TRUE(CsvFieldParser<T>::parse(field, out, error)) << field << ": " << error;
  return out;
}

TEST(CsvFieldParser, Integers) {
  EXPECT_EQ(parsed<int>("42"), 42);
  EXPECT_EQ(parsed<int>("-7"), -7);
  EXPECT_EQ(parsed<int>("+5"), 5);
  EXPECT_EQ(parsed<int64_t>("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parsed<int64_t>("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(parsed<uint64_t>("18446744073709551615"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(parsed<int8_t>("-128"), -128);
  EXPECT_EQ(parsed<uint32_t>("-0"), 0u);
  EXPECT_EQ(parsed<short>("0007"), 7);

  EXPECT_EQ(errorOf<int>("abc"), "'abc' is not an integer");
  EXPECT_EQ(errorOf<int>("12abc"), "'12abc' is not an integer");
  EXPECT_EQ(errorOf<int>(" 1"), "' 1' is not an integer");
  EXPECT_EQ(errorOf<int>("1 "), "'1 ' is not an integer");
  EXPECT_EQ(errorOf<int>("1.0"), "'1.0' is not an integer");
  EXPECT_EQ(errorOf<int>("+"), "'+' is not an integer");
  EXPECT_EQ(errorOf<int>("+-1"), "'+-1' is not an integer");
  EXPECT_EQ(errorOf<uint32_t>("--1"), "'--1' is not an integer");
  EXPECT_NE(errorOf<int>("").find("empty field is not an integer"), std::string::npos);
  EXPECT_EQ(errorOf<uint8_t>("256"), "'256' is out of range for uint8");
  EXPECT_EQ(errorOf<int8_t>("-129"), "'-129' is out of range for int8");
  EXPECT_EQ(errorOf<uint32_t>("-1"), "'-1' is out of range for uint32");
  EXPECT_EQ(errorOf<int64_t>("9223372036854775808"),
            "'9223372036854775808' is out of range for int64");
  EXPECT_EQ(errorOf<uint64_t>("18446744073709551616"),
            "'18446744073709551616' is out of range for uint64");
  EXPECT_EQ(errorOf<int>(std::string(200, '1')),
            "'" + std::string(80, '1') + "...' is out of range for int32");  // cut to 80 chars
}

TEST(CsvFieldParser, FloatingPoint) {
  EXPECT_DOUBLE_EQ(parsed<double>("2.55"), 2.55);
  EXPECT_DOUBLE_EQ(parsed<double>("-1e3"), -1000);
  EXPECT_DOUBLE_EQ(parsed<double>("+0.5"), 0.5);
  EXPECT_DOUBLE_EQ(parsed<double>("17850.0"), 17850);
  EXPECT_DOUBLE_EQ(parsed<double>("7"), 7);
  EXPECT_TRUE(std::isinf(parsed<double>("inf")));
  EXPECT_FLOAT_EQ(parsed<float>("0.25"), 0.25f);
  EXPECT_EQ(errorOf<double>("abc"), "'abc' is not a number");
  EXPECT_EQ(errorOf<double>("1.5x"), "'1.5x' is not a number");
  EXPECT_EQ(errorOf<double>("1,5"), "'1,5' is not a number");
  EXPECT_EQ(errorOf<double>(" 1"), "' 1' is not a number");
  EXPECT_EQ(errorOf<double>("1e999"), "'1e999' is out of range for double");
  EXPECT_EQ(errorOf<float>("1e39"), "'1e39' is out of range for float");
  EXPECT_NE(errorOf<double>("").find("empty field is not a number"), std::string::npos);
}

TEST(CsvFieldParser, BoolStringOptionalAndUserTypes) {
  EXPECT_TRUE(parsed<bool>("true"));
  EXPECT_TRUE(parsed<bool>("TRUE"));
  EXPECT_FALSE(parsed<bool>("False"));
  EXPECT_EQ(errorOf<bool>("yes"), "'yes' is not a boolean (true or false)");
  EXPECT_EQ(errorOf<bool>("1"), "'1' is not a boolean (true or false)");
  EXPECT_EQ(parsed<std::string>(" as is, \"\" "), " as is, \"\" ");
  EXPECT_EQ(parsed<std::optional<double>>(""), std::nullopt);
  EXPECT_EQ(parsed<std::optional<double>>("17850.0"), 17850.0);
  EXPECT_EQ(parsed<std::optional<std::string>>(""), std::nullopt);
  EXPECT_EQ(parsed<std::optional<std::string>>("x"), "x");
  EXPECT_EQ(errorOf<std::optional<int>>("x"), "'x' is not an integer");
  EXPECT_EQ(parsed<char>("x"), 'x');
  EXPECT_EQ(errorOf<char>("xy"), "'xy' is not a single character");
  EXPECT_EQ(errorOf<char>(""), "'' is not a single character");
  EXPECT_EQ(parsed<Cents>("12.34").value, 1234);
  EXPECT_EQ(errorOf<Cents>("12,34"), "'12,34' is not a number");
  // A reused optional holding a value goes back to empty.
  std::optional<int> reused = 5;
  std::string error;
  ASSERT_TRUE(CsvFieldParser<std::optional<int>>::parse("", reused, error));
  EXPECT_FALSE(reused.has_value());
}

// ---- rows ----

struct Line {
  std::string stockCode;
  int64_t quantity = 0;
  std::optional<double> unitPrice;
  bool gift = false;
  Cents total;
};

TEST(ParseCsvRow, MapsFieldsInDeclarationOrder) {
  CsvRecordReader reader = CsvRecordReader::overString("85123A,6,2.55,true,15.30\nX,-1,,false,0\n");
  Line row;
  std::string error;
  ASSERT_TRUE(reader.next());
  ASSERT_TRUE(parseCsvRow(reader.fields(), row, error)) << error;
  EXPECT_EQ(row.stockCode, "85123A");
  EXPECT_EQ(row.quantity, 6);
  EXPECT_EQ(row.unitPrice, 2.55);
  EXPECT_TRUE(row.gift);
  EXPECT_EQ(row.total.value, 1530);
  ASSERT_TRUE(reader.next());
  ASSERT_TRUE(parseCsvRow(reader.fields(), row, error)) << error;  // reuses `row`
  EXPECT_EQ(row.stockCode, "X");
  EXPECT_EQ(row.quantity, -1);
  EXPECT_EQ(row.unitPrice, std::nullopt);
  EXPECT_FALSE(row.gift);
  EXPECT_EQ(row.total.value, 0);
}

TEST(ParseCsvRow, ReportsFieldCountAndFieldErrors) {
  std::vector<std::string> names = {"StockCode", "Quantity", "UnitPrice", "Gift", "Total"};
  Line row;
  std::string error;
  auto check = [&](std::vector<std::string_view> fields, std::span<const std::string> columns) {
    error.clear();
    EXPECT_FALSE(parseCsvRow(std::span<const std::string_view>(fields), row, error, columns));
    return error;
  };
  EXPECT_EQ(check({"a", "1", "2"}, names), "expected 5 fields, found 3");
  EXPECT_EQ(check({""}, names), "expected 5 fields, found 1 (an empty line)");
  EXPECT_EQ(check({"a", "1", "2", "true", "1", "extra"}, {}), "expected 5 fields, found 6");
  EXPECT_EQ(check({"a", "abc", "2", "true", "1"}, {}), "field 2: 'abc' is not an integer");
  EXPECT_EQ(check({"a", "abc", "2", "true", "1"}, names),
            "field 2 (Quantity): 'abc' is not an integer");
  EXPECT_EQ(check({"a", "1", "2", "maybe", "1"}, names),
            "field 4 (Gift): 'maybe' is not a boolean (true or false)");
  // Fewer names than fields: the rest are named by position only.
  std::vector<std::string> two = {"StockCode", "Quantity"};
  EXPECT_EQ(check({"a", "1", "x", "true", "1"}, two), "field 3: 'x' is not a number");
}

}  // namespace
}  // namespace sluice
