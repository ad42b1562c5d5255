// Cross-checks against Debian's keepalived running in the peer namespace: our receive socket and
// AdvertReceiver decode keepalived's adverts (VRRPv2 with PASS authentication, VRRPv3 over IPv4
// and IPv6), and keepalived as backup accepts the adverts our socket sends: it stays BACKUP while
// we advertise a higher priority and takes over once we stop.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fakes/fake_scheduler.h"
#include "vrrp/fake_host.h"
#include "vrrp/instance.h"
#include "vrrp/linux_advert_socket.h"
#include "vrrp/linux_netdev.h"
#include "vrrp/linux_netns.h"
#include "vrrp/linux_vip_manager.h"
#include "vrrp/packet.h"

namespace vigil::vrrp {
namespace {

using namespace std::chrono_literals;
using netns::kInterface;

IpAddress ip(std::string_view text) {
  return *IpAddress::parse(text);
}

// keepalived -n (foreground) in a network namespace, in its own process group, logging to a
// file; stopped with SIGTERM (then SIGKILL) by PID when the test ends.
class Keepalived {
 public:
  Keepalived(const std::string& netns, const std::string& config) {
    char dir_template[] = "/tmp/vigil-vrrp-host-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = dir_template;
    std::ofstream(dir_ / "keepalived.conf") << config;
    const std::string conf = dir_ / "keepalived.conf";
    const std::string pid = dir_ / "keepalived.pid";
    const std::string vrrp_pid = dir_ / "vrrp.pid";
    const std::string log = dir_ / "keepalived.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
      ::execlp("ip", "ip", "netns", "exec", netns.c_str(), "keepalived", "-n", "-l", "-D", "-P",
               "-f", conf.c_str(), "-p", pid.c_str(), "-r", vrrp_pid.c_str(), nullptr);
      ::_exit(127);
    }
  }
  Keepalived(const Keepalived&) = delete;
  Keepalived& operator=(const Keepalived&) = delete;
  ~Keepalived() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    bool exited = false;
    for (int i = 0; i < 250 && !exited; ++i) {  // 5 s
      exited = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
      if (!exited) ::poll(nullptr, 0, 20);
    }
    if (!exited) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::kill(-pid_, SIGKILL);  // a VRRP child left behind, if any
    pid_ = -1;
  }

  [[nodiscard]] std::string log() const {
    std::ifstream file(dir_ / "keepalived.log");
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }
  [[nodiscard]] bool logged(const std::string& text) const {
    return log().find(text) != std::string::npos;
  }
  // Polls the log every 20 ms until it holds `text` or `timeout` passes.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const {
    for (auto waited = 0ms; waited <= timeout; waited += 20ms) {
      if (logged(text)) return true;
      ::poll(nullptr, 0, 20);
    }
    return false;
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

bool keepalived_installed() {
  return netns::run_command("keepalived --version").status == 0;
}

std::string peer_addresses() {
  return netns::run_command("ip -n " + netns::peer_namespace() + " -o addr show dev eth0").output;
}

// Instances as a backup on our side would have them, for the receivers' VRID lookup.
InstanceConfig backup_config(std::string name, uint8_t vrid, uint8_t version, AddressFamily family,
                             Duration interval, std::vector<std::string> vips) {
  InstanceConfig config{
      .name = std::move(name),
      .interface = kInterface,
      .vrid = vrid,
      .priority = 100,
      .version = version,
      .family = family,
      .advert_interval = interval,
      .primary_address = family == AddressFamily::kIpv4 ? netns::kSelf4 : netns::kSelf6};
  for (const auto& vip : vips)
    config.virtual_addresses.push_back({.prefix = *IpPrefix::parse(vip)});
  if (version == 2) {
    config.auth_type = AuthType::kSimplePassword;
    config.auth_pass = "secret";
  }
  return config;
}

std::unique_ptr<LinuxAdvertSocket> open_socket(AddressFamily family) {
  auto socket = LinuxAdvertSocket::open({.interface = kInterface, .family = family});
  if (!socket) ADD_FAILURE() << socket.error().message;
  return socket ? std::move(*socket) : nullptr;
}

constexpr const char* kMasterConfig = R"(global_defs {
  router_id vigil_interop_master
}
vrrp_instance K2 {
  interface eth0
  version 2
  virtual_router_id 51
  priority 150
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    192.0.2.200/24
  }
}
vrrp_instance K3 {
  interface eth0
  version 3
  virtual_router_id 52
  priority 150
  advert_int 0.1
  virtual_ipaddress {
    192.0.2.201/24
  }
}
vrrp_instance K6 {
  interface eth0
  version 3
  virtual_router_id 53
  priority 150
  advert_int 0.1
  virtual_ipaddress {
    2001:db8::201/64
  }
}
)";

TEST(KeepalivedInterop, OurSocketsDecodeKeepalivedMasterAdverts) {
  ASSERT_TRUE(keepalived_installed()) << "keepalived is needed (scripts/install-deps)";
  auto socket4 = open_socket(AddressFamily::kIpv4);
  auto socket6 = open_socket(AddressFamily::kIpv6);
  ASSERT_TRUE(socket4 && socket6);

  vigil::testing::FakeScheduler scheduler;
  testing::FakeVipManager vips(scheduler);
  Instance v2(backup_config("VI_2", 51, 2, AddressFamily::kIpv4, 1s, {"192.0.2.200/24"}), scheduler,
              *socket4, vips);
  Instance v3(backup_config("VI_3", 52, 3, AddressFamily::kIpv4, 100ms, {"192.0.2.201/24"}),
              scheduler, *socket4, vips);
  Instance v6(backup_config("VI_6", 53, 3, AddressFamily::kIpv6, 100ms, {"2001:db8::201/64"}),
              scheduler, *socket6, vips);
  AdvertReceiver receiver4;
  AdvertReceiver receiver6;
  receiver4.add(v2);
  receiver4.add(v3);
  receiver6.add(v6);
  for (Instance* instance : {&v2, &v3, &v6})
    instance->start();

  Keepalived keepalived(netns::peer_namespace(), kMasterConfig);
  std::map<uint8_t, Advert> last;  // by VRID, decoded on the side for field checks
  std::map<uint8_t, IpFacts> facts;
  auto lookup = [&](uint8_t vrid) -> const ReceivePolicy* {
    for (Instance* instance : {&v2, &v3, &v6}) {
      if (instance->config().vrid == vrid) return &instance->receive_policy();
    }
    return nullptr;
  };
  auto drain_both = [&] {
    socket4->drain([&](const RawAdvertMessage& message) {
      receiver4.on_ipv4_datagram(message.bytes);
      if (auto decoded = decode_ipv4(message.bytes, lookup); decoded.ok()) {
        last[decoded.advert().vrid] = decoded.advert();
        facts[decoded.advert().vrid] = decoded.value().ip;
      }
    });
    socket6->drain([&](const RawAdvertMessage& message) {
      receiver6.on_ipv6_message(message.source, message.destination, message.ttl, message.bytes);
      if (auto decoded =
              decode_ipv6(message.source, message.destination, message.ttl, message.bytes, lookup);
          decoded.ok()) {
        last[decoded.advert().vrid] = decoded.advert();
        facts[decoded.advert().vrid] = decoded.value().ip;
      }
    });
  };
  // keepalived waits a Master_Down_Interval (3.6 s for v2 at priority 150) before advertising.
  auto enough = [&] {
    return v2.counters().adverts_received >= 2 && v3.counters().adverts_received >= 5 &&
           v6.counters().adverts_received >= 5;
  };
  for (int round = 0; round < 400 && !enough(); ++round) {  // at most ~10 s
    netns::pump_until(socket4->fd(), drain_both, enough, 25ms);
    netns::pump_until(socket6->fd(), drain_both, enough, 25ms);
  }
  ASSERT_TRUE(enough()) << "v2 " << v2.counters().adverts_received << ", v3 "
                        << v3.counters().adverts_received << ", v6 "
                        << v6.counters().adverts_received << "\n"
                        << keepalived.log();
  EXPECT_EQ(receiver4.rejects().total(), 0U);
  EXPECT_EQ(receiver6.rejects().total(), 0U);

  EXPECT_EQ(last[51], (Advert{.version = 2,
                              .vrid = 51,
                              .priority = 150,
                              .advert_interval = 1s,
                              .addresses = {ip("192.0.2.200")},
                              .auth_type = AuthType::kSimplePassword,
                              .auth_data = password_auth_data("secret")}));
  EXPECT_EQ(last[52], (Advert{.version = 3,
                              .vrid = 52,
                              .priority = 150,
                              .advert_interval = 100ms,
                              .addresses = {ip("192.0.2.201")}}));
  EXPECT_EQ(last[53], (Advert{.version = 3,
                              .vrid = 53,
                              .priority = 150,
                              .advert_interval = 100ms,
                              .addresses = {ip("2001:db8::201")}}));
  EXPECT_EQ(facts[51].source, netns::kPeer4);
  EXPECT_EQ(facts[51].destination, multicast_group(AddressFamily::kIpv4));
  EXPECT_TRUE(facts[53].source.is_link_local()) << facts[53].source.to_string();
  EXPECT_EQ(facts[53].destination, multicast_group(AddressFamily::kIpv6));
  // A higher-priority master keeps our instances in BACKUP.
  for (Instance* instance : {&v2, &v3, &v6})
    EXPECT_EQ(instance->state(), State::kBackup) << instance->config().name;
  receiver4.remove(v2);
  receiver4.remove(v3);
  receiver6.remove(v6);
}

constexpr const char* kBackupConfig = R"(global_defs {
  router_id vigil_interop_backup
}
vrrp_instance K2 {
  interface eth0
  version 2
  virtual_router_id 61
  priority 100
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    192.0.2.210/24
  }
}
vrrp_instance K3 {
  interface eth0
  version 3
  virtual_router_id 62
  priority 100
  advert_int 0.1
  virtual_ipaddress {
    192.0.2.211/24
  }
}
vrrp_instance K6 {
  interface eth0
  version 3
  virtual_router_id 63
  priority 100
  advert_int 0.1
  virtual_ipaddress {
    2001:db8::211/64
  }
}
)";

TEST(KeepalivedInterop, KeepalivedStaysBackupWhileOurSocketAdvertisesHigherPriority) {
  ASSERT_TRUE(keepalived_installed()) << "keepalived is needed (scripts/install-deps)";
  auto socket4 = open_socket(AddressFamily::kIpv4);
  auto socket6 = open_socket(AddressFamily::kIpv6);
  ASSERT_TRUE(socket4 && socket6);
  auto link_local = interface_primary_address(kInterface, AddressFamily::kIpv6);
  ASSERT_TRUE(link_local) << link_local.error().message;

  struct Sender {
    InstanceConfig config;
    LinuxAdvertSocket* socket;
    IpAddress source;
  };
  std::vector<Sender> senders = {
      {backup_config("VI_2", 61, 2, AddressFamily::kIpv4, 1s, {"192.0.2.210/24"}), socket4.get(),
       netns::kSelf4},
      {backup_config("VI_3", 62, 3, AddressFamily::kIpv4, 100ms, {"192.0.2.211/24"}), socket4.get(),
       netns::kSelf4},
      {backup_config("VI_6", 63, 3, AddressFamily::kIpv6, 100ms, {"2001:db8::211/64"}),
       socket6.get(), *link_local},
  };
  size_t heard_from_keepalived = 0;
  auto advertise_and_listen = [&](uint8_t priority) {
    for (const auto& sender : senders) {
      const IpAddress group = multicast_group(sender.config.family);
      const auto bytes =
          encode(sender.config.advert(priority), {.source = sender.source, .destination = group});
      Status sent = sender.socket->send(
          {.interface = kInterface, .source = sender.source, .destination = group, .bytes = bytes});
      ASSERT_TRUE(sent.ok()) << sent.error().message;
    }
    for (auto* socket : {socket4.get(), socket6.get()})
      heard_from_keepalived += socket->drain([](const RawAdvertMessage&) {});
  };

  Keepalived keepalived(netns::peer_namespace(), kBackupConfig);
  // Priority 200 every 100 ms until keepalived is up (bounded: 10 s), then 4.5 s more: longer
  // than keepalived's Master_Down_Interval for v2 (3 x 1 s + skew 0.61 s) and many times that
  // of the v3 instances.
  auto all_backup = [&] {
    return keepalived.logged("(K2) Entering BACKUP STATE") &&
           keepalived.logged("(K3) Entering BACKUP STATE") &&
           keepalived.logged("(K6) Entering BACKUP STATE");
  };
  for (int round = 0; round < 100 && !all_backup(); ++round) {
    advertise_and_listen(200);
    ::poll(nullptr, 0, 100);
  }
  for (int round = 0; round < 45; ++round) {
    advertise_and_listen(200);
    ::poll(nullptr, 0, 100);
  }
  const std::string log = keepalived.log();
  for (const char* name : {"(K2)", "(K3)", "(K6)"}) {
    EXPECT_NE(log.find(std::string(name) + " Entering BACKUP STATE"), std::string::npos)
        << name << "\n"
        << log;
    EXPECT_EQ(log.find(std::string(name) + " Entering MASTER STATE"), std::string::npos)
        << name << "\n"
        << log;
  }
  EXPECT_EQ(heard_from_keepalived, 0U) << "a backup does not advertise";
  const std::string addresses = peer_addresses();
  for (const char* vip : {"192.0.2.210/24", "192.0.2.211/24", "2001:db8::211/64"})
    EXPECT_EQ(addresses.find(vip), std::string::npos) << vip << "\n" << addresses;

  // The control: once we leave (priority 0, RFC 5798 §6.4.3), keepalived takes over at once.
  advertise_and_listen(kStopPriority);
  for (const char* name : {"(K2)", "(K3)", "(K6)"}) {
    EXPECT_TRUE(keepalived.wait_for_log(std::string(name) + " Entering MASTER STATE", 5000ms))
        << name << "\n"
        << keepalived.log();
  }
  const std::string after = peer_addresses();
  for (const char* vip : {"192.0.2.210/24", "192.0.2.211/24", "2001:db8::211/64"})
    EXPECT_NE(after.find(vip), std::string::npos) << vip << "\n" << after;
}

}  // namespace
}  // namespace vigil::vrrp

namespace vigil::vrrp {
namespace {

// `ip -o addr` of `address` on eth0 from "inet" up to the lifetimes, e.g.
// "inet 192.0.2.201/24 brd 192.0.2.255 scope global secondary eth0:ka", or "" when absent.
std::string address_line(const std::string& ip_prefix, const std::string& address) {
  const std::string all = netns::run_command(ip_prefix + " -o addr show dev eth0").output;
  size_t at = all.find(" " + address + " ");
  if (at == std::string::npos) return "";
  const size_t start = all.rfind("inet", at);
  const size_t end = all.find('\\', at);
  std::string line = all.substr(start, end - start);
  while (!line.empty() && line.back() == ' ')
    line.pop_back();
  return line;
}

constexpr const char* kOwnerConfig = R"(vrrp_instance K4 {
  interface eth0
  virtual_router_id 71
  priority 255
  advert_int 1
  virtual_ipaddress {
    192.0.2.200/24
    192.0.2.201/24 brd 192.0.2.255 label eth0:ka
    198.51.100.7/32 scope host
    203.0.113.9/28 scope link
  }
}
vrrp_instance K6 {
  interface eth0
  virtual_router_id 72
  priority 255
  advert_int 1
  virtual_ipaddress {
    2001:db8::200/64
  }
}
)";

// The same virtual_ipaddress lines give the same kernel addresses as keepalived's (an address
// owner, so it is master at once).
TEST(KeepalivedInterop, VirtualAddressesMatchKeepalivedsOnes) {
  ASSERT_TRUE(keepalived_installed()) << "keepalived is needed (scripts/install-deps)";
  const std::string peer = netns::peer_namespace();
  Keepalived keepalived(peer, kOwnerConfig);
  ASSERT_TRUE(keepalived.wait_for_log("(K4) Entering MASTER STATE", 5000ms)) << keepalived.log();
  ASSERT_TRUE(keepalived.wait_for_log("(K6) Entering MASTER STATE", 5000ms)) << keepalived.log();

  auto with = [](std::string_view prefix, auto&&... options) {
    VirtualAddress address{.prefix = *IpPrefix::parse(prefix)};
    (options(address), ...);
    return address;
  };
  const std::vector<VirtualAddress> ours = {
      with("192.0.2.200/24"),
      with("192.0.2.201/24",
           [](VirtualAddress& a) {
             a.broadcast = *IpAddress::parse("192.0.2.255");
             a.label = "eth0:ka";
           }),
      with("198.51.100.7/32", [](VirtualAddress& a) { a.scope = "host"; }),
      with("203.0.113.9/28", [](VirtualAddress& a) { a.scope = "link"; }),
      with("2001:db8::200/64"),
  };
  auto manager = NetlinkVipManager::open();
  ASSERT_TRUE(manager) << manager.error().message;
  ASSERT_TRUE((*manager)->add_addresses(kInterface, ours).ok());
  for (const auto& address : ours) {
    const std::string text = address.prefix.to_string();
    const std::string theirs = address_line("ip -n " + peer, text);
    EXPECT_NE(theirs, "") << text << " not added by keepalived";
    EXPECT_EQ(address_line("ip", text), theirs) << text;
  }
  ASSERT_TRUE((*manager)->remove_addresses(kInterface, ours).ok());
}

constexpr const char* kUnicastMasterConfig = R"(vrrp_instance KU {
  interface eth0
  version 3
  virtual_router_id 81
  priority 150
  advert_int 0.1
  unicast_src_ip 192.0.2.2
  unicast_peer {
    192.0.2.1
  }
  virtual_ipaddress {
    192.0.2.220/24
  }
}
)";

constexpr const char* kUnicastBackupConfig = R"(vrrp_instance KU {
  interface eth0
  version 3
  virtual_router_id 82
  priority 100
  advert_int 0.1
  unicast_src_ip 192.0.2.2
  unicast_peer {
    192.0.2.1
  }
  virtual_ipaddress {
    192.0.2.221/24
  }
}
)";

// unicast_peer both ways: keepalived's unicast adverts reach a socket that joined no group, and
// keepalived as backup takes our unicast adverts.
TEST(KeepalivedInterop, UnicastPeersBothWays) {
  ASSERT_TRUE(keepalived_installed()) << "keepalived is needed (scripts/install-deps)";
  auto socket = LinuxAdvertSocket::open(
      {.interface = kInterface, .family = AddressFamily::kIpv4, .join_multicast = false});
  ASSERT_TRUE(socket) << socket.error().message;
  {
    Keepalived master(netns::peer_namespace(), kUnicastMasterConfig);
    std::vector<ReceivedAdvert> received;
    const ReceivePolicy policy{.version = 3, .advert_interval = 100ms};
    auto lookup = [&](uint8_t vrid) { return vrid == 81 ? &policy : nullptr; };
    netns::pump_until((*socket)->fd(),
                      [&] {
                        (*socket)->drain([&](const RawAdvertMessage& message) {
                          if (auto decoded = decode_ipv4(message.bytes, lookup); decoded.ok())
                            received.push_back(decoded.value());
                        });
                      },
                      [&] { return received.size() >= 3; }, 5000ms);
    ASSERT_GE(received.size(), 3U) << master.log();
    EXPECT_EQ(received[0].ip.source, netns::kPeer4);
    EXPECT_EQ(received[0].ip.destination, netns::kSelf4);
    EXPECT_EQ(received[0].ip.ttl, kRequiredTtl);
    EXPECT_EQ(received[0].advert.priority, 150);
    EXPECT_EQ(received[0].advert.addresses, std::vector<IpAddress>{ip("192.0.2.220")});
  }

  Keepalived backup(netns::peer_namespace(), kUnicastBackupConfig);
  InstanceConfig ours = backup_config("VU", 82, 3, AddressFamily::kIpv4, 100ms, {"192.0.2.221/24"});
  const auto bytes =
      encode(ours.advert(200), {.source = netns::kSelf4, .destination = netns::kPeer4});
  // Every 100 ms until keepalived is up (bounded: 10 s), then 2 s more against its
  // Master_Down_Interval of 0.36 s.
  int rounds_after_start = 0;
  for (int round = 0; round < 120 && rounds_after_start < 20; ++round) {
    Status sent = (*socket)->send({.interface = kInterface,
                                   .source = netns::kSelf4,
                                   .destination = netns::kPeer4,
                                   .bytes = bytes});
    ASSERT_TRUE(sent.ok()) << sent.error().message;
    ::poll(nullptr, 0, 100);
    if (rounds_after_start > 0 || backup.logged("(KU) Entering BACKUP STATE")) ++rounds_after_start;
  }
  EXPECT_TRUE(backup.logged("(KU) Entering BACKUP STATE")) << backup.log();
  EXPECT_FALSE(backup.logged("(KU) Entering MASTER STATE")) << backup.log();
  EXPECT_EQ(peer_addresses().find("192.0.2.221"), std::string::npos);
  // Control: silence makes it master.
  EXPECT_TRUE(backup.wait_for_log("(KU) Entering MASTER STATE", 3000ms)) << backup.log();
}

}  // namespace
}  // namespace vigil::vrrp
