#pragma once

// Flink's training exercise "Long Ride Alerts" over the NYC taxi ride events
// (../shared/data/nyctaxi/nycTaxiRides.gz, headerless CSV
// rideId,START|END,eventTime,otherTime,startLon,startLat,endLon,endLat,passengerCnt,taxiId,driverId):
//
//   CsvSource<TaxiRide> (event time = eventTime, bounded out-of-orderness)
//     -> keyBy(rideId) -> LongRideAlerts (ValueState + event-time timers) -> rideId per line
//
// Semantics. A ride's start is the eventTime of its START, or, when only its END is seen, the
// END's otherTime. With T the threshold, a ride alerts (its rideId is emitted once) iff
//   - its END never arrives: the event-time timer at start + T fires (at the latest with the
//     final watermark at end of input), or
//   - END.eventTime - start > T (strictly: a ride of exactly T does not alert).
// The timer at start + T fires when the watermark reaches start + T, i.e. when (within the
// out-of-orderness bound) every event up to start + T has been seen; an END missing then has
// eventTime > start + T or never comes, so the alert is right either way. Events later than
// the bound are still processed (a KeyedProcessFunction drops nothing), but an END later than
// the bound may find its ride already alerted by the timer.
//
// State per ride (one ValueState<RideState>), cleared when the ride is done:
//   kStarted: START seen, timer at start + T pending. END -> delete timer, alert iff too long,
//             clear. Timer -> alert, kAlerted.
//   kAlerted: alerted by the timer, END not yet seen (kept so that the END does not alert a
//             second time). END -> clear. A ride whose END never comes keeps this tombstone.
//   kEnded:   END seen first (its START may still come out of order): alerted at once iff too
//             long; cleanup timer at the END's eventTime. START -> delete timer, clear.
//             Timer -> clear.
// Duplicate STARTs or ENDs of a ride are ignored.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/api/data_stream.h"
#include "sluice/connectors/csv_source.h"
#include "sluice/connectors/file_sink.h"
#include "sluice/core/civil_time.h"
#include "sluice/runtime/process_function.h"

namespace sluice::rides {

// ---- time -----------------------------------------------------------------------------------

// Dates and times: parseDateTime of sluice/core/civil_time.h.

// ---- the input row --------------------------------------------------------------------------

/// A date-time column: ms since the epoch, UTC.
struct RideTime {
  int64_t millis = 0;
};

/// The START|END column.
struct RideEventType {
  bool isStart = false;
};

/// One row of nycTaxiRides, columns in file order (Flink training's TaxiRide).
struct TaxiRide {
  int64_t rideId = 0;
  RideEventType type;
  RideTime eventTime;  ///< START: the start; END: the end
  RideTime otherTime;  ///< START: 1970-01-01 00:00:00; END: the start
  double startLon = 0;
  double startLat = 0;
  double endLon = 0;
  double endLat = 0;
  int32_t passengerCnt = 0;
  int64_t taxiId = 0;
  int64_t driverId = 0;
};

}  // namespace sluice::rides

namespace sluice {

template <>
struct CsvFieldParser<rides::RideTime> {
  static bool parse(std::string_view field, rides::RideTime& out, std::string& error) {
    if (auto millis = parseDateTime(field)) {
      out.millis = *millis;
      return true;
    }
    error = detail::quoteForMessage(field) + " is not a date-time YYYY-MM-DD HH:MM:SS";
    return false;
  }
};

template <>
struct CsvFieldParser<rides::RideEventType> {
  static bool parse(std::string_view field, rides::RideEventType& out, std::string& error) {
    if (field == "START" || field == "END") {
      out.isStart = field == "START";
      return true;
    }
    error = detail::quoteForMessage(field) + " is neither START nor END";
    return false;
  }
};

}  // namespace sluice

namespace sluice::rides {

// ---- the process function -------------------------------------------------------------------

inline constexpr const char* kRidesCounter = "rides";
inline constexpr const char* kEventsCounter = "events";
inline constexpr const char* kAlertsCounter = "alerts";

/// Per-ride state (see the top of this file).
struct RideState {
  static constexpr int32_t kStarted = 0;
  static constexpr int32_t kAlerted = 1;
  static constexpr int32_t kEnded = 2;
  int32_t phase = kStarted;
  int64_t start = 0;  ///< the ride's start, ms
  int64_t timer = 0;  ///< the pending event-time timer (kStarted, kEnded)
};

/// Emits the rideId of every ride that lasts longer than the threshold or never ends.
class LongRideAlerts final : public KeyedProcessFunction<int64_t, TaxiRide, int64_t> {
 public:
  explicit LongRideAlerts(int64_t thresholdMillis) : threshold_(thresholdMillis) {}

  void open(RuntimeContext& context) override {
    rides_ = &context.getLongCounter(kRidesCounter);
    events_ = &context.getLongCounter(kEventsCounter);
    alerts_ = &context.getLongCounter(kAlertsCounter);
  }

  void processElement(const TaxiRide& ride, Context& ctx, Collector<int64_t>& out) override {
    events_->add(1);
    auto& state = getState(kStateDescriptor);
    std::optional<RideState> current = state.value();
    TimerService& timers = ctx.timerService();
    if (!current) {
      rides_->add(1);
      if (ride.type.isStart) {
        const int64_t start = ride.eventTime.millis;
        state.update({RideState::kStarted, start, start + threshold_});
        timers.registerEventTimeTimer(start + threshold_);
      } else {
        const int64_t start = ride.otherTime.millis;
        if (ride.eventTime.millis - start > threshold_) alert(ride.rideId, out);
        state.update({RideState::kEnded, start, ride.eventTime.millis});
        timers.registerEventTimeTimer(ride.eventTime.millis);
      }
      return;
    }
    switch (current->phase) {
      case RideState::kStarted:
        if (!ride.type.isStart) {
          timers.deleteEventTimeTimer(current->timer);
          if (ride.eventTime.millis - current->start > threshold_) alert(ride.rideId, out);
          state.clear();
        }
        break;
      case RideState::kAlerted:
        if (!ride.type.isStart) state.clear();
        break;
      case RideState::kEnded:
        if (ride.type.isStart) {
          timers.deleteEventTimeTimer(current->timer);
          state.clear();
        }
        break;
    }
  }

  void onTimer(Timestamp, OnTimerContext& ctx, Collector<int64_t>& out) override {
    auto& state = getState(kStateDescriptor);
    std::optional<RideState> current = state.value();
    if (!current) return;
    if (current->phase == RideState::kStarted) {
      // No END by start + threshold in event time.
      alert(ctx.getCurrentKey(), out);
      state.update({RideState::kAlerted, current->start, 0});
    } else if (current->phase == RideState::kEnded) {
      state.clear();
    }
  }

 private:
  void alert(int64_t rideId, Collector<int64_t>& out) {
    alerts_->add(1);
    out.collect(rideId);
  }

  inline static const ValueStateDescriptor<RideState> kStateDescriptor{"ride"};
  int64_t threshold_;
  LongCounter* rides_ = nullptr;
  LongCounter* events_ = nullptr;
  LongCounter* alerts_ = nullptr;
};

// ---- the job --------------------------------------------------------------------------------

struct LongRideOptions {
  std::string input;
  std::string output;  ///< base directory of the part files; empty: discard
  int64_t thresholdMinutes = 120;
  int64_t maxOutOfOrdernessMillis = 60000;
};

inline void encodeRideId(const int64_t& rideId, std::string& out) {
  out += std::to_string(rideId);
  out += '\n';
}

struct RideIdKey {
  int64_t operator()(const TaxiRide& ride) const { return ride.rideId; }
};

/// Adds the job to `env`. Throws ConfigurationException for a negative threshold or bound,
/// IOException for missing input.
inline void buildLongRideJob(StreamExecutionEnvironment& env, const LongRideOptions& options) {
  if (options.thresholdMinutes < 0) throw ConfigurationException("threshold must not be negative");
  if (options.maxOutOfOrdernessMillis < 0) {
    throw ConfigurationException("max out-of-orderness must not be negative");
  }
  auto source =
      CsvSource<TaxiRide>::forPaths({options.input})
          .withColumnNames({"rideId", "type", "eventTime", "otherTime", "startLon", "startLat",
                            "endLon", "endLat", "passengerCnt", "taxiId", "driverId"})
          .build();
  auto strategy = WatermarkStrategy<TaxiRide>::forBoundedOutOfOrderness(
                      std::chrono::milliseconds(options.maxOutOfOrdernessMillis))
                      .withTimestampAssigner(
                          [](const TaxiRide& ride, Timestamp) { return ride.eventTime.millis; });
  std::shared_ptr<const Sink<int64_t>> sink;
  if (options.output.empty()) {
    sink = std::make_shared<DiscardingSink<int64_t>>();
  } else {
    sink = FileSink<int64_t>::forRowFormat(options.output, &encodeRideId)
               .withBucketAssigner(BasePathBucketAssigner<int64_t>{})
               .build();
  }
  env.fromSource<TaxiRide, FileSourceSplit>(source, strategy, "Taxi Rides")
      .keyBy(RideIdKey{})
      .process(LongRideAlerts(options.thresholdMinutes * 60 * 1000))
      .name("Long Ride Alerts")
      .sinkTo(sink, "Alert Files");
}

}  // namespace sluice::rides
