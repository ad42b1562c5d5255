// LvsSyncService, vigild's Service for lvs_sync_daemon: IPVS opened only when a daemon may run,
// IPVS missing is not fatal, VRRP states arrive through the main loop.
#include "daemon/lvs/lvs_sync_service.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "fakes/fake_scheduler.h"
#include "lvs/sync_test_util.h"

namespace vigil::daemon {
namespace {

using datapath::SyncDaemonConfig;
using datapath::SyncDaemonState;
using lvs::SyncSides;
using lvs::testing::sync_config;
using lvs::testing::SyncDatapath;
using vigil::testing::FakeScheduler;

constexpr auto kMaster = SyncDaemonState::kMaster;
constexpr auto kBackup = SyncDaemonState::kBackup;

// What the service opens: a handle on the test's kernel, which outlives the service.
class KernelHandle final : public datapath::Datapath {
 public:
  explicit KernelHandle(SyncDatapath& kernel) : kernel_(kernel) {}
  Result<datapath::KernelInfo> info() override { return kernel_.info(); }
  Result<datapath::Table> dump() override { return kernel_.dump(); }
  std::vector<datapath::OpResult> apply(std::span<const datapath::Operation> ops) override {
    return kernel_.apply(ops);
  }
  Result<std::vector<SyncDaemonConfig>> sync_daemons() override { return kernel_.sync_daemons(); }
  Status start_sync_daemon(const SyncDaemonConfig& c) override {
    return kernel_.start_sync_daemon(c);
  }
  Status stop_sync_daemon(SyncDaemonState state) override {
    return kernel_.stop_sync_daemon(state);
  }
  Result<datapath::Timeouts> timeouts() override { return kernel_.timeouts(); }
  Status set_timeouts(const datapath::Timeouts& t) override { return kernel_.set_timeouts(t); }

 private:
  SyncDatapath& kernel_;
};

class LvsSyncServiceTest : public ::testing::Test {
 protected:
  FakeScheduler scheduler;
  SyncDatapath kernel;
  std::optional<Error> open_error;
  std::deque<std::function<void()>> main_loop;  // what the VRRP observer posted

  LvsSyncService make(SyncSides sides = {}) {
    return LvsSyncService(
        scheduler,
        [this]() -> Result<std::unique_ptr<datapath::Datapath>> {
          if (open_error) return *open_error;
          return std::unique_ptr<datapath::Datapath>(std::make_unique<KernelHandle>(kernel));
        },
        {.sides = sides});
  }

  auto observer_of(LvsSyncService& service) {
    return service.vrrp_observer(
        [this](std::function<void()> f) { main_loop.push_back(std::move(f)); });
  }

  static SharedConfig with_sync(std::optional<config::LvsSyncDaemon> sync) {
    config::Config config;
    config.global.lvs_sync_daemon = std::move(sync);
    return std::make_shared<const config::Config>(std::move(config));
  }

  void run_main_loop() {
    for (int turn = 0; turn < 100 && !main_loop.empty(); ++turn) {
      auto callback = std::move(main_loop.front());
      main_loop.pop_front();
      callback();
    }
    scheduler.run_ready();
  }
};

TEST_F(LvsSyncServiceTest, IpvsMissingIsNotFatalAndEachReloadTriesAgain) {
  open_error = Error{"IPVS is not available in this kernel: load the ip_vs module"};
  auto service = make();
  EXPECT_TRUE(service.start(with_sync(sync_config())));
  EXPECT_EQ(service.controller(), nullptr);
  EXPECT_EQ(service.open_attempts(), 1u);

  service.reload(with_sync(sync_config()));
  EXPECT_EQ(service.open_attempts(), 2u);
  EXPECT_EQ(service.controller(), nullptr);

  open_error.reset();  // modprobe ip_vs, then SIGHUP
  service.reload(with_sync(sync_config()));
  ASSERT_NE(service.controller(), nullptr);
  EXPECT_EQ(kernel.running(), (std::vector{kBackup}));
  service.stop();
  EXPECT_TRUE(kernel.running().empty());
}

TEST_F(LvsSyncServiceTest, OpensIpvsOnlyWhenADaemonMayRun) {
  auto service = make();
  EXPECT_TRUE(service.start(with_sync(std::nullopt)));
  EXPECT_EQ(service.open_attempts(), 0u);

  auto checkers_only = make({.vrrp = false, .lvs = true});
  EXPECT_TRUE(checkers_only.start(with_sync(sync_config())));
  EXPECT_EQ(checkers_only.open_attempts(), 0u);
  checkers_only.stop();
}

TEST_F(LvsSyncServiceTest, VrrpStatesArriveThroughTheMainLoop) {
  auto service = make();
  auto observer = observer_of(service);
  // States reported before IPVS is open are remembered.
  observer("VI_1", vrrp::State::kMaster);
  run_main_loop();
  ASSERT_TRUE(service.start(with_sync(sync_config())));
  EXPECT_EQ(kernel.running(), (std::vector{kMaster}));

  observer("VI_1", vrrp::State::kBackup);
  EXPECT_EQ(kernel.running(), (std::vector{kMaster}));  // nothing until the main loop runs it
  run_main_loop();
  EXPECT_EQ(kernel.running(), (std::vector{kBackup}));

  observer("VI_1", vrrp::State::kInitialize);  // the instance stopped
  run_main_loop();
  EXPECT_TRUE(kernel.running().empty());
}

TEST_F(LvsSyncServiceTest, EventsAfterTheServiceIsGoneAreDropped) {
  std::function<void(const std::string&, vrrp::State)> observer;
  {
    auto service = make();
    observer = observer_of(service);
    ASSERT_TRUE(service.start(with_sync(sync_config())));
    observer("VI_1", vrrp::State::kMaster);  // posted, not run yet
    service.stop();
  }
  const int starts = kernel.starts;
  run_main_loop();  // runs the posted event: the service is gone, nothing happens
  EXPECT_EQ(kernel.starts, starts);
  EXPECT_TRUE(kernel.running().empty());
}

}  // namespace
}  // namespace vigil::daemon
