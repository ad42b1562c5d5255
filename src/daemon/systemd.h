// vigild under systemd (Type=notify, systemd/vigild.service): READY=1 once the configuration is
// loaded, the pid file written and every service started (the first IPVS programming and the
// VRRP thread are inside their start()), not once instances leave INIT (vrrp_startup_delay can
// hold them longer than the start timeout); a one-line STATUS=; RELOADING=1 then READY=1 around
// a SIGHUP reload; STOPPING=1; WATCHDOG=1 every half WatchdogSec while every loop turns.
// Outside systemd (no NOTIFY_SOCKET) it does nothing.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/time.h"
#include "config/model.h"
#include "daemon/options.h"
#include "event/sd_notify.h"

namespace vigil::daemon {

// "running: 2 VRRP instances, 3 virtual servers": what this vigild runs (-P leaves the virtual
// servers out, -C the instances).
std::string running_status(const config::Config& config, const DaemonOptions& options);

class SystemdLink {
 public:
  // From NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID: construct it after daemonizing.
  SystemdLink();
  SystemdLink(event::SdNotifier notifier, std::optional<Duration> watchdog_period);
  ~SystemdLink();
  SystemdLink(const SystemdLink&) = delete;
  SystemdLink& operator=(const SystemdLink&) = delete;

  void ready(const std::string& status);
  void reloading();
  void status(const std::string& status);
  void stopping();
  // Feeds the watchdog from `scheduler` (the main loop) when systemd asked for one, and only
  // while `alive()` (every service's loop turns). The main loop runs the IPVS side: a stalled
  // main loop feeds nothing.
  void start_watchdog(Scheduler& scheduler, std::function<bool()> alive);
  void stop_watchdog();

 private:
  void send(const std::string& message);
  void report(const Status& sent);  // a failure is logged once

  event::SdNotifier notifier_;
  std::optional<Duration> watchdog_period_;
  std::unique_ptr<event::WatchdogFeeder> feeder_;
  bool warned_ = false;
};

}  // namespace vigil::daemon
