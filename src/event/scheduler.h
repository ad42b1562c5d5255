// AsioScheduler: vigil::Scheduler on a Boost.Asio io_context. One steady_timer drives a min-heap
// of deadlines, so tens of thousands of checker timers cost no Asio object each. Not thread-safe:
// call it on the loop thread (or before the loop runs); other threads use EventLoop::post().
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/time.h"

namespace boost::asio {
class io_context;
}

namespace vigil::event {

// How late callbacks ran compared with the time they were due (timers and posts alike).
struct TimerLateness {
  // Upper bounds of the histogram buckets; one more bucket counts everything above the last.
  static constexpr std::array<Duration, 11> kBucketBounds = {
      Duration{50},     Duration{100},    Duration{250},    Duration{500},
      Duration{1'000},  Duration{2'000},  Duration{5'000},  Duration{10'000},
      Duration{20'000}, Duration{50'000}, Duration{100'000}};

  uint64_t count = 0;
  Duration max{0};
  Duration total{0};
  std::array<uint64_t, kBucketBounds.size() + 1> buckets{};

  // The upper bound of the bucket that holds quantile `q` (0..1): a conservative estimate.
  // Duration::max() when it falls in the overflow bucket, zero when nothing was recorded.
  [[nodiscard]] Duration quantile_bound(double q) const;
};

// Lock-free recorder: written by the loop thread, read by any thread (metrics, benchmarks).
class LatenessRecorder {
 public:
  void record(Duration lateness);
  [[nodiscard]] TimerLateness snapshot() const;
  void reset();

 private:
  std::atomic<uint64_t> count_{0};
  std::atomic<int64_t> max_us_{0};
  std::atomic<int64_t> total_us_{0};
  std::array<std::atomic<uint64_t>, TimerLateness::kBucketBounds.size() + 1> buckets_{};
};

class AsioScheduler final : public Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io);
  AsioScheduler(const AsioScheduler&) = delete;
  AsioScheduler& operator=(const AsioScheduler&) = delete;
  // Drops pending callbacks without running them. The io_context may keep running.
  ~AsioScheduler() override;

  // steady_clock, truncated to microseconds.
  [[nodiscard]] TimePoint now() const override;
  // Never runs `callback` inline; timers due at the same instant run in scheduling order.
  TimerId call_at(TimePoint when, std::function<void()> callback) override;
  // O(1); the heap entry is dropped lazily (and compacted when cancelled entries dominate).
  void cancel(TimerId id) override;

  // Callbacks waiting to run.
  [[nodiscard]] size_t pending() const;
  [[nodiscard]] TimerLateness lateness() const;
  void reset_lateness();

  static TimePoint clock_now();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace vigil::event
