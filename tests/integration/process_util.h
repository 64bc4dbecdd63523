#pragma once

// Helpers of the end-to-end tests that run the example programs as a user does.

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace sluice::testing {

/// The data directory: $SLUICE_DATA_DIR, else ../shared/data beside the source tree.
inline std::string dataDir() {
  const char* d = std::getenv("SLUICE_DATA_DIR");
  return d ? d : std::string(SLUICE_SOURCE_DIR) + "/../shared/data";
}

/// Exit code and combined stdout/stderr of a shell command.
struct RunResult {
  int exitCode;
  std::string output;
};

inline RunResult run(const std::string& command) {
  RunResult r{0, ""};
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) r.output.append(buf, n);
  int status = pclose(pipe);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// A new empty directory under the system temp directory.
inline std::filesystem::path tempDir(const std::string& name) {
  std::filesystem::path p = std::filesystem::temp_directory_path() /
                            ("sluice-" + name + "-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(p);
  return p;
}

}  // namespace sluice::testing
