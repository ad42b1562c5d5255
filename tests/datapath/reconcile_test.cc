#include "datapath/reconcile.h"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fakes/fake_datapath.h"

namespace vigil::datapath {
namespace {

using std::chrono::seconds;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}
DestinationKey rs(const char* address, uint16_t port) {
  return {ip(address), port};
}

const ServiceKey kWeb = ServiceKey::tcp(ip("10.0.0.1"), 80);
const ServiceKey kWebAlt = ServiceKey::tcp(ip("10.0.0.1"), 8080);
const ServiceKey kDns = ServiceKey::udp(ip("10.0.0.2"), 53);
const ServiceKey kWeb6 = ServiceKey::tcp(ip("2001:db8::1"), 443);
const ServiceKey kMark = ServiceKey::firewall_mark(7, AddressFamily::kIpv4);
const ServiceKey kMark6 = ServiceKey::firewall_mark(7, AddressFamily::kIpv6);
const ServiceKey kForeign = ServiceKey::tcp(ip("10.9.9.9"), 25);

const DestinationKey kRs1 = rs("192.168.1.1", 80);
const DestinationKey kRs2 = rs("192.168.1.2", 80);
const DestinationKey kRs3 = rs("192.168.1.3", 80);
const DestinationKey kRs1Alt = rs("192.168.1.1", 8080);
const DestinationKey kRs6 = rs("2001:db8:1::10", 443);
const DestinationKey kRs6Tun = rs("2001:db8:1::20", 80);

const Service kRr{.scheduler = "rr"};
Destination nat(int32_t weight) {
  return {.method = ForwardingMethod::kNat, .weight = weight};
}

// The config most cases start from.
Table base_table() {
  return {
      {kWeb, {.service = kRr, .destinations = {{kRs1, nat(1)}, {kRs2, nat(1)}}}},
      {kMark, {.service = {.scheduler = "wlc"}, .destinations = {{kRs3, nat(2)}}}},
  };
}

Table with(Table table, const std::function<void(Table&)>& change) {
  change(table);
  return table;
}

std::vector<std::string> describe(const std::vector<Operation>& operations) {
  std::vector<std::string> lines;
  for (const auto& operation : operations)
    lines.push_back(to_string(operation));
  return lines;
}

struct ReconcileCase {
  const char* name;
  Table actual;
  Table desired;
  Ownership owned;  // beyond the desired keys
  ReconcileOptions options;
  std::vector<Operation> expected;
};

// What the kernel should hold after the plan: the desired services plus the foreign ones kept.
Table expected_result(const ReconcileCase& c) {
  Table result = c.desired;
  if (c.options.flush_foreign) return result;
  for (const auto& [key, entry] : c.actual) {
    if (!c.desired.contains(key) && !c.owned.contains(key)) result.emplace(key, entry);
  }
  return result;
}

void PrintTo(const ReconcileCase& c, std::ostream* os) {
  *os << c.name;
}

class Reconcile : public ::testing::TestWithParam<ReconcileCase> {};

TEST_P(Reconcile, PlansExactlyTheExpectedOperations) {
  const auto& c = GetParam();
  auto operations = reconcile(c.actual, c.desired, c.owned, c.options);
  EXPECT_EQ(describe(operations), describe(c.expected));
  EXPECT_TRUE(operations == c.expected);
}

TEST_P(Reconcile, ApplyingThePlanReachesTheDesiredTable) {
  const auto& c = GetParam();
  testing::FakeDatapath kernel(c.actual);
  auto operations = reconcile(c.actual, c.desired, c.owned, c.options);
  auto results = kernel.apply(operations);
  ASSERT_EQ(results.size(), operations.size());
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_TRUE(results[i].ok()) << to_string(operations[i]) << ": " << results[i].message;
  }
  EXPECT_EQ(kernel.table(), expected_result(c));
  // A second pass has nothing left to do.
  auto owned = next_ownership(c.actual, c.desired, c.owned, operations, results);
  EXPECT_TRUE(reconcile(kernel.table(), c.desired, owned, c.options).empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, Reconcile,
    ::testing::Values(
        ReconcileCase{.name = "EmptyToFull",
                      .actual = {},
                      .desired = base_table(),
                      .expected = {AddService{kWeb, kRr}, AddDestination{kWeb, kRs1, nat(1)},
                                   AddDestination{kWeb, kRs2, nat(1)},
                                   AddService{kMark, {.scheduler = "wlc"}},
                                   AddDestination{kMark, kRs3, nat(2)}}},
        ReconcileCase{
            .name = "NoChange", .actual = base_table(), .desired = base_table(), .expected = {}},
        ReconcileCase{
            .name = "OneWeightChanged",
            .actual = base_table(),
            .desired = with(base_table(),
                            [](Table& t) { t.at(kWeb).destinations.at(kRs2).weight = 5; }),
            .expected = {EditDestination{kWeb, kRs2, nat(5)}}},
        ReconcileCase{
            .name = "SchedulerChanged",
            .actual = base_table(),
            .desired = with(base_table(), [](Table& t) { t.at(kWeb).service.scheduler = "wrr"; }),
            .expected = {EditService{kWeb, {.scheduler = "wrr"}}}},
        ReconcileCase{.name = "PersistenceTurnedOn",
                      .actual = base_table(),
                      .desired = with(base_table(),
                                      [](Table& t) {
                                        t.at(kWeb).service = {.scheduler = "rr",
                                                              .flags = {.persistent = true},
                                                              .persistence_timeout = seconds(360),
                                                              .netmask_prefix = 24};
                                      }),
                      .expected = {EditService{kWeb,
                                               {.scheduler = "rr",
                                                .flags = {.persistent = true},
                                                .persistence_timeout = seconds(360),
                                                .netmask_prefix = 24}}}},
        ReconcileCase{.name = "PersistenceTurnedOff",
                      .actual = with(base_table(),
                                     [](Table& t) {
                                       t.at(kWeb).service.flags.persistent = true;
                                       t.at(kWeb).service.persistence_timeout = seconds(300);
                                     }),
                      .desired = base_table(),
                      .expected = {EditService{kWeb, kRr}}},
        ReconcileCase{
            .name = "SchedulerFlagsChanged",
            .actual = with(base_table(), [](Table& t) { t.at(kWeb).service.scheduler = "sh"; }),
            .desired = with(base_table(),
                            [](Table& t) {
                              t.at(kWeb).service.scheduler = "sh";
                              t.at(kWeb).service.flags.sched_flag_2 = true;  // sh-port
                            }),
            .expected = {EditService{kWeb, {.scheduler = "sh", .flags = {.sched_flag_2 = true}}}}},
        ReconcileCase{.name = "ForwardingMethodChanged",
                      .actual = base_table(),
                      .desired = with(base_table(),
                                      [](Table& t) {
                                        t.at(kWeb).destinations.at(kRs1).method =
                                            ForwardingMethod::kDirectRoute;
                                      }),
                      .expected = {EditDestination{
                          kWeb, kRs1, {.method = ForwardingMethod::kDirectRoute, .weight = 1}}}},
        ReconcileCase{.name = "TunnelParametersChanged",
                      .actual = with(base_table(),
                                     [](Table& t) {
                                       t.at(kWeb).destinations.at(kRs1).method =
                                           ForwardingMethod::kTunnel;
                                     }),
                      .desired = with(base_table(),
                                      [](Table& t) {
                                        t.at(kWeb).destinations.at(kRs1) = {
                                            .method = ForwardingMethod::kTunnel,
                                            .tunnel_type = TunnelType::kGue,
                                            .tunnel_port = 6080,
                                            .tunnel_flags = {.checksum = true}};
                                      }),
                      .expected = {EditDestination{kWeb,
                                                   kRs1,
                                                   {.method = ForwardingMethod::kTunnel,
                                                    .tunnel_type = TunnelType::kGue,
                                                    .tunnel_port = 6080,
                                                    .tunnel_flags = {.checksum = true}}}}},
        ReconcileCase{
            .name = "ThresholdsChanged",
            .actual = base_table(),
            .desired = with(base_table(),
                            [](Table& t) {
                              auto& d = t.at(kMark).destinations.at(kRs3);
                              d.upper_threshold = 100;
                              d.lower_threshold = 50;
                            }),
            .expected = {EditDestination{
                kMark, kRs3, {.weight = 2, .upper_threshold = 100, .lower_threshold = 50}}}},
        ReconcileCase{
            .name = "DestinationAdded",
            .actual = base_table(),
            .desired = with(base_table(),
                            [](Table& t) { t.at(kWeb).destinations.emplace(kRs3, nat(1)); }),
            .expected = {AddDestination{kWeb, kRs3, nat(1)}}},
        ReconcileCase{
            .name = "DestinationRemovedFromConfig",
            .actual = base_table(),
            .desired = with(base_table(), [](Table& t) { t.at(kWeb).destinations.erase(kRs1); }),
            .expected = {DeleteDestination{kWeb, kRs1}}},
        ReconcileCase{
            .name = "DestinationPortChangedIsAddThenDelete",
            .actual = base_table(),
            .desired = with(base_table(),
                            [](Table& t) {
                              t.at(kWeb).destinations.erase(kRs1);
                              t.at(kWeb).destinations.emplace(kRs1Alt, nat(1));
                            }),
            .expected = {AddDestination{kWeb, kRs1Alt, nat(1)}, DeleteDestination{kWeb, kRs1}}},
        ReconcileCase{.name = "ServiceRemovedFromConfigButOwnedIsDeletedOnce",
                      .actual = base_table(),
                      .desired = with(base_table(), [](Table& t) { t.erase(kWeb); }),
                      .owned = {{kWeb}},
                      .expected = {DeleteService{kWeb}}},
        ReconcileCase{.name = "ServiceKeyChangedIsAddThenDelete",
                      .actual = base_table(),
                      .desired = with(base_table(),
                                      [](Table& t) {
                                        auto entry = t.at(kWeb);
                                        t.erase(kWeb);
                                        t.emplace(kWebAlt, entry);
                                      }),
                      .owned = {{kWeb}},
                      .expected = {AddService{kWebAlt, kRr}, AddDestination{kWebAlt, kRs1, nat(1)},
                                   AddDestination{kWebAlt, kRs2, nat(1)}, DeleteService{kWeb}}},
        ReconcileCase{
            .name = "ForeignServiceUntouched",
            .actual = with(base_table(),
                           [](Table& t) {
                             t[kForeign] = {.service = kRr, .destinations = {{kRs1, nat(1)}}};
                           }),
            .desired = base_table(),
            .expected = {}},
        ReconcileCase{
            .name = "ForeignServiceDeletedWithFlushForeign",
            .actual = with(base_table(),
                           [](Table& t) {
                             t[kForeign] = {.service = kRr, .destinations = {{kRs1, nat(1)}}};
                           }),
            .desired = base_table(),
            .options = {.flush_foreign = true},
            .expected = {DeleteService{kForeign}}},
        ReconcileCase{.name = "OwnedServiceAlreadyGoneNeedsNothing",
                      .actual = base_table(),
                      .desired = base_table(),
                      .owned = {{kDns}},
                      .expected = {}},
        ReconcileCase{.name = "HandEditedWeightRepaired",
                      .actual = with(base_table(),
                                     [](Table& t) { t.at(kWeb).destinations.at(kRs1).weight = 9; }),
                      .desired = base_table(),
                      .expected = {EditDestination{kWeb, kRs1, nat(1)}}},
        ReconcileCase{
            .name = "HandAddedDestinationInOwnedServiceRemoved",
            .actual = with(base_table(),
                           [](Table& t) { t.at(kMark).destinations.emplace(kRs1, nat(1)); }),
            .desired = base_table(),
            .expected = {DeleteDestination{kMark, kRs1}}},
        ReconcileCase{.name = "HandDeletedServiceReadded",
                      .actual = with(base_table(), [](Table& t) { t.erase(kMark); }),
                      .desired = base_table(),
                      .expected = {AddService{kMark, {.scheduler = "wlc"}},
                                   AddDestination{kMark, kRs3, nat(2)}}},
        ReconcileCase{.name = "Ipv6ServiceWithIpv6Destination",
                      .actual = base_table(),
                      .desired = with(base_table(),
                                      [](Table& t) {
                                        t[kWeb6] = {
                                            .service = {.scheduler = "rr", .netmask_prefix = 128},
                                            .destinations = {{kRs6, nat(1)}}};
                                      }),
                      .expected = {AddService{kWeb6, {.scheduler = "rr", .netmask_prefix = 128}},
                                   AddDestination{kWeb6, kRs6, nat(1)}}},
        ReconcileCase{.name = "FwmarkIpv4AndIpv6AreDistinctServices",
                      .actual = base_table(),
                      .desired = with(base_table(),
                                      [](Table& t) {
                                        t[kMark6] = {
                                            .service = {.scheduler = "wlc", .netmask_prefix = 128},
                                            .destinations = {{kRs6, nat(1)}}};
                                      }),
                      .expected = {AddService{kMark6, {.scheduler = "wlc", .netmask_prefix = 128}},
                                   AddDestination{kMark6, kRs6, nat(1)}}},
        ReconcileCase{
            .name = "MixedFamilyTunnelDestination",
            .actual = base_table(),
            .desired = with(base_table(),
                            [](Table& t) {
                              t.at(kWeb).destinations.emplace(
                                  kRs6Tun, Destination{.method = ForwardingMethod::kTunnel});
                            }),
            .expected = {AddDestination{kWeb, kRs6Tun, {.method = ForwardingMethod::kTunnel}}}},
        ReconcileCase{
            .name = "AddsAndEditsComeBeforeDeletes",
            .actual = with(base_table(),
                           [](Table& t) {
                             t[kDns] = {.service = kRr, .destinations = {{kRs1, nat(1)}}};
                           }),
            .desired = with(base_table(),
                            [](Table& t) {
                              auto& web = t.at(kWeb);
                              web.destinations.erase(kRs1);
                              web.destinations.at(kRs2).weight = 5;
                              web.destinations.emplace(kRs3, nat(1));
                              t[kWeb6] = {.service = {.scheduler = "rr", .netmask_prefix = 128},
                                          .destinations = {{kRs6, nat(1)}}};
                            }),
            .owned = {{kDns}},
            .expected = {EditDestination{kWeb, kRs2, nat(5)}, AddDestination{kWeb, kRs3, nat(1)},
                         AddService{kWeb6, {.scheduler = "rr", .netmask_prefix = 128}},
                         AddDestination{kWeb6, kRs6, nat(1)}, DeleteDestination{kWeb, kRs1},
                         DeleteService{kDns}}},
        ReconcileCase{.name = "RestartAdoptsMatchingEntriesBesideForeignOnes",
                      .actual = with(base_table(),
                                     [](Table& t) {
                                       t[kForeign] = {.service = kRr};
                                       t.at(kWeb).stats.connections = 1234;  // live traffic
                                     }),
                      .desired = base_table(),
                      .expected = {}}),
    [](const ::testing::TestParamInfo<ReconcileCase>& info) { return info.param.name; });

TEST(Reconcile, OneWeightInALargeTableIsOneOperation) {
  Table desired;
  for (uint32_t s = 0; s < 200; ++s) {
    auto& entry = desired[ServiceKey::tcp(IpAddress::v4(0x0a000000 + s), 80)];
    entry.service = kRr;
    for (uint32_t d = 0; d < 16; ++d) {
      entry.destinations.emplace(DestinationKey{IpAddress::v4(0xc0a80000 + d), 80}, nat(1));
    }
  }
  testing::FakeDatapath kernel(desired);
  auto changed = desired;
  changed.at(ServiceKey::tcp(IpAddress::v4(0x0a000000 + 77), 80))
      .destinations.at({IpAddress::v4(0xc0a80000 + 9), 80})
      .weight = 0;
  auto operations = reconcile(kernel.table(), changed, {});
  (void)kernel.apply(operations);
  EXPECT_EQ(kernel.sent(), 1U);
  EXPECT_EQ(kernel.sent(OperationKind::kEditDestination), 1U);
  EXPECT_EQ(kernel.table(), changed);
}

TEST(Reconcile, FailedOperationsAreRetriedByTheNextPass) {
  Table desired = base_table();
  testing::FakeDatapath kernel;
  kernel.fail_operation(AddDestination{kWeb, kRs2, nat(1)}, ENOMEM);
  auto first = reconcile(kernel.table(), desired, {});
  auto results = kernel.apply(first);
  EXPECT_EQ(kernel.failed(), 1U);
  auto second = reconcile(kernel.table(), desired, {});
  EXPECT_EQ(describe(second), describe({AddDestination{kWeb, kRs2, nat(1)}}));
  for (const auto& result : kernel.apply(second))
    EXPECT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(kernel.table(), desired);
}

TEST(NextOwnership, KeepsWhatCouldNotBeDeletedAndDropsWhatIsGone) {
  Table actual = base_table();
  actual[kDns] = {.service = kRr};
  actual[kForeign] = {.service = kRr};
  Table desired = with(base_table(), [](Table& t) { t.erase(kMark); });
  Ownership previous{{kWeb, kMark, kDns, kWeb6}};  // kWeb6 was deleted by hand
  auto operations = reconcile(actual, desired, previous);
  ASSERT_EQ(describe(operations), describe({DeleteService{kDns}, DeleteService{kMark}}));
  std::vector<OpResult> results = {{.error = EBUSY, .message = "busy"}, {}};
  auto next = next_ownership(actual, desired, previous, operations, results);
  EXPECT_EQ(next.services, (std::set<ServiceKey>{kWeb, kDns}));

  std::vector<Operation> flush = {Flush{}};
  std::vector<OpResult> flushed = {{}};
  EXPECT_EQ(next_ownership(actual, desired, previous, flush, flushed).services,
            (std::set<ServiceKey>{kWeb}));
}

TEST(PlanShutdown, RemovesOwnedFlushesOrKeeps) {
  Table actual = base_table();
  actual[kForeign] = {.service = kRr};
  Ownership owned{{kWeb, kMark, kDns}};
  EXPECT_EQ(describe(plan_shutdown(actual, owned, ShutdownMode::kRemoveOwned)),
            describe({DeleteService{kWeb}, DeleteService{kMark}}));
  EXPECT_EQ(describe(plan_shutdown(actual, owned, ShutdownMode::kFlushAll)), describe({Flush{}}));
  EXPECT_TRUE(plan_shutdown(actual, owned, ShutdownMode::kKeepAll).empty());
  EXPECT_TRUE(plan_shutdown({}, owned, ShutdownMode::kFlushAll).empty());

  testing::FakeDatapath kernel(actual);
  (void)kernel.apply(plan_shutdown(actual, owned, ShutdownMode::kRemoveOwned));
  EXPECT_EQ(kernel.table(), (Table{{kForeign, {.service = kRr}}}));
}

// --- property test: random tables with a fixed seed ---

class RandomTables {
 public:
  explicit RandomTables(uint32_t seed) : rng_(seed) {}

  Table table(size_t max_services) {
    Table table;
    size_t count = pick(max_services + 1);
    for (size_t i = 0; i < count; ++i) {
      auto key = service_key();
      auto& entry = table[key];
      entry.service = service(key);
      size_t destinations = pick(5);
      for (size_t d = 0; d < destinations; ++d) {
        auto destination_key = destination_key_for();
        entry.destinations[destination_key] = destination(key, destination_key);
      }
    }
    return table;
  }

  // A copy of `table` with a few random mutations, so the two share most entries.
  Table mutate(Table table) {
    size_t changes = pick(6);
    for (size_t i = 0; i < changes && !table.empty(); ++i) {
      auto it = std::next(table.begin(), static_cast<long>(pick(table.size())));
      switch (pick(5)) {
        case 0:
          it->second.service = service(it->first);
          break;
        case 1:
          table.erase(it);
          break;
        case 2: {
          auto key = destination_key_for();
          it->second.destinations[key] = destination(it->first, key);
          break;
        }
        case 3:
          if (!it->second.destinations.empty()) {
            it->second.destinations.erase(
                std::next(it->second.destinations.begin(),
                          static_cast<long>(pick(it->second.destinations.size()))));
          }
          break;
        default: {
          auto key = service_key();
          table[key].service = service(key);
          break;
        }
      }
    }
    return table;
  }

  size_t pick(size_t bound) { return std::uniform_int_distribution<size_t>(0, bound - 1)(rng_); }

  ServiceKey service_key() {
    static const char* const kAddresses[] = {"10.0.0.1", "10.0.0.2", "2001:db8::1"};
    switch (pick(4)) {
      case 0:
        return ServiceKey::firewall_mark(
            static_cast<uint32_t>(1 + pick(2)),
            pick(2) == 0 ? AddressFamily::kIpv4 : AddressFamily::kIpv6);
      case 1:
        return ServiceKey::udp(ip(kAddresses[pick(3)]), 53);
      default:
        return ServiceKey::tcp(ip(kAddresses[pick(3)]), static_cast<uint16_t>(80 + pick(2)));
    }
  }

  Service service(const ServiceKey& key) {
    static const char* const kSchedulers[] = {"rr", "wrr", "sh", "mh"};
    Service service{.scheduler = kSchedulers[pick(4)]};
    service.flags.persistent = pick(2) == 0;
    service.flags.sched_flag_1 = pick(3) == 0;
    service.flags.sched_flag_2 = pick(3) == 0;
    service.persistence_timeout = seconds(service.flags.persistent ? 60 * (1 + pick(5)) : 0);
    service.netmask_prefix = pick(2) == 0 ? host_prefix(key.family()) : 24;
    service.persistence_engine = pick(4) == 0 ? "sip" : "";
    return service;
  }

  DestinationKey destination_key_for() {
    static const char* const kAddresses[] = {"192.168.1.1", "192.168.1.2", "192.168.1.3",
                                             "2001:db8:1::1", "2001:db8:1::2"};
    return {ip(kAddresses[pick(5)]), static_cast<uint16_t>(80 + pick(2))};
  }

  Destination destination(const ServiceKey& service, const DestinationKey& key) {
    Destination destination;
    // Mixed family is allowed only with TUN.
    destination.method = key.address.family() != service.family()
                             ? ForwardingMethod::kTunnel
                             : static_cast<ForwardingMethod>(std::array{0, 2, 3}[pick(3)]);
    destination.weight = static_cast<int32_t>(pick(4));
    destination.upper_threshold = static_cast<uint32_t>(pick(3) * 100);
    destination.lower_threshold = destination.upper_threshold / 2;
    if (destination.method == ForwardingMethod::kTunnel) {
      destination.tunnel_type = static_cast<TunnelType>(pick(3));
      destination.tunnel_port =
          destination.tunnel_type == TunnelType::kGue ? static_cast<uint16_t>(6080 + pick(2)) : 0;
      destination.tunnel_flags = TunnelFlags::from_bits(static_cast<uint16_t>(pick(4)));
    }
    return destination;
  }

 private:
  std::mt19937 rng_;
};

bool mentions(const Operation& operation, const ServiceKey& key) {
  return std::visit(
      [&key](const auto& op) {
        using Op = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<Op, Flush>) {
          return true;
        } else if constexpr (requires { op.service.scheduler; }) {
          return op.key == key;  // AddService / EditService
        } else if constexpr (std::is_same_v<Op, DeleteService>) {
          return op.key == key;
        } else {
          return op.service == key;
        }
      },
      operation);
}

bool is_removal(const Operation& operation) {
  return std::holds_alternative<DeleteService>(operation) ||
         std::holds_alternative<DeleteDestination>(operation);
}

TEST(ReconcileProperty, ApplyingThePlanToRandomTablesYieldsTheDesiredTable) {
  RandomTables random(20261122);
  for (int round = 0; round < 400; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Table actual = random.table(6);
    Table desired = random.pick(3) == 0 ? random.table(6) : random.mutate(actual);
    // Own a random subset of what is in the kernel; the rest is foreign.
    Ownership owned;
    for (const auto& [key, entry] : actual) {
      if (random.pick(2) == 0) owned.services.insert(key);
    }
    ReconcileOptions options{.flush_foreign = random.pick(4) == 0};

    auto operations = reconcile(actual, desired, owned, options);

    // Capacity first: no add or edit after the first removal.
    bool removing = false;
    for (const auto& operation : operations) {
      if (is_removal(operation)) removing = true;
      EXPECT_TRUE(!removing || is_removal(operation)) << to_string(operation);
    }
    // Minimal: nothing touches a service that is already as desired.
    for (const auto& [key, entry] : desired) {
      auto it = actual.find(key);
      if (it == actual.end() || !(it->second == entry)) continue;
      for (const auto& operation : operations) {
        EXPECT_FALSE(mentions(operation, key)) << to_string(operation);
      }
    }

    testing::FakeDatapath kernel(actual);
    auto results = kernel.apply(operations);
    for (size_t i = 0; i < results.size(); ++i) {
      ASSERT_TRUE(results[i].ok()) << to_string(operations[i]) << ": " << results[i].message;
    }
    Table expected = desired;
    if (!options.flush_foreign) {
      for (const auto& [key, entry] : actual) {
        if (!desired.contains(key) && !owned.contains(key)) expected.emplace(key, entry);
      }
    }
    ASSERT_EQ(kernel.table(), expected);

    auto next = next_ownership(actual, desired, owned, operations, results);
    EXPECT_TRUE(reconcile(kernel.table(), desired, next, options).empty());
    EXPECT_TRUE(reconcile(desired, desired, owned, options).empty());
  }
}

}  // namespace
}  // namespace vigil::datapath
