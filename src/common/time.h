// Time as values. Only the event layer (src/event) reads the real clock or owns Asio timers;
// everything else is handed a Scheduler and takes `now` from it, so tests run in virtual time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <utility>

namespace vigil {

using Duration = std::chrono::microseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;
using std::chrono_literals::operator""us;

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
};

class Scheduler : public Clock {
 public:
  using TimerId = uint64_t;
  static constexpr TimerId kNoTimer = 0;

  // Runs `callback` on the scheduler's thread at or after `when`. Never runs it inline.
  virtual TimerId call_at(TimePoint when, std::function<void()> callback) = 0;
  // Cancelling a timer that already ran or was cancelled is a no-op.
  virtual void cancel(TimerId id) = 0;

  TimerId call_after(Duration delay, std::function<void()> callback) {
    return call_at(now() + delay, std::move(callback));
  }
  // Runs `callback` soon, after the current handler returns.
  TimerId post(std::function<void()> callback) { return call_at(now(), std::move(callback)); }
};

// A one-shot timer slot that cancels what it holds when re-armed or destroyed.
class Timer {
 public:
  explicit Timer(Scheduler& scheduler) : scheduler_(&scheduler) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer() { cancel(); }

  void arm_at(TimePoint when, std::function<void()> callback) {
    cancel();
    id_ = scheduler_->call_at(when, [this, callback = std::move(callback)] {
      id_ = Scheduler::kNoTimer;
      callback();
    });
    deadline_ = when;
  }
  void arm_after(Duration delay, std::function<void()> callback) {
    arm_at(scheduler_->now() + delay, std::move(callback));
  }
  void cancel() {
    if (id_ != Scheduler::kNoTimer) scheduler_->cancel(id_);
    id_ = Scheduler::kNoTimer;
  }
  [[nodiscard]] bool armed() const { return id_ != Scheduler::kNoTimer; }
  [[nodiscard]] TimePoint deadline() const { return deadline_; }

 private:
  Scheduler* scheduler_;
  Scheduler::TimerId id_ = Scheduler::kNoTimer;
  TimePoint deadline_{};
};

}  // namespace vigil
