#pragma once

#include <functional>
#include <memory>

#include "sluice/api/common/sink.h"
#include "sluice/runtime/source_operator.h"
#include "sluice/runtime/stream_operator.h"

namespace sluice {

/// Creates the operator instances of one stream node, one per parallel subtask, and for sources
/// the job-wide coordinator (Flink's StreamOperatorFactory). Shared read-only by the graph and
/// the executor; its methods are called on the executor's thread.
class OperatorFactory {
 public:
  virtual ~OperatorFactory() = default;
  virtual std::unique_ptr<StreamOperatorBase> createOperator() const = 0;
  /// The coordinator of all `parallelism` subtasks of this operator, or null.
  virtual std::unique_ptr<OperatorCoordinator> createCoordinator(int parallelism) const {
    (void)parallelism;
    return nullptr;
  }
  /// Runs once per job submission on the JobMaster before the first deployment (see
  /// Sink::initializeOnMaster); throws to refuse the submission. Default: nothing.
  virtual void initializeOnMaster(const JobInitializationContext& context) const { (void)context; }
};

/// An OperatorFactory from a function (what the typed API uses).
class FunctionOperatorFactory final : public OperatorFactory {
 public:
  using CreateOperator = std::function<std::unique_ptr<StreamOperatorBase>()>;
  using CreateCoordinator = std::function<std::unique_ptr<OperatorCoordinator>(int)>;
  using InitializeOnMaster = std::function<void(const JobInitializationContext&)>;
  explicit FunctionOperatorFactory(CreateOperator create, CreateCoordinator coordinator = nullptr,
                                   InitializeOnMaster initialize = nullptr)
      : create_(std::move(create)),
        coordinator_(std::move(coordinator)),
        initialize_(std::move(initialize)) {}
  std::unique_ptr<StreamOperatorBase> createOperator() const override { return create_(); }
  std::unique_ptr<OperatorCoordinator> createCoordinator(int parallelism) const override {
    return coordinator_ ? coordinator_(parallelism) : nullptr;
  }
  void initializeOnMaster(const JobInitializationContext& context) const override {
    if (initialize_) initialize_(context);
  }

 private:
  CreateOperator create_;
  CreateCoordinator coordinator_;
  InitializeOnMaster initialize_;
};

}  // namespace sluice
