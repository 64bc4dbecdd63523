#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "sluice/api/common/output.h"

namespace sluice::examples {

using WordCount = std::pair<std::string, int64_t>;

/// Flink's WordCount Tokenizer: value.toLowerCase().split("\\W+"), empty tokens dropped.
/// Java's \W is [^A-Za-z0-9_], so every other byte (including all of UTF-8's multi-byte
/// sequences) separates words. (Java's toLowerCase maps two rare non-ASCII letters, U+0130 and
/// U+212A, to ASCII ones; they are separators here.)
struct Tokenizer {
  void flatMap(const std::string& line, sluice::Collector<WordCount>& out) {
    const char* p = line.data();
    const char* end = p + line.size();
    while (p < end) {
      while (p < end && !isWordChar(*p)) ++p;
      const char* start = p;
      while (p < end && isWordChar(*p)) ++p;
      if (p > start) {
        word_.first.assign(start, p);
        for (char& c : word_.first) {
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
        }
        out.collect(word_);
      }
    }
  }
  static bool isWordChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
  WordCount word_{std::string(), 1};
};

}  // namespace sluice::examples
