#include "event/scheduler.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cassert>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vigil::event {

namespace asio = boost::asio;

Duration TimerLateness::quantile_bound(double q) const {
  if (count == 0) return Duration{0};
  const auto wanted = static_cast<uint64_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(count));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketBounds.size(); ++i) {
    seen += buckets[i];
    if (seen >= wanted && seen > 0) return kBucketBounds[i];
  }
  return Duration::max();
}

void LatenessRecorder::record(Duration lateness) {
  const int64_t us = std::max<int64_t>(lateness.count(), 0);
  count_.fetch_add(1, std::memory_order_relaxed);
  total_us_.fetch_add(us, std::memory_order_relaxed);
  int64_t previous = max_us_.load(std::memory_order_relaxed);
  while (us > previous && !max_us_.compare_exchange_weak(previous, us, std::memory_order_relaxed)) {
  }
  size_t bucket = 0;
  while (bucket < TimerLateness::kBucketBounds.size() &&
         us > TimerLateness::kBucketBounds[bucket].count()) {
    ++bucket;
  }
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
}

TimerLateness LatenessRecorder::snapshot() const {
  TimerLateness out;
  out.count = count_.load(std::memory_order_relaxed);
  out.max = Duration{max_us_.load(std::memory_order_relaxed)};
  out.total = Duration{total_us_.load(std::memory_order_relaxed)};
  for (size_t i = 0; i < buckets_.size(); ++i) {
    out.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  }
  return out;
}

void LatenessRecorder::reset() {
  count_.store(0, std::memory_order_relaxed);
  max_us_.store(0, std::memory_order_relaxed);
  total_us_.store(0, std::memory_order_relaxed);
  for (auto& bucket : buckets_)
    bucket.store(0, std::memory_order_relaxed);
}

TimePoint AsioScheduler::clock_now() {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

// Lives behind a shared_ptr so that Asio handlers, which hold a weak_ptr, never touch a
// destroyed scheduler.
struct AsioScheduler::State : std::enable_shared_from_this<State> {
  struct Entry {
    TimePoint when;
    TimerId id;
  };
  // std::*_heap build a max-heap; "later" on top inverted gives the earliest (then lowest id).
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.when != b.when ? a.when > b.when : a.id > b.id;
    }
  };

  explicit State(asio::io_context& io_context) : io(io_context), timer(io_context) {}

  asio::io_context& io;
  asio::steady_timer timer;
  std::vector<Entry> heap;
  std::unordered_map<TimerId, std::function<void()>> callbacks;
  TimerId last_id = kNoTimer;
  // The deadline the steady_timer waits for, if a wait is outstanding.
  std::optional<TimePoint> armed_for;
  uint64_t arm_generation = 0;
  bool pass_posted = false;
  bool in_pass = false;
  LatenessRecorder lateness;

  void push(TimePoint when, TimerId id) {
    heap.push_back({when, id});
    std::push_heap(heap.begin(), heap.end(), Later{});
  }
  void pop() {
    std::pop_heap(heap.begin(), heap.end(), Later{});
    heap.pop_back();
  }
  void drop_cancelled_top() {
    while (!heap.empty() && !callbacks.contains(heap.front().id))
      pop();
  }
  void compact_if_sparse() {
    if (heap.size() < 1024 || heap.size() < 2 * callbacks.size()) return;
    std::erase_if(heap, [this](const Entry& entry) { return !callbacks.contains(entry.id); });
    std::make_heap(heap.begin(), heap.end(), Later{});
  }

  // Makes sure something will run the earliest live entry when it is due.
  void schedule_wakeup() {
    if (in_pass || pass_posted) return;  // the pass re-plans when it ends
    drop_cancelled_top();
    if (heap.empty()) return;
    const TimePoint next = heap.front().when;
    if (next <= clock_now()) {
      post_pass();
    } else if (!armed_for || *armed_for > next) {
      arm(next);
    }
  }

  void post_pass() {
    pass_posted = true;
    asio::post(io, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->pass_posted = false;
        self->run_due();
      }
    });
  }

  void arm(TimePoint when) {
    armed_for = when;
    const uint64_t generation = ++arm_generation;
    timer.expires_at(std::chrono::steady_clock::time_point(when));
    timer.async_wait([weak = weak_from_this(), generation](const boost::system::error_code& ec) {
      if (ec) return;  // re-armed or destroyed
      auto self = weak.lock();
      if (!self || self->arm_generation != generation) return;
      self->armed_for.reset();
      self->run_due();
    });
  }

  // Runs what is due now. Only entries that existed when the pass began run in it, so a callback
  // that schedules itself for "now" yields to other handlers (sockets, signals) first.
  void run_due() {
    auto keep_alive = shared_from_this();  // a callback may destroy the scheduler
    const TimePoint now = clock_now();
    const TimerId newest = last_id;
    in_pass = true;
    struct EndOfPass {
      State* state;
      ~EndOfPass() {
        state->in_pass = false;
        state->schedule_wakeup();
      }
    } end_of_pass{this};
    while (!heap.empty()) {
      const Entry top = heap.front();
      auto it = callbacks.find(top.id);
      if (it == callbacks.end()) {
        pop();
        continue;
      }
      if (top.when > now || top.id > newest) break;
      pop();
      std::function<void()> callback = std::move(it->second);
      callbacks.erase(it);
      lateness.record(now - top.when);
      callback();
    }
  }
};

AsioScheduler::AsioScheduler(asio::io_context& io) : state_(std::make_shared<State>(io)) {}

AsioScheduler::~AsioScheduler() {
  state_->timer.cancel();
  state_->callbacks.clear();
  state_->heap.clear();
}

TimePoint AsioScheduler::now() const {
  return clock_now();
}

Scheduler::TimerId AsioScheduler::call_at(TimePoint when, std::function<void()> callback) {
  assert(callback);
  State& state = *state_;
  const TimerId id = ++state.last_id;
  state.callbacks.emplace(id, std::move(callback));
  state.push(when, id);
  state.schedule_wakeup();
  return id;
}

void AsioScheduler::cancel(TimerId id) {
  if (state_->callbacks.erase(id) == 0) return;
  state_->compact_if_sparse();
}

size_t AsioScheduler::pending() const {
  return state_->callbacks.size();
}

TimerLateness AsioScheduler::lateness() const {
  return state_->lateness.snapshot();
}

void AsioScheduler::reset_lateness() {
  state_->lateness.reset();
}

}  // namespace vigil::event
