#pragma once

// Sinks that collect what a job wrote, for tests: in memory (CollectSink, one process) or in
// files (FileCollectSink, readable by a test that runs the job in other processes).

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "sluice/api/common/sink.h"
#include "sluice/core/exceptions.h"

namespace sluice::testing {

/// Every line FileCollectSinks wrote to `directory`: the subtask files in name order, each in
/// write order; empty when the directory does not exist. Throws IOException when a file cannot
/// be read.
std::vector<std::string> readCollectedLines(const std::string& directory);

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

/// Appends every value, formatted by `format` as one line, to `<directory>/subtask-<i>.txt` of
/// the writing subtask, flushed after each record, so a test reads what a job wrote even when
/// the job ran in other processes or was killed (Flink's test sinks for cross-process tests).
/// At least once: records replayed after a failover appear again (use FileSink for exactly
/// once). `format` must not produce a newline.
template <typename T>
class FileCollectSink final : public Sink<T> {
 public:
  FileCollectSink(std::string directory, std::function<std::string(const T&)> format)
      : directory_(std::move(directory)), format_(std::move(format)) {}

  std::unique_ptr<SinkWriter<T>> createWriter(const WriterInitContext& context) const override {
    std::filesystem::create_directories(directory_);
    return std::make_unique<Writer>(
        directory_ + "/subtask-" + std::to_string(context.subtaskIndex) + ".txt", format_);
  }

  /// Every line written to `directory` so far: readCollectedLines(directory).
  static std::vector<std::string> readLines(const std::string& directory) {
    return readCollectedLines(directory);
  }

 private:
  struct Writer final : SinkWriter<T> {
    Writer(const std::string& path, std::function<std::string(const T&)> format)
        : out(path, std::ios::app), format(std::move(format)) {
      if (!out) throw IOException("cannot open '" + path + "' for appending");
    }
    void write(const T& value, const SinkContext&) override {
      out << format(value) << '\n';
      out.flush();
    }
    std::ofstream out;
    std::function<std::string(const T&)> format;
  };
  std::string directory_;
  std::function<std::string(const T&)> format_;
};

}  // namespace sluice::testing
