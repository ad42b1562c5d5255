// systemd's notification protocol (sd_notify(3)), in house: one datagram per message on the
// AF_UNIX socket named by NOTIFY_SOCKET (a path, or '@' for the abstract namespace). vigild
// tells systemd READY=1 once it runs, a STATUS= line, RELOADING=1 around a reload and
// STOPPING=1; under WatchdogSec= it sends WATCHDOG=1 every half interval while its loops turn
// (WatchdogFeeder). Without NOTIFY_SOCKET (not started by systemd) every call does nothing.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/time.h"
#include "common/unique_fd.h"

namespace vigil::event {

// The messages, pure. A status text is one line: control characters become spaces.
std::string ready_message();
std::string status_message(std::string_view text);
// RELOADING=1 with the CLOCK_MONOTONIC time (µs) the reload began, as systemd 253+ asks for
// (252 ignores the second field).
std::string reloading_message(std::chrono::microseconds monotonic);
std::string stopping_message();
std::string watchdog_message();

// How often to send WATCHDOG=1: half of WATCHDOG_USEC, when that is set, is a positive number,
// and WATCHDOG_PID is unset or names `self` (sd_watchdog_enabled(3)). nullopt: no watchdog.
std::optional<Duration> watchdog_period(const char* watchdog_usec, const char* watchdog_pid,
                                        pid_t self);

class SdNotifier {
 public:
  // `socket`: NOTIFY_SOCKET's value; empty: a notifier that sends nothing.
  explicit SdNotifier(std::string socket);
  // NOTIFY_SOCKET from the environment.
  static SdNotifier from_environment();

  [[nodiscard]] bool enabled() const { return !socket_.empty(); }
  [[nodiscard]] const std::string& socket() const { return socket_; }

  // Sends one datagram; an error (the socket is gone, a path too long) is returned, and a
  // disabled notifier returns success without sending.
  Status send(std::string_view message);
  Status ready() { return send(ready_message()); }
  Status status(std::string_view text) { return send(status_message(text)); }
  // Uses the CLOCK_MONOTONIC now.
  Status reloading();
  Status stopping() { return send(stopping_message()); }
  Status watchdog() { return send(watchdog_message()); }

 private:
  std::string socket_;
  UniqueFd fd_;  // opened on the first send
};

// Every `period` (on `scheduler`'s loop, so a loop that stops turning stops feeding too), asks
// `alive()` and calls `feed()` only when it says yes. A refusal is logged once per stretch, and
// the recovery too.
class WatchdogFeeder {
 public:
  WatchdogFeeder(Scheduler& scheduler, Duration period, std::function<bool()> alive,
                 std::function<void()> feed);
  WatchdogFeeder(const WatchdogFeeder&) = delete;
  WatchdogFeeder& operator=(const WatchdogFeeder&) = delete;

  [[nodiscard]] uint64_t fed() const { return fed_; }
  [[nodiscard]] uint64_t withheld() const { return withheld_; }

 private:
  void tick();

  Duration period_;
  std::function<bool()> alive_;
  std::function<void()> feed_;
  Timer timer_;
  uint64_t fed_ = 0;
  uint64_t withheld_ = 0;
  bool withholding_ = false;
};

}  // namespace vigil::event
