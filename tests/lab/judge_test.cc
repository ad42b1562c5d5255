// vigil-lab's decisions over timelines of states: the notify FIFO lines, the steady state, each
// drill's pass rule, and the statistics of the table.
#include "lab/judge.h"

#include <gtest/gtest.h>

namespace vigil::lab {
namespace {

constexpr State M = State::kMaster;
constexpr State B = State::kBackup;

Names names() {
  return Names{{"d1", "d2"}, {"VI_1"}, {"192.0.2.200"}};
}

// A pair settled with d1 MASTER holding the VIP from t = 1.
Timeline settled() {
  Timeline t(1, 1);
  t.add(StateEvent{0.5, 0, 0, B});
  t.add(StateEvent{0.5, 1, 0, B});
  t.add(StateEvent{1.0, 0, 0, M});
  t.add(VipEvent{1.0, 0, 0, true});
  return t;
}

std::vector<double> replies_every(double from, double to, double step) {
  std::vector<double> out;
  for (int k = 0; from + k * step <= to + 1e-9; ++k)
    out.push_back(from + k * step);
  return out;
}

TEST(FifoLine, ParsesInstanceLinesAndSkipsWhatIsNoState) {
  auto line = parse_fifo_line("INSTANCE \"VI_1\" MASTER 150");
  ASSERT_TRUE(line);
  EXPECT_FALSE(line->group);
  EXPECT_EQ(line->name, "VI_1");
  EXPECT_EQ(line->state, State::kMaster);
  EXPECT_EQ(line->priority, 150);
  EXPECT_EQ(parse_fifo_line("GROUP \"G\" BACKUP 0")->group, true);
  EXPECT_EQ(parse_fifo_line("INSTANCE \"VI 2\" FAULT 0")->name, "VI 2");
  EXPECT_FALSE(parse_fifo_line("INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150"));
  EXPECT_FALSE(parse_fifo_line("VS [192.0.2.1]:tcp:80 UP"));
  EXPECT_FALSE(parse_fifo_line("INSTANCE \"VI_1"));
}

TEST(Steady, OneMasterAndOneHolderIsSteady) {
  const Timeline t = settled();
  EXPECT_EQ(judge_steady(t.at(2.0), names()).verdict, Steadiness::kSteady);
  EXPECT_EQ(judge_steady(t.at(0.7), names()).verdict, Steadiness::kNoMaster);
  EXPECT_EQ(steady_since(t, names(), 2.0), 1.0);
  EXPECT_FALSE(steady_since(t, names(), 0.7));
}

TEST(Steady, TwoMastersIsSplitBrainBeforeTheFault) {
  Timeline t = settled();
  t.add(StateEvent{1.5, 1, 0, M});
  const auto j = judge_steady(t.at(2.0), names());
  EXPECT_EQ(j.verdict, Steadiness::kSplitBrain);
  EXPECT_EQ(steady_failure(j, "before the fault"),
            "split brain before the fault: VI_1 is MASTER on d1 and d2");
  // Healed at 3: steady again from then on only.
  t.add(StateEvent{3.0, 1, 0, B});
  EXPECT_EQ(steady_since(t, names(), 4.0), 3.0);
}

TEST(Steady, AVipOnBothDirectorsIsSplitBrain) {
  Timeline t = settled();
  t.add(VipEvent{1.2, 1, 0, true});
  EXPECT_EQ(steady_failure(judge_steady(t.at(2.0), names()), "before the fault"),
            "split brain before the fault: 192.0.2.200 is on d1 and d2");
}

TEST(Steady, ADirectorThatReportsNothingIsNotSteady) {
  Timeline t = settled();
  t.add(StateEvent{1.5, 1, 0, State::kDown});
  EXPECT_EQ(judge_steady(t.at(2.0), names()).verdict, Steadiness::kNotReporting);
  EXPECT_EQ(steady_failure(judge_steady(t.at(0.1), names()), "before the fault"),
            "no master before the fault: VI_1 is MASTER on neither director (d1 UNKNOWN, d2 "
            "UNKNOWN)");
}

// The CI flake this guards against: d2 (priority 150, no nopreempt) restarted as BACKUP while d1
// (100) held VI_1; counted as steady, the next drill began from d1 as master a moment before d2
// took over.
TEST(Steady, ABackupAboutToPreemptIsNotSteadyYet) {
  const PreemptRules rules = {PreemptRule{.priority = {100, 150}, .nopreempt = {false, false}}};
  Timeline t = settled();
  const auto j = judge_steady(t.at(2.0), names(), rules);
  EXPECT_EQ(j.verdict, Steadiness::kPreemptPending);
  EXPECT_EQ(steady_failure(j, "before the fault"),
            "not steady before the fault: d2 is BACKUP of VI_1 with the higher priority (150 > "
            "100) and no nopreempt, so it is about to take VI_1 from d1");
  EXPECT_FALSE(steady_since(t, names(), 2.0, rules));
  // Without the rules (or once the lab stops waiting for it) the same pair is steady.
  EXPECT_EQ(steady_since(t, names(), 2.0), 1.0);
  // d2 takes over at 2.5: steady from then on.
  t.add(StateEvent{2.5, 1, 0, M});
  t.add(StateEvent{2.5, 0, 0, B});
  t.add(VipEvent{2.5, 0, 0, false});
  t.add(VipEvent{2.5, 1, 0, true});
  EXPECT_EQ(steady_since(t, names(), 3.0, rules), 2.5);
}

TEST(Steady, NoTakeoverIsPendingWithNopreemptOrALowerOrEqualPriority) {
  const Timeline t = settled();  // d1 MASTER, d2 BACKUP
  for (const PreemptRule& rule : {PreemptRule{.priority = {100, 150}, .nopreempt = {false, true}},
                                  PreemptRule{.priority = {150, 100}, .nopreempt = {false, false}},
                                  PreemptRule{.priority = {100, 100}, .nopreempt = {false, false}},
                                  PreemptRule{.priority = {100, 150}, .nopreempt = {true, true}}}) {
    EXPECT_EQ(judge_steady(t.at(2.0), names(), {rule}).verdict, Steadiness::kSteady)
        << rule.priority[0] << " " << rule.priority[1] << " " << rule.nopreempt[1];
  }
  // Only a BACKUP preempts: a director that reports FAULT does not.
  Timeline fault = settled();
  fault.add(StateEvent{1.5, 1, 0, State::kFault});
  EXPECT_EQ(judge_steady(fault.at(2.0), names(),
                         {PreemptRule{.priority = {100, 150}, .nopreempt = {false, false}}})
                .verdict,
            Steadiness::kSteady);
}

DrillRun kill_run() {
  DrillRun run;
  run.kind = DrillKind::kKill;
  run.victim = 0;
  run.instances = {0};
  run.vip = 0;
  run.quiet_from = 1.0;
  run.fault_at = 10.0;
  run.heal_at = 11.0;
  run.end_at = 13.0;
  return run;
}

// d1 killed at 10 (DOWN), d2 MASTER at 10.35 with the VIP at 10.36; d1 back at 11, preempts.
Timeline kill_timeline() {
  Timeline t = settled();
  t.add(StateEvent{10.0, 0, 0, State::kDown});
  t.add(StateEvent{10.35, 1, 0, M});
  t.add(VipEvent{10.36, 1, 0, true});
  t.add(VipEvent{11.0, 0, 0, false});
  t.add(StateEvent{11.2, 0, 0, B});
  t.add(StateEvent{11.5, 0, 0, M});
  t.add(VipEvent{11.5, 0, 0, true});
  t.add(StateEvent{11.51, 1, 0, B});
  t.add(VipEvent{11.51, 1, 0, false});
  return t;
}

std::vector<double> kill_replies() {
  auto r = replies_every(9.0, 9.998, 0.002);
  auto after = replies_every(10.37, 12.0, 0.002);
  r.insert(r.end(), after.begin(), after.end());
  return r;
}

TEST(KillDrill, TakeoverPassesAndMeasures) {
  const auto v = judge_run(kill_timeline(), names(), kill_run(), kill_replies());
  EXPECT_TRUE(v.passed) << (v.failures.empty() ? "" : v.failures[0]);
  ASSERT_TRUE(v.vip_move);
  EXPECT_NEAR(*v.vip_move, 0.36, 1e-9);
  ASSERT_TRUE(v.outage);
  EXPECT_NEAR(*v.outage, 10.37 - 9.998, 1e-6);
  EXPECT_EQ(v.takeovers, 1u);
}

TEST(KillDrill, NoTakeoverFails) {
  Timeline t = settled();
  t.add(StateEvent{10.0, 0, 0, State::kDown});
  const auto v = judge_run(t, names(), kill_run(), replies_every(9.0, 9.998, 0.002));
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.failures.at(0), "d2 never became MASTER of VI_1 after the fault");
  EXPECT_NE(std::find(v.failures.begin(), v.failures.end(),
                      "the client got no reply from 192.0.2.200 after the fault"),
            v.failures.end());
  EXPECT_FALSE(v.vip_move);
}

TEST(KillDrill, FlappingFails) {
  Timeline t = kill_timeline();
  t.add(StateEvent{10.5, 1, 0, B});
  t.add(StateEvent{10.6, 1, 0, M});
  const auto v = judge_run(t, names(), kill_run(), kill_replies());
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.failures.at(0), "d2 became MASTER of VI_1 2 times during the fault (it flapped)");
}

TEST(KillDrill, TwoMastersOutsideAFaultWindowFails) {
  Timeline t = kill_timeline();
  t.add(StateEvent{5.0, 1, 0, M});
  t.add(StateEvent{5.1, 1, 0, B});
  const auto v = judge_run(t, names(), kill_run(), kill_replies());
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.failures.at(0).rfind("two masters outside a fault window: VI_1 on d1 and d2", 0), 0u)
      << v.failures.at(0);
}

TEST(KillDrill, UnsettledAfterHealingFails) {
  DrillRun run = kill_run();
  run.unsettled = "split brain after healing: VI_1 is MASTER on d1 and d2";
  const auto v = judge_run(kill_timeline(), names(), run, kill_replies());
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.failures.back(), "split brain after healing: VI_1 is MASTER on d1 and d2");
}

TEST(LinkDrill, TheVictimMustReportFault) {
  DrillRun run = kill_run();
  run.kind = DrillKind::kLink;
  Timeline t = settled();
  t.add(StateEvent{10.3, 1, 0, M});
  t.add(VipEvent{10.3, 1, 0, true});
  t.add(StateEvent{10.31, 0, 0, B});  // BACKUP, not FAULT
  auto v = judge_run(t, names(), run, kill_replies());
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.failures.at(0), "d1 never reported FAULT for VI_1 after its interface went down");
  // And it counts as a master until it says otherwise: MASTER on both for 10 ms.
  Timeline t2 = settled();
  t2.add(StateEvent{10.3, 1, 0, M});
  t2.add(VipEvent{10.3, 1, 0, true});
  t2.add(StateEvent{10.31, 0, 0, State::kFault});
  v = judge_run(t2, names(), run, kill_replies());
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.failures.at(0).rfind("two masters of VI_1 during the fault", 0), 0u)
      << v.failures.at(0);
}

DrillRun preempt_run(bool expect) {
  DrillRun run;
  run.kind = DrillKind::kPreempt;
  run.victim = 0;  // d1 returns
  run.instances = {0};
  run.vip = 0;
  run.quiet_from = 5.0;
  run.fault_at = run.heal_at = 10.0;
  run.end_at = 12.0;
  run.expect_preempt = expect;
  return run;
}

// d1 stopped at 4, d2 MASTER since 4.1; d1 restarted at 10.
Timeline preempt_base() {
  Timeline t(1, 1);
  t.add(StateEvent{4.0, 0, 0, State::kDown});
  t.add(StateEvent{4.1, 1, 0, M});
  t.add(VipEvent{4.1, 1, 0, true});
  t.add(StateEvent{10.2, 0, 0, B});
  return t;
}

TEST(PreemptDrill, NopreemptHonouredPasses) {
  const auto v =
      judge_run(preempt_base(), names(), preempt_run(false), replies_every(9.0, 12.0, 0.002));
  EXPECT_TRUE(v.passed) << (v.failures.empty() ? "" : v.failures[0]);
  EXPECT_FALSE(v.vip_move);
}

TEST(PreemptDrill, ATakeoverAgainstTheIntentFailsWithTheReason) {
  // d2 returning (victim 1) takes VI_1 from d1, the intended master: the failure carries the
  // rule's sentence.
  Timeline t(1, 1);
  t.add(StateEvent{4.0, 1, 0, State::kDown});
  t.add(StateEvent{4.1, 0, 0, M});
  t.add(VipEvent{4.1, 0, 0, true});
  t.add(StateEvent{10.2, 1, 0, B});
  t.add(StateEvent{10.5, 1, 0, M});
  t.add(VipEvent{10.5, 1, 0, true});
  t.add(StateEvent{10.51, 0, 0, B});
  t.add(VipEvent{10.51, 0, 0, false});
  DrillRun run = preempt_run(false);
  run.victim = 1;
  run.preempt_why = "d1 is the intended master of VI_1 (state MASTER; d2 is state BACKUP)";
  const auto v = judge_run(t, names(), run, replies_every(9.0, 12.0, 0.002));
  EXPECT_FALSE(v.passed);
  ASSERT_EQ(v.failures.size(), 2u);
  EXPECT_EQ(v.failures[0],
            "d2 took VI_1 over on returning although it must not: d1 is the intended master of "
            "VI_1 (state MASTER; d2 is state BACKUP)");
  EXPECT_EQ(v.failures[1], "d1 left MASTER of VI_1 when d2 returned");
}

TEST(PreemptDrill, ATakeoverDespiteNopreemptFails) {
  Timeline t = preempt_base();
  t.add(StateEvent{10.5, 0, 0, M});
  t.add(VipEvent{10.5, 0, 0, true});
  t.add(StateEvent{10.51, 1, 0, B});
  t.add(VipEvent{10.51, 1, 0, false});
  const auto v = judge_run(t, names(), preempt_run(false), replies_every(9.0, 12.0, 0.002));
  EXPECT_FALSE(v.passed);
  ASSERT_EQ(v.failures.size(), 2u);
  EXPECT_EQ(v.failures[0].rfind("d1 took VI_1 over on returning although it must not preempt", 0),
            0u);
  EXPECT_EQ(v.failures[1], "d2 left MASTER of VI_1 when d1 returned");
  // The same timeline is what preemption must look like.
  const auto ok = judge_run(t, names(), preempt_run(true), replies_every(9.0, 12.0, 0.002));
  EXPECT_TRUE(ok.passed) << (ok.failures.empty() ? "" : ok.failures[0]);
  ASSERT_TRUE(ok.vip_move);
  EXPECT_NEAR(*ok.vip_move, 0.5, 1e-9);
}

TEST(PreemptDrill, NoTakeoverWhenExpectedFails) {
  const auto v =
      judge_run(preempt_base(), names(), preempt_run(true), replies_every(9.0, 12.0, 0.002));
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.failures.at(0), "d1 returned with the higher priority but never took VI_1 back");
}

TEST(PartitionDrill, ReportsSinceWhenAndHowLongBothWereMaster) {
  DrillRun run = kill_run();
  run.kind = DrillKind::kPartition;
  Timeline t = settled();
  t.add(StateEvent{10.4, 1, 0, M});
  t.add(StateEvent{11.02, 1, 0, B});
  const auto v = judge_run(t, names(), run, replies_every(9.0, 13.0, 0.002));
  EXPECT_TRUE(v.passed) << (v.failures.empty() ? "" : v.failures[0]);
  ASSERT_TRUE(v.two_masters_since);
  EXPECT_NEAR(*v.two_masters_since, 0.4, 1e-9);
  EXPECT_NEAR(*v.two_masters_for, 0.6, 1e-9);  // until the heal at 11
}

TEST(PartitionDrill, NoReplyAfterHealingFailsWithTheFix) {
  DrillRun run = kill_run();
  run.kind = DrillKind::kPartition;
  Timeline t = settled();
  t.add(StateEvent{10.4, 1, 0, M});
  t.add(StateEvent{11.02, 1, 0, B});
  // Replies until d2's gratuitous ARP at 10.4, none after: the client is stuck on d2.
  const auto v = judge_run(t, names(), run, replies_every(9.0, 10.4, 0.002));
  EXPECT_FALSE(v.passed);
  ASSERT_EQ(v.failures.size(), 1u);
  EXPECT_EQ(v.failures[0].rfind("the client got no reply from 192.0.2.200 after the partition "
                                "healed: its neighbour entry still points at the director that "
                                "stepped down (give the instances higher_prio_send_advert",
                                0),
            0u)
      << v.failures[0];
}

TEST(PartitionDrill, NoSplitFails) {
  DrillRun run = kill_run();
  run.kind = DrillKind::kPartition;
  const auto v = judge_run(settled(), names(), run, replies_every(9.0, 13.0, 0.002));
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.failures.at(0), "the partition never split VI_1: it was MASTER on one director only");
}

DrillRun reload_run() {
  DrillRun run = kill_run();
  run.kind = DrillKind::kReload;
  run.reloads = {5, 4};
  return run;
}

TEST(ReloadDrill, NothingChangesAndEachDaemonReloadedPasses) {
  const auto v = judge_run(settled(), names(), reload_run(), replies_every(9.0, 13.0, 0.002));
  EXPECT_TRUE(v.passed) << (v.failures.empty() ? "" : v.failures[0]);
  EXPECT_FALSE(v.vip_move);
  ASSERT_TRUE(v.outage);
  EXPECT_NEAR(*v.outage, 0.002, 1e-6);
}

TEST(ReloadDrill, AStateLineOrAVipMoveAfterTheFirstSighupFails) {
  Timeline t = settled();
  t.add(StateEvent{10.5, 0, 0, B});  // d1 dropped to BACKUP: a reload restarted VRRP
  t.add(StateEvent{10.6, 0, 0, M});  // counted once per director and instance
  t.add(VipEvent{10.5, 0, 0, false});
  t.add(VipEvent{10.6, 0, 0, true});
  const auto v = judge_run(t, names(), reload_run(), replies_every(9.0, 13.0, 0.002));
  EXPECT_FALSE(v.passed);
  ASSERT_EQ(v.failures.size(), 2u);
  EXPECT_EQ(v.failures[0],
            "d1 went BACKUP for VI_1 500.0 ms after the first SIGHUP: a reload must not change a "
            "VRRP state");
  EXPECT_EQ(v.failures[1],
            "192.0.2.200 was removed from d1 500.0 ms after the first SIGHUP: a "
            "reload must not move a VIP");
}

TEST(ReloadDrill, ADaemonThatNeverReloadedFails) {
  DrillRun run = reload_run();
  run.reloads = {3, 0};
  const auto v = judge_run(settled(), names(), run, replies_every(9.0, 13.0, 0.002));
  EXPECT_FALSE(v.passed);
  ASSERT_EQ(v.failures.size(), 1u);
  EXPECT_EQ(v.failures[0], "d2 logged no completed reload after 5 SIGHUPs");
}

TEST(LossDrill, NothingChangesPassesAStateLineFailsNoDropFails) {
  DrillRun run = kill_run();
  run.kind = DrillKind::kLoss;
  run.adverts_dropped = 10;
  const auto ok = judge_run(settled(), names(), run, replies_every(9.0, 13.0, 0.002));
  EXPECT_TRUE(ok.passed) << (ok.failures.empty() ? "" : ok.failures[0]);
  EXPECT_FALSE(ok.vip_move);

  Timeline t = settled();
  t.add(StateEvent{10.4, 1, 0, M});  // d2 declared d1 down: a spurious takeover
  const auto spurious = judge_run(t, names(), run, replies_every(9.0, 13.0, 0.002));
  EXPECT_FALSE(spurious.passed);
  ASSERT_EQ(spurious.failures.size(), 1u);
  EXPECT_EQ(spurious.failures[0],
            "d2 went MASTER for VI_1 400.0 ms after the loss began: losing one advert in two "
            "must not change a VRRP state");

  run.adverts_dropped = 0;
  const auto no_loss = judge_run(settled(), names(), run, replies_every(9.0, 13.0, 0.002));
  EXPECT_FALSE(no_loss.passed);
  ASSERT_EQ(no_loss.failures.size(), 1u);
  EXPECT_EQ(no_loss.failures[0], "nftables dropped none of d1's adverts: the loss never happened");
}

TEST(LossDrill, SumsTheCountersOfAnNftListing) {
  EXPECT_EQ(nft_counted_packets(
                "table inet vigil_lab_loss {\n\tchain out {\n"
                "\t\toifname \"eth0\" meta l4proto vrrp @th,8,8 0x33 numgen inc mod 2 0 counter "
                "packets 11 bytes 440 drop\n"
                "\t\toifname \"eth1\" meta l4proto vrrp @th,8,8 0x34 numgen inc mod 2 0 counter "
                "packets 9 bytes 360 drop\n\t}\n}\n"),
            20);
  EXPECT_FALSE(nft_counted_packets("table inet vigil_lab_loss {\n}\n"));
  EXPECT_FALSE(nft_counted_packets("counter packets x"));
}

TEST(ReloadDrill, RecognisesEachDaemonsReloadCompleteLine) {
  EXPECT_TRUE(is_reload_complete(
      "[2026-12-06 21:05:55.123] [daemon] [info] [vigild] configuration reloaded"));
  EXPECT_TRUE(is_reload_complete("Sun Dec  6 21:05:58 2026: Reload complete\r"));
  EXPECT_FALSE(is_reload_complete("[vigild] SIGHUP received: reloading /etc/vigil/d1.conf"));
  EXPECT_FALSE(is_reload_complete("Sun Dec  6 21:05:58 2026: Reloading ..."));
  EXPECT_FALSE(
      is_reload_complete("[vigild] reload refused: d1.conf has errors; the running "
                         "configuration stays"));
}

TEST(Distribution, NearestRank) {
  EXPECT_FALSE(distribution({}));
  auto d = distribution({0.3, 0.1, 0.2});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->count, 3u);
  EXPECT_DOUBLE_EQ(d->median, 0.2);
  EXPECT_DOUBLE_EQ(d->p99, 0.3);
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i)
    hundred.push_back(i);
  d = distribution(hundred);
  EXPECT_DOUBLE_EQ(d->median, 50);
  EXPECT_DOUBLE_EQ(d->p99, 99);
}

TEST(Drills, NamesRoundTrip) {
  for (DrillKind kind : kAllDrills)
    EXPECT_EQ(parse_drill(to_string(kind)), kind);
  EXPECT_FALSE(parse_drill("reboot"));
}

}  // namespace
}  // namespace vigil::lab
