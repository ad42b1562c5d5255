// EventLoop: an io_context, its AsioScheduler and a work guard, run on one thread. LoopThread runs
// an EventLoop on a dedicated std::thread, optionally with SCHED_RR priority and CPU affinity, so
// that VRRP keeps its schedule whatever the rest of the daemon does.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "event/scheduler.h"

namespace boost::asio {
class io_context;
}

namespace vigil::event {

class EventLoop {
 public:
  explicit EventLoop(std::string name = "main");
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  [[nodiscard]] const std::string& name() const { return name_; }
  // Loop-thread only (or before the loop runs).
  [[nodiscard]] Scheduler& scheduler();
  [[nodiscard]] const AsioScheduler& asio_scheduler() const;
  // For the event layer's own classes (FdWatcher, SignalHandler, ProcessScriptRunner).
  [[nodiscard]] boost::asio::io_context& io_context();

  // Runs handlers on the calling thread until stop(). A stopped loop stays stopped.
  void run();
  // Runs handlers until `done()` is true or `timeout` passes; returns done(). For bounded waits
  // (tests, draining scripts at shutdown). Returns at once if the loop was stopped.
  bool run_until(const std::function<bool()>& done, Duration timeout);

  // Thread-safe: `callback` runs on the loop thread, in posting order, at most 256 per loop
  // turn. Uses a priority-inheritance mutex and an eventfd, not Asio's scheduler lock, so a
  // low-priority poster cannot stall a realtime loop.
  void post(std::function<void()> callback);
  // Thread-safe: run() returns after the current handler.
  void stop();
  [[nodiscard]] bool stopped() const;
  // True on the thread inside run() / run_until().
  [[nodiscard]] bool in_loop_thread() const;

  // How late timers and posted callbacks ran; readable from any thread.
  [[nodiscard]] TimerLateness timer_lateness() const;

 private:
  struct Impl;
  std::string name_;
  std::unique_ptr<Impl> impl_;
};

struct ThreadOptions {
  // The name ps -L and top -H show (first 15 characters); empty: the loop's name.
  std::string thread_name;
  // SCHED_RR priority (1-99), e.g. keepalived's vrrp_rt_priority; none keeps SCHED_OTHER.
  std::optional<int> realtime_priority;
  // Nice value (-20..19) of this thread alone (Linux: setpriority on its thread id), e.g.
  // keepalived's checker_priority; none leaves it alone.
  std::optional<int> nice;
  // CPUs the thread may run on; empty leaves the affinity alone.
  std::vector<int> cpus;
  // mlockall(MCL_CURRENT | MCL_FUTURE) for the whole process, as keepalived does under
  // vrrp_rt_priority: a page fault (a first touch, or a page reclaimed under memory pressure)
  // can cost the thread milliseconds at the worst moment.
  bool lock_memory = false;

  bool operator==(const ThreadOptions&) const = default;
};

// These act on the calling thread. Failures (EPERM without CAP_SYS_NICE, a CPU outside the
// cpuset) are returned and logged at warn, naming `who`.
Status set_realtime_priority(int priority, std::string_view who);
Status set_cpu_affinity(const std::vector<int>& cpus, std::string_view who);
// The calling thread's nice value; below the current one needs CAP_SYS_NICE.
Status set_thread_nice(int nice, std::string_view who);
// Locks every current and future page of the process in memory.
Status lock_memory(std::string_view who);
// The thread's timer slack (how much the kernel may delay its timed waits to batch wake-ups;
// 50 us by default for SCHED_OTHER, ignored for realtime threads). 1 ns keeps a thread whose
// SCHED_RR was refused on time as far as the scheduler allows.
Status set_timer_slack(std::chrono::nanoseconds slack, std::string_view who);
// Names the thread (options.thread_name, else `name`; first 15 characters) for ps/top, applies
// `options`; returns the first failure. Log lines name `name`.
Status apply_thread_options(const ThreadOptions& options, std::string_view name);

// An EventLoop on its own thread.
class LoopThread {
 public:
  explicit LoopThread(std::string name);
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;
  ~LoopThread();  // stop()

  [[nodiscard]] EventLoop& loop() { return loop_; }

  // Starts the thread, which applies `options` and then runs the loop. The thread runs even when
  // an option could not be applied; that failure is returned (and logged).
  Status start(const ThreadOptions& options = {});
  // Stops the loop and joins the thread. Idempotent; not from the loop thread itself.
  void stop();
  [[nodiscard]] bool running() const { return thread_.joinable(); }

 private:
  EventLoop loop_;
  std::thread thread_;
};

}  // namespace vigil::event
