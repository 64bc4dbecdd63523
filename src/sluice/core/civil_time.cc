#include "sluice/core/civil_time.h"

#include <charconv>
#include <chrono>
#include <limits>

namespace sluice {

namespace {

using std::chrono::days;
using std::chrono::sys_days;

// The value of `len` decimal digits at `pos`, or -1 when one is not a digit.
int digits(std::string_view s, size_t pos, size_t len) {
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    const unsigned c = static_cast<unsigned>(static_cast<unsigned char>(s[i])) - '0';
    if (c > 9) return -1;
    v = v * 10 + static_cast<int>(c);
  }
  return v;
}

// "YYYY-MM-DD?HH:MM:SS" with `separator` at index 10, then an optional fraction. On success
// returns the ms since the epoch and sets `rest` to what follows.
std::optional<int64_t> parseLocal(std::string_view s, char separator, char altSeparator,
                                  std::string_view& rest) {
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' ||
      (s[10] != separator && s[10] != altSeparator) || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  const int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
      sec > 59) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{y},
                                         std::chrono::month{static_cast<unsigned>(mo)},
                                         std::chrono::day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  int64_t millis = (static_cast<int64_t>(sys_days(date).time_since_epoch().count()) * 86400 +
                    h * 3600 + mi * 60 + sec) *
                   1000;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    size_t n = 0;
    int fraction = 0;
    while (pos + 1 + n < s.size() && s[pos + 1 + n] >= '0' && s[pos + 1 + n] <= '9') {
      if (n < 3) fraction = fraction * 10 + (s[pos + 1 + n] - '0');
      ++n;
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (size_t i = n; i < 3; ++i) fraction *= 10;
    millis += fraction;
    pos += 1 + n;
  }
  rest = s.substr(pos);
  return millis;
}

void appendPadded(int64_t v, int width, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v < 0 ? -v : v);
  (void)ec;
  if (v < 0) out += '-';
  for (int i = static_cast<int>(end - buf); i < width; ++i) out += '0';
  out.append(buf, end);
}

}  // namespace

std::optional<int64_t> parseDateTime(std::string_view text) {
  std::string_view rest;
  auto millis = parseLocal(text, ' ', ' ', rest);
  if (!millis || !rest.empty()) return std::nullopt;
  return millis;
}

std::optional<int64_t> parseIsoDateTime(std::string_view text) {
  std::string_view rest;
  auto millis = parseLocal(text, 'T', 't', rest);
  if (!millis) return std::nullopt;
  if (rest.empty()) return millis;
  if (rest == "Z" || rest == "z") return millis;
  if (rest[0] != '+' && rest[0] != '-') return std::nullopt;
  int hours = -1, minutes = 0;
  if (rest.size() == 3) {
    hours = digits(rest, 1, 2);
  } else if (rest.size() == 5) {
    hours = digits(rest, 1, 2);
    minutes = digits(rest, 3, 2);
  } else if (rest.size() == 6 && rest[3] == ':') {
    hours = digits(rest, 1, 2);
    minutes = digits(rest, 4, 2);
  }
  if (hours < 0 || hours > 18 || minutes < 0 || minutes > 59) return std::nullopt;
  const int64_t offset = (static_cast<int64_t>(hours) * 60 + minutes) * 60 * 1000;
  return rest[0] == '+' ? *millis - offset : *millis + offset;
}

std::optional<int64_t> parseEpochMillis(std::string_view text) {
  int64_t value = 0;
  if (text.empty() || text.front() == '+') return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void appendDateTime(int64_t millis, std::string& out) {
  using namespace std::chrono;
  const sys_time<milliseconds> tp{milliseconds(millis)};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd(day);
  const hh_mm_ss<seconds> tod(floor<seconds>(tp - day));
  appendPadded(static_cast<int>(ymd.year()), 4, out);
  out += '-';
  appendPadded(static_cast<unsigned>(ymd.month()), 2, out);
  out += '-';
  appendPadded(static_cast<unsigned>(ymd.day()), 2, out);
  out += ' ';
  appendPadded(tod.hours().count(), 2, out);
  out += ':';
  appendPadded(tod.minutes().count(), 2, out);
  out += ':';
  appendPadded(tod.seconds().count(), 2, out);
}

std::string formatIsoDateTime(int64_t millis) {
  std::string out;
  appendDateTime(millis, out);
  out[out.find(' ')] = 'T';
  const int64_t ms = ((millis % 1000) + 1000) % 1000;
  out += '.';
  appendPadded(ms, 3, out);
  out += 'Z';
  return out;
}

}  // namespace sluice
