#pragma once

// Running jobs in tests: environments on the embedded MiniCluster, waiting on conditions, and
// the resource checks that prove a job left nothing behind.

#include <dirent.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "sluice/api/data_stream.h"
#include "sluice/api/stream_execution_environment.h"
#include "sluice/network/buffer.h"

namespace sluice::testing {

/// Threads of this process now (from /proc/self/task).
inline int threadCount() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
  }
  return n;
}

/// An environment with an empty configuration (no config file) and `parallelism`.
inline std::unique_ptr<StreamExecutionEnvironment> makeEnv(int parallelism) {
  auto env = StreamExecutionEnvironment::getExecutionEnvironment(Configuration());
  env->setParallelism(parallelism);
  return env;
}

/// Waits (up to `seconds`) until `condition` holds; returns whether it did. For liveness
/// checks only, never to measure time.
inline bool eventually(const std::function<bool()>& condition, int seconds = 30) {
  for (int i = 0; i < seconds * 1000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return condition();
}

/// A job of `client` has completed a checkpoint (JobClient::checkpointStatistics).
inline bool anyCheckpointCompleted(const JobClient& client) {
  for (const auto& s : client.checkpointStatistics()) {
    if (s.completed) return true;
  }
  return false;
}

/// What a test runs its jobs in (Flink's MiniClusterWithClientResource): environments on the
/// embedded MiniCluster (execution.target "local"), with the threads and network buffers alive
/// when the fixture was made remembered, so that leaks() can tell what a job left behind.
class MiniClusterFixture {
 public:
  MiniClusterFixture() : threadsBefore_(threadCount()), buffersBefore_(liveBufferCount()) {}

  /// An environment with `configuration` (no config file) and `parallelism`.
  std::unique_ptr<StreamExecutionEnvironment> env(int parallelism,
                                                  const Configuration& configuration = {}) const {
    auto e = StreamExecutionEnvironment::getExecutionEnvironment(configuration);
    e->setParallelism(parallelism);
    return e;
  }
  /// "" when every job thread has ended and every network buffer is back (waits up to
  /// `seconds` for threads that are still winding down); otherwise what is left.
  std::string leaks(int seconds = 30) const {
    bool clean = eventually(
        [&] { return threadCount() <= threadsBefore_ && liveBufferCount() <= buffersBefore_; },
        seconds);
    if (clean) return "";
    return std::to_string(threadCount() - threadsBefore_) + " threads and " +
           std::to_string(liveBufferCount() - buffersBefore_) + " network buffers left behind";
  }

 private:
  int threadsBefore_;
  int64_t buffersBefore_;
};

}  // namespace sluice::testing
