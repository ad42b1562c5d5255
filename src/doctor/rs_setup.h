// vigilctl rs-setup: what a real server behind a virtual service needs, and whether it has it.
// Two layers, as for the doctor (doctor.h):
// - plan() (pure): the configuration, the service as the operator names it, a forwarding method
//   and extra VIPs in, the Plan out: the addresses each VIP needs on which device, the tunnel
//   devices and FOU ports, the sysctls with why, and notes. render() prints a Plan as an
//   idempotent sh script, a sysctl.d body plus address lines, or systemd-networkd files;
//   judge() compares a Plan with the Facts of this host, one Verdict per item.
// - gather_host() (linux_rs_host.cc) reads the Facts: getifaddrs, /proc/sys, /proc/net/udp.
//
// Why each item (the LVS-HOWTO's "ARP problem", kernel Documentation/networking/ip-sysctl.rst):
// - DR and TUN send the client's packet to the real server with the VIP still its destination,
//   so the real server must own the VIP (on lo for DR, /32 or /128, so that no route to a
//   subnet comes with it; on the tunnel's device for TUN) without ever answering ARP for it:
//   the VIP's ARP answer belongs to the director, or the clients' router sends the traffic
//   straight to one real server. Linux answers ARP for any local address on any interface
//   (the weak host model, RFC 1122 3.3.4.2) unless arp_ignore >= 1 (answer only for addresses of
//   the receiving interface), and it uses any local address as the source of its own ARP
//   requests unless arp_announce = 2 (the best address of the outgoing interface). The kernel
//   takes the larger of conf/all and conf/IFACE for both, so `all` covers the interface facing
//   the director; --check judges each ARP interface by that larger value.
// - IPv6 has no such problem: Linux answers neighbour solicitations only for addresses on the
//   receiving device (ndisc_recv_ns), so the VIP on lo or a tunnel is never announced.
// - TUN: the decapsulated packet arrives on the tunnel with the client as its source, while the
//   route back to the client leaves by another interface; strict reverse-path filtering
//   (rp_filter 1, RFC 3704 2.2) drops it. rp_filter is the larger of all and the device's.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "config/model.h"

namespace vigil::doctor::rs_setup {

enum class Mode : uint8_t { kDr, kTun, kNat, kFullNat };
std::string_view to_string(Mode mode);  // "dr", "tun", "nat", "fullnat"
std::optional<Mode> parse_mode(std::string_view text);

enum class Format : uint8_t { kShell, kSysctl, kNetworkd };
std::optional<Format> parse_format(std::string_view text);

// A VIP on a device, as a host address (/32 or /128).
struct AddressItem {
  IpAddress vip;
  std::string device;  // "lo", "tunl0", "ip6tnl0", ...
  bool operator==(const AddressItem&) const = default;
};

// A tunnel device: the fallback device its module creates (tunl0 for ipip, ...). The fallback
// device receives every tunnelled packet no other tunnel of its kind matches; a second
// "any to any" tunnel of the same kind cannot be made (the kernel says it exists).
struct DeviceItem {
  std::string name;    // "tunl0"
  std::string module;  // "ipip"
  bool operator==(const DeviceItem&) const = default;
};

// A GUE receiving port (ip fou add port N gue [-6]).
struct FouItem {
  uint16_t port = 0;
  AddressFamily family = AddressFamily::kIpv4;  // the outer packet's
  bool operator==(const FouItem&) const = default;
};

// How --check judges a sysctl.
enum class SysctlRule : uint8_t {
  kExact,        // the value itself
  kArpIgnore,    // on every ARP interface: max(all, IFACE) in {1, 2, 8}
  kArpAnnounce,  // on every ARP interface: max(all, IFACE) == 2
  kReversePath,  // on `device`: max(all, device) is 0 (or 2, loose, with a note)
};

struct SysctlItem {
  std::string name;   // "net.ipv4.conf.all.arp_ignore"
  std::string value;  // "1"
  std::string why;    // one line, for comments and verdicts
  SysctlRule rule = SysctlRule::kExact;
  std::string device;  // kReversePath: the tunnel device
  bool operator==(const SysctlItem&) const = default;
};

struct Plan {
  std::string service;  // "[192.0.2.80]:tcp:80", or "VIPs given with --vip"
  Mode mode = Mode::kDr;
  config::TunnelType tunnel_type = config::TunnelType::kIpip;
  std::vector<IpAddress> vips;
  std::vector<DeviceItem> devices;
  std::vector<FouItem> fou_ports;
  std::vector<SysctlItem> sysctls;  // in the order they must be applied (before the addresses)
  std::vector<AddressItem> addresses;
  std::vector<std::string> notes;  // printed as comments; for NAT/FULLNAT, all there is
};

struct Request {
  std::string service;          // as for `vigilctl rs drain`; empty: no configuration (--vip)
  std::optional<Mode> mode;     // unset: the service's lb_kind
  std::vector<IpAddress> vips;  // --vip: added to the service's own
};

// The plan for `request` under `config` (nullptr: no configuration; then the request needs
// --mode dr|tun and --vip). Errors: no such service (the message lists the known ones), a
// fwmark service (or a group's fwmark entries) without --vip, a group range too large.
Result<Plan> plan(const config::Config* config, const Request& request);

// The Plan as the operator applies it.
std::string render(const Plan& plan, Format format);

// ---------------------------------------------------------------------------------------------
// --check on the real server.

struct HostInterface {
  bool up = false;
  bool arp = false;                 // neither IFF_NOARP nor IFF_LOOPBACK
  std::set<std::string> addresses;  // "192.0.2.80/32", "2001:db8::1/128"
  bool operator==(const HostInterface&) const = default;
};

struct Facts {
  std::map<std::string, HostInterface> interfaces;
  std::map<std::string, std::string> sysctls;  // value as read, trimmed; missing: unreadable
  std::set<std::pair<AddressFamily, uint16_t>> udp_ports;  // bound UDP ports (FOU's)
};

struct Verdict {
  bool ok = false;
  std::string item;   // "address 192.0.2.80/32 on lo", "arp_ignore on eth0"
  std::string found;  // what this host has
  std::string fix;    // the command; empty when ok
  bool operator==(const Verdict&) const = default;
};

std::vector<Verdict> judge(const Plan& plan, const Facts& facts);

// "OK   item: found" / "FAIL item: found; fix: ...", then a summary line.
std::string render_verdicts(const Plan& plan, const std::vector<Verdict>& verdicts);

// The sysctls gather_host() reads for `interfaces`: arp_ignore, arp_announce and rp_filter of
// all and of each interface.
std::set<std::string> wanted_sysctls(const std::map<std::string, HostInterface>& interfaces);

// This host (linux_rs_host.cc): its interfaces with their flags and addresses, the wanted
// sysctls, the bound UDP ports. Error: getifaddrs failed.
Result<Facts> gather_host();

}  // namespace vigil::doctor::rs_setup
