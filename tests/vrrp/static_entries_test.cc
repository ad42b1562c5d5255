// static_ipaddress / static_routes / static_rules: the plan from what is held to what the
// configuration wants (start, reload, stop), and the applier's bookkeeping of what is held.
#include "vrrp/static_entries.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace vigil::vrrp {
namespace {

StaticAddress address(std::string_view prefix, std::string device = "eth0") {
  return StaticAddress{
      .address = {.prefix = *IpPrefix::parse(prefix), .device = std::move(device)}};
}

Route route(std::string_view destination, uint32_t table = 100) {
  return Route{.destination = *IpPrefix::parse(destination), .device = "eth0", .table = table};
}

Rule rule(std::string_view from, uint32_t priority) {
  return Rule{.from = *IpPrefix::parse(from), .table = 100, .priority = priority};
}

const StaticEntries kConfigured{
    .addresses = {address("10.9.0.1/32"), address("10.9.0.2/32")},
    .routes = {route("10.9.1.0/24"), route("10.9.2.0/24")},
    .rules = {rule("10.9.5.0/24", 1000), rule("10.9.6.0/24", 1001)},
};

std::vector<std::string> texts(const StaticChanges& changes) {
  std::vector<std::string> out;
  for (const auto& change : changes)
    out.push_back(to_string(change));
  return out;
}

struct PlanCase {
  const char* name;
  StaticEntries held;
  StaticEntries wanted;
  std::vector<std::string> expected;
};

StaticEntries reloaded() {
  StaticEntries next = kConfigured;
  next.addresses[1] = address("10.9.0.4/32");
  next.routes[1] = route("10.9.3.0/24");
  next.rules[1] = rule("10.9.7.0/24", 1002);
  return next;
}

const PlanCase kPlanCases[] = {
    {"StartAddsAddressesThenRoutesThenRules",
     {},
     kConfigured,
     {"address add 10.9.0.1/32 dev eth0", "address add 10.9.0.2/32 dev eth0",
      "route add 10.9.1.0/24 dev eth0 table 100", "route add 10.9.2.0/24 dev eth0 table 100",
      "rule add pref 1000 from 10.9.5.0/24 lookup 100",
      "rule add pref 1001 from 10.9.6.0/24 lookup 100"}},
    {"StopRemovesRulesThenRoutesThenAddresses",
     kConfigured,
     {},
     {"rule del pref 1000 from 10.9.5.0/24 lookup 100",
      "rule del pref 1001 from 10.9.6.0/24 lookup 100", "route del 10.9.1.0/24 dev eth0 table 100",
      "route del 10.9.2.0/24 dev eth0 table 100", "address del 10.9.0.1/32 dev eth0",
      "address del 10.9.0.2/32 dev eth0"}},
    // keepalived's clear_diff_static_*: only what the new configuration drops goes; every entry
    // of the new one is added again (present ones count as added, lost ones come back).
    {"ReloadRemovesWhatIsDroppedThenAddsTheNewConfiguration",
     kConfigured,
     reloaded(),
     {"rule del pref 1001 from 10.9.6.0/24 lookup 100", "route del 10.9.2.0/24 dev eth0 table 100",
      "address del 10.9.0.2/32 dev eth0", "address add 10.9.0.1/32 dev eth0",
      "address add 10.9.0.4/32 dev eth0", "route add 10.9.1.0/24 dev eth0 table 100",
      "route add 10.9.3.0/24 dev eth0 table 100", "rule add pref 1000 from 10.9.5.0/24 lookup 100",
      "rule add pref 1002 from 10.9.7.0/24 lookup 100"}},
    // An entry that was never set (its add failed) is not removed: keepalived's `set` flag.
    {"ReloadNeverRemovesWhatWasNotHeld",
     {.addresses = {address("10.9.0.1/32")}},
     {},
     {"address del 10.9.0.1/32 dev eth0"}},
    // A changed route (another table) is a different route: the old one goes, the new one comes.
    {"AChangedRouteReplacesTheOldOne",
     {.routes = {route("10.9.1.0/24", 100)}},
     {.routes = {route("10.9.1.0/24", 101)}},
     {"route del 10.9.1.0/24 dev eth0 table 100", "route add 10.9.1.0/24 dev eth0 table 101"}},
    // The same address on another device is another address.
    {"AnAddressMovedToAnotherDeviceMoves",
     {.addresses = {address("10.9.0.1/32", "eth0")}},
     {.addresses = {address("10.9.0.1/32", "eth1")}},
     {"address del 10.9.0.1/32 dev eth0", "address add 10.9.0.1/32 dev eth1"}},
    {"NothingConfiguredNothingHeld", {}, {}, {}},
};

class StaticPlan : public ::testing::TestWithParam<PlanCase> {};

TEST_P(StaticPlan, Changes) {
  const PlanCase& c = GetParam();
  EXPECT_EQ(texts(plan_static(c.held, c.wanted)), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, StaticPlan, ::testing::ValuesIn(kPlanCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(StaticInterfaces, EveryInterfaceNamedOnceSorted) {
  StaticEntries entries = kConfigured;
  entries.addresses.push_back(address("10.9.0.9/32", "eth2"));
  entries.rules.push_back(Rule{.priority = 5, .iif = "eth1", .oif = "eth3"});
  entries.routes.push_back(Route{.destination = *IpPrefix::parse("192.0.2.0/24"), .type = 6});
  EXPECT_EQ(static_interfaces(entries), (std::vector<std::string>{"eth0", "eth1", "eth2", "eth3"}));
}

// Host fakes: each remembers what is present and fails the entries named in `refuse`.
class FakeAddresses final : public VipManager {
 public:
  Status add_addresses(const std::string& interface,
                       const std::vector<VirtualAddress>& addresses) override {
    for (const auto& a : addresses) {
      const std::string key = a.prefix.to_string() + "@" + interface;
      if (refuse.contains(key)) return Error{"refused " + key};
      present.insert(key);
    }
    return {};
  }
  Status remove_addresses(const std::string& interface,
                          const std::vector<VirtualAddress>& addresses) override {
    for (const auto& a : addresses)
      present.erase(a.prefix.to_string() + "@" + interface);
    return {};
  }
  Status announce(const std::string&, const std::vector<VirtualAddress>&, int,
                  const std::shared_ptr<AnnounceTally>&) override {
    ADD_FAILURE() << "static addresses are never announced";
    return {};
  }
  std::set<std::string> present;
  std::set<std::string> refuse;
};

class FakeRouting final : public RoutingTable {
 public:
  Status apply(const RoutingChange& change) override {
    std::string key = std::holds_alternative<Route>(change.entry)
                          ? to_string(std::get<Route>(change.entry))
                          : to_string(std::get<Rule>(change.entry));
    if (change.op == RoutingChange::Op::kRemove) {
      present.erase(key);
      return {};
    }
    if (refuse.contains(key)) return Error{"refused " + key};
    present.insert(key);
    return {};
  }
  std::set<std::string> present;
  std::set<std::string> refuse;
};

TEST(StaticApply, StartHoldsWhatWasAddedAndStopRemovesIt) {
  FakeAddresses addresses;
  FakeRouting routing;
  auto started = apply_static(addresses, routing, plan_static({}, kConfigured), {});
  EXPECT_EQ(started.failures, 0U);
  EXPECT_EQ(started.held, kConfigured);
  EXPECT_EQ(addresses.present, (std::set<std::string>{"10.9.0.1/32@eth0", "10.9.0.2/32@eth0"}));
  EXPECT_EQ(routing.present.size(), 4U);

  auto stopped = apply_static(addresses, routing, plan_static(started.held, {}), started.held);
  EXPECT_TRUE(stopped.held.empty());
  EXPECT_TRUE(addresses.present.empty());
  EXPECT_TRUE(routing.present.empty());
}

TEST(StaticApply, AFailedAddIsNotHeldSoStopLeavesItAlone) {
  FakeAddresses addresses;
  FakeRouting routing;
  addresses.refuse = {"10.9.0.2/32@eth0"};
  routing.refuse = {"10.9.2.0/24 dev eth0 table 100"};
  auto started = apply_static(addresses, routing, plan_static({}, kConfigured), {});
  EXPECT_EQ(started.failures, 2U);
  EXPECT_FALSE(started.first_failure.ok());
  EXPECT_EQ(started.held.addresses, (std::vector<StaticAddress>{address("10.9.0.1/32")}));
  EXPECT_EQ(started.held.routes, (std::vector<Route>{route("10.9.1.0/24")}));
  EXPECT_EQ(started.held.rules, kConfigured.rules);

  // The stop plan names only what is held.
  EXPECT_EQ(plan_static(started.held, {}).size(), 4U);
}

TEST(StaticApply, AReloadRetriesWhatFailedBefore) {
  FakeAddresses addresses;
  FakeRouting routing;
  addresses.refuse = {"10.9.0.2/32@eth0"};
  auto started = apply_static(addresses, routing, plan_static({}, kConfigured), {});
  ASSERT_EQ(started.failures, 1U);
  addresses.refuse.clear();
  auto reloaded =
      apply_static(addresses, routing, plan_static(started.held, kConfigured), started.held);
  EXPECT_EQ(reloaded.failures, 0U);
  EXPECT_EQ(reloaded.held.addresses.size(), 2U);
  EXPECT_TRUE(addresses.present.contains("10.9.0.2/32@eth0"));
}

TEST(StaticApply, AReloadRemovesTheDroppedAndKeepsTheRest) {
  FakeAddresses addresses;
  FakeRouting routing;
  auto started = apply_static(addresses, routing, plan_static({}, kConfigured), {});
  const StaticEntries next = reloaded();
  auto after = apply_static(addresses, routing, plan_static(started.held, next), started.held);
  EXPECT_EQ(after.held, next);
  EXPECT_EQ(addresses.present, (std::set<std::string>{"10.9.0.1/32@eth0", "10.9.0.4/32@eth0"}));
  EXPECT_EQ(routing.present,
            (std::set<std::string>{
                "10.9.1.0/24 dev eth0 table 100", "10.9.3.0/24 dev eth0 table 100",
                "pref 1000 from 10.9.5.0/24 lookup 100", "pref 1002 from 10.9.7.0/24 lookup 100"}));
}

}  // namespace
}  // namespace vigil::vrrp
