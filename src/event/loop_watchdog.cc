#include "event/loop_watchdog.h"

#include <utility>

#include "common/log.h"

namespace vigil::event {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("event");
  return *instance;
}

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

LoopWatchdog::LoopWatchdog(Scheduler& scheduler, PostToWatched post, std::string name,
                           Options options)
    : scheduler_(scheduler),
      post_(std::move(post)),
      name_(std::move(name)),
      options_(options),
      timer_(scheduler) {
  tick();
}

LoopWatchdog::~LoopWatchdog() = default;

WatchdogCounters LoopWatchdog::counters() const {
  return WatchdogCounters{
      .stalls = shared_->stalls.load(std::memory_order_relaxed),
      .longest = Duration{shared_->longest_us.load(std::memory_order_relaxed)},
      .stalled_now = shared_->stalled.load(std::memory_order_relaxed),
  };
}

void LoopWatchdog::tick() {
  const TimePoint now = scheduler_.now();
  const bool outstanding = sent_ != 0 && shared_->answered.load(std::memory_order_acquire) != sent_;
  const Duration waited = now - sent_at_;
  const bool stalled = shared_->stalled.load(std::memory_order_relaxed);
  if (outstanding) {
    if (!stalled && waited >= options_.stall_after) {
      shared_->stalled.store(true, std::memory_order_relaxed);
      shared_->stalls.fetch_add(1, std::memory_order_relaxed);
      logger().warn("[{}] loop stalled: a callback posted {:.1f} s ago has not run yet", name_,
                    seconds(waited));
    }
  } else {
    if (stalled) {
      shared_->stalled.store(false, std::memory_order_relaxed);
      if (waited.count() > shared_->longest_us.load(std::memory_order_relaxed))
        shared_->longest_us.store(waited.count(), std::memory_order_relaxed);
      logger().warn("[{}] loop turns again after a stall of about {:.1f} s", name_,
                    seconds(waited));
    }
    const uint64_t ping = ++sent_;
    sent_at_ = now;
    post_([shared = shared_, ping] { shared->answered.store(ping, std::memory_order_release); });
  }
  timer_.arm_after(options_.interval, [this] { tick(); });
}

}  // namespace vigil::event
