#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace sluice {

/// Time-to-live of keyed state (Flink's StateTtlConfig), in processing time. A value (list
/// element, map entry) expires once `ttl` milliseconds have passed since its last access that
/// counts (see UpdateType): expired when now >= lastAccess + ttl (Flink's TtlUtils.expired,
/// saturating on overflow). Give it to a descriptor with `enableTimeToLive`.
///
///   auto ttl = StateTtlConfig::newBuilder(std::chrono::hours(1))
///                  .setUpdateType(StateTtlConfig::UpdateType::kOnReadAndWrite)
///                  .neverReturnExpired()
///                  .cleanupIncrementally(10, false)
///                  .build();
///   ValueStateDescriptor<int64_t> d("count");
///   d.enableTimeToLive(ttl);
///
/// Cleanup, as Flink's heap backend: expired values are removed when read; in addition
/// `cleanupFullSnapshot()` leaves them out of snapshots, and `cleanupIncrementally(n, perRecord)`
/// checks the next n entries of the state (a cursor over all its key groups) on every access to
/// the state and, with `perRecord`, on every record processed. Without any cleanup configured
/// incremental cleanup of 5 entries per access runs (Flink's default background cleanup);
/// `disableCleanupInBackground()` turns that off.
class StateTtlConfigBuilder;

struct StateTtlConfig {
  /// When the last-access time is refreshed (Flink's StateTtlConfig.UpdateType).
  enum class UpdateType { kOnCreateAndWrite, kOnReadAndWrite };
  /// Whether an expired value that is still stored may be returned (Flink's StateVisibility).
  enum class StateVisibility { kNeverReturnExpired, kReturnExpiredIfNotCleanedUp };

  using Builder = StateTtlConfigBuilder;
  /// A builder for a TTL of `ttl` (> 0).
  static Builder newBuilder(std::chrono::milliseconds ttl);

  /// Entries checked per access by default background cleanup (Flink's heap default, 5).
  static constexpr size_t kDefaultCleanupSize = 5;

  int64_t ttlMillis = 0;
  UpdateType updateType = UpdateType::kOnCreateAndWrite;
  StateVisibility visibility = StateVisibility::kNeverReturnExpired;
  bool cleanupFullSnapshot = false;
  size_t incrementalCleanupSize = 0;
  bool runCleanupForEveryRecord = false;

  bool updateOnRead() const { return updateType == UpdateType::kOnReadAndWrite; }
  bool returnExpired() const { return visibility == StateVisibility::kReturnExpiredIfNotCleanedUp; }
  /// True when a value last accessed at `lastAccess` has expired at `now` (ms).
  bool isExpired(int64_t lastAccess, int64_t now) const {
    int64_t expiry = lastAccess > std::numeric_limits<int64_t>::max() - ttlMillis
                         ? std::numeric_limits<int64_t>::max()
                         : lastAccess + ttlMillis;
    return expiry <= now;
  }
  template <typename T>
  bool isExpired(const T& ttlValue, int64_t now) const requires requires {
    ttlValue.lastAccessTimestamp;
  }
  { return isExpired(ttlValue.lastAccessTimestamp, now); }
};

/// Builds a StateTtlConfig (Flink's StateTtlConfig.Builder).
class StateTtlConfigBuilder {
 public:
  explicit StateTtlConfigBuilder(std::chrono::milliseconds ttl) { config_.ttlMillis = ttl.count(); }
  StateTtlConfigBuilder& setUpdateType(StateTtlConfig::UpdateType t) {
    config_.updateType = t;
    return *this;
  }
  StateTtlConfigBuilder& updateTtlOnCreateAndWrite() {
    return setUpdateType(StateTtlConfig::UpdateType::kOnCreateAndWrite);
  }
  StateTtlConfigBuilder& updateTtlOnReadAndWrite() {
    return setUpdateType(StateTtlConfig::UpdateType::kOnReadAndWrite);
  }
  StateTtlConfigBuilder& setStateVisibility(StateTtlConfig::StateVisibility v) {
    config_.visibility = v;
    return *this;
  }
  StateTtlConfigBuilder& neverReturnExpired() {
    return setStateVisibility(StateTtlConfig::StateVisibility::kNeverReturnExpired);
  }
  StateTtlConfigBuilder& returnExpiredIfNotCleanedUp() {
    return setStateVisibility(StateTtlConfig::StateVisibility::kReturnExpiredIfNotCleanedUp);
  }
  StateTtlConfigBuilder& cleanupFullSnapshot() {
    config_.cleanupFullSnapshot = true;
    explicitCleanup_ = true;
    return *this;
  }
  /// Checks `cleanupSize` entries per state access (and per record when
  /// `runCleanupForEveryRecord`).
  StateTtlConfigBuilder& cleanupIncrementally(size_t cleanupSize, bool runCleanupForEveryRecord) {
    config_.incrementalCleanupSize = cleanupSize;
    config_.runCleanupForEveryRecord = runCleanupForEveryRecord;
    explicitCleanup_ = true;
    return *this;
  }
  StateTtlConfigBuilder& disableCleanupInBackground() {
    background_ = false;
    return *this;
  }
  StateTtlConfig build() const {
    StateTtlConfig c = config_;
    if (!explicitCleanup_ && background_)
      c.incrementalCleanupSize = StateTtlConfig::kDefaultCleanupSize;
    return c;
  }

 private:
  StateTtlConfig config_;
  bool explicitCleanup_ = false;
  bool background_ = true;
};

inline StateTtlConfig::Builder StateTtlConfig::newBuilder(std::chrono::milliseconds ttl) {
  return StateTtlConfigBuilder(ttl);
}

/// A value of state with TTL and the time of its last access that counts, ms (Flink's
/// TtlValue). Serialized as the value, then the timestamp.
template <typename V>
struct TtlValue {
  V value;
  int64_t lastAccessTimestamp = 0;
};

}  // namespace sluice
