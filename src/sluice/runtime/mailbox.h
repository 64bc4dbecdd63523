#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace sluice {

/// The queue of actions a task thread runs between records (Flink's TaskMailbox): timers,
/// split assignments, checkpoint triggers and control actions are all put here by other
/// threads and executed on the task thread, so operator state needs no locks.
///
/// put(), signalInput() and close() are thread-safe; the rest is for the task thread only.
class Mailbox {
 public:
  using Mail = std::function<void()>;

  /// Queues `mail` and wakes the task. Mails put after close() are dropped.
  void put(Mail mail);
  /// Cheap check for the task's hot loop.
  bool hasMail() const { return pending_.load(std::memory_order_acquire) != 0; }
  /// Runs every queued mail (including ones queued meanwhile); returns how many ran.
  int runAll();
  /// Wakes a task waiting in waitForMailOrInput() because input arrived.
  void signalInput();
  /// Blocks until a mail is queued, input was signalled since the last wait, or close().
  void waitForMailOrInput();
  /// Wakes the task for good; later waits return at once.
  void close();
  bool isClosed() const { return closed_.load(std::memory_order_acquire); }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Mail> mails_;
  std::atomic<int> pending_{0};
  std::atomic<bool> closed_{false};
  bool inputSignalled_ = false;
};

}  // namespace sluice
