#pragma once

// Civil (calendar) time in UTC: parsing and formatting of the date-time forms met in data
// files, all as milliseconds since the Unix epoch (Sluice's Timestamp, as Flink's event time).
// The proleptic Gregorian calendar, no leap seconds, no time zones other than UTC and fixed
// offsets. Every function is thread-safe and allocates nothing but the output string.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

/// Parses exactly "YYYY-MM-DD HH:MM:SS", optionally followed by a fraction of 1 to 9 digits
/// (".5", ".123", ".123456789"; digits past the millisecond are truncated), as UTC: the format
/// of Flink SQL's TIMESTAMP literals and of many CSV exports. The date must exist (no
/// 2013-02-29) and the time lie in 00:00:00..23:59:59. Returns nullopt for anything else, e.g.
/// "2013-01-01T00:00:00" (see parseIsoDateTime), a missing field or trailing text.
std::optional<int64_t> parseDateTime(std::string_view text);

/// Parses an ISO-8601 date-time "YYYY-MM-DDTHH:MM:SS", optionally with a fraction as in
/// parseDateTime, then "Z", an offset "+HH:MM" / "-HH:MM" / "+HHMM" / "+HH", or nothing (UTC):
/// "2013-01-01T01:00:00+01:00" is 2013-01-01 00:00:00 UTC. A lower-case 't' or 'z' is
/// accepted. Returns nullopt for anything else.
std::optional<int64_t> parseIsoDateTime(std::string_view text);

/// Parses a decimal count of milliseconds since the epoch ("1356998400000", "-1"). Returns
/// nullopt for an empty text, a non-digit, or a value outside int64_t.
std::optional<int64_t> parseEpochMillis(std::string_view text);

/// Appends `millis` as "YYYY-MM-DD HH:MM:SS" in UTC; the milliseconds are truncated towards
/// the earlier second (-1 ms is 1969-12-31 23:59:59). Years outside 0..9999 are written with
/// as many digits as they need (and a '-').
void appendDateTime(int64_t millis, std::string& out);

/// `millis` as "YYYY-MM-DDTHH:MM:SS.sssZ" in UTC (ISO-8601 with milliseconds, always three
/// digits), e.g. 0 is "1970-01-01T00:00:00.000Z".
std::string formatIsoDateTime(int64_t millis);

}  // namespace sluice
