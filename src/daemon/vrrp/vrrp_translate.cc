#include "daemon/vrrp/vrrp_translate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

namespace vigil::daemon {
namespace {

std::string scope_name(uint8_t scope) {
  switch (scope) {
    case config::kScopeGlobal:
      return "";
    case config::kScopeSite:
      return "site";
    case config::kScopeLink:
      return "link";
    case config::kScopeHost:
      return "host";
    case config::kScopeNowhere:
      return "nowhere";
    default:
      return std::to_string(scope);
  }
}

// keepalived's interface for a static address without dev when default_interface is unset.
const std::string kDefaultInterface = "eth0";

vrrp::VirtualAddress to_vip(const config::VirtualAddress& in) {
  return vrrp::VirtualAddress{.prefix = in.prefix,
                              .broadcast = in.broadcast,
                              .device = in.dev,
                              .label = in.label,
                              .scope = scope_name(in.scope)};
}

vrrp::Route to_route(const config::VirtualRoute& in) {
  vrrp::Route out{.destination = in.destination,
                  .type = static_cast<uint8_t>(in.type),
                  .preferred_source = in.preferred_source,
                  .gateway = in.gateway,
                  .device = in.dev,
                  .table = in.table,
                  .metric = in.metric,
                  .scope = in.scope,
                  .protocol = in.protocol,
                  .tos = in.tos,
                  .onlink = in.onlink};
  switch (in.add_mode) {
    case config::RouteAddMode::kPrepend:
      out.mode = vrrp::Route::Mode::kPrepend;
      break;
    case config::RouteAddMode::kAdd:
      out.mode = vrrp::Route::Mode::kExclusive;
      break;
    case config::RouteAddMode::kAppend:
      out.mode = vrrp::Route::Mode::kAppend;
      break;
  }
  return out;
}

vrrp::Rule to_rule(const config::VirtualRule& in) {
  return vrrp::Rule{.family = in.family,
                    .from = in.from,
                    .to = in.to,
                    .action = static_cast<uint8_t>(in.action),
                    .table = in.table,
                    .goto_target = in.goto_target,
                    .priority = in.priority.value_or(0),  // the parser requires one
                    .iif = in.iif,
                    .oif = in.oif,
                    .fwmark = in.fwmark,
                    .fwmask = in.fwmask,
                    .tos = in.tos,
                    .protocol = in.no_track
                                    ? std::nullopt
                                    : std::optional<uint8_t>(vrrp::kRouteProtocolKeepalived)};
}

// keepalived 2.2.7: an instance tracks (weight 0: down means FAULT) the dev of each tracked
// route and the iif / oif of each tracked rule. An interface tracked already keeps its weight.
void add_routing_links(const config::VrrpInstance& vi, VrrpInstancePlan& plan) {
  auto track = [&](const std::string& interface) {
    if (interface.empty()) return;
    const std::string name = tracked_interface_name(interface);
    auto& tracked = plan.config.tracked;
    if (std::any_of(tracked.begin(), tracked.end(),
                    [&](const vrrp::TrackedObject& t) { return t.name == name; }))
      return;
    tracked.push_back({.name = name, .weight = 0});
    plan.links.push_back({interface, false});
  };
  for (const auto& route : vi.virtual_routes) {
    if (!route.no_track) track(route.dev);
  }
  for (const auto& rule : vi.virtual_rules) {
    if (rule.no_track) continue;
    track(rule.iif);
    track(rule.oif);
  }
}

vrrp::AuthType auth_type(config::VrrpAuthType type) {
  return type == config::VrrpAuthType::kPass ? vrrp::AuthType::kSimplePassword
                                             : vrrp::AuthType::kNone;
}

const config::VrrpSyncGroup* group_of(const config::Config& config, const std::string& name) {
  for (const auto& group : config.vrrp.sync_groups) {
    for (const auto& member : group.members) {
      if (member.name == name) return &group;
    }
  }
  return nullptr;
}

bool same_script(const std::optional<config::NotifyScript>& a,
                 const std::optional<config::NotifyScript>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->command == b->command && a->run_as == b->run_as);
}

bool same_notify(const config::VrrpNotify& a, const config::VrrpNotify& b) {
  return same_script(a.master, b.master) && same_script(a.backup, b.backup) &&
         same_script(a.fault, b.fault) && same_script(a.stop, b.stop) && same_script(a.any, b.any);
}

// Adds the tracked objects of one block (the instance's, or its sync group's).
void add_tracking(const config::VrrpTracking& track, VrrpInstancePlan& plan) {
  auto& tracked = plan.config.tracked;
  auto upsert = [&](const std::string& name, int weight) {
    auto it = std::find_if(tracked.begin(), tracked.end(),
                           [&](const vrrp::TrackedObject& t) { return t.name == name; });
    if (it != tracked.end()) {
      it->weight = weight;  // an explicit entry overrides the instance's own interface
    } else {
      tracked.push_back({.name = name, .weight = weight});
    }
  };
  for (const auto& ref : track.interfaces) {
    const int weight = ref.weight.value_or(0);
    upsert(tracked_interface_name(ref.name), ref.reverse ? -weight : weight);
    auto it = std::find_if(plan.links.begin(), plan.links.end(),
                           [&](const TrackedLink& l) { return l.interface == ref.name; });
    if (it != plan.links.end()) {
      it->reverse = ref.reverse;
    } else {
      plan.links.push_back({ref.name, ref.reverse});
    }
  }
  for (const auto& ref : track.scripts) {
    const int weight = ref.weight.value_or(0);
    upsert(tracked_script_name(ref.name), ref.reverse ? -weight : weight);
    plan.scripts.push_back({ref.name, ref.reverse});
  }
  for (const auto& ref : track.files) {
    const int weight = ref.weight.value_or(1);
    plan.files.push_back({ref.name, ref.reverse ? -weight : weight});
    for (int bit = 0; bit < kTrackFileBits; ++bit) {
      upsert(tracked_file_bit_name(ref.name, false, bit), 1 << bit);
      upsert(tracked_file_bit_name(ref.name, true, bit), -(1 << bit));
    }
    upsert(tracked_file_fault_name(ref.name), 0);
  }
}

}  // namespace

std::string tracked_interface_name(const std::string& interface) {
  return "interface " + interface;
}
std::string tracked_script_name(const std::string& script) {
  return "script " + script;
}
std::string tracked_file_bit_name(const std::string& file, bool negative, int bit) {
  return fmt::format("file {} {}{}", file, negative ? '-' : '+', bit);
}
std::string tracked_file_fault_name(const std::string& file) {
  return "file " + file + " fault";
}

TrackFileState track_file_state(int64_t value, int weight) {
  // keepalived: weight 0 means any non-zero value is a fault; otherwise the product moves the
  // priority, and a product of -254 or less is a fault.
  if (weight == 0) return {.fault = value != 0, .delta = 0};
  const int64_t product = std::clamp<int64_t>(value, -1000, 1000) * weight;
  if (product <= -254) return {.fault = true, .delta = -254};
  return {.fault = false, .delta = static_cast<int>(std::min<int64_t>(product, 254))};
}

std::vector<std::pair<std::string, bool>> track_file_objects(const std::string& file,
                                                             const TrackFileState& state) {
  std::vector<std::pair<std::string, bool>> out;
  const int magnitude = std::abs(state.delta);
  const bool negative = state.delta < 0;
  // Raise a fault before moving the weights, clear it after: no transient takeover.
  if (state.fault) out.emplace_back(tracked_file_fault_name(file), false);
  for (int bit = 0; bit < kTrackFileBits; ++bit) {
    const bool set = (magnitude >> bit) & 1;
    out.emplace_back(tracked_file_bit_name(file, false, bit), set && !negative);
    out.emplace_back(tracked_file_bit_name(file, true, bit), !(set && negative));
  }
  if (!state.fault) out.emplace_back(tracked_file_fault_name(file), true);
  return out;
}

Result<VrrpInstancePlan> plan_instance(const config::Config& config, const config::VrrpInstance& vi,
                                       const PrimaryAddressLookup& lookup,
                                       std::set<std::string>* vmac_names) {
  const auto& g = config.global;
  VrrpInstancePlan plan;
  auto& c = plan.config;
  c.name = vi.name;
  c.interface = vi.interface;
  c.vrid = vi.virtual_router_id;
  c.version = vi.version.value_or(g.vrrp_version);
  c.priority = vi.priority.value_or(vi.state == config::VrrpInitialState::kMaster ? 255 : 100);
  c.family = vi.family;
  c.advert_interval = vi.advert_int;
  c.down_timer_adverts = vi.down_timer_adverts.value_or(g.vrrp_down_timer_adverts);
  if (vi.source_address) {
    c.primary_address = *vi.source_address;
  } else {
    auto primary = lookup(vi.interface, vi.family);
    if (!primary) {
      return Error{fmt::format("vrrp_instance {}: interface {}: {}", vi.name, vi.interface,
                               primary.error().message)};
    }
    c.primary_address = *primary;
  }
  for (const auto& vip : vi.virtual_addresses)
    c.virtual_addresses.push_back(to_vip(vip));
  for (const auto& vip : vi.excluded_addresses)
    plan.excluded.push_back(to_vip(vip));
  for (const auto& route : vi.virtual_routes)
    plan.routing.routes.push_back(to_route(route));
  for (const auto& rule : vi.virtual_rules)
    plan.routing.rules.push_back(to_rule(rule));
  c.preempt = !vi.nopreempt;
  c.preempt_delay = vi.preempt_delay;
  c.auth_type = c.version == 2 ? auth_type(vi.auth_type) : vrrp::AuthType::kNone;
  c.auth_pass = c.auth_type == vrrp::AuthType::kSimplePassword ? vi.auth_pass.substr(0, 8) : "";
  c.accept = vi.accept.value_or(!vi.strict_mode.value_or(g.vrrp_strict));
  // The kernel refuses TTL 0 (keepalived 2.2.7 accepts unicast_ttl 0): 1 instead, with a warning.
  c.unicast_ttl = std::max<uint8_t>(vi.unicast_ttl.value_or(vrrp::kRequiredTtl), 1);
  // keepalived: a peer's min_ttl / max_ttl turns check_unicast_src on.
  c.check_unicast_src = vi.check_unicast_src.value_or(false);
  for (const auto& peer : vi.unicast_peers) {
    c.unicast_peers.push_back(vrrp::UnicastPeer{.address = peer.address,
                                                .min_ttl = peer.min_ttl.value_or(0),
                                                .max_ttl = peer.max_ttl.value_or(255)});
    if (peer.min_ttl || peer.max_ttl) c.check_unicast_src = true;
  }
  c.v3_checksum_as_v2 = vi.v3_checksum_as_v2;
  c.garp_master_repeat =
      static_cast<int>(vi.garp_master_repeat.value_or(g.vrrp_garp_master_repeat));
  c.garp_master_delay = vi.garp_master_delay.value_or(g.vrrp_garp_master_delay);
  c.garp_master_refresh = vi.garp_master_refresh.value_or(g.vrrp_garp_master_refresh);
  c.garp_master_refresh_repeat =
      static_cast<int>(vi.garp_master_refresh_repeat.value_or(g.vrrp_garp_master_refresh_repeat));
  c.garp_lower_prio_repeat = static_cast<int>(vi.garp_lower_prio_repeat.value_or(
      g.vrrp_garp_lower_prio_repeat.value_or(c.garp_master_repeat)));
  c.garp_lower_prio_delay =
      vi.garp_lower_prio_delay.value_or(g.vrrp_garp_lower_prio_delay.value_or(c.garp_master_delay));
  c.lower_prio_no_advert = vi.lower_prio_no_advert.value_or(g.vrrp_lower_prio_no_advert);
  c.higher_prio_send_advert = vi.higher_prio_send_advert.value_or(g.vrrp_higher_prio_send_advert);

  // The instance's own interface: down means FAULT (keepalived), unless dont_track_primary.
  if (!vi.dont_track_primary) {
    c.tracked.push_back({.name = tracked_interface_name(vi.interface), .weight = 0});
    plan.links.push_back({vi.interface, false});
  }
  add_tracking(vi.track, plan);
  plan.notify = vi.notify;
  plan.notify_master_rx_lower_pri = vi.notify_master_rx_lower_pri;
  plan.notify_deleted = vi.notify_deleted;
  plan.notify_deleted_script = vi.notify_deleted_script;
  if (const auto* group = group_of(config, vi.name)) {
    plan.sync_group = group->name;
    add_tracking(group->track, plan);
  }
  add_routing_links(vi, plan);
  if (vi.use_vmac) {
    vrrp::VmacPlan vmac{.base = vi.interface,
                        .mac = vrrp::virtual_router_mac(vi.family, vi.virtual_router_id),
                        .family = vi.family,
                        .xmit_base = vi.vmac_xmit_base};
    const std::set<std::string> none;
    vmac.name = !vi.vmac_interface.empty()
                    ? vi.vmac_interface
                    : vrrp::default_vmac_name(g.vmac_prefix.empty() ? "vrrp" : g.vmac_prefix,
                                              vi.virtual_router_id, vi.family,
                                              vmac_names ? *vmac_names : none);
    if (vmac_names) vmac_names->insert(vmac.name);
    // keepalived 2.2.7 (vrrp_vmac.c): an IPv6 VMAC that sends gets the instance's link-local
    // source address, so that adverts leave from it with the virtual MAC.
    if (vi.family == AddressFamily::kIpv6 && !vi.vmac_xmit_base)
      vmac.link_local = c.primary_address;
    c.interface = vmac.name;
    if (vmac.xmit_base) c.advert_interface = vi.interface;
    plan.vmac = std::move(vmac);
  }
  return plan;
}

Result<std::vector<VrrpInstancePlan>> plan_instances(const config::Config& config,
                                                     const PrimaryAddressLookup& lookup) {
  std::vector<VrrpInstancePlan> plans;
  std::set<std::string> vmac_names;
  // Names given with use_vmac NAME are taken before any default name is chosen.
  for (const auto& vi : config.vrrp.instances) {
    if (vi.use_vmac && !vi.vmac_interface.empty()) vmac_names.insert(vi.vmac_interface);
  }
  for (const auto& vi : config.vrrp.instances) {
    auto plan = plan_instance(config, vi, lookup, &vmac_names);
    if (!plan) return plan.error();
    plans.push_back(std::move(*plan));
  }
  return plans;
}

bool same_instance_config(const vrrp::InstanceConfig& a, const vrrp::InstanceConfig& b) {
  return a.name == b.name && a.interface == b.interface &&
         a.advert_interface == b.advert_interface && a.vrid == b.vrid && a.priority == b.priority &&
         a.version == b.version && a.family == b.family && a.advert_interval == b.advert_interval &&
         a.down_timer_adverts == b.down_timer_adverts && a.primary_address == b.primary_address &&
         a.virtual_addresses == b.virtual_addresses && a.preempt == b.preempt &&
         a.preempt_delay == b.preempt_delay && a.auth_type == b.auth_type &&
         a.auth_pass == b.auth_pass && a.accept == b.accept && a.unicast_peers == b.unicast_peers &&
         a.check_unicast_src == b.check_unicast_src && a.unicast_ttl == b.unicast_ttl &&
         a.v3_checksum_as_v2 == b.v3_checksum_as_v2 &&
         a.garp_master_repeat == b.garp_master_repeat &&
         a.garp_master_delay == b.garp_master_delay &&
         a.garp_master_refresh == b.garp_master_refresh &&
         a.garp_master_refresh_repeat == b.garp_master_refresh_repeat &&
         a.garp_lower_prio_repeat == b.garp_lower_prio_repeat &&
         a.garp_lower_prio_delay == b.garp_lower_prio_delay &&
         a.lower_prio_no_advert == b.lower_prio_no_advert &&
         a.higher_prio_send_advert == b.higher_prio_send_advert && a.tracked == b.tracked;
}

bool VrrpInstancePlan::operator==(const VrrpInstancePlan& other) const {
  auto links_equal = [](const std::vector<TrackedLink>& x, const std::vector<TrackedLink>& y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end(), [](const auto& l, const auto& r) {
      return l.interface == r.interface && l.reverse == r.reverse;
    });
  };
  auto scripts_equal = [](const std::vector<TrackedScript>& x,
                          const std::vector<TrackedScript>& y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end(), [](const auto& l, const auto& r) {
      return l.script == r.script && l.reverse == r.reverse;
    });
  };
  auto files_equal = [](const std::vector<TrackedFile>& x, const std::vector<TrackedFile>& y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end(), [](const auto& l, const auto& r) {
      return l.file == r.file && l.weight == r.weight;
    });
  };
  return same_instance_config(config, other.config) && excluded == other.excluded &&
         routing == other.routing && links_equal(links, other.links) &&
         scripts_equal(scripts, other.scripts) && files_equal(files, other.files) &&
         sync_group == other.sync_group && vmac == other.vmac &&
         same_notify(notify, other.notify) &&
         same_script(notify_master_rx_lower_pri, other.notify_master_rx_lower_pri);
}

vrrp::AnnouncePacing announce_pacing(const config::Config& config) {
  vrrp::AnnouncePacing pacing{.garp_interval = config.global.vrrp_garp_interval,
                              .gna_interval = config.global.vrrp_gna_interval};
  for (const auto& group : config.vrrp.garp_groups) {
    vrrp::AnnouncePacing::Group out{.garp_interval = group.garp_interval.value_or(Duration{0}),
                                    .gna_interval = group.gna_interval.value_or(Duration{0})};
    for (const auto& interface : group.interfaces)
      out.interfaces.push_back(interface.name);
    pacing.groups.push_back(std::move(out));
  }
  return pacing;
}

vrrp::StaticEntries static_entries(const config::Config& config) {
  vrrp::StaticEntries out;
  const std::string& default_interface =
      config.global.default_interface.empty() ? kDefaultInterface : config.global.default_interface;
  for (const auto& address : config.vrrp.static_addresses) {
    vrrp::StaticAddress entry{.address = to_vip(address)};
    if (entry.address.device.empty()) entry.address.device = default_interface;
    out.addresses.push_back(std::move(entry));
  }
  for (const auto& route : config.vrrp.static_routes)
    out.routes.push_back(to_route(route));
  for (const auto& rule : config.vrrp.static_rules)
    out.rules.push_back(to_rule(rule));
  return out;
}

}  // namespace vigil::daemon
