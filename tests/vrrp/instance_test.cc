#include "vrrp/instance.h"

#include <gtest/gtest.h>

#include <vector>

#include "fakes/fake_scheduler.h"
#include "vrrp/fake_host.h"

namespace vigil::vrrp {
namespace {

using testing::FakeNetwork;
using testing::FakeVipManager;
using Kind = FakeVipManager::Kind;

IpAddress ip(std::string_view text) {
  return *IpAddress::parse(text);
}

InstanceConfig config_for(std::string name, std::string_view address, uint8_t priority) {
  return InstanceConfig{
      .name = std::move(name),
      .interface = "eth0",
      .vrid = 51,
      .priority = priority,
      .version = 3,
      .advert_interval = 1s,
      .primary_address = ip(address),
      .virtual_addresses = {{.prefix = *IpPrefix::parse("10.0.0.100/24")}},
  };
}

class InstanceTest : public ::testing::Test {
 protected:
  vigil::testing::FakeScheduler scheduler;
  FakeNetwork network{scheduler};
  FakeNetwork::Host& host = network.add_host("a", ip("10.0.0.2"));
  FakeVipManager vips{scheduler};
  std::vector<Notify> notified;
  const TimePoint t0 = scheduler.now();

  std::unique_ptr<Instance> make(InstanceConfig config) {
    return std::make_unique<Instance>(
        std::move(config), scheduler, host, vips,
        [this](const InstanceConfig&, const Notify& n, uint8_t) { notified.push_back(n); });
  }
};

TEST_F(InstanceTest, AloneBecomesMasterAfterMasterDownIntervalAndAdvertisesEverySecond) {
  auto instance = make(config_for("VI_1", "10.0.0.2", 100));
  instance->start();
  scheduler.advance(3'609'374us);
  EXPECT_EQ(instance->state(), State::kBackup);
  EXPECT_TRUE(vips.present.empty());
  scheduler.advance(1us);
  EXPECT_EQ(instance->state(), State::kMaster);
  EXPECT_EQ(vips.present.size(), 1U);
  scheduler.advance(3s);
  ASSERT_EQ(host.sent.size(), 4U);
  for (size_t i = 0; i < host.sent.size(); ++i) {
    EXPECT_EQ(host.sent[i].first, t0 + 3'609'375us + i * 1s) << i;
    EXPECT_EQ(host.sent[i].second.destination, ip("224.0.0.18"));
  }
  EXPECT_EQ(instance->counters().adverts_sent, 4U);
  ASSERT_EQ(notified.size(), 2U);
  EXPECT_EQ(notified[1],
            (Notify{State::kBackup, State::kMaster, TransitionReason::kMasterDownTimer}));
}

TEST_F(InstanceTest, GratuitousArpAtOnceAfterDelayAndOnRefresh) {
  auto config = config_for("VI_1", "10.0.0.2", 255);
  config.garp_master_repeat = 3;
  config.garp_master_delay = 5s;
  config.garp_master_refresh = 2s;
  auto instance = make(config);
  instance->start();
  scheduler.advance(6s);
  EXPECT_EQ(vips.times(Kind::kAnnounce),
            (std::vector<TimePoint>{t0, t0 + 2s, t0 + 4s, t0 + 5s, t0 + 6s}));
  std::vector<int> counts;
  for (const auto& c : vips.calls) {
    if (c.kind == Kind::kAnnounce) counts.push_back(c.count);
  }
  EXPECT_EQ(counts, (std::vector<int>{3, 1, 1, 3, 1}));

  instance->stop();
  const auto announced = vips.times(Kind::kAnnounce).size();
  scheduler.advance(20s);
  EXPECT_EQ(vips.times(Kind::kAnnounce).size(), announced);  // stopped with the addresses
  EXPECT_TRUE(vips.present.empty());
}

// keepalived's garp_master_refresh_repeat: each refresh announces that many times, not once;
// the sets on becoming master keep garp_master_repeat.
TEST_F(InstanceTest, RefreshSendsGarpMasterRefreshRepeat) {
  auto config = config_for("VI_1", "10.0.0.2", 255);
  config.garp_master_repeat = 2;
  config.garp_master_delay = 3s;
  config.garp_master_refresh = 2s;
  config.garp_master_refresh_repeat = 4;
  auto instance = make(config);
  instance->start();
  scheduler.advance(6s);
  std::vector<std::pair<TimePoint, int>> announced;
  for (const auto& c : vips.calls) {
    if (c.kind == Kind::kAnnounce) announced.emplace_back(c.at, c.count);
  }
  EXPECT_EQ(announced, (std::vector<std::pair<TimePoint, int>>{
                           {t0, 2}, {t0 + 2s, 4}, {t0 + 3s, 2}, {t0 + 4s, 4}, {t0 + 6s, 4}}));
}

// A tracked script's weight moves the priority: the notifier hears the new priority and the
// state it was in, once per change (keepalived's notify_priority_changes FIFO line); a
// failure that leaves the priority where it was is not a change.
TEST_F(InstanceTest, TrackedWeightChangeNotifiesThePriority) {
  auto config = config_for("VI_1", "10.0.0.2", 100);
  config.tracked = {{.name = "script chk", .weight = -20},
                    {.name = "file f/4", .weight = -4},
                    {.name = "file f/16", .weight = -16}};
  auto instance = make(config);
  std::vector<NotifyPriorityChange> changes;
  instance->set_priority_change_notifier(
      [&](const InstanceConfig&, const NotifyPriorityChange& c) { changes.push_back(c); });
  instance->start();
  scheduler.advance(4s);
  ASSERT_EQ(instance->state(), State::kMaster);

  instance->tracked_changed("script chk", false);
  instance->tracked_changed("script chk", false);  // no change: no second notice
  instance->tracked_changed("script chk", true);
  // Objects that change together (a track_file value) are one change: 100 - 4 - 16.
  instance->tracked_changed({{"file f/4", false}, {"file f/16", false}});
  EXPECT_EQ(changes, (std::vector<NotifyPriorityChange>{
                         {State::kMaster, 80}, {State::kMaster, 100}, {State::kMaster, 80}}));
}

// A master hearing a lower-priority advert (a peer that went MASTER during a split brain):
// garp_lower_prio_repeat at once and again after garp_lower_prio_delay, the
// notify_master_rx_lower_pri hook, and (without lower_prio_no_advert) an advert in reply.
TEST_F(InstanceTest, LowerPriorityAdvertReannouncesNotifiesAndReasserts) {
  auto config = config_for("VI_1", "10.0.0.2", 255);
  config.garp_master_repeat = 5;
  config.garp_master_delay = 0s;
  config.garp_lower_prio_repeat = 2;
  config.garp_lower_prio_delay = 3s;
  auto instance = make(config);
  std::vector<std::pair<NotifyLowerPriorityAdvert, uint8_t>> lower;
  instance->set_lower_priority_notifier(
      [&](const InstanceConfig&, const NotifyLowerPriorityAdvert& seen, uint8_t priority) {
        lower.emplace_back(seen, priority);
      });
  instance->start();
  ASSERT_EQ(instance->state(), State::kMaster);
  scheduler.advance(500ms);
  const auto sent_before = host.sent.size();

  instance->on_advert({.ip = {.source = ip("10.0.0.9"), .destination = ip("224.0.0.18")},
                       .advert = {.version = 3, .vrid = 51, .priority = 100}});
  EXPECT_EQ(host.sent.size(), sent_before + 1) << "re-asserted at once";
  ASSERT_EQ(lower.size(), 1U);
  EXPECT_EQ(lower[0].first, (NotifyLowerPriorityAdvert{100, ip("10.0.0.9")}));
  EXPECT_EQ(lower[0].second, 255);

  scheduler.advance(4s);
  std::vector<std::pair<TimePoint, int>> announced;
  for (const auto& c : vips.calls) {
    if (c.kind == Kind::kAnnounce) announced.emplace_back(c.at, c.count);
  }
  EXPECT_EQ(announced,
            (std::vector<std::pair<TimePoint, int>>{{t0, 5}, {t0 + 500ms, 2}, {t0 + 3500ms, 2}}));
}

TEST_F(InstanceTest, LowerPrioNoAdvertStaysQuietButReannounces) {
  auto config = config_for("VI_1", "10.0.0.2", 255);
  config.garp_master_delay = 0s;
  config.garp_lower_prio_repeat = 1;
  config.garp_lower_prio_delay = 0s;
  config.lower_prio_no_advert = true;
  auto instance = make(config);
  instance->start();
  scheduler.advance(500ms);
  const auto sent_before = host.sent.size();
  const auto announces_before = vips.times(Kind::kAnnounce).size();
  instance->on_advert({.ip = {.source = ip("10.0.0.9"), .destination = ip("224.0.0.18")},
                       .advert = {.version = 3, .vrid = 51, .priority = 100}});
  EXPECT_EQ(host.sent.size(), sent_before);
  EXPECT_EQ(vips.times(Kind::kAnnounce).size(), announces_before + 1);
  // The advert schedule is untouched: the next one is still due 1 s after the last.
  scheduler.advance(500ms);
  EXPECT_EQ(host.sent.size(), sent_before + 1);
  scheduler.advance(10s);
  EXPECT_EQ(vips.times(Kind::kAnnounce).size(), announces_before + 1) << "no second set";
}

TEST_F(InstanceTest, LosingMastershipCancelsThePendingLowerPriorityAnnouncement) {
  auto config = config_for("VI_1", "10.0.0.2", 100);
  config.garp_master_delay = 0s;
  config.garp_lower_prio_delay = 5s;
  auto instance = make(config);
  instance->start();
  scheduler.advance(4s);
  ASSERT_EQ(instance->state(), State::kMaster);
  instance->on_advert({.ip = {.source = ip("10.0.0.9"), .destination = ip("224.0.0.18")},
                       .advert = {.version = 3, .vrid = 51, .priority = 50}});
  instance->on_advert({.ip = {.source = ip("10.0.0.1"), .destination = ip("224.0.0.18")},
                       .advert = {.version = 3, .vrid = 51, .priority = 200}});
  ASSERT_EQ(instance->state(), State::kBackup);
  const auto announced = vips.times(Kind::kAnnounce).size();
  // The new master keeps advertising past the 5 s the second set was due at.
  for (int i = 0; i < 5; ++i) {
    scheduler.advance(2s);
    instance->on_advert({.ip = {.source = ip("10.0.0.1"), .destination = ip("224.0.0.18")},
                         .advert = {.version = 3, .vrid = 51, .priority = 200}});
  }
  ASSERT_EQ(instance->state(), State::kBackup);
  EXPECT_EQ(vips.times(Kind::kAnnounce).size(), announced);
}

TEST_F(InstanceTest, StopFromMasterSendsPriorityZeroAndRemovesAddresses) {
  auto instance = make(config_for("VI_1", "10.0.0.2", 255));
  instance->start();
  scheduler.advance(1500ms);
  instance->stop();
  EXPECT_EQ(instance->state(), State::kInitialize);
  ASSERT_FALSE(host.sent.empty());
  const auto& last = host.sent.back();
  EXPECT_EQ(last.first, t0 + 1500ms);
  EXPECT_EQ(last.second.bytes[2], 0) << "priority field";
  EXPECT_TRUE(vips.present.empty());
  const auto sent = host.sent.size();
  scheduler.advance(10s);
  EXPECT_EQ(host.sent.size(), sent);  // no timer left behind
  EXPECT_EQ(scheduler.pending(), 0U);
}

TEST_F(InstanceTest, UnicastPeersEachGetAnAdvertWithTheirOwnChecksum) {
  auto config = config_for("VI_1", "10.0.0.2", 255);
  config.unicast_peers = {{.address = ip("10.0.0.3")}, {.address = ip("10.0.0.4")}};
  auto instance = make(config);
  instance->start();
  ASSERT_EQ(host.sent.size(), 2U);
  EXPECT_EQ(host.sent[0].second.destination, ip("10.0.0.3"));
  EXPECT_EQ(host.sent[1].second.destination, ip("10.0.0.4"));
  EXPECT_NE(host.sent[0].second.bytes, host.sent[1].second.bytes);  // pseudo-header differs
  EXPECT_EQ(host.sent[0].second.ttl, 255);
}

// keepalived's unicast_ttl applies to unicast peers only; the group always gets 255.
TEST_F(InstanceTest, UnicastTtlIsTheTtlOfUnicastAdverts) {
  auto unicast = config_for("VI_1", "10.0.0.2", 255);
  unicast.unicast_peers = {{.address = ip("10.0.0.3")}};
  unicast.unicast_ttl = 64;
  auto instance = make(unicast);
  instance->start();
  ASSERT_EQ(host.sent.size(), 1U);
  EXPECT_EQ(host.sent[0].second.ttl, 64);
  instance->stop();

  auto multicast = config_for("VI_2", "10.0.0.2", 255);
  multicast.vrid = 52;
  multicast.unicast_ttl = 64;  // no peers: not used
  auto other = make(multicast);
  other->start();
  ASSERT_GE(host.sent.size(), 3U);
  EXPECT_EQ(host.sent.back().second.destination, ip("224.0.0.18"));
  EXPECT_EQ(host.sent.back().second.ttl, 255);
}

TEST_F(InstanceTest, FailuresAreCountedNotFatal) {
  vips.fail = true;
  auto instance = make(config_for("VI_1", "10.0.0.2", 255));
  instance->start();
  EXPECT_EQ(instance->state(), State::kMaster);
  EXPECT_GE(instance->counters().vip_failures, 2U);  // add + announce
  host.up = false;
  scheduler.advance(1s);
  EXPECT_EQ(instance->counters().advert_send_failures, 1U);
  EXPECT_EQ(instance->state(), State::kMaster);
}

TEST_F(InstanceTest, ReceiverDropsAndCountsBadAdvertsWithoutStateChange) {
  auto instance = make(config_for("VI_1", "10.0.0.2", 100));
  host.receiver.add(*instance);
  instance->start();
  scheduler.advance(1s);
  const auto deadline = instance->machine().deadline(TimerKind::kMasterDown);

  const Advert advert{.version = 3,
                      .vrid = 51,
                      .priority = 200,
                      .advert_interval = 1s,
                      .addresses = {ip("10.0.0.100")}};
  auto bytes = encode(advert, {.source = ip("10.0.0.1"), .destination = ip("224.0.0.18")});
  auto header = build_ipv4_header(ip("10.0.0.1"), ip("224.0.0.18"), bytes.size());
  std::vector<uint8_t> datagram(header.begin(), header.end());
  datagram.insert(datagram.end(), bytes.begin(), bytes.end());

  auto bad_ttl = datagram;
  bad_ttl[8] = 64;
  host.receiver.on_ipv4_datagram(bad_ttl);
  auto bad_vrid = advert;
  bad_vrid.vrid = 52;
  auto other = encode(bad_vrid, {.source = ip("10.0.0.1"), .destination = ip("224.0.0.18")});
  std::vector<uint8_t> other_datagram(header.begin(), header.end());
  other_datagram.insert(other_datagram.end(), other.begin(), other.end());
  host.receiver.on_ipv4_datagram(other_datagram);

  EXPECT_EQ(host.receiver.rejects()[RejectReason::kBadTtl], 1U);
  EXPECT_EQ(host.receiver.rejects()[RejectReason::kUnknownVrid], 1U);
  EXPECT_EQ(instance->counters().adverts_received, 0U);
  EXPECT_EQ(instance->machine().deadline(TimerKind::kMasterDown), deadline);

  host.receiver.on_ipv4_datagram(datagram);
  EXPECT_EQ(instance->counters().adverts_received, 1U);
  EXPECT_EQ(instance->machine().deadline(TimerKind::kMasterDown), scheduler.now() + 3'609'375us);
}

}  // namespace
}  // namespace vigil::vrrp
