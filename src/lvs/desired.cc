#include "lvs/desired.h"

#include <algorithm>
#include <optional>

namespace vigil::lvs {
namespace {

using config::ForwardingMethod;

datapath::Protocol to_protocol(config::LvsProtocol p) {
  switch (p) {
    case config::LvsProtocol::kTcp:
      return datapath::Protocol::kTcp;
    case config::LvsProtocol::kUdp:
      return datapath::Protocol::kUdp;
    case config::LvsProtocol::kSctp:
      return datapath::Protocol::kSctp;
  }
  return datapath::Protocol::kTcp;
}

datapath::ServiceKey address_key(const config::VirtualServer& vs, const IpAddress& address,
                                 uint16_t port) {
  return {to_protocol(vs.protocol), address, port};
}

// Every address of a virtual_server_group range: the last octet (IPv4) or the last 16 bits
// (IPv6) run from `first` to `last`.
void expand_range(const config::VsgAddressRange& range, const config::VirtualServer& vs,
                  std::vector<datapath::ServiceKey>& keys) {
  IpAddress address = range.first;
  const size_t n = range.first.size();
  for (int guard = 0; guard <= 65535; ++guard) {
    keys.push_back(address_key(vs, address, range.port));
    if (!(address < range.last)) break;
    std::array<uint8_t, 16> bytes{};
    std::copy(address.bytes(), address.bytes() + n, bytes.begin());
    for (size_t i = n; i-- > 0;) {  // increment, big-endian
      if (++bytes[i] != 0) break;
    }
    address = IpAddress::from_bytes(range.first.family(), bytes.data());
  }
}

datapath::Destination destination(const config::RealServer& rs) {
  datapath::Destination d;
  switch (rs.forwarding.method) {
    case ForwardingMethod::kNat:
    case ForwardingMethod::kFullNat:  // IPVS NAT; the source NAT is done by nftables
      d.method = datapath::ForwardingMethod::kNat;
      break;
    case ForwardingMethod::kDirectRouting:
      d.method = datapath::ForwardingMethod::kDirectRoute;
      break;
    case ForwardingMethod::kTunnel:
      d.method = datapath::ForwardingMethod::kTunnel;
      switch (rs.forwarding.tunnel_type) {
        case config::TunnelType::kIpip:
          d.tunnel_type = datapath::TunnelType::kIpip;
          break;
        case config::TunnelType::kGue:
          d.tunnel_type = datapath::TunnelType::kGue;
          d.tunnel_port = rs.forwarding.tunnel_port;
          break;
        case config::TunnelType::kGre:
          d.tunnel_type = datapath::TunnelType::kGre;
          break;
      }
      d.tunnel_flags.checksum = rs.forwarding.tunnel_checksum == config::TunnelChecksum::kCsum;
      d.tunnel_flags.remote_checksum =
          rs.forwarding.tunnel_checksum == config::TunnelChecksum::kRemCsum;
      break;
  }
  d.weight = static_cast<int32_t>(std::min<uint32_t>(rs.weight, INT32_MAX));
  d.upper_threshold = rs.upper_threshold;
  d.lower_threshold = rs.lower_threshold;
  return d;
}

// `family`: the service key's, which in a group with IPv4 and IPv6 entries is not always the
// virtual server's.
datapath::Service service(const config::VirtualServer& vs, AddressFamily family) {
  datapath::Service s;
  s.scheduler = std::string(config::to_string(vs.scheduler));
  s.flags.persistent = vs.persistence_timeout > 0;
  s.flags.one_packet = vs.one_packet;
  s.flags.sched_flag_1 = vs.sched_flag_1;
  s.flags.sched_flag_2 = vs.sched_flag_2;
  s.flags.sched_flag_3 = vs.sched_flag_3;
  s.persistence_timeout = std::chrono::seconds(vs.persistence_timeout);
  s.netmask_prefix = vs.persistence_granularity.value_or(datapath::host_prefix(family));
  s.persistence_engine = vs.persistence_engine;
  return s;
}

// A real server's port in the kernel: as written, or the service's when written as 0 for an
// address service (keepalived's rule).
uint16_t destination_port(const config::RealServer& rs, const datapath::ServiceKey& key) {
  if (rs.port != 0 || key.is_fwmark()) return rs.port;
  return key.port;
}

}  // namespace

datapath::DestinationKey destination_key(const config::RealServer& rs,
                                         const datapath::ServiceKey& key) {
  return {rs.address, destination_port(rs, key)};
}

std::vector<datapath::ServiceKey> service_keys(const config::LvsSection& lvs,
                                               const config::VirtualServer& vs) {
  std::vector<datapath::ServiceKey> keys;
  switch (vs.kind) {
    case config::VirtualServerKind::kAddress:
      keys.push_back(address_key(vs, vs.address, vs.port));
      break;
    case config::VirtualServerKind::kFwmark:
      keys.push_back(datapath::ServiceKey::firewall_mark(vs.fwmark, vs.family));
      break;
    case config::VirtualServerKind::kGroup: {
      auto group = std::find_if(lvs.groups.begin(), lvs.groups.end(),
                                [&](const auto& g) { return g.name == vs.group; });
      if (group == lvs.groups.end()) break;  // validation reported it
      for (const auto& range : group->ranges)
        expand_range(range, vs, keys);
      for (const auto& mark : group->fwmarks) {
        keys.push_back(
            datapath::ServiceKey::firewall_mark(mark.mark, mark.family.value_or(vs.family)));
      }
      break;
    }
  }
  return keys;
}

namespace {

// keepalived's start-up state: a real server is in before any check, unless it has `alpha` and
// checkers to pass first (checkers.md §1.3), or one of its checkers has `alpha` in its own block
// (keepalived's check_data.c marks each alpha checker failed at start).
bool alive_at_start(const config::VirtualServer&, const config::RealServer& rs) {
  return !(rs.alpha && !rs.checkers.empty()) &&
         std::ranges::none_of(rs.checkers, [](const config::Checker& c) { return c.alpha; });
}

const check::DesiredDestination* find(const std::vector<check::DesiredDestination>& list,
                                      const config::RealServer& rs) {
  for (const auto& d : list)
    if (d.key.address == rs.address && d.key.port == rs.port) return &d;
  return nullptr;
}

// A destination of a virtual server (a real server, or the sorry server as one) at the weight
// it should have in IPVS.
struct Member {
  const config::RealServer* server = nullptr;
  uint32_t weight = 0;
};

config::RealServer sorry_as_real(const config::SorryServer& sorry) {
  config::RealServer as_real;
  as_real.address = sorry.address;
  as_real.port = sorry.port;
  as_real.forwarding = sorry.forwarding;
  as_real.weight = 1;
  return as_real;
}

// The checkers decided: each destination in or out at the weight they give.
std::vector<Member> members_from_verdict(const config::VirtualServer& vs,
                                         const config::RealServer* sorry,
                                         const check::DesiredService& verdict) {
  std::vector<Member> members;
  for (const auto& rs : vs.real_servers) {
    const auto* d = find(verdict.real_servers, rs);
    if (d == nullptr) {  // new in this virtual server: as at start
      if (alive_at_start(vs, rs)) {
        members.push_back({&rs, rs.weight});
      } else if (rs.inhibit_on_failure) {
        members.push_back({&rs, 0});
      }
    } else if (d->in_ipvs) {
      members.push_back({&rs, d->weight});
    }
  }
  if (sorry != nullptr && verdict.sorry_server && verdict.sorry_server->in_ipvs)
    members.push_back({sorry, verdict.sorry_server->weight});
  return members;
}

// No verdict yet: `is_alive` says which real servers are up; quorum and sorry server as
// keepalived applies them.
std::vector<Member> members_from_health(const config::VirtualServer& vs,
                                        const config::RealServer* sorry,
                                        const RealServerHealth& is_alive) {
  uint64_t live_weight = 0;
  std::vector<const config::RealServer*> alive;
  std::vector<const config::RealServer*> inhibited;
  for (const auto& rs : vs.real_servers) {
    if (is_alive(vs, rs)) {
      alive.push_back(&rs);
      live_weight += rs.weight;
    } else if (rs.inhibit_on_failure) {
      inhibited.push_back(&rs);
    }
  }
  // keepalived: with a sorry server, losing the quorum brings every real server down and puts
  // the sorry server in their place; sorry_server_inhibit keeps it at weight 0 while the quorum
  // holds. A server down with inhibit_on_failure stays at weight 0 instead of leaving.
  const bool use_sorry = live_weight < vs.quorum && sorry != nullptr;
  std::vector<Member> members;
  for (const auto* rs : alive) {
    if (!use_sorry) {
      members.push_back({rs, rs->weight});
    } else if (rs->inhibit_on_failure) {
      members.push_back({rs, 0});
    }
  }
  for (const auto* rs : inhibited)
    members.push_back({rs, 0});
  if (sorry != nullptr && (use_sorry || vs.sorry_server->inhibit))
    members.push_back({sorry, use_sorry ? 1U : 0U});
  return members;
}

// The operators' overrides of `vs`'s real servers applied to what the health let in (the sorry
// server has none).
void apply_overrides(const config::VirtualServer& vs, const config::RealServer* sorry,
                     const OverrideMap& overrides, std::vector<Member>& members) {
  OverrideTarget target{check::virtual_server_key(vs), {}};
  // Overrides are ordered by virtual server first: none for this one, nothing to look up.
  const auto first = overrides.lower_bound(target);
  if (first == overrides.end() || first->first.virtual_server != target.virtual_server) return;
  std::erase_if(members, [&](Member& member) {
    if (member.server == sorry) return false;
    target.real_server = {member.server->address, member.server->port};
    const auto found = overrides.find(target);
    if (found == overrides.end()) return false;
    const auto state = apply_override({true, member.weight}, &found->second);
    member.weight = state.weight;
    return !state.in;
  });
}

}  // namespace

std::vector<std::pair<datapath::ServiceKey, datapath::ServiceEntry>> desired_services(
    const config::LvsSection& lvs, const config::VirtualServer& vs,
    const check::DesiredService* verdict, const RealServerHealth& health,
    std::vector<FullNatService>* fullnat, const OverrideMap* overrides) {
  const std::optional<config::RealServer> sorry =
      vs.sorry_server ? std::optional(sorry_as_real(*vs.sorry_server)) : std::nullopt;
  const config::RealServer* sorry_server = sorry ? &*sorry : nullptr;
  std::vector<Member> members =
      verdict != nullptr ? members_from_verdict(vs, sorry_server, *verdict)
                         : members_from_health(vs, sorry_server,
                                               health ? health : RealServerHealth(alive_at_start));
  if (overrides != nullptr && !overrides->empty())
    apply_overrides(vs, sorry_server, *overrides, members);
  std::vector<std::pair<datapath::ServiceKey, datapath::ServiceEntry>> entries;
  for (const auto& key : service_keys(lvs, vs)) {
    datapath::ServiceEntry entry;
    entry.service = service(vs, key.family());
    FullNatService fullnat_service{key, {}};
    for (const auto& member : members) {
      const config::RealServer& rs = *member.server;
      datapath::DestinationKey dkey{rs.address, destination_port(rs, key)};
      auto d = destination(rs);
      d.weight = static_cast<int32_t>(std::min<uint32_t>(member.weight, INT32_MAX));
      entry.destinations.emplace(dkey, d);
      if (rs.forwarding.method == ForwardingMethod::kFullNat) {
        fullnat_service.destinations.push_back(dkey);
      }
    }
    if (fullnat != nullptr && !fullnat_service.destinations.empty())
      fullnat->push_back(std::move(fullnat_service));
    entries.emplace_back(key, std::move(entry));
  }
  return entries;
}

bool uses_fullnat(const config::VirtualServer& vs) {
  const auto fullnat = [](const ForwardingMethod& method) {
    return method == ForwardingMethod::kFullNat;
  };
  return (vs.sorry_server && fullnat(vs.sorry_server->forwarding.method)) ||
         std::ranges::any_of(vs.real_servers, [&](const config::RealServer& rs) {
           return fullnat(rs.forwarding.method);
         });
}

DesiredLvs desired_lvs(const config::Config& config, const RealServerHealth& health,
                       const HealthOverlay& checkers, const OverrideMap* overrides) {
  DesiredLvs desired;
  for (const auto& vs : config.lvs.virtual_servers) {
    const auto verdict = checkers.find(check::virtual_server_key(vs));
    auto entries =
        desired_services(config.lvs, vs, verdict != checkers.end() ? &verdict->second : nullptr,
                         health, &desired.fullnat, overrides);
    // The first block naming a service wins; validation reports duplicates.
    for (auto& [key, entry] : entries)
      desired.table.emplace(key, std::move(entry));
  }
  return desired;
}

}  // namespace vigil::lvs
