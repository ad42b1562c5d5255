// LoopWatchdog: notices when a loop stops turning (keepalived #2523: a checker process that hangs
// goes unnoticed while its servers keep their last state). From another loop, every `interval`,
// it posts a ping to the watched loop; a ping still not run `stall_after` after it was posted is
// a stall, logged at warn once and counted; when the ping finally runs, the next tick logs how
// long the stall lasted. The watched loop pays one tiny posted callback per interval.
//
// Runs on the watcher's loop (its Scheduler); counters() is readable from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/time.h"

namespace vigil::event {

struct WatchdogCounters {
  uint64_t stalls = 0;  // pings unanswered for at least stall_after
  Duration longest{0};  // the longest ended stall (ping posted -> seen answered)
  bool stalled_now = false;
};

class LoopWatchdog {
 public:
  // Hands `callback` to the watched loop (EventLoop::post); any thread may call it.
  using PostToWatched = std::function<void(std::function<void()> callback)>;
  struct Options {
    Duration interval = std::chrono::milliseconds(500);
    Duration stall_after = std::chrono::seconds(2);
  };

  // `name` names the watched loop in log lines ("[check] loop ...").
  LoopWatchdog(Scheduler& scheduler, PostToWatched post, std::string name, Options options);
  LoopWatchdog(const LoopWatchdog&) = delete;
  LoopWatchdog& operator=(const LoopWatchdog&) = delete;
  ~LoopWatchdog();

  [[nodiscard]] WatchdogCounters counters() const;

 private:
  struct Shared {
    std::atomic<uint64_t> answered{0};  // the last ping the watched loop ran
    std::atomic<uint64_t> stalls{0};
    std::atomic<int64_t> longest_us{0};
    std::atomic<bool> stalled{false};
  };
  void tick();

  Scheduler& scheduler_;
  PostToWatched post_;
  std::string name_;
  Options options_;
  Timer timer_;
  // Shared with the pings in flight, which may run after the watchdog is gone.
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  uint64_t sent_ = 0;  // the last ping posted
  TimePoint sent_at_{};
};

}  // namespace vigil::event
