// The reload plan against keepalived 2.2.7's migrate_checkers / clear_diff_rs /
// check_new_rs_state (shared/reference/checkers.md §1.4): the reload matrix.
#include "check/reload.h"

#include <gtest/gtest.h>

#include "check/verdict.h"

namespace vigil::check {
namespace {

IpAddress ip(std::string_view text) {
  return *IpAddress::parse(text);
}

constexpr TimePoint kT0{Duration{1'000'000'000}};

CheckerSpec tcp(uint16_t port, uint32_t retry = 1, Duration delay_loop = 10s) {
  return {.identity = {.type = CheckerType::kTcp,
                       .connection = ConnectionIdentity{.connect_ip = ip("10.0.0.1"),
                                                        .connect_port = port,
                                                        .connect_timeout = 5s}},
          .label = "TCP 10.0.0.1:80",
          .delay_loop = delay_loop,
          .delay_before_retry = 1s,
          .retry = retry};
}

const VirtualServerKey kVs{.address = ip("10.0.0.100"), .port = 80};
const RealServerKey kRs1{ip("10.0.0.1"), 80};
const RealServerKey kRs2{ip("10.0.0.2"), 80};

VirtualServerSpec service(std::vector<RealServerSpec> servers) {
  return {.key = kVs,
          .label = "[10.0.0.100]:tcp:80",
          .protocol_name = "tcp",
          .real_servers = std::move(servers)};
}

RunningVirtualServer running(std::vector<RunningRealServer> servers) {
  return {.key = kVs, .real_servers = std::move(servers)};
}

const CarriedState kUpState{.up = true, .has_run = true};
const CarriedState kDownState{.up = false, .has_run = true};

// Builds the new checker from the plan, as the engine will, and returns it.
Checker started(const CheckerSpec& spec, const CheckerPlan& plan) {
  Checker checker(spec, [](Duration) { return Duration{0}; });
  std::visit([&](const auto& e) { checker.handle(e, kT0); }, plan.first_event);
  return checker;
}

TEST(ReloadPlan, UnchangedKeepsEveryCheckerAndRemovesNothing) {
  const auto specs = std::vector{service({{.key = kRs1, .checkers = {tcp(80)}}})};
  const auto plan =
      plan_reload({running({{.key = kRs1, .checkers = {{tcp(80).identity, kUpState}}}})}, specs);
  ASSERT_EQ(plan.services.size(), 1U);
  const auto& vs = plan.services[0];
  EXPECT_TRUE(vs.existed);
  EXPECT_TRUE(vs.removed_real_servers.empty());
  EXPECT_TRUE(plan.removed_services.empty());
  ASSERT_EQ(vs.real_servers[0].checkers.size(), 1U);
  EXPECT_EQ(vs.real_servers[0].checkers[0],
            (CheckerPlan{.kept_from = 0, .first_event = ReloadKept{.old = kUpState}}));
  // The timer is re-armed with the start-up jitter (1 s + rand·warmup): a reload delays it.
  Checker checker(specs[0].real_servers[0].checkers[0], [](Duration) { return Duration{0}; });
  EXPECT_EQ(checker.handle(ReloadKept{.old = kUpState}, kT0), (Actions{ProbeAt{kT0 + 1s}}));
}

// delay_loop and retry are not identity: the state is kept; a retry count already past the new
// retry is capped at retry - 1 (migrate_checkers).
TEST(ReloadPlan, DelayLoopAndRetryChangedKeepTheState) {
  const CarriedState retrying{.up = true, .has_run = true, .retry_it = 3};
  const auto spec = tcp(80, /*retry=*/2, /*delay_loop=*/30s);
  const auto plan =
      plan_reload({running({{.key = kRs1, .checkers = {{tcp(80, 5).identity, retrying}}}})},
                  {service({{.key = kRs1, .checkers = {spec}}})});
  const auto& p = plan.services[0].real_servers[0].checkers[0];
  ASSERT_EQ(p.kept_from, std::optional<size_t>{0});
  const Checker checker = started(spec, p);
  EXPECT_TRUE(checker.up());
  EXPECT_TRUE(checker.has_run());
  EXPECT_EQ(checker.retry_it(), 1U);
}

// Changing the failing checker's connect_port makes it a new checker; the server is left with
// no failed checker, so it is back in IPVS until its next check (#1144's mirror case).
TEST(ReloadPlan, ConnectPortChangedStartsFreshAndReaddsTheServer) {
  const auto spec = tcp(81);
  const auto specs = std::vector{service({{.key = kRs1, .checkers = {spec}}})};
  const auto plan = plan_reload(
      {running({{.key = kRs1, .alive = false, .checkers = {{tcp(80).identity, kDownState}}}})},
      specs);
  const auto& p = plan.services[0].real_servers[0].checkers[0];
  // The server is not alive and nothing kept has run: the new checker starts as at start-up,
  // up (not alpha), and one failure takes it down again.
  EXPECT_EQ(
      p, (CheckerPlan{.first_event = Start{.alpha_applies = true, .first_check_retries = false}}));
  const Checker checker = started(spec, p);
  EXPECT_TRUE(checker.up());
  EXPECT_EQ(checker.retry_it(), 1U);
  VirtualServerVerdicts v(specs[0]);
  v.start({{{{.up = checker.up()}}}});
  EXPECT_TRUE(v.desired().real_servers[0].in_ipvs);
}

// A failed server stays out while a matching failed checker remains ("do not re-add failed RS
// instantly on reload"); a new checker beside it starts as at start-up (alpha down, no retries).
TEST(ReloadPlan, FailedServerStaysOut) {
  auto added = tcp(443);
  added.alpha = true;
  const auto specs = std::vector{service({{.key = kRs1, .checkers = {tcp(80), added}}})};
  const auto plan = plan_reload(
      {running({{.key = kRs1, .alive = false, .checkers = {{tcp(80).identity, kDownState}}}})},
      specs);
  const auto& checkers = plan.services[0].real_servers[0].checkers;
  EXPECT_EQ(checkers[0],
            (CheckerPlan{.kept_from = 0,
                         .first_event = ReloadKept{.old = kDownState, .pessimistic = true}}));
  EXPECT_EQ(
      checkers[1],
      (CheckerPlan{.first_event = Start{.alpha_applies = true, .first_check_retries = false}}));
  const Checker kept = started(specs[0].real_servers[0].checkers[0], checkers[0]);
  const Checker fresh = started(added, checkers[1]);
  EXPECT_FALSE(kept.up());
  EXPECT_FALSE(fresh.up());
  EXPECT_EQ(fresh.retry_it(), 1U);  // one failure is enough
  VirtualServerVerdicts v(specs[0]);
  v.start({{{{.up = kept.up()}, {.up = fresh.up()}}}});
  EXPECT_FALSE(v.desired().real_servers[0].in_ipvs);
}

// A removed server is in the plan's removals (deleted even with inhibit_on_failure).
TEST(ReloadPlan, RemovedServerWithInhibitIsDeleted) {
  const auto plan = plan_reload(
      {running({{.key = kRs1, .checkers = {{tcp(80).identity, kUpState}}},
                {.key = kRs2, .alive = false, .checkers = {{tcp(80).identity, kDownState}}}})},
      {service({{.key = kRs1, .inhibit_on_failure = true, .checkers = {tcp(80)}}})});
  EXPECT_EQ(plan.services[0].removed_real_servers, std::vector{kRs2});
  EXPECT_EQ(plan.services[0].real_servers.size(), 1U);
}

TEST(ReloadPlan, RemovedVirtualServerGoes) {
  auto other = running({});
  other.key.port = 443;
  const auto plan = plan_reload({running({}), other}, {service({})});
  EXPECT_EQ(plan.removed_services, std::vector{other.key});
  EXPECT_TRUE(plan.services[0].existed);
}

// misc_dynamic: the weight follows the last exit status against the new configured weight.
TEST(ReloadPlan, DynamicWeightKept) {
  CheckerSpec misc{.identity = {.type = CheckerType::kMisc,
                                .detail = MiscIdentity{.argv = {"/bin/w"}, .dynamic = true}},
                   .label = "MISC",
                   .delay_loop = 10s,
                   .real_server_weight = 4};
  const CarriedState old{.up = true, .has_run = true, .dynamic_weight = 9, .last_exit_status = 12};
  const auto specs = std::vector{service({{.key = kRs1, .weight = 4, .checkers = {misc}}})};
  const auto plan =
      plan_reload({running({{.key = kRs1, .checkers = {{misc.identity, old}}}})}, specs);
  const auto& p = plan.services[0].real_servers[0].checkers[0];
  ASSERT_EQ(p.kept_from, std::optional<size_t>{0});
  Checker checker(misc, [](Duration) { return Duration{0}; });
  EXPECT_EQ(checker.handle(std::get<ReloadKept>(p.first_event), kT0),
            (Actions{WeightChanged{6}, ProbeAt{kT0 + 1s}}));  // 12 - 2 - 4
  VirtualServerVerdicts v(specs[0]);
  v.start({{{{.up = true, .dynamic_weight = checker.dynamic_weight()}}}});
  EXPECT_EQ(v.desired().real_servers[0].weight, 10U);  // 4 + 6 = 12 - 2
}

// A new alpha server added by a reload starts down (check_new_rs_state) and stays out of IPVS
// until its checkers pass; its first check keeps its retries.
TEST(ReloadPlan, NewAlphaServerStartsDown) {
  auto spec = tcp(80);
  spec.alpha = true;
  const auto specs = std::vector{service(
      {{.key = kRs1, .checkers = {tcp(80)}}, {.key = kRs2, .alpha = true, .checkers = {spec}}})};
  const auto plan =
      plan_reload({running({{.key = kRs1, .checkers = {{tcp(80).identity, kUpState}}}})}, specs);
  const auto& rs2 = plan.services[0].real_servers[1];
  EXPECT_FALSE(rs2.existed);
  EXPECT_EQ(
      rs2.checkers[0],
      (CheckerPlan{.first_event = Start{.alpha_applies = true, .first_check_retries = true}}));
  const Checker checker = started(spec, rs2.checkers[0]);
  EXPECT_FALSE(checker.up());
  EXPECT_EQ(checker.retry_it(), 0U);
  VirtualServerVerdicts v(specs[0]);
  v.start({{{{.up = true}}}, {{{.up = checker.up()}}}});
  EXPECT_FALSE(v.desired().real_servers[1].in_ipvs);
}

}  // namespace
}  // namespace vigil::check
