// vigilctl vrrp maintenance and vrrp stats on the VRRP side, over a fake host in virtual time:
// a master hands over with priority 0 and stays BACKUP, a restart with the state file's entry
// never becomes MASTER, a sync group moves together, orphaned entries stay; stats --clear shows
// zeroes while /metrics' counters keep counting.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "api/metrics.h"
#include "config/test_util.h"
#include "daemon/vrrp/fake_vrrp_host.h"
#include "daemon/vrrp/vrrp_runtime.h"

namespace vigil::daemon {
namespace {

constexpr const char* kConfig = R"(global_defs {
  vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress { 10.0.0.100/24 }
}
)";

constexpr const char* kGroupConfig = R"(vrrp_sync_group G1 {
  group { VI_1 VI_2 }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress { 10.0.0.100/24 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 150
  advert_int 1
  virtual_ipaddress { 10.0.0.101/24 }
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 53
  priority 150
  advert_int 1
  virtual_ipaddress { 10.0.0.102/24 }
}
)";

VrrpServiceOptions options(std::map<std::string, std::string> maintenance = {}) {
  return VrrpServiceOptions{
      .primary_address = [](const std::string&, AddressFamily) -> Result<IpAddress> {
        return *IpAddress::parse("10.0.0.1");
      },
      .maintenance = std::move(maintenance)};
}

const api::VrrpInstanceStatus& instance(const api::StatusPart& part, const std::string& name) {
  auto it = std::find_if(part.vrrp.begin(), part.vrrp.end(),
                         [&](const auto& vi) { return vi.name == name; });
  EXPECT_NE(it, part.vrrp.end()) << name;
  return *it;
}

TEST(VrrpMaintenance, AMasterSendsPriorityZeroStepsDownAndNeverTakesOverUntilOff) {
  testing::FakeVrrpHost host;
  std::unique_ptr<config::Parsed> parsed;
  const config::Config& config = config::testing::parse_ok(parsed, kConfig);
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(config));
  host.clock.advance(5s);
  ASSERT_EQ(instance(runtime.status(), "VI_1").state, "MASTER");
  const auto vip = *IpPrefix::parse("10.0.0.100/24");
  ASSERT_TRUE(host.present.contains(vip));

  auto done = runtime.set_maintenance({.on = true, .instance = "VI_1", .reason = "kernel"});
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->change.changed, std::vector<std::string>{"VI_1"});
  EXPECT_EQ(host.sent_for(51).back().priority(), 0);
  EXPECT_FALSE(host.present.contains(vip));
  auto status = instance(runtime.status(), "VI_1");
  EXPECT_EQ(status.state, "BACKUP");
  EXPECT_TRUE(status.maintenance);
  EXPECT_EQ(status.maintenance_reason, "kernel");
  ASSERT_TRUE(status.last_transition);
  EXPECT_EQ(status.last_transition->reason, "maintenance");
  // No peer at all, for a long time: still BACKUP, sending nothing.
  const size_t sent = host.sent_for(51).size();
  host.clock.advance(60s);
  EXPECT_EQ(instance(runtime.status(), "VI_1").state, "BACKUP");
  EXPECT_EQ(host.sent_for(51).size(), sent);
  const std::string metrics = api::render_metrics({runtime.metrics()});
  EXPECT_NE(metrics.find("vigil_vrrp_instance_maintenance{vrrp_instance=\"VI_1\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("vigil_vrrp_priority_zero_adverts_sent_total{vrrp_instance=\"VI_1\"} 1\n"),
            std::string::npos);
  // Again: nothing changes.
  done = runtime.set_maintenance({.on = true, .instance = "VI_1"});
  ASSERT_TRUE(done);
  EXPECT_EQ(done->change.unchanged, std::vector<std::string>{"VI_1"});

  done = runtime.set_maintenance({.on = false, .instance = "VI_1"});
  ASSERT_TRUE(done);
  EXPECT_FALSE(instance(runtime.status(), "VI_1").maintenance);
  host.clock.advance(5s);  // Master_Down_Interval without a peer
  EXPECT_EQ(instance(runtime.status(), "VI_1").state, "MASTER");
  EXPECT_FALSE(runtime.set_maintenance({.on = true, .instance = "VI_9"}));
  runtime.stop();
}

TEST(VrrpMaintenance, ARestartInMaintenanceNeverBecomesMaster) {
  testing::FakeVrrpHost host;
  std::unique_ptr<config::Parsed> parsed;
  const config::Config& config = config::testing::parse_ok(parsed, kConfig);
  VrrpRuntime runtime(host, options({{"VI_1", "restarted"}, {"VI_OLD", ""}}));
  ASSERT_TRUE(runtime.start(config));
  host.clock.advance(60s);
  const auto status = runtime.status();
  EXPECT_EQ(instance(status, "VI_1").state, "BACKUP");
  EXPECT_TRUE(instance(status, "VI_1").maintenance);
  EXPECT_TRUE(host.sent_for(51).empty());
  EXPECT_TRUE(host.present.empty());
  // The entry without its instance is kept (orphaned) and shown; off drops it.
  ASSERT_EQ(status.warnings.size(), 1U);
  EXPECT_NE(status.warnings[0].find("VI_OLD is orphaned"), std::string::npos);
  auto done = runtime.set_maintenance({.on = false, .instance = "VI_OLD"});
  ASSERT_TRUE(done);
  EXPECT_EQ(done->change.changed, std::vector<std::string>{"VI_OLD"});
  EXPECT_TRUE(runtime.status().warnings.empty());
  runtime.stop();
}

TEST(VrrpMaintenance, AnInstanceRemovedByReloadKeepsItsEntryOrphanedUntilItComesBack) {
  testing::FakeVrrpHost host;
  std::unique_ptr<config::Parsed> parsed;
  const config::Config& config = config::testing::parse_ok(parsed, kConfig);
  std::unique_ptr<config::Parsed> parsed_other;
  const config::Config& without = config::testing::parse_ok(
      parsed_other,
      "vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 52\n"
      "  priority 100\n  advert_int 1\n  virtual_ipaddress { 10.0.0.101/24 }\n}\n");
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(config));
  ASSERT_TRUE(runtime.set_maintenance({.on = true, .instance = "VI_1"}));
  runtime.reload(without);
  auto status = runtime.status();
  ASSERT_EQ(status.warnings.size(), 1U);
  EXPECT_NE(status.warnings[0].find("VI_1 is orphaned"), std::string::npos);
  // Back: in maintenance from its first moment.
  runtime.reload(config);
  host.clock.advance(60s);
  status = runtime.status();
  EXPECT_TRUE(status.warnings.empty());
  EXPECT_EQ(instance(status, "VI_1").state, "BACKUP");
  EXPECT_TRUE(instance(status, "VI_1").maintenance);
  runtime.stop();
}

TEST(VrrpMaintenance, ASyncGroupMovesTogether) {
  testing::FakeVrrpHost host;
  std::unique_ptr<config::Parsed> parsed;
  const config::Config& config = config::testing::parse_ok(parsed, kGroupConfig);
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(config));
  host.clock.advance(5s);
  auto done = runtime.set_maintenance({.on = true, .instance = "VI_2"});
  ASSERT_TRUE(done);
  EXPECT_EQ(done->change.changed, (std::vector<std::string>{"VI_1", "VI_2"}));
  host.clock.advance(60s);
  auto status = runtime.status();
  EXPECT_EQ(instance(status, "VI_1").state, "BACKUP");
  EXPECT_EQ(instance(status, "VI_2").state, "BACKUP");
  EXPECT_TRUE(instance(status, "VI_1").maintenance);
  EXPECT_EQ(instance(status, "VI_3").state, "MASTER");
  EXPECT_FALSE(instance(status, "VI_3").maintenance);
  // --all, then off --all.
  done = runtime.set_maintenance({.on = true, .all = true});
  ASSERT_TRUE(done);
  EXPECT_EQ(done->change.changed, std::vector<std::string>{"VI_3"});
  EXPECT_EQ(instance(runtime.status(), "VI_3").state, "BACKUP");
  done = runtime.set_maintenance({.on = false, .all = true});
  ASSERT_TRUE(done);
  EXPECT_EQ(done->change.changed.size(), 3U);
  host.clock.advance(10s);
  for (const auto* name : {"VI_1", "VI_2", "VI_3"})
    EXPECT_EQ(instance(runtime.status(), name).state, "MASTER") << name;
  runtime.stop();
}

TEST(VrrpStats, ClearShowsTheDifferenceAndMetricsKeepCounting) {
  testing::FakeVrrpHost host;
  std::unique_ptr<config::Parsed> parsed;
  const config::Config& config = config::testing::parse_ok(parsed, kConfig);
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(config));
  host.clock.advance(10s);
  auto stats = runtime.stats(std::nullopt);
  ASSERT_TRUE(stats);
  ASSERT_EQ(stats->size(), 1U);
  const uint64_t sent = (*stats)[0].counters.adverts_sent;
  EXPECT_GT(sent, 0U);
  EXPECT_EQ((*stats)[0].counters.became_master, 1U);
  EXPECT_FALSE((*stats)[0].cleared_seconds_ago);

  stats = runtime.stats(std::string());  // clear every instance
  ASSERT_TRUE(stats);
  EXPECT_EQ((*stats)[0].counters, api::counters_since((*stats)[0].counters, (*stats)[0].counters));
  EXPECT_EQ((*stats)[0].counters.adverts_sent, 0U);
  EXPECT_EQ((*stats)[0].counters.became_master, 0U);
  EXPECT_EQ((*stats)[0].cleared_seconds_ago, 0.0);

  host.clock.advance(3s);
  stats = runtime.stats(std::nullopt);
  ASSERT_TRUE(stats);
  EXPECT_GT((*stats)[0].counters.adverts_sent, 0U);
  EXPECT_LT((*stats)[0].counters.adverts_sent, sent);
  EXPECT_EQ((*stats)[0].cleared_seconds_ago, 3.0);
  // /metrics never goes back: it still counts from the start.
  const std::string metrics = api::render_metrics({runtime.metrics()});
  const std::string line = "vigil_vrrp_adverts_sent_total{vrrp_instance=\"VI_1\"} ";
  const auto at = metrics.find(line);
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_GT(std::stoull(metrics.substr(at + line.size())), sent);
  EXPECT_FALSE(runtime.stats(std::string("VI_9")));
  runtime.stop();
}

TEST(VrrpMaintenance, TargetsAreTheInstanceItsGroupOrAll) {
  const std::map<std::string, std::string> groups = {{"A", "G"}, {"B", "G"}, {"C", ""}};
  using Targets = std::vector<std::string>;
  EXPECT_EQ(*maintenance_targets({.on = true, .instance = "C"}, groups, {}), Targets{"C"});
  EXPECT_EQ(*maintenance_targets({.on = true, .instance = "B"}, groups, {}), (Targets{"A", "B"}));
  EXPECT_EQ(*maintenance_targets({.on = true, .all = true}, groups, {"X"}),
            (Targets{"A", "B", "C"}));
  EXPECT_EQ(*maintenance_targets({.on = false, .all = true}, groups, {"X"}),
            (Targets{"A", "B", "C", "X"}));
  EXPECT_EQ(*maintenance_targets({.on = false, .instance = "X"}, groups, {"X"}), Targets{"X"});
  auto unknown = maintenance_targets({.on = true, .instance = "X"}, groups, {"X"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "no vrrp_instance X");
}

}  // namespace
}  // namespace vigil::daemon
