#include "sluice/runtime/mailbox.h"

namespace sluice {

void Mailbox::put(Mail mail) {
  {
    std::lock_guard lock(mutex_);
    if (closed_.load()) return;
    mails_.push_back(std::move(mail));
    pending_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_one();
}

int Mailbox::runAll() {
  int ran = 0;
  while (hasMail()) {
    Mail mail;
    {
      std::lock_guard lock(mutex_);
      if (mails_.empty()) break;
      mail = std::move(mails_.front());
      mails_.pop_front();
      pending_.fetch_sub(1, std::memory_order_release);
    }
    mail();
    ++ran;
  }
  return ran;
}

void Mailbox::signalInput() {
  {
    std::lock_guard lock(mutex_);
    inputSignalled_ = true;
  }
  wake_.notify_one();
}

void Mailbox::waitForMailOrInput() {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [this] { return !mails_.empty() || inputSignalled_ || closed_.load(); });
  inputSignalled_ = false;
}

void Mailbox::close() {
  {
    std::lock_guard lock(mutex_);
    closed_.store(true);
  }
  wake_.notify_all();
}

}  // namespace sluice
