#pragma once

#include <stdexcept>
#include <string>

namespace sluice {

/// Base of every error Sluice raises to users. The message says what was wrong, where
/// (operator, file, offset) and, where it can, what to do.
class SluiceException : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A configuration key with a malformed value, or an inconsistent setting
/// (Flink's IllegalConfigurationException).
class ConfigurationException : public SluiceException {
 public:
  using SluiceException::SluiceException;
};

/// Serialized bytes that are truncated, corrupt or of an unknown format version.
class SerializationException : public SluiceException {
 public:
  using SluiceException::SluiceException;
};

/// A job that failed; the message names the failing operator and subtask and carries the
/// original error's message (Flink's JobExecutionException).
class JobExecutionException : public SluiceException {
 public:
  using SluiceException::SluiceException;
};

/// Thrown inside a task when it is cancelled while blocked (waiting for a buffer or for
/// input); it unwinds the task thread and is never reported as a failure.
class CancelTaskException : public SluiceException {
 public:
  CancelTaskException() : SluiceException("task cancelled") {}
};

/// An I/O error on a named path (missing input, unreadable file, corrupt archive).
class IOException : public SluiceException {
 public:
  using SluiceException::SluiceException;
};

/// A failure that a restart cannot cure (Flink's SuppressRestartsException): the job fails at
/// once, whatever the restart strategy. Throw it (or derive from it) from user code for an
/// error that would repeat on every attempt.
class SuppressRestartsException : public SluiceException {
 public:
  using SluiceException::SluiceException;
};

/// An input record that cannot be read (a malformed CSV row with no side output for bad
/// records). Deterministic: reading the same input again fails the same way, so it suppresses
/// restarts. The message names the file, line or byte offset, and the record.
class MalformedRecordException : public SuppressRestartsException {
 public:
  using SuppressRestartsException::SuppressRestartsException;
};

/// An error that reports another one with more context (the operator that threw); it keeps
/// whether the original was recoverable (see isRecoverable).
class WrappedException : public SluiceException {
 public:
  WrappedException(const std::string& message, bool recoverable)
      : SluiceException(message), recoverable_(recoverable) {}
  bool recoverable() const { return recoverable_; }

 private:
  bool recoverable_;
};

/// Whether a restart may cure failure `e`: false for SuppressRestartsException (and so
/// MalformedRecordException) and ConfigurationException, which fail the same way on every
/// attempt; true for everything else. Exceptions that wrap another (UserFunctionException)
/// carry the wrapped one's answer.
bool isRecoverable(const std::exception& e);

}  // namespace sluice
