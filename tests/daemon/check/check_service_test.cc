// CheckService on its real check thread: omega's notify scripts get their grace at stop, and the
// SIGUSR1 / SIGUSR2 dumps are written by the check thread as new 0600 files.
#include "daemon/check/check_service.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "config/test_util.h"
#include "event/event_loop.h"

namespace vigil::daemon {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class CheckServiceTest : public ::testing::Test {
 protected:
  CheckServiceTest() {
    static std::atomic<int> sequence{0};
    dir_ = fs::path(::testing::TempDir()) /
           ("check_service_test." + std::to_string(getpid()) + "." + std::to_string(++sequence));
    fs::create_directories(dir_);
  }
  ~CheckServiceTest() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  CheckServiceOptions options(Duration grace) {
    return CheckServiceOptions{
        .apply_health = [](const check::HealthBatch&) {},
        .data_file = (dir_ / "vigil_check.data").string(),
        .stats_file = (dir_ / "vigil_check.stats").string(),
        .vrrp_in_process = false,
        .stop_script_grace = grace,
    };
  }

  // A notify script that takes a moment, then appends its argument to `out`.
  fs::path slow_script(const fs::path& out) {
    const fs::path script = dir_ / "notify.sh";
    std::ofstream(script) << "#!/bin/sh\nsleep 0.3\necho \"$1\" >> " << out.string() << "\n";
    fs::permissions(script, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    return script;
  }

  static SharedConfig shared(const config::Config& config) {
    return std::make_shared<const config::Config>(config);
  }

  // omega: at shutdown the real server's notify_down and the quorum_down run.
  const config::Config& omega_config(const fs::path& script) {
    return config::testing::parse_ok(parsed_, R"(
virtual_server 127.0.0.1 1 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  omega
  quorum_down ")" + script.string() + R"( quorum_down"
  real_server 127.0.0.1 1 {
    notify_down ")" + script.string() + R"( rs_down"
  }
}
)");
  }

  event::EventLoop main_loop_{"main"};
  fs::path dir_;
  std::unique_ptr<config::Parsed> parsed_;
};

TEST_F(CheckServiceTest, OmegaNotifyScriptsFinishWithinTheStopGrace) {
  const fs::path out = dir_ / "notified";
  CheckService service(main_loop_, options(10s));
  ASSERT_TRUE(service.start(shared(omega_config(slow_script(out)))).ok());
  service.stop();  // returns once both scripts ended (they take 0.3 s), not after the grace
  EXPECT_EQ(read_text(out).size(), std::string("rs_down\nquorum_down\n").size())
      << "both scripts ran to the end: " << read_text(out);
  EXPECT_NE(read_text(out).find("rs_down\n"), std::string::npos);
  EXPECT_NE(read_text(out).find("quorum_down\n"), std::string::npos);
}

TEST_F(CheckServiceTest, WithoutAGraceTheNotifyScriptsAreKilled) {
  const fs::path out = dir_ / "notified";
  CheckService service(main_loop_, options(Duration::zero()));
  ASSERT_TRUE(service.start(shared(omega_config(slow_script(out)))).ok());
  service.stop();
  EXPECT_FALSE(fs::exists(out)) << "the scripts were killed before they wrote";
}

// A listening socket, so the TCP_CHECK has a target; closed at the end.
struct Listener {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  uint16_t port = 0;
  Listener() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        listen(fd, 8) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port = ntohs(address.sin_port);
    }
  }
  ~Listener() { close(fd); }
};

TEST_F(CheckServiceTest, DumpsAreWrittenByTheCheckThreadWithoutFollowingALink) {
  Listener listener;
  ASSERT_NE(listener.port, 0);
  const std::string port = std::to_string(listener.port);
  CheckService service(main_loop_, options(2s));
  ASSERT_TRUE(service
                  .start(shared(config::testing::parse_ok(parsed_, R"(
virtual_server 127.0.0.1 )" + port + R"( {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  delay_loop 60
  real_server 127.0.0.1 )" + port + R"( {
    TCP_CHECK {
      connect_timeout 5
    }
  }
}
)")))
                  .ok());
  // A link planted at the data file's path: replaced, its target untouched.
  const fs::path victim = dir_ / "victim";
  std::ofstream(victim) << "keep me\n";
  fs::create_symlink(victim, dir_ / "vigil_check.data");

  service.dump_data();  // after the load: posted callbacks run in order
  service.dump_stats();
  EXPECT_EQ(read_text(victim), "keep me\n");
  for (const char* name : {"vigil_check.data", "vigil_check.stats"}) {
    struct stat st {};
    ASSERT_EQ(lstat((dir_ / name).c_str(), &st), 0) << name;
    EXPECT_TRUE(S_ISREG(st.st_mode)) << name;
    EXPECT_EQ(st.st_mode & 07777, 0600U) << name;
  }
  const std::string data = read_text(dir_ / "vigil_check.data");
  EXPECT_NE(data.find(" Checkers = 1\n"), std::string::npos) << data;
  EXPECT_NE(data.find(" Virtual server = [127.0.0.1]:tcp:" + port +
                      "\n  Real server = [127.0.0.1]:" + port +
                      "\n   Checker = TCP 127.0.0.1:" + port + "\n     State = "),
            std::string::npos)
      << data;
  const std::string stats = read_text(dir_ / "vigil_check.stats");
  EXPECT_NE(stats.find("    Checker: TCP 127.0.0.1:" + port + "\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\nProber:\n  Probes started: "), std::string::npos) << stats;
  EXPECT_NE(stats.find("Timer lateness (check thread): "), std::string::npos) << stats;
  service.stop();
  service.dump_data();  // after stop: nothing to write, and no hang
}

}  // namespace
}  // namespace vigil::daemon
