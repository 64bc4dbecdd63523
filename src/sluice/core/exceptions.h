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

}  // namespace sluice
