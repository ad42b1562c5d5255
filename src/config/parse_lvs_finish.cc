// Phase two of the LVS section: defaults that flow from virtual to real servers to checkers,
// and the checks that need a whole virtual server or the whole file. Cross-references and
// duplicates are found by sorting, never by pairwise scans: a config may hold 37,000 real servers.
#include <algorithm>
#include <numeric>
#include <tuple>

#include "config/parse_lvs_internal.h"
#include "config/sections.h"

namespace vigil::config {
namespace {

using lvs::describe;

bool is_nat_like(ForwardingMethod method) {
  return method == ForwardingMethod::kNat || method == ForwardingMethod::kFullNat;
}

std::string at_line(const SourceLocation& loc) {
  return "line " + std::to_string(loc.line);
}

// The groups sorted by name, for lookups; reports duplicate and malformed groups.
std::vector<const VirtualServerGroup*> index_groups(const LvsSection& lvs, Context& ctx) {
  std::vector<const VirtualServerGroup*> sorted;
  sorted.reserve(lvs.groups.size());
  for (const auto& group : lvs.groups)
    sorted.push_back(&group);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto* a, const auto* b) { return a->name < b->name; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->name == sorted[i - 1]->name) {
      ctx.error(sorted[i]->loc, "virtual_server_group " + sorted[i]->name +
                                    " is defined twice (first at " + at_line(sorted[i - 1]->loc) +
                                    ")");
    }
  }
  for (const auto& group : lvs.groups) {
    if (group.ranges.empty() && group.fwmarks.empty()) {
      ctx.error(group.loc, "virtual_server_group " + group.name + " has no entries");
      continue;
    }
    bool v4 = false;
    bool v6 = false;
    for (const auto& range : group.ranges)
      (range.first.is_v4() ? v4 : v6) = true;
    bool bare_fwmark = std::any_of(group.fwmarks.begin(), group.fwmarks.end(),
                                   [](const VsgFwmark& f) { return !f.family; });
    if (v4 && v6 && bare_fwmark) {
      ctx.error(group.loc, "virtual_server_group " + group.name +
                               " has IPv4 and IPv6 addresses and a fwmark without a family "
                               "(write 'fwmark N inet|inet6')");
    }
  }
  return sorted;
}

const VirtualServerGroup* find_group(const std::vector<const VirtualServerGroup*>& sorted,
                                     const std::string& name) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), name,
                             [](const auto* g, const std::string& n) { return g->name < n; });
  return it != sorted.end() && (*it)->name == name ? *it : nullptr;
}

// Bit 1: IPv4, bit 2: IPv6.
uint8_t family_bit(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? 1 : 2;
}

// keepalived's rule for a service with no address of its own: ip_family, else the family of
// the non-tunnelled real/sorry servers, else of all of them if they agree, else IPv4.
AddressFamily fwmark_family(const VirtualServer& vs) {
  if (vs.family_set) return vs.family;
  if (vs.sorry_server && vs.sorry_server->forwarding.method != ForwardingMethod::kTunnel) {
    return vs.sorry_server->address.family();
  }
  for (const auto& rs : vs.real_servers) {
    if (rs.forwarding.method != ForwardingMethod::kTunnel) return rs.address.family();
  }
  std::optional<AddressFamily> common;
  if (vs.sorry_server) common = vs.sorry_server->address.family();
  for (const auto& rs : vs.real_servers) {
    if (!common) {
      common = rs.address.family();
    } else if (*common != rs.address.family()) {
      return AddressFamily::kIpv4;
    }
  }
  return common.value_or(AddressFamily::kIpv4);
}

struct Ports {
  bool address_based = false;           // has addresses (own or from its group)
  bool fwmark_based = false;            // has fwmarks (own or from its group)
  std::vector<uint16_t> address_ports;  // the port of each address entry
};

// The port rules for real and sorry servers: NAT may change the port (none written: the
// service's), DR and TUN may not; with fwmarks a DR/TUN server has no port at all.
// `what` names the server; it is called only to write an error (formatting 37,000 addresses
// costs more than the rest of the checks).
template <class Describe>
void check_server_port(const VirtualServer& vs, const Ports& ports, const Describe& what,
                       const SourceLocation& loc, ForwardingMethod method, uint16_t& port,
                       Context& ctx) {
  if (is_nat_like(method)) {
    if (port == 0 && vs.kind == VirtualServerKind::kAddress) port = vs.port;
    return;
  }
  if (vs.kind == VirtualServerKind::kAddress) {
    if (port == 0) {
      port = vs.port;
    } else if (port != vs.port) {
      ctx.error(loc, describe(vs) + ": " + what() + " uses " + std::string(to_string(method)) +
                         ", which cannot change the port: its port " + std::to_string(port) +
                         " must be the virtual server's port " + std::to_string(vs.port));
    }
    return;
  }
  if (port == 0) return;
  if (ports.fwmark_based) {
    ctx.error(loc, describe(vs) + ": " + what() + " uses " + std::string(to_string(method)) +
                       " with a fwmark service: it must not have a port");
    return;
  }
  for (uint16_t vport : ports.address_ports) {
    if (vport != port) {
      ctx.error(loc, describe(vs) + ": " + what() + " uses " + std::string(to_string(method)) +
                         ", which cannot change the port: its port " + std::to_string(port) +
                         " differs from the group's port " + std::to_string(vport));
      return;
    }
  }
}

void finish_virtual_server(Config& config, VirtualServer& vs,
                           const std::vector<const VirtualServerGroup*>& groups,
                           const std::vector<const TrackFile*>& track_files, Context& ctx) {
  const GlobalDefs& global = config.global;
  const std::string name = describe(vs);

  // What the service is made of: its own address or fwmark, or its group's entries.
  Ports ports;
  uint8_t families = 0;
  const VirtualServerGroup* group = nullptr;
  if (vs.kind == VirtualServerKind::kGroup) {
    group = find_group(groups, vs.group);
    if (group == nullptr) {
      ctx.error(vs.group_loc, name + ": no virtual_server_group named '" + vs.group + "'");
    } else {
      for (const auto& range : group->ranges) {
        ports.address_ports.push_back(range.port);
        families |= family_bit(range.first.family());
      }
      ports.address_based = !group->ranges.empty();
      ports.fwmark_based = !group->fwmarks.empty();
      for (const auto& fwmark : group->fwmarks)
        families |= family_bit(fwmark.family.value_or(fwmark_family(vs)));
      std::sort(ports.address_ports.begin(), ports.address_ports.end());
      ports.address_ports.erase(std::unique(ports.address_ports.begin(), ports.address_ports.end()),
                                ports.address_ports.end());
    }
  } else if (vs.kind == VirtualServerKind::kFwmark) {
    ports.fwmark_based = true;
  } else {
    ports.address_based = true;
    ports.address_ports.push_back(vs.port);
  }
  if (vs.kind != VirtualServerKind::kAddress) vs.family = fwmark_family(vs);
  if (vs.kind == VirtualServerKind::kAddress || families == 0) {
    families = family_bit(vs.family);
  } else if (families != 3) {
    vs.family = families == 1 ? AddressFamily::kIpv4 : AddressFamily::kIpv6;
  }

  if (vs.real_servers.empty()) ctx.error(vs.loc, name + " has no real servers");
  if (vs.ha_suspend && ports.fwmark_based) {
    ctx.error(vs.loc, name + ": ha_suspend cannot be used with fwmarks");
  }
  if (ports.address_based) {
    if (!vs.protocol_set) {
      ctx.error(vs.loc, name +
                            ": no 'protocol' set (keepalived -t rejects this; the kernel "
                            "would default to UDP)");
    } else if (vs.one_packet && vs.protocol != LvsProtocol::kUdp) {
      ctx.error(vs.loc, name + ": 'ops' (one packet scheduling) requires protocol UDP");
    }
    if (vs.persistence_timeout == 0 &&
        std::find(ports.address_ports.begin(), ports.address_ports.end(), 0) !=
            ports.address_ports.end()) {
      ctx.error(vs.loc, name + ": a port is required unless persistence_timeout is set");
    }
  } else if (vs.protocol_set && ports.fwmark_based) {
    ctx.error(vs.loc, name +
                          ": 'protocol' has no meaning for a fwmark service (keepalived -t "
                          "rejects it)");
  }
  if (!vs.scheduler_set) {
    ctx.error(vs.loc, name +
                          ": no 'lvs_sched' set (keepalived -t rejects this; the default "
                          "would be wlc)");
  }
  if (vs.persistence_granularity && vs.persistence_timeout == 0) {
    // keepalived makes the service persistent with the default timeout.
    ctx.warning(vs.loc, name +
                            ": persistence_granularity without persistence_timeout: "
                            "persistent for 360 s");
    vs.persistence_timeout = 360;
  }
  if (!vs.smtp_alert_set) {
    vs.smtp_alert = global.smtp_alert_checker.value_or(global.smtp_alert);
  }

  bool forwarding_missing = false;
  auto check_family = [&](const auto& what, const SourceLocation& loc, const IpAddress& address,
                          ForwardingMethod method) {
    if (method == ForwardingMethod::kTunnel) return;
    if (families != family_bit(address.family())) {
      ctx.error(loc, name + ": " + what() + " is not of the virtual server's address family " +
                         "(only TUN servers may differ)");
    }
  };

  // Real servers: inherit, then check.
  uint64_t weight_sum = 0;
  for (auto& rs : vs.real_servers) {
    if ((rs.explicit_fields & kSetForwarding) == 0) {
      if (!vs.forwarding_set) forwarding_missing = true;
      rs.forwarding = vs.forwarding;
    }
    if ((rs.explicit_fields & kSetAlpha) == 0) rs.alpha = vs.alpha;
    if ((rs.explicit_fields & kSetInhibit) == 0) rs.inhibit_on_failure = vs.inhibit_on_failure;
    if ((rs.explicit_fields & kSetWeight) == 0) rs.weight = vs.weight;
    if ((rs.explicit_fields & kSetConnectTimeout) == 0) rs.connect_timeout = vs.connect_timeout;
    if ((rs.explicit_fields & kSetDelayLoop) == 0) rs.delay_loop = vs.delay_loop;
    if (!rs.retry) rs.retry = vs.retry;
    if (!rs.delay_before_retry) rs.delay_before_retry = vs.delay_before_retry;
    if (!rs.warmup) rs.warmup = vs.warmup;
    if ((rs.explicit_fields & kSetVirtualhost) == 0) rs.virtualhost = vs.virtualhost;
    // keepalived 2.2.7 check_data.c: smtp_alert_checker, else smtp_alert, else "on".
    if ((rs.explicit_fields & kSetSmtpAlert) == 0) {
      rs.smtp_alert = global.smtp_alert_checker_written
                          ? global.smtp_alert_checker.value_or(global.smtp_alert)
                          : true;
    }
    weight_sum += rs.weight;
    auto what = [&rs] { return describe(rs); };
    check_family(what, rs.loc, rs.address, rs.forwarding.method);
    check_server_port(vs, ports, what, rs.loc, rs.forwarding.method, rs.port, ctx);
    lvs::finish_checkers(global, track_files, vs, rs, ctx);
  }
  if (vs.sorry_server) {
    auto& sorry = *vs.sorry_server;
    if (!sorry.forwarding_set) {
      if (!vs.forwarding_set) forwarding_missing = true;
      sorry.forwarding = vs.forwarding;
    }
    auto what = [&sorry] { return "sorry_server " + sorry.address.to_string(); };
    check_family(what, sorry.loc, sorry.address, sorry.forwarding.method);
    check_server_port(vs, ports, what, sorry.loc, sorry.forwarding.method, sorry.port, ctx);
  }
  if (forwarding_missing) {
    ctx.error(vs.loc, name +
                          ": no 'lvs_method' set (keepalived -t rejects this; the default "
                          "would be NAT)");
  }

  // The same real server twice (after port defaults), and a sorry server that is also a real
  // server but with another inhibit setting.
  std::vector<uint32_t> order(vs.real_servers.size());
  std::iota(order.begin(), order.end(), 0);
  auto key = [&](uint32_t i) {
    const auto& rs = vs.real_servers[i];
    return std::tie(rs.address, rs.port);
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return key(a) < key(b); });
  for (size_t i = 1; i < order.size(); ++i) {
    if (key(order[i]) == key(order[i - 1])) {
      const auto& later = vs.real_servers[std::max(order[i], order[i - 1])];
      const auto& earlier = vs.real_servers[std::min(order[i], order[i - 1])];
      ctx.error(later.loc, name + ": " + describe(later) + " is defined twice (first at " +
                               at_line(earlier.loc) + ")");
    }
  }
  if (vs.sorry_server) {
    auto it = std::lower_bound(order.begin(), order.end(), 0, [&](uint32_t i, int) {
      return key(i) < std::tie(vs.sorry_server->address, vs.sorry_server->port);
    });
    if (it != order.end() &&
        key(*it) == std::tie(vs.sorry_server->address, vs.sorry_server->port) &&
        vs.real_servers[*it].inhibit_on_failure != vs.sorry_server->inhibit) {
      ctx.error(vs.sorry_server->loc,
                name +
                    ": the sorry_server is also a real server, but its inhibit setting "
                    "differs (set sorry_server_inhibit to match inhibit_on_failure)");
    }
  }

  if (!vs.real_servers.empty() && vs.quorum > weight_sum) {
    ctx.error(vs.loc, name + ": quorum " + std::to_string(vs.quorum) +
                          " exceeds the total weight " + std::to_string(weight_sum) +
                          " of its real servers");
  } else if (vs.hysteresis >= vs.quorum) {
    ctx.error(vs.loc, name + ": hysteresis " + std::to_string(vs.hysteresis) +
                          " must be below quorum " + std::to_string(vs.quorum));
  }
}

// The identity of an IPVS service, for finding a virtual server defined twice.
struct ServiceIdentity {
  VirtualServerKind kind;
  AddressFamily family;
  LvsProtocol protocol;
  IpAddress address;
  uint16_t port;
  uint32_t fwmark;
  std::string_view group;
  auto operator<=>(const ServiceIdentity&) const = default;
};

ServiceIdentity identity(const VirtualServer& vs) {
  bool fwmark = vs.kind == VirtualServerKind::kFwmark;
  return {vs.kind,
          fwmark || vs.kind == VirtualServerKind::kGroup ? vs.family : vs.address.family(),
          fwmark ? LvsProtocol::kTcp : vs.protocol,
          vs.address,
          vs.port,
          vs.fwmark,
          vs.group};
}

}  // namespace

void finish_lvs(Config& config, Context& ctx) {
  auto& lvs = config.lvs;
  auto groups = index_groups(lvs, ctx);
  std::vector<const TrackFile*> track_files;
  track_files.reserve(config.vrrp.track_files.size());
  for (const auto& file : config.vrrp.track_files)
    track_files.push_back(&file);
  std::sort(track_files.begin(), track_files.end(),
            [](const TrackFile* a, const TrackFile* b) { return a->name < b->name; });
  for (auto& vs : lvs.virtual_servers)
    finish_virtual_server(config, vs, groups, track_files, ctx);

  std::vector<uint32_t> order(lvs.virtual_servers.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<ServiceIdentity> ids;
  ids.reserve(order.size());
  for (const auto& vs : lvs.virtual_servers)
    ids.push_back(identity(vs));
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return ids[a] < ids[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (ids[order[i]] == ids[order[i - 1]]) {
      const auto& later = lvs.virtual_servers[std::max(order[i], order[i - 1])];
      const auto& earlier = lvs.virtual_servers[std::min(order[i], order[i - 1])];
      ctx.error(later.loc,
                describe(later) + " is defined twice (first at " + at_line(earlier.loc) + ")");
    }
  }
}

}  // namespace vigil::config
