#pragma once

#include "sluice/api/common/output.h"
#include "sluice/api/common/runtime_context.h"

namespace sluice {

// Rich function bases, as Flink's: derive, override the method, and optionally open()/close().
// Plain lambdas work everywhere too; these are for functions that need set-up or the
// RuntimeContext. Each parallel subtask gets its own copy of the function object.

/// map(): one output per input.
template <typename IN, typename OUT>
class RichMapFunction : public RichFunction {
 public:
  virtual OUT map(const IN& value) = 0;
};

/// flatMap(): any number of outputs per input, emitted into `out`.
template <typename IN, typename OUT>
class RichFlatMapFunction : public RichFunction {
 public:
  using OutputType = OUT;
  virtual void flatMap(const IN& value, Collector<OUT>& out) = 0;
};

/// filter(): true keeps the record.
template <typename T>
class RichFilterFunction : public RichFunction {
 public:
  virtual bool filter(const T& value) = 0;
};

/// reduce(): combines two values of a key into one.
template <typename T>
class RichReduceFunction : public RichFunction {
 public:
  virtual T reduce(const T& value1, const T& value2) = 0;
};

}  // namespace sluice
