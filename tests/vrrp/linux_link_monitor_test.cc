// LinkMonitor in a network namespace: the initial dump, carrier loss (the veth's peer end going
// down), administrative down, links created, renamed and deleted.
#include "vrrp/linux_link_monitor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vrrp/linux_netns.h"

namespace vigil::vrrp {
namespace {

using namespace std::chrono_literals;
using netns::run_command;

class LinkMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = LinkMonitor::open(
        [this](const std::string& name, bool up) { reports.emplace_back(name, up); });
    ASSERT_TRUE(opened) << opened.error().message;
    monitor = std::move(*opened);
    ASSERT_TRUE(pump_until([&] { return monitor->synchronised(); }));
  }

  bool pump_until(const std::function<bool()>& done) {
    return netns::pump_until(
        monitor->fd(), [&] { monitor->drain(); }, done, 3000ms);
  }
  bool reported(const std::string& name, bool up) const {
    for (const auto& report : reports) {
      if (report == std::pair{name, up}) return true;
    }
    return false;
  }
  void run(const std::string& command) { ASSERT_EQ(run_command(command).status, 0) << command; }

  std::unique_ptr<LinkMonitor> monitor;
  std::vector<std::pair<std::string, bool>> reports;
};

TEST_F(LinkMonitorTest, InitialDumpReportsEveryLink) {
  EXPECT_TRUE(reported("lo", true));
  EXPECT_TRUE(reported("eth0", true));
  EXPECT_EQ(monitor->is_up("eth0"), true);
  EXPECT_EQ(monitor->is_up("nosuchif0"), std::nullopt);
}

TEST_F(LinkMonitorTest, CarrierLossIsDown) {
  // A veth of its own whose other end is in the peer namespace: that end going down takes our
  // carrier (IFF_RUNNING) while cl0 stays IFF_UP. (Not eth0: a link going down flushes its IPv6
  // addresses, which the other tests use.)
  const std::string peer = netns::peer_namespace();
  run("ip link add cl0 type veth peer name cl1 netns " + peer);
  run("ip -n " + peer + " link set cl1 up");
  run("ip link set cl0 up");
  ASSERT_TRUE(pump_until([&] { return reported("cl0", true); }));
  reports.clear();
  run("ip -n " + peer + " link set cl1 down");
  ASSERT_TRUE(pump_until([&] { return reported("cl0", false); }));
  EXPECT_EQ(monitor->is_up("cl0"), false);
  EXPECT_NE(run_command("ip link show cl0").output.find(",UP"), std::string::npos)
      << "still administratively up";
  run("ip -n " + peer + " link set cl1 up");
  ASSERT_TRUE(pump_until([&] { return reported("cl0", true); }));
  EXPECT_EQ(monitor->is_up("cl0"), true);
  EXPECT_EQ(reports, (std::vector<std::pair<std::string, bool>>{{"cl0", false}, {"cl0", true}}))
      << "one report per change";
  run("ip link del cl0");
}

TEST_F(LinkMonitorTest, AdministrativeDownIsDown) {
  // A link of its own: taking eth0 down would flush its IPv6 addresses for the other tests.
  run("ip link add ad0 type veth peer name ad1");
  run("ip link set ad1 up");
  run("ip link set ad0 up");
  ASSERT_TRUE(pump_until([&] { return reported("ad0", true); }));
  reports.clear();
  run("ip link set ad0 down");
  ASSERT_TRUE(pump_until([&] { return reported("ad0", false); }));
  EXPECT_FALSE(reported("ad1", true));
  run("ip link set ad0 up");
  ASSERT_TRUE(pump_until([&] { return reported("ad0", true); }));
  EXPECT_EQ(monitor->counters().overruns, 0U);
  run("ip link del ad0");
}

TEST_F(LinkMonitorTest, CreatedRenamedAndDeletedLinks) {
  reports.clear();
  run("ip link add lm0 type veth peer name lm1");
  ASSERT_TRUE(pump_until([&] { return monitor->is_up("lm0").has_value(); }));
  EXPECT_TRUE(reported("lm0", false));
  run("ip link set lm1 up");
  run("ip link set lm0 up");
  ASSERT_TRUE(pump_until([&] { return reported("lm0", true); }));

  // Renaming needs the link down; whoever tracks the old name sees it go.
  run("ip link set lm0 down");
  run("ip link set lm0 name lm9");
  ASSERT_TRUE(pump_until([&] { return monitor->is_up("lm9").has_value(); }));
  EXPECT_EQ(monitor->is_up("lm0"), std::nullopt);
  run("ip link set lm9 up");
  ASSERT_TRUE(pump_until([&] { return reported("lm9", true); }));

  run("ip link del lm9");
  ASSERT_TRUE(pump_until([&] { return reported("lm9", false); }));
  EXPECT_EQ(monitor->is_up("lm9"), std::nullopt);
  EXPECT_EQ(monitor->is_up("lm1"), std::nullopt) << "the veth peer goes with it";
}

TEST(LinkMonitor, OverrunIsRepairedByANewDump) {
  std::vector<std::pair<std::string, bool>> reports;
  auto reported = [&](const std::string& name, bool up) {
    return std::find(reports.begin(), reports.end(), std::pair{name, up}) != reports.end();
  };
  // The smallest receive buffer the kernel allows: a burst of link events overruns it.
  auto opened = LinkMonitor::open(
      [&](const std::string& name, bool up) { reports.emplace_back(name, up); }, 1);
  ASSERT_TRUE(opened) << opened.error().message;
  LinkMonitor& monitor = **opened;
  auto pump_until = [&](const std::function<bool()>& done) {
    return netns::pump_until(
        monitor.fd(), [&] { monitor.drain(); }, done, 5000ms);
  };
  ASSERT_TRUE(pump_until([&] { return monitor.synchronised(); }));
  ASSERT_EQ(run_command("ip link add ov0 type veth peer name ov1").status, 0);
  ASSERT_EQ(run_command("ip link set ov1 up").status, 0);
  ASSERT_EQ(run_command("ip link set ov0 up").status, 0);
  ASSERT_TRUE(pump_until([&] { return reported("ov0", true); }));

  // Without draining: many new links, and ov0 deleted somewhere in the flood.
  ASSERT_EQ(run_command("sh -c 'for i in $(seq 0 19); do ip link add fl${i}a type veth peer name "
                        "fl${i}b; done; ip link del ov0; ip link add fl20a type veth peer name "
                        "fl20b'")
                .status,
            0);
  ASSERT_TRUE(pump_until([&] {
    return monitor.counters().overruns > 0 && monitor.is_up("fl20a").has_value() &&
           !monitor.is_up("ov0").has_value();
  })) << "overruns "
      << monitor.counters().overruns;
  EXPECT_TRUE(reported("ov0", false));
  for (int i = 0; i <= 20; ++i) {
    const std::string name = "fl" + std::to_string(i) + "a";
    EXPECT_EQ(monitor.is_up(name), false) << name;
  }
  EXPECT_EQ(monitor.is_up("eth0"), true);
}

TEST(LinkMonitor, DrainReadsAtMostItsBudget) {
  auto monitor = LinkMonitor::open({});
  ASSERT_TRUE(monitor) << monitor.error().message;
  ASSERT_TRUE(netns::pump_until((*monitor)->fd(), [&] { (*monitor)->drain(); },
                                [&] { return (*monitor)->synchronised(); }, 3000ms));
  ASSERT_EQ(run_command("ip link add bd0 type veth peer name bd1").status, 0);
  ASSERT_EQ(run_command("ip link del bd0").status, 0);
  // The kernel queued every event before `ip` returned: one datagram per drain(1).
  size_t reads = 0;
  for (int i = 0; i < 1000 && (*monitor)->drain(1) == 1; ++i)
    ++reads;
  EXPECT_GE(reads, 2U) << "at least the new link and its deletion";
  EXPECT_EQ((*monitor)->is_up("bd0"), std::nullopt);
  EXPECT_EQ((*monitor)->drain(), 0U);
}

TEST(LinkMonitor, DrainIsNonBlockingWhenNothingHappened) {
  auto monitor = LinkMonitor::open({});
  ASSERT_TRUE(monitor) << monitor.error().message;
  ASSERT_TRUE(netns::pump_until((*monitor)->fd(), [&] { (*monitor)->drain(); },
                                [&] { return (*monitor)->synchronised(); }, 3000ms));
  EXPECT_EQ((*monitor)->drain(), 0U);
}

}  // namespace
}  // namespace vigil::vrrp
