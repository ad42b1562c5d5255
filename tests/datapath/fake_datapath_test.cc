#include "fakes/fake_datapath.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

namespace vigil::testing {
namespace {

using namespace vigil::datapath;  // NOLINT(google-build-using-namespace)

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

const ServiceKey kVs = ServiceKey::tcp(ip("10.0.0.1"), 80);
const DestinationKey kRs1{ip("192.168.1.1"), 80};
const DestinationKey kRs2{ip("192.168.1.2"), 80};

std::vector<int> errors(const std::vector<OpResult>& results) {
  std::vector<int> codes;
  for (const auto& result : results)
    codes.push_back(result.error);
  return codes;
}

TEST(FakeDatapath, FollowsTheKernelsErrorRules) {
  FakeDatapath kernel;
  std::vector<Operation> ops = {
      EditService{kVs, {.scheduler = "rr"}},              // ESRCH: no such service
      AddDestination{kVs, kRs1, {}},                      // ESRCH: no such service
      AddService{kVs, {.scheduler = "rr"}},               // ok
      AddService{kVs, {.scheduler = "wrr"}},              // EEXIST
      AddDestination{kVs, kRs1, {.weight = 2}},           // ok
      AddDestination{kVs, kRs1, {.weight = 3}},           // EEXIST
      EditDestination{kVs, kRs2, {}},                     // ENOENT: no such destination
      DeleteDestination{kVs, kRs2},                       // ENOENT
      EditService{kVs, {.scheduler = "nosuch"}},          // ENOENT: no scheduler module
      AddDestination{kVs, kRs2, {.weight = -1}},          // ERANGE
      AddDestination{kVs, kRs2, {.lower_threshold = 5}},  // ERANGE: lower above upper (0)
      AddDestination{kVs,
                     kRs2,
                     {.method = ForwardingMethod::kTunnel,
                      .tunnel_type = TunnelType::kGue}},   // EINVAL: GUE needs a port
      DeleteService{ServiceKey::udp(ip("10.0.0.1"), 80)},  // ESRCH
  };
  EXPECT_EQ(errors(kernel.apply(ops)),
            (std::vector<int>{ESRCH, ESRCH, 0, EEXIST, 0, EEXIST, ENOENT, ENOENT, ENOENT, ERANGE,
                              ERANGE, EINVAL, ESRCH}));
  ASSERT_EQ(kernel.table().size(), 1U);
  const auto& entry = kernel.table().at(kVs);
  EXPECT_EQ(entry.service.scheduler, "rr");
  ASSERT_EQ(entry.destinations.size(), 1U);
  EXPECT_EQ(entry.destinations.at(kRs1).weight, 2);
  EXPECT_EQ(kernel.sent(), ops.size());
  EXPECT_EQ(kernel.failed(), ops.size() - 2);
  EXPECT_EQ(kernel.sent(OperationKind::kAddDestination), 6U);
  EXPECT_EQ(kernel.applied(OperationKind::kAddDestination), 1U);
  EXPECT_EQ(kernel.applied(OperationKind::kAddService), 1U);
  EXPECT_EQ(kernel.applied(OperationKind::kEditService), 0U);
}

TEST(FakeDatapath, MixedFamilyDestinationsNeedTunnel) {
  FakeDatapath kernel;
  DestinationKey v6_rs{ip("2001:db8::2"), 80};
  std::vector<Operation> ops = {
      AddService{kVs, {}},
      AddDestination{kVs, v6_rs, {.method = ForwardingMethod::kNat}},
      AddDestination{kVs, v6_rs, {.method = ForwardingMethod::kTunnel}},
      EditDestination{kVs, v6_rs, {.method = ForwardingMethod::kDirectRoute}},
  };
  EXPECT_EQ(errors(kernel.apply(ops)), (std::vector<int>{0, EINVAL, 0, EINVAL}));
  EXPECT_EQ(kernel.table().at(kVs).destinations.at(v6_rs).method, ForwardingMethod::kTunnel);
}

TEST(FakeDatapath, Ipv6NetmaskMustBeAPrefixLength) {
  FakeDatapath kernel;
  auto v6 = ServiceKey::tcp(ip("2001:db8::1"), 80);
  std::vector<Operation> ops = {AddService{v6, {.netmask_prefix = 0}},
                                AddService{v6, {.netmask_prefix = 128}}};
  EXPECT_EQ(errors(kernel.apply(ops)), (std::vector<int>{EINVAL, 0}));
}

TEST(FakeDatapath, DeletingAServiceDropsItsDestinationsAndFlushDropsAll) {
  FakeDatapath kernel;
  auto other = ServiceKey::firewall_mark(5, AddressFamily::kIpv4);
  std::vector<Operation> setup = {AddService{kVs, {}}, AddDestination{kVs, kRs1, {}},
                                  AddDestination{kVs, kRs2, {}}, AddService{other, {}}};
  EXPECT_EQ(errors(kernel.apply(setup)), (std::vector<int>{0, 0, 0, 0}));
  std::vector<Operation> remove = {DeleteService{kVs}, DeleteDestination{kVs, kRs1}};
  EXPECT_EQ(errors(kernel.apply(remove)), (std::vector<int>{0, ESRCH}));
  EXPECT_EQ(kernel.table().size(), 1U);
  std::vector<Operation> flush = {Flush{}};
  EXPECT_EQ(errors(kernel.apply(flush)), (std::vector<int>{0}));
  EXPECT_TRUE(kernel.table().empty());
}

TEST(FakeDatapath, InjectedFailureAffectsOnlyItsOperation) {
  FakeDatapath kernel;
  std::vector<Operation> ops = {AddService{kVs, {}}, AddDestination{kVs, kRs1, {}},
                                AddDestination{kVs, kRs2, {}}};
  kernel.fail_operation(ops[1], ENOMEM);
  auto results = kernel.apply(ops);
  EXPECT_EQ(errors(results), (std::vector<int>{0, ENOMEM, 0}));
  EXPECT_FALSE(results[1].ok());
  EXPECT_FALSE(results[1].message.empty());
  EXPECT_EQ(kernel.table().at(kVs).destinations.size(), 1U);
  // The failure was injected once: the retry succeeds.
  EXPECT_EQ(errors(kernel.apply(std::span(ops).subspan(1, 1))), (std::vector<int>{0}));
  EXPECT_EQ(kernel.journal().size(), 4U);

  kernel.fail_matching(
      [](const Operation& op) { return kind(op) == OperationKind::kEditDestination; }, EIO, 2);
  std::vector<Operation> edits = {EditDestination{kVs, kRs1, {.weight = 5}},
                                  EditDestination{kVs, kRs2, {.weight = 5}},
                                  EditDestination{kVs, kRs2, {.weight = 6}}};
  EXPECT_EQ(errors(kernel.apply(edits)), (std::vector<int>{EIO, EIO, 0}));
  EXPECT_EQ(kernel.table().at(kVs).destinations.at(kRs2).weight, 6);
}

TEST(FakeDatapath, DumpInfoAndTheirFailures) {
  FakeDatapath kernel;
  auto info = kernel.info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->version_string(), "1.2.1");
  kernel.fail_info(Error{"IPVS is not available"});
  EXPECT_FALSE(kernel.info().ok());
  std::vector<Operation> ops = {AddService{kVs, {}}};
  (void)kernel.apply(ops);
  kernel.table().at(kVs).stats.connections = 42;
  auto dump = kernel.dump();
  ASSERT_TRUE(dump.ok());
  EXPECT_EQ(dump->at(kVs).stats.connections, 42U);
  kernel.fail_dump(Error{"netlink error"});
  EXPECT_FALSE(kernel.dump().ok());
  EXPECT_EQ(kernel.dumps(), 2U);
}

TEST(FakeDatapath, SyncDaemonsAndTimeouts) {
  FakeDatapath kernel;
  SyncDaemonConfig master{.state = SyncDaemonState::kMaster, .interface = "eth0", .sync_id = 7};
  EXPECT_TRUE(kernel.start_sync_daemon(master).ok());
  EXPECT_FALSE(kernel.start_sync_daemon(master).ok());                               // EEXIST
  EXPECT_FALSE(kernel.start_sync_daemon({.state = SyncDaemonState::kBackup}).ok());  // no ifname
  auto running = kernel.sync_daemons();
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1U);
  EXPECT_EQ(running->front().sync_id, 7);
  EXPECT_EQ(running->front().group, IpAddress::parse("224.0.0.81"));
  EXPECT_TRUE(kernel.stop_sync_daemon(SyncDaemonState::kMaster).ok());
  EXPECT_FALSE(kernel.stop_sync_daemon(SyncDaemonState::kMaster).ok());  // ESRCH

  EXPECT_TRUE(kernel.set_timeouts({.tcp_fin = std::chrono::seconds(30)}).ok());
  auto timeouts = kernel.timeouts();
  ASSERT_TRUE(timeouts.ok());
  EXPECT_EQ(*timeouts, (Timeouts{.tcp = std::chrono::seconds(900),
                                 .tcp_fin = std::chrono::seconds(30),
                                 .udp = std::chrono::seconds(300)}));
}

}  // namespace
}  // namespace vigil::testing
