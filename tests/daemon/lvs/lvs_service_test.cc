// LvsService's overrides: the state file at start (before the first programming), saved before
// each change, set aside when broken; expiry on the scheduler; reloads.
#include "daemon/lvs/lvs_service.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "config/parser.h"
#include "fakes/fake_datapath.h"
#include "fakes/fake_scheduler.h"

namespace vigil::daemon {
namespace {

namespace fs = std::filesystem;
using datapath::DestinationKey;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

const datapath::ServiceKey kWeb = datapath::ServiceKey::tcp(ip("192.0.2.80"), 80);

std::string config_text(int weight = 3, bool with_second = true) {
  std::string text = R"(
virtual_server 192.0.2.80 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.0.1 80 {
    weight )" + std::to_string(weight) +
                     "\n  }\n";
  if (with_second) text += "  real_server 10.0.0.2 80 {\n  }\n";
  return text + "}\n";
}

SharedConfig parse(const std::string& text) {
  auto parsed = config::parse_text("test.conf", text);
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  return std::make_shared<const config::Config>(std::move(parsed->config));
}

// Hands the controller a datapath that forwards to the test's fake kernel.
class Forwarding : public datapath::Datapath {
 public:
  explicit Forwarding(testing::FakeDatapath& kernel) : kernel_(kernel) {}
  Result<datapath::KernelInfo> info() override { return kernel_.info(); }
  Result<datapath::Table> dump() override { return kernel_.dump(); }
  std::vector<datapath::OpResult> apply(std::span<const datapath::Operation> ops) override {
    return kernel_.apply(ops);
  }
  Result<std::vector<datapath::SyncDaemonConfig>> sync_daemons() override {
    return kernel_.sync_daemons();
  }
  Status start_sync_daemon(const datapath::SyncDaemonConfig& c) override {
    return kernel_.start_sync_daemon(c);
  }
  Status stop_sync_daemon(datapath::SyncDaemonState s) override {
    return kernel_.stop_sync_daemon(s);
  }
  Result<datapath::Timeouts> timeouts() override { return kernel_.timeouts(); }
  Status set_timeouts(const datapath::Timeouts& t) override { return kernel_.set_timeouts(t); }

 private:
  testing::FakeDatapath& kernel_;
};

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct LvsServiceOverrides : ::testing::Test {
  LvsServiceOverrides() {
    std::string pattern = (fs::temp_directory_path() / "vigil-overrides-XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
    state = dir / "lib" / "state.conf";  // the directory is created by the first save
  }
  ~LvsServiceOverrides() override { fs::remove_all(dir); }

  std::unique_ptr<LvsService> make(const fs::path& state_file) {
    auto service = std::make_unique<LvsService>(
        scheduler,
        [this]() -> Result<std::unique_ptr<datapath::Datapath>> {
          return std::unique_ptr<datapath::Datapath>(std::make_unique<Forwarding>(kernel));
        },
        lvs::LvsControllerOptions{.resync_interval = Duration::zero()},
        OverrideStateOptions{.state_file = state_file.string(),
                             .wall_clock = [this] { return event::WallTime{.unix_seconds = wall}; },
                             .on_change = [this] { ++changes; }});
    service->set_event_sink([this](api::EventPayload what) {
      events.push_back(std::get<api::OverrideEvent>(std::move(what)));
    });
    return service;
  }
  // The events reported since the last call: "change override_kind real_server".
  std::vector<std::string> take_events() {
    std::vector<std::string> out;
    for (const auto& e : events)
      out.push_back(e.change + " " + e.override_kind + " " + e.real_server);
    taken.insert(taken.end(), events.begin(), events.end());
    events.clear();
    return out;
  }
  std::unique_ptr<LvsService> make() { return make(state); }

  lvs::OverrideTarget target(const char* rs, const SharedConfig& config) const {
    return {check::virtual_server_key(config->lvs.virtual_servers.at(0)), {ip(rs), 80}};
  }

  int32_t kernel_weight(const char* rs) const {
    const auto& dests = kernel.table().at(kWeb).destinations;
    const auto it = dests.find(DestinationKey{ip(rs), 80});
    return it == dests.end() ? -1 : it->second.weight;
  }

  fs::path dir;
  fs::path state;
  int64_t wall = 1'796'000'000;
  int changes = 0;                         // on_change calls
  std::vector<api::OverrideEvent> events;  // reported, not yet taken
  std::vector<api::OverrideEvent> taken;   // taken, in order
  testing::FakeScheduler scheduler;
  testing::FakeDatapath kernel;
};

TEST_F(LvsServiceOverrides, ADrainIsSavedAndInTheFirstProgrammingAfterARestart) {
  const auto config = parse(config_text());
  auto service = make();
  ASSERT_TRUE(service->start(config).ok());
  EXPECT_TRUE(service->overrides().empty());
  EXPECT_FALSE(fs::exists(state));  // nothing to save yet
  auto set = service->set_override({.target = target("10.0.0.1", config),
                                    .kind = lvs::OverrideKind::kDrain,
                                    .reason = "kernel upgrade",
                                    .uid = 1000,
                                    .pid = 42});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(kernel_weight("10.0.0.1"), 0);
  EXPECT_EQ(kernel_weight("10.0.0.2"), 1);
  struct stat st {};
  ASSERT_EQ(stat(state.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  EXPECT_NE(read(state).find("kernel upgrade"), std::string::npos);

  // vigild is killed (the kernel keeps its table) and the machine reboots (it does not).
  service.reset();
  kernel.table().clear();
  kernel.reset_counts();
  auto restarted = make();
  ASSERT_TRUE(restarted->start(config).ok());
  EXPECT_EQ(kernel_weight("10.0.0.1"), 0);
  for (const auto& op : kernel.journal()) {  // never programmed at its configured weight
    if (const auto* add = std::get_if<datapath::AddDestination>(&op);
        add != nullptr && add->key.address == ip("10.0.0.1"))
      EXPECT_EQ(add->destination.weight, 0);
  }
  const auto listed = restarted->overrides();
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0].target, target("10.0.0.1", config));
  EXPECT_EQ(listed[0].override_.reason, "kernel upgrade");
  EXPECT_EQ(listed[0].override_.uid, 1000U);
  EXPECT_EQ(listed[0].override_.pid, 42);
  EXPECT_EQ(listed[0].override_.since, wall);
  EXPECT_FALSE(listed[0].orphaned);

  // ready: back to its health, saved.
  ASSERT_TRUE(restarted->clear_override(target("10.0.0.1", config), 0, 1).ok());
  EXPECT_EQ(kernel_weight("10.0.0.1"), 3);
  EXPECT_EQ(read(state).find("kernel upgrade"), std::string::npos);
  EXPECT_FALSE(restarted->clear_override(target("10.0.0.1", config), 0, 1).ok());
}

TEST_F(LvsServiceOverrides, ABrokenStateFileIsSetAsideAndStartGoesOn) {
  const auto config = parse(config_text());
  struct Case {
    const char* name;
    std::string contents;  // empty: a symbolic link
  };
  const Case cases[] = {
      {"syntax error", "version = 1;\noverrides = ( { kind = ; } );\n"},
      {"unknown version", "version = 9;\noverrides = ();\n"},
      {"symbolic link", ""},
  };
  for (const auto& c : cases) {
    fs::remove_all(dir / "lib");
    fs::create_directories(dir / "lib");
    const fs::path planted = dir / "planted";
    if (c.contents.empty()) {
      std::ofstream(planted) << "version = 1;\noverrides = ();\n";
      fs::create_symlink(planted, state);
    } else {
      std::ofstream(state) << c.contents;
    }
    auto service = make();
    ASSERT_TRUE(service->start(config).ok()) << c.name;
    EXPECT_TRUE(service->overrides().empty()) << c.name;
    const fs::path aside = state.string() + ".broken-" + std::to_string(wall);
    EXPECT_FALSE(fs::exists(fs::symlink_status(state))) << c.name;
    ASSERT_TRUE(fs::exists(fs::symlink_status(aside))) << c.name;
    if (!c.contents.empty()) EXPECT_EQ(read(aside), c.contents) << c.name;
    // Changes are saved again, in a new file; the broken copy stays.
    ASSERT_TRUE(service
                    ->set_override(
                        {.target = target("10.0.0.2", config), .kind = lvs::OverrideKind::kMaint})
                    .ok())
        << c.name;
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(state))) << c.name;
    EXPECT_TRUE(fs::exists(fs::symlink_status(aside))) << c.name;
    EXPECT_EQ(read(planted), c.contents.empty() ? "version = 1;\noverrides = ();\n" : "") << c.name;
    service->stop();
  }
}

TEST_F(LvsServiceOverrides, ASaveFailureChangesNothing) {
  const auto config = parse(config_text());
  std::ofstream(dir / "not-a-directory") << "x";
  auto service = make(dir / "not-a-directory" / "state.conf");
  ASSERT_TRUE(service->start(config).ok());
  kernel.reset_counts();
  auto set = service->set_override(
      {.target = target("10.0.0.1", config), .kind = lvs::OverrideKind::kDrain});
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.error().message.find("cannot save the state file"), std::string::npos)
      << set.error().message;
  EXPECT_NE(set.error().message.find("undone"), std::string::npos) << set.error().message;
  EXPECT_TRUE(service->overrides().empty());
  EXPECT_EQ(kernel.sent(), 2U);  // the drain, then its undoing
  EXPECT_EQ(kernel_weight("10.0.0.1"), 3);
  EXPECT_EQ(changes, 0);
}

TEST_F(LvsServiceOverrides, BadRequestsAreErrors) {
  const auto config = parse(config_text());
  auto service = make();
  ASSERT_TRUE(service->start(config).ok());
  EXPECT_FALSE(
      service
          ->set_override({.target = target("10.0.0.9", config), .kind = lvs::OverrideKind::kDrain})
          .ok());
  EXPECT_FALSE(service
                   ->set_override({.target = target("10.0.0.1", config),
                                   .kind = lvs::OverrideKind::kDrain,
                                   .lasts = std::chrono::seconds(0)})
                   .ok());
  EXPECT_TRUE(service->overrides().empty());
  EXPECT_EQ(service->resolve_targets("192.0.2.80:80", "10.0.0.1:80", false),
            std::vector<lvs::OverrideTarget>{target("10.0.0.1", config)});
}

TEST_F(LvsServiceOverrides, AnOverrideForADurationExpiresOnTheScheduler) {
  const auto config = parse(config_text());
  auto service = make();
  ASSERT_TRUE(service->start(config).ok());
  ASSERT_TRUE(service
                  ->set_override({.target = target("10.0.0.1", config),
                                  .kind = lvs::OverrideKind::kWeight,
                                  .weight = 9,
                                  .lasts = std::chrono::seconds(60)})
                  .ok());
  EXPECT_EQ(kernel_weight("10.0.0.1"), 9);
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(take_events(), std::vector<std::string>{"set weight [10.0.0.1]:80"});
  EXPECT_EQ(taken.back().for_seconds, 60);
  ASSERT_EQ(service->overrides().size(), 1U);
  EXPECT_EQ(service->overrides()[0].override_.expires, wall + 60);
  wall += 59;
  scheduler.advance(std::chrono::seconds(59));
  EXPECT_EQ(kernel_weight("10.0.0.1"), 9);
  EXPECT_TRUE(take_events().empty());
  wall += 1;
  scheduler.advance(std::chrono::seconds(1));
  EXPECT_EQ(kernel_weight("10.0.0.1"), 3);
  EXPECT_TRUE(service->overrides().empty());
  EXPECT_EQ(changes, 2);
  // One event: the weight override expired; the server is back to its health (ready).
  EXPECT_EQ(take_events(), std::vector<std::string>{"expired weight [10.0.0.1]:80"});
  const api::OverrideEvent& expired = taken.back();
  EXPECT_EQ(expired.action, "ready");
  EXPECT_EQ(expired.weight, 9U);
  EXPECT_EQ(expired.virtual_server, "[192.0.2.80]:tcp:80");
  EXPECT_EQ(expired.detail, "");
  EXPECT_FALSE(expired.for_seconds);
  wall += 3600;
  scheduler.advance(std::chrono::hours(1));
  EXPECT_TRUE(take_events().empty());
  auto saved = lvs::parse_override_file(read(state), state.string());
  ASSERT_TRUE(saved.ok());
  EXPECT_TRUE(saved->empty());
}

// The VRRP side's part of the state file (vigilctl vrrp maintenance): kept by every save of the
// overrides, and saved without losing them (with the IPVS side, and without it: vigild -P).
TEST_F(LvsServiceOverrides, VrrpMaintenanceAndOverridesKeepEachOther) {
  const auto config = parse(config_text());
  const lvs::VrrpMaintenanceMap maintenance = {
      {"VI_1", lvs::VrrpMaintenance{.reason = "kernel", .uid = 0, .pid = 7, .since = 100}}};
  auto service = make();
  EXPECT_FALSE(service->save_vrrp_maintenance(maintenance).ok());  // before start: not read yet
  ASSERT_TRUE(service->start(config).ok());
  ASSERT_TRUE(service->save_vrrp_maintenance(maintenance).ok());
  ASSERT_TRUE(
      service
          ->set_override({.target = target("10.0.0.1", config), .kind = lvs::OverrideKind::kDrain})
          .ok());
  auto saved = lvs::parse_state_file(read(state), state.string());
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(saved->vrrp_maintenance, maintenance);
  EXPECT_EQ(saved->overrides.size(), 1U);
  EXPECT_EQ(read_vrrp_maintenance(state.string()), maintenance);
  // A restart reads both back; the maintenance goes, the drain stays.
  service.reset();
  auto restarted = make();
  ASSERT_TRUE(restarted->start(config).ok());
  ASSERT_TRUE(restarted->save_vrrp_maintenance({}).ok());
  saved = lvs::parse_state_file(read(state), state.string());
  ASSERT_TRUE(saved.ok());
  EXPECT_TRUE(saved->vrrp_maintenance.empty());
  EXPECT_EQ(saved->overrides.size(), 1U);
  // Without the IPVS side: only the VRRP part is replaced.
  ASSERT_TRUE(save_vrrp_maintenance_file(state.string(), maintenance).ok());
  saved = lvs::parse_state_file(read(state), state.string());
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(saved->vrrp_maintenance, maintenance);
  EXPECT_EQ(saved->overrides.size(), 1U);
  // A corrupt file is not overwritten by it, and reads as no maintenance.
  std::ofstream(state) << "version = 1;\noverrides = ( { kind = ; } );\n";
  EXPECT_FALSE(save_vrrp_maintenance_file(state.string(), maintenance).ok());
  EXPECT_TRUE(read_vrrp_maintenance(state.string()).empty());
  EXPECT_EQ(read(state), "version = 1;\noverrides = ( { kind = ; } );\n");
}

TEST_F(LvsServiceOverrides, AnExpiredOverrideIsDroppedAtStart) {
  const auto config = parse(config_text());
  auto service = make();
  ASSERT_TRUE(service->start(config).ok());
  ASSERT_TRUE(service
                  ->set_override({.target = target("10.0.0.1", config),
                                  .kind = lvs::OverrideKind::kDrain,
                                  .lasts = std::chrono::seconds(60)})
                  .ok());
  service.reset();  // killed: no timer runs
  wall += 3600;
  (void)take_events();
  auto restarted = make();
  ASSERT_TRUE(restarted->start(config).ok());
  EXPECT_TRUE(restarted->overrides().empty());
  EXPECT_EQ(kernel_weight("10.0.0.1"), 3);
  EXPECT_EQ(take_events(), std::vector<std::string>{"expired drain [10.0.0.1]:80"});
  EXPECT_EQ(taken.back().detail, "while vigild was stopped");
  EXPECT_EQ(taken.back().action, "ready");
}

TEST_F(LvsServiceOverrides, AReloadKeepsOrphansAndDropsOutdatedWeights) {
  const auto config = parse(config_text(3, true));
  auto service = make();
  ASSERT_TRUE(service->start(config).ok());
  ASSERT_TRUE(
      service
          ->set_override({.target = target("10.0.0.2", config), .kind = lvs::OverrideKind::kDrain})
          .ok());
  ASSERT_TRUE(service
                  ->set_override({.target = target("10.0.0.1", config),
                                  .kind = lvs::OverrideKind::kWeight,
                                  .weight = 9})
                  .ok());
  EXPECT_EQ(kernel_weight("10.0.0.1"), 9);
  (void)take_events();
  // 10.0.0.2 leaves the configuration; 10.0.0.1's configured weight changes.
  service->reload(parse(config_text(5, false)));
  EXPECT_EQ(take_events(), (std::vector<std::string>{"dropped weight [10.0.0.1]:80",
                                                     "orphaned drain [10.0.0.2]:80"}));
  const auto& dropped = taken[taken.size() - 2];
  EXPECT_EQ(dropped.action, "ready");
  EXPECT_EQ(dropped.weight, 9U);
  EXPECT_EQ(dropped.detail, "the configured weight changed since it was set (3 then, 5 now)");
  const auto& orphaned = taken.back();
  EXPECT_EQ(orphaned.action, "drain");  // kept, not applied
  EXPECT_EQ(orphaned.detail, "its target left the configuration");
  // A reload that changes nothing of the overrides says nothing.
  service->reload(parse(config_text(5, false)));
  EXPECT_TRUE(take_events().empty());
  auto listed = service->overrides();
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0].target, target("10.0.0.2", config));
  EXPECT_TRUE(listed[0].orphaned);
  EXPECT_EQ(kernel_weight("10.0.0.1"), 5);
  auto saved = lvs::parse_override_file(read(state), state.string());
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(saved->size(), 1U);
  // Back: drained at once.
  service->reload(parse(config_text(5, true)));
  EXPECT_EQ(take_events(), std::vector<std::string>{"restored drain [10.0.0.2]:80"});
  EXPECT_EQ(taken.back().action, "drain");
  listed = service->overrides();
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_FALSE(listed[0].orphaned);
  EXPECT_EQ(kernel_weight("10.0.0.2"), 0);
  EXPECT_TRUE(service->paused_checks().empty());
}

// An operator's changes are events with the caller's uid, pid and reason; a start reports the
// overrides it finds orphaned or outdated (they were loaded from the state file).
TEST_F(LvsServiceOverrides, OperatorsChangesAndAStartsFindingsAreEvents) {
  const auto config = parse(config_text(3, true));
  auto service = make();
  ASSERT_TRUE(service->start(config).ok());
  EXPECT_TRUE(take_events().empty());  // nothing loaded: nothing to say
  ASSERT_TRUE(service
                  ->set_override({.target = target("10.0.0.2", config),
                                  .kind = lvs::OverrideKind::kMaint,
                                  .reason = "disk swap",
                                  .uid = 0,
                                  .pid = 51})
                  .ok());
  ASSERT_TRUE(service
                  ->set_override({.target = target("10.0.0.1", config),
                                  .kind = lvs::OverrideKind::kWeight,
                                  .weight = 9,
                                  .uid = 1000,
                                  .pid = 52})
                  .ok());
  ASSERT_TRUE(service->clear_override(target("10.0.0.2", config), 0, 53, "swapped").ok());
  EXPECT_FALSE(service->clear_override(target("10.0.0.2", config), 0, 54, "again").ok());
  EXPECT_EQ(take_events(),
            (std::vector<std::string>{"set maint [10.0.0.2]:80", "set weight [10.0.0.1]:80",
                                      "cleared maint [10.0.0.2]:80"}));
  const api::OverrideEvent want[] = {
      {.action = "maint",
       .virtual_server = "[192.0.2.80]:tcp:80",
       .real_server = "[10.0.0.2]:80",
       .reason = "disk swap",
       .uid = 0,
       .pid = 51,
       .change = "set",
       .override_kind = "maint"},
      {.action = "weight",
       .virtual_server = "[192.0.2.80]:tcp:80",
       .real_server = "[10.0.0.1]:80",
       .weight = 9,
       .uid = 1000,
       .pid = 52,
       .change = "set",
       .override_kind = "weight"},
      {.action = "ready",
       .virtual_server = "[192.0.2.80]:tcp:80",
       .real_server = "[10.0.0.2]:80",
       .reason = "swapped",
       .uid = 0,
       .pid = 53,
       .change = "cleared",
       .override_kind = "maint"},
  };
  ASSERT_EQ(taken.size(), std::size(want));
  for (size_t i = 0; i < taken.size(); ++i)
    EXPECT_EQ(taken[i], want[i]) << i;
  ASSERT_TRUE(
      service
          ->set_override({.target = target("10.0.0.2", config), .kind = lvs::OverrideKind::kDrain})
          .ok());
  (void)take_events();

  // Restarted with 10.0.0.2 gone and 10.0.0.1's configured weight changed.
  service.reset();
  auto restarted = make();
  ASSERT_TRUE(restarted->start(parse(config_text(4, false))).ok());
  EXPECT_EQ(take_events(), (std::vector<std::string>{"dropped weight [10.0.0.1]:80",
                                                     "orphaned drain [10.0.0.2]:80"}));
  EXPECT_EQ(taken.back().detail, "its target is not in the configuration");
  EXPECT_EQ(taken[taken.size() - 2].detail,
            "the configured weight changed since it was set (3 then, 4 now)");
}

// reload --dry-run: the plan lists what the reload then does (one SET_DEST here, the drain's
// orphaning) and changes nothing itself.
TEST_F(LvsServiceOverrides, ThePlanIsWhatTheReloadDoes) {
  const auto config = parse(config_text(3, true));
  auto service = make();
  ASSERT_TRUE(service->start(config).ok());
  ASSERT_TRUE(
      service
          ->set_override({.target = target("10.0.0.2", config), .kind = lvs::OverrideKind::kDrain})
          .ok());
  const auto next = parse(config_text(4, false));
  api::PlanPart part;
  service->plan_reload(next, [&part](api::PlanPart p) { part = std::move(p); });
  kernel.reset_counts();
  ASSERT_EQ(part.changes.size(), 3U);  // in area order: IPVS, then the overrides
  EXPECT_EQ(part.changes[0].subject, "dest TCP 192.0.2.80:80 -> 10.0.0.1:80");
  EXPECT_EQ(part.changes[0].action, api::PlanAction::kChange);
  EXPECT_EQ(part.changes[0].detail, "weight 3 -> 4");
  EXPECT_EQ(part.changes[1].subject, "dest TCP 192.0.2.80:80 -> 10.0.0.2:80");
  EXPECT_EQ(part.changes[1].action, api::PlanAction::kRemove);
  EXPECT_EQ(part.changes[2].area, api::PlanArea::kOverride);
  EXPECT_EQ(part.changes[2].subject, "drain of [192.0.2.80]:tcp:80 [10.0.0.2]:80");
  EXPECT_NE(part.changes[2].detail.find("orphaned"), std::string::npos);
  EXPECT_EQ(kernel.journal().size(), 0U);  // planning sends nothing
  EXPECT_EQ(kernel_weight("10.0.0.1"), 3);

  auto commit = service->prepare_reload(next);
  ASSERT_TRUE(commit.ok());
  (*commit)();
  ASSERT_EQ(kernel.journal().size(), 2U);
  EXPECT_EQ(datapath::kind(kernel.journal()[0]), datapath::OperationKind::kEditDestination);
  EXPECT_EQ(datapath::kind(kernel.journal()[1]), datapath::OperationKind::kDeleteDestination);
  EXPECT_EQ(kernel_weight("10.0.0.1"), 4);
}

// A reload that adds the first virtual servers while IPVS cannot be opened is refused before
// any side changes.
TEST_F(LvsServiceOverrides, AReloadNeedingIpvsThatWillNotOpenIsRefused) {
  auto service = std::make_unique<LvsService>(
      scheduler,
      []() -> Result<std::unique_ptr<datapath::Datapath>> {
        return Error{"IPVS is not available in this kernel: load the ip_vs module"};
      },
      lvs::LvsControllerOptions{.resync_interval = Duration::zero()});
  ASSERT_TRUE(service->start(parse("global_defs {\n}\n")).ok());  // no virtual server: no IPVS
  const auto next = parse(config_text());
  auto commit = service->prepare_reload(next);
  ASSERT_FALSE(commit.ok());
  EXPECT_NE(commit.error().message.find("load the ip_vs module"), std::string::npos);
  api::PlanPart part;
  service->plan_reload(next, [&part](api::PlanPart p) { part = std::move(p); });
  ASSERT_EQ(part.refusals.size(), 1U);
  EXPECT_NE(part.refusals[0].find("load the ip_vs module"), std::string::npos);
}

// vigilctl services and /metrics: the destinations as the last dump read them (no dump per
// request while it is recent), the admin change times, and the paused checks' sink.
TEST_F(LvsServiceOverrides, StatusAndMetricsShowTheKernelsFiguresAndMaintPausesChecks) {
  const auto config = parse(config_text());
  auto service = make();
  std::vector<std::set<lvs::OverrideTarget>> paused;
  service->on_paused_checks(
      [&](const std::set<lvs::OverrideTarget>& targets) { paused.push_back(targets); });
  ASSERT_TRUE(service->start(config).ok());
  ASSERT_FALSE(paused.empty());
  EXPECT_TRUE(paused.back().empty());
  auto& stats = kernel.table().at(kWeb).destination_stats[DestinationKey{ip("10.0.0.1"), 80}];
  stats.active_connections = 4;
  stats.inactive_connections = 1;
  stats.traffic.connections = 9;
  stats.traffic.bytes_out = 1200;

  auto status = [&] {
    api::StatusPart out;
    service->status({.real_servers = true}, [&](api::StatusPart part) { out = std::move(part); });
    return out;
  };
  // The start's programming was sent after its dump: the first request dumps again.
  const size_t dumps = kernel.dumps();
  api::StatusPart part = status();
  EXPECT_EQ(kernel.dumps(), dumps + 1);
  ASSERT_EQ(part.kernel.size(), 2U);
  EXPECT_EQ(part.kernel[0].virtual_server, "[192.0.2.80]:tcp:80");
  EXPECT_EQ(part.kernel[0].real_server, "[10.0.0.1]:80");
  ASSERT_TRUE(part.kernel[0].kernel);
  EXPECT_EQ(part.kernel[0].kernel->weight, 3);
  EXPECT_EQ(part.kernel[0].kernel->active_connections, 4U);
  EXPECT_EQ(part.kernel[0].kernel->bytes_out, 1200U);
  EXPECT_FALSE(part.kernel[0].admin_changed_seconds_ago);
  // Recent, nothing sent since: no dump.
  status();
  EXPECT_EQ(kernel.dumps(), dumps + 1);

  wall += 10;
  ASSERT_TRUE(
      service
          ->set_override({.target = target("10.0.0.1", config), .kind = lvs::OverrideKind::kMaint})
          .ok());
  ASSERT_FALSE(paused.empty());
  EXPECT_EQ(paused.back(), (std::set{target("10.0.0.1", config)}));
  wall += 5;
  part = status();  // an operation was sent: dumped again
  EXPECT_EQ(kernel.dumps(), dumps + 2);
  ASSERT_EQ(part.kernel.size(), 2U);
  EXPECT_FALSE(part.kernel[0].kernel);  // maint: not in IPVS
  EXPECT_EQ(part.kernel[0].admin_changed_seconds_ago, 5.0);

  api::MetricsPart metrics;
  service->metrics(api::MetricsDetail::kFull, [&](api::MetricsPart m) { metrics = std::move(m); });
  auto family = [&](const std::string& name) -> const api::MetricFamily* {
    for (const auto& f : metrics.families)
      if (f.name == name) return &f;
    return nullptr;
  };
  const auto* admin = family("real_server_admin_state");
  ASSERT_NE(admin, nullptr);
  ASSERT_EQ(admin->samples.size(), 6U);  // two real servers, three states
  for (const auto& sample : admin->samples) {
    const bool maint =
        sample.labels.at(1).second == "[10.0.0.1]:tcp:80" && sample.labels.at(2).second == "maint";
    const bool ready2 =
        sample.labels.at(1).second == "[10.0.0.2]:tcp:80" && sample.labels.at(2).second == "ready";
    EXPECT_EQ(sample.value, maint || ready2 ? 1 : 0) << ::testing::PrintToString(sample.labels);
  }
  const auto* active = family("ipvs_destination_active_connections");
  ASSERT_NE(active, nullptr);
  ASSERT_EQ(active->samples.size(), 1U);  // 10.0.0.2 only: 10.0.0.1 is out
  const auto* service_active = family("ipvs_service_active_connections");
  ASSERT_NE(service_active, nullptr);
  ASSERT_EQ(service_active->samples.size(), 1U);
  // basic: the families are there, without per real server series.
  service->metrics(api::MetricsDetail::kBasic, [&](api::MetricsPart m) { metrics = std::move(m); });
  ASSERT_NE(family("real_server_admin_state"), nullptr);
  EXPECT_TRUE(family("real_server_admin_state")->samples.empty());
  EXPECT_EQ(family("ipvs_service_connections")->samples.size(), 1U);

  ASSERT_TRUE(service->clear_override(target("10.0.0.1", config), 0, 0).ok());
  EXPECT_TRUE(paused.back().empty());
  service->stop();
}

// The periodic dumps on the service's own reading thread, with a handle of their own: the answer
// comes back through post_to_loop (here a queue the test thread runs), and a services query in
// the meantime answers once it is back.
TEST_F(LvsServiceOverrides, ThePeriodicDumpRunsOnItsOwnThreadAndHandle) {
  std::mutex mutex;
  std::condition_variable posted;
  std::vector<std::function<void()>> queue;
  int handles = 0;
  std::thread::id dumped_on;
  class Reader final : public Forwarding {
   public:
    Reader(testing::FakeDatapath& kernel, std::thread::id& dumped_on)
        : Forwarding(kernel), dumped_on_(dumped_on) {}
    Result<datapath::Table> dump() override {
      dumped_on_ = std::this_thread::get_id();
      return Forwarding::dump();
    }

   private:
    std::thread::id& dumped_on_;
  };
  auto service = std::make_unique<LvsService>(
      scheduler,
      [&]() -> Result<std::unique_ptr<datapath::Datapath>> {
        ++handles;
        return std::unique_ptr<datapath::Datapath>(std::make_unique<Reader>(kernel, dumped_on));
      },
      lvs::LvsControllerOptions{.resync_interval = std::chrono::seconds(10)},
      OverrideStateOptions{.state_file = state.string()},
      BackgroundReadOptions{.post_to_loop = [&](std::function<void()> callback) {
        const std::lock_guard lock(mutex);
        queue.push_back(std::move(callback));
        posted.notify_one();
      }});
  const auto config = parse(config_text());
  ASSERT_TRUE(service->start(config).ok());
  EXPECT_EQ(handles, 2);  // the loop's and the reading thread's
  const auto start_dumps = kernel.dumps();
  // Behind vigil's back; the test thread leaves the kernel alone while the other one reads.
  kernel.table().at(kWeb).destinations.at(DestinationKey{ip("10.0.0.2"), 80}).weight = 9;
  scheduler.advance(std::chrono::seconds(10));  // the periodic pass: handed to the thread
  std::optional<api::StatusPart> answered;
  service->status({.real_servers = true},
                  [&](api::StatusPart part) { answered = std::move(part); });
  EXPECT_FALSE(answered);  // waits for the read in flight
  std::function<void()> back;
  {
    std::unique_lock lock(mutex);
    // A liveness bound, not a timing: the thread answers at once.
    ASSERT_TRUE(posted.wait_for(lock, std::chrono::seconds(60), [&] { return !queue.empty(); }));
    back = std::move(queue.front());
    queue.clear();
  }
  EXPECT_EQ(kernel.dumps(), start_dumps + 1);
  EXPECT_NE(dumped_on, std::this_thread::get_id());
  back();  // on the "loop": the pass repairs the weight, the query answers
  EXPECT_EQ(kernel_weight("10.0.0.2"), 1);
  ASSERT_TRUE(answered);
  ASSERT_EQ(answered->kernel.size(), 2U);
  ASSERT_TRUE(answered->kernel[1].kernel);
  EXPECT_EQ(answered->kernel[1].kernel->weight, 9);  // what the read saw
  service->stop();
  service.reset();  // joins the reading thread
}

}  // namespace
}  // namespace vigil::daemon
