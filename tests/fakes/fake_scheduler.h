// Virtual time for tests: nothing runs until the test advances the clock.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "common/time.h"

namespace vigil::testing {

class FakeScheduler final : public Scheduler {
 public:
  explicit FakeScheduler(TimePoint start = TimePoint{Duration{1'000'000'000}}) : now_(start) {}

  [[nodiscard]] TimePoint now() const override { return now_; }

  TimerId call_at(TimePoint when, std::function<void()> callback) override {
    TimerId id = ++last_id_;
    // Same-deadline timers run in the order they were scheduled (the id breaks ties).
    queue_.emplace(std::pair{std::max(when, now_), id}, std::move(callback));
    return id;
  }

  void cancel(TimerId id) override {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->first.second == id) {
        queue_.erase(it);
        return;
      }
    }
  }

  // Runs every callback due up to now + delay, in deadline order, moving the clock to each.
  // Returns how many ran. Bounded so a timer that re-arms itself at `now` cannot spin forever.
  size_t advance(Duration delay, size_t max_callbacks = 1'000'000) {
    return run_until(now_ + delay, max_callbacks);
  }

  size_t run_until(TimePoint until, size_t max_callbacks = 1'000'000) {
    size_t ran = 0;
    while (!queue_.empty() && queue_.begin()->first.first <= until && ran < max_callbacks) {
      auto node = queue_.extract(queue_.begin());
      now_ = std::max(now_, node.key().first);  // late after stall()
      node.mapped()();
      ++ran;
    }
    if (now_ < until) now_ = until;
    return ran;
  }

  // Moves the clock without running anything, as a thread that was not running would: what fell
  // due meanwhile runs late, at the next run_ready() / advance().
  void stall(Duration delay) { now_ += delay; }

  // Runs what is due now without moving the clock.
  size_t run_ready() { return run_until(now_); }

  [[nodiscard]] size_t pending() const { return queue_.size(); }
  [[nodiscard]] std::optional<TimePoint> next_deadline() const {
    if (queue_.empty()) return std::nullopt;
    return queue_.begin()->first.first;
  }

 private:
  TimePoint now_;
  TimerId last_id_ = 0;
  std::map<std::pair<TimePoint, TimerId>, std::function<void()>> queue_;
};

}  // namespace vigil::testing
