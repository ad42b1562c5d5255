#include "event/sd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "fakes/fake_scheduler.h"

namespace vigil::event {
namespace {

// A datagram socket systemd would listen on: a path in a fresh directory, or an abstract name.
class NotifySocket {
 public:
  explicit NotifySocket(bool abstract) {
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    EXPECT_TRUE(fd_.valid());
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    socklen_t length = 0;
    if (abstract) {
      name_ = "@vigil-sd-notify-test-" + std::to_string(::getpid());
      std::memcpy(address.sun_path, name_.data(), name_.size());
      address.sun_path[0] = '\0';
      length = offsetof(sockaddr_un, sun_path) + name_.size();
    } else {
      char pattern[] = "/tmp/vigil-sd-notify-XXXXXX";
      directory_ = ::mkdtemp(pattern);
      name_ = directory_ + "/notify";
      std::memcpy(address.sun_path, name_.c_str(), name_.size() + 1);
      length = sizeof address;
    }
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), length), 0)
        << std::strerror(errno);
  }
  ~NotifySocket() {
    if (!directory_.empty()) std::filesystem::remove_all(directory_);
  }
  [[nodiscard]] const std::string& name() const { return name_; }

  // Every datagram queued now (local datagrams are queued when sendto returns).
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
  UniqueFd fd_;
  std::string name_;
  std::string directory_;
};

TEST(SdNotify, SendsEachMessageAsOneDatagramToAPathSocket) {
  NotifySocket systemd(/*abstract=*/false);
  SdNotifier notifier(systemd.name());
  ASSERT_TRUE(notifier.enabled());
  ASSERT_TRUE(notifier.ready());
  ASSERT_TRUE(notifier.status("running: 2 VRRP instances\n3 virtual servers"));
  ASSERT_TRUE(notifier.watchdog());
  ASSERT_TRUE(notifier.stopping());
  EXPECT_EQ(systemd.received(), (std::vector<std::string>{
                                    "READY=1", "STATUS=running: 2 VRRP instances 3 virtual servers",
                                    "WATCHDOG=1", "STOPPING=1"}));
}

TEST(SdNotify, ReachesAnAbstractSocket) {
  NotifySocket systemd(/*abstract=*/true);
  SdNotifier notifier(systemd.name());
  ASSERT_TRUE(notifier.ready());
  EXPECT_EQ(systemd.received(), std::vector<std::string>{"READY=1"});
}

TEST(SdNotify, ReloadingCarriesTheMonotonicTime) {
  NotifySocket systemd(/*abstract=*/false);
  SdNotifier notifier(systemd.name());
  timespec before{};
  clock_gettime(CLOCK_MONOTONIC, &before);
  ASSERT_TRUE(notifier.reloading());
  auto got = systemd.received();
  ASSERT_EQ(got.size(), 1u);
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_TRUE(got[0].starts_with(prefix)) << got[0];
  const long long usec = std::stoll(got[0].substr(prefix.size()));
  EXPECT_GE(usec, static_cast<long long>(before.tv_sec) * 1'000'000 + before.tv_nsec / 1000);
  EXPECT_EQ(reloading_message(std::chrono::microseconds(1234567)),
            "RELOADING=1\nMONOTONIC_USEC=1234567");
}

TEST(SdNotify, WithoutASocketNothingIsSent) {
  SdNotifier notifier("");
  EXPECT_FALSE(notifier.enabled());
  EXPECT_TRUE(notifier.ready());
}

TEST(SdNotify, AGoneOrBadSocketIsAnError) {
  std::string gone;
  {
    NotifySocket systemd(/*abstract=*/false);
    gone = systemd.name();
  }
  EXPECT_FALSE(SdNotifier(gone).ready());
  EXPECT_FALSE(SdNotifier("relative/socket").ready());
  EXPECT_FALSE(SdNotifier("/" + std::string(200, 'x')).ready());
}

TEST(SdNotify, WatchdogPeriodIsHalfTheIntervalForThisProcess) {
  struct Case {
    const char* usec;
    const char* pid;
    std::optional<Duration> period;
  };
  const Case cases[] = {
      {"20000000", nullptr, Duration{10'000'000}},
      {"20000000", "42", Duration{10'000'000}},
      {"20000000", "43", std::nullopt},  // another process's watchdog
      {"20000000", "x", std::nullopt},
      {nullptr, nullptr, std::nullopt},
      {"", nullptr, std::nullopt},
      {"0", nullptr, std::nullopt},
      {"-5", nullptr, std::nullopt},
      {"12abc", nullptr, std::nullopt},
      {"1", nullptr, Duration{1}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(watchdog_period(c.usec, c.pid, 42), c.period)
        << (c.usec ? c.usec : "(unset)") << " pid " << (c.pid ? c.pid : "(unset)");
  }
}

TEST(SdNotify, StatusTextIsOneLine) {
  EXPECT_EQ(status_message("a\tb\nc\x7f"), "STATUS=a b c ");
}

TEST(WatchdogFeeder, FeedsEveryPeriodOnlyWhileAlive) {
  testing::FakeScheduler scheduler;
  bool alive = true;
  int fed = 0;
  WatchdogFeeder feeder(
      scheduler, std::chrono::seconds(5), [&] { return alive; }, [&] { ++fed; });
  EXPECT_EQ(fed, 1);  // at once: systemd's first interval starts at READY
  scheduler.advance(std::chrono::seconds(10));
  EXPECT_EQ(fed, 3);
  alive = false;
  scheduler.advance(std::chrono::seconds(15));
  EXPECT_EQ(fed, 3);
  EXPECT_EQ(feeder.withheld(), 3u);
  alive = true;
  scheduler.advance(std::chrono::seconds(5));
  EXPECT_EQ(fed, 4);
  EXPECT_EQ(feeder.fed(), 4u);
}

}  // namespace
}  // namespace vigil::event
