// Two (or three) directors on a fake segment in virtual time: the scenarios of the namespace
// suite, with exact timings.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "fakes/fake_scheduler.h"
#include "vrrp/fake_host.h"
#include "vrrp/instance.h"
#include "vrrp/sync_group_link.h"

namespace vigil::vrrp {
namespace {

using testing::FakeNetwork;
using testing::FakeVipManager;
using Kind = FakeVipManager::Kind;

IpAddress ip(std::string_view text) {
  return *IpAddress::parse(text);
}

InstanceConfig director_config(std::string_view address, uint8_t priority,
                               Duration advert_interval = 1s, uint8_t version = 3) {
  return InstanceConfig{
      .name = "VI_1",
      .interface = "eth0",
      .vrid = 51,
      .priority = priority,
      .version = version,
      .advert_interval = advert_interval,
      .primary_address = ip(address),
      .virtual_addresses = {{.prefix = *IpPrefix::parse("10.0.0.100/24")}},
  };
}

// One vigild: its host on the segment, its addresses, its instance.
class Director {
 public:
  Director(vigil::testing::FakeScheduler& scheduler, FakeNetwork& network, InstanceConfig config)
      : config(std::move(config)),
        host(network.add_host(std::string(this->config.primary_address.to_string()),
                              this->config.primary_address)),
        vips(scheduler),
        scheduler_(scheduler) {}

  void start() {
    host.up = true;
    instance = std::make_unique<Instance>(config, scheduler_, host, vips,
                                          [this](const InstanceConfig&, const Notify& n, uint8_t) {
                                            transitions.push_back({scheduler_.now(), n});
                                          });
    host.receiver.add(*instance);
    instance->start();
  }
  // SIGKILL: nothing more is sent or received.
  void kill() {
    host.receiver.remove(*instance);
    instance.reset();
    host.up = false;
  }
  // SIGTERM.
  void stop() {
    instance->stop();
    kill();
  }
  [[nodiscard]] bool is_master() const { return instance && instance->state() == State::kMaster; }
  [[nodiscard]] State state() const { return instance ? instance->state() : State::kInitialize; }
  // When this director last became master.
  [[nodiscard]] std::optional<TimePoint> became_master() const {
    for (auto it = transitions.rbegin(); it != transitions.rend(); ++it) {
      if (it->second.to == State::kMaster) return it->first;
    }
    return std::nullopt;
  }

  InstanceConfig config;
  FakeNetwork::Host& host;
  FakeVipManager vips;
  std::unique_ptr<Instance> instance;
  std::vector<std::pair<TimePoint, Notify>> transitions;

 private:
  vigil::testing::FakeScheduler& scheduler_;
};

class Simulation : public ::testing::Test {
 protected:
  vigil::testing::FakeScheduler scheduler;
  FakeNetwork network{scheduler};  // 100 us latency
  const TimePoint t0 = scheduler.now();

  static int masters(const std::vector<Director*>& directors) {
    int n = 0;
    for (const auto* d : directors)
      n += d->is_master() ? 1 : 0;
    return n;
  }
};

TEST_F(Simulation, InitialElectionHigherPriorityWins) {
  Director a(scheduler, network, director_config("10.0.0.1", 150));
  Director b(scheduler, network, director_config("10.0.0.2", 100));
  a.start();
  b.start();
  scheduler.advance(10s);
  EXPECT_TRUE(a.is_master());
  EXPECT_EQ(b.state(), State::kBackup);
  // 3 s + (256 - 150) * 1 s / 256 = 3414062.5 us, truncated.
  EXPECT_EQ(a.became_master(), t0 + 3'414'062us);
  EXPECT_EQ(a.vips.present.size(), 1U);
  EXPECT_TRUE(b.vips.present.empty());
  EXPECT_EQ(b.transitions.size(), 1U);  // INIT -> BACKUP only
}

struct FailoverCase {
  const char* name;
  Duration advert_interval;
  uint8_t version;
  Duration backup_master_down;  // Master_Down_Interval of the priority-100 backup
  Duration backup_skew;
};

class Failover : public Simulation, public ::testing::WithParamInterface<FailoverCase> {};

TEST_P(Failover, MasterKilledBackupTakesOverAtExactlyMasterDownInterval) {
  const auto& c = GetParam();
  Director a(scheduler, network, director_config("10.0.0.1", 150, c.advert_interval, c.version));
  Director b(scheduler, network, director_config("10.0.0.2", 100, c.advert_interval, c.version));
  a.start();
  b.start();
  scheduler.advance(5 * c.backup_master_down);
  ASSERT_TRUE(a.is_master());
  // Kill just after an advert has reached the backup.
  scheduler.advance(c.advert_interval / 2);
  a.kill();
  scheduler.advance(2 * c.backup_master_down);
  ASSERT_TRUE(b.is_master());
  // Adverts already on the wire when A died still arrive; the last one starts the countdown.
  const TimePoint last_heard = b.host.received.back();
  EXPECT_EQ(b.became_master(), last_heard + c.backup_master_down);
  EXPECT_EQ(b.vips.times(Kind::kAdd).front(), last_heard + c.backup_master_down);
}

TEST_P(Failover, MasterStoppedBackupTakesOverAfterSkewTime) {
  const auto& c = GetParam();
  Director a(scheduler, network, director_config("10.0.0.1", 150, c.advert_interval, c.version));
  Director b(scheduler, network, director_config("10.0.0.2", 100, c.advert_interval, c.version));
  a.start();
  b.start();
  scheduler.advance(5 * c.backup_master_down + c.advert_interval / 2);
  ASSERT_TRUE(a.is_master());
  const TimePoint stopped = scheduler.now();
  a.stop();
  EXPECT_TRUE(a.vips.present.empty());
  scheduler.advance(2 * c.backup_master_down);
  ASSERT_TRUE(b.is_master());
  EXPECT_EQ(b.became_master(), stopped + network.latency() + c.backup_skew);
}

INSTANTIATE_TEST_SUITE_P(Intervals, Failover,
                         ::testing::Values(FailoverCase{"v2_1s", 1s, 2, 3'609'375us, 609'375us},
                                           FailoverCase{"v3_1s", 1s, 3, 3'609'375us, 609'375us},
                                           FailoverCase{"v3_100ms", 100ms, 3, 360'937us, 60'937us},
                                           FailoverCase{"v3_10ms", 10ms, 3, 36'093us, 6'093us}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(Simulation, PartitionMakesTwoMastersHealingLeavesOneWithinOneAdvertInterval) {
  Director a(scheduler, network, director_config("10.0.0.1", 150));
  Director b(scheduler, network, director_config("10.0.0.2", 100));
  a.start();
  b.start();
  scheduler.advance(5s);
  ASSERT_EQ(masters({&a, &b}), 1);

  network.partition(a.host, b.host);
  scheduler.advance(5s);
  EXPECT_TRUE(a.is_master());
  EXPECT_TRUE(b.is_master());
  EXPECT_EQ(b.vips.present.size(), 1U);

  network.heal();
  const TimePoint healed = scheduler.now();
  scheduler.advance(1s + network.latency());
  EXPECT_TRUE(a.is_master());
  EXPECT_EQ(b.state(), State::kBackup);
  EXPECT_TRUE(b.vips.present.empty());
  ASSERT_FALSE(b.transitions.empty());
  EXPECT_EQ(b.transitions.back().second.reason, TransitionReason::kHigherPriorityAdvert);
  EXPECT_LE(b.transitions.back().first, healed + 1s + network.latency());
  // And it stays that way.
  scheduler.advance(30s);
  EXPECT_TRUE(a.is_master());
  EXPECT_EQ(b.state(), State::kBackup);
}

TEST_F(Simulation, LowerPriorityMasterHearingHigherOneAfterHealIsReassertedAgainst) {
  // B's advert reaches A first after healing: A re-asserts at once, B steps down on hearing it
  // instead of waiting for A's next scheduled advert.
  Director a(scheduler, network, director_config("10.0.0.1", 150));
  Director b(scheduler, network, director_config("10.0.0.2", 100));
  a.start();
  b.start();
  scheduler.advance(5s);
  network.partition(a.host, b.host);
  scheduler.advance(6s);
  ASSERT_EQ(masters({&a, &b}), 2);
  // Heal just before B's next advert and well before A's.
  const auto b_next = b.instance->machine().deadline(TimerKind::kAdver);
  const auto a_next = a.instance->machine().deadline(TimerKind::kAdver);
  ASSERT_TRUE(b_next && a_next);
  ASSERT_LT(*b_next, *a_next) << "the scenario needs B to advertise first";
  scheduler.run_until(*b_next - 1us);
  network.heal();
  scheduler.run_until(*b_next + 2 * network.latency());
  EXPECT_TRUE(a.is_master());
  EXPECT_EQ(b.state(), State::kBackup);
  EXPECT_EQ(b.transitions.back().first, *b_next + 2 * network.latency());
}

TEST_F(Simulation, RestartedHigherPriorityDirectorPreemptsAfterMasterDownInterval) {
  Director a(scheduler, network, director_config("10.0.0.1", 150));
  Director b(scheduler, network, director_config("10.0.0.2", 100));
  a.start();
  b.start();
  scheduler.advance(5s);
  a.kill();
  scheduler.advance(5s);
  ASSERT_TRUE(b.is_master());

  const TimePoint restarted = scheduler.now();
  a.start();
  scheduler.advance(10s);
  EXPECT_TRUE(a.is_master());
  EXPECT_EQ(b.state(), State::kBackup);
  // A discards B's lower-priority adverts and takes over when its Master_Down_Timer runs out.
  EXPECT_EQ(a.became_master(), restarted + 3'414'062us);
  EXPECT_EQ(b.transitions.back().first, restarted + 3'414'062us + network.latency());
}

TEST_F(Simulation, NopreemptDirectorStaysBackupAfterRestart) {
  auto a_config = director_config("10.0.0.1", 150);
  a_config.preempt = false;
  Director a(scheduler, network, a_config);
  Director b(scheduler, network, director_config("10.0.0.2", 100));
  b.start();
  scheduler.advance(5s);
  ASSERT_TRUE(b.is_master());
  a.start();
  scheduler.advance(30s);
  EXPECT_EQ(a.state(), State::kBackup);
  EXPECT_TRUE(b.is_master());
}

TEST_F(Simulation, PreemptDelayHoldsBackPreemption) {
  auto a_config = director_config("10.0.0.1", 150);
  a_config.preempt_delay = 15s;
  Director a(scheduler, network, a_config);
  Director b(scheduler, network, director_config("10.0.0.2", 100));
  b.start();
  scheduler.advance(5s);
  const TimePoint started = scheduler.now();
  a.start();
  scheduler.advance(14s);
  EXPECT_EQ(a.state(), State::kBackup);
  scheduler.advance(2s);
  EXPECT_TRUE(a.is_master());
  EXPECT_EQ(a.became_master(), started + 15s);
  EXPECT_EQ(b.state(), State::kBackup);
}

TEST_F(Simulation, EqualPrioritiesHigherAddressWins) {
  Director a(scheduler, network, director_config("10.0.0.1", 100));
  Director b(scheduler, network, director_config("10.0.0.2", 100));
  a.start();
  b.start();
  scheduler.advance(10s);
  EXPECT_EQ(masters({&a, &b}), 1);
  EXPECT_TRUE(b.is_master());
}

TEST_F(Simulation, OwnerTakesOverAtOnce) {
  Director b(scheduler, network, director_config("10.0.0.2", 100));
  Director owner(scheduler, network, director_config("10.0.0.1", 255));
  b.start();
  scheduler.advance(5s);
  ASSERT_TRUE(b.is_master());
  const TimePoint started = scheduler.now();
  owner.start();
  EXPECT_TRUE(owner.is_master());
  scheduler.advance(network.latency());
  EXPECT_EQ(b.state(), State::kBackup);
  EXPECT_EQ(b.transitions.back().first, started + network.latency());
}

TEST_F(Simulation, FaultOnMasterHandsOverAfterSkewTime) {
  Director a(scheduler, network, director_config("10.0.0.1", 150));
  Director b(scheduler, network, director_config("10.0.0.2", 100));
  a.start();
  b.start();
  scheduler.advance(5s);
  const TimePoint faulted = scheduler.now();
  a.instance->handle(FaultRaised{});
  EXPECT_EQ(a.state(), State::kFault);
  scheduler.advance(5s);
  EXPECT_TRUE(b.is_master());
  EXPECT_EQ(b.became_master(), faulted + network.latency() + 609'375us);
  // Leaving fault, A waits as backup and then preempts B.
  const TimePoint cleared = scheduler.now();
  a.instance->handle(FaultCleared{});
  scheduler.advance(5s);
  EXPECT_TRUE(a.is_master());
  EXPECT_EQ(a.became_master(), cleared + 3'414'062us);
}

TEST_F(Simulation, FailingTrackedScriptLowersPriorityAndBackupTakesOver) {
  auto a_config = director_config("10.0.0.1", 150);
  a_config.tracked = {{.name = "script chk_nginx", .weight = -60}};
  Director a(scheduler, network, a_config);
  Director b(scheduler, network, director_config("10.0.0.2", 100));
  a.start();
  b.start();
  scheduler.advance(5s + 500ms);
  ASSERT_TRUE(a.is_master());
  const TimePoint last_accepted = b.host.received.back();  // priority 150

  a.instance->tracked_changed("script chk_nginx", false);
  EXPECT_EQ(a.instance->machine().priority(), 90);
  scheduler.advance(5s);
  // B discards the priority-90 adverts and takes over when its Master_Down_Timer runs out; A
  // hears B's first advert and steps down.
  EXPECT_TRUE(b.is_master());
  EXPECT_EQ(b.became_master(), last_accepted + 3'609'375us);
  EXPECT_EQ(a.state(), State::kBackup);
  EXPECT_EQ(a.transitions.back().first, last_accepted + 3'609'375us + network.latency());

  // The script recovers: A (150 again) preempts B after its own Master_Down_Interval.
  const TimePoint recovered = scheduler.now();
  a.instance->tracked_changed("script chk_nginx", true);
  scheduler.advance(5s);
  EXPECT_TRUE(a.is_master());
  EXPECT_EQ(b.state(), State::kBackup);
  EXPECT_LE(*a.became_master(), recovered + 3'414'062us);
}

TEST_F(Simulation, WeightZeroTrackedInterfaceDownIsFault) {
  auto a_config = director_config("10.0.0.1", 150);
  a_config.tracked = {{.name = "interface eth1", .weight = 0}};
  Director a(scheduler, network, a_config);
  Director b(scheduler, network, director_config("10.0.0.2", 100));
  a.start();
  b.start();
  scheduler.advance(5s);
  ASSERT_TRUE(a.is_master());
  const TimePoint down = scheduler.now();
  EXPECT_TRUE(a.instance->tracked_changed("interface eth1", false).fault_changed);
  EXPECT_EQ(a.state(), State::kFault);
  EXPECT_TRUE(a.vips.present.empty());
  scheduler.advance(2s);
  EXPECT_TRUE(b.is_master());
  EXPECT_EQ(b.became_master(), down + network.latency() + 609'375us);  // priority 0 was sent
}

TEST_F(Simulation, TrackedObjectDownAtStartStartsInFault) {
  auto a_config = director_config("10.0.0.1", 150);
  a_config.tracked = {{.name = "file /run/maint", .weight = 0, .initially_up = false}};
  Director a(scheduler, network, a_config);
  a.start();
  EXPECT_EQ(a.state(), State::kFault);
  scheduler.advance(10s);
  EXPECT_EQ(a.state(), State::kFault);
  EXPECT_TRUE(a.host.sent.empty());
}

// One director with VI_1 and VI_2 in a sync group (the link is wired through the notifier,
// as the daemon does).
struct GroupedDirector {
  GroupedDirector(vigil::testing::FakeScheduler& scheduler, FakeNetwork& network,
                  std::string_view address, uint8_t priority)
      : host(network.add_host(std::string(address), ip(address))), vips(scheduler) {
    for (uint8_t vrid : {51, 52}) {
      auto config = director_config(address, priority);
      config.name = vrid == 51 ? "VI_1" : "VI_2";
      config.vrid = vrid;
      config.virtual_addresses = {
          {.prefix = *IpPrefix::parse(vrid == 51 ? "10.0.0.100/24" : "10.0.1.100/24")}};
      config.tracked = {{.name = "interface eth1", .weight = 0}};
      instances.push_back(std::make_unique<Instance>(
          config, scheduler, host, vips,
          [this](const InstanceConfig&, const Notify&, uint8_t) { ++transitions; }));
      host.receiver.add(*instances.back());
    }
    link = std::make_unique<SyncGroupLink>(
        "G1", std::vector<Instance*>{instances[0].get(), instances[1].get()}, scheduler);
  }
  void start() {
    for (auto& i : instances)
      i->start();
  }
  void set_link(size_t member, bool up) {
    instances[member]->tracked_changed("interface eth1", up);
  }
  [[nodiscard]] std::vector<State> states() const {
    return {instances[0]->state(), instances[1]->state()};
  }

  FakeNetwork::Host& host;
  FakeVipManager vips;
  std::vector<std::unique_ptr<Instance>> instances;
  std::unique_ptr<SyncGroupLink> link;
  int transitions = 0;
};

TEST_F(Simulation, SyncGroupMovesTogether) {
  GroupedDirector a(scheduler, network, "10.0.0.1", 150);
  GroupedDirector b(scheduler, network, "10.0.0.2", 100);
  const std::vector<State> masters{State::kMaster, State::kMaster};
  const std::vector<State> backups{State::kBackup, State::kBackup};
  const std::vector<State> faults{State::kFault, State::kFault};
  a.start();
  b.start();
  scheduler.advance(5s);
  ASSERT_EQ(a.states(), masters);
  ASSERT_EQ(b.states(), backups);

  // Only VI_2's tracked interface fails on A; VI_1 follows it into FAULT.
  const TimePoint failed = scheduler.now();
  a.set_link(1, false);
  scheduler.run_ready();
  EXPECT_EQ(a.states(), faults);
  EXPECT_TRUE(a.vips.present.empty());
  scheduler.advance(1s);
  EXPECT_EQ(b.states(), masters);
  EXPECT_EQ(b.vips.present.size(), 2U);
  // Both took over after Skew_Time: A sent priority 0 for both.
  EXPECT_EQ(b.vips.times(Kind::kAdd),
            (std::vector<TimePoint>{failed + network.latency() + 609'375us,
                                    failed + network.latency() + 609'375us}));

  // The interface comes back: both A instances leave FAULT together and preempt B.
  a.set_link(1, true);
  scheduler.run_ready();
  EXPECT_EQ(a.states(), backups);
  scheduler.advance(5s);
  EXPECT_EQ(a.states(), masters);
  EXPECT_EQ(b.states(), backups);
}

TEST_F(Simulation, SyncGroupFollowsAMemberThatWinsAlone) {
  // B's VI_1 and VI_2 start later; only A's VI_1 hears a higher priority from B's VI_1 (B's
  // VI_2 is lower). The group moves A's VI_2 to BACKUP with it, and B's group to MASTER.
  GroupedDirector a(scheduler, network, "10.0.0.1", 150);
  auto b_config = director_config("10.0.0.2", 200);
  b_config.vrid = 51;
  a.start();
  scheduler.advance(5s);
  ASSERT_EQ(a.states(), (std::vector<State>{State::kMaster, State::kMaster}));
  Director b(scheduler, network, b_config);  // VI_1 only, priority 200
  b.start();
  scheduler.advance(10s);
  EXPECT_TRUE(b.is_master());
  EXPECT_EQ(a.states(), (std::vector<State>{State::kBackup, State::kBackup}));
  EXPECT_TRUE(a.vips.present.empty());
  // A's VI_2 hears no master, but the group stays BACKUP while VI_1 hears B: no flapping.
  const int transitions = a.transitions;
  scheduler.advance(60s);
  EXPECT_EQ(a.transitions, transitions);
  EXPECT_EQ(a.states(), (std::vector<State>{State::kBackup, State::kBackup}));
  EXPECT_TRUE(a.instances[1]->machine().wants_master());

  // B goes away: VI_1 becomes ready too and the whole group takes over within one
  // Master_Down_Interval of B's last advert.
  const TimePoint killed = scheduler.now();
  b.kill();
  scheduler.advance(5s);
  EXPECT_EQ(a.states(), (std::vector<State>{State::kMaster, State::kMaster}));
  const auto adds = a.vips.times(Kind::kAdd);
  ASSERT_FALSE(adds.empty());
  EXPECT_LE(adds.back(), killed + 3'414'062us);
}

TEST_F(Simulation, V2WithPasswordAndIpv6V3Elect) {
  auto v2a = director_config("10.0.0.1", 150, 1s, 2);
  auto v2b = director_config("10.0.0.2", 100, 1s, 2);
  for (auto* c : {&v2a, &v2b}) {
    c->auth_type = AuthType::kSimplePassword;
    c->auth_pass = "secret";
  }
  Director a(scheduler, network, v2a);
  Director b(scheduler, network, v2b);
  a.start();
  b.start();
  scheduler.advance(10s);
  EXPECT_TRUE(a.is_master());
  EXPECT_EQ(b.state(), State::kBackup);
  EXPECT_GT(b.instance->counters().adverts_received, 0U);
  EXPECT_EQ(b.host.receiver.rejects().total(), 0U);

  FakeNetwork v6net(scheduler);
  auto v6config = [](std::string_view address, uint8_t priority) {
    return InstanceConfig{
        .name = "VI_6",
        .interface = "eth0",
        .vrid = 61,
        .priority = priority,
        .version = 3,
        .family = AddressFamily::kIpv6,
        .advert_interval = 100ms,
        .primary_address = ip(address),
        .virtual_addresses = {{.prefix = *IpPrefix::parse("2001:db8::100/64")}},
    };
  };
  Director c(scheduler, v6net, v6config("fe80::1", 100));
  Director d(scheduler, v6net, v6config("fe80::2", 200));
  c.start();
  d.start();
  scheduler.advance(2s);
  EXPECT_TRUE(d.is_master());
  EXPECT_EQ(c.state(), State::kBackup);
  EXPECT_GT(c.instance->counters().adverts_received, 0U);
  EXPECT_EQ(c.host.receiver.rejects().total(), 0U);
}

TEST_F(Simulation, MismatchedPasswordsBothBecomeMasterAndCountRejects) {
  auto v2a = director_config("10.0.0.1", 150, 1s, 2);
  auto v2b = director_config("10.0.0.2", 100, 1s, 2);
  v2a.auth_type = v2b.auth_type = AuthType::kSimplePassword;
  v2a.auth_pass = "one";
  v2b.auth_pass = "two";
  Director a(scheduler, network, v2a);
  Director b(scheduler, network, v2b);
  a.start();
  b.start();
  scheduler.advance(10s);
  EXPECT_EQ(masters({&a, &b}), 2);
  EXPECT_GT(b.host.receiver.rejects()[RejectReason::kAuthMismatch], 0U);
  EXPECT_EQ(b.instance->counters().adverts_received, 0U);
}

TEST_F(Simulation, UnicastPeers) {
  auto a_config = director_config("10.0.0.1", 150, 100ms);
  auto b_config = director_config("10.0.0.2", 100, 100ms);
  a_config.unicast_peers = {{.address = ip("10.0.0.2")}};
  b_config.unicast_peers = {{.address = ip("10.0.0.1")}};
  Director a(scheduler, network, a_config);
  Director b(scheduler, network, b_config);
  Director bystander(scheduler, network, director_config("10.0.0.3", 50, 100ms));
  a.start();
  b.start();
  scheduler.advance(2s);
  EXPECT_TRUE(a.is_master());
  EXPECT_EQ(b.state(), State::kBackup);
  EXPECT_GT(b.instance->counters().adverts_received, 0U);
  // A host that is not a peer hears none of it.
  EXPECT_TRUE(bystander.host.received.empty());
}

TEST_F(Simulation, TenMillisecondAdvertsStayStableForAMinute) {
  Director a(scheduler, network, director_config("10.0.0.1", 150, 10ms));
  Director b(scheduler, network, director_config("10.0.0.2", 100, 10ms));
  a.start();
  b.start();
  scheduler.advance(60s);
  EXPECT_EQ(a.transitions.size(), 2U);  // INIT -> BACKUP -> MASTER
  EXPECT_EQ(b.transitions.size(), 1U);  // INIT -> BACKUP
  EXPECT_TRUE(a.is_master());
}

}  // namespace
}  // namespace vigil::vrrp
