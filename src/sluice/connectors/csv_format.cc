#include "sluice/connectors/csv_format.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace sluice {
namespace {

/// A character for a message: 'x', or an escape for control characters.
std::string describeChar(char c) {
  switch (c) {
    case '\r':
      return "'\\r'";
    case '\t':
      return "'\\t'";
    default:
      break;
  }
  auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u == 0x7f) {
    static const char* kHex = "0123456789abcdef";
    return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
  }
  return std::string("'") + c + "'";
}

/// A leading '+' is accepted before digits (std::from_chars does not accept it).
bool stripPlus(std::string_view& s) {
  if (s.empty() || s[0] != '+') return true;
  s.remove_prefix(1);
  return !s.empty() && s[0] != '+' && s[0] != '-';
}

template <typename F>
bool parseFloating(std::string_view field, F& out, std::string& error, const char* typeName) {
  if (field.empty()) {
    error = "an empty field is not a number (use std::optional for optional values)";
    return false;
  }
  std::string_view s = field;
  if (!stripPlus(s)) {
    error = detail::quoteForMessage(field) + " is not a number";
    return false;
  }
  F v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (p != s.data() + s.size() || ec == std::errc::invalid_argument) {
    error = detail::quoteForMessage(field) + " is not a number";
    return false;
  }
  if (ec == std::errc::result_out_of_range) {
    error = detail::quoteForMessage(field) + " is out of range for " + typeName;
    return false;
  }
  out = v;
  return true;
}

}  // namespace

CsvRecordReader::CsvRecordReader(ByteSource source, char delimiter, size_t bufferSize,
                                 int64_t firstLine)
    : source_(std::move(source)),
      delimiter_(delimiter),
      capacity_(std::max<size_t>(bufferSize, 4)),  // room to recognize a byte order mark
      buffer_(new char[capacity_]),
      line_(firstLine) {
  if (delimiter == '"' || delimiter == '\r' || delimiter == '\n') {
    throw std::invalid_argument("CSV delimiter must not be '\"', CR or LF");
  }
  if (bufferSize == 0) throw std::invalid_argument("CSV read buffer size must be at least 1");
}

CsvRecordReader CsvRecordReader::overString(std::string_view data, char delimiter,
                                            size_t bufferSize) {
  return CsvRecordReader(
      [data, offset = size_t{0}](char* buffer, size_t capacity) mutable {
        size_t n = std::min(capacity, data.size() - offset);
        if (n > 0) std::memcpy(buffer, data.data() + offset, n);
        offset += n;
        return n;
      },
      delimiter, bufferSize);
}

CsvRecordReader::CsvRecordReader(CsvRecordReader&&) noexcept = default;
CsvRecordReader& CsvRecordReader::operator=(CsvRecordReader&&) noexcept = default;
CsvRecordReader::~CsvRecordReader() = default;

bool CsvRecordReader::refill() {
  if (eof_) return false;
  if (inRecord_) rawCarry_.append(buffer_.get() + rawStart_, end_ - rawStart_);
  bufferStart_ += static_cast<int64_t>(end_);
  pos_ = end_ = rawStart_ = 0;
  size_t n = source_(buffer_.get(), capacity_);
  if (n == 0) {
    eof_ = true;
    return false;
  }
  end_ = n;
  if (bufferStart_ == 0) {
    // The first bytes of the input: skip a UTF-8 byte order mark.
    while (end_ < 3) {
      size_t m = source_(buffer_.get() + end_, capacity_ - end_);
      if (m == 0) break;
      end_ += m;
    }
    if (end_ >= 3 && std::memcmp(buffer_.get(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  }
  return true;
}

void CsvRecordReader::endField() { ends_.push_back(content_.size()); }

void CsvRecordReader::failAndSkipLine(std::string reason) {
  if (error_.empty()) error_ = std::move(reason);
  while (ensure()) {
    const char* p = buffer_.get() + pos_;
    const void* nl = std::memchr(p, '\n', end_ - pos_);
    if (nl != nullptr) {
      pos_ = static_cast<size_t>(static_cast<const char*>(nl) - buffer_.get());
      break;
    }
    pos_ = end_;
  }
}

bool CsvRecordReader::readUnquoted() {
  const size_t fieldStart = content_.size();
  while (true) {
    if (!ensure()) {  // the end of the input ends the record; drop a final CR
      if (content_.size() > fieldStart && content_.back() == '\r') content_.pop_back();
      endField();
      return false;
    }
    const char* p = buffer_.get() + pos_;
    const char* e = buffer_.get() + end_;
    const char* q = p;
    const char d = delimiter_;
    while (q < e && *q != d && *q != '\n' && *q != '"') ++q;
    content_.append(p, static_cast<size_t>(q - p));
    pos_ = static_cast<size_t>(q - buffer_.get());
    if (q == e) continue;
    if (*q == d) {
      ++pos_;
      endField();
      return true;
    }
    if (*q == '\n') {
      if (content_.size() > fieldStart && content_.back() == '\r') content_.pop_back();
      endField();
      return false;
    }
    failAndSkipLine("unexpected '\"' inside the unquoted field " +
                    std::to_string(ends_.size() + 1) +
                    " (a field that contains quotes must be quoted as a whole, with each quote "
                    "doubled)");
    return false;
  }
}

bool CsvRecordReader::readQuoted() {
  const size_t field = ends_.size() + 1;
  const int64_t openLine = line_;
  ++pos_;  // the opening quote
  while (true) {
    if (!ensure()) {
      endField();
      if (error_.empty()) {
        error_ = "unterminated quoted field " + std::to_string(field) +
                 ": the quote opened on line " + std::to_string(openLine) +
                 " is never closed before the end of the file";
      }
      return false;
    }
    const char* p = buffer_.get() + pos_;
    const size_t avail = end_ - pos_;
    const char* q = static_cast<const char*>(std::memchr(p, '"', avail));
    if (q == nullptr) q = p + avail;
    line_ += std::count(p, q, '\n');
    content_.append(p, static_cast<size_t>(q - p));
    pos_ = static_cast<size_t>(q - buffer_.get());
    if (pos_ == end_) continue;
    ++pos_;  // a quote: doubled, or the closing one
    if (!ensure()) {
      endField();
      return false;
    }
    char c = buffer_[pos_];
    if (c == '"') {
      content_.push_back('"');
      ++pos_;
      continue;
    }
    if (c == delimiter_) {
      ++pos_;
      endField();
      return true;
    }
    if (c == '\n') {
      endField();
      return false;
    }
    if (c == '\r') {
      ++pos_;
      if (!ensure() || buffer_[pos_] == '\n') {
        endField();
        return false;
      }
    }
    failAndSkipLine("unexpected " + describeChar(c) + " after the closing quote of field " +
                    std::to_string(field) +
                    " (only a delimiter or a line end may follow; a quote inside a quoted "
                    "field must be doubled)");
    return false;
  }
}

bool CsvRecordReader::next() {
  content_.clear();
  ends_.clear();
  fields_.clear();
  error_.clear();
  rawCarry_.clear();
  raw_ = {};
  if (!ensure()) {
    recordLine_ = 0;
    return false;
  }
  inRecord_ = true;
  rawStart_ = pos_;
  recordLine_ = line_;
  recordOffset_ = position();
  while (true) {
    if (!ensure()) {  // a delimiter right before the end: a last, empty field
      endField();
      break;
    }
    bool more = buffer_[pos_] == '"' ? readQuoted() : readUnquoted();
    if (!more) break;
  }
  // pos_ is at the LF that ends the record, or at the end of the input.
  std::string_view tail(buffer_.get() + rawStart_, pos_ - rawStart_);
  if (rawCarry_.empty()) {
    raw_ = tail;
  } else {
    rawCarry_.append(tail);
    raw_ = rawCarry_;
  }
  if (!raw_.empty() && raw_.back() == '\r') raw_.remove_suffix(1);
  if (pos_ < end_) {  // consume the LF
    ++pos_;
    ++line_;
  }
  inRecord_ = false;
  fields_.resize(ends_.size());
  size_t start = 0;
  for (size_t i = 0; i < ends_.size(); ++i) {
    fields_[i] = std::string_view(content_.data() + start, ends_[i] - start);
    start = ends_[i];
  }
  return true;
}

void CsvRecordReader::skipTo(int64_t offset) {
  if (offset < position()) {
    throw std::out_of_range("cannot skip back to byte offset " + std::to_string(offset) + " from " +
                            std::to_string(position()));
  }
  while (position() < offset) {
    if (!ensure()) {
      throw std::out_of_range("the input ends at byte offset " + std::to_string(position()) +
                              ", before byte offset " + std::to_string(offset));
    }
    size_t n = static_cast<size_t>(
        std::min<int64_t>(static_cast<int64_t>(end_ - pos_), offset - position()));
    const char* p = buffer_.get() + pos_;
    line_ += std::count(p, p + n, '\n');
    pos_ += n;
  }
}

namespace detail {

std::string quoteForMessage(std::string_view value, size_t maxChars) {
  std::string out = "'";
  size_t shown = std::min(value.size(), maxChars);
  for (size_t i = 0; i < shown; ++i) {
    char c = value[i];
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  if (shown < value.size()) out += "...";
  out += "'";
  return out;
}

bool parseCsvSigned(std::string_view field, int64_t min, int64_t max, const char* typeName,
                    int64_t& out, std::string& error) {
  if (field.empty()) {
    error = "an empty field is not an integer (use std::optional for optional values)";
    return false;
  }
  std::string_view s = field;
  int64_t v = 0;
  std::from_chars_result r{};
  if (stripPlus(s)) r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ptr != s.data() + s.size() || r.ec == std::errc::invalid_argument) {
    error = quoteForMessage(field) + " is not an integer";
    return false;
  }
  if (r.ec == std::errc::result_out_of_range || v < min || v > max) {
    error = quoteForMessage(field) + " is out of range for " + typeName;
    return false;
  }
  out = v;
  return true;
}

bool parseCsvUnsigned(std::string_view field, uint64_t max, const char* typeName, uint64_t& out,
                      std::string& error) {
  if (field.empty()) {
    error = "an empty field is not an integer (use std::optional for optional values)";
    return false;
  }
  std::string_view s = field;
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) s = {};
  }
  uint64_t v = 0;
  std::from_chars_result r{};
  if (!s.empty() && stripPlus(s)) r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ptr != s.data() + s.size() || r.ec == std::errc::invalid_argument) {
    error = quoteForMessage(field) + " is not an integer";
    return false;
  }
  if (r.ec == std::errc::result_out_of_range || v > max || (negative && v != 0)) {
    error = quoteForMessage(field) + " is out of range for " + typeName;
    return false;
  }
  out = v;
  return true;
}

bool parseCsvDouble(std::string_view field, double& out, std::string& error) {
  return parseFloating(field, out, error, "double");
}

bool parseCsvFloat(std::string_view field, float& out, std::string& error) {
  return parseFloating(field, out, error, "float");
}

bool parseCsvChar(std::string_view field, char& out, std::string& error) {
  if (field.size() != 1) {
    error = quoteForMessage(field) + " is not a single character";
    return false;
  }
  out = field[0];
  return true;
}

bool parseCsvBool(std::string_view field, bool& out, std::string& error) {
  auto equalsIgnoreCase = [&](std::string_view word) {
    return field.size() == word.size() &&
           std::equal(field.begin(), field.end(), word.begin(), [](char a, char b) {
             return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
           });
  };
  if (equalsIgnoreCase("true")) {
    out = true;
    return true;
  }
  if (equalsIgnoreCase("false")) {
    out = false;
    return true;
  }
  error = quoteForMessage(field) + " is not a boolean (true or false)";
  return false;
}

std::string csvFieldLabel(size_t index, std::span<const std::string> columnNames) {
  std::string label = "field " + std::to_string(index + 1);
  if (index < columnNames.size() && !columnNames[index].empty()) {
    label += " (" + columnNames[index] + ")";
  }
  return label + ": ";
}

std::string csvFieldCountError(size_t expected, std::span<const std::string_view> fields) {
  std::string error =
      "expected " + std::to_string(expected) + " fields, found " + std::to_string(fields.size());
  if (fields.size() == 1 && fields[0].empty()) error += " (an empty line)";
  return error;
}

}  // namespace detail
}  // namespace sluice
