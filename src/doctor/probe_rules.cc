// The rules over the active probes' results (probes.h): pure functions of the configuration and
// what the probes heard. docs/troubleshooting.md describes each finding.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "doctor/doctor.h"

namespace vigil::doctor {

namespace {

using config::ForwardingMethod;
using config::VirtualServer;

std::string seconds(Duration d) {
  return fmt::format("{:.1f} s", std::chrono::duration<double>(d).count());
}

std::string join(const std::set<Mac>& macs) {
  std::vector<std::string> names;
  for (const auto& mac : macs)
    names.push_back(to_string(mac));
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string join(const std::set<IpAddress>& addresses) {
  std::vector<std::string> names;
  for (const auto& a : addresses)
    names.push_back(a.to_string());
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, " "));
}

// What to do about a probe that could not run: only a missing privilege has a fix here (a
// missing interface is vrrp.interface's finding; a link that is not Ethernet has no ARP).
std::string probe_fix(const std::string& error) {
  return error.find("not permitted") != std::string::npos
             ? "run vigilctl doctor as root (its probes need CAP_NET_RAW)"
             : std::string();
}

bool dr_or_tun(const config::RealServer& rs) {
  return rs.forwarding.method == ForwardingMethod::kDirectRouting ||
         rs.forwarding.method == ForwardingMethod::kTunnel;
}

// What the instance puts in its adverts' address list (RFC 5798 §5.2.9): its virtual addresses
// of its own family (virtual_ipaddress_excluded is not advertised).
std::set<IpAddress> advertised(const config::VrrpInstance& instance) {
  std::set<IpAddress> out;
  for (const auto& vip : instance.virtual_addresses) {
    if (vip.prefix.address.family() == instance.family) out.insert(vip.prefix.address);
  }
  return out;
}

uint8_t auth_type_of(const config::VrrpInstance& instance) {
  switch (instance.auth_type) {
    case config::VrrpAuthType::kNone:
      return 0;
    case config::VrrpAuthType::kPass:
      return 1;
    case config::VrrpAuthType::kAh:
      return 2;
  }
  return 0;
}

std::array<uint8_t, 8> auth_data_of(const config::VrrpInstance& instance) {
  std::array<uint8_t, 8> out{};
  if (instance.auth_type != config::VrrpAuthType::kPass) return out;
  const size_t n = std::min(instance.auth_pass.size(), out.size());
  std::copy(instance.auth_pass.begin(), instance.auth_pass.begin() + static_cast<ptrdiff_t>(n),
            out.begin());
  return out;
}

class ProbeDiagnoser {
 public:
  ProbeDiagnoser(const config::Config& config, const config::SourceFiles& files, const Facts& facts)
      : config_(config), files_(files), facts_(facts), probes_(*facts.probes) {}

  std::vector<Finding> run() {
    for (const auto& vs : config_.lvs.virtual_servers)
      real_servers(vs);
    for (const auto& instance : config_.vrrp.instances) {
      vrid_on_link(instance);
      vip_on_host(instance);
      vip_on_peer(instance);
    }
    return std::move(out_);
  }

 private:
  std::string where(const config::SourceLocation& loc) const {
    return loc.line == 0 ? std::string() : files_.format(loc);
  }

  const ArpAnswers* arp(const std::string& interface) const {
    auto it = probes_.arp.find(interface);
    return it == probes_.arp.end() ? nullptr : &it->second;
  }

  // Who answered who-has `target` on the link, the director's own MAC left out.
  std::set<Mac> answers(const ArpAnswers& answers, const IpAddress& target) const {
    auto it = answers.replies.find(target);
    if (it == answers.replies.end()) return {};
    std::set<Mac> out = it->second;
    if (answers.own) out.erase(*answers.own);
    return out;
  }

  // Every MAC that answered for a real server's own address on `interface`.
  std::set<Mac> real_server_macs(const std::string& interface) const {
    std::set<Mac> out;
    const ArpAnswers* link = arp(interface);
    if (!link) return out;
    for (const auto& vs : config_.lvs.virtual_servers) {
      for (const auto& rs : vs.real_servers) {
        auto route = facts_.routes.find(rs.address);
        if (route == facts_.routes.end() || route->second.interface != interface) continue;
        const auto macs = answers(*link, rs.address);
        out.insert(macs.begin(), macs.end());
      }
    }
    return out;
  }

  bool is_vrrp_address(const IpAddress& address) const {
    for (const auto& instance : config_.vrrp.instances) {
      for (const auto& vip : instance.virtual_addresses) {
        if (vip.prefix.address == address) return true;
      }
    }
    return false;
  }

  void real_servers(const VirtualServer& vs) {
    if (vs.kind != config::VirtualServerKind::kAddress) return;
    const bool any = std::any_of(vs.real_servers.begin(), vs.real_servers.end(), dr_or_tun);
    if (!any) return;
    if (vs.address.is_v6()) {
      if (!seen_.insert({"v6", vs.address.to_string(), ""}).second) return;
      add({.check = "rs.arp_suppression",
           .subject = describe(vs),
           .location = where(vs.loc),
           .found = "IPv6: not probed",
           .why = "Linux answers a neighbour solicitation only for an address on the interface it "
                  "arrives on, so a VIP on a real server's lo is never announced: there is no "
                  "IPv6 ARP suppression to get wrong"});
      return;
    }
    std::set<std::string> vip_links;
    for (const auto& rs : vs.real_servers) {
      if (!dr_or_tun(rs) || !rs.address.is_v4()) continue;
      if (auto link = real_server(vs, rs)) vip_links.insert(*link);
    }
    for (const auto& link : vip_links)
      vip_answered_by_others(vs, link);
  }

  // The findings about one real server; returns the link where the VIP was asked for.
  std::optional<std::string> real_server(const VirtualServer& vs, const config::RealServer& rs) {
    const std::string address = rs.address.to_string();
    const std::string subject = fmt::format("{} real_server {}", describe(vs), address);
    const std::string location = where(rs.loc);
    const bool dr = rs.forwarding.method == ForwardingMethod::kDirectRouting;
    auto route_it = facts_.routes.find(rs.address);
    if (route_it == facts_.routes.end()) {
      if (seen_.insert({"route", address, ""}).second)
        add({.check = "rs.route",
             .level = Level::kFail,
             .subject = subject,
             .location = location,
             .found = fmt::format("no route to {}", address),
             .why = "the director cannot forward the service's packets to it",
             .fix = fmt::format("ip route get {} (add the network it is on, or fix the address)",
                                address)});
      return std::nullopt;
    }
    const Route& route = route_it->second;
    if (route.local) return std::nullopt;  // a real server on the director itself
    if (route.gateway && dr) {
      if (seen_.insert({"route", address, ""}).second)
        add({.check = "rs.route",
             .level = Level::kFail,
             .subject = subject,
             .location = location,
             .found = fmt::format("{} is reached via the router {} on {}", address,
                                  route.gateway->to_string(), route.interface),
             .why = "lb_kind DR rewrites only the destination MAC: the real server must be on a "
                    "link the director shares, or the router sends the VIP's packets back here",
             .fix = "put the real server on one of the director's networks, or use lb_kind TUN"});
      return std::nullopt;
    }
    const ArpAnswers* link = arp(route.interface);
    if (!link || !link->error.empty()) {
      if (seen_.insert({"reach", address, ""}).second)
        add({.check = "rs.reachable",
             .level = Level::kWarn,
             .subject = subject,
             .location = location,
             .found = fmt::format("could not ARP for {} on {}: {}", address, route.interface,
                                  link ? link->error : "not probed"),
             .why = "whether the real server answers, and for which addresses, is unknown",
             .fix = probe_fix(link ? link->error : "")});
      return std::nullopt;
    }
    const IpAddress next_hop = route.gateway.value_or(rs.address);
    const std::string who =
        route.gateway ? fmt::format("its router {}", route.gateway->to_string()) : address;
    const auto own = answers(*link, next_hop);
    if (seen_.insert({"reach", address, ""}).second) {
      Finding f{.check = "rs.reachable", .subject = subject, .location = location};
      if (own.empty()) {
        f.level = Level::kWarn;
        f.found = fmt::format("{} does not answer ARP on {} ({} who-has in {})", who,
                              route.interface, probe_rounds(), seconds(probe_time()));
        f.why =
            "it is down or not on this link: its checkers fail and it gets no traffic until "
            "it answers";
        f.fix = fmt::format("check that {} is up and on {}'s network (ip neigh show dev {})", who,
                            route.interface, route.interface);
      } else {
        f.found = fmt::format("{} answers ARP on {} ({})", who, route.interface, join(own));
        f.why = "the director reaches it on the link";
      }
      add(std::move(f));
    }
    if (route.gateway) {
      if (seen_.insert({"arp", address, vs.address.to_string()}).second)
        add({.check = "rs.arp_suppression",
             .subject = subject,
             .location = location,
             .found = fmt::format("not probed: {} is behind the router {}", address,
                                  route.gateway->to_string()),
             .why = "a who-has for the VIP does not cross a router; on the real server's own "
                    "link, it must not answer for the VIP (arp_ignore=1, arp_announce=2)"});
      return std::nullopt;
    }
    if (own.empty()) return route.interface;  // which MAC is its is unknown: rs.reachable says so
    const auto for_vip = answers(*link, vs.address);
    std::set<Mac> stolen;
    std::set_intersection(for_vip.begin(), for_vip.end(), own.begin(), own.end(),
                          std::inserter(stolen, stolen.end()));
    if (!seen_.insert({"arp", address, vs.address.to_string()}).second) return route.interface;
    const std::string vip = vs.address.to_string();
    Finding f{.check = "rs.arp_suppression", .subject = subject, .location = location};
    if (!stolen.empty()) {
      f.level = Level::kFail;
      f.found = fmt::format("real server {} ({}) answers ARP who-has {} on {}", address,
                            join(stolen), vip, route.interface);
      f.why =
          "its ARP is not suppressed: the router and clients on the link learn the VIP at the "
          "real server and send it the traffic directly, past the director (DR/TUN looks "
          "ineffective, and connections break whenever the ARP caches flip)";
      f.fix = fmt::format(
          "on {}: sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 "
          "(persist in /etc/sysctl.d), and the VIP on lo only: ip address add {}/32 dev lo",
          address, vip);
    } else {
      f.found = fmt::format("real server {} does not answer ARP who-has {} on {}", address, vip,
                            route.interface);
      f.why = "ARP for the VIP is suppressed on it: only the director answers for the VIP";
    }
    add(std::move(f));
    return route.interface;
  }

  // Answers for the VIP on `link` from neither this director nor a real server.
  void vip_answered_by_others(const VirtualServer& vs, const std::string& link_name) {
    const ArpAnswers* link = arp(link_name);
    if (!link || !link->error.empty()) return;
    const std::string vip = vs.address.to_string();
    if (!seen_.insert({"others", vip, link_name}).second) return;
    std::set<Mac> others = answers(*link, vs.address);
    for (const auto& mac : real_server_macs(link_name))
      others.erase(mac);
    if (others.empty()) return;
    Finding f{.check = "rs.vip_owner", .subject = describe(vs), .location = where(vs.loc)};
    if (is_vrrp_address(vs.address)) {
      f.found = fmt::format("{} is answered on {} by {}", vip, link_name, join(others));
      f.why =
          "a virtual_ipaddress: the VRRP master holding it answers (the other director, "
          "when this one is not master)";
    } else {
      f.level = Level::kWarn;
      f.found = fmt::format("{} is answered on {} by {}, neither this director nor a real server",
                            vip, link_name, join(others));
      f.why = "another host holds the VIP: traffic for it may go there instead of here";
      f.fix = fmt::format(
          "find the host (ip neigh show dev {}), then remove the VIP there or "
          "suppress its ARP (arp_ignore=1, arp_announce=2)",
          link_name);
    }
    add(std::move(f));
  }

  void vrid_on_link(const config::VrrpInstance& instance) {
    if (instance.interface.empty() || instance.virtual_router_id == 0) return;
    auto it = probes_.vrrp.find(instance.interface);
    if (it == probes_.vrrp.end()) return;
    const VrrpHeard& heard = it->second;
    const std::string subject = "vrrp_instance " + instance.name;
    const std::string location = where(instance.at.virtual_router_id);
    const int vrid = instance.virtual_router_id;
    if (!heard.error.empty()) {
      // A missing interface: vrrp.interface says so, with its fix.
      if (!facts_.interfaces.count(instance.interface)) return;
      add({.check = "vrrp.vrid_on_link",
           .level = Level::kWarn,
           .subject = subject,
           .location = location,
           .found = fmt::format("could not listen on {}: {}", instance.interface, heard.error),
           .why = "another router using VRID " + std::to_string(vrid) + " would go unnoticed",
           .fix = probe_fix(heard.error)});
      return;
    }
    const std::set<IpAddress> ours = advertised(instance);
    std::set<IpAddress> peers;
    for (const auto& peer : instance.unicast_peers)
      peers.insert(peer.address);
    bool any = false;
    for (const auto& advert : heard.adverts) {
      if (advert.vrid != vrid || advert.source.family() != instance.family ||
          facts_.local_addresses.count(advert.source.to_string()))
        continue;
      any = true;
      const std::string sender = advert.source.to_string();
      const std::string what = fmt::format(
          "{} sends VRRPv{} adverts for VRID {} on {} (priority {}, addresses {})", sender,
          advert.version, vrid, instance.interface, advert.priority, join(advert.addresses));
      const bool peer = peers.empty() ? advert.addresses == ours : peers.count(advert.source) > 0;
      if (!peer) {
        add({.check = "vrrp.vrid_on_link",
             .level = Level::kFail,
             .subject = subject,
             .location = location,
             .found = what,
             .why = peers.empty()
                        ? fmt::format("another virtual router uses VRID {} on this link (its "
                                      "addresses are not ours, {}, so it is no peer of this "
                                      "instance): each takes the other's adverts for its "
                                      "peer's, and they share one virtual MAC",
                                      vrid, join(ours))
                        : fmt::format("another router uses VRID {} on this link and is not in "
                                      "unicast_peer: the two virtual routers share one VRID "
                                      "and one virtual MAC",
                                      vrid),
             .fix = fmt::format("give one of them another virtual_router_id (1-255, unique on "
                                "the link){}",
                                location.empty() ? "" : " at " + location)});
        continue;
      }
      if (auto mismatch = protocol_mismatch(instance, advert)) {
        add({.check = "vrrp.vrid_on_link",
             .level = Level::kFail,
             .subject = subject,
             .location = location,
             .found = fmt::format("peer {}: {}", what, *mismatch),
             .why = "the peers drop each other's adverts (RFC 3768 §7.1, RFC 5798 §7.1): "
                    "both become MASTER",
             .fix = "make version, authentication and advert_int the same on both peers"});
        continue;
      }
      add({.check = "vrrp.vrid_on_link",
           .subject = subject,
           .location = location,
           .found = "peer " + what,
           .why = peers.empty() ? "it advertises this instance's addresses: our peer"
                                : "a configured unicast_peer"});
    }
    if (!any) {
      std::string found = fmt::format("listened {} on {}: no other router sends VRID {}",
                                      seconds(heard.listened), instance.interface, vrid);
      if (heard.listened < kListenAdvertIntervals * instance.advert_int)
        found += fmt::format(" (fewer than {} advert intervals of {})", kListenAdvertIntervals,
                             seconds(instance.advert_int));
      add({.check = "vrrp.vrid_on_link",
           .subject = subject,
           .location = location,
           .found = found,
           .why = "the VRID is this instance's alone on the link (a backup peer is silent)"});
    }
  }

  // A virtual address that is an address of this host although a peer that wins the election
  // (RFC 5798 §6.4.3) sends the adverts, so this host is not MASTER: configured outside vigil,
  // both hosts answer for it. This host's own adverts are not heard (vigild turns multicast
  // loopback off), so a MASTER here is told only by its peers' silence.
  void vip_on_host(const config::VrrpInstance& instance) {
    if (instance.interface.empty() || instance.virtual_router_id == 0) return;
    auto it = probes_.vrrp.find(instance.interface);
    if (it == probes_.vrrp.end() || !it->second.error.empty()) return;  // vrid_on_link says why
    const VrrpHeard& heard = it->second;
    std::vector<const config::VirtualAddress*> here;
    for (const auto& vip : instance.virtual_addresses) {
      if (facts_.local_addresses.count(vip.prefix.address.to_string())) here.push_back(&vip);
    }
    const int vrid = instance.virtual_router_id;
    Finding f{.check = "vrrp.vip_on_host",
              .subject = "vrrp_instance " + instance.name,
              .location = where(here.empty() ? instance.loc : here.front()->loc)};
    if (here.empty()) {
      f.found = "no virtual_ipaddress is an address of this host";
      f.why = "the VIPs are vigild's to add when this host becomes MASTER";
      add(std::move(f));
      return;
    }
    // keepalived's default: 255 for the address owner (state MASTER without a priority).
    const int ours = instance.priority                                     ? *instance.priority
                     : instance.state == config::VrrpInitialState::kMaster ? 255
                                                                           : 100;
    const HeardAdvert* winner = nullptr;  // a peer this instance yields to
    const HeardAdvert* loser = nullptr;   // a peer advertising below this instance
    for (const HeardAdvert* peer : peer_adverts(instance, heard)) {
      const HeardAdvert& advert = *peer;
      const bool wins =
          advert.priority > ours || (advert.priority == ours && instance.source_address &&
                                     advert.source > *instance.source_address);
      (wins ? winner : loser) = &advert;
    }
    std::vector<std::string> names;
    names.reserve(here.size());
    for (const auto* vip : here)
      names.push_back(vip->prefix.address.to_string());
    const std::string vips = fmt::format("{} {} of this host", fmt::join(names, ", "),
                                         here.size() == 1 ? "is an address" : "are addresses");
    if (winner) {
      const auto* first = here.front();
      f.level = Level::kFail;
      f.found = fmt::format(
          "{}, but {} is MASTER for VRID {} (it sends the adverts, priority {} against this "
          "instance's {})",
          vips, winner->source.to_string(), vrid, winner->priority, ours);
      f.why =
          "this host is not MASTER, so the VIP is configured outside vigil (or left behind): "
          "this host answers ARP for it too, its traffic splits between the two hosts and "
          "connections break";
      f.fix = fmt::format(
          "ip -o address show to {} (where it is), ip address del {}/{} dev THAT_DEVICE, and "
          "take it out of this host's network configuration (/etc/network/interfaces, netplan, "
          "systemd-networkd): only vigild adds a VIP, on the MASTER",
          first->prefix.address.to_string(), first->prefix.address.to_string(),
          first->prefix.length);
    } else if (loser) {
      f.found = fmt::format(
          "{}; {} advertises VRID {} at priority {}, below this instance's {}: this host "
          "should be MASTER",
          vips, loser->source.to_string(), vrid, loser->priority, ours);
      f.why = "the MASTER holds the VIPs";
    } else {
      f.found = fmt::format(
          "{}, and no other router advertises VRID {} on {} ({}): this host is MASTER if "
          "vigild runs here",
          vips, vrid, instance.interface, seconds(heard.listened));
      f.why =
          "the MASTER holds the VIPs (without vigild running here the VIP was added by hand: "
          "doctor hears no adverts of this host's own to tell)";
    }
    add(std::move(f));
  }

  // The adverts heard from this instance's peers for its VRID (this host's own left out): with
  // unicast_peer, those from a listed peer; else those carrying the instance's addresses (another
  // virtual router's are vrid_on_link's FAIL).
  std::vector<const HeardAdvert*> peer_adverts(const config::VrrpInstance& instance,
                                               const VrrpHeard& heard) const {
    const std::set<IpAddress> addresses = advertised(instance);
    std::set<IpAddress> peers;
    for (const auto& peer : instance.unicast_peers)
      peers.insert(peer.address);
    std::vector<const HeardAdvert*> out;
    for (const auto& advert : heard.adverts) {
      if (advert.vrid != instance.virtual_router_id || advert.source.family() != instance.family ||
          facts_.local_addresses.count(advert.source.to_string()))
        continue;
      const bool peer =
          peers.empty() ? advert.addresses == addresses : peers.count(advert.source) > 0;
      if (peer) out.push_back(&advert);
    }
    return out;
  }

  // A virtual address that another host answers ARP for, outside VRRP: two hosts answering (a
  // static address on a peer or a leftover beside the MASTER), or one host answering while no
  // VRRP router advertises the VRID (so no MASTER holds it: when this host becomes MASTER, both
  // answer). The VRRP virtual MAC (RFC 5798 §7.3) answering is the MASTER with use_vmac; a real
  // server answering is rs.arp_suppression's.
  void vip_on_peer(const config::VrrpInstance& instance) {
    if (instance.interface.empty() || instance.virtual_router_id == 0 ||
        instance.family != AddressFamily::kIpv4)
      return;
    auto listened = probes_.vrrp.find(instance.interface);
    if (listened == probes_.vrrp.end() || !listened->second.error.empty()) return;
    const VrrpHeard& heard = listened->second;
    const auto peers = peer_adverts(instance, heard);
    const int vrid = instance.virtual_router_id;
    const Mac vmac = {0x00, 0x00, 0x5e, 0x00, 0x01, static_cast<uint8_t>(vrid)};
    for (const auto& vip : instance.virtual_addresses) {
      if (!vip.prefix.address.is_v4()) continue;
      const std::string link_name = vip.dev.empty() ? instance.interface : vip.dev;
      const ArpAnswers* link = arp(link_name);
      if (!link || !link->error.empty()) continue;  // vrid_on_link / rs.reachable say why
      const std::string address = vip.prefix.address.to_string();
      if (!seen_.insert({"vip_on_peer", address, link_name}).second) continue;
      std::set<Mac> others = answers(*link, vip.prefix.address);
      others.erase(vmac);
      for (const auto& mac : real_server_macs(link_name))
        others.erase(mac);
      const bool here = facts_.local_addresses.count(address) > 0;
      Finding f{.check = "vrrp.vip_on_peer",
                .subject = "vrrp_instance " + instance.name,
                .location = where(vip.loc)};
      const std::string fix = fmt::format(
          "on the host that is not the VRRP MASTER: ip -o address show to {} (where it is), "
          "ip address del {}/{} dev THAT_DEVICE, and take it out of that host's network "
          "configuration: only vigild adds a VIP, on the MASTER",
          address, address, vip.prefix.length);
      if (others.size() + (here ? 1 : 0) >= 2) {
        f.level = Level::kFail;
        f.found = fmt::format("{} is answered on {} by {}{}: more than one host", address,
                              link_name, here ? "this host and " : "", join(others));
        f.why =
            "only the VRRP MASTER may answer for a VIP: the other host has it configured outside "
            "VRRP (or left behind), the link's ARP caches flip between the two and connections "
            "break";
        f.fix = fix;
      } else if (!others.empty() && peers.empty()) {
        f.level = Level::kFail;
        f.found = fmt::format(
            "{} is answered on {} by {}, but no VRRP router advertises VRID {} there ({})", address,
            link_name, join(others), vrid, seconds(heard.listened));
        f.why =
            "no MASTER holds it, so another host has it as an address outside VRRP (a peer's "
            "static configuration, or a leftover): when this host becomes MASTER both answer "
            "and connections break (or a MASTER's adverts do not reach this host: "
            "vrrp.vrid_on_link, vrrp.firewall)";
        f.fix = fix;
      } else if (!others.empty()) {
        f.found = fmt::format("{} is answered on {} by {} while {} advertises VRID {}", address,
                              link_name, join(others), peers.front()->source.to_string(), vrid);
        f.why = "one host answers for the VIP: the VRRP MASTER";
      } else {
        f.found = fmt::format("no other host answers ARP for {} on {}", address, link_name);
        f.why = here ? "this host holds the VIP alone" : "no host holds the VIP outside VRRP";
      }
      add(std::move(f));
    }
  }

  // Why a peer's adverts are dropped by this instance, if they are.
  static std::optional<std::string> protocol_mismatch(const config::VrrpInstance& instance,
                                                      const HeardAdvert& advert) {
    if (instance.version && *instance.version != advert.version)
      return fmt::format("version {}, ours {}", advert.version, *instance.version);
    if (advert.version != 2) return std::nullopt;
    if (advert.auth_type != auth_type_of(instance) ||
        (advert.auth_type == 1 && advert.auth_data != auth_data_of(instance)))
      return std::string("authentication differs from ours");
    if (advert.interval != instance.advert_int)
      return fmt::format("advert_int {}, ours {}", seconds(advert.interval),
                         seconds(instance.advert_int));
    return std::nullopt;
  }

  int probe_rounds() const { return probes_.arp_rounds; }
  Duration probe_time() const { return probes_.arp_rounds * probes_.arp_round; }

  void add(Finding finding) { out_.push_back(std::move(finding)); }

  const config::Config& config_;
  const config::SourceFiles& files_;
  const Facts& facts_;
  const ProbeResults& probes_;
  std::set<std::tuple<std::string, std::string, std::string>> seen_;
  std::vector<Finding> out_;
};

}  // namespace

std::vector<Finding> diagnose_probes(const config::Config& config, const config::SourceFiles& files,
                                     const Facts& facts) {
  if (!facts.probes) return {};
  return ProbeDiagnoser(config, files, facts).run();
}

}  // namespace vigil::doctor
