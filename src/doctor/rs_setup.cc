// vigilctl rs-setup: the plan, its renderings and the --check rules (rs_setup.h). Pure.
#include "doctor/rs_setup.h"

#include <fmt/format.h>

#include <algorithm>

#include "check/engine.h"
#include "doctor/doctor.h"
#include "lvs/overrides.h"

namespace vigil::doctor::rs_setup {

namespace {

using config::ForwardingMethod;
using config::TunnelType;

// A group range larger than this is a configuration rs-setup would print pages of addresses
// for: the operator names the VIPs with --vip instead.
constexpr uint32_t kMaxGroupAddresses = 256;

constexpr const char* kArpIgnoreWhy =
    "answer ARP only for addresses on the interface it arrives on: never for the VIP, whose "
    "answer is the director's";
constexpr const char* kArpAnnounceWhy =
    "never use the VIP as the source of this host's own ARP requests (they would teach the "
    "link that the VIP is here)";
constexpr const char* kRpFilterWhy =
    "the decapsulated packet's source is the client, whose route leaves by another interface: "
    "strict reverse-path filtering (RFC 3704 2.2) drops it";

std::string prefix_text(const IpAddress& vip) {
  return fmt::format("{}/{}", vip.to_string(), vip.is_v4() ? 32 : 128);
}

// The device receiving `type` tunnels whose outer header is `outer` and inner `inner`: the
// fallback device its module creates.
DeviceItem tunnel_device(TunnelType type, AddressFamily outer, AddressFamily inner) {
  if (type == TunnelType::kGre) {
    return outer == AddressFamily::kIpv4 ? DeviceItem{"gre0", "ip_gre"}
                                         : DeviceItem{"ip6gre0", "ip6_gre"};
  }
  // ipip, and GUE (fou hands the inner packet to the ipip / sit / ip6_tunnel handler).
  if (outer == AddressFamily::kIpv6) return {"ip6tnl0", "ip6_tunnel"};
  return inner == AddressFamily::kIpv4 ? DeviceItem{"tunl0", "ipip"} : DeviceItem{"sit0", "sit"};
}

std::string_view lb_kind_name(ForwardingMethod method) {
  switch (method) {
    case ForwardingMethod::kNat:
      return "NAT";
    case ForwardingMethod::kDirectRouting:
      return "DR";
    case ForwardingMethod::kTunnel:
      return "TUN";
    case ForwardingMethod::kFullNat:
      return "FULLNAT";
  }
  return "?";
}

Mode mode_of(ForwardingMethod method) {
  switch (method) {
    case ForwardingMethod::kNat:
      return Mode::kNat;
    case ForwardingMethod::kDirectRouting:
      return Mode::kDr;
    case ForwardingMethod::kTunnel:
      return Mode::kTun;
    case ForwardingMethod::kFullNat:
      return Mode::kFullNat;
  }
  return Mode::kNat;
}

template <class T>
void add_unique(std::vector<T>& list, const T& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

// The addresses of a virtual_server_group's ranges; an error for a range too large.
Result<std::vector<IpAddress>> group_addresses(const config::VirtualServerGroup& group) {
  std::vector<IpAddress> out;
  for (const auto& range : group.ranges) {
    // Ranges differ in the last byte only (keepalived's a.b.c.d-e, and the IPv6 equivalent).
    const size_t last = range.first.size() - 1;
    const uint32_t from = range.first.bytes()[last];
    const uint32_t to = range.last.bytes()[last];
    if (out.size() + (to - from + 1) > kMaxGroupAddresses) {
      return Error{fmt::format(
          "virtual_server_group {} has more than {} addresses: name the VIPs this real server "
          "serves with --vip ADDR",
          group.name, kMaxGroupAddresses)};
    }
    for (uint32_t byte = from; byte <= to; ++byte) {
      uint8_t bytes[16];
      std::copy(range.first.bytes(), range.first.bytes() + range.first.size(), bytes);
      bytes[last] = static_cast<uint8_t>(byte);
      add_unique(out, IpAddress::from_bytes(range.first.family(), bytes));
    }
  }
  return out;
}

struct Found {
  const config::VirtualServer* vs = nullptr;
  std::string label;
};

Result<Found> find_service(const config::Config& config, std::string_view name) {
  std::vector<std::string> known;
  for (const auto& vs : config.lvs.virtual_servers) {
    const auto key = check::virtual_server_key(vs);
    const auto names = lvs::virtual_server_names(key);
    // A group's service also by the group's name alone.
    const bool group_name = vs.kind == config::VirtualServerKind::kGroup && vs.group == name;
    if (group_name || std::find(names.begin(), names.end(), name) != names.end())
      return Found{&vs, lvs::format_virtual_server(key)};
    known.push_back(names.back());
  }
  std::string message = fmt::format("no virtual server {} in the configuration", name);
  if (known.empty()) return Error{message + " (it has none)"};
  std::string list;
  for (const auto& k : known)
    list += (list.empty() ? "" : ", ") + k;
  return Error{message + "; it has: " + list};
}

// NAT: the director's address on the real server's network, if a vrrp_instance carries one
// (the route back should follow the VRRP master).
std::optional<IpAddress> director_gateway(const config::Config& config,
                                          const config::VirtualServer& vs) {
  for (const auto& rs : vs.real_servers) {
    if (auto gateway = vrrp_gateway(config, rs.address)) return gateway->address;
  }
  return std::nullopt;
}

void plan_nat(Plan& plan, const config::Config* config, const config::VirtualServer* vs) {
  if (plan.mode == Mode::kFullNat) {
    plan.notes.push_back(
        "FULLNAT: nothing to set up on the real server. The director rewrites the client's "
        "source to its own address, so the replies come back to it by the ordinary routes.");
    return;
  }
  plan.notes.push_back(
      "NAT: nothing to set up on the real server but its route back. The director rewrites "
      "the VIP to this host's address and must rewrite the replies back, so they must go "
      "through it: the default route (or a route to the clients) via the director's address "
      "on this network, a VRRP address there so that it follows the master.");
  std::optional<IpAddress> gateway;
  if (config && vs) gateway = director_gateway(*config, *vs);
  if (gateway) {
    plan.notes.push_back(
        fmt::format("The configuration's VRRP address on the real servers' "
                    "network is {}: ip route replace default via {}",
                    gateway->to_string(), gateway->to_string()));
  } else {
    plan.notes.push_back(
        "No vrrp_instance address contains a real server's address: the route is "
        "`ip route replace default via DIRECTOR_ADDRESS`.");
  }
}

void plan_arp(Plan& plan) {
  const bool any_v4 = std::any_of(plan.vips.begin(), plan.vips.end(),
                                  [](const IpAddress& vip) { return vip.is_v4(); });
  const bool any_v6 = std::any_of(plan.vips.begin(), plan.vips.end(),
                                  [](const IpAddress& vip) { return vip.is_v6(); });
  if (any_v4) {
    plan.sysctls.push_back({.name = "net.ipv4.conf.all.arp_ignore",
                            .value = "1",
                            .why = kArpIgnoreWhy,
                            .rule = SysctlRule::kArpIgnore});
    plan.sysctls.push_back({.name = "net.ipv4.conf.all.arp_announce",
                            .value = "2",
                            .why = kArpAnnounceWhy,
                            .rule = SysctlRule::kArpAnnounce});
    plan.notes.push_back(
        "arp_ignore and arp_announce: the kernel takes the larger of conf/all and "
        "conf/IFACE, so `all` covers every interface, the one facing the director (where the "
        "who-has for the VIP arrives) included; a per-interface 3 or more would override it, "
        "which --check reports per interface.");
  }
  if (any_v6) {
    plan.notes.push_back(
        "IPv6 VIPs need no neighbour-discovery setting: Linux answers neighbour solicitations "
        "only for addresses on the receiving device, never for the VIP on lo or a tunnel.");
  }
}

// The outer family of the tunnels: the real servers' when they agree, else each VIP's own.
std::optional<AddressFamily> outer_family(const config::VirtualServer* vs) {
  if (!vs || vs->real_servers.empty()) return std::nullopt;
  const AddressFamily family = vs->real_servers.front().address.family();
  for (const auto& rs : vs->real_servers) {
    if (rs.address.family() != family) return std::nullopt;
  }
  return family;
}

void plan_tun(Plan& plan, const config::VirtualServer* vs, uint16_t gue_port) {
  const auto outer = outer_family(vs);
  for (const auto& vip : plan.vips) {
    const AddressFamily family = outer.value_or(vip.family());
    const DeviceItem device = tunnel_device(plan.tunnel_type, family, vip.family());
    add_unique(plan.devices, device);
    plan.addresses.push_back({vip, device.name});
    if (plan.tunnel_type == TunnelType::kGue) add_unique(plan.fou_ports, {gue_port, family});
  }
  plan_arp(plan);
  bool any_v4 = false;
  for (const auto& address : plan.addresses) {
    if (!address.vip.is_v4()) continue;
    if (!any_v4) {
      plan.sysctls.push_back({.name = "net.ipv4.conf.all.rp_filter",
                              .value = "0",
                              .why = kRpFilterWhy,
                              .rule = SysctlRule::kReversePath,
                              .device = address.device});
    }
    any_v4 = true;
    add_unique(plan.sysctls, {.name = "net.ipv4.conf." + address.device + ".rp_filter",
                              .value = "0",
                              .why = kRpFilterWhy,
                              .rule = SysctlRule::kReversePath,
                              .device = address.device});
  }
  if (std::any_of(plan.vips.begin(), plan.vips.end(), [](const auto& v) { return v.is_v6(); })) {
    plan.notes.push_back(
        "IPv6 has no rp_filter sysctl; an ip6tables/nftables `fib saddr` reverse-path rule "
        "needs the same exception for the tunnel device.");
  }
  if (plan.tunnel_type == TunnelType::kGue) {
    plan.notes.push_back(fmt::format(
        "GUE (lvs_method TUN type gue port {}): the fou module decapsulates on that UDP port and "
        "hands "
        "the inner packet to the tunnel device; the port must be open in this host's firewall.",
        gue_port));
  } else if (plan.tunnel_type == TunnelType::kGre) {
    plan.notes.push_back(
        "GRE (lvs_method TUN type gre): the ip_gre / ip6_gre fallback device receives the "
        "director's "
        "keyless GRE packets.");
  }
  if (!outer && vs && !vs->real_servers.empty()) {
    plan.notes.push_back(
        "The real servers' families differ: each VIP's tunnel assumes an outer header of the "
        "VIP's own family.");
  }
}

}  // namespace

std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::kDr:
      return "dr";
    case Mode::kTun:
      return "tun";
    case Mode::kNat:
      return "nat";
    case Mode::kFullNat:
      return "fullnat";
  }
  return "?";
}

std::optional<Mode> parse_mode(std::string_view text) {
  for (auto mode : {Mode::kDr, Mode::kTun, Mode::kNat, Mode::kFullNat})
    if (text == to_string(mode)) return mode;
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view text) {
  if (text == "shell") return Format::kShell;
  if (text == "sysctl") return Format::kSysctl;
  if (text == "networkd") return Format::kNetworkd;
  return std::nullopt;
}

Result<Plan> plan(const config::Config* config, const Request& request) {
  Plan out;
  const config::VirtualServer* vs = nullptr;
  uint16_t gue_port = 0;
  if (request.service.empty() || !config) {
    if (!request.mode || request.vips.empty())
      return Error{"name a virtual server, or give both --mode and --vip ADDR"};
    out.service = "the VIPs given with --vip";
    out.mode = *request.mode;
  } else {
    auto found = find_service(*config, request.service);
    if (!found) return found.error();
    vs = found->vs;
    out.service = found->label;
    out.mode = request.mode.value_or(mode_of(vs->forwarding.method));
    if (vs->forwarding.method == ForwardingMethod::kTunnel) {
      out.tunnel_type = vs->forwarding.tunnel_type;
      gue_port = vs->forwarding.tunnel_port;
    }
    for (const auto& rs : vs->real_servers) {
      if (rs.forwarding.method != vs->forwarding.method &&
          mode_of(rs.forwarding.method) != out.mode) {
        out.notes.push_back(fmt::format("real server {} has lb_kind {}: this plan is for {}",
                                        rs.address.to_string(), lb_kind_name(rs.forwarding.method),
                                        to_string(out.mode)));
      }
    }
    bool needs_vip = false;
    if (vs->kind == config::VirtualServerKind::kAddress) {
      out.vips.push_back(vs->address);
    } else if (vs->kind == config::VirtualServerKind::kFwmark) {
      needs_vip = true;
    } else {
      const auto group = std::find_if(config->lvs.groups.begin(), config->lvs.groups.end(),
                                      [&](const auto& g) { return g.name == vs->group; });
      if (group != config->lvs.groups.end()) {
        auto addresses = group_addresses(*group);
        if (!addresses) return addresses.error();
        out.vips = std::move(*addresses);
        needs_vip = !group->fwmarks.empty();
      }
    }
    if (needs_vip && request.vips.empty() && (out.mode == Mode::kDr || out.mode == Mode::kTun)) {
      return Error{fmt::format(
          "{} selects its packets by firewall mark, which carries no address: name the VIPs "
          "the mark selects with --vip ADDR (repeat it for each)",
          out.service)};
    }
  }
  for (const auto& vip : request.vips)
    add_unique(out.vips, vip);

  switch (out.mode) {
    case Mode::kNat:
    case Mode::kFullNat:
      plan_nat(out, config, vs);
      break;
    case Mode::kDr:
      for (const auto& vip : out.vips)
        out.addresses.push_back({vip, "lo"});
      plan_arp(out);
      if (vs && vs->forwarding.method == ForwardingMethod::kTunnel) {
        out.notes.push_back(
            "--mode dr for a TUN service: the director tunnels, this plan does "
            "not decapsulate");
      }
      break;
    case Mode::kTun:
      plan_tun(out, vs, gue_port);
      break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rendering.

namespace {

std::string header(const Plan& plan, std::string_view how) {
  std::string out = fmt::format("# vigil rs-setup: a real server behind {}, {}", plan.service,
                                fmt::format("{}", to_string(plan.mode)));
  if (plan.mode == Mode::kTun) out += fmt::format(" ({})", config::to_string(plan.tunnel_type));
  out += fmt::format(" forwarding; {}.\n", how);
  for (const auto& note : plan.notes)
    out += "# Note: " + note + "\n";
  return out;
}

bool nothing_to_do(const Plan& plan) {
  return plan.addresses.empty() && plan.sysctls.empty() && plan.devices.empty();
}

std::string fou_add(const FouItem& fou) {
  return fmt::format("ip fou add port {} gue{}", fou.port,
                     fou.family == AddressFamily::kIpv6 ? " -6" : "");
}

std::string render_shell(const Plan& plan) {
  std::string out = "#!/bin/sh\n";
  out += header(plan, "run as root on each real server; running it again changes nothing");
  if (nothing_to_do(plan)) return out + "exit 0\n";
  out += "set -e\n";
  for (const auto& device : plan.devices)
    out += fmt::format("# {} receives the director's tunnelled packets.\nmodprobe {}\n",
                       device.name, device.module);
  if (!plan.fou_ports.empty()) out += "modprobe fou\n";
  for (const auto& fou : plan.fou_ports) {
    out += fmt::format("ip fou show 2>/dev/null | grep -qx '{}' || {}\n",
                       fou_add(fou).substr(std::string_view("ip fou add ").size()), fou_add(fou));
  }
  // The sysctls before the addresses: a VIP added first is answered for on ARP meanwhile.
  for (const auto& sysctl : plan.sysctls)
    out += fmt::format("# {}\nsysctl -qw {}={}\n", sysctl.why, sysctl.name, sysctl.value);
  for (const auto& device : plan.devices)
    out += fmt::format("ip link set {} up\n", device.name);
  for (const auto& address : plan.addresses) {
    out += fmt::format("ip address replace {} dev {}\n", prefix_text(address.vip), address.device);
  }
  return out;
}

std::string sysctl_file(const Plan& plan) {
  std::string out = "### /etc/sysctl.d/90-vigil-rs.conf\n";
  for (const auto& sysctl : plan.sysctls)
    out += fmt::format("# {}\n{} = {}\n", sysctl.why, sysctl.name, sysctl.value);
  if (std::any_of(plan.sysctls.begin(), plan.sysctls.end(),
                  [](const auto& s) { return s.rule == SysctlRule::kReversePath; })) {
    out +=
        "# (a tunnel device's line applies when the device appears: systemd's udev rule runs "
        "systemd-sysctl for each new network device)\n";
  }
  return out;
}

std::string modules_file(const Plan& plan) {
  if (plan.devices.empty()) return {};
  std::string out = "### /etc/modules-load.d/90-vigil-rs.conf\n";
  for (const auto& device : plan.devices)
    out += device.module + "\n";
  if (!plan.fou_ports.empty()) out += "fou\n";
  return out;
}

std::string render_sysctl(const Plan& plan) {
  std::string out = header(plan, "persistent settings in two parts");
  if (nothing_to_do(plan)) return out;
  out += "\n# ==== Part 1: sysctls ====\n";
  out += sysctl_file(plan);
  out += "\n# ==== Part 2: not sysctls (sysctl.d cannot set them): modules and addresses ====\n";
  out += modules_file(plan);
  out += "### /etc/network/interfaces (ifupdown); with systemd-networkd use --format networkd\n";
  for (const auto& fou : plan.fou_ports)
    out += fmt::format("# a GUE port is not an interface: run `{}` at boot\n", fou_add(fou));
  std::map<std::string, std::vector<IpAddress>> by_device;
  for (const auto& address : plan.addresses)
    by_device[address.device].push_back(address.vip);
  for (const auto& [device, vips] : by_device) {
    if (device == "lo") {
      out += "# inside the existing `iface lo inet loopback` stanza:\n";
    } else {
      out += fmt::format("auto {}\niface {} inet manual\n    up ip link set {} up\n", device,
                         device, device);
    }
    for (const auto& vip : vips)
      out += fmt::format("    up ip address replace {} dev {}\n", prefix_text(vip), device);
  }
  return out;
}

std::string render_networkd(const Plan& plan) {
  std::string out = header(plan, "systemd-networkd and sysctl.d files");
  if (nothing_to_do(plan)) return out;
  out += "\n" + sysctl_file(plan);
  if (const std::string modules = modules_file(plan); !modules.empty()) {
    out += "\n" + modules;
    out +=
        "# (the tunnel device is the module's fallback device: networkd configures it but "
        "cannot create it, and a second any-to-any tunnel of the same kind cannot exist)\n";
  }
  for (const auto& fou : plan.fou_ports) {
    out += fmt::format(
        "\n### /etc/systemd/network/90-vigil-rs-gue{}.netdev\n[NetDev]\nName=vigil-gue{}\n"
        "Kind=fou\n\n[FooOverUDP]\nEncapsulation=GenericUDPEncapsulation\nPort={}\n",
        fou.port, fou.port, fou.port);
    if (fou.family == AddressFamily::kIpv6) {
      out += fmt::format(
          "# (IPv6 outer headers: if this networkd has no IPv6 FooOverUDP, run `{}` at boot)\n",
          fou_add(fou));
    }
  }
  std::map<std::string, std::vector<IpAddress>> by_device;
  for (const auto& address : plan.addresses)
    by_device[address.device].push_back(address.vip);
  for (const auto& [device, vips] : by_device) {
    out += fmt::format(
        "\n### /etc/systemd/network/90-vigil-rs-{}.network\n[Match]\nName={}\n\n"
        "[Network]\n",
        device, device);
    if (device == "lo") {
      out +=
          "# lo's own addresses, kept: networkd removes the addresses a .network does not "
          "list\nAddress=127.0.0.1/8\nAddress=::1/128\n";
    } else {
      out += "LinkLocalAddressing=no\n";
    }
    for (const auto& vip : vips)
      out += fmt::format("Address={}\n", prefix_text(vip));
  }
  return out;
}

}  // namespace

std::string render(const Plan& plan, Format format) {
  switch (format) {
    case Format::kShell:
      return render_shell(plan);
    case Format::kSysctl:
      return render_sysctl(plan);
    case Format::kNetworkd:
      return render_networkd(plan);
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// --check.

namespace {

std::optional<int> number(const Facts& facts, const std::string& name) {
  const auto it = facts.sysctls.find(name);
  if (it == facts.sysctls.end() || it->second.empty() ||
      it->second.find_first_not_of("0123456789") != std::string::npos || it->second.size() > 9)
    return std::nullopt;
  return std::stoi(it->second);
}

std::string conf(const std::string& device, const char* leaf) {
  return fmt::format("net.ipv4.conf.{}.{}", device, leaf);
}

// The larger of all's and `device`'s value, as the kernel takes it (IN_DEV_MAXCONF), with how
// it came about; nullopt when either cannot be read.
std::optional<std::pair<int, std::string>> effective(const Facts& facts, const std::string& device,
                                                     const char* leaf) {
  const auto all = number(facts, conf("all", leaf));
  const auto own = number(facts, conf(device, leaf));
  if (!all || !own) return std::nullopt;
  return std::pair{std::max(*all, *own), fmt::format("{} = max(all {}, {} {}) = {}", leaf, *all,
                                                     device, *own, std::max(*all, *own))};
}

// arp_ignore / arp_announce on each interface that does ARP and is up.
void judge_arp(const SysctlItem& item, const Facts& facts, std::vector<Verdict>& out) {
  const char* leaf = item.rule == SysctlRule::kArpIgnore ? "arp_ignore" : "arp_announce";
  bool any = false;
  for (const auto& [name, interface] : facts.interfaces) {
    if (!interface.arp || !interface.up) continue;
    any = true;
    Verdict verdict{.item = fmt::format("{} on {}", leaf, name)};
    const auto value = effective(facts, name, leaf);
    if (!value) {
      verdict.found = fmt::format("{} or {} cannot be read", conf("all", leaf), conf(name, leaf));
      verdict.fix = fmt::format("sysctl -w {}={}", item.name, item.value);
      out.push_back(std::move(verdict));
      continue;
    }
    verdict.found = value->second;
    if (item.rule == SysctlRule::kArpIgnore) {
      verdict.ok = value->first == 1 || value->first == 2 || value->first == 8;
      if (!verdict.ok) {
        verdict.found += value->first == 0 ? ": answers ARP for the VIP"
                                           : ": answers ARP for global addresses on lo";
      }
    } else {
      verdict.ok = value->first == 2;
      if (!verdict.ok) verdict.found += ": may announce the VIP in its ARP requests";
    }
    if (!verdict.ok) {
      const int own = number(facts, conf(name, leaf)).value_or(0);
      // A per-interface value above the wanted one wins over all: fix the interface too.
      verdict.fix = fmt::format("sysctl -w {}={}", item.name, item.value);
      if (own > std::stoi(item.value) || (item.rule == SysctlRule::kArpIgnore && own > 2))
        verdict.fix += fmt::format(" {}={}", conf(name, leaf), item.value);
    }
    out.push_back(std::move(verdict));
  }
  if (!any) {
    out.push_back(
        {.ok = true, .item = leaf, .found = "no interface that does ARP is up", .fix = {}});
  }
}

}  // namespace

std::vector<Verdict> judge(const Plan& plan, const Facts& facts) {
  std::vector<Verdict> out;
  for (const auto& device : plan.devices) {
    Verdict verdict{.item = "device " + device.name};
    const auto it = facts.interfaces.find(device.name);
    if (it == facts.interfaces.end()) {
      verdict.found = "no such device (module " + device.module + " not loaded?)";
      verdict.fix = fmt::format("modprobe {} && ip link set {} up", device.module, device.name);
    } else if (!it->second.up) {
      verdict.found = "down";
      verdict.fix = fmt::format("ip link set {} up", device.name);
    } else {
      verdict.ok = true;
      verdict.found = "up";
    }
    out.push_back(std::move(verdict));
  }
  for (const auto& fou : plan.fou_ports) {
    Verdict verdict{.item = fmt::format("GUE port {}", fou.port)};
    verdict.ok = facts.udp_ports.count({fou.family, fou.port}) > 0;
    verdict.found = verdict.ok ? "a UDP socket is bound to it" : "no UDP socket is bound to it";
    if (!verdict.ok) verdict.fix = "modprobe fou && " + fou_add(fou);
    out.push_back(std::move(verdict));
  }
  for (const auto& sysctl : plan.sysctls) {
    switch (sysctl.rule) {
      case SysctlRule::kArpIgnore:
      case SysctlRule::kArpAnnounce:
        judge_arp(sysctl, facts, out);
        break;
      case SysctlRule::kReversePath: {
        // Judged once per device, on its own line (the `all` line is part of it).
        if (sysctl.name == conf("all", "rp_filter")) break;
        Verdict verdict{.item = "rp_filter on " + sysctl.device};
        const auto value = effective(facts, sysctl.device, "rp_filter");
        if (!value) {
          verdict.found = conf(sysctl.device, "rp_filter") + " cannot be read";
        } else {
          verdict.found = value->second;
          verdict.ok = value->first != 1;
          if (value->first == 2)
            verdict.found += " (loose: passes while a route to the client exists)";
          if (value->first == 1) verdict.found += ": drops the decapsulated packets";
        }
        if (!verdict.ok) {
          verdict.fix = fmt::format("sysctl -w {}=0 {}=0", conf("all", "rp_filter"),
                                    conf(sysctl.device, "rp_filter"));
        }
        out.push_back(std::move(verdict));
        break;
      }
      case SysctlRule::kExact: {
        Verdict verdict{.item = sysctl.name};
        const auto it = facts.sysctls.find(sysctl.name);
        verdict.found =
            it == facts.sysctls.end() ? "cannot be read" : sysctl.name + " = " + it->second;
        verdict.ok = it != facts.sysctls.end() && it->second == sysctl.value;
        if (!verdict.ok) verdict.fix = fmt::format("sysctl -w {}={}", sysctl.name, sysctl.value);
        out.push_back(std::move(verdict));
        break;
      }
    }
  }
  for (const auto& address : plan.addresses) {
    const std::string wanted = prefix_text(address.vip);
    Verdict verdict{.item = fmt::format("address {} on {}", wanted, address.device)};
    const auto it = facts.interfaces.find(address.device);
    if (it != facts.interfaces.end() && it->second.addresses.count(wanted)) {
      verdict.ok = true;
      verdict.found = "present";
    } else {
      // Somewhere else, or with another prefix length?
      std::string elsewhere;
      const std::string bare = address.vip.to_string() + "/";
      for (const auto& [name, interface] : facts.interfaces) {
        for (const auto& a : interface.addresses) {
          if (a.starts_with(bare)) elsewhere += (elsewhere.empty() ? "" : ", ") + a + " on " + name;
        }
      }
      verdict.found = elsewhere.empty() ? "absent" : "absent; this host has " + elsewhere;
      verdict.fix = fmt::format("ip address replace {} dev {}", wanted, address.device);
    }
    out.push_back(std::move(verdict));
  }
  return out;
}

std::string render_verdicts(const Plan& plan, const std::vector<Verdict>& verdicts) {
  std::string out;
  for (const auto& note : plan.notes)
    out += "# Note: " + note + "\n";
  size_t failed = 0;
  for (const auto& verdict : verdicts) {
    out += fmt::format("{:<4} {}: {}", verdict.ok ? "OK" : "FAIL", verdict.item, verdict.found);
    if (!verdict.ok) {
      ++failed;
      if (!verdict.fix.empty()) out += "; fix: " + verdict.fix;
    }
    out += "\n";
  }
  if (verdicts.empty()) {
    out += fmt::format("nothing to check on a real server for {} ({} forwarding)\n", plan.service,
                       to_string(plan.mode));
  } else {
    out += fmt::format("{} ({}): {} checks, {} fail\n", plan.service, to_string(plan.mode),
                       verdicts.size(), failed);
  }
  return out;
}

std::set<std::string> wanted_sysctls(const std::map<std::string, HostInterface>& interfaces) {
  std::set<std::string> out;
  for (const char* leaf : {"arp_ignore", "arp_announce", "rp_filter"}) {
    out.insert(conf("all", leaf));
    for (const auto& [name, interface] : interfaces)
      out.insert(conf(name, leaf));
  }
  return out;
}

}  // namespace vigil::doctor::rs_setup
