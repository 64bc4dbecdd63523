#pragma once

// What every benchmark measures besides time.

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

namespace sluice::bench {

/// The process's peak resident set size so far, bytes (getrusage ru_maxrss).
inline int64_t peakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

/// The process's resident set size now, bytes (/proc/self/statm); 0 if it cannot be read.
inline int64_t currentRssBytes() {
  long pages = 0;
  long resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

}  // namespace sluice::bench
