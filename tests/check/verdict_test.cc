// Real- and virtual-server verdicts against keepalived 2.2.7's ipwrapper.c rules
// (shared/reference/checkers.md §1.3): alive = all checkers up, effective weight, inhibit, quorum
// with hysteresis, the sorry server, notify scripts and the exact lvs_notify_fifo lines.
#include "check/verdict.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <limits>
#include <ostream>
#include <string>
#include <vector>

namespace vigil::check {

void PrintTo(const NotifyAction& action, std::ostream* os) {
  *os << to_string(action);
}

namespace {

IpAddress ip(std::string_view text) {
  return *IpAddress::parse(text);
}

config::LvsScript script(const std::string& text) {
  return {.command = {.argv = {text}, .text = text}};
}

CheckerSpec tcp(uint16_t port) {
  return {.identity = {.type = CheckerType::kTcp,
                       .connection =
                           ConnectionIdentity{.connect_ip = ip("10.0.0.1"), .connect_port = port}},
          .label = "TCP",
          .delay_loop = 10s};
}

RealServerSpec rs(std::string_view address, int64_t weight, size_t checkers = 1) {
  RealServerSpec spec{.key = {ip(address), 80}, .weight = weight};
  for (size_t i = 0; i < checkers; ++i)
    spec.checkers.push_back(tcp(80));
  return spec;
}

VirtualServerSpec vs(std::vector<RealServerSpec> servers) {
  return {.key = {.address = ip("10.0.0.100"), .port = 80},
          .label = "[10.0.0.100]:tcp:80",
          .protocol_name = "tcp",
          .real_servers = std::move(servers)};
}

// Every checker up (keepalived's start without alpha).
std::vector<RealServerView> all_up(const VirtualServerSpec& spec) {
  std::vector<RealServerView> views;
  for (const auto& r : spec.real_servers)
    views.push_back({std::vector<CheckerView>(r.checkers.size())});
  return views;
}

const Report kDown{.up = false, .changed = true, .reason = Reason::kConnectionRefused};
const Report kUp{.up = true, .changed = true, .reason = Reason::kSucceeded};

DesiredDestination in(std::string_view address, uint32_t weight) {
  return {.key = {ip(address), 80}, .in_ipvs = true, .weight = weight};
}
DesiredDestination out(std::string_view address) {
  return {.key = {ip(address), 80}, .in_ipvs = false, .weight = 0};
}

FifoLine rs_line(std::string_view address, std::string_view state) {
  return {fmt::format("RS [{}]:tcp:80 [10.0.0.100]:tcp:80 {}\n", address, state)};
}
FifoLine vs_line(std::string_view state) {
  return {fmt::format("VS [10.0.0.100]:tcp:80 {}\n", state)};
}

// ---- alive = every checker up; notifies and FIFO lines ----------------------------------------

TEST(RealServer, AliveOnlyWhenAllCheckersAreUp) {
  auto spec = vs({rs("10.0.0.1", 3, 2), rs("10.0.0.2", 3)});
  spec.real_servers[0].notify_up = config::Box<config::LvsScript>(script("/bin/up"));
  spec.real_servers[0].notify_down = config::Box<config::LvsScript>(script("/bin/down"));
  VirtualServerVerdicts v(spec);
  EXPECT_EQ(v.start(all_up(spec)), (NotifyActions{vs_line("UP")}));
  EXPECT_EQ(v.desired().real_servers, (std::vector{in("10.0.0.1", 3), in("10.0.0.2", 3)}));

  EXPECT_EQ(v.on_report(0, 1, kDown),
            (NotifyActions{RunScript{script("/bin/down")}, rs_line("10.0.0.1", "DOWN")}));
  EXPECT_EQ(v.desired().real_servers, (std::vector{out("10.0.0.1"), in("10.0.0.2", 3)}));
  EXPECT_EQ(v.on_report(0, 0, kDown), NotifyActions{});  // already out
  EXPECT_EQ(v.on_report(0, 1, kUp), NotifyActions{});    // checker 0 still down
  EXPECT_FALSE(v.alive(0));
  EXPECT_EQ(v.on_report(0, 0, kUp),
            (NotifyActions{RunScript{script("/bin/up")}, rs_line("10.0.0.1", "UP")}));
  EXPECT_EQ(v.desired().real_servers, (std::vector{in("10.0.0.1", 3), in("10.0.0.2", 3)}));
}

TEST(RealServer, InhibitOnFailureKeepsItAtWeightZero) {
  auto spec = vs({rs("10.0.0.1", 3), rs("10.0.0.2", 3)});
  spec.real_servers[0].inhibit_on_failure = true;
  VirtualServerVerdicts v(spec);
  v.start(all_up(spec));
  v.on_report(0, 0, kDown);
  v.on_report(1, 0, kDown);
  EXPECT_EQ(v.desired().real_servers, (std::vector{in("10.0.0.1", 0), out("10.0.0.2")}));
}

// An alpha checker's first failure confirms DOWN: notify_down and the FIFO line, no change.
TEST(RealServer, FirstRunConfirmationRunsTheNotifies) {
  auto spec = vs({rs("10.0.0.1", 1), rs("10.0.0.2", 1)});
  spec.real_servers[0].notify_down = config::Box<config::LvsScript>(script("/bin/down"));
  VirtualServerVerdicts v(spec);
  auto views = all_up(spec);
  views[0].checkers[0].up = false;  // alpha
  v.start(views);
  EXPECT_EQ(v.desired().real_servers, (std::vector{out("10.0.0.1"), in("10.0.0.2", 1)}));
  EXPECT_EQ(v.on_report(0, 0, Report{.up = false, .changed = false, .reason = Reason::kTimeout}),
            (NotifyActions{RunScript{script("/bin/down")}, rs_line("10.0.0.1", "DOWN")}));
}

TEST(RealServer, RsInitNotifiesAtStart) {
  auto spec = vs({rs("10.0.0.1", 1), rs("10.0.0.2", 1)});
  spec.rs_init_notifies = true;
  spec.real_servers[0].notify_up = config::Box<config::LvsScript>(script("/bin/up"));
  VirtualServerVerdicts v(spec);
  auto views = all_up(spec);
  views[1].checkers[0].up = false;
  EXPECT_EQ(v.start(views), (NotifyActions{RunScript{script("/bin/up")}, rs_line("10.0.0.1", "UP"),
                                           vs_line("UP")}));
}

// ---- effective weight: configured + Σ dynamic, clamped to [0, INT32_MAX] ---------------------

struct WeightCase {
  const char* name;
  int64_t configured;
  std::vector<int64_t> dynamic;
  uint32_t written;
};

class EffectiveWeight : public ::testing::TestWithParam<WeightCase> {};

TEST_P(EffectiveWeight, IsClamped) {
  const auto& c = GetParam();
  auto spec = vs({rs("10.0.0.1", c.configured, c.dynamic.size())});
  VirtualServerVerdicts v(spec);
  v.start(all_up(spec));
  for (size_t i = 0; i < c.dynamic.size(); ++i)
    v.on_weight(0, i, c.dynamic[i]);
  EXPECT_EQ(v.desired().real_servers[0], in("10.0.0.1", c.written));
}

INSTANTIATE_TEST_SUITE_P(
    Verdict, EffectiveWeight,
    ::testing::Values(WeightCase{"ConfiguredOnly", 7, {}, 7},
                      WeightCase{"SumOfDynamic", 5, {3, -2}, 6},
                      WeightCase{"ClampedAtZero", 10, {-20}, 0},
                      WeightCase{"ClampedAtInt32Max", INT32_MAX, {5}, INT32_MAX},
                      WeightCase{"TwoLargeFiles", 1, {INT32_MAX, INT32_MAX}, INT32_MAX}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- quorum with hysteresis (update_quorum_state) ------------------------------------------

struct QuorumStep {
  size_t server;
  bool up;
  bool quorum_up;  // after the step
  NotifyActions notifies;
};

// quorum 10, hysteresis 2: gained at >= 12, lost at < 8 (or 0). Three servers of weight 4.
TEST(Quorum, GainAndLossEdgesWithHysteresis) {
  auto spec = vs({rs("10.0.0.1", 4), rs("10.0.0.2", 4), rs("10.0.0.3", 4)});
  spec.quorum = 10;
  spec.hysteresis = 2;
  spec.quorum_up = script("/bin/qup");
  spec.quorum_down = script("/bin/qdown");
  VirtualServerVerdicts v(spec);
  // 12 >= 10 + 2 at start: "gained", notified.
  EXPECT_EQ(v.start(all_up(spec)), (NotifyActions{RunScript{script("/bin/qup")}, vs_line("UP")}));
  const std::vector<QuorumStep> steps = {
      {0, false, true, {rs_line("10.0.0.1", "DOWN")}},  // 8, not < 8
      {1,
       false,
       false,
       {rs_line("10.0.0.2", "DOWN"), RunScript{script("/bin/qdown")}, vs_line("DOWN")}},  // 4
      {0, true, false, {rs_line("10.0.0.1", "UP")}},                                      // 8 < 12
      {1,
       true,
       true,
       {rs_line("10.0.0.2", "UP"), RunScript{script("/bin/qup")}, vs_line("UP")}},  // 12
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    EXPECT_EQ(v.on_report(s.server, 0, s.up ? kUp : kDown), s.notifies) << "step " << i;
    EXPECT_EQ(v.quorum_up(), s.quorum_up) << "step " << i;
  }
}

// Without a sorry server a quorum not met at start says nothing (update_quorum_state(init)).
TEST(Quorum, NotMetAtStartWithoutSorryServerIsSilent) {
  auto spec = vs({rs("10.0.0.1", 1), rs("10.0.0.2", 1)});
  spec.quorum = 2;
  VirtualServerVerdicts v(spec);
  auto views = all_up(spec);
  views[1].checkers[0].up = false;
  EXPECT_EQ(v.start(views), NotifyActions{});
  EXPECT_FALSE(v.quorum_up());
  EXPECT_EQ(v.desired().real_servers, (std::vector{in("10.0.0.1", 1), out("10.0.0.2")}));
}

// A dynamic weight change moves the quorum too (update_svr_wgt with update_quorum).
TEST(Quorum, WeightChangeCanLoseIt) {
  auto spec = vs({rs("10.0.0.1", 5)});
  spec.quorum = 3;
  VirtualServerVerdicts v(spec);
  v.start(all_up(spec));
  EXPECT_EQ(v.on_weight(0, 0, -2), NotifyActions{});  // 3, not < 3
  EXPECT_EQ(v.on_weight(0, 0, -3), (NotifyActions{vs_line("DOWN")}));
  EXPECT_EQ(v.live_weight(), 2);
}

// A dynamic weight taking the only server to 0 loses the quorum.
TEST(Quorum, ZeroWeightLosesIt) {
  auto spec = vs({rs("10.0.0.1", 3)});
  spec.quorum = 2;
  spec.hysteresis = 1;
  VirtualServerVerdicts v(spec);
  v.start(all_up(spec));
  EXPECT_TRUE(v.quorum_up());                         // 3 >= 2 + 1
  EXPECT_EQ(v.on_weight(0, 0, -2), NotifyActions{});  // 1, not < 2 - 1
  EXPECT_EQ(v.on_weight(0, 0, -3), (NotifyActions{vs_line("DOWN")}));
  EXPECT_EQ(v.desired().real_servers[0], in("10.0.0.1", 0));
}

// ---- the sorry server -----------------------------------------------------------------------

TEST(SorryServer, ReplacesThePoolOnQuorumLossAndLeavesOnGain) {
  for (const bool inhibit : {false, true}) {
    SCOPED_TRACE(inhibit ? "sorry_server_inhibit" : "plain");
    auto spec = vs({rs("10.0.0.1", 1), rs("10.0.0.2", 1)});
    spec.quorum = 2;
    spec.sorry_server = SorryServerSpec{.key = {ip("10.0.0.9"), 80}, .inhibit = inhibit};
    VirtualServerVerdicts v(spec);
    v.start(all_up(spec));
    const DesiredDestination sorry_idle = inhibit ? in("10.0.0.9", 0) : out("10.0.0.9");
    EXPECT_EQ(v.desired(), (DesiredService{{in("10.0.0.1", 1), in("10.0.0.2", 1)}, sorry_idle}));

    EXPECT_EQ(v.on_report(1, 0, kDown),
              (NotifyActions{rs_line("10.0.0.2", "DOWN"), vs_line("DOWN")}));
    // The alive server leaves too; the sorry server is in at weight 1.
    EXPECT_EQ(v.desired(), (DesiredService{{out("10.0.0.1"), out("10.0.0.2")}, in("10.0.0.9", 1)}));

    EXPECT_EQ(v.on_report(1, 0, kUp), (NotifyActions{rs_line("10.0.0.2", "UP"), vs_line("UP")}));
    EXPECT_EQ(v.desired(), (DesiredService{{in("10.0.0.1", 1), in("10.0.0.2", 1)}, sorry_idle}));
  }
}

// Starting below quorum with a sorry server: "starting with quorum down", quorum_down runs.
TEST(SorryServer, StartingWithQuorumDown) {
  auto spec = vs({rs("10.0.0.1", 1), rs("10.0.0.2", 1)});
  spec.quorum = 2;
  spec.quorum_down = script("/bin/qdown");
  spec.sorry_server = SorryServerSpec{.key = {ip("10.0.0.9"), 80}};
  spec.real_servers[0].inhibit_on_failure = true;
  VirtualServerVerdicts v(spec);
  auto views = all_up(spec);
  views[1].checkers[0].up = false;  // alpha
  EXPECT_EQ(v.start(views), (NotifyActions{RunScript{script("/bin/qdown")}, vs_line("DOWN")}));
  // An alive inhibit server stays at weight 0 while the sorry server stands in.
  EXPECT_EQ(v.desired(), (DesiredService{{in("10.0.0.1", 0), out("10.0.0.2")}, in("10.0.0.9", 1)}));
}

// ---- omega ----------------------------------------------------------------------------------

TEST(Omega, StopRunsNotifyDownAndQuorumDownOnlyWithOmega) {
  for (const bool omega : {false, true}) {
    auto spec = vs({rs("10.0.0.1", 1)});
    spec.omega = omega;
    spec.quorum_down = script("/bin/qdown");
    spec.real_servers[0].notify_down = config::Box<config::LvsScript>(script("/bin/down"));
    VirtualServerVerdicts v(spec);
    v.start(all_up(spec));
    const NotifyActions expected =
        omega ? NotifyActions{RunScript{script("/bin/down")}, rs_line("10.0.0.1", "DOWN"),
                              RunScript{script("/bin/qdown")}, vs_line("DOWN")}
              : NotifyActions{};
    EXPECT_EQ(v.stop(), expected);
    EXPECT_EQ(v.desired().real_servers, std::vector{out("10.0.0.1")});
  }
}

// ---- load-time reductions (check_data.c) ---------------------------------------------------

TEST(ReduceQuorum, QuorumAboveTotalWeightAndHysteresis) {
  auto spec = vs({rs("10.0.0.1", 2), rs("10.0.0.2", 3)});
  spec.quorum = 9;
  spec.hysteresis = 7;
  EXPECT_EQ(reduce_quorum(spec),
            (std::vector<std::string>{
                "quorum 9 for [10.0.0.100]:tcp:80 exceeds total weight of real servers 5, "
                "reducing quorum to 5",
                "virtual server [10.0.0.100]:tcp:80: hysteresis 7 >= quorum 5; setting hysteresis "
                "to 4"}));
  EXPECT_EQ(spec.quorum, 5U);
  EXPECT_EQ(spec.hysteresis, 4U);
  EXPECT_TRUE(reduce_quorum(spec).empty());
}

TEST(ReduceQuorum, HysteresisOnly) {
  auto spec = vs({rs("10.0.0.1", 10)});
  spec.quorum = 3;
  spec.hysteresis = 3;
  EXPECT_EQ(reduce_quorum(spec).size(), 1U);
  EXPECT_EQ(spec.quorum, 3U);
  EXPECT_EQ(spec.hysteresis, 2U);
}

TEST(IpvsWeight, Clamps) {
  EXPECT_EQ(ipvs_weight(-1), 0U);
  EXPECT_EQ(ipvs_weight(0), 0U);
  EXPECT_EQ(ipvs_weight(17), 17U);
  EXPECT_EQ(ipvs_weight(int64_t{INT32_MAX} + 1), static_cast<uint32_t>(INT32_MAX));
}

}  // namespace
}  // namespace vigil::check

// ---- SMTP alerts (keepalived 2.2.7 check_tcp.c & co, ipwrapper.c do_vs_notifies) ---------------

namespace vigil::check {
namespace {

SmtpAlert rs_alert(std::string_view address, bool up, std::string body) {
  return {.real_server = fmt::format("[{}]:tcp:80", address),
          .virtual_server = "[10.0.0.100]:tcp:80",
          .up = up,
          .body = std::move(body)};
}
SmtpAlert vs_alert(bool up, std::string body) {
  return {.virtual_server = "[10.0.0.100]:tcp:80", .up = up, .body = std::move(body)};
}

TEST(SmtpAlerts, NoneWithoutAPolicy) {
  auto spec = vs({rs("10.0.0.1", 1)});
  VirtualServerVerdicts v(spec);
  (void)v.start(all_up(spec));
  EXPECT_EQ(v.on_report(0, 0, kDown),
            (NotifyActions{rs_line("10.0.0.1", "DOWN"), vs_line("DOWN")}));
}

TEST(SmtpAlerts, RealServerAndQuorum) {
  auto spec = vs({rs("10.0.0.1", 1), rs("10.0.0.2", 1)});
  spec.quorum = 2;
  VirtualServerVerdicts v(spec);
  v.set_alerts({.virtual_server = true, .real_servers = {true, false}});
  EXPECT_EQ(
      v.start(all_up(spec)),
      (NotifyActions{vs_line("UP"), vs_alert(true, "=> Starting with quorum up 2+0=2 <= 2 <=")}));
  EXPECT_EQ(v.on_report(0, 0, kDown),
            (NotifyActions{rs_line("10.0.0.1", "DOWN"), vs_line("DOWN"),
                           vs_alert(false, "=> Lost quorum 2+0=2 <= 1 <="),
                           rs_alert("10.0.0.1", false, "=> TCP CHECK failed on service <=")}));
  // 10.0.0.2's smtp_alert is off: its notifies only.
  EXPECT_EQ(v.on_report(1, 0, kDown), (NotifyActions{rs_line("10.0.0.2", "DOWN")}));
  EXPECT_EQ(v.on_report(1, 0, kUp), (NotifyActions{rs_line("10.0.0.2", "UP")}));
  EXPECT_EQ(v.on_report(0, 0, kUp),
            (NotifyActions{rs_line("10.0.0.1", "UP"), vs_line("UP"),
                           vs_alert(true, "=> Gained quorum 2+0=2 <= 2 <="),
                           rs_alert("10.0.0.1", true, "=> TCP CHECK succeed on service <=")}));
}

// Two checkers on one server: the second one's failure does not change the server. keepalived
// mails it anyway, unless no_checker_emails.
TEST(SmtpAlerts, NoCheckerEmails) {
  for (bool no_checker_emails : {false, true}) {
    SCOPED_TRACE(no_checker_emails);
    auto spec = vs({rs("10.0.0.1", 1, 2), rs("10.0.0.2", 1)});
    VirtualServerVerdicts v(spec);
    v.set_alerts({.real_servers = {true, false}, .no_checker_emails = no_checker_emails});
    (void)v.start(all_up(spec));
    const SmtpAlert down = rs_alert("10.0.0.1", false, "=> TCP CHECK failed on service <=");
    EXPECT_EQ(v.on_report(0, 0, kDown), (NotifyActions{rs_line("10.0.0.1", "DOWN"), down}));
    NotifyActions second = v.on_report(0, 1, kDown);
    EXPECT_EQ(second, no_checker_emails ? NotifyActions{} : NotifyActions{down});
  }
}

// A first-run confirmation (changed = false) is no transition: no alert.
TEST(SmtpAlerts, NoAlertForAConfirmation) {
  auto spec = vs({rs("10.0.0.1", 1)});
  spec.quorum = 0;
  VirtualServerVerdicts v(spec);
  v.set_alerts({.real_servers = {true}});
  (void)v.start(all_up(spec));
  EXPECT_EQ(v.on_report(0, 0, Report{.up = true, .changed = false}),
            (NotifyActions{rs_line("10.0.0.1", "UP")}));
}

// check_misc.c alone mails its first-run confirmation ("succeeded" on an up checker): its alert
// has no checker_was_up condition. no_checker_emails silences it (the server did not change).
TEST(SmtpAlerts, MiscCheckMailsItsFirstRunConfirmation) {
  for (const bool no_checker_emails : {false, true}) {
    SCOPED_TRACE(no_checker_emails);
    auto spec = vs({rs("10.0.0.1", 1)});
    spec.quorum = 0;
    spec.real_servers[0].checkers[0].identity = CheckerIdentity{.type = CheckerType::kMisc};
    VirtualServerVerdicts v(spec);
    v.set_alerts({.real_servers = {true}, .no_checker_emails = no_checker_emails});
    (void)v.start(all_up(spec));
    NotifyActions expected;
    if (!no_checker_emails)
      expected.push_back(rs_alert("10.0.0.1", true, "=> MISC CHECK succeeded on service <="));
    EXPECT_EQ(v.on_report(0, 0, Report{.up = true, .changed = false, .notifies = false}), expected);
  }
}

TEST(SmtpAlerts, OmegaShutdown) {
  auto spec = vs({rs("10.0.0.1", 1)});
  spec.omega = true;
  VirtualServerVerdicts v(spec);
  v.set_alerts({.virtual_server = true, .real_servers = {true}});
  (void)v.start(all_up(spec));
  EXPECT_EQ(v.stop(), (NotifyActions{rs_line("10.0.0.1", "DOWN"),
                                     rs_alert("10.0.0.1", false, "=> Shutting down <="),
                                     vs_line("DOWN"), vs_alert(false, "=> Shutting down <=")}));
}

TEST(SmtpAlerts, CheckerWordsAreKeepaliveds) {
  struct Case {
    CheckerType type;
    bool up;
    Reason reason;
    std::string detail;
    std::optional<std::string> body;
  };
  const Case cases[] = {
      {CheckerType::kTcp, true, Reason::kSucceeded, "", "=> TCP CHECK succeed on service <="},
      {CheckerType::kTcp, false, Reason::kTimeout, "", "=> TCP CHECK failed on service <="},
      {CheckerType::kHttp, true, Reason::kSucceeded, "", "=> CHECK succeed on service <="},
      {CheckerType::kHttp, false, Reason::kBadReply, "",
       "=> CHECK failed on service : HTTP request failed <="},
      {CheckerType::kSsl, false, Reason::kBadReply, "",
       "=> CHECK failed on service : HTTP request failed <="},
      {CheckerType::kSmtp, true, Reason::kSucceeded, "", "=> CHECK succeed on service <="},
      {CheckerType::kSmtp, false, Reason::kBadReply, "", "=> CHECK failed on service <="},
      {CheckerType::kSmtp, false, Reason::kBadReply, "greeting is not 220",
       "=> CHECK failed on service : greeting is not 220 <="},
      {CheckerType::kDns, true, Reason::kSucceeded, "", "=> DNS_CHECK: succeed on service <="},
      {CheckerType::kDns, false, Reason::kTimeout, "", "=> DNS_CHECK: failed on service <="},
      {CheckerType::kUdp, true, Reason::kSucceeded, "", "=> UDP CHECK succeed on service <="},
      {CheckerType::kUdp, false, Reason::kTimeout, "", "=> UDP CHECK failed on service <="},
      {CheckerType::kPing, true, Reason::kSucceeded, "", "=> ICMP CHECK succeed on service <="},
      {CheckerType::kPing, false, Reason::kTimeout, "", "=> ICMP CHECK failed on service <="},
      {CheckerType::kMisc, true, Reason::kSucceeded, "", "=> MISC CHECK succeeded on service <="},
      {CheckerType::kMisc, false, Reason::kScriptExit, "", "=> MISC CHECK failed on service <="},
      {CheckerType::kMisc, false, Reason::kScriptSignal, "", "=> MISC CHECK failed on service <="},
      {CheckerType::kMisc, false, Reason::kScriptTimeout, "",
       "=> MISC CHECK timed out on service <="},
      {CheckerType::kFile, false, Reason::kFileValue, "", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(checker_alert_body(c.type, c.up, c.reason, c.detail), c.body)
        << config::to_string(c.type) << " " << c.up;
  }
}

}  // namespace
}  // namespace vigil::check
