#include "check/verdict.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

#include "common/log.h"
#include "common/overloaded.h"

namespace vigil::check {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("check");
  return *instance;
}

// keepalived gives the sorry server weight 1 (it has no weight keyword).
constexpr uint32_t kSorryWeight = 1;

}  // namespace

std::string to_string(const NotifyAction& action) {
  return std::visit(
      Overloaded{
          [](const RunScript& a) { return "RunScript(" + a.script.command.text + ")"; },
          [](const FifoLine& a) { return "FifoLine(" + a.line + ")"; },
          [](const SmtpAlert& a) {
            return "SmtpAlert(" + (a.real_server.empty() ? a.virtual_server : a.real_server) +
                   (a.up ? " UP " : " DOWN ") + a.body + ")";
          },
      },
      action);
}

uint32_t ipvs_weight(int64_t effective_weight) {
  return static_cast<uint32_t>(std::clamp<int64_t>(effective_weight, 0, kMaxIpvsWeight));
}

VirtualServerVerdicts::VirtualServerVerdicts(VirtualServerSpec spec) : spec_(std::move(spec)) {
  servers_.resize(spec_.real_servers.size());
  for (size_t i = 0; i < servers_.size(); ++i)
    servers_[i].checkers.resize(spec_.real_servers[i].checkers.size());
}

int64_t VirtualServerVerdicts::effective_weight(size_t real_server) const {
  const size_t index = real_server;
  int64_t weight = spec_.real_servers[index].weight;
  for (const auto& c : servers_[index].checkers)
    weight += c.dynamic_weight;
  return weight;
}

int64_t VirtualServerVerdicts::live_weight() const {
  int64_t sum = 0;
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i].alive) sum += ipvs_weight(effective_weight(i));
  }
  return sum;
}

bool VirtualServerVerdicts::all_up(const Server& server) const {
  return std::all_of(server.checkers.begin(), server.checkers.end(),
                     [](const CheckerView& c) { return c.up; });
}

void VirtualServerVerdicts::start_servers(const std::vector<RealServerView>& checkers, bool notify,
                                          NotifyActions& out) {
  assert(!started_ && checkers.size() == servers_.size());
  started_ = true;
  // ipwrapper.c init_service_rs: a server with no failed checker is added and alive; an alpha
  // server (or one with a failed FILE_CHECK) waits for its checkers.
  for (size_t i = 0; i < servers_.size(); ++i) {
    assert(checkers[i].checkers.size() == servers_[i].checkers.size());
    servers_[i].checkers = checkers[i].checkers;
    servers_[i].alive = all_up(servers_[i]);
    if (notify && servers_[i].alive && spec_.rs_init_notifies) rs_notifies(i, out);
  }
}

NotifyActions VirtualServerVerdicts::start_kept(const std::vector<RealServerView>& checkers,
                                                bool quorum_was_up, bool sorry_was_alive) {
  NotifyActions out;
  start_servers(checkers, /*notify=*/false, out);
  quorum_up_ = quorum_was_up;
  sorry_alive_ = sorry_was_alive && spec_.sorry_server.has_value();
  update_quorum(/*init=*/true, out);
  return out;
}

NotifyActions VirtualServerVerdicts::start(const std::vector<RealServerView>& checkers) {
  NotifyActions out;
  start_servers(checkers, /*notify=*/true, out);
  // The quorum state before init_service_vs counted no server alive (set_quorum_states runs
  // before any server is added), so a quorum met at start is "gained" and notified.
  quorum_up_ = spec_.quorum + spec_.hysteresis == 0;
  update_quorum(/*init=*/true, out);
  return out;
}

NotifyActions VirtualServerVerdicts::on_report(size_t real_server, size_t checker,
                                               const Report& report, std::string_view detail) {
  const size_t index = real_server;
  NotifyActions out;
  Server& server = servers_[index];
  server.checkers[checker].up = report.up;
  const CheckerType type = spec_.real_servers[index].checkers[checker].identity.type;
  if (!report.changed) {
    // update_svr_checker_state: a first-run confirmation runs the server's notifies for its
    // current state (an alpha server's first failure runs notify_down).
    if (report.notifies) rs_notifies(index, out);
    // check_misc.c alone mails a first-run confirmation too ("=> MISC CHECK succeeded on
    // service <="): its alert has no checker_was_up condition, the other checkers' have.
    if (type == CheckerType::kMisc && rs_alerts(index) && !alerts_.no_checker_emails)
      checker_alert(index, checker, report, detail, out);
    return out;
  }
  const bool alive = all_up(server);
  const bool was_alive = server.alive;
  if (alive != server.alive) set_alive(index, alive, out);
  // check_tcp.c & co: after update_svr_checker_state, an alert for the checker's change when the
  // real server's smtp_alert is on, unless no_checker_emails and the server did not change.
  if (rs_alerts(index) && (alive != was_alive || !alerts_.no_checker_emails))
    checker_alert(index, checker, report, detail, out);
  return out;
}

void VirtualServerVerdicts::checker_alert(size_t index, size_t checker, const Report& report,
                                          std::string_view detail, NotifyActions& out) const {
  const auto& rs = spec_.real_servers[index];
  if (auto body = checker_alert_body(rs.checkers[checker].identity.type, report.up, report.reason,
                                     detail)) {
    out.emplace_back(SmtpAlert{.real_server = format_real_server(rs.key, spec_.protocol_name),
                               .virtual_server = spec_.label,
                               .up = report.up,
                               .body = std::move(*body)});
  }
}

NotifyActions VirtualServerVerdicts::on_weight(size_t real_server, size_t checker, int64_t weight) {
  const size_t index = real_server;
  NotifyActions out;
  const uint32_t before = ipvs_weight(effective_weight(index));
  servers_[index].checkers[checker].dynamic_weight = weight;
  const uint32_t after = ipvs_weight(effective_weight(index));
  // ipwrapper.c update_svr_wgt: only a change of the written weight matters; an alive server's
  // new weight is in desired() at once (one EDIT_DEST) and the quorum is evaluated again.
  if (before != after) {
    logger().info("[{}] changing weight from {} to {} for {}active service {}", spec_.label, before,
                  after, servers_[index].alive ? "" : "in",
                  format_real_server(spec_.real_servers[index].key, spec_.protocol_name));
    update_quorum(/*init=*/false, out);
  }
  return out;
}

static std::string quorum_alert_body(bool up, bool init, uint32_t quorum, uint32_t hysteresis,
                                     int64_t threshold, int64_t weight_sum);

NotifyActions VirtualServerVerdicts::remove_real_server(size_t index) {
  NotifyActions out;
  Server& server = servers_[index];
  const bool in_ipvs = started_ && server.alive && pool_active();  // keepalived's rs->set
  if (!server.alive) return out;
  server.alive = false;
  if (!in_ipvs) return out;
  // UNSET_ALIVE first: do_rs_notifies then runs notify_down and writes "DOWN".
  rs_notifies(index, out);
  // SMTP_MSG_RS_SHUT: "[router_id] Realserver <rs> of virtual server <vs> - DOWN".
  if (rs_alerts(index)) {
    out.emplace_back(SmtpAlert{
        .real_server = format_real_server(spec_.real_servers[index].key, spec_.protocol_name),
        .virtual_server = spec_.label,
        .up = false,
        .body = "=> Removing <="});
  }
  return out;
}

NotifyActions VirtualServerVerdicts::remove(bool flush) {
  NotifyActions out;
  if (!started_ || flush) return out;
  // clear_service_rs_list: each real server, then update_vs_notifies: with every server gone the
  // weight sum is 0, so a quorum that was up is lost.
  for (size_t i = 0; i < servers_.size(); ++i) {
    NotifyActions gone = remove_real_server(i);
    out.insert(out.end(), gone.begin(), gone.end());
  }
  NotifyActions lost = update_vs_notifies();
  out.insert(out.end(), lost.begin(), lost.end());
  return out;
}

NotifyActions VirtualServerVerdicts::update_vs_notifies() {
  NotifyActions out;
  if (!started_) return out;
  const int64_t threshold = int64_t{spec_.quorum} - spec_.hysteresis;
  const int64_t weight_sum = live_weight();
  if (quorum_up_ && (weight_sum == 0 || weight_sum < threshold)) {
    quorum_up_ = false;
    logger().info("[{}] lost quorum {}-{}={} > {} (real servers removed)", spec_.label,
                  spec_.quorum, spec_.hysteresis, threshold, weight_sum);
    vs_notifies(out, quorum_alert_body(false, false, spec_.quorum, spec_.hysteresis, threshold,
                                       weight_sum));
  }
  return out;
}

NotifyActions VirtualServerVerdicts::stop() {
  NotifyActions out;
  // ipwrapper.c clear_service_vs(stopping): the notifies run only with omega.
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (!servers_[i].alive) continue;
    servers_[i].alive = false;
    if (!spec_.omega) continue;
    rs_notifies(i, out);
    // ipwrapper.c clear_service_rs: SMTP_MSG_RS_SHUT.
    if (rs_alerts(i)) {
      out.emplace_back(SmtpAlert{
          .real_server = format_real_server(spec_.real_servers[i].key, spec_.protocol_name),
          .virtual_server = spec_.label,
          .up = false,
          .body = "=> Shutting down <="});
    }
  }
  quorum_up_ = false;
  sorry_alive_ = false;
  if (spec_.omega) vs_notifies(out, "=> Shutting down <=");
  started_ = false;
  return out;
}

DesiredService VirtualServerVerdicts::desired() const {
  DesiredService service;
  service.real_servers.reserve(servers_.size());
  for (size_t i = 0; i < servers_.size(); ++i) {
    const auto& rs = spec_.real_servers[i];
    DesiredDestination d{.key = rs.key};
    if (started_ && servers_[i].alive && pool_active()) {
      d.in_ipvs = true;
      d.weight = ipvs_weight(effective_weight(i));
    } else if (started_ && rs.inhibit_on_failure) {
      // inhibit_on_failure: weight 0 (EDIT_DEST) instead of removal, also while the sorry
      // server stands in.
      d.in_ipvs = true;
      d.weight = 0;
    }
    service.real_servers.push_back(d);
  }
  if (spec_.sorry_server) {
    DesiredDestination d{.key = spec_.sorry_server->key};
    if (started_ && sorry_alive_) {
      d.in_ipvs = true;
      d.weight = kSorryWeight;
    } else if (started_ && spec_.sorry_server->inhibit) {
      d.in_ipvs = true;  // sorry_server_inhibit: present at weight 0 while not needed
    }
    service.sorry_server = d;
  }
  return service;
}

void VirtualServerVerdicts::set_alive(size_t index, bool alive, NotifyActions& out) {
  // ipwrapper.c perform_svr_state: the server enters or leaves the pool (unless the sorry server
  // holds it), runs its notifies, and the quorum is evaluated again.
  const auto& rs = spec_.real_servers[index];
  logger().info("[{}] {} service {} {} VS", spec_.label,
                alive ? (rs.inhibit_on_failure ? "enabling" : "adding")
                      : (rs.inhibit_on_failure ? "disabling" : "removing"),
                format_real_server(rs.key, spec_.protocol_name),
                rs.inhibit_on_failure ? "of" : (alive ? "to" : "from"));
  servers_[index].alive = alive;
  rs_notifies(index, out);
  update_quorum(/*init=*/false, out);
}

void VirtualServerVerdicts::rs_notifies(size_t index, NotifyActions& out) const {
  // ipwrapper.c do_rs_notifies: the script, then the FIFO line.
  const auto& rs = spec_.real_servers[index];
  const bool alive = servers_[index].alive;
  const auto& script = alive ? rs.notify_up : rs.notify_down;
  if (script) out.emplace_back(RunScript{*script});
  out.emplace_back(
      FifoLine{fmt::format("RS {} {} {}\n", format_real_server(rs.key, spec_.protocol_name),
                           spec_.label, alive ? "UP" : "DOWN")});
}

void VirtualServerVerdicts::vs_notifies(NotifyActions& out, const std::string& alert_body) const {
  // ipwrapper.c do_vs_notifies: the script, the FIFO line, then the SMTP alert.
  const auto& script = quorum_up_ ? spec_.quorum_up : spec_.quorum_down;
  if (script) out.emplace_back(RunScript{*script});
  out.emplace_back(FifoLine{fmt::format("VS {} {}\n", spec_.label, quorum_up_ ? "UP" : "DOWN")});
  if (alerts_.virtual_server) {
    out.emplace_back(
        SmtpAlert{.virtual_server = spec_.label, .up = quorum_up_, .body = alert_body});
  }
}

// ipwrapper.c do_vs_notifies: "=> %s %u+%u=%ld <= %ld <=".
static std::string quorum_alert_body(bool up, bool init, uint32_t quorum, uint32_t hysteresis,
                                     int64_t threshold, int64_t weight_sum) {
  const char* what = up ? (init ? "Starting with quorum up" : "Gained quorum")
                        : (init ? "Starting with quorum down" : "Lost quorum");
  return fmt::format("=> {} {}+{}={} <= {} <=", what, quorum, hysteresis, threshold, weight_sum);
}

std::optional<std::string> checker_alert_body(config::CheckerType type, bool up, Reason reason,
                                              std::string_view detail) {
  using config::CheckerType;
  switch (type) {
    case CheckerType::kTcp:
      return up ? "=> TCP CHECK succeed on service <=" : "=> TCP CHECK failed on service <=";
    case CheckerType::kHttp:
    case CheckerType::kSsl:
      return up ? "=> CHECK succeed on service <="
                : "=> CHECK failed on service : HTTP request failed <=";
    case CheckerType::kSmtp:
      if (up) return "=> CHECK succeed on service <=";
      if (detail.empty()) return "=> CHECK failed on service <=";
      return fmt::format("=> CHECK failed on service : {} <=", detail);
    case CheckerType::kDns:
      return up ? "=> DNS_CHECK: succeed on service <=" : "=> DNS_CHECK: failed on service <=";
    case CheckerType::kUdp:
      return up ? "=> UDP CHECK succeed on service <=" : "=> UDP CHECK failed on service <=";
    case CheckerType::kPing:
      return up ? "=> ICMP CHECK succeed on service <=" : "=> ICMP CHECK failed on service <=";
    case CheckerType::kMisc:
      return fmt::format("=> MISC CHECK {} on service <=", up ? "succeeded"
                                                           : reason == Reason::kScriptTimeout
                                                               ? "timed out"
                                                               : "failed");
    case CheckerType::kFile:
      return std::nullopt;
  }
  return std::nullopt;
}

void VirtualServerVerdicts::update_quorum(bool init, NotifyActions& out) {
  const int64_t weight_sum = live_weight();
  const int64_t hysteresis = spec_.hysteresis;
  const int64_t threshold = int64_t{spec_.quorum} + (quorum_up_ ? -hysteresis : hysteresis);
  if (!quorum_up_ && weight_sum >= threshold) {
    quorum_up_ = true;
    logger().info("[{}] gained quorum {}+{}={} <= {}", spec_.label, spec_.quorum, spec_.hysteresis,
                  threshold, weight_sum);
    const std::string body =
        quorum_alert_body(true, init, spec_.quorum, spec_.hysteresis, threshold, weight_sum);
    if (sorry_alive_) {
      // The sorry server leaves; the alive servers come back (desired() follows pool_active()).
      logger().info("[{}] {} sorry server", spec_.label,
                    spec_.sorry_server->inhibit ? "disabling" : "removing");
      sorry_alive_ = false;
    }
    vs_notifies(out, body);
    return;
  }
  const bool lost = quorum_up_ && (weight_sum == 0 || weight_sum < threshold);
  const bool start_down = init && !quorum_up_ && spec_.sorry_server && !sorry_alive_;
  if (lost || start_down) {
    quorum_up_ = false;
    logger().info("[{}] {} {}-{}={} > {}", spec_.label,
                  init ? "starting with quorum down" : "lost quorum", spec_.quorum,
                  spec_.hysteresis, threshold, weight_sum);
    if (spec_.sorry_server && !sorry_alive_) {
      logger().info("[{}] {} sorry server", spec_.label,
                    spec_.sorry_server->inhibit ? "enabling" : "adding");
      sorry_alive_ = true;
    }
    vs_notifies(
        out, quorum_alert_body(false, init, spec_.quorum, spec_.hysteresis, threshold, weight_sum));
  }
}

}  // namespace vigil::check
