// The VRRP runtime of vigild end to end over a fake host in virtual time: configuration in,
// adverts, address changes and notify scripts out.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/log.h"
#include "config/test_util.h"
#include "daemon/vrrp/fake_vrrp_host.h"
#include "daemon/vrrp/vrrp_runtime.h"

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

// vrrp_garp_interval spaces the announcements on eth0; a garp_group gives eth1 its own spacing.
// Stopping drops what is still waiting: a stopped node must not claim the addresses.
TEST_F(VrrpRuntimeTest, GarpIntervalAndGarpGroupSpaceTheAnnouncements) {
  const std::string text = R"(
global_defs {
  vrrp_garp_interval 0.01
}
garp_group {
  garp_interval 0.004
  interface eth1
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 255
  garp_master_delay 0
  garp_master_repeat 2
  virtual_ipaddress {
    10.0.0.100/24
    10.0.0.101/24
    10.9.0.1/24 dev eth1
  }
}
)";
  struct Announced {
    Duration at;
    std::string interface;
    std::vector<IpPrefix> addresses;
    bool operator==(const Announced&) const = default;
  };
  auto announcements = [&] {
    std::vector<Announced> out;
    std::optional<TimePoint> first;
    for (const auto& r : host.vip_log) {
      if (r.call != VipCall::kAnnounce) continue;
      if (!first) first = r.at;
      out.push_back({r.at - *first, r.interface, r.addresses});
    }
    return out;
  };
  {
    VrrpRuntime runtime(host, options());
    ASSERT_TRUE(runtime.start(parse(text)));
    host.clock.advance(1s);
    EXPECT_EQ(announcements(), (std::vector<Announced>{{0ms, "eth0", {vip("10.0.0.100/24")}},
                                                       {0ms, "eth1", {vip("10.9.0.1/24")}},
                                                       {4ms, "eth1", {vip("10.9.0.1/24")}},
                                                       {10ms, "eth0", {vip("10.0.0.101/24")}},
                                                       {20ms, "eth0", {vip("10.0.0.100/24")}},
                                                       {30ms, "eth0", {vip("10.0.0.101/24")}}}));
    runtime.stop();
  }

  host.vip_log.clear();
  auto with_stats = options();
  with_stats.stats_file = ::testing::TempDir() + "vigil-runtime-test.stats";
  VrrpRuntime runtime(host, with_stats);
  ASSERT_TRUE(runtime.start(parse(text)));
  host.clock.advance(15ms);
  runtime.write_stats();
  {
    std::ifstream in(with_stats.stats_file);
    const std::string stats((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(stats.find("Spaced announcements: waiting 2, queued 4, sent later 2, failed later 0, "
                         "dropped (address removed) 0\n"),
              std::string::npos)
        << stats;
  }
  std::remove(with_stats.stats_file.c_str());
  runtime.stop();  // priority 0, addresses removed
  host.clock.advance(1s);
  EXPECT_EQ(announcements().size(), 4U) << "eth0 at 0 and 10 ms, eth1 at 0 and 4 ms only";
}

// vrrp_startup_delay: nothing is sent, announced or notified until the delay is over; then the
// instances start as usual (the owner is master at once). An instance a reload adds meanwhile
// waits too; a stop during the delay leaves nothing to say.
TEST_F(VrrpRuntimeTest, StartupDelayHoldsTheInstancesBack) {
  auto with_delay = [](const std::string& instances) {
    return "global_defs {\n  vrrp_startup_delay 2.5\n}\n" + instances;
  };
  const std::string owner = R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 255
  notify_master "/bin/notify master VI_1"
  virtual_ipaddress { 10.0.0.100/24 }
}
)";
  const std::string second = R"(
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 255
  virtual_ipaddress { 10.0.0.101/24 }
}
)";
  {
    VrrpRuntime runtime(host, options());
    ASSERT_TRUE(runtime.start(parse(with_delay(owner))));
    host.clock.advance(1s);
    runtime.reload(parse(with_delay(owner + second)));
    host.clock.advance(1499ms);
    EXPECT_TRUE(host.sent.empty());
    EXPECT_TRUE(host.vip_log.empty());
    EXPECT_TRUE(host.script_argvs().empty());
    host.clock.advance(1ms);  // 2.5 s after the start
    EXPECT_EQ(host.sent_for(51).size(), 1U);
    EXPECT_EQ(host.sent_for(52).size(), 1U);
    EXPECT_EQ(host.present, (std::set<IpPrefix>{vip("10.0.0.100/24"), vip("10.0.0.101/24")}));
    EXPECT_EQ(scripts_from(0), (std::vector<Argv>{{"/bin/notify", "master", "VI_1"}}));
    runtime.stop();
  }

  host.sent.clear();
  host.vip_log.clear();
  const size_t scripts = host.script_argvs().size();
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(with_delay(owner))));
  host.clock.advance(1s);
  runtime.stop();
  host.clock.advance(5s);
  EXPECT_TRUE(host.sent.empty());
  EXPECT_TRUE(host.vip_log.empty());
  EXPECT_EQ(host.script_argvs().size(), scripts);
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
  // Out of range (keepalived 2.2.7 track_file.c ignores it): the last value, 1, stays.
  { std::ofstream(path, std::ios::trunc) << "99999999999\n"; }
  host.file_changed(path);
  host.clock.advance(1s);
  EXPECT_EQ(host.sent_for(51).back().priority(), 90);
  std::remove(path.c_str());
  host.file_changed(path);  // removed: 0
  host.clock.advance(1s);
  EXPECT_EQ(host.sent_for(51).back().priority(), 150);
  runtime.stop();
}

// notify_priority_changes: one FIFO line per priority change, however many weight steps a
// track_file value moves at once; a reload that only turns it off keeps the instance running
// and silences it.
TEST_F(VrrpRuntimeTest, NotifyPriorityChangesWritesOneFifoLinePerChange) {
  const std::string path = ::testing::TempDir() + "vigil-runtime-prio.weight";
  const std::string fifo = ::testing::TempDir() + "vigil-runtime-prio.fifo";
  ::unlink(fifo.c_str());
  { std::ofstream(path, std::ios::trunc) << "0\n"; }
  auto text = [&](const std::string& setting) {
    return "global_defs {\n  vrrp_notify_fifo " + fifo + "\n}\ntrack_file tf {\n  file " + path +
           "\n  weight -10\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n"
           "  priority 150\n  track_file { tf }\n" +
           setting + "\n  virtual_ipaddress { 10.0.0.100/24 }\n}\n";
  };
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(text("  notify_priority_changes"))));
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  auto drain = [&] {
    std::string lines;
    std::array<char, 4096> buffer{};
    for (ssize_t n; (n = ::read(reader, buffer.data(), buffer.size())) > 0;)
      lines.append(buffer.data(), static_cast<size_t>(n));
    return lines;
  };
  host.clock.advance(5s);
  EXPECT_EQ(drain(), "INSTANCE \"VI_1\" BACKUP 150\nINSTANCE \"VI_1\" MASTER 150\n");
  { std::ofstream(path, std::ios::trunc) << "6\n"; }  // 150 - 60: several weight steps
  host.file_changed(path);
  host.clock.advance(1s);
  EXPECT_EQ(drain(), "INSTANCE \"VI_1\" MASTER_PRIORITY 90\n");

  runtime.reload(parse(text("  notify_priority_changes off")));
  host.clock.advance(1s);
  EXPECT_EQ(drain(), "");  // unchanged otherwise: no transition
  std::remove(path.c_str());
  host.file_changed(path);  // back to 150, silently now
  host.clock.advance(1s);
  EXPECT_EQ(host.sent_for(51).back().priority(), 150);
  EXPECT_EQ(drain(), "");
  runtime.stop();
  ::close(reader);
}

// A reload that removes instances: with notify_deleted its script runs and the generic script
// and the FIFO say DELETED; without it they say FAULT and no notify_fault runs (keepalived 2.2.7
// clear_diff_vrrp, checked against keepalived in netns.keepalived.notify-deleted); no STOP; the
// master still leaves with priority 0 and removes its address.
TEST_F(VrrpRuntimeTest, ReloadRemovalSaysDeletedWithNotifyDeletedElseFault) {
  const std::string fifo = ::testing::TempDir() + "vigil-runtime-deleted.fifo";
  ::unlink(fifo.c_str());
  const std::string defs = "global_defs {\n  vrrp_notify_fifo " + fifo + "\n}\n";
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(defs + R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  notify /bin/any
  notify_stop "/bin/notify stop VI_1"
  notify_deleted "/bin/notify deleted VI_1"
  virtual_ipaddress { 10.0.0.100/24 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  notify /bin/any
  notify_fault "/bin/notify fault VI_2"
  notify_stop "/bin/notify stop VI_2"
  virtual_ipaddress { 10.0.0.101/24 }
}
)")));
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  auto drain = [&] {
    std::string lines;
    std::array<char, 4096> buffer{};
    for (ssize_t n; (n = ::read(reader, buffer.data(), buffer.size())) > 0;)
      lines.append(buffer.data(), static_cast<size_t>(n));
    return lines;
  };
  host.clock.advance(5s);
  ASSERT_TRUE(host.present.contains(vip("10.0.0.100/24")));
  (void)drain();
  const size_t scripts = host.script_argvs().size();
  const size_t sent = host.sent_for(51).size();

  runtime.reload(parse(defs));
  host.clock.run_ready();
  EXPECT_EQ(drain(), "INSTANCE \"VI_1\" DELETED 150\nINSTANCE \"VI_2\" FAULT 100\n");
  EXPECT_EQ(scripts_from(scripts),
            (std::vector<Argv>{{"/bin/notify", "deleted", "VI_1"},
                               {"/bin/any", "INSTANCE", "VI_1", "DELETED", "150"},
                               {"/bin/any", "INSTANCE", "VI_2", "FAULT", "100"}}));
  ASSERT_EQ(host.sent_for(51).size(), sent + 1);
  EXPECT_EQ(host.sent_for(51).back().priority(), 0);
  EXPECT_TRUE(host.present.empty());
  runtime.stop();
  ::close(reader);
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

// ---- vrrp_script: interval, timeout, rise / fall, weight, init_fail, user ----------------------

constexpr const char* kNoSuchUser = "vigil-test-no-such-user";

// VI_1 (priority 150, advert_int 1, no peer: MASTER after 3 s + 106/256 s) tracking the
// vrrp_script `chk` ("/bin/check --fast") with `script_lines` added to its block.
std::string script_config(const std::string& script_lines, const std::string& global_lines = "") {
  return R"(
global_defs {
  vrrp_garp_master_delay 0
)" + global_lines +
         R"(
}
vrrp_script chk {
  script "/bin/check --fast"
)" + script_lines +
         R"(
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  track_script { chk }
  virtual_ipaddress { 10.0.0.100/24 }
}
)";
}

// Indices into the runner's requests of every run of vrrp_script `name`, in order.
std::vector<size_t> runs_of(const testing::FakeVrrpHost& host, const std::string& name) {
  std::vector<size_t> out;
  const auto& started = host.runner.started();
  for (size_t i = 0; i < started.size(); ++i) {
    if (started[i].request.name == "vrrp_script " + name) out.push_back(i);
  }
  return out;
}

// The run of `name` still going, if exactly one is.
std::optional<size_t> running(const testing::FakeVrrpHost& host, const std::string& name) {
  std::optional<size_t> found;
  for (size_t i : runs_of(host, name)) {
    if (host.runner.started()[i].finished) continue;
    if (found) return std::nullopt;
    found = i;
  }
  return found;
}

enum class RunResult { kOk, kFail, kTimedOut };

event::ScriptResult result_of(RunResult run) {
  event::ScriptResult result;
  result.outcome = run == RunResult::kTimedOut ? event::ScriptResult::Outcome::kTimedOut
                                               : event::ScriptResult::Outcome::kExited;
  result.exit_code = run == RunResult::kOk ? 0 : 1;
  result.signal = run == RunResult::kTimedOut ? 15 : 0;
  return result;
}

// The priority of the last advert VI_1 sent; 0 when it sent none.
int advertised(const testing::FakeVrrpHost& host) {
  const auto sent = host.sent_for(51);
  return sent.empty() ? 0 : sent.back().priority();
}

// The lines the "vrrp" logger writes while it lives.
class VrrpLogCapture {
 public:
  VrrpLogCapture()
      : logger_(log::get("vrrp")),
        sink_(std::make_shared<spdlog::sinks::ostream_sink_st>(stream_)) {
    sink_->set_pattern("%l %v");
    logger_->sinks().push_back(sink_);
  }
  VrrpLogCapture(const VrrpLogCapture&) = delete;
  VrrpLogCapture& operator=(const VrrpLogCapture&) = delete;
  ~VrrpLogCapture() { std::erase(logger_->sinks(), sink_); }
  [[nodiscard]] std::string text() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::sinks::ostream_sink_st> sink_;
};

// keepalived's rise / fall: `fall` failures in a row (a non-zero exit or a timeout) take the
// weight off, `rise` successes in a row give it back; a result of the other kind starts the
// count again. Each step ends the run in progress and lets one advert and the next run happen.
TEST_F(VrrpRuntimeTest, ScriptFallAndRiseMoveTheAdvertisedPriority) {
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(script_config("  weight -30\n  fall 3\n  rise 2"))));
  host.clock.advance(4s);  // MASTER at 150; the first run (at start) is still going
  ASSERT_EQ(advertised(host), 150);
  ASSERT_EQ(runs_of(host, "chk").size(), 1U);

  struct Step {
    RunResult result;
    int priority;  // advertised after it
  };
  const Step steps[] = {
      {RunResult::kFail, 150},      // failure 1 of 3
      {RunResult::kFail, 150},      // 2 of 3
      {RunResult::kFail, 120},      // 3 of 3: KO, the weight is off
      {RunResult::kOk, 120},        // success 1 of 2
      {RunResult::kOk, 150},        // 2 of 2: OK again
      {RunResult::kFail, 150},      // failure 1 of 3
      {RunResult::kTimedOut, 150},  // 2 of 3: a timeout is a failure
      {RunResult::kOk, 150},        // the count starts again
      {RunResult::kFail, 150},      // 1 of 3
      {RunResult::kFail, 150},      // 2 of 3
      {RunResult::kTimedOut, 120},  // 3 of 3: KO
      {RunResult::kOk, 120},        // success 1 of 2
      {RunResult::kFail, 120},      // the count starts again
      {RunResult::kOk, 120},        // 1 of 2
      {RunResult::kOk, 150},        // 2 of 2: OK
  };
  for (size_t i = 0; i < std::size(steps); ++i) {
    SCOPED_TRACE("step " + std::to_string(i + 1));
    const auto run = running(host, "chk");
    ASSERT_TRUE(run.has_value());
    host.runner.finish(*run, result_of(steps[i].result));
    host.clock.advance(1s);
    EXPECT_EQ(advertised(host), steps[i].priority);
  }
  EXPECT_TRUE(host.present.contains(vip("10.0.0.100/24"))) << "still MASTER: no peer";
  runtime.stop();
}

// The request: the script's argv, `timeout` (else the interval) as its limit, the `user`'s
// credentials; one run at start and one every `interval` of virtual time.
TEST_F(VrrpRuntimeTest, ScriptRequestsFollowTheDefinition) {
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(R"(
vrrp_script every_3 {
  script "/bin/check --port 80"
  interval 3
}
vrrp_script every_2 {
  script /usr/local/bin/check-db
  interval 2
  timeout 1
}
vrrp_script as_root {
  script /bin/check-root
  user root
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  track_script {
    every_3
    every_2
    as_root
  }
  virtual_ipaddress { 10.0.0.100/24 }
}
)")));
  host.clock.run_ready();

  struct Expected {
    std::string name;
    Argv argv;
    Duration timeout;
    Duration interval;
    std::optional<uid_t> uid;  // none: the daemon's own credentials
  };
  const Expected table[] = {
      {"every_3", {"/bin/check", "--port", "80"}, 3s, 3s, std::nullopt},
      {"every_2", {"/usr/local/bin/check-db"}, 1s, 2s, std::nullopt},
      {"as_root", {"/bin/check-root"}, 1s, 1s, 0},
  };
  for (const auto& e : table) {
    SCOPED_TRACE(e.name);
    const auto runs = runs_of(host, e.name);
    ASSERT_EQ(runs.size(), 1U) << "one run at start";
    const auto& request = host.runner.started()[runs[0]].request;
    EXPECT_EQ(request.argv, e.argv);
    EXPECT_EQ(request.timeout, e.timeout);
    ASSERT_EQ(request.run_as.has_value(), e.uid.has_value());
    if (e.uid) {
      EXPECT_EQ(request.run_as->user, "root");
      EXPECT_EQ(request.run_as->uid, *e.uid);
    }
  }

  // Each run ends at once (exit 0); the next starts `interval` after the previous one.
  const TimePoint t0 = host.clock.now();
  for (Duration at = 0s; at <= 12s; at += 500ms) {
    host.clock.run_until(t0 + at);
    for (const auto& e : table) {
      SCOPED_TRACE(e.name + " at " + std::to_string(at.count()) + " us");
      EXPECT_EQ(runs_of(host, e.name).size(), static_cast<size_t>(1 + at / e.interval));
      if (auto run = running(host, e.name)) host.runner.finish(*run, result_of(RunResult::kOk));
    }
  }
  // Every run had the same request.
  for (const auto& e : table) {
    for (size_t i : runs_of(host, e.name)) {
      EXPECT_EQ(host.runner.started()[i].request.argv, e.argv);
      EXPECT_EQ(host.runner.started()[i].request.timeout, e.timeout);
    }
  }
  runtime.stop();
}

// A run still going when the next interval comes is left alone (its timeout ends it); the next
// run starts at the first interval after it ended.
TEST_F(VrrpRuntimeTest, ScriptRunStillGoingIsNotStartedAgain) {
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(script_config("  interval 2\n  timeout 5"))));
  const TimePoint t0 = host.clock.now();
  host.clock.advance(7s);  // intervals at 2, 4 and 6 s passed
  ASSERT_EQ(runs_of(host, "chk").size(), 1U);
  host.runner.finish(runs_of(host, "chk")[0], result_of(RunResult::kOk));
  host.clock.run_until(t0 + 8s - 1ms);
  EXPECT_EQ(runs_of(host, "chk").size(), 1U) << "not restarted when it ends";
  host.clock.run_until(t0 + 8s);
  EXPECT_EQ(runs_of(host, "chk").size(), 2U);
  runtime.stop();
}

// Weight 0: a failed script puts the instance in FAULT (the master says priority 0 and removes
// its VIPs); once the script succeeds it starts again as BACKUP and takes over.
TEST_F(VrrpRuntimeTest, ScriptWithWeightZeroFaultsTheInstance) {
  std::vector<vrrp::State> states;
  auto opts = options();
  opts.on_state_change = [&](const std::string&, vrrp::State s) { states.push_back(s); };
  VrrpRuntime runtime(host, opts);
  ASSERT_TRUE(runtime.start(parse(script_config("  weight 0\n  fall 1\n  rise 1"))));
  host.clock.advance(4s);
  ASSERT_EQ(states, (std::vector<vrrp::State>{vrrp::State::kBackup, vrrp::State::kMaster}));
  ASSERT_TRUE(host.present.contains(vip("10.0.0.100/24")));

  auto run = running(host, "chk");
  ASSERT_TRUE(run.has_value());
  host.runner.finish(*run, result_of(RunResult::kFail));
  EXPECT_EQ(states.back(), vrrp::State::kFault);
  EXPECT_EQ(advertised(host), 0) << "the backups take over after Skew_Time";
  EXPECT_TRUE(host.present.empty());
  const size_t sent = host.sent.size();
  host.clock.advance(5s);
  EXPECT_EQ(host.sent.size(), sent) << "nothing is advertised in FAULT";
  EXPECT_TRUE(host.present.empty());
  EXPECT_EQ(states.back(), vrrp::State::kFault);

  run = running(host, "chk");
  ASSERT_TRUE(run.has_value()) << "the script keeps running in FAULT";
  host.runner.finish(*run, result_of(RunResult::kOk));
  EXPECT_EQ(states.back(), vrrp::State::kBackup);
  host.clock.advance(4s);
  EXPECT_EQ(states, (std::vector<vrrp::State>{vrrp::State::kBackup, vrrp::State::kMaster,
                                              vrrp::State::kFault, vrrp::State::kBackup,
                                              vrrp::State::kMaster}));
  EXPECT_TRUE(host.present.contains(vip("10.0.0.100/24")));
  EXPECT_EQ(advertised(host), 150);
  runtime.stop();
}

// keepalived drops a vrrp_script whose user (its own `user`, else script_user) cannot be
// resolved, and the track_script entries naming it: the script never runs, a warning says so,
// and the instance runs at its base priority whatever the script's weight or init_fail.
TEST_F(VrrpRuntimeTest, ScriptWithAnUnresolvableUserNeverRunsAndIsNotTracked) {
  const std::string user_line = std::string("  user ") + kNoSuchUser;
  const std::string script_user = std::string("  script_user ") + kNoSuchUser;
  struct Case {
    const char* what;
    std::string script_lines;
    std::string global_lines;
  };
  const Case cases[] = {
      {"user, weight -30, init_fail", user_line + "\n  weight -30\n  init_fail", ""},
      {"script_user, weight 20", "  weight 20", script_user},
      {"user, weight 0, init_fail", user_line + "\n  weight 0\n  init_fail", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    testing::FakeVrrpHost fresh;
    VrrpLogCapture captured;
    std::vector<vrrp::State> states;
    auto opts = options();
    opts.on_state_change = [&](const std::string&, vrrp::State s) { states.push_back(s); };
    VrrpRuntime runtime(fresh, opts);
    ASSERT_TRUE(runtime.start(parse(script_config(c.script_lines, c.global_lines))));
    fresh.clock.advance(10s);
    EXPECT_TRUE(fresh.runner.started().empty());
    EXPECT_NE(captured.text().find(std::string("warning [vrrp] vrrp_script chk: user ") +
                                   kNoSuchUser + " cannot be resolved: not run"),
              std::string::npos)
        << captured.text();
    EXPECT_EQ(states, (std::vector<vrrp::State>{vrrp::State::kBackup, vrrp::State::kMaster}));
    ASSERT_FALSE(fresh.sent_for(51).empty());
    EXPECT_EQ(fresh.sent_for(51).front().priority(), 150);
    EXPECT_EQ(advertised(fresh), 150);
    EXPECT_TRUE(fresh.present.contains(vip("10.0.0.100/24")));
    runtime.stop();
  }
}

// A reload can make a script's user unresolvable (the script stops: it never runs as the
// daemon's own user instead, and stops weighing on the instance) or resolvable (it starts).
TEST_F(VrrpRuntimeTest, ReloadThatChangesWhetherTheScriptUserResolves) {
  const std::string as_root = "  user root\n  weight -30\n  fall 1";
  const std::string as_nobody = std::string("  user ") + kNoSuchUser + "\n  weight -30\n  fall 1";
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(script_config(as_root))));
  host.clock.advance(4s);
  auto run = running(host, "chk");
  ASSERT_TRUE(run.has_value());
  host.runner.finish(*run, result_of(RunResult::kFail));
  host.clock.advance(1s);
  ASSERT_EQ(advertised(host), 120);
  run = running(host, "chk");
  ASSERT_TRUE(run.has_value());
  host.runner.finish(*run, result_of(RunResult::kFail));

  runtime.reload(parse(script_config(as_nobody)));
  const size_t runs = runs_of(host, "chk").size();
  host.clock.advance(5s);
  EXPECT_EQ(runs_of(host, "chk").size(), runs) << "a disabled script must not run";
  EXPECT_EQ(advertised(host), 150) << "a disabled script is not tracked";
  EXPECT_TRUE(host.present.contains(vip("10.0.0.100/24")));

  runtime.reload(parse(script_config(as_root)));
  host.clock.run_ready();
  ASSERT_EQ(runs_of(host, "chk").size(), runs + 1) << "runs again once its user resolves";
  const auto& request = host.runner.started()[runs_of(host, "chk").back()].request;
  ASSERT_TRUE(request.run_as.has_value());
  EXPECT_EQ(request.run_as->uid, 0U);
  host.clock.advance(1s);
  EXPECT_EQ(advertised(host), 150) << "it starts afresh, OK until `fall` failures";
  host.runner.finish(runs_of(host, "chk").back(), result_of(RunResult::kFail));
  host.clock.advance(1s);
  EXPECT_EQ(advertised(host), 120);
  runtime.stop();
}

// init_fail: the script starts failed (the weight is off from the first advert) and needs
// `rise` successes to be OK.
TEST_F(VrrpRuntimeTest, ScriptWithInitFailStartsFailed) {
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(script_config("  weight -30\n  rise 2\n  init_fail"))));
  host.clock.advance(4s);
  ASSERT_FALSE(host.sent_for(51).empty());
  EXPECT_EQ(host.sent_for(51).front().priority(), 120);
  EXPECT_EQ(advertised(host), 120);
  for (int expected : {120, 150}) {
    const auto run = running(host, "chk");
    ASSERT_TRUE(run.has_value());
    host.runner.finish(*run, result_of(RunResult::kOk));
    host.clock.advance(1s);
    EXPECT_EQ(advertised(host), expected);
  }
  runtime.stop();
}

// init_fail with weight 0: FAULT from the start (no advert, no VIP) until `rise` successes.
TEST_F(VrrpRuntimeTest, ScriptWithInitFailAndWeightZeroStartsInFault) {
  std::vector<vrrp::State> states;
  auto opts = options();
  opts.on_state_change = [&](const std::string&, vrrp::State s) { states.push_back(s); };
  VrrpRuntime runtime(host, opts);
  ASSERT_TRUE(runtime.start(parse(script_config("  weight 0\n  rise 2\n  init_fail"))));
  host.clock.advance(4s);
  EXPECT_EQ(states, (std::vector<vrrp::State>{vrrp::State::kFault}));
  EXPECT_TRUE(host.sent.empty());
  EXPECT_TRUE(host.present.empty());
  auto run = running(host, "chk");
  ASSERT_TRUE(run.has_value());
  host.runner.finish(*run, result_of(RunResult::kOk));
  host.clock.advance(1s);
  EXPECT_EQ(states, (std::vector<vrrp::State>{vrrp::State::kFault})) << "rise 2";
  run = running(host, "chk");
  ASSERT_TRUE(run.has_value());
  host.runner.finish(*run, result_of(RunResult::kOk));
  host.clock.advance(4s);
  EXPECT_EQ(states, (std::vector<vrrp::State>{vrrp::State::kFault, vrrp::State::kBackup,
                                              vrrp::State::kMaster}));
  EXPECT_TRUE(host.present.contains(vip("10.0.0.100/24")));
  runtime.stop();
}

namespace vmac {

std::string vmac_config(const std::string& vi1_extra, bool with_vi2) {
  std::string text = R"(
global_defs {
  vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
)" + vi1_extra + R"(
  virtual_ipaddress { 10.0.0.100/24 }
}
)";
  if (with_vi2) {
    text += R"(
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 1
  use_vmac
  virtual_ipaddress { 10.0.0.101/24 }
}
)";
  }
  return text;
}

}  // namespace vmac

// use_vmac: the VMAC is made before the instance starts, the VIPs and GARPs go on it, adverts
// leave from it (or from eth0 with vmac_xmit_base); eth0's arp_ignore / arp_filter are set while
// a VMAC uses it and put back when the last one goes (reload, stop).
TEST_F(VrrpRuntimeTest, VmacCarriesTheAddressesAndIsRemovedWithItsInstance) {
  host.sysctls["/proc/sys/net/ipv4/conf/eth0/arp_ignore"] = 0;
  host.sysctls["/proc/sys/net/ipv4/conf/eth0/arp_filter"] = 0;
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(vmac::vmac_config("  use_vmac\n", /*with_vi2=*/true))));
  EXPECT_EQ(host.vmac_log, (std::vector<std::string>{"ensure vrrp.51", "ensure vrrp.52"}));
  ASSERT_TRUE(host.vmac_links.contains("vrrp.51"));
  EXPECT_EQ(host.vmac_links["vrrp.51"].base, "eth0");
  EXPECT_EQ(host.vmac_links["vrrp.51"].mac, (vrrp::MacAddress{0, 0, 0x5e, 0, 1, 51}));
  EXPECT_EQ(host.sysctls["/proc/sys/net/ipv4/conf/eth0/arp_ignore"], 1);
  EXPECT_EQ(host.sysctls["/proc/sys/net/ipv4/conf/eth0/arp_filter"], 1);
  EXPECT_EQ(host.sysctls["/proc/sys/net/ipv4/conf/vrrp.51/rp_filter"], 0);
  EXPECT_EQ(host.sockets_opened, 2) << "one socket per VMAC";

  host.clock.advance(4s);  // both MASTER
  ASSERT_FALSE(host.sent_for(51).empty());
  EXPECT_EQ(host.sent_for(51).back().advert.interface, "vrrp.51");
  EXPECT_EQ(host.sent_for(51).back().advert.source, ip("10.0.0.1")) << "eth0's address";
  bool added = false;
  bool announced = false;
  for (const auto& record : host.vip_log) {
    if (record.addresses != std::vector<IpPrefix>{vip("10.0.0.100/24")}) continue;
    EXPECT_EQ(record.interface, "vrrp.51");
    added = added || record.call == VipCall::kAdd;
    announced = announced || record.call == VipCall::kAnnounce;
  }
  EXPECT_TRUE(added && announced);

  // Reload: VI_2 goes (its VMAC with it; eth0 still has VI_1's), VI_1 sends from eth0 now.
  runtime.reload(parse(vmac::vmac_config("  use_vmac\n  vmac_xmit_base\n", /*with_vi2=*/false)));
  host.clock.advance(2s);
  EXPECT_FALSE(host.vmac_links.contains("vrrp.52"));
  EXPECT_TRUE(host.vmac_links.contains("vrrp.51"));
  EXPECT_EQ(host.sent_for(51).back().advert.interface, "eth0");
  EXPECT_EQ(host.sysctls["/proc/sys/net/ipv4/conf/eth0/arp_ignore"], 1);

  runtime.stop();
  EXPECT_TRUE(host.vmac_links.empty());
  EXPECT_EQ(host.vmac_log.back(), "remove vrrp.51");
  EXPECT_EQ(host.sysctls["/proc/sys/net/ipv4/conf/eth0/arp_ignore"], 0);
  EXPECT_EQ(host.sysctls["/proc/sys/net/ipv4/conf/eth0/arp_filter"], 0);
}

}  // namespace
}  // namespace vigil::daemon
