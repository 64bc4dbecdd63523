#pragma once

// Helpers of the end-to-end tests that run the example programs as a user does.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

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

/// The highest checkpoint id with a complete `_metadata` (written last) under `checkpoints`
/// (<dir>/<job-id>/chk-<n>/_metadata), or 0.
inline int latestCompleteCheckpoint(const std::filesystem::path& checkpoints) {
  int latest = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(checkpoints, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::string dir = it->path().parent_path().filename().string();
    if (it->path().filename() == "_metadata" && dir.rfind("chk-", 0) == 0) {
      latest = std::max(latest, std::atoi(dir.c_str() + 4));
    }
  }
  return latest;
}

/// Runs `command` (through sh, output to `log`) and kills it with SIGKILL as soon as checkpoint
/// `checkpointId` or a later one is complete under `checkpoints`. Returns whether it was killed
/// that way (false: it ended first, or no such checkpoint within two minutes).
inline bool runAndKillAfterCheckpoint(const std::string& command,
                                      const std::filesystem::path& checkpoints, int checkpointId,
                                      const std::filesystem::path& log) {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    std::string shell = "exec " + command + " > '" + log.string() + "' 2>&1";
    execl("/bin/sh", "sh", "-c", shell.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool reached = false;
  for (int i = 0; i < 120000 && !reached; ++i) {
    reached = latestCompleteCheckpoint(checkpoints) >= checkpointId;
    if (!reached) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) return false;  // ended on its own
      usleep(1000);
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  return reached && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

}  // namespace sluice::testing
