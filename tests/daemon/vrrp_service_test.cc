// The VRRP runtime of vigild end to end over a fake host in virtual time: configuration in,
// adverts, address changes and notify scripts out.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "config/test_util.h"
#include "daemon/fake_vrrp_host.h"
#include "daemon/vrrp_runtime.h"

namespace vigil::daemon {
namespace {

using Argv = std::vector<std::string>;
using VipCall = testing::FakeVrrpHost::VipCall;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}
IpPrefix vip(const char* text) {
  return *IpPrefix::parse(text);
}

// Two instances on eth0: VI_1 (priority PRIO1) and VI_2 (100), each with its notify scripts.
std::string config_text(int vi1_priority) {
  return R"(
global_defs {
  vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority )" +
         std::to_string(vi1_priority) +
         R"(
  advert_int 1
  notify_master "/bin/notify master VI_1"
  notify_backup "/bin/notify backup VI_1"
  notify_stop "/bin/notify stop VI_1"
  notify /bin/any
  virtual_ipaddress { 10.0.0.100/24 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 1
  notify_master "/bin/notify master VI_2"
  notify_backup "/bin/notify backup VI_2"
  notify_stop "/bin/notify stop VI_2"
  virtual_ipaddress { 10.0.0.101/24 }
}
)";
}

class VrrpRuntimeTest : public ::testing::Test {
 protected:
  VrrpServiceOptions options() {
    return VrrpServiceOptions{
        .handle_dump_signals = false,
        .primary_address = [](const std::string&, AddressFamily) -> Result<IpAddress> {
          return ip("10.0.0.1");
        }};
  }
  const config::Config& parse(const std::string& text) {
    parsed_.emplace_back();
    return config::testing::parse_ok(parsed_.back(), text);
  }
  // Scripts started since `from`, argv only.
  Argv argv_of(size_t index) const { return host.script_argvs().at(index); }
  std::vector<Argv> scripts_from(size_t from) const {
    auto all = host.script_argvs();
    return {all.begin() + static_cast<std::ptrdiff_t>(std::min(from, all.size())), all.end()};
  }

  testing::FakeVrrpHost host;
  std::vector<std::unique_ptr<config::Parsed>> parsed_;
};

TEST_F(VrrpRuntimeTest, StartMasterHigherPriorityAdvertReloadStop) {
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(config_text(150))));
  EXPECT_EQ(host.sockets_opened, 1) << "one socket for eth0 / IPv4";
  const TimePoint t0 = host.clock.now();

  // ---- start: both wait Master_Down_Interval as BACKUP, then become MASTER ----
  host.clock.advance(1s);
  EXPECT_TRUE(host.sent.empty());
  EXPECT_TRUE(host.present.empty());
  EXPECT_EQ(host.script_argvs(),
            (std::vector<Argv>{{"/bin/notify", "backup", "VI_1"},
                               {"/bin/any", "INSTANCE", "VI_1", "BACKUP", "150"},
                               {"/bin/notify", "backup", "VI_2"}}));
  // VI_1: 3 s + (256 - 150) / 256 s; VI_2: 3 s + 156 / 256 s.
  host.clock.run_until(t0 + 3'414'062us);
  ASSERT_EQ(host.sent_for(51).size(), 1U);
  EXPECT_EQ(host.sent_for(51)[0].at, t0 + 3'414'062us);
  EXPECT_EQ(host.sent_for(51)[0].priority(), 150);
  EXPECT_EQ(host.sent_for(51)[0].advert.destination, ip("224.0.0.18"));
  EXPECT_EQ(host.sent_for(51)[0].advert.source, ip("10.0.0.1"));
  EXPECT_TRUE(host.sent_for(52).empty());
  host.clock.run_until(t0 + 3'609'375us);
  ASSERT_EQ(host.sent_for(52).size(), 1U);
  EXPECT_EQ(host.sent_for(52)[0].priority(), 100);
  EXPECT_EQ(host.present, (std::set<IpPrefix>{vip("10.0.0.100/24"), vip("10.0.0.101/24")}));
  EXPECT_EQ(scripts_from(3), (std::vector<Argv>{{"/bin/notify", "master", "VI_1"},
                                                {"/bin/any", "INSTANCE", "VI_1", "MASTER", "150"},
                                                {"/bin/notify", "master", "VI_2"}}));

  // Masters advertise every advert_int.
  host.clock.run_until(t0 + 5'609'375us);
  EXPECT_EQ(host.sent_for(51).size(), 3U);
  EXPECT_EQ(host.sent_for(52).size(), 3U);

  // ---- a higher-priority advert for VI_2: it steps down, VI_1 is untouched ----
  const size_t scripts_before = host.script_argvs().size();
  host.deliver("eth0",
               vrrp::Advert{.version = 2,
                            .vrid = 52,
                            .priority = 200,
                            .advert_interval = 1s,
                            .addresses = {ip("10.0.0.101")}},
               ip("10.0.0.9"));
  EXPECT_EQ(host.vip_changes(vip("10.0.0.101/24")),
            (std::vector<VipCall>{VipCall::kAdd, VipCall::kRemove}));
  EXPECT_EQ(host.vip_changes(vip("10.0.0.100/24")), (std::vector<VipCall>{VipCall::kAdd}));
  EXPECT_EQ(scripts_from(scripts_before), (std::vector<Argv>{{"/bin/notify", "backup", "VI_2"}}));
  const size_t vi2_sent = host.sent_for(52).size();
  host.clock.advance(2s);  // the other master keeps VI_2 quiet...
  EXPECT_EQ(host.sent_for(52).size(), vi2_sent);
  host.deliver("eth0",
               vrrp::Advert{.version = 2,
                            .vrid = 52,
                            .priority = 200,
                            .advert_interval = 1s,
                            .addresses = {ip("10.0.0.101")}},
               ip("10.0.0.9"));
  host.clock.advance(2s);
  EXPECT_EQ(host.sent_for(52).size(), vi2_sent);

  // ---- reload: VI_1's priority changes (restarted, stays MASTER and advertises at once with
  // the new priority), VI_2 is unchanged (keeps its state, no script, no address change) ----
  const size_t reload_scripts = host.script_argvs().size();
  const size_t reload_vip_calls = host.vip_log.size();
  const TimePoint reload_at = host.clock.now();
  runtime.reload(parse(config_text(160)));
  host.clock.run_ready();
  auto vi1 = host.sent_for(51);
  ASSERT_FALSE(vi1.empty());
  EXPECT_EQ(vi1.back().at, reload_at);
  EXPECT_EQ(vi1.back().priority(), 160);
  for (size_t i = reload_vip_calls; i < host.vip_log.size(); ++i)
    EXPECT_NE(host.vip_log[i].call, VipCall::kRemove) << "reload removed an address";
  EXPECT_TRUE(host.present.contains(vip("10.0.0.100/24")));
  for (const auto& argv : scripts_from(reload_scripts))
    EXPECT_NE(argv.back(), "VI_2") << "unchanged VI_2 notified on reload";
  host.deliver("eth0",
               vrrp::Advert{.version = 2,
                            .vrid = 52,
                            .priority = 200,
                            .advert_interval = 1s,
                            .addresses = {ip("10.0.0.101")}},
               ip("10.0.0.9"));
  host.clock.advance(1s);
  EXPECT_EQ(host.sent_for(52).size(), vi2_sent) << "VI_2 still BACKUP after the reload";

  // ---- stop: the master sends priority 0 and removes its address; notify_stop for both ----
  const size_t stop_scripts = host.script_argvs().size();
  runtime.stop();
  EXPECT_EQ(host.sent_for(51).back().priority(), 0);
  EXPECT_EQ(host.sent_for(52).size(), vi2_sent) << "a backup sends nothing when it stops";
  EXPECT_TRUE(host.present.empty());
  const auto stopped = scripts_from(stop_scripts);
  EXPECT_NE(std::find(stopped.begin(), stopped.end(), Argv{"/bin/notify", "stop", "VI_1"}),
            stopped.end());
  EXPECT_NE(std::find(stopped.begin(), stopped.end(), Argv{"/bin/notify", "stop", "VI_2"}),
            stopped.end());
  const size_t sent = host.sent.size();
  host.clock.advance(10s);
  EXPECT_EQ(host.sent.size(), sent) << "nothing runs after stop";
}

// SIGTERM reaches the VRRP thread directly: the master's priority-0 advert goes out then, and
// the daemon's stop() that follows does not repeat any of it.
TEST_F(VrrpRuntimeTest, StopSignalStopsTheInstancesOnceOnTheVrrpThread) {
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(config_text(150))));
  host.clock.advance(4s);  // both MASTER
  ASSERT_EQ(host.present.size(), 2U);

  const size_t scripts_before = host.script_argvs().size();
  ASSERT_TRUE(host.stop_signal());
  EXPECT_EQ(host.sent_for(51).back().priority(), 0);
  EXPECT_EQ(host.sent_for(52).back().priority(), 0);
  EXPECT_TRUE(host.present.empty());
  const auto stopped = scripts_from(scripts_before);
  EXPECT_NE(std::find(stopped.begin(), stopped.end(), Argv{"/bin/notify", "stop", "VI_1"}),
            stopped.end());

  const size_t sent = host.sent.size();
  const size_t scripts = host.script_argvs().size();
  runtime.reload(parse(config_text(200)));  // a SIGHUP queued behind the SIGTERM
  runtime.stop();
  host.clock.advance(10s);
  EXPECT_EQ(host.sent.size(), sent) << "no second priority-0 advert, nothing after stop";
  EXPECT_EQ(host.script_argvs().size(), scripts) << "notify_stop runs once";
  EXPECT_TRUE(host.present.empty()) << "the reload after the stop signal brought nothing back";
}

TEST_F(VrrpRuntimeTest, LowerPriorityAdvertRunsTheScriptAndReannounces) {
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 255
  garp_master_delay 0
  garp_lower_prio_repeat 2
  garp_lower_prio_delay 3
  notify_master_rx_lower_pri "/bin/lower VI_1"
  virtual_ipaddress { 10.0.0.100/24 }
}
)")));
  host.clock.advance(500ms);
  const size_t sent = host.sent.size();
  const size_t scripts = host.script_argvs().size();
  const size_t vip_calls = host.vip_log.size();
  host.deliver("eth0",
               vrrp::Advert{.version = 2,
                            .vrid = 51,
                            .priority = 100,
                            .advert_interval = 1s,
                            .addresses = {ip("10.0.0.100")}},
               ip("10.0.0.9"));
  EXPECT_EQ(host.sent.size(), sent + 1) << "re-asserted";
  EXPECT_EQ(scripts_from(scripts), (std::vector<Argv>{{"/bin/lower", "VI_1"}}));
  host.clock.advance(3s);
  std::vector<TimePoint> announced;
  for (size_t i = vip_calls; i < host.vip_log.size(); ++i) {
    if (host.vip_log[i].call == VipCall::kAnnounce) announced.push_back(host.vip_log[i].at);
  }
  const TimePoint at = host.clock.now() - 3s;
  EXPECT_EQ(announced, (std::vector<TimePoint>{at, at + 3s}));
  runtime.stop();
}

TEST_F(VrrpRuntimeTest, TrackFileIsReadWhenTheWatcherSaysItChanged) {
  const std::string path = ::testing::TempDir() + "vigil-runtime-test.weight";
  { std::ofstream(path, std::ios::trunc) << "0\n"; }
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(R"(
track_file tf {
  file )" + path + R"(
  weight -60
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  track_file { tf }
  virtual_ipaddress { 10.0.0.100/24 }
}
)")));
  EXPECT_EQ(host.watched_files, (std::set<std::string>{path}));
  host.clock.advance(5s);
  ASSERT_FALSE(host.sent_for(51).empty());
  EXPECT_EQ(host.sent_for(51).back().priority(), 150);
  // Written but not yet reported: nothing polls the file.
  { std::ofstream(path, std::ios::trunc) << "1\n"; }
  host.clock.advance(3s);
  EXPECT_EQ(host.sent_for(51).back().priority(), 150);
  host.file_changed(path);  // 150 - 60
  host.clock.advance(1s);
  EXPECT_EQ(host.sent_for(51).back().priority(), 90);
  std::remove(path.c_str());
  host.file_changed(path);  // removed: 0
  host.clock.advance(1s);
  EXPECT_EQ(host.sent_for(51).back().priority(), 150);
  runtime.stop();
}

TEST_F(VrrpRuntimeTest, NotifyFifoScriptGetsTheFifoNameAndEndsWithTheRuntime) {
  const std::string fifo = ::testing::TempDir() + "vigil-runtime-test.fifo";
  {
    VrrpRuntime runtime(host, options());
    ASSERT_TRUE(runtime.start(parse(R"(
global_defs {
  vrrp_notify_fifo )" + fifo + R"(
  vrrp_notify_fifo_script "/bin/reader --verbose"
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress { 10.0.0.100/24 }
}
)")));
    ASSERT_EQ(host.long_running.size(), 1U);
    EXPECT_EQ(host.long_running[0].argv, (Argv{"/bin/reader", "--verbose", fifo}));
    EXPECT_EQ(host.long_running[0].timeout, Duration::zero());
    // An unchanged FIFO keeps its script across a reload.
    runtime.reload(parse(R"(
global_defs {
  vrrp_notify_fifo )" + fifo +
                         R"(
  vrrp_notify_fifo_script "/bin/reader --verbose"
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 120
  virtual_ipaddress { 10.0.0.100/24 }
}
)"));
    EXPECT_EQ(host.long_running.size(), 1U);
    EXPECT_EQ(host.long_running_ended, 0);
    EXPECT_EQ(host.long_running_terminated, 0);
    EXPECT_FALSE(runtime.scripts_idle());  // the reader runs for as long as the FIFO is there
    // Stopping asks the reader to end (SIGTERM, as keepalived does) and waits for it.
    runtime.stop();
    EXPECT_EQ(host.long_running_terminated, 1);
    EXPECT_TRUE(runtime.scripts_idle());
  }
  EXPECT_EQ(host.long_running_ended, 1);
}

TEST_F(VrrpRuntimeTest, FifoWriteVrrpStatesOnReloadRepeatsEveryStateAfterAReload) {
  const std::string fifo = ::testing::TempDir() + "vigil-runtime-states.fifo";
  ::unlink(fifo.c_str());
  auto text = [&](bool write_states, int priority) {
    return R"(
global_defs {
  vrrp_notify_fifo )" +
           fifo + (write_states ? "\n  fifo_write_vrrp_states_on_reload" : "") +
           R"(
}
vrrp_sync_group G1 {
  group { VI_1 VI_2 }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority )" +
           std::to_string(priority) +
           R"(
  virtual_ipaddress { 10.0.0.100/24 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  virtual_ipaddress { 10.0.0.101/24 }
}
)";
  };
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(text(true, 150))));
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  auto drain = [&] {
    std::string lines;
    std::array<char, 4096> buffer{};
    for (ssize_t n; (n = ::read(reader, buffer.data(), buffer.size())) > 0;)
      lines.append(buffer.data(), static_cast<size_t>(n));
    return lines;
  };
  host.clock.advance(5s);  // no peer: MASTER after Master_Down_Interval
  EXPECT_EQ(drain(),
            "INSTANCE \"VI_1\" BACKUP 150\nINSTANCE \"VI_2\" BACKUP 100\nGROUP \"G1\" BACKUP 0\n"
            "INSTANCE \"VI_1\" MASTER 150\nINSTANCE \"VI_2\" MASTER 100\nGROUP \"G1\" MASTER 0\n");

  // Unchanged: nothing moves, yet every state is written again.
  runtime.reload(parse(text(true, 150)));
  EXPECT_EQ(drain(),
            "GROUP \"G1\" MASTER 0\nINSTANCE \"VI_1\" MASTER 150\nINSTANCE \"VI_2\" MASTER 100\n");
  // Without the keyword a reload that changes nothing says nothing.
  runtime.reload(parse(text(false, 150)));
  EXPECT_EQ(drain(), "");
  runtime.stop();
  ::close(reader);
}

}  // namespace
}  // namespace vigil::daemon
