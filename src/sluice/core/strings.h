#pragma once

#include <string>
#include <string_view>

namespace sluice {

// Small ASCII string helpers shared by the parsers of the core layer.

/// Whether `c` is ASCII white space (space, \t, \n, \r, \f, \v).
inline bool isAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// `text` without leading and trailing ASCII white space.
inline std::string_view trimAscii(std::string_view text) {
  while (!text.empty() && isAsciiSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && isAsciiSpace(text.back())) text.remove_suffix(1);
  return text;
}

/// `c` with A-Z mapped to a-z.
inline char toLowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// `text` with A-Z mapped to a-z; other bytes unchanged.
inline std::string toLowerAscii(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = toLowerAscii(c);
  return result;
}

/// Equality ignoring the case of ASCII letters.
inline bool equalsIgnoreCaseAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (toLowerAscii(a[i]) != toLowerAscii(b[i])) return false;
  }
  return true;
}

}  // namespace sluice
