// Real-server and virtual-server verdicts (shared/reference/checkers.md §1.3, keepalived 2.2.7's
// ipwrapper.c): from the checkers' reports to the desired IPVS state of every real server and the
// sorry server, plus the notify scripts and lvs_notify_fifo lines to run. Pure: no IPVS call, no
// script runs here; the IPVS side consumes desired() and the caller runs the actions in order.
//
// - A real server is alive only when all its checkers are up.
// - Its effective weight is the configured weight plus the sum of its checkers' dynamic weights
//   (MISC misc_dynamic, FILE_CHECK), clamped to [0, INT32_MAX] when written.
// - A dead server is out of IPVS, or in at weight 0 with inhibit_on_failure.
// - Quorum: weight_sum (alive servers' clamped weights) gains it at >= quorum + hysteresis and
//   loses it at < quorum - hysteresis or == 0. On loss with a sorry server, the alive servers
//   leave and the sorry server comes in; on gain the reverse. sorry_server_inhibit keeps the
//   sorry server in IPVS at weight 0 while it is not needed.
//
// SMTP alerts (keepalived's smtp_alert calls in check_*.c and ipwrapper.c) are actions too, with
// the words keepalived uses; the caller turns them into mail (src/alert). Only with set_alerts().
//
// Not here yet: ha_suspend, a sorry server that is also one of the real servers
// (keepalived's s_svr_duplicates_rs), virtual_server_group entries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "check/checker.h"
#include "check/spec.h"

namespace vigil::check {

// What the IPVS side should have for one destination.
struct DesiredDestination {
  RealServerKey key;
  bool in_ipvs = false;
  uint32_t weight = 0;  // meaningful when in_ipvs
  bool operator==(const DesiredDestination&) const = default;
};

struct DesiredService {
  std::vector<DesiredDestination> real_servers;  // in the spec's order
  std::optional<DesiredDestination> sorry_server;
  bool operator==(const DesiredService&) const = default;
};

// Run a notify_up / notify_down / quorum_up / quorum_down script (no extra arguments).
struct RunScript {
  config::LvsScript script;
  bool operator==(const RunScript&) const = default;
};
// Write one line to lvs_notify_fifo (and notify_fifo), keepalived's exact bytes including the
// newline: "RS [10.0.0.1]:tcp:80 [10.0.0.100]:tcp:80 UP\n", "VS [10.0.0.100]:tcp:80 DOWN\n".
struct FifoLine {
  std::string line;
  bool operator==(const FifoLine&) const = default;
};
// Send an SMTP alert (keepalived's smtp_alert): about a real server (SMTP_MSG_RS, SMTP_MSG_RS_SHUT:
// `real_server` is its FMT_RS) or, with `real_server` empty, the virtual server's quorum
// (SMTP_MSG_VS). `up` is the Subject's UP / DOWN; `body` keepalived's words.
struct SmtpAlert {
  std::string real_server;
  std::string virtual_server;  // FMT_VS
  bool up = false;
  std::string body;
  bool operator==(const SmtpAlert&) const = default;
};
using NotifyAction = std::variant<RunScript, FifoLine, SmtpAlert>;
using NotifyActions = std::vector<NotifyAction>;
std::string to_string(const NotifyAction& action);

// A checker's state as the verdict needs it.
struct CheckerView {
  bool up = true;
  int64_t dynamic_weight = 0;
  bool operator==(const CheckerView&) const = default;
};

// The state of a real server that a reload carries (see reload.h).
struct RealServerView {
  std::vector<CheckerView> checkers;
};

// Which alerts to send (config: the resolved smtp_alert of the virtual server and of each real
// server, global no_checker_emails). The default sends none.
struct AlertPolicy {
  bool virtual_server = false;     // quorum alerts
  std::vector<bool> real_servers;  // checker alerts, per real server (missing: off)
  bool no_checker_emails = false;  // a checker's alert only when its real server changes
  bool operator==(const AlertPolicy&) const = default;
};

// The body of a checker's alert, as keepalived 2.2.7's check_*.c words it: "=> TCP CHECK failed
// on service <=", "=> CHECK succeed on service <=" (HTTP_GET, SSL_GET, SMTP_CHECK), "=> MISC
// CHECK timed out on service <=", ... `detail` is SMTP_CHECK's failure ("=> CHECK failed on
// service : <detail> <="). None for FILE_CHECK, which keepalived never mails about.
[[nodiscard]] std::optional<std::string> checker_alert_body(config::CheckerType type, bool up,
                                                            Reason reason,
                                                            std::string_view detail = {});

// keepalived's real_weight(): clamped to [0, INT32_MAX].
[[nodiscard]] uint32_t ipvs_weight(int64_t effective_weight);

class VirtualServerVerdicts {
 public:
  explicit VirtualServerVerdicts(VirtualServerSpec spec);

  // keepalived's init_service_vs: `checkers[i]` holds the initial state of real server i's
  // checkers (alpha checkers down, FILE_CHECK from its file; a reload's carried states), one per
  // spec checker. Real servers with no failed checker are alive; with rs_init_notifies their
  // notify_up runs. Then the quorum is evaluated as at start: gained (quorum_up, FIFO "VS UP"),
  // or with a sorry server, "starting with quorum down" (quorum_down, FIFO "VS DOWN").
  NotifyActions start(const std::vector<RealServerView>& checkers);
  // A virtual server that a reload keeps but rebuilds (ipwrapper.c clear_diff_services, then
  // init_service_vs): its real servers start as in start(), without their notifies; the quorum
  // state, and the sorry server's when it is the same server, are the running service's; then
  // the quorum is evaluated as at start, so only a change is announced ("Starting with quorum
  // down" when the reload raised the quorum above the live weight, for instance).
  NotifyActions start_kept(const std::vector<RealServerView>& checkers, bool quorum_was_up,
                           bool sorry_was_alive);

  // Before start(): which SMTP alerts to emit.
  void set_alerts(AlertPolicy policy) { alerts_ = std::move(policy); }

  // A checker's report (checker.h): state changes and first-run confirmations. `detail` is the
  // failed probe's detail (for SMTP_CHECK's alert).
  NotifyActions on_report(size_t real_server, size_t checker, const Report& report,
                          std::string_view detail = {});
  // A checker's dynamic weight changed.
  NotifyActions on_weight(size_t real_server, size_t checker, int64_t weight);
  // A reload removed real server `index` (keepalived 2.2.7 ipwrapper.c clear_service_rs, not
  // stopping, from clear_diff_rs): a server alive and in IPVS leaves with notify_down, the FIFO
  // line "RS ... DOWN" and, with its smtp_alert, the alert "=> Removing <=" (Subject "DOWN");
  // omega does not matter. Nothing for a server that was not alive, or was out of IPVS for the
  // sorry server.
  NotifyActions remove_real_server(size_t index);
  // After a reload removed real servers of this kept virtual server (keepalived 2.2.7
  // ipwrapper.c update_vs_notifies, from clear_diff_rs): a quorum that was up is lost when the
  // servers left alive weigh 0 or less than quorum - hysteresis: quorum_down, the FIFO line "VS ...
  // DOWN" and, with the virtual server's smtp_alert, "=> Lost quorum q+h=threshold <= sum <=".
  // Nothing otherwise (a removal cannot gain a quorum).
  NotifyActions update_vs_notifies();
  // A reload removed this virtual server (clear_service_vs, not stopping): without
  // lvs_flush_on_stop (`flush` false) every real server leaves as remove_real_server() says, then
  // a quorum that was up is lost with its notifies; with it, nothing is notified.
  NotifyActions remove(bool flush);
  // Shutdown: with omega, notify_down for every alive server and quorum_down (keepalived runs
  // them with a 1 s timeout); afterwards nothing is in IPVS.
  NotifyActions stop();

  [[nodiscard]] DesiredService desired() const;
  [[nodiscard]] const VirtualServerSpec& spec() const { return spec_; }
  [[nodiscard]] bool quorum_up() const { return quorum_up_; }
  [[nodiscard]] bool sorry_active() const { return sorry_alive_; }
  [[nodiscard]] bool alive(size_t real_server) const { return servers_[real_server].alive; }
  [[nodiscard]] int64_t effective_weight(size_t real_server) const;
  // Σ clamped weights of the alive real servers (keepalived's weigh_live_realservers).
  [[nodiscard]] int64_t live_weight() const;

 private:
  struct Server {
    std::vector<CheckerView> checkers;
    bool alive = false;
  };

  [[nodiscard]] bool all_up(const Server& server) const;
  // The pool is in IPVS unless the sorry server replaced it.
  [[nodiscard]] bool pool_active() const { return quorum_up_ || !sorry_alive_; }
  void set_alive(size_t index, bool alive, NotifyActions& out);
  void rs_notifies(size_t index, NotifyActions& out) const;
  // `alert_body`: the quorum alert's body (keepalived's do_vs_notifies message).
  void vs_notifies(NotifyActions& out, const std::string& alert_body) const;
  // The SMTP alert of one checker's report (the caller checked smtp_alert and no_checker_emails).
  void checker_alert(size_t index, size_t checker, const Report& report, std::string_view detail,
                     NotifyActions& out) const;
  [[nodiscard]] bool rs_alerts(size_t index) const {
    return index < alerts_.real_servers.size() && alerts_.real_servers[index];
  }
  // ipwrapper.c update_quorum_state.
  void update_quorum(bool init, NotifyActions& out);
  // start()'s first half: every real server's checkers and alive flag (notify: rs_init_notifies).
  void start_servers(const std::vector<RealServerView>& checkers, bool notify, NotifyActions& out);

  VirtualServerSpec spec_;
  std::vector<Server> servers_;
  bool started_ = false;
  bool quorum_up_ = false;
  bool sorry_alive_ = false;
  AlertPolicy alerts_;
};

}  // namespace vigil::check
