#pragma once

// CSV records (RFC 4180) and their conversion into typed rows: the format behind CsvSource,
// usable on its own. Modelled on Flink's flink-csv CsvReaderFormat (which delegates to
// Jackson's CsvParser), but strict: a malformed record is reported, never skipped or patched.

#include <boost/pfr/core.hpp>
#include <boost/pfr/tuple_size.hpp>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sluice {

/// Splits a byte stream into CSV records as RFC 4180 defines them (the splitting half of
/// Flink's CsvReaderFormat / Jackson's CsvParser):
///
/// - fields are separated by the delimiter (default ','); a record ends at LF or CRLF, and the
///   CR of a CRLF (or a lone CR at the very end of the input) is dropped; a CR anywhere else is
///   data. The last record needs no line end. An empty line is a record of one empty field.
/// - a field that starts with '"' is quoted: it ends at the next lone '"', a doubled '""'
///   inside is one '"', and delimiters, CR and LF inside are data. After the closing quote
///   only the delimiter, LF, CRLF or the end of input may follow.
/// - malformed records are reported as such (ok() false, reason in error()) and reading goes
///   on: a '"' inside an unquoted field or a character after a closing quote discards the rest
///   of the physical line into that bad record; a quoted field still open at the end of input
///   makes everything from the record's start a bad record.
/// - a UTF-8 byte order mark at content offset 0 is skipped.
///
/// Fields are views into storage the reader reuses: valid until the next call of next(). In
/// steady state a record costs no allocation. Not thread-safe: one thread per reader.
class CsvRecordReader {
 public:
  /// Where the bytes come from: fills up to `capacity` bytes of `buffer` and returns how many it
  /// wrote; 0 means the end of the input. May throw; the exception passes through next().
  using ByteSource = std::function<size_t(char* buffer, size_t capacity)>;

  /// Default read-buffer size in bytes.
  static constexpr size_t kDefaultBufferSize = size_t{1} << 20;

  /// A reader of the records in `source`. `delimiter` must not be '"', CR or LF
  /// (std::invalid_argument otherwise); `bufferSize` (bytes, >= 1) is how much it reads at once;
  /// `firstLine` is the line number of the first byte (1 for a whole file).
  explicit CsvRecordReader(ByteSource source, char delimiter = ',',
                           size_t bufferSize = kDefaultBufferSize, int64_t firstLine = 1);

  /// A reader over `data`, which must outlive it. Convenient for tests and in-memory input.
  static CsvRecordReader overString(std::string_view data, char delimiter = ',',
                                    size_t bufferSize = kDefaultBufferSize);

  CsvRecordReader(CsvRecordReader&&) noexcept;
  CsvRecordReader& operator=(CsvRecordReader&&) noexcept;
  ~CsvRecordReader();

  /// Reads the next record; false at the end of the input (then the accessors describe
  /// nothing). A malformed record is still a record: check ok(). Throws what the ByteSource
  /// throws.
  bool next();

  /// Whether the current record is well-formed. When false, fields() holds what was split
  /// before the error and error() says what was wrong.
  bool ok() const { return error_.empty(); }
  /// Why the current record is malformed (empty when ok()), e.g. "unexpected '\"' inside the
  /// unquoted field 2".
  const std::string& error() const { return error_; }
  /// The fields of the current record, unquoted and unescaped.
  std::span<const std::string_view> fields() const { return fields_; }
  /// The number of fields of the current record.
  size_t size() const { return fields_.size(); }
  /// Field `i` (0-based, < size()) of the current record.
  std::string_view operator[](size_t i) const { return fields_[i]; }
  /// The 1-based line on which the current record starts (a record with quoted line breaks
  /// spans several lines).
  int64_t line() const { return recordLine_; }
  /// The current record's bytes as they are in the input, without the line end (LF or CRLF).
  std::string_view raw() const { return raw_; }
  /// Content offset (bytes from the start of the input, a byte order mark included) at which
  /// the current record starts; 0 before the first record.
  int64_t recordOffset() const { return recordOffset_; }
  /// The line of the first byte not yet consumed (1-based).
  int64_t nextLine() const { return line_; }
  /// Content offset (bytes from the start of the input) of the first byte not yet consumed: the
  /// start of the next record. Where a restored reader resumes.
  int64_t position() const { return bufferStart_ + static_cast<int64_t>(pos_); }
  /// Discards input up to content offset `offset` (>= position()), counting its lines, so that
  /// a reader resumes at a record boundary found by position(). Throws std::out_of_range when
  /// the input ends before `offset` or `offset` < position().
  void skipTo(int64_t offset);

 private:
  bool refill();
  bool ensure() { return pos_ < end_ || refill(); }
  void endField();
  void failAndSkipLine(std::string reason);
  bool readUnquoted();
  bool readQuoted();

  ByteSource source_;
  char delimiter_;
  size_t capacity_;
  std::unique_ptr<char[]> buffer_;
  size_t pos_ = 0;
  size_t end_ = 0;
  int64_t bufferStart_ = 0;  ///< content offset of buffer_[0]
  bool eof_ = false;
  int64_t line_;  ///< line of the next unread byte
  int64_t recordLine_ = 0;
  int64_t recordOffset_ = 0;
  bool inRecord_ = false;
  size_t rawStart_ = 0;   ///< buffer index where the current record's unbuffered raw bytes start
  std::string rawCarry_;  ///< raw bytes of the current record from earlier buffers
  std::string_view raw_;
  std::string content_;       ///< unescaped bytes of the current record's fields, concatenated
  std::vector<size_t> ends_;  ///< end offset in content_ of each field
  std::vector<std::string_view> fields_;
  std::string error_;
};

/// Converts one CSV field into a T (the C++ counterpart of the per-type converters Jackson
/// applies for Flink's CsvReaderFormat.forPojo). Specialize it for your own field types:
/// `static bool parse(std::string_view field, T& out, std::string& error)` returns true on
/// success, or false with `error` set to a reason such as "'abc' is not an integer" (the caller
/// adds the field's position and name). Built in: std::string, bool ("true"/"false", any case),
/// every integer type including int8_t/uint8_t (the whole field in decimal, optional sign,
/// range-checked), float and double (the whole field, as std::from_chars reads it, range-checked),
/// char (a field of exactly one byte) and std::optional<X> (an empty field is std::nullopt,
/// anything else must parse as X). No trimming: " 1" is not an integer. Stateless, thread-safe.
template <typename T, typename Enable = void>
struct CsvFieldParser;

namespace detail {

/// Parses a whole decimal integer in [min, max] into `out`; "+7" is accepted. On failure sets
/// `error` ("'x' is not an integer" / "'x' is out of range for <typeName>").
bool parseCsvSigned(std::string_view field, int64_t min, int64_t max, const char* typeName,
                    int64_t& out, std::string& error);
/// As parseCsvSigned for unsigned types ("-1" is out of range, "+7" is accepted).
bool parseCsvUnsigned(std::string_view field, uint64_t max, const char* typeName, uint64_t& out,
                      std::string& error);
/// Parses a whole floating-point number ("1.5", "-2e3", "inf", "nan"); sets `error` ("'x' is not
/// a number" / "'x' is out of range for double").
bool parseCsvDouble(std::string_view field, double& out, std::string& error);
/// As parseCsvDouble for float.
bool parseCsvFloat(std::string_view field, float& out, std::string& error);
/// Exactly one byte ("'ab' is not a single character").
bool parseCsvChar(std::string_view field, char& out, std::string& error);
/// "true" or "false" in any case.
bool parseCsvBool(std::string_view field, bool& out, std::string& error);
/// `value` quoted for a message, cut to at most `maxChars` characters with "...".
std::string quoteForMessage(std::string_view value, size_t maxChars = 80);

template <typename T>
constexpr bool kIsCsvCharType =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

/// "int32", "uint8", ...: the name of an integer type in messages.
template <typename T>
constexpr const char* integerTypeName() {
  constexpr size_t bits = sizeof(T) * 8;
  if constexpr (std::is_signed_v<T>) {
    return bits == 8 ? "int8" : bits == 16 ? "int16" : bits == 32 ? "int32" : "int64";
  } else {
    return bits == 8 ? "uint8" : bits == 16 ? "uint16" : bits == 32 ? "uint32" : "uint64";
  }
}

}  // namespace detail

/// std::string: the field as is.
template <>
struct CsvFieldParser<std::string> {
  static bool parse(std::string_view field, std::string& out, std::string&) {
    out.assign(field.data(), field.size());
    return true;
  }
};

/// bool: "true" or "false", in any case.
template <>
struct CsvFieldParser<bool> {
  static bool parse(std::string_view field, bool& out, std::string& error) {
    return detail::parseCsvBool(field, out, error);
  }
};

/// char: a field of exactly one byte.
template <>
struct CsvFieldParser<char> {
  static bool parse(std::string_view field, char& out, std::string& error) {
    return detail::parseCsvChar(field, out, error);
  }
};

/// Integers (not bool, not the character types; int8_t and uint8_t are integers): the whole field
/// in decimal, range-checked.
template <typename T>
struct CsvFieldParser<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                          !detail::kIsCsvCharType<T>>> {
  static bool parse(std::string_view field, T& out, std::string& error) {
    static_assert(sizeof(T) <= 8, "integers up to 64 bits");
    if constexpr (std::is_signed_v<T>) {
      int64_t v;
      if (!detail::parseCsvSigned(field, std::numeric_limits<T>::min(),
                                  std::numeric_limits<T>::max(), detail::integerTypeName<T>(), v,
                                  error)) {
        return false;
      }
      out = static_cast<T>(v);
    } else {
      uint64_t v;
      if (!detail::parseCsvUnsigned(field, std::numeric_limits<T>::max(),
                                    detail::integerTypeName<T>(), v, error)) {
        return false;
      }
      out = static_cast<T>(v);
    }
    return true;
  }
};

/// double: the whole field, as std::from_chars reads it.
template <>
struct CsvFieldParser<double> {
  static bool parse(std::string_view field, double& out, std::string& error) {
    return detail::parseCsvDouble(field, out, error);
  }
};

/// float: the whole field, as std::from_chars reads it.
template <>
struct CsvFieldParser<float> {
  static bool parse(std::string_view field, float& out, std::string& error) {
    return detail::parseCsvFloat(field, out, error);
  }
};

/// std::optional<X>: an empty field is std::nullopt, anything else must parse as X.
template <typename X>
struct CsvFieldParser<std::optional<X>> {
  static bool parse(std::string_view field, std::optional<X>& out, std::string& error) {
    if (field.empty()) {
      out.reset();
      return true;
    }
    if (!out.has_value()) out.emplace();
    return CsvFieldParser<X>::parse(field, *out, error);
  }
};

/// Where a record came from (Flink SQL's `file.path` metadata column, plus the line): a field
/// of this type in a CSV row type takes no column; CsvSource fills it with the record's file and
/// 1-based starting line (parseCsvRow alone leaves it unchanged). A plain aggregate, so
/// TypeSerializer handles it. Value type.
struct FileMetadata {
  std::string path;  ///< the file as the source enumerated it (directory + name)
  int64_t line = 0;  ///< 1-based line on which the record starts
  bool operator==(const FileMetadata&) const = default;
};

/// Whether CsvFieldParser<T> exists.
template <typename T>
concept CsvField = requires(std::string_view f, T& out, std::string& error) {
  { CsvFieldParser<T>::parse(f, out, error) } -> std::same_as<bool>;
};

/// An aggregate struct whose fields are all CsvFields: the row types CsvSource and
/// parseCsvRow accept (the counterpart of Flink's POJOs for CsvReaderFormat.forPojo).
template <typename T>
concept CsvRow = std::is_aggregate_v<T> && std::is_default_constructible_v<T> && requires {
  boost::pfr::tuple_size_v<T>;
};

namespace detail {

/// "field 4 (Quantity): " or "field 4: " when no name is known for index 3.
std::string csvFieldLabel(size_t index, std::span<const std::string> columnNames);
/// "expected 8 fields, found 7" (plus a hint for an empty line).
std::string csvFieldCountError(size_t expected, std::span<const std::string_view> fields);

template <typename F>
inline constexpr bool kIsFileMetadata = std::is_same_v<F, FileMetadata>;

template <typename T, size_t... I>
constexpr bool allCsvFields(std::index_sequence<I...>) {
  return ((CsvField<boost::pfr::tuple_element_t<I, T>> ||
           kIsFileMetadata<boost::pfr::tuple_element_t<I, T>>)&&...);
}

/// How many fields of T are FileMetadata (they take no column).
template <typename T, size_t... I>
constexpr size_t metadataFields(std::index_sequence<I...>) {
  return (size_t{kIsFileMetadata<boost::pfr::tuple_element_t<I, T>>} + ... + 0);
}

}  // namespace detail

/// Maps one record onto the fields of aggregate `T`, in declaration order, with
/// CsvFieldParser (Boost.PFR reflection, so no boilerplate; Boost 1.81 has no field names, so
/// `columnNames` — e.g. the header — name them in messages). FileMetadata fields take no column
/// and are left unchanged. Returns false and sets `error` when the number of fields differs
/// from T's columns ("expected 8 fields, found 7") or a field does not parse ("field 4
/// (Quantity): 'abc' is not an integer"); `out` is then partly assigned. `out` may be a reused
/// value: every column field is assigned. Thread-safe for distinct `out`.
template <typename T>
bool parseCsvRow(std::span<const std::string_view> fields, T& out, std::string& error,
                 std::span<const std::string> columnNames = {}) {
  static_assert(CsvRow<T>, "CSV rows must be aggregate structs");
  constexpr size_t n = boost::pfr::tuple_size_v<T>;
  static_assert(detail::allCsvFields<T>(std::make_index_sequence<n>{}),
                "every field of a CSV row needs a CsvFieldParser specialization");
  constexpr size_t columns = n - detail::metadataFields<T>(std::make_index_sequence<n>{});
  if (fields.size() != columns) {
    error = detail::csvFieldCountError(columns, fields);
    return false;
  }
  bool ok = true;
  size_t column = 0;
  boost::pfr::for_each_field(out, [&](auto& field) {
    using F = std::remove_cvref_t<decltype(field)>;
    if constexpr (!detail::kIsFileMetadata<F>) {
      const size_t i = column++;
      if (!ok) return;
      if (!CsvFieldParser<F>::parse(fields[i], field, error)) {
        error.insert(0, detail::csvFieldLabel(i, columnNames));
        ok = false;
      }
    }
  });
  return ok;
}

}  // namespace sluice
