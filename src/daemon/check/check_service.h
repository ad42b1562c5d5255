// The checker side of vigild: the checker engine (check/engine.h) on its own thread, "check"
// (checker_process_name renames it), with its own script runner for MISC_CHECK and notify
// scripts and its own prober. Its priority, CPUs and memory locking come from the checker
// process keywords (check_thread.h: SCHED_RR checker_rt_priority stays below VRRP's). VRRP never
// waits on it, and it never touches IPVS: each batch of health changes is posted by value to the
// main loop, where the IPVS side merges it and reconciles (one changed server: one netlink
// operation). SIGUSR1 / SIGUSR2 (taken by the daemon's main loop) write its state and counter
// dumps (check_dump.h) from the check thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "check/engine.h"
#include "common/time.h"
#include "daemon/service.h"
#include "event/event_loop.h"
#include "event/loop_watchdog.h"

namespace vigil::event {
class EventLoop;
}

namespace vigil::daemon {

struct CheckServiceOptions {
  // Runs on the main loop with every batch the engine produced.
  std::function<void(const check::HealthBatch&)> apply_health;
  // SIGUSR1 writes the checker states here, SIGUSR2 the counters, each as a new 0600 file that
  // replaces what is at the path without following it. vigild passes run_files()' names.
  std::string data_file = "/tmp/vigil_check.data";
  std::string stats_file = "/tmp/vigil_check.stats";
  // The VRRP side runs in this vigild (not -C): with VRRP instances configured, the check
  // thread's SCHED_RR priority stays below vrrp_rt_priority.
  bool vrrp_in_process = true;
  // How long stop() lets notify scripts (omega) and the lvs_notify_fifo script finish before
  // they are killed.
  Duration stop_script_grace = std::chrono::seconds(2);
};

class CheckService final : public Service {
 public:
  CheckService(event::EventLoop& main_loop, CheckServiceOptions options);
  ~CheckService() override;

  // Starts the check thread (with the checker process keywords) and loads `config` there.
  Status start(const SharedConfig& config) override;
  // The checker process keywords apply at start only: a change is logged, not applied.
  void reload(const SharedConfig& config) override;
  // The engine's reload match (check_reload_plan.h), made on the check thread.
  void plan_reload(const SharedConfig& config, PlanReply done) override;
  // Stops the checkers (omega notifies), gives their scripts stop_script_grace, joins the thread.
  void stop() override;
  // Write the dumps on the check thread; return once they are written.
  void dump_data() override;
  void dump_stats() override;
  // Built on the check thread, handed to `done` there.
  void status(const api::StatusQuery& query, StatusReply done) override;
  void metrics(api::MetricsDetail detail, MetricsReply done) override;
  // False while the check loop's watchdog sees it stalled.
  bool alive() override;

 private:
  struct Thread;
  void load(const SharedConfig& config);
  [[nodiscard]] bool vrrp_runs(const config::Config& config) const;

  event::EventLoop& main_loop_;
  CheckServiceOptions options_;
  std::unique_ptr<Thread> thread_;
  // On the main loop: logs and counts a check loop that has not turned for 2 s (keepalived
  // #2523); destroyed before the thread.
  std::unique_ptr<event::LoopWatchdog> watchdog_;
  event::ThreadOptions thread_options_;  // as applied at start
};

}  // namespace vigil::daemon
