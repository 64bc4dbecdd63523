#include "sluice/api/sinks.h"

namespace sluice {

void writeLinesToStandardStream(const std::string& lines, bool toStdErr) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  FILE* stream = toStdErr ? stderr : stdout;
  std::fwrite(lines.data(), 1, lines.size(), stream);
  std::fflush(stream);
}

}  // namespace sluice
