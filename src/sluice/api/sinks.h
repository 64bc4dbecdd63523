#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "sluice/core/value_format.h"
#include "sluice/runtime/sink_writer_operator.h"

namespace sluice {

/// Writes whole lines to stdout or stderr, several subtasks at once without interleaving
/// within a line. Thread-safe.
void writeLinesToStandardStream(const std::string& lines, bool toStdErr);

/// Prints each record's text on its own line (Flink's PrintSink): prefixed by "N> " with the
/// 1-based subtask index when the sink runs in parallel, by "id> " or "id:N> " when a sink
/// identifier is given. Lines are buffered per subtask (up to 16 KiB, or 200 ms of processing
/// time) and written whole.
template <typename T>
class PrintSink final : public Sink<T> {
 public:
  explicit PrintSink(std::string sinkIdentifier = "", bool stdErr = false)
      : sinkIdentifier_(std::move(sinkIdentifier)), stdErr_(stdErr) {}

  std::unique_ptr<SinkWriter<T>> createWriter(const WriterInitContext& context) const override {
    std::string prefix = sinkIdentifier_;
    if (context.parallelism > 1) {
      if (!prefix.empty()) prefix += ':';
      prefix += std::to_string(context.subtaskIndex + 1);
    }
    if (!prefix.empty()) prefix += "> ";
    auto writer = std::make_unique<Writer>(std::move(prefix), stdErr_);
    if (context.processingTimeService != nullptr) {
      // Lines of a slow stream appear within kFlushIntervalMillis, not only per 16 KiB.
      context.processingTimeService->scheduleAtFixedRate(
          kFlushIntervalMillis, [w = writer.get()](int64_t) { w->flush(false); });
    }
    return writer;
  }

  /// How often buffered lines are written out when fewer than 16 KiB accumulate, ms.
  static constexpr int64_t kFlushIntervalMillis = 200;

 private:
  class Writer final : public SinkWriter<T> {
   public:
    Writer(std::string prefix, bool stdErr) : prefix_(std::move(prefix)), stdErr_(stdErr) {}
    void write(const T& value, const SinkContext&) override {
      buffer_ += prefix_;
      appendValue(value, buffer_);
      buffer_ += '\n';
      if (buffer_.size() >= 16 * 1024) flush(false);
    }
    void flush(bool) override {
      if (buffer_.empty()) return;
      writeLinesToStandardStream(buffer_, stdErr_);
      buffer_.clear();
    }
    void close() override { flush(true); }

   private:
    std::string prefix_;
    bool stdErr_;
    std::string buffer_;
  };

  std::string sinkIdentifier_;
  bool stdErr_;
};

/// Drops every record (Flink's DiscardingSink); for benchmarks and tests.
template <typename T>
class DiscardingSink final : public Sink<T> {
 public:
  std::unique_ptr<SinkWriter<T>> createWriter(const WriterInitContext&) const override {
    return std::make_unique<Writer>();
  }

 private:
  struct Writer final : SinkWriter<T> {
    void write(const T&, const SinkContext&) override {}
  };
};

}  // namespace sluice
