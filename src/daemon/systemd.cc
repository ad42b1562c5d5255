#include "daemon/systemd.h"

#include <unistd.h>

#include <cstdlib>

#include "common/log.h"

namespace vigil::daemon {
namespace {

std::string count(size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace

std::string running_status(const config::Config& config, const DaemonOptions& options) {
  std::string status = "running: ";
  const size_t instances = options.checkers_only ? 0 : config.vrrp.instances.size();
  const size_t servers = options.vrrp_only ? 0 : config.lvs.virtual_servers.size();
  status += count(instances, "VRRP instance") + ", " + count(servers, "virtual server");
  if (!config.global.instance.empty()) status += " (instance " + config.global.instance + ")";
  return status;
}

SystemdLink::SystemdLink()
    : SystemdLink(
          event::SdNotifier::from_environment(),
          // Read once, while vigild has one thread and never changes its environment.
          event::watchdog_period(std::getenv("WATCHDOG_USEC"),  // NOLINT(concurrency-mt-unsafe)
                                 std::getenv("WATCHDOG_PID"),   // NOLINT(concurrency-mt-unsafe)
                                 ::getpid())) {}

SystemdLink::SystemdLink(event::SdNotifier notifier, std::optional<Duration> watchdog_period)
    : notifier_(std::move(notifier)), watchdog_period_(watchdog_period) {}

SystemdLink::~SystemdLink() = default;

void SystemdLink::ready(const std::string& status) {
  send(event::ready_message());
  send(event::status_message(status));
}

void SystemdLink::reloading() {
  report(notifier_.reloading());
}

void SystemdLink::status(const std::string& status) {
  send(event::status_message(status));
}

void SystemdLink::stopping() {
  send(event::stopping_message());
}

void SystemdLink::start_watchdog(Scheduler& scheduler, std::function<bool()> alive) {
  if (!watchdog_period_ || !notifier_.enabled()) return;
  static const auto log = log::get("daemon");
  log->info("[vigild] feeding systemd's watchdog every {} ms while every loop turns",
            watchdog_period_->count() / 1000);
  feeder_ = std::make_unique<event::WatchdogFeeder>(scheduler, *watchdog_period_, std::move(alive),
                                                    [this] { send(event::watchdog_message()); });
}

void SystemdLink::stop_watchdog() {
  feeder_.reset();
}

void SystemdLink::send(const std::string& message) {
  report(notifier_.send(message));
}

void SystemdLink::report(const Status& sent) {
  if (!sent && !warned_) {
    // systemd restarted or the socket went away: vigild keeps running; said once.
    static const auto log = log::get("daemon");
    log->warn("[vigild] cannot notify systemd: {}", sent.error().message);
    warned_ = true;
  }
}

}  // namespace vigil::daemon
