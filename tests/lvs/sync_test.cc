#include "lvs/sync.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "fakes/fake_datapath.h"
#include "fakes/fake_scheduler.h"
#include "lvs/sync_test_util.h"

namespace vigil::lvs {
namespace {

using datapath::SyncDaemonConfig;
using datapath::SyncDaemonState;
using testing::states;
using testing::sync_config;
using testing::SyncDatapath;
using vigil::testing::FakeScheduler;

constexpr auto kMaster = SyncDaemonState::kMaster;
constexpr auto kBackup = SyncDaemonState::kBackup;

SyncDaemonConfig daemon(SyncDaemonState state, std::string interface = "eth1",
                        uint8_t sync_id = 51) {
  SyncDaemonConfig c;
  c.state = state;
  c.interface = std::move(interface);
  c.sync_id = sync_id;
  return c;
}

// What the kernel reports for `requested`: the payload size from a 1500-byte MTU, the default
// group (as FakeDatapath does).
SyncDaemonConfig reported(SyncDaemonConfig requested) {
  if (requested.max_length == 0) requested.max_length = 1472;
  if (!requested.group) requested.group = IpAddress::v4(0xe0000051);
  return requested;
}

// --- the kernel request ---------------------------------------------------------------------

TEST(SyncDaemonConfig, CarriesEveryOptionAndKeepsTheKernelDefaultsForUnsetOnes) {
  auto config = sync_config();
  auto plain = sync_daemon_config(config, kBackup);
  EXPECT_EQ(plain.state, kBackup);
  EXPECT_EQ(plain.interface, "eth1");
  EXPECT_EQ(plain.sync_id, 51);
  EXPECT_EQ(plain.max_length, 0);  // from the MTU
  EXPECT_EQ(plain.port, 8848);
  EXPECT_EQ(plain.ttl, 1);
  EXPECT_FALSE(plain.group);  // 224.0.0.81

  config.max_length = 1400;
  config.port = 8849;
  config.ttl = 2;
  config.group = IpAddress::v4(0xe0000052);
  auto full = sync_daemon_config(config, kMaster);
  EXPECT_EQ(full.state, kMaster);
  EXPECT_EQ(full.max_length, 1400);
  EXPECT_EQ(full.port, 8849);
  EXPECT_EQ(full.ttl, 2);
  EXPECT_EQ(full.group->to_string(), "224.0.0.82");
}

// --- which daemons run ----------------------------------------------------------------------

struct DesiredCase {
  const char* name;
  bool configured;
  std::string instance;  // empty: lvs_sync_daemon without an instance
  SyncInstanceState state;
  SyncSides sides;
  std::vector<SyncDaemonState> expected;
};

TEST(DesiredSyncDaemons, FollowKeepalived) {
  constexpr SyncSides kBoth{.vrrp = true, .lvs = true};
  constexpr SyncSides kVrrpOnly{.vrrp = true, .lvs = false};      // -P
  constexpr SyncSides kCheckersOnly{.vrrp = false, .lvs = true};  // -C
  const std::vector<DesiredCase> cases = {
      {"not configured", false, "VI_1", SyncInstanceState::kMaster, kBoth, {}},
      {"INIT: backup", true, "VI_1", SyncInstanceState::kInit, kBoth, {kBackup}},
      {"BACKUP: backup", true, "VI_1", SyncInstanceState::kBackup, kBoth, {kBackup}},
      {"MASTER: master", true, "VI_1", SyncInstanceState::kMaster, kBoth, {kMaster}},
      {"FAULT: backup", true, "VI_1", SyncInstanceState::kFault, kBoth, {kBackup}},
      {"STOPPED: none", true, "VI_1", SyncInstanceState::kStopped, kBoth, {}},
      {"-P, MASTER: master", true, "VI_1", SyncInstanceState::kMaster, kVrrpOnly, {kMaster}},
      {"-P, BACKUP: backup", true, "VI_1", SyncInstanceState::kBackup, kVrrpOnly, {kBackup}},
      {"-C: VRRP does not run", true, "VI_1", SyncInstanceState::kMaster, kCheckersOnly, {}},
      {"no instance: both", true, "", SyncInstanceState::kInit, kBoth, {kMaster, kBackup}},
      {"no instance, -C: both",
       true,
       "",
       SyncInstanceState::kInit,
       kCheckersOnly,
       {kMaster, kBackup}},
      {"no instance, -P: none", true, "", SyncInstanceState::kInit, kVrrpOnly, {}},
  };
  for (const auto& c : cases) {
    std::optional<config::LvsSyncDaemon> config;
    if (c.configured) config = sync_config(c.instance);
    const auto desired = desired_sync_daemons(config, c.state, c.sides);
    EXPECT_EQ(states(desired), c.expected) << c.name;
    for (const auto& d : desired)
      EXPECT_EQ(d, sync_daemon_config(*config, d.state)) << c.name;
  }
}

TEST(SyncInstanceState, VrrpStatesMapAndInitializeMeansStopped) {
  EXPECT_EQ(sync_instance_state(vrrp::State::kMaster), SyncInstanceState::kMaster);
  EXPECT_EQ(sync_instance_state(vrrp::State::kBackup), SyncInstanceState::kBackup);
  EXPECT_EQ(sync_instance_state(vrrp::State::kFault), SyncInstanceState::kFault);
  EXPECT_EQ(sync_instance_state(vrrp::State::kInitialize), SyncInstanceState::kStopped);
}

// --- matching what the kernel reports -------------------------------------------------------

TEST(ReportedMatches, UnsetOptionsMatchTheKernelsChoice) {
  const auto wanted = daemon(kBackup);
  EXPECT_TRUE(reported_matches(wanted, reported(wanted)));
  auto other_group = reported(wanted);
  other_group.group = IpAddress::v4(0xe0000052);
  EXPECT_FALSE(reported_matches(wanted, other_group));
  auto other_port = reported(wanted);
  other_port.port = 8849;
  EXPECT_FALSE(reported_matches(wanted, other_port));
  auto other_id = reported(wanted);
  other_id.sync_id = 52;
  EXPECT_FALSE(reported_matches(wanted, other_id));
  EXPECT_FALSE(reported_matches(wanted, reported(daemon(kBackup, "eth2"))));
  EXPECT_FALSE(reported_matches(wanted, reported(daemon(kMaster))));

  auto sized = wanted;
  sized.max_length = 1400;
  EXPECT_FALSE(reported_matches(sized, reported(wanted)));  // 1472 from the MTU
  EXPECT_TRUE(reported_matches(sized, reported(sized)));
}

// --- the plan -------------------------------------------------------------------------------

struct PlanCase {
  const char* name;
  SyncPlanInput input;
  std::vector<SyncOperation> operations;
  std::vector<SyncDaemonState> kept;
};

TEST(PlanSyncDaemons, Table) {
  auto port_8849 = daemon(kBackup);
  port_8849.port = 8849;
  const std::vector<PlanCase> cases = {
      {"nothing running: start the backup",
       {.desired = {daemon(kBackup)}, .managed = true},
       {StartSyncDaemon{daemon(kBackup)}},
       {}},
      {"BACKUP -> MASTER: stop the backup, then start the master",
       {.desired = {daemon(kMaster)},
        .managed = true,
        .running = {reported(daemon(kBackup))},
        .owned = {{kBackup, daemon(kBackup)}}},
       {StopSyncDaemon{kBackup}, StartSyncDaemon{daemon(kMaster)}},
       {}},
      {"MASTER -> BACKUP: stop the master, then start the backup",
       {.desired = {daemon(kBackup)},
        .managed = true,
        .running = {reported(daemon(kMaster))},
        .owned = {{kMaster, daemon(kMaster)}}},
       {StopSyncDaemon{kMaster}, StartSyncDaemon{daemon(kBackup)}},
       {}},
      {"ours and unchanged: nothing",
       {.desired = {daemon(kMaster)},
        .managed = true,
        .running = {reported(daemon(kMaster))},
        .owned = {{kMaster, daemon(kMaster)}}},
       {},
       {}},
      {"ours, reload changed the port: restart it",
       {.desired = {port_8849},
        .managed = true,
        .running = {reported(daemon(kBackup))},
        .owned = {{kBackup, daemon(kBackup)}}},
       {StopSyncDaemon{kBackup}, StartSyncDaemon{port_8849}},
       {}},
      {"left by an earlier vigild with the wanted options: kept",
       {.desired = {daemon(kBackup)}, .managed = true, .running = {reported(daemon(kBackup))}},
       {},
       {kBackup}},
      {"leftover master while BACKUP: stopped, backup started",
       {.desired = {daemon(kBackup)}, .managed = true, .running = {reported(daemon(kMaster))}},
       {StopSyncDaemon{kMaster}, StartSyncDaemon{daemon(kBackup)}},
       {}},
      {"leftover with another sync id: replaced",
       {.desired = {daemon(kBackup)},
        .managed = true,
        .running = {reported(daemon(kBackup, "eth1", 9))}},
       {StopSyncDaemon{kBackup}, StartSyncDaemon{daemon(kBackup)}},
       {}},
      {"not configured: a daemon vigil did not start is left",
       {.running = {reported(daemon(kMaster)), reported(daemon(kBackup))}},
       {},
       {}},
      {"configuration removed: vigil's daemon stops, the other stays",
       {.running = {reported(daemon(kMaster)), reported(daemon(kBackup))},
        .owned = {{kBackup, daemon(kBackup)}}},
       {StopSyncDaemon{kBackup}},
       {}},
      {"instance stopped: stop vigil's daemon",
       {.managed = true,
        .running = {reported(daemon(kMaster))},
        .owned = {{kMaster, daemon(kMaster)}}},
       {StopSyncDaemon{kMaster}},
       {}},
      {"no instance: both started, master first",
       {.desired = {daemon(kMaster), daemon(kBackup)}, .managed = true},
       {StartSyncDaemon{daemon(kMaster)}, StartSyncDaemon{daemon(kBackup)}},
       {}},
      {"ours stopped behind vigil's back (not running): started again",
       {.desired = {daemon(kMaster)}, .managed = true, .owned = {{kMaster, daemon(kMaster)}}},
       {StartSyncDaemon{daemon(kMaster)}},
       {}},
  };
  for (const auto& c : cases) {
    const auto plan = plan_sync_daemons(c.input);
    EXPECT_EQ(plan.operations, c.operations) << c.name;
    EXPECT_EQ(states(plan.kept), c.kept) << c.name;
  }
}

TEST(SyncOperation, DescribesItself) {
  auto c = daemon(kMaster, "eth1", 7);
  EXPECT_EQ(to_string(SyncOperation{StartSyncDaemon{c}}),
            "start master sync daemon on eth1 (sync id 7, port 8848, ttl 1)");
  c.max_length = 1400;
  c.group = IpAddress::v4(0xe0000052);
  EXPECT_EQ(to_string(SyncOperation{StartSyncDaemon{c}}),
            "start master sync daemon on eth1 (sync id 7, maxlen 1400, port 8848, ttl 1, group "
            "224.0.0.82)");
  EXPECT_EQ(to_string(SyncOperation{StopSyncDaemon{kBackup}}), "stop backup sync daemon");
}

// --- the controller over a fake kernel ------------------------------------------------------

class LvsSyncControllerTest : public ::testing::Test {
 protected:
  SyncDatapath kernel;
  FakeScheduler scheduler;
  LvsSyncController controller{kernel, scheduler};

  // A state reported by the VRRP thread, then the main loop's turn.
  void report(const std::string& instance, SyncInstanceState state) {
    controller.instance_state(instance, state);
    scheduler.run_ready();
  }
};

TEST_F(LvsSyncControllerTest, FollowsTheInstanceThroughItsStates) {
  controller.configure(sync_config());
  EXPECT_EQ(kernel.running(), (std::vector{kBackup}));  // INIT: backup at once
  EXPECT_EQ(*kernel.running(kBackup), reported(sync_daemon_config(sync_config(), kBackup)));

  report("VI_1", SyncInstanceState::kBackup);
  EXPECT_EQ(kernel.running(), (std::vector{kBackup}));
  EXPECT_EQ(kernel.starts, 1);  // nothing new for BACKUP after INIT

  report("VI_1", SyncInstanceState::kMaster);
  EXPECT_EQ(kernel.running(), (std::vector{kMaster}));
  EXPECT_EQ(kernel.running(kMaster)->sync_id, 51);

  report("VI_1", SyncInstanceState::kFault);
  EXPECT_EQ(kernel.running(), (std::vector{kBackup}));

  report("VI_1", SyncInstanceState::kStopped);
  EXPECT_TRUE(kernel.running().empty());
  EXPECT_EQ(kernel.starts, 3);
  EXPECT_EQ(kernel.stops, 3);
  EXPECT_EQ(controller.failures(), 0u);
}

TEST_F(LvsSyncControllerTest, OtherInstancesDoNotMatter) {
  controller.configure(sync_config());
  const int lists = kernel.lists;
  report("VI_2", SyncInstanceState::kMaster);
  EXPECT_EQ(kernel.lists, lists);  // no pass at all
  EXPECT_EQ(kernel.running(), (std::vector{kBackup}));
}

TEST_F(LvsSyncControllerTest, StatesReportedTogetherMakeOneChange) {
  controller.configure(sync_config());
  // A reload restarting a MASTER instance reports BACKUP then MASTER in one VRRP handler.
  controller.instance_state("VI_1", SyncInstanceState::kBackup);
  controller.instance_state("VI_1", SyncInstanceState::kMaster);
  scheduler.run_ready();
  EXPECT_EQ(kernel.running(), (std::vector{kMaster}));
  EXPECT_EQ(kernel.starts, 2);  // the first backup, then the master: no backup in between
  EXPECT_EQ(kernel.stops, 1);
}

TEST_F(LvsSyncControllerTest, ReloadRestartsOnlyWhenTheOptionsChange) {
  controller.configure(sync_config());
  report("VI_1", SyncInstanceState::kMaster);
  const int starts = kernel.starts;
  const int stops = kernel.stops;

  auto same = sync_config();
  same.loc = {.file = 1, .line = 7, .column = 3};  // moved in the file: not a change
  controller.configure(same);
  EXPECT_EQ(kernel.starts, starts);
  EXPECT_EQ(kernel.stops, stops);

  auto changed = sync_config();
  changed.ttl = 3;
  controller.configure(changed);
  EXPECT_EQ(kernel.starts, starts + 1);
  EXPECT_EQ(kernel.stops, stops + 1);
  EXPECT_EQ(kernel.running(kMaster)->ttl, 3);  // still master, new options
  EXPECT_EQ(controller.owned().at(kMaster).ttl, 3);
}

TEST_F(LvsSyncControllerTest, ReloadFollowingAnotherInstanceUsesItsKnownState) {
  controller.configure(sync_config());
  report("VI_2", SyncInstanceState::kMaster);  // known, not followed yet
  controller.configure(sync_config("VI_2"));
  EXPECT_EQ(kernel.running(), (std::vector{kMaster}));
}

TEST_F(LvsSyncControllerTest, ReloadRemovingTheSettingStopsVigilsDaemon) {
  controller.configure(sync_config());
  controller.configure(std::nullopt);
  EXPECT_TRUE(kernel.running().empty());
  EXPECT_TRUE(controller.owned().empty());
}

TEST_F(LvsSyncControllerTest, StopStopsWhatVigilStartedAndLeavesOthers) {
  controller.configure(sync_config());
  report("VI_1", SyncInstanceState::kMaster);
  controller.stop();
  EXPECT_TRUE(kernel.running().empty());
  // After stop, nothing moves any more.
  report("VI_1", SyncInstanceState::kBackup);
  EXPECT_TRUE(kernel.running().empty());
}

TEST_F(LvsSyncControllerTest, UnconfiguredLeavesAForeignDaemonAloneEvenAtStop) {
  ASSERT_TRUE(kernel.fake.start_sync_daemon(daemon(kBackup, "eth9", 3)));
  controller.configure(std::nullopt);
  controller.stop();
  EXPECT_EQ(kernel.running(), (std::vector{kBackup}));
  EXPECT_EQ(kernel.stops, 0);
}

TEST_F(LvsSyncControllerTest, KeepsAMatchingLeftoverAndStopsItAtStop) {
  ASSERT_TRUE(kernel.fake.start_sync_daemon(sync_daemon_config(sync_config(), kBackup)));
  controller.configure(sync_config());
  EXPECT_EQ(kernel.starts, 0);
  EXPECT_EQ(kernel.stops, 0);
  ASSERT_TRUE(controller.owned().contains(kBackup));
  controller.stop();
  EXPECT_TRUE(kernel.running().empty());
}

TEST_F(LvsSyncControllerTest, ReplacesAMismatchedLeftover) {
  ASSERT_TRUE(kernel.fake.start_sync_daemon(daemon(kMaster, "eth1", 9)));
  controller.configure(sync_config());
  EXPECT_EQ(kernel.running(), (std::vector{kBackup}));
}

TEST_F(LvsSyncControllerTest, AFailedStartIsRetriedLater) {
  kernel.start_failures = 2;  // e.g. the interface is not there yet
  controller.configure(sync_config());
  EXPECT_TRUE(kernel.running().empty());
  EXPECT_EQ(controller.failures(), 1u);
  scheduler.advance(std::chrono::seconds(9));
  EXPECT_EQ(kernel.starts, 1);
  scheduler.advance(std::chrono::seconds(1));
  EXPECT_EQ(kernel.starts, 2);  // failed again
  EXPECT_TRUE(kernel.running().empty());
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(kernel.running(), (std::vector{kBackup}));
  EXPECT_EQ(controller.failures(), 2u);
  EXPECT_EQ(scheduler.pending(), 0u);  // no more retries once it runs
}

TEST_F(LvsSyncControllerTest, AFailedListingIsRetriedLater) {
  kernel.list_failures = 1;
  controller.configure(sync_config());
  EXPECT_TRUE(kernel.running().empty());
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(kernel.running(), (std::vector{kBackup}));
}

TEST_F(LvsSyncControllerTest, ADaemonStoppedBehindVigilsBackIsStartedAgainOnTheNextPass) {
  controller.configure(sync_config());
  ASSERT_TRUE(kernel.fake.stop_sync_daemon(kBackup));  // ipvsadm --stop-daemon backup
  report("VI_1", SyncInstanceState::kBackup);
  EXPECT_EQ(kernel.running(), (std::vector{kBackup}));
}

TEST(LvsSyncControllerSides, WithoutAnInstanceBothRunAndCheckersOnlyDoesNotTouchInstanceBound) {
  SyncDatapath kernel;
  FakeScheduler scheduler;
  LvsSyncController both{kernel, scheduler};
  both.configure(sync_config(""));
  EXPECT_EQ(kernel.running(), (std::vector{kMaster, kBackup}));
  both.stop();
  EXPECT_TRUE(kernel.running().empty());

  // -C with an instance-bound daemon: the VRRP side's business, even a leftover stays.
  ASSERT_TRUE(kernel.fake.start_sync_daemon(daemon(kMaster)));
  LvsSyncController checkers{kernel, scheduler, {.sides = {.vrrp = false, .lvs = true}}};
  checkers.configure(sync_config());
  checkers.stop();
  EXPECT_EQ(kernel.running(), (std::vector{kMaster}));
}

}  // namespace
}  // namespace vigil::lvs
