// vigild's systemd link (READY/STATUS/RELOADING/STOPPING/WATCHDOG over a real datagram socket)
// and run mode's exit codes on a configuration that cannot be read or has errors (the unit's
// RestartPreventExitStatus=2 4 5 depends on them).
#include "daemon/systemd.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "control/exit_codes.h"
#include "daemon/daemon.h"
#include "event/event_loop.h"
#include "fakes/fake_scheduler.h"

namespace vigil::daemon {
namespace {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/vigil-systemd-test-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// What systemd would read from NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  }
  std::vector<std::string> received() {
    std::vector<std::string> out;
    for (int i = 0; i < 100; ++i) {
      char buffer[4096];
      const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buffer, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  std::string path_;
  UniqueFd fd_;
};

TEST(SystemdStatus, CountsWhatThisVigildRuns) {
  config::Config config;
  config.vrrp.instances.resize(2);
  config.lvs.virtual_servers.resize(1);
  DaemonOptions both;
  EXPECT_EQ(running_status(config, both), "running: 2 VRRP instances, 1 virtual server");
  DaemonOptions vrrp_only{.vrrp_only = true};
  EXPECT_EQ(running_status(config, vrrp_only), "running: 2 VRRP instances, 0 virtual servers");
  DaemonOptions checkers_only{.checkers_only = true};
  EXPECT_EQ(running_status(config, checkers_only), "running: 0 VRRP instances, 1 virtual server");
  config.global.instance = "site1";
  config.vrrp.instances.resize(1);
  EXPECT_EQ(running_status(config, both),
            "running: 1 VRRP instance, 1 virtual server (instance site1)");
}

TEST(SystemdLink, TellsSystemdTheLifeOfARun) {
  TempDir dir;
  NotifySocket systemd(dir.path() + "/notify");
  SystemdLink link(event::SdNotifier(dir.path() + "/notify"), std::chrono::seconds(5));
  testing::FakeScheduler scheduler;
  bool alive = true;
  link.ready("running: 1 VRRP instance, 0 virtual servers");
  link.start_watchdog(scheduler, [&] { return alive; });
  scheduler.advance(std::chrono::seconds(5));
  alive = false;  // a loop stalls: no WATCHDOG=1 until it turns again
  scheduler.advance(std::chrono::seconds(10));
  link.reloading();
  link.ready("running: 2 VRRP instances, 0 virtual servers");
  link.stopping();
  link.stop_watchdog();
  alive = true;
  scheduler.advance(std::chrono::seconds(10));  // stopped: no more feeding
  auto got = systemd.received();
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got[0], "READY=1");
  EXPECT_EQ(got[1], "STATUS=running: 1 VRRP instance, 0 virtual servers");
  EXPECT_EQ(got[2], "WATCHDOG=1");
  EXPECT_EQ(got[3], "WATCHDOG=1");
  EXPECT_TRUE(got[4].starts_with("RELOADING=1\nMONOTONIC_USEC=")) << got[4];
  EXPECT_EQ(got[5], "READY=1");
  EXPECT_EQ(got[6], "STATUS=running: 2 VRRP instances, 0 virtual servers");
  EXPECT_EQ(got[7], "STOPPING=1");
}

TEST(SystemdLink, NoWatchdogUnlessSystemdAskedForOne) {
  TempDir dir;
  NotifySocket systemd(dir.path() + "/notify");
  SystemdLink link(event::SdNotifier(dir.path() + "/notify"), std::nullopt);
  testing::FakeScheduler scheduler;
  link.start_watchdog(scheduler, [] { return true; });
  scheduler.advance(std::chrono::seconds(60));
  EXPECT_TRUE(systemd.received().empty());
  EXPECT_EQ(scheduler.pending(), 0u);
}

TEST(SystemdLink, OutsideSystemdNothingIsSentAndNothingFails) {
  SystemdLink link(event::SdNotifier(""), std::chrono::seconds(5));
  testing::FakeScheduler scheduler;
  link.ready("x");
  link.reloading();
  link.start_watchdog(scheduler, [] { return true; });
  link.stopping();
  EXPECT_EQ(scheduler.pending(), 0u);
}

// The unit does not restart vigild on these (RestartPreventExitStatus=2 4 5): a restart loop
// would not fix the file.
TEST(DaemonExit, AConfigThatCannotBeReadOrHasErrorsHasItsOwnCode) {
  TempDir dir;
  const std::string bad = dir.path() + "/bad.conf";
  std::ofstream(bad) << "vrrp_instance VI_1 {\n  virtual_router_id 300\n}\n";
  int factory_calls = 0;
  const ServiceFactory services = [&](event::EventLoop&, const RunFiles&) {
    ++factory_calls;
    return std::vector<std::unique_ptr<Service>>{};
  };
  struct Case {
    std::string file;
    int code;
  };
  const Case cases[] = {
      {dir.path() + "/missing.conf", control::kDaemonConfigUnreadable},
      {dir.path(), control::kDaemonConfigUnreadable},  // a directory
      {bad, control::kDaemonConfigErrors},
  };
  for (const auto& c : cases) {
    DaemonOptions options{.config_file = c.file,
                          .config_id = "test",
                          .dont_fork = true,
                          .log_console = true,
                          .pid_file = dir.path() + "/vigild.pid"};
    EXPECT_EQ(run_daemon(options, services), c.code) << c.file;
  }
  EXPECT_EQ(factory_calls, 0);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/vigild.pid"));
}

// A side that stops the run once the loop turns (SIGTERM, as systemd stops vigild), and says
// whether its loop turns.
class StopAtOnce final : public Service {
 public:
  StopAtOnce(event::EventLoop& loop, bool alive) : loop_(loop), alive_(alive) {}
  Status start(const SharedConfig&) override {
    loop_.post([] { std::raise(SIGTERM); });
    return {};
  }
  void reload(const SharedConfig&) override {}
  void stop() override {}
  bool alive() override { return alive_; }

 private:
  event::EventLoop& loop_;
  bool alive_;
};

// What vigild's run mode tells systemd, in order: READY=1 and STATUS= once every side started,
// WATCHDOG=1 at once when every loop turns (none while one does not), STOPPING=1 at the end.
TEST(DaemonSystemd, RunModeTellsSystemdReadyWatchdogAndStopping) {
  for (const bool alive : {true, false}) {
    TempDir dir;
    NotifySocket systemd(dir.path() + "/notify");
    const std::string conf = dir.path() + "/vigil.conf";
    // `instance` names the run's control sockets (/run/vigil/vigild_INST.sock): one of this
    // process's own, so that no other vigild or test holds them.
    std::ofstream(conf) << "instance systemd-test-" << ::getpid()
                        << "\nglobal_defs {\n  router_id test\n}\n";
    ::setenv("NOTIFY_SOCKET", (dir.path() + "/notify").c_str(), 1);
    ::setenv("WATCHDOG_USEC", "60000000", 1);
    ::unsetenv("WATCHDOG_PID");
    const ServiceFactory services = [alive](event::EventLoop& loop, const RunFiles&) {
      std::vector<std::unique_ptr<Service>> list;
      list.push_back(std::make_unique<StopAtOnce>(loop, alive));
      return list;
    };
    DaemonOptions options{.config_file = conf,
                          .config_id = "test",
                          .dont_fork = true,
                          .log_console = true,
                          .pid_file = dir.path() + "/vigild.pid"};
    EXPECT_EQ(run_daemon(options, services), control::kDaemonOk);
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    const std::string status =
        "STATUS=running: 0 VRRP instances, 0 virtual servers (instance "
        "systemd-test-" +
        std::to_string(::getpid()) + ")";
    std::vector<std::string> want = {"READY=1", status};
    if (alive) want.emplace_back("WATCHDOG=1");
    want.emplace_back("STOPPING=1");
    EXPECT_EQ(systemd.received(), want) << (alive ? "alive" : "a loop stalled");
  }
}

}  // namespace
}  // namespace vigil::daemon
