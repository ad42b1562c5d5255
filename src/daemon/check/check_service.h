// The checker side of vigild: the checker engine (check/engine.h) on its own thread, "check", at
// normal priority (or SCHED_RR checker_rt_priority, always below VRRP's), with its own script
// runner for MISC_CHECK and notify scripts and its own prober. VRRP never waits on it, and it
// never touches IPVS: each batch of health changes is posted by value to the main loop, where
// the IPVS side merges it and reconciles (one changed server: one netlink operation).
#pragma once

#include <functional>
#include <memory>

#include "check/engine.h"
#include "daemon/service.h"

namespace vigil::event {
class EventLoop;
}

namespace vigil::daemon {

struct CheckServiceOptions {
  // Runs on the main loop with every batch the engine produced.
  std::function<void(const check::HealthBatch&)> apply_health;
};

class CheckService final : public Service {
 public:
  CheckService(event::EventLoop& main_loop, CheckServiceOptions options);
  ~CheckService() override;

  // Starts the check thread and loads `config` there.
  Status start(const config::Config& config) override;
  void reload(const config::Config& config) override;
  // Stops the checkers (omega notifies) and joins the thread.
  void stop() override;

 private:
  struct Thread;
  void load(const config::Config& config);

  event::EventLoop& main_loop_;
  CheckServiceOptions options_;
  std::unique_ptr<Thread> thread_;
};

}  // namespace vigil::daemon
