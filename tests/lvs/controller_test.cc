#include "lvs/controller.h"

#include <gtest/gtest.h>

#include <random>

#include "check/engine.h"
#include "config/parser.h"
#include "fakes/fake_datapath.h"
#include "fakes/fake_scheduler.h"
#include "lvs/fullnat.h"

namespace vigil::lvs {
namespace {

using datapath::DestinationKey;
using datapath::OperationKind;
using datapath::ServiceKey;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

std::string config_text(int weight, const char* extra_global = "") {
  return std::string("global_defs {\n") + extra_global + R"(
}
virtual_server 192.0.2.80 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.0.1 80 {
    weight )" +
         std::to_string(weight) + R"(
  }
  real_server 10.0.0.2 80 {
  }
}
)";
}

config::Config parse(const std::string& text) {
  auto parsed = config::parse_text("test.conf", text);
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  return std::move(parsed->config);
}

const ServiceKey kWeb = ServiceKey::tcp(ip("192.0.2.80"), 80);
const ServiceKey kForeign = ServiceKey::udp(ip("198.51.100.1"), 53);

struct LvsControllerTest : ::testing::Test {
  testing::FakeScheduler scheduler;
  testing::FakeDatapath kernel;
  LvsController controller{kernel, scheduler, {.resync_interval = std::chrono::seconds(10)}};
};

TEST_F(LvsControllerTest, StartProgramsTheTable) {
  ASSERT_TRUE(controller.start(parse(config_text(3))).ok());
  ASSERT_EQ(kernel.table().size(), 1U);
  const auto& dests = kernel.table().at(kWeb).destinations;
  EXPECT_EQ(dests.at(DestinationKey{ip("10.0.0.1"), 80}).weight, 3);
  EXPECT_EQ(kernel.sent(), 3U);  // one service, two destinations
}

// The table planned against keeps no counters (a destination's counters weigh more than the
// destination); kernel() keeps the last dump's.
TEST_F(LvsControllerTest, TheTablePlannedAgainstKeepsNoCounters) {
  ASSERT_TRUE(controller.start(parse(config_text(3))).ok());
  scheduler.advance(std::chrono::seconds(10));  // a periodic pass dumps again
  ASSERT_FALSE(controller.kernel().at(kWeb).destination_stats.empty());
  EXPECT_EQ(controller.last_known(), controller.kernel());
  EXPECT_TRUE(controller.last_known().at(kWeb).destination_stats.empty());
}

TEST_F(LvsControllerTest, MissingIpvsIsAClearError) {
  kernel.fail_info(Error{"IPVS is not available in this kernel: load the ip_vs module"});
  auto status = controller.start(parse(config_text(1)));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("load the ip_vs module"), std::string::npos);
  EXPECT_EQ(kernel.sent(), 0U);
}

TEST_F(LvsControllerTest, RestartWithTheSameConfigSendsNothing) {
  ASSERT_TRUE(controller.start(parse(config_text(3))).ok());
  LvsController restarted{kernel, scheduler};
  kernel.reset_counts();
  ASSERT_TRUE(restarted.start(parse(config_text(3))).ok());
  EXPECT_EQ(kernel.sent(), 0U);
}

TEST_F(LvsControllerTest, OneChangedWeightIsOneOperationWithoutADump) {
  ASSERT_TRUE(controller.start(parse(config_text(3))).ok());
  kernel.reset_counts();
  controller.update(parse(config_text(5)));
  EXPECT_EQ(kernel.sent(), 1U);
  EXPECT_EQ(kernel.sent(OperationKind::kEditDestination), 1U);
  EXPECT_EQ(kernel.dumps(), 0U);
  EXPECT_EQ(kernel.table().at(kWeb).destinations.at(DestinationKey{ip("10.0.0.1"), 80}).weight, 5);
}

check::HealthBatch verdict(const config::Config& config, bool first_in, uint32_t second_weight) {
  return {{.key = check::virtual_server_key(config.lvs.virtual_servers.at(0)),
           .desired = {
               .real_servers = {
                   {.key = {ip("10.0.0.1"), 80}, .in_ipvs = first_in, .weight = first_in ? 3U : 0U},
                   {.key = {ip("10.0.0.2"), 80}, .in_ipvs = true, .weight = second_weight}}}}};
}

TEST_F(LvsControllerTest, OneFailedServerIsOneDeleteWithoutADump) {
  const auto config = parse(config_text(3));
  ASSERT_TRUE(controller.start(config).ok());
  kernel.reset_counts();
  controller.apply_health(verdict(config, false, 1));
  EXPECT_EQ(kernel.sent(), 1U);
  EXPECT_EQ(kernel.sent(OperationKind::kDeleteDestination), 1U);
  EXPECT_EQ(kernel.dumps(), 0U);
  EXPECT_EQ(kernel.table().at(kWeb).destinations.count(DestinationKey{ip("10.0.0.1"), 80}), 0U);

  // The same verdict again changes nothing; a dynamic weight is one edit.
  kernel.reset_counts();
  controller.apply_health(verdict(config, false, 1));
  EXPECT_EQ(kernel.sent(), 0U);
  controller.apply_health(verdict(config, false, 7));
  EXPECT_EQ(kernel.sent(), 1U);
  EXPECT_EQ(kernel.sent(OperationKind::kEditDestination), 1U);
  EXPECT_EQ(kernel.table().at(kWeb).destinations.at(DestinationKey{ip("10.0.0.2"), 80}).weight, 7);
}

TEST_F(LvsControllerTest, AReloadKeepsTheCheckersVerdict) {
  const auto config = parse(config_text(3));
  ASSERT_TRUE(controller.start(config).ok());
  controller.apply_health(verdict(config, false, 1));
  kernel.reset_counts();
  // An unchanged file: the failed server stays out, nothing is sent.
  controller.update(parse(config_text(3)));
  EXPECT_EQ(kernel.sent(), 0U);
  EXPECT_EQ(kernel.table().at(kWeb).destinations.count(DestinationKey{ip("10.0.0.1"), 80}), 0U);
}

TEST_F(LvsControllerTest, VerdictsForUnconfiguredServicesAreIgnored) {
  ASSERT_TRUE(controller.start(parse(config_text(3))).ok());
  kernel.reset_counts();
  auto other = parse(R"(
virtual_server 192.0.2.81 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.0.1 80 {
  }
}
)");
  controller.apply_health(verdict(other, false, 1));
  EXPECT_EQ(kernel.sent(), 0U);
  EXPECT_TRUE(controller.health().empty());
}

TEST_F(LvsControllerTest, PeriodicPassRepairsHandEditsAndLeavesForeignServices) {
  ASSERT_TRUE(controller.start(parse(config_text(3))).ok());
  kernel.table()[kForeign].service.scheduler = "rr";
  kernel.table().at(kWeb).destinations.at(DestinationKey{ip("10.0.0.1"), 80}).weight = 9;
  kernel.table().at(kWeb).destinations.erase(DestinationKey{ip("10.0.0.2"), 80});
  kernel.reset_counts();
  scheduler.advance(std::chrono::seconds(9));
  EXPECT_EQ(kernel.dumps(), 0U);
  scheduler.advance(std::chrono::seconds(1));
  EXPECT_EQ(kernel.dumps(), 1U);
  EXPECT_EQ(kernel.sent(), 2U);  // the weight edited back, the destination re-added
  EXPECT_EQ(kernel.table().at(kWeb).destinations.size(), 2U);
  EXPECT_EQ(kernel.table().count(kForeign), 1U);
  kernel.reset_counts();
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(kernel.dumps(), 1U);
  EXPECT_EQ(kernel.sent(), 0U);  // no change: nothing sent
}

// A dump blocks the loop (a SIGHUP waits for it): a slow one spaces the periodic passes out to
// kResyncIdleFactor times its own length; a fast one again leaves resync_interval.
TEST_F(LvsControllerTest, ASlowDumpSpacesThePeriodicPassesOut) {
  ASSERT_TRUE(controller.start(parse(config_text(1))).ok());
  kernel.on_dump([this] { scheduler.advance(std::chrono::seconds(2)); });
  scheduler.advance(std::chrono::seconds(10));  // the first pass, its dump takes 2 s
  kernel.reset_counts();
  kernel.on_dump(nullptr);
  scheduler.advance(std::chrono::seconds(17));  // 18 s after the slow dump ended
  EXPECT_EQ(kernel.dumps(), 0U);
  scheduler.advance(std::chrono::seconds(1));
  EXPECT_EQ(kernel.dumps(), 1U);
  scheduler.advance(std::chrono::seconds(10));  // that dump took no time: back to 10 s
  EXPECT_EQ(kernel.dumps(), 2U);
  EXPECT_EQ(kernel.sent(), 0U);
}

TEST_F(LvsControllerTest, LvsFlushRemovesForeignServicesAtStartOnly) {
  kernel.table()[kForeign].service.scheduler = "rr";
  ASSERT_TRUE(controller.start(parse(config_text(1, "lvs_flush"))).ok());
  EXPECT_EQ(kernel.table().count(kForeign), 0U);
  kernel.table()[kForeign].service.scheduler = "rr";
  EXPECT_TRUE(controller.resync());
  EXPECT_EQ(kernel.table().count(kForeign), 1U);
}

TEST_F(LvsControllerTest, AFailedOperationIsRetriedOnTheNextPass) {
  kernel.fail_matching(
      [](const datapath::Operation& op) {
        const auto* add = std::get_if<datapath::AddDestination>(&op);
        return add != nullptr && add->key.address == ip("10.0.0.2");
      },
      EIO, 1);
  ASSERT_TRUE(controller.start(parse(config_text(1))).ok());
  EXPECT_EQ(controller.counters().operations_failed, 1U);
  EXPECT_EQ(kernel.table().at(kWeb).destinations.size(), 1U);  // the other one still landed
  EXPECT_TRUE(controller.resync());
  EXPECT_EQ(kernel.table().at(kWeb).destinations.size(), 2U);
}

// Several virtual servers (a group of three addresses, a sorry server, inhibit_on_failure,
// a FULLNAT one) and a seeded random run of verdicts and operator overrides: after each step the
// kernel holds exactly what a full recomputation from the configuration, every verdict so far
// and the overrides gives.
TEST_F(LvsControllerTest, HealthPassesPlanOnlyTheChangedServicesAndMatchAFullRecomputation) {
  const auto config = parse(R"(
virtual_server_group WEB {
  192.0.2.70-72 80
}
virtual_server group WEB {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.1.1 80 {
  }
  real_server 10.0.1.2 80 {
    weight 2
  }
}
virtual_server 192.0.2.80 80 {
  lvs_sched rr
  lvs_method DR
  protocol TCP
  quorum 2
  sorry_server 10.0.9.9 80
  real_server 10.0.2.1 80 {
    inhibit_on_failure
  }
  real_server 10.0.2.2 80 {
  }
}
virtual_server 192.0.2.81 53 {
  lvs_sched wrr
  lvs_method NAT
  protocol UDP
  real_server 10.0.3.1 53 {
  }
  real_server 10.0.3.2 53 {
  }
  real_server 10.0.3.3 53 {
  }
}
virtual_server 192.0.2.82 80 {
  lvs_sched rr
  lvs_method FULLNAT
  protocol TCP
  real_server 10.0.4.1 80 {
  }
  real_server 10.0.4.2 80 {
  }
}
)");
  ASSERT_TRUE(controller.start(config).ok());
  std::mt19937 random(12345);  // NOLINT(cert-msc32-c,cert-msc51-cpp): a fixed, repeatable run
  const auto& blocks = config.lvs.virtual_servers;
  size_t batches_with_changes = 0;
  size_t override_changes = 0;
  OverrideMap overrides;
  for (int step = 0; step < 300; ++step) {
    const auto& vs = blocks.at(random() % blocks.size());
    if (random() % 3 == 0) {  // an operator: set or clear one real server's override
      const auto& rs = vs.real_servers.at(random() % vs.real_servers.size());
      const OverrideTarget target{check::virtual_server_key(vs), {rs.address, rs.port}};
      const auto kind = random() % 4;
      if (kind == 3) {
        overrides.erase(target);
      } else {
        overrides[target] = {.kind = static_cast<OverrideKind>(kind),
                             .weight = static_cast<uint32_t>(random() % 5),
                             .configured_weight = rs.weight};
      }
      kernel.reset_counts();
      controller.set_overrides(overrides);
      if (kernel.sent() > 0) ++override_changes;
      const auto full = desired_lvs(config, {}, controller.health(), &overrides);
      ASSERT_EQ(controller.desired().table, full.table) << "step " << step;
      ASSERT_EQ(controller.desired().fullnat, full.fullnat) << "step " << step;
      ASSERT_EQ(kernel.table(), full.table) << "step " << step;
      EXPECT_EQ(kernel.dumps(), 0U);
      continue;
    }
    check::HealthBatch batch(1);
    batch[0].key = check::virtual_server_key(vs);
    for (const auto& rs : vs.real_servers) {
      const bool in = random() % 3 != 0;
      batch[0].desired.real_servers.push_back(
          {.key = {rs.address, rs.port},
           .in_ipvs = in,
           .weight = in ? 1U + static_cast<uint32_t>(random() % 4) : 0U});
    }
    if (vs.sorry_server) {
      const bool in = random() % 2 == 0;
      batch[0].desired.sorry_server = check::DesiredDestination{
          .key = {vs.sorry_server->address, vs.sorry_server->port}, .in_ipvs = in, .weight = 1};
    }
    kernel.reset_counts();
    controller.apply_health(batch);
    if (kernel.sent() > 0) ++batches_with_changes;
    const auto full = desired_lvs(config, {}, controller.health(), &overrides);
    ASSERT_EQ(controller.desired().table, full.table) << "step " << step;
    ASSERT_EQ(controller.desired().fullnat, full.fullnat) << "step " << step;
    ASSERT_EQ(kernel.table(), full.table) << "step " << step;
    EXPECT_EQ(kernel.dumps(), 0U);
  }
  EXPECT_GT(batches_with_changes, 60U);  // the run did exercise changes
  EXPECT_GT(override_changes, 30U);
}

// An operation that failed is retried by the next health pass, even one for another service.
TEST_F(LvsControllerTest, AHealthPassRetriesAFailedOperationOfAnotherService) {
  const auto config = parse(config_text(3) + R"(
virtual_server 192.0.2.81 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.0.5 80 {
  }
}
)");
  ASSERT_TRUE(controller.start(config).ok());
  const auto kOther = ServiceKey::tcp(ip("192.0.2.81"), 80);
  kernel.fail_matching(
      [](const datapath::Operation& op) {
        return std::holds_alternative<datapath::DeleteDestination>(op);
      },
      EIO, 1);
  controller.apply_health(verdict(config, false, 1));  // the delete of 10.0.0.1 fails
  EXPECT_EQ(controller.counters().operations_failed, 1U);
  EXPECT_EQ(kernel.table().at(kWeb).destinations.count(DestinationKey{ip("10.0.0.1"), 80}), 1U);
  kernel.reset_counts();
  controller.apply_health(
      {{.key = check::virtual_server_key(config.lvs.virtual_servers.at(1)),
        .desired = {
            .real_servers = {{.key = {ip("10.0.0.5"), 80}, .in_ipvs = true, .weight = 4}}}}});
  EXPECT_EQ(kernel.sent(), 2U);  // the other service's edit, and the retried delete
  EXPECT_EQ(kernel.table().at(kWeb).destinations.count(DestinationKey{ip("10.0.0.1"), 80}), 0U);
  EXPECT_EQ(kernel.table().at(kOther).destinations.at(DestinationKey{ip("10.0.0.5"), 80}).weight,
            4);
  kernel.reset_counts();
  controller.apply_health(
      {{.key = check::virtual_server_key(config.lvs.virtual_servers.at(1)),
        .desired = {
            .real_servers = {{.key = {ip("10.0.0.5"), 80}, .in_ipvs = true, .weight = 5}}}}});
  EXPECT_EQ(kernel.sent(), 1U);  // the weight only: the retried delete is done
}

TEST_F(LvsControllerTest, StopRemovesOwnedServicesOnly) {
  kernel.table()[kForeign].service.scheduler = "rr";
  ASSERT_TRUE(controller.start(parse(config_text(1))).ok());
  controller.stop();
  EXPECT_EQ(kernel.table().count(kWeb), 0U);
  EXPECT_EQ(kernel.table().count(kForeign), 1U);
}

TEST_F(LvsControllerTest, StopWithFlushOnStopFlushesEverything) {
  kernel.table()[kForeign].service.scheduler = "rr";
  ASSERT_TRUE(controller.start(parse(config_text(1, "lvs_flush_on_stop"))).ok());
  controller.stop();
  EXPECT_TRUE(kernel.table().empty());
}

TEST(LvsControllerKeep, KeepOnStopLeavesTheTable) {
  testing::FakeScheduler scheduler;
  testing::FakeDatapath kernel;
  LvsController controller{kernel, scheduler, {.keep_on_stop = true}};
  ASSERT_TRUE(controller.start(parse(config_text(1))).ok());
  kernel.reset_counts();
  controller.stop();
  EXPECT_EQ(kernel.sent(), 0U);
  EXPECT_EQ(kernel.table().size(), 1U);
}

TEST_F(LvsControllerTest, TimeoutsAreApplied) {
  ASSERT_TRUE(controller.start(parse(config_text(1, "lvs_timeouts tcp 900 udp 30"))).ok());
  auto t = kernel.timeouts();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->tcp, std::chrono::seconds(900));
  EXPECT_EQ(t->udp, std::chrono::seconds(30));
}

// FULLNAT: the source NAT hook runs at start when a service needs it, on a change, again after
// a failure (periodic pass), with an empty list at stop, and not at stop with -I.
struct FullNatHookTest : ::testing::Test {
  testing::FakeScheduler scheduler;
  testing::FakeDatapath kernel;
  std::vector<std::vector<FullNatService>> calls;
  Status next_status;
  LvsControllerOptions options(bool keep_on_stop) {
    return {.resync_interval = std::chrono::seconds(10),
            .keep_on_stop = keep_on_stop,
            .apply_fullnat = [this](const std::vector<FullNatService>& services) {
              calls.push_back(services);
              return next_status;
            }};
  }
};

std::string fullnat_text(int port) {
  return R"(
virtual_server 192.0.2.80 80 {
  lvs_sched rr
  lvs_method FULLNAT
  protocol TCP
  real_server 10.0.0.1 )" +
         std::to_string(port) + R"( {
  }
}
)";
}

TEST_F(FullNatHookTest, AppliedAtStartOnChangeAndRemovedAtStop) {
  LvsController controller{kernel, scheduler, options(false)};
  ASSERT_TRUE(controller.start(parse(fullnat_text(8080))).ok());
  ASSERT_EQ(calls.size(), 1U);
  ASSERT_EQ(calls[0].size(), 1U);
  EXPECT_EQ(calls[0][0].destinations, (std::vector<DestinationKey>{{ip("10.0.0.1"), 8080}}));
  controller.update(parse(fullnat_text(8080)));
  EXPECT_EQ(calls.size(), 1U);  // unchanged: nft does not run
  controller.update(parse(fullnat_text(8081)));
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[1][0].destinations, (std::vector<DestinationKey>{{ip("10.0.0.1"), 8081}}));
  controller.stop();
  ASSERT_EQ(calls.size(), 3U);
  EXPECT_TRUE(calls[2].empty());
}

TEST_F(FullNatHookTest, WithoutFullNatServicesOnlyAStaleTableIsRemovedAtStart) {
  LvsController controller{kernel, scheduler, options(false)};
  ASSERT_TRUE(controller.start(parse(config_text(1))).ok());
  ASSERT_EQ(calls.size(), 1U);  // a killed vigild may have left the table
  EXPECT_TRUE(calls[0].empty());
  scheduler.advance(std::chrono::seconds(25));
  controller.stop();
  EXPECT_EQ(calls.size(), 1U);  // known absent: nft does not run again
}

TEST_F(FullNatHookTest, AFailedStaleTableRemovalIsNotRetried) {
  LvsController controller{kernel, scheduler, options(false)};
  next_status = Error{"cannot run nft: No such file or directory"};
  ASSERT_TRUE(controller.start(parse(config_text(1))).ok());
  scheduler.advance(std::chrono::seconds(25));
  EXPECT_EQ(calls.size(), 1U);
  EXPECT_EQ(controller.counters().fullnat_failures, 0U);
}

TEST_F(FullNatHookTest, AFailureIsRetriedByThePeriodicPass) {
  LvsController controller{kernel, scheduler, options(false)};
  next_status = Error{"nft: not found"};
  ASSERT_TRUE(controller.start(parse(fullnat_text(8080))).ok());
  EXPECT_EQ(controller.counters().fullnat_failures, 1U);
  next_status = {};
  scheduler.advance(std::chrono::seconds(10));
  ASSERT_EQ(calls.size(), 2U);
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(calls.size(), 2U);  // applied: the next pass leaves it
}

TEST_F(FullNatHookTest, KeptAtStopWithDontReleaseIpvs) {
  LvsController controller{kernel, scheduler, options(true)};
  ASSERT_TRUE(controller.start(parse(fullnat_text(8080))).ok());
  controller.stop();
  EXPECT_EQ(calls.size(), 1U);
}

// The periodic pass reads the FULLNAT table back (one read per pass) and restores it when it
// was deleted or changed; it reads nothing without FULLNAT services. Each apply is read back.
struct FullNatRepairTest : FullNatHookTest {
  int reads = 0;
  std::optional<std::string> table;  // what nft would list; nothing: the table does not exist
  std::string nft_extra;             // what this nft adds to its listing of vigil's ruleset
  LvsControllerOptions repair_options() {
    auto o = options(false);
    o.apply_fullnat = [this](const std::vector<FullNatService>& services) {
      calls.push_back(services);
      if (!next_status) return next_status;
      table =
          services.empty() ? std::nullopt : std::optional<std::string>(fullnat_listing(services));
      return Status{};
    };
    o.read_fullnat = [this]() -> Result<std::string> {
      ++reads;
      if (!table) return Error{"nft list table inet vigil_fullnat failed (status 256)"};
      return *table;
    };
    return o;
  }
  // nft's listing: tab-indented, with the ruleset's lines.
  static std::string fullnat_listing(const std::vector<FullNatService>& services) {
    std::string ruleset = fullnat_ruleset(services);
    std::string listing;
    size_t line_start = 0;
    int line_number = 0;
    while (line_start < ruleset.size()) {
      size_t end = ruleset.find('\n', line_start);
      std::string line = ruleset.substr(line_start, end - line_start);
      line_start = end + 1;
      if (++line_number <= 2) continue;  // the create-and-delete preamble
      size_t indent = line.find_first_not_of(' ');
      listing += std::string(indent / 2, '\t') + line.substr(indent) + "\n";
    }
    return listing;
  }
};

TEST_F(FullNatRepairTest, ADeletedTableIsRestoredByTheNextPass) {
  LvsController controller{kernel, scheduler, repair_options()};
  ASSERT_TRUE(controller.start(parse(fullnat_text(8080))).ok());
  ASSERT_EQ(calls.size(), 1U);
  EXPECT_EQ(reads, 1);  // the apply read back
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(reads, 2);
  EXPECT_EQ(calls.size(), 1U);  // as applied: nothing to do
  table.reset();                // nft delete table inet vigil_fullnat
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(reads, 4);  // the pass's read and the restore's read-back
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[1], calls[0]);
  EXPECT_EQ(controller.counters().fullnat_repairs, 1U);
  ASSERT_TRUE(table.has_value());
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(reads, 5);
  EXPECT_EQ(calls.size(), 2U);
}

TEST_F(FullNatRepairTest, AChangedRuleIsRestored) {
  LvsController controller{kernel, scheduler, repair_options()};
  ASSERT_TRUE(controller.start(parse(fullnat_text(8080))).ok());
  // Changed before the first pass read it: still restored.
  table->replace(table->find("dport 8080"), 10, "dport 9090");
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(calls.size(), 2U);
  EXPECT_EQ(controller.counters().fullnat_repairs, 1U);
  EXPECT_NE(table->find("dport 8080"), std::string::npos);
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(calls.size(), 2U);
}

TEST_F(FullNatRepairTest, AListingVigilDoesNotRecogniseAfterItsOwnApplyDoesNotLoop) {
  nft_extra = "\t# another nft version's way of listing it\n";
  LvsController controller{kernel, scheduler, repair_options()};
  ASSERT_TRUE(controller.start(parse(fullnat_text(8080))).ok());
  scheduler.advance(std::chrono::seconds(30));
  EXPECT_EQ(calls.size(), 1U);  // not restored again and again
  EXPECT_EQ(reads, 4);
  table.reset();  // a deleted table is still restored
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(calls.size(), 2U);
}

TEST_F(FullNatRepairTest, NoReadWithoutFullNatServices) {
  LvsController controller{kernel, scheduler, repair_options()};
  ASSERT_TRUE(controller.start(parse(config_text(1))).ok());
  scheduler.advance(std::chrono::seconds(60));
  EXPECT_EQ(reads, 0);
  EXPECT_EQ(calls.size(), 1U);  // the start's removal of a stale table
}

TEST_F(FullNatRepairTest, NoReadBeforeAFailedApplySucceeds) {
  LvsController controller{kernel, scheduler, repair_options()};
  next_status = Error{"nft -f - failed (status 256)"};
  ASSERT_TRUE(controller.start(parse(fullnat_text(8080))).ok());
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(reads, 0);  // the retry is an apply, not a read
  EXPECT_EQ(calls.size(), 2U);
  next_status = {};
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(calls.size(), 3U);
  EXPECT_EQ(reads, 1);  // the read-back
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(reads, 2);
  EXPECT_EQ(calls.size(), 3U);
}

// Ownership across restarts, with the store in memory.
class MemoryOwnershipStore final : public OwnershipStore {
 public:
  Result<datapath::Ownership> load() override {
    ++loads;
    if (load_error) return Error{*load_error};
    return saved;
  }
  Status save(const datapath::Ownership& owned) override {
    ++saves;
    saved = owned;
    return {};
  }
  datapath::Ownership saved;
  std::optional<std::string> load_error;
  int loads = 0;
  int saves = 0;
};

const ServiceKey kMail = ServiceKey::tcp(ip("192.0.2.25"), 25);

std::string two_services_text() {
  return config_text(1) + R"(
virtual_server 192.0.2.25 25 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.0.3 25 {
  }
}
)";
}

struct OwnershipTest : ::testing::Test {
  testing::FakeScheduler scheduler;
  testing::FakeDatapath kernel;
  std::shared_ptr<MemoryOwnershipStore> store = std::make_shared<MemoryOwnershipStore>();
  LvsControllerOptions options(bool keep_on_stop = false) {
    return {.keep_on_stop = keep_on_stop, .ownership_store = store};
  }
};

TEST_F(OwnershipTest, SavedAfterAPassThatChangedIt) {
  LvsController controller{kernel, scheduler, options()};
  ASSERT_TRUE(controller.start(parse(two_services_text())).ok());
  EXPECT_EQ(store->loads, 1);
  EXPECT_EQ(store->saved.services, (std::set<ServiceKey>{kWeb, kMail}));
  const int saves = store->saves;
  EXPECT_TRUE(controller.resync());
  EXPECT_EQ(store->saves, saves);  // unchanged: not written again
  controller.update(parse(config_text(1)));
  EXPECT_EQ(store->saved.services, (std::set<ServiceKey>{kWeb}));
  EXPECT_EQ(kernel.table().count(kMail), 0U);
}

TEST_F(OwnershipTest, AdoptedServicesAreOwnedAndSavedToo) {
  // A restart on the same config sends nothing, but the state still names what it adopted.
  LvsController first{kernel, scheduler};
  ASSERT_TRUE(first.start(parse(config_text(1))).ok());
  kernel.reset_counts();
  LvsController controller{kernel, scheduler, options()};
  ASSERT_TRUE(controller.start(parse(config_text(1))).ok());
  EXPECT_EQ(kernel.sent(), 0U);
  EXPECT_EQ(store->saved.services, (std::set<ServiceKey>{kWeb}));
}

TEST_F(OwnershipTest, RestartWithASmallerConfigRemovesTheDroppedServiceOnly) {
  {
    LvsController killed{kernel, scheduler, options()};
    ASSERT_TRUE(killed.start(parse(two_services_text())).ok());
    // SIGKILL: no stop(), the kernel keeps both services and the state names them.
  }
  kernel.table()[kForeign].service.scheduler = "rr";  // added by hand meanwhile
  LvsController restarted{kernel, scheduler, options()};
  ASSERT_TRUE(restarted.start(parse(config_text(1))).ok());
  EXPECT_EQ(kernel.table().count(kWeb), 1U);
  EXPECT_EQ(kernel.table().count(kMail), 0U);
  EXPECT_EQ(kernel.table().count(kForeign), 1U);
  EXPECT_EQ(store->saved.services, (std::set<ServiceKey>{kWeb}));
}

TEST_F(OwnershipTest, AnOwnedServiceGoneFromTheKernelIsForgotten) {
  store->saved.services = {kWeb, kMail};
  LvsController controller{kernel, scheduler, options()};
  ASSERT_TRUE(controller.start(parse(config_text(1))).ok());
  EXPECT_EQ(store->saved.services, (std::set<ServiceKey>{kWeb}));
  // Someone else creates kMail later: it is foreign now.
  kernel.table()[kMail].service.scheduler = "rr";
  EXPECT_TRUE(controller.resync());
  EXPECT_EQ(kernel.table().count(kMail), 1U);
}

TEST_F(OwnershipTest, AnUnreadableStateOwnsNothingExtraAndStartupGoesOn) {
  kernel.table()[kMail].service.scheduler = "rr";  // owned before, but the state is lost
  store->load_error = "/run/vigil/ipvs-owned.conf:3: syntax error";
  LvsController controller{kernel, scheduler, options()};
  ASSERT_TRUE(controller.start(parse(config_text(1))).ok());
  EXPECT_EQ(kernel.table().count(kMail), 1U);  // as without a state: foreign
  EXPECT_EQ(kernel.table().count(kWeb), 1U);
  EXPECT_EQ(store->saved.services, (std::set<ServiceKey>{kWeb}));  // rewritten, valid again
}

TEST_F(OwnershipTest, StopSavesWhatIsStillOwned) {
  LvsController controller{kernel, scheduler, options()};
  ASSERT_TRUE(controller.start(parse(two_services_text())).ok());
  controller.stop();
  EXPECT_TRUE(store->saved.services.empty());
  EXPECT_TRUE(kernel.table().empty());
}

TEST_F(OwnershipTest, AFailedDeleteAtStopStaysOwnedForTheNextStart) {
  LvsController controller{kernel, scheduler, options()};
  ASSERT_TRUE(controller.start(parse(two_services_text())).ok());
  kernel.fail_matching(
      [](const datapath::Operation& op) {
        const auto* remove = std::get_if<datapath::DeleteService>(&op);
        return remove != nullptr && remove->key == kMail;
      },
      EIO, 1);
  controller.stop();
  EXPECT_EQ(store->saved.services, (std::set<ServiceKey>{kMail}));
}

TEST_F(OwnershipTest, KeepOnStopKeepsTheStateForTheNextStart) {
  {
    LvsController controller{kernel, scheduler, options(true)};
    ASSERT_TRUE(controller.start(parse(two_services_text())).ok());
    controller.stop();  // -I: everything stays, and so does the state
  }
  EXPECT_EQ(store->saved.services, (std::set<ServiceKey>{kWeb, kMail}));
  LvsController restarted{kernel, scheduler, options()};
  ASSERT_TRUE(restarted.start(parse(config_text(1))).ok());
  EXPECT_EQ(kernel.table().count(kMail), 0U);
}

// A reload whose blocks only moved in the file (lines inserted above and inside them) sends no
// IPVS operation: neither for the configuration (update) nor for the verdicts the checkers hand
// over (apply_health with what CheckEngine::load returns), as vigild runs a SIGHUP.
TEST(LvsControllerReload, BlocksThatOnlyMovedSendNoOperation) {
  struct IdleProber final : check::Prober {
    check::ProbeId start(const check::ProbeRequest&, check::ProbeDone) override { return ++last; }
    void cancel(check::ProbeId) override {}
    check::ProbeId last = 0;
  };
  testing::FakeScheduler scheduler;
  testing::FakeDatapath kernel;
  LvsController controller{kernel, scheduler, {.resync_interval = {}}};
  IdleProber prober;
  check::CheckEngine engine(scheduler, prober, [](Duration) { return Duration{0}; }, {});
  auto text = [](int weight) {
    std::string out;
    for (const char* vip : {"192.0.2.80", "192.0.2.81"}) {
      out += std::string("virtual_server ") + vip +
             " 80 {\n  lvs_sched wrr\n  lvs_method NAT\n  protocol TCP\n"
             "  real_server 10.0.0.1 80 {\n    weight " +
             std::to_string(weight) +
             "\n    TCP_CHECK {\n    }\n  }\n"
             "  real_server 10.0.0.2 80 {\n    TCP_CHECK {\n    }\n  }\n}\n";
    }
    return out;
  };
  auto reload = [&](const config::Config& config) {
    controller.update(config);
    auto batch = engine.load(config);
    ASSERT_TRUE(batch) << batch.error().message;
    controller.apply_health(*batch);
  };
  const config::Config first = parse(text(2));
  ASSERT_TRUE(controller.start(first).ok());
  auto batch = engine.load(first);
  ASSERT_TRUE(batch) << batch.error().message;
  controller.apply_health(*batch);
  const size_t sent = kernel.sent();
  ASSERT_EQ(sent, 6U);  // two services, two destinations each

  std::string moved = "\n\n# moved down\n\n" + text(2);
  moved.replace(moved.find("  real_server 10.0.0.2"), 2, "\n\n    ");
  reload(parse(moved));
  EXPECT_EQ(kernel.sent(), sent);
  // A real change still reaches the kernel: one weight edit per service.
  reload(parse(text(3)));
  EXPECT_EQ(kernel.sent(), sent + 2);
  EXPECT_EQ(kernel.sent(OperationKind::kEditDestination), 2U);
}

// ---- operator overrides ----

OverrideMap drained(const config::Config& config, const char* rs,
                    OverrideKind kind = OverrideKind::kDrain, uint32_t weight = 0) {
  return {{{check::virtual_server_key(config.lvs.virtual_servers.at(0)), {ip(rs), 80}},
           {.kind = kind, .weight = weight, .configured_weight = 3, .since = 100}}};
}

int32_t kernel_weight(const testing::FakeDatapath& kernel, const char* rs) {
  const auto& dests = kernel.table().at(kWeb).destinations;
  const auto it = dests.find(DestinationKey{ip(rs), 80});
  return it == dests.end() ? -1 : it->second.weight;
}

TEST_F(LvsControllerTest, ADrainKnownAtStartIsInTheFirstProgramming) {
  const auto config = parse(config_text(3));
  controller.set_overrides(drained(config, "10.0.0.1"));
  ASSERT_TRUE(controller.start(config).ok());
  EXPECT_EQ(kernel_weight(kernel, "10.0.0.1"), 0);
  EXPECT_EQ(kernel.sent(), 3U);  // one service, two destinations: never at weight 3 first
  for (const auto& op : kernel.journal()) {
    if (const auto* add = std::get_if<datapath::AddDestination>(&op);
        add != nullptr && add->key.address == ip("10.0.0.1")) {
      EXPECT_EQ(add->destination.weight, 0);
    }
  }
  // The checkers' first verdict (UP at 3) leaves it drained.
  kernel.reset_counts();
  controller.apply_health(verdict(config, true, 1));
  EXPECT_EQ(kernel.sent(), 0U);
  EXPECT_EQ(kernel_weight(kernel, "10.0.0.1"), 0);
}

TEST_F(LvsControllerTest, ARestartOfADrainedServerSendsNothing) {
  const auto config = parse(config_text(3));
  controller.set_overrides(drained(config, "10.0.0.1"));
  ASSERT_TRUE(controller.start(config).ok());
  LvsController restarted{kernel, scheduler};
  restarted.set_overrides(drained(config, "10.0.0.1"));
  kernel.reset_counts();
  ASSERT_TRUE(restarted.start(config).ok());
  EXPECT_EQ(kernel.sent(), 0U);
  EXPECT_EQ(kernel_weight(kernel, "10.0.0.1"), 0);
}

TEST_F(LvsControllerTest, ARuntimeOverrideIsOneOperationWithoutADump) {
  const auto config = parse(config_text(3));
  ASSERT_TRUE(controller.start(config).ok());
  struct Step {
    const char* name;
    OverrideMap overrides;
    OperationKind op;
    int32_t weight;  // 10.0.0.1 afterwards; -1: not in IPVS
  };
  const Step steps[] = {
      {"drain", drained(config, "10.0.0.1"), OperationKind::kEditDestination, 0},
      {"weight", drained(config, "10.0.0.1", OverrideKind::kWeight, 9),
       OperationKind::kEditDestination, 9},
      {"maint", drained(config, "10.0.0.1", OverrideKind::kMaint),
       OperationKind::kDeleteDestination, -1},
      {"ready", {}, OperationKind::kAddDestination, 3},
  };
  for (const auto& step : steps) {
    kernel.reset_counts();
    controller.set_overrides(step.overrides);
    EXPECT_EQ(kernel.sent(), 1U) << step.name;
    EXPECT_EQ(kernel.sent(step.op), 1U) << step.name;
    EXPECT_EQ(kernel.dumps(), 0U) << step.name;
    EXPECT_EQ(kernel_weight(kernel, "10.0.0.1"), step.weight) << step.name;
    EXPECT_EQ(kernel_weight(kernel, "10.0.0.2"), 1) << step.name;
  }
  // The same overrides again: nothing.
  kernel.reset_counts();
  controller.set_overrides({});
  EXPECT_EQ(kernel.sent(), 0U);
}

TEST_F(LvsControllerTest, ReadyNeverRevivesADownServer) {
  const auto config = parse(config_text(3));
  ASSERT_TRUE(controller.start(config).ok());
  controller.apply_health(verdict(config, false, 1));  // 10.0.0.1 DOWN
  kernel.reset_counts();
  controller.set_overrides(drained(config, "10.0.0.1"));
  EXPECT_EQ(kernel.sent(), 0U);  // out stays out
  controller.set_overrides({});
  EXPECT_EQ(kernel.sent(), 0U);
  EXPECT_EQ(kernel_weight(kernel, "10.0.0.1"), -1);
}

TEST_F(LvsControllerTest, AnOrphanedOverrideAppliesWhenItsTargetComesBack) {
  ASSERT_TRUE(controller.start(parse(config_text(3))).ok());
  const auto config = parse(config_text(3));
  OverrideMap overrides = drained(config, "10.0.0.1");
  OverrideMap orphan{
      {{overrides.begin()->first.virtual_server, {ip("10.0.0.9"), 80}}, overrides.begin()->second}};
  kernel.reset_counts();
  controller.set_overrides(orphan);
  EXPECT_EQ(kernel.sent(), 0U);
  // The reload that adds 10.0.0.9 adds it drained.
  std::string text = config_text(3);
  text.insert(text.rfind('}'), "  real_server 10.0.0.9 80 {\n  }\n");
  controller.update(std::make_shared<const config::Config>(parse(text)), orphan);
  EXPECT_EQ(kernel.sent(OperationKind::kAddDestination), 1U);
  EXPECT_EQ(kernel_weight(kernel, "10.0.0.9"), 0);
}

// ---- periodic reads on another thread (LvsControllerOptions::read_in_background) ----

// The test holds each read's answer and gives it back when it chooses, with the table as it was
// when it chooses: the reads are as late as a dump of a big table on a slow machine.
struct BackgroundReadTest : ::testing::Test {
  testing::FakeScheduler scheduler;
  testing::FakeDatapath kernel;
  std::vector<std::function<void(Result<ReadTables>)>> pending;
  std::vector<datapath::Table> freed;  // the tables handed off the loop, in order
  LvsController controller{kernel,
                           scheduler,
                           {.resync_interval = std::chrono::seconds(10),
                            .read_in_background =
                                [this](std::function<void(Result<ReadTables>)> done) {
                                  pending.push_back(std::move(done));
                                },
                            .free_in_background =
                                [this](std::vector<datapath::Table> tables) {
                                  for (auto& table : tables)
                                    freed.push_back(std::move(table));
                                }}};
  const config::Config config = parse(config_text(3));

  void SetUp() override {
    ASSERT_TRUE(controller.start(config).ok());  // the first pass dumps on the loop
    kernel.reset_counts();
  }
  void answer(Result<datapath::Table> table) {
    ASSERT_FALSE(pending.empty());
    auto done = std::move(pending.front());
    pending.erase(pending.begin());
    if (!table) {
      done(table.error());
      return;
    }
    done(read_tables(std::move(*table)));
  }
};

// The loop neither copies nor frees a table: the read brings both its tables, and the ones they
// replace go back off the loop. After a periodic read: the previous dump and the previous
// planning table; after a status refresh: the previous dump and the unused planning copy.
TEST_F(BackgroundReadTest, TheTablesTheReadReplacesAreFreedOffTheLoop) {
  const datapath::Table before = kernel.table();
  ASSERT_FALSE(before.empty());
  const datapath::Table kernel_before = controller.kernel();  // start() does not keep its dump
  scheduler.advance(std::chrono::seconds(10));
  answer(kernel.dump());
  ASSERT_EQ(freed.size(), 2U);
  EXPECT_EQ(freed[0], kernel_before);  // kernel() before the read
  EXPECT_EQ(freed[1], before);         // last_known() of the first pass
  EXPECT_EQ(controller.last_known(), before);
  EXPECT_EQ(controller.kernel(), before);
  EXPECT_FALSE(controller.kernel().begin()->second.destination_stats.empty());
  EXPECT_TRUE(controller.last_known().begin()->second.destination_stats.empty());

  freed.clear();
  scheduler.advance(std::chrono::seconds(2));  // older than refresh_kernel's 1 s
  bool refreshed = false;
  controller.refresh_kernel([&] { refreshed = true; });
  answer(kernel.dump());
  EXPECT_TRUE(refreshed);
  ASSERT_EQ(freed.size(), 2U);
  EXPECT_EQ(freed[0], before);  // the periodic read's kernel()
  EXPECT_EQ(freed[1], before);  // this read's planning copy, unused: no pass followed
  EXPECT_EQ(controller.last_known(), before);
}

TEST_F(BackgroundReadTest, ADrainDuringTheReadIsAppliedAtOnceAndNotUndoneByIt) {
  scheduler.advance(std::chrono::seconds(10));
  ASSERT_EQ(pending.size(), 1U);
  EXPECT_TRUE(controller.reading());
  EXPECT_EQ(kernel.dumps(), 0U);                // not on the loop
  const datapath::Table read = kernel.table();  // the dump saw the table before the drain
  controller.set_overrides(drained(config, "10.0.0.1"));
  EXPECT_EQ(kernel.sent(), 1U);  // the drain did not wait for the read
  EXPECT_EQ(kernel_weight(kernel, "10.0.0.1"), 0);
  answer(read);
  EXPECT_FALSE(controller.reading());
  EXPECT_EQ(kernel.sent(), 1U);  // the drain is applied to the read again: nothing to repair
  EXPECT_EQ(kernel_weight(kernel, "10.0.0.1"), 0);
  EXPECT_EQ(controller.counters().drift_repairs, 0U);
  // The next periodic pass comes resync_interval after this one ended.
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(pending.size(), 1U);
}

TEST_F(BackgroundReadTest, DriftTheReadFindsIsRepairedAndCounted) {
  kernel.table().at(kWeb).destinations.at(DestinationKey{ip("10.0.0.1"), 80}).weight = 9;
  kernel.table()[kForeign].service.scheduler = "rr";
  scheduler.advance(std::chrono::seconds(10));
  answer(kernel.table());
  EXPECT_EQ(kernel.sent(), 1U);
  EXPECT_EQ(kernel_weight(kernel, "10.0.0.1"), 3);
  EXPECT_EQ(kernel.table().count(kForeign), 1U);  // not vigil's
  EXPECT_EQ(controller.counters().drift_repairs, 1U);
}

TEST_F(BackgroundReadTest, ARefreshJoinsTheReadInFlightAndARecentReadIsNotRepeated) {
  scheduler.advance(std::chrono::seconds(10));
  int refreshed = 0;
  controller.refresh_kernel([&] { ++refreshed; });
  controller.refresh_kernel([&] { ++refreshed; });
  EXPECT_EQ(refreshed, 0);
  EXPECT_EQ(pending.size(), 1U);  // one read for the pass and both requests
  kernel.table().at(kWeb).destinations.at(DestinationKey{ip("10.0.0.2"), 80}).weight = 7;
  answer(kernel.table());
  EXPECT_EQ(refreshed, 2);
  EXPECT_EQ(controller.kernel().at(kWeb).destinations.at(DestinationKey{ip("10.0.0.2"), 80}).weight,
            7);  // kernel() is what the read saw (the pass then repaired it)
  // The repair was sent after the read: the next refresh reads again to show it.
  controller.refresh_kernel([&] { ++refreshed; });
  ASSERT_EQ(pending.size(), 1U);
  answer(kernel.table());
  EXPECT_EQ(refreshed, 3);
  controller.refresh_kernel([&] { ++refreshed; });
  EXPECT_EQ(refreshed, 4);  // at once: the read is recent and nothing was sent since
  EXPECT_TRUE(pending.empty());
}

TEST_F(BackgroundReadTest, AStaleRefreshReadsWithoutAPassAndThePassesKeepTheirPace) {
  scheduler.advance(std::chrono::seconds(5));  // the start's dump is older than 1 s
  int refreshed = 0;
  controller.refresh_kernel([&] { ++refreshed; });
  ASSERT_EQ(pending.size(), 1U);
  kernel.table().at(kWeb).destinations.at(DestinationKey{ip("10.0.0.2"), 80}).weight = 7;
  answer(kernel.table());
  EXPECT_EQ(refreshed, 1);
  EXPECT_EQ(kernel.sent(), 0U);  // a refresh only reads: the periodic pass repairs
  scheduler.advance(std::chrono::seconds(5));
  ASSERT_EQ(pending.size(), 1U);
  answer(kernel.table());
  EXPECT_EQ(kernel.sent(), 1U);
  EXPECT_EQ(controller.counters().drift_repairs, 1U);
}

TEST_F(BackgroundReadTest, AFailedReadIsCountedAndThePassesGoOn) {
  scheduler.advance(std::chrono::seconds(10));
  answer(Error{"netlink: interrupted dump"});
  EXPECT_EQ(controller.counters().dump_failures, 1U);
  EXPECT_EQ(kernel.sent(), 0U);
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(pending.size(), 1U);
}

TEST_F(BackgroundReadTest, AnAnswerAfterStopIsIgnored) {
  scheduler.advance(std::chrono::seconds(10));
  const datapath::Table read = kernel.table();
  controller.stop();
  kernel.reset_counts();
  answer(read);  // it would re-add everything stop() removed
  EXPECT_EQ(kernel.sent(), 0U);
  EXPECT_TRUE(kernel.table().empty());
}

}  // namespace
}  // namespace vigil::lvs
