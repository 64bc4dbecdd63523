#pragma once

// Shared helpers of the test suite: sinks that collect what each subtask received, and a source
// driven by a function, for jobs whose inputs a test controls.

#include <dirent.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "sluice/api/data_stream.h"

namespace sluice::testing {

/// Records every value with the index of the subtask that received it. Thread-safe.
template <typename T>
class CollectSink final : public Sink<T> {
 public:
  struct Shared {
    std::mutex mutex;
    std::vector<std::pair<int, T>> received;
    std::atomic<int64_t> count{0};
  };

  explicit CollectSink(std::shared_ptr<Shared> shared = std::make_shared<Shared>(),
                       std::function<void(const T&)> onWrite = nullptr)
      : shared_(std::move(shared)), onWrite_(std::move(onWrite)) {}

  std::unique_ptr<SinkWriter<T>> createWriter(const WriterInitContext& context) const override {
    return std::make_unique<Writer>(shared_, context.subtaskIndex, onWrite_);
  }
  const std::shared_ptr<Shared>& shared() const { return shared_; }

  /// Values only, in arrival order per subtask, concatenated by subtask.
  std::vector<T> values() const {
    std::lock_guard lock(shared_->mutex);
    std::vector<T> out;
    for (auto& [s, v] : shared_->received) out.push_back(v);
    return out;
  }
  std::vector<std::pair<int, T>> received() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->received;
  }

 private:
  struct Writer final : SinkWriter<T> {
    Writer(std::shared_ptr<Shared> shared, int subtask, std::function<void(const T&)> onWrite)
        : shared_(std::move(shared)), subtask_(subtask), onWrite_(std::move(onWrite)) {}
    void write(const T& value, const SinkContext&) override {
      if (onWrite_) onWrite_(value);
      std::lock_guard lock(shared_->mutex);
      shared_->received.emplace_back(subtask_, value);
      shared_->count.fetch_add(1);
    }
    std::shared_ptr<Shared> shared_;
    int subtask_;
    std::function<void(const T&)> onWrite_;
  };
  std::shared_ptr<Shared> shared_;
  std::function<void(const T&)> onWrite_;
};

/// One split per subtask, named by the subtask index.
struct SubtaskSplit {
  int subtask = 0;
};

/// A source whose readers call `poll(output, subtaskIndex)`; for tests that need control over
/// what and when a source emits.
template <typename T>
class FunctionSource final : public Source<T, SubtaskSplit> {
 public:
  using Poll = std::function<InputStatus(ReaderOutput<T>&, int subtask)>;
  explicit FunctionSource(Poll poll, Boundedness boundedness = Boundedness::kBounded)
      : poll_(std::move(poll)), boundedness_(boundedness) {}
  Boundedness getBoundedness() const override { return boundedness_; }
  std::unique_ptr<SplitEnumerator<SubtaskSplit>> createEnumerator(
      SplitEnumeratorContext<SubtaskSplit>& context) const override {
    return std::make_unique<Enumerator>(context);
  }
  std::unique_ptr<SourceReader<T, SubtaskSplit>> createReader(
      SourceReaderContext& context) const override {
    return std::make_unique<Reader>(poll_, context.getIndexOfSubtask());
  }

 private:
  struct Enumerator final : SplitEnumerator<SubtaskSplit> {
    explicit Enumerator(SplitEnumeratorContext<SubtaskSplit>& c) : context(c) {}
    void handleSplitRequest(int) override {}
    void addReader(int) override {}
    // Checkpointable, with nothing to remember: every reader makes up its own records.
    std::vector<SubtaskSplit> snapshotState(int64_t) override { return {}; }
    void restoreState(std::vector<SubtaskSplit>) override {}
    SplitEnumeratorContext<SubtaskSplit>& context;
  };
  struct Reader final : SourceReader<T, SubtaskSplit> {
    Reader(Poll p, int s) : poll(std::move(p)), subtask(s) {}
    InputStatus pollNext(ReaderOutput<T>& out) override { return poll(out, subtask); }
    void addSplits(std::vector<SubtaskSplit>) override {}
    void notifyNoMoreSplits() override {}
    std::vector<SubtaskSplit> snapshotState(int64_t) override { return {}; }
    Poll poll;
    int subtask;
  };
  Poll poll_;
  Boundedness boundedness_;
};

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

}  // namespace sluice::testing
