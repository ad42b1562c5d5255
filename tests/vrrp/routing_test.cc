// The routing decisions (which changes, in which order) and VipsWithRouting in front of a real
// Instance: MASTER adds the routes and rules after the addresses; BACKUP, FAULT and stop remove
// them before the addresses.
#include "vrrp/routing.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "fakes/fake_scheduler.h"
#include "vrrp/fake_host.h"
#include "vrrp/instance.h"

namespace vigil::vrrp {
namespace {

using namespace std::chrono_literals;
using testing::FakeNetwork;
using testing::FakeVipManager;
using Op = RoutingChange::Op;

Route route(std::string_view destination, std::string device = "eth0") {
  return Route{.destination = *IpPrefix::parse(destination), .device = std::move(device)};
}

Rule rule(std::string_view from, uint32_t table, uint32_t priority) {
  return Rule{.from = *IpPrefix::parse(from), .table = table, .priority = priority};
}

const InstanceRouting kRouting{
    .routes = {route("10.1.0.0/16"), route("10.2.0.0/16")},
    .rules = {rule("10.1.0.0/16", 100, 1000), rule("10.2.0.0/16", 100, 1001)},
};

// Every change as `ip`-style text, in order: compact expectations.
std::vector<std::string> texts(const RoutingChanges& changes) {
  std::vector<std::string> out;
  for (const auto& change : changes)
    out.push_back(to_string(change));
  return out;
}

TEST(RoutingDecisions, MasterAddsRoutesThenRules) {
  EXPECT_EQ(
      texts(routing_on_master(kRouting)),
      (std::vector<std::string>{"route add 10.1.0.0/16 dev eth0", "route add 10.2.0.0/16 dev eth0",
                                "rule add pref 1000 from 10.1.0.0/16 lookup 100",
                                "rule add pref 1001 from 10.2.0.0/16 lookup 100"}));
}

TEST(RoutingDecisions, LeavingMasterRemovesRulesThenRoutes) {
  EXPECT_EQ(texts(routing_on_leaving_master(kRouting)),
            (std::vector<std::string>{"rule del pref 1000 from 10.1.0.0/16 lookup 100",
                                      "rule del pref 1001 from 10.2.0.0/16 lookup 100",
                                      "route del 10.1.0.0/16 dev eth0",
                                      "route del 10.2.0.0/16 dev eth0"}));
}

TEST(RoutingDecisions, NothingConfiguredMeansNoChange) {
  EXPECT_TRUE(routing_on_master({}).empty());
  EXPECT_TRUE(routing_on_leaving_master({}).empty());
}

TEST(RoutingDecisions, AReloadRemovesOnlyWhatTheNewConfigDrops) {
  InstanceRouting after = kRouting;
  after.routes[1].metric = 5;  // changed: the old one goes, the new one comes with MASTER
  after.rules.erase(after.rules.begin());
  after.routes.push_back(route("10.3.0.0/16"));
  EXPECT_EQ(texts(routing_dropped_by_reload(kRouting, after)),
            (std::vector<std::string>{"rule del pref 1000 from 10.1.0.0/16 lookup 100",
                                      "route del 10.2.0.0/16 dev eth0"}));
  EXPECT_TRUE(routing_dropped_by_reload(kRouting, kRouting).empty());
  EXPECT_EQ(routing_dropped_by_reload(kRouting, {}).size(), 4U);
}

TEST(RoutingText, NamesWhatIpWouldShow) {
  Route r = route("0.0.0.0/0", "eth1");
  r.gateway = IpAddress::parse("10.0.0.254");
  r.table = 7;
  r.metric = 9;
  r.preferred_source = IpAddress::parse("10.0.0.5");
  EXPECT_EQ(to_string(r), "0.0.0.0/0 via 10.0.0.254 dev eth1 table 7 metric 9 src 10.0.0.5");
  EXPECT_EQ(to_string(Route{.destination = *IpPrefix::parse("10.9.0.0/16"), .type = 6}),
            "blackhole 10.9.0.0/16");
  Rule mark{.action = 8, .priority = 5, .iif = "eth0", .fwmark = 16, .fwmask = 255};
  EXPECT_EQ(to_string(mark), "pref 5 from all fwmark 0x10/0xff iif eth0 prohibit");
}

// Records every change; fails the ones in `failing` (by index of the call).
class FakeRoutingTable final : public RoutingTable {
 public:
  Status apply(const RoutingChange& change) override {
    log.push_back(change);
    if (failing.contains(log.size() - 1)) return Error{"injected failure"};
    return {};
  }
  std::vector<RoutingChange> log;
  std::set<size_t> failing;
};

TEST(ApplyChanges, OneFailureNeverStopsTheOthers) {
  FakeRoutingTable table;
  table.failing = {0, 2};
  uint64_t failed = 0;
  Status status = apply_changes(table, routing_on_master(kRouting), &failed);
  EXPECT_EQ(table.log.size(), 4U);
  EXPECT_EQ(failed, 2U);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message,
            "route add 10.1.0.0/16 dev eth0: injected failure (and 1 more failed)");
}

// A real Instance whose VipManager is VipsWithRouting over fakes: the changes follow its states.
class InstanceRoutingTest : public ::testing::Test {
 protected:
  vigil::testing::FakeScheduler scheduler;
  FakeNetwork network{scheduler};
  FakeNetwork::Host& host = network.add_host("a", *IpAddress::parse("10.0.0.2"));
  FakeVipManager vips{scheduler};
  FakeRoutingTable table;
  VipsWithRouting routed{vips, table, kRouting};

  std::unique_ptr<Instance> make(uint8_t priority) {
    InstanceConfig config{.name = "VI_1",
                          .interface = "eth0",
                          .vrid = 51,
                          .priority = priority,
                          .version = 3,
                          .primary_address = *IpAddress::parse("10.0.0.2"),
                          .virtual_addresses = {{.prefix = *IpPrefix::parse("10.0.0.100/24")}},
                          .tracked = {{.name = "interface eth0", .weight = 0}}};
    return std::make_unique<Instance>(std::move(config), scheduler, host, routed);
  }

  // The kinds of the changes from `from` on.
  std::vector<std::pair<Op, size_t>> ops_since(size_t from) const {
    std::vector<std::pair<Op, size_t>> out;
    for (size_t i = from; i < table.log.size(); ++i)
      out.emplace_back(table.log[i].op, table.log[i].entry.index());
    return out;
  }
};

constexpr size_t kIsRoute = 0;
constexpr size_t kIsRule = 1;
const std::vector<std::pair<Op, size_t>> kAdded = {
    {Op::kAdd, kIsRoute}, {Op::kAdd, kIsRoute}, {Op::kAdd, kIsRule}, {Op::kAdd, kIsRule}};
const std::vector<std::pair<Op, size_t>> kRemoved = {{Op::kRemove, kIsRule},
                                                     {Op::kRemove, kIsRule},
                                                     {Op::kRemove, kIsRoute},
                                                     {Op::kRemove, kIsRoute}};

TEST_F(InstanceRoutingTest, BackupAddsNothing) {
  auto instance = make(100);
  instance->start();
  scheduler.advance(3s);
  EXPECT_EQ(instance->state(), State::kBackup);
  EXPECT_TRUE(table.log.empty());
}

TEST_F(InstanceRoutingTest, MasterAddsAfterTheAddressesAndStopRemovesBeforeThem) {
  auto instance = make(255);
  instance->start();
  ASSERT_EQ(instance->state(), State::kMaster);
  EXPECT_EQ(ops_since(0), kAdded);
  EXPECT_EQ(vips.present.size(), 1U) << "the addresses were added too";
  ASSERT_EQ(vips.calls.front().kind, FakeVipManager::Kind::kAdd);

  const size_t before_stop = table.log.size();
  const size_t vip_calls = vips.calls.size();
  instance->stop();
  EXPECT_EQ(ops_since(before_stop), kRemoved);
  EXPECT_TRUE(vips.present.empty());
  EXPECT_EQ(vips.calls.size(), vip_calls + 1) << "one address removal after the routing";
}

TEST_F(InstanceRoutingTest, FaultRemovesAndRecoveryAddsAgain) {
  auto instance = make(255);
  instance->start();
  ASSERT_EQ(instance->state(), State::kMaster);
  const size_t mark = table.log.size();
  instance->tracked_changed("interface eth0", false);
  EXPECT_EQ(instance->state(), State::kFault);
  EXPECT_EQ(ops_since(mark), kRemoved);
  const size_t recovered = table.log.size();
  instance->tracked_changed("interface eth0", true);
  scheduler.advance(5s);
  EXPECT_EQ(instance->state(), State::kMaster);
  EXPECT_EQ(ops_since(recovered), kAdded);
}

TEST_F(InstanceRoutingTest, SteppingDownToBackupRemoves) {
  auto instance = make(200);
  instance->start();
  scheduler.advance(4s);
  ASSERT_EQ(instance->state(), State::kMaster);
  const size_t mark = table.log.size();
  // A higher-priority master appears.
  instance->handle(AdvertReceived{
      .priority = 250, .max_advert_interval = 1s, .source = *IpAddress::parse("10.0.0.3")});
  EXPECT_EQ(instance->state(), State::kBackup);
  EXPECT_EQ(ops_since(mark), kRemoved);
}

TEST_F(InstanceRoutingTest, ARoutingFailureIsCountedAndReportedAsAVipFailure) {
  table.failing = {1};
  auto instance = make(255);
  instance->start();
  EXPECT_EQ(instance->state(), State::kMaster) << "a failed route does not stop the takeover";
  EXPECT_EQ(table.log.size(), 4U);
  EXPECT_EQ(routed.failures(), 1U);
  EXPECT_EQ(instance->counters().vip_failures, 1U);
}

}  // namespace
}  // namespace vigil::vrrp
