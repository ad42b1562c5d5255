// JSON dump of the VRRP section: keepalived's keywords as keys, every default resolved,
// durations in seconds.
#include "config/json_sections.h"

namespace vigil::config {
namespace {

std::string_view family_name(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? "inet" : "inet6";
}

Json run_as_json(const std::optional<RunAs>& run_as) {
  if (!run_as) return nullptr;
  return Json{{"user", run_as->user}, {"group", run_as->group}};
}

Json notify_script_json(const std::optional<NotifyScript>& script) {
  if (!script) return nullptr;
  Json j = command_json(script->command);
  j["run_as"] = run_as_json(script->run_as);
  return j;
}

Json scope_json(uint8_t scope) {
  switch (scope) {
    case kScopeGlobal:
      return "global";
    case kScopeSite:
      return "site";
    case kScopeLink:
      return "link";
    case kScopeHost:
      return "host";
    case kScopeNowhere:
      return "nowhere";
    default:
      return scope;
  }
}

std::string_view route_type_json(RouteType type) {
  switch (type) {
    case RouteType::kUnicast:
      return "unicast";
    case RouteType::kBlackhole:
      return "blackhole";
    case RouteType::kUnreachable:
      return "unreachable";
    case RouteType::kProhibit:
      return "prohibit";
    case RouteType::kThrow:
      return "throw";
  }
  return "unicast";
}

std::string_view add_mode_json(RouteAddMode mode) {
  switch (mode) {
    case RouteAddMode::kPrepend:
      return "prepend";
    case RouteAddMode::kAdd:
      return "add";
    case RouteAddMode::kAppend:
      return "append";
  }
  return "prepend";
}

Json routes_json(const std::vector<VirtualRoute>& routes) {
  Json out = Json::array();
  for (const auto& r : routes) {
    out.push_back(Json{{"to", r.destination.to_string()},
                       {"type", route_type_json(r.type)},
                       {"src", optional_json(r.preferred_source, address_json)},
                       {"via", optional_json(r.gateway, address_json)},
                       {"dev", r.dev.empty() ? Json(nullptr) : Json(r.dev)},
                       {"table", r.table},
                       {"metric", r.metric ? Json(*r.metric) : Json(nullptr)},
                       {"scope", r.scope ? scope_json(*r.scope) : Json("global")},
                       {"protocol", r.protocol},
                       {"tos", r.tos},
                       {"onlink", r.onlink},
                       {"mode", add_mode_json(r.add_mode)},
                       {"no_track", r.no_track}});
  }
  return out;
}

std::string_view rule_action_json(RuleAction action) {
  switch (action) {
    case RuleAction::kTable:
      return "table";
    case RuleAction::kGoto:
      return "goto";
    case RuleAction::kNop:
      return "nop";
    case RuleAction::kBlackhole:
      return "blackhole";
    case RuleAction::kUnreachable:
      return "unreachable";
    case RuleAction::kProhibit:
      return "prohibit";
  }
  return "table";
}

Json rules_json(const std::vector<VirtualRule>& rules) {
  auto prefix = [](const std::optional<IpPrefix>& p) {
    return p ? Json(p->to_string()) : Json(nullptr);
  };
  auto name = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  Json out = Json::array();
  for (const auto& r : rules) {
    out.push_back(
        Json{{"family", family_name(r.family)},
             {"from", prefix(r.from)},
             {"to", prefix(r.to)},
             {"action", rule_action_json(r.action)},
             {"table", r.action == RuleAction::kTable ? Json(r.table) : Json(nullptr)},
             {"goto", r.action == RuleAction::kGoto ? Json(r.goto_target) : Json(nullptr)},
             {"preference", r.priority ? Json(*r.priority) : Json(nullptr)},
             {"iif", name(r.iif)},
             {"oif", name(r.oif)},
             {"fwmark", r.fwmark ? Json(*r.fwmark) : Json(nullptr)},
             {"fwmask", r.fwmask ? Json(*r.fwmask) : Json(nullptr)},
             {"tos", r.tos},
             {"no_track", r.no_track}});
  }
  return out;
}

Json track_refs_json(const std::vector<TrackRef>& refs) {
  Json out = Json::array();
  for (const auto& ref : refs) {
    out.push_back(
        Json{{"name", ref.name}, {"weight", ref.weight.value_or(0)}, {"reverse", ref.reverse}});
  }
  return out;
}

void tracking_json(Json& j, const VrrpTracking& track) {
  j["track_interface"] = track_refs_json(track.interfaces);
  j["track_script"] = track_refs_json(track.scripts);
  j["track_file"] = track_refs_json(track.files);
}

void notify_json(Json& j, const VrrpNotify& notify) {
  j["notify_master"] = notify_script_json(notify.master);
  j["notify_backup"] = notify_script_json(notify.backup);
  j["notify_fault"] = notify_script_json(notify.fault);
  j["notify_stop"] = notify_script_json(notify.stop);
  j["notify"] = notify_script_json(notify.any);
  j["smtp_alert"] = notify.smtp_alert.value_or(false);
  j["notify_priority_changes"] = notify.notify_priority_changes.value_or(false);
}

Json script_json(const VrrpScript& s) {
  Json j;
  j["name"] = s.name;
  j["script"] = command_json(s.script);
  j["interval"] = seconds_json(s.interval);
  j["timeout"] = seconds_json(s.timeout.value_or(s.interval));
  j["weight"] = s.weight;
  j["weight_reverse"] = s.weight_reverse;
  j["rise"] = s.rise;
  j["fall"] = s.fall;
  j["user"] = run_as_json(s.user);
  j["init_fail"] = s.init_fail;
  return j;
}

Json track_file_json(const TrackFile& f) {
  Json j;
  j["name"] = f.name;
  j["file"] = f.path;
  j["weight"] = f.weight;
  j["weight_reverse"] = f.weight_reverse;
  j["init_file"] = f.init_value ? Json{{"value", *f.init_value}, {"overwrite", f.init_overwrite}}
                                : Json(nullptr);
  return j;
}

Json sync_group_json(const VrrpSyncGroup& g) {
  Json j;
  j["name"] = g.name;
  Json members = Json::array();
  for (const auto& member : g.members)
    members.push_back(member.name);
  j["group"] = members;
  tracking_json(j, g.track);
  notify_json(j, g.notify);
  j["sync_group_tracking_weight"] = g.sync_group_tracking_weight;
  return j;
}

Json address_list_json(const std::vector<VirtualAddress>& addresses) {
  Json out = Json::array();
  for (const auto& a : addresses) {
    Json j;
    j["address"] = a.prefix.to_string();
    j["brd"] = optional_json(a.broadcast, address_json);
    j["peer"] = optional_json(a.peer, address_json);
    j["dev"] = a.dev.empty() ? Json(nullptr) : Json(a.dev);
    j["label"] = a.label.empty() ? Json(nullptr) : Json(a.label);
    j["scope"] = scope_json(a.scope);
    if (a.preferred_lft) {
      j["preferred_lft"] =
          *a.preferred_lft == kLifetimeForever ? Json("forever") : Json(*a.preferred_lft);
    } else {
      j["preferred_lft"] = nullptr;
    }
    j["no_track"] = a.no_track;
    j["home"] = a.home;
    j["nodad"] = a.nodad;
    j["mngtmpaddr"] = a.mngtmpaddr;
    j["noprefixroute"] = a.noprefixroute;
    j["autojoin"] = a.autojoin;
    j["use_vmac"] = a.use_vmac;
    out.push_back(std::move(j));
  }
  return out;
}

Json auth_type_json(VrrpAuthType type) {
  switch (type) {
    case VrrpAuthType::kPass:
      return "PASS";
    case VrrpAuthType::kAh:
      return "AH";
    case VrrpAuthType::kNone:
      break;
  }
  return nullptr;
}

Json instance_json(const VrrpInstance& vi) {
  auto seconds = [](const std::optional<Duration>& d) {
    return optional_json(d, [](Duration v) { return seconds_json(v); });
  };
  auto number = [](const auto& v) { return optional_json(v, [](auto x) { return Json(x); }); };
  Json j;
  j["name"] = vi.name;
  j["state"] = vi.state == VrrpInitialState::kMaster ? "MASTER" : "BACKUP";
  j["interface"] = vi.interface;
  j["virtual_router_id"] = vi.virtual_router_id;
  j["priority"] = number(vi.priority);
  j["version"] = number(vi.version);
  j["family"] = family_name(vi.family);
  j["advert_int"] = seconds_json(vi.advert_int);
  j["native_ipv6"] = vi.native_ipv6;
  j["nopreempt"] = vi.nopreempt;
  j["preempt_delay"] = seconds_json(vi.preempt_delay);
  // The password is a secret: the dump says only whether one is set.
  j["authentication"] =
      vi.auth_type == VrrpAuthType::kNone
          ? Json(nullptr)
          : Json{{"auth_type", auth_type_json(vi.auth_type)},
                 {"auth_pass", vi.auth_pass.empty() ? Json(nullptr) : Json("(set)")}};
  j["src_ip"] = optional_json(vi.source_address, address_json);
  j["mcast_dst_ip"] = optional_json(vi.mcast_dst_ip, address_json);
  Json peers = Json::array();
  for (const auto& peer : vi.unicast_peers) {
    peers.push_back(Json{{"address", peer.address.to_string()},
                         {"min_ttl", number(peer.min_ttl)},
                         {"max_ttl", number(peer.max_ttl)}});
  }
  j["unicast_peer"] = peers;
  j["unicast_ttl"] = number(vi.unicast_ttl);
  j["unicast_fault_no_peer"] = vi.unicast_fault_no_peer;
  j["track_src_ip"] = vi.track_src_ip;
  j["v3_checksum_as_v2"] = vi.v3_checksum_as_v2;
  j["virtual_ipaddress"] = address_list_json(vi.virtual_addresses);
  j["virtual_ipaddress_excluded"] = address_list_json(vi.excluded_addresses);
  j["virtual_routes"] = routes_json(vi.virtual_routes);
  j["virtual_rules"] = rules_json(vi.virtual_rules);
  tracking_json(j, vi.track);
  j["dont_track_primary"] = vi.dont_track_primary;
  notify_json(j, vi.notify);
  j["notify_master_rx_lower_pri"] = notify_script_json(vi.notify_master_rx_lower_pri);
  j["notify_deleted"] = vi.notify_deleted;
  j["notify_deleted_script"] = notify_script_json(vi.notify_deleted_script);
  j["garp_master_delay"] = seconds(vi.garp_master_delay);
  j["garp_master_repeat"] = number(vi.garp_master_repeat);
  j["garp_master_refresh"] = seconds(vi.garp_master_refresh);
  j["garp_master_refresh_repeat"] = number(vi.garp_master_refresh_repeat);
  j["garp_lower_prio_delay"] = seconds(vi.garp_lower_prio_delay);
  j["garp_lower_prio_repeat"] = number(vi.garp_lower_prio_repeat);
  j["lower_prio_no_advert"] = number(vi.lower_prio_no_advert);
  j["higher_prio_send_advert"] = number(vi.higher_prio_send_advert);
  j["skip_check_adv_addr"] = number(vi.skip_check_adv_addr);
  j["check_unicast_src"] = number(vi.check_unicast_src);
  j["strict_mode"] = number(vi.strict_mode);
  j["accept"] = number(vi.accept);
  j["down_timer_adverts"] = number(vi.down_timer_adverts);
  j["promote_secondaries"] = vi.promote_secondaries;
  j["debug"] = vi.debug;
  j["use_vmac"] =
      vi.use_vmac
          ? Json{{"interface", vi.vmac_interface.empty() ? Json(nullptr) : Json(vi.vmac_interface)},
                 {"xmit_base", vi.vmac_xmit_base}}
          : Json(nullptr);
  return j;
}

Json garp_group_json(const GarpGroup& group) {
  Json j;
  j["garp_interval"] = group.garp_interval ? seconds_json(*group.garp_interval) : Json(nullptr);
  j["gna_interval"] = group.gna_interval ? seconds_json(*group.gna_interval) : Json(nullptr);
  Json interfaces = Json::array();
  for (const auto& interface : group.interfaces)
    interfaces.push_back(interface.name);
  j["interfaces"] = std::move(interfaces);
  return j;
}

template <class T, class F>
Json list_json(const std::vector<T>& items, F&& convert) {
  Json out = Json::array();
  for (const auto& item : items)
    out.push_back(convert(item));
  return out;
}

}  // namespace

Json vrrp_to_json(const VrrpSection& vrrp) {
  Json j;
  j["garp_group"] = list_json(vrrp.garp_groups, garp_group_json);
  j["vrrp_script"] = list_json(vrrp.scripts, script_json);
  j["track_file"] = list_json(vrrp.track_files, track_file_json);
  j["vrrp_sync_group"] = list_json(vrrp.sync_groups, sync_group_json);
  j["vrrp_instance"] = list_json(vrrp.instances, instance_json);
  j["static_ipaddress"] = address_list_json(vrrp.static_addresses);
  j["static_routes"] = routes_json(vrrp.static_routes);
  j["static_rules"] = rules_json(vrrp.static_rules);
  return j;
}

}  // namespace vigil::config
