// finish_vrrp: phase two of the VRRP section, after the whole input is read. Resolves the
// defaults that depend on global_defs or on other settings, and checks what needs more than one
// line to judge: versions, address families, cross-references and conflicts. Every check that
// compares objects sorts them first, so a config with thousands of instances stays O(n log n).
#include <algorithm>
#include <map>
#include <string_view>
#include <tuple>

#include "config/sections.h"

namespace vigil::config {
namespace {

template <class T>
void resolve(std::optional<T>& value, const T& fallback) {
  if (!value) value = fallback;
}

bool is_set(const SourceLocation& loc) {
  return loc.line != 0;
}

bool before(const SourceLocation& a, const SourceLocation& b) {
  return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
}

std::string family_name(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? "IPv4" : "IPv6";
}

// Objects of one kind sorted by name: duplicate detection and lookups in O(n log n).
template <class T>
class NameIndex {
 public:
  explicit NameIndex(std::vector<T>& items) {
    sorted_.reserve(items.size());
    for (auto& item : items)
      sorted_.push_back(&item);
    // Stable: among equal names the first definition in the file comes first.
    std::stable_sort(sorted_.begin(), sorted_.end(),
                     [](const T* a, const T* b) { return a->name < b->name; });
  }

  // The first definition of `name`, or nullptr.
  [[nodiscard]] T* find(std::string_view name) const {
    auto it = std::lower_bound(sorted_.begin(), sorted_.end(), name,
                               [](const T* item, std::string_view n) { return item->name < n; });
    return it != sorted_.end() && (*it)->name == name ? *it : nullptr;
  }

  // Reports every definition after the first of the same name: an error, or (where keepalived
  // accepts it and uses the first) a warning.
  void report_duplicates(Context& ctx, std::string_view kind, bool as_error) const {
    for (size_t i = 1; i < sorted_.size(); ++i) {
      if (sorted_[i]->name != sorted_[i - 1]->name) continue;
      const T* first = find(sorted_[i]->name);
      std::string message = std::string(kind) + " " + sorted_[i]->name + " is already defined at " +
                            ctx.reader().files().format(first->loc);
      if (as_error) {
        ctx.error(sorted_[i]->loc, std::move(message));
      } else {
        ctx.warning(sorted_[i]->loc, message + "; that first definition is used");
      }
    }
  }

  // " (did you mean 'x'?)" for a name that is not defined.
  [[nodiscard]] std::string suggestion(std::string_view name) const {
    std::vector<std::string_view> names;
    names.reserve(sorted_.size());
    for (const T* item : sorted_)
      names.push_back(item->name);
    auto best = did_you_mean(name, names);
    return best.empty() ? "" : "; did you mean '" + std::string(best) + "'?";
  }

 private:
  std::vector<T*> sorted_;
};

// The address that decides an instance's family: keepalived takes the first of the source
// address and the virtual addresses to be written in the file.
struct FamilySource {
  const IpAddress* address = nullptr;
  SourceLocation loc;
};

FamilySource family_source(const VrrpInstance& vi) {
  FamilySource out;
  if (vi.source_address) out = {&*vi.source_address, vi.at.source_address};
  if (!vi.virtual_addresses.empty()) {
    const auto& vip = vi.virtual_addresses.front();
    if (out.address == nullptr || before(vip.loc, out.loc)) out = {&vip.prefix.address, vip.loc};
  }
  return out;
}

class InstanceChecker {
 public:
  InstanceChecker(Context& ctx, VrrpInstance& vi) : ctx_(ctx), vi_(vi) {}

  void error(const SourceLocation& at, const std::string& message) {
    ctx_.error(at, "vrrp_instance " + vi_.name + ": " + message);
  }
  void warning(const SourceLocation& at, const std::string& message) {
    ctx_.warning(at, "vrrp_instance " + vi_.name + ": " + message);
  }

  void resolve_defaults(const GlobalDefs& g) {
    FamilySource source = family_source(vi_);
    vi_.family = source.address != nullptr ? source.address->family()
                 : vi_.native_ipv6         ? AddressFamily::kIpv6
                                           : AddressFamily::kIpv4;
    if (vi_.family == AddressFamily::kIpv6) {
      // RFC 3768 (VRRPv2) is IPv4 only; keepalived runs IPv6 instances as version 3.
      if (vi_.version == 2) {
        warning(vi_.at.version, "VRRPv2 is IPv4 only (RFC 3768); this IPv6 instance runs VRRPv3");
      }
      vi_.version = 3;
    } else {
      resolve(vi_.version, g.vrrp_version);
    }
    // keepalived 2.2.7: an instance with state MASTER and no priority is the address owner.
    resolve(vi_.priority, vi_.state == VrrpInitialState::kMaster ? uint8_t{255} : uint8_t{100});
    if (vi_.mcast_dst_ip && vi_.mcast_dst_ip->family() != vi_.family) {
      error(vi_.at.mcast_dst_ip, "mcast_dst_ip " + vi_.mcast_dst_ip->to_string() + " is " +
                                     family_name(vi_.mcast_dst_ip->family()) +
                                     " but the instance is " + family_name(vi_.family));
      vi_.mcast_dst_ip.reset();
    }
    resolve(vi_.mcast_dst_ip,
            vi_.family == AddressFamily::kIpv4 ? g.vrrp_mcast_group4 : g.vrrp_mcast_group6);
    resolve(vi_.garp_master_delay, g.vrrp_garp_master_delay);
    resolve(vi_.garp_master_repeat, g.vrrp_garp_master_repeat);
    resolve(vi_.garp_master_refresh, g.vrrp_garp_master_refresh);
    resolve(vi_.garp_master_refresh_repeat, g.vrrp_garp_master_refresh_repeat);
    resolve(vi_.down_timer_adverts, g.vrrp_down_timer_adverts);
    resolve(vi_.garp_lower_prio_delay,
            g.vrrp_garp_lower_prio_delay.value_or(*vi_.garp_master_delay));
    resolve(vi_.garp_lower_prio_repeat,
            g.vrrp_garp_lower_prio_repeat.value_or(*vi_.garp_master_repeat));
    resolve(vi_.higher_prio_send_advert, g.vrrp_higher_prio_send_advert);
    resolve(vi_.skip_check_adv_addr, g.vrrp_skip_check_adv_addr);
    resolve(vi_.check_unicast_src, g.vrrp_check_unicast_src);
    resolve(vi_.strict_mode, g.vrrp_strict);
    // keepalived: "defaults to false, unless strict_mode is set" (RFC 5798 §6.4.3 discards).
    resolve(vi_.lower_prio_no_advert, g.vrrp_lower_prio_no_advert || *vi_.strict_mode);
    // Accept mode is on unless strict mode asks for RFC 5798's default (§6.1: off).
    resolve(vi_.accept, !*vi_.strict_mode);
  }

  void check_required() {
    if (vi_.interface.empty()) {
      error(vi_.loc,
            "no 'interface' given (keepalived 2.2.7 requires one, even with "
            "default_interface or unicast peers)");
    }
    if (vi_.virtual_router_id == 0) error(vi_.loc, "no 'virtual_router_id' given");
    if (vi_.virtual_addresses.empty() && !vi_.had_invalid_lines) {
      error(vi_.loc, "no 'virtual_ipaddress' given (keepalived requires at least one)");
    }
  }

  void check_families() {
    FamilySource source = family_source(vi_);
    std::string decided_by = source.address == nullptr
                                 ? ""
                                 : " (from " + source.address->to_string() + " at " +
                                       ctx_.reader().files().format(source.loc) + ")";
    auto instance_is = [&] { return " but the instance is " + family_name(vi_.family); };
    for (const auto& vip : vi_.virtual_addresses) {
      if (vip.prefix.address.family() == vi_.family) continue;
      error(vip.loc, "virtual_ipaddress " + vip.prefix.address.to_string() + " is " +
                         family_name(vip.prefix.address.family()) + instance_is() + decided_by +
                         "; put addresses of the other family in virtual_ipaddress_excluded");
    }
    if (vi_.source_address && vi_.source_address->family() != vi_.family) {
      error(vi_.at.source_address, "source address " + vi_.source_address->to_string() + " is " +
                                       family_name(vi_.source_address->family()) + instance_is() +
                                       decided_by);
    }
    for (const auto& peer : vi_.unicast_peers) {
      if (peer.address.family() == vi_.family) continue;
      error(peer.loc, "unicast_peer " + peer.address.to_string() + " is " +
                          family_name(peer.address.family()) + instance_is() + decided_by);
    }
    if (vi_.native_ipv6 && vi_.family == AddressFamily::kIpv4) {
      error(vi_.loc, "native_ipv6 is set but the instance's addresses are IPv4");
    }
  }

  void check_duplicate_addresses() {
    std::vector<const VirtualAddress*> all;
    all.reserve(vi_.virtual_addresses.size() + vi_.excluded_addresses.size());
    for (const auto& vip : vi_.virtual_addresses)
      all.push_back(&vip);
    for (const auto& vip : vi_.excluded_addresses)
      all.push_back(&vip);
    std::stable_sort(all.begin(), all.end(), [](const auto* a, const auto* b) {
      return a->prefix.address < b->prefix.address;
    });
    for (size_t i = 1; i < all.size(); ++i) {
      if (all[i]->prefix.address != all[i - 1]->prefix.address) continue;
      warning(all[i]->loc, "address " + all[i]->prefix.address.to_string() +
                               " is listed twice (also at " +
                               ctx_.reader().files().format(all[i - 1]->loc) + ")");
    }
  }

  // RFC 3768 §5.3.7: whole seconds; RFC 5798 §5.2.7: 12 bits of centiseconds.
  void check_advert_int() {
    const auto interval = vi_.advert_int;
    const std::string text = "advert_int " + format(interval);
    if (vi_.version == 2 && interval % std::chrono::seconds(1) != Duration::zero()) {
      error(vi_.at.advert_int,
            text + " s is not a whole number of seconds, as VRRPv2 requires (RFC 3768 §5.3.7)");
    } else if (vi_.version == 3 && interval % std::chrono::milliseconds(10) != Duration::zero()) {
      error(vi_.at.advert_int,
            text + " s is not a multiple of 0.01 s, as VRRPv3 requires (RFC 5798 §5.2.7)");
    } else if (vi_.version == 3 && interval > std::chrono::milliseconds(40'950)) {
      error(vi_.at.advert_int, text + " s is above 40.95 s, the VRRPv3 maximum (RFC 5798 §5.2.7)");
    }
  }

  void check_preemption() {
    bool master = vi_.state == VrrpInitialState::kMaster;
    if (vi_.nopreempt && master) {
      error(vi_.at.nopreempt,
            "nopreempt needs state BACKUP (keepalived ignores it with state MASTER and reports "
            "an error)");
    } else if (vi_.nopreempt && vi_.priority == 255) {
      error(vi_.at.nopreempt, "nopreempt cannot apply to the address owner (priority 255)");
    }
    if (vi_.preempt_delay > Duration::zero() && master) {
      error(vi_.at.preempt_delay,
            "preempt_delay needs state BACKUP (keepalived ignores it with state MASTER and "
            "reports an error)");
    }
    if (vi_.priority == 255 && is_set(vi_.at.priority) && is_set(vi_.at.state) && !master) {
      warning(vi_.at.priority,
              "priority 255 makes this instance the address owner: it becomes MASTER at once "
              "despite state BACKUP");
    }
  }

  void check_authentication() {
    bool has_auth = vi_.auth_type != VrrpAuthType::kNone;
    if (!has_auth) {
      if (!vi_.auth_pass.empty()) {
        warning(vi_.at.authentication, "auth_pass without auth_type has no effect");
      }
      return;
    }
    if (vi_.version == 3) {
      error(vi_.at.authentication, "authentication is VRRPv2 only (RFC 5798 removed it)");
    } else if (vi_.auth_type == VrrpAuthType::kAh && vi_.state == VrrpInitialState::kMaster) {
      // keepalived clears the MASTER state here (and reports it): an AH master would advertise
      // before its sequence numbers are synchronised with the peers.
      error(vi_.at.state,
            "state MASTER cannot be used with auth_type AH (keepalived starts the "
            "instance as BACKUP and reports an error)");
    } else if (*vi_.strict_mode) {
      error(vi_.at.authentication, "strict mode does not allow authentication");
    } else if (vi_.auth_pass.empty()) {
      error(vi_.at.authentication, "authentication has an auth_type but no auth_pass");
    }
  }

  void check_modes() {
    if (is_set(vi_.at.accept) && *vi_.accept && *vi_.strict_mode && vi_.version == 2) {
      error(vi_.at.accept,
            "accept mode with strict mode is not allowed for VRRPv2 (RFC 3768 has no accept "
            "mode)");
    }
    if (*vi_.strict_mode && vi_.family == AddressFamily::kIpv6 && !vi_.virtual_addresses.empty() &&
        !vi_.virtual_addresses.front().prefix.address.is_link_local()) {
      const auto& first = vi_.virtual_addresses.front();
      error(first.loc,
            "in strict mode the first IPv6 virtual_ipaddress must be link-local (RFC "
            "5798 §5.2.9); " +
                first.prefix.address.to_string() + " is not");
    }
    if (!vi_.unicast_peers.empty() && is_set(vi_.at.mcast_dst_ip)) {
      error(vi_.at.mcast_dst_ip,
            "mcast_dst_ip has no effect with unicast_peer (keepalived ignores it and reports an "
            "error)");
    }
    if (vi_.unicast_peers.empty()) {
      if (is_set(vi_.at.unicast_keyword) && !vi_.unicast_fault_no_peer && !vi_.had_invalid_lines) {
        error(vi_.at.unicast_keyword,
              "a unicast setting without any unicast_peer (keepalived 2.2.7 rejects this; use "
              "mcast_src_ip for a multicast source address)");
      }
      if (vi_.unicast_ttl) error(vi_.at.unicast_ttl, "unicast_ttl needs unicast_peer addresses");
    } else if (vi_.unicast_ttl == 0) {
      warning(vi_.at.unicast_ttl,
              "unicast_ttl 0: the kernel sends nothing with TTL 0; adverts go out with TTL 1");
    }
  }

  // keepalived rejects an interface, script or file tracked twice by one instance.
  void check_duplicate_tracking() {
    auto check = [&](const std::vector<TrackRef>& refs, std::string_view block) {
      std::vector<const TrackRef*> sorted;
      sorted.reserve(refs.size());
      for (const auto& ref : refs)
        sorted.push_back(&ref);
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const auto* a, const auto* b) { return a->name < b->name; });
      for (size_t i = 1; i < sorted.size(); ++i) {
        if (sorted[i]->name != sorted[i - 1]->name) continue;
        error(sorted[i]->loc, std::string(block) + " " + sorted[i]->name +
                                  " is listed twice (also at " +
                                  ctx_.reader().files().format(sorted[i - 1]->loc) + ")");
      }
    };
    check(vi_.track.interfaces, "track_interface");
    check(vi_.track.scripts, "track_script");
    check(vi_.track.files, "track_file");
    for (const auto& ref : vi_.track.interfaces) {
      if (ref.name != vi_.interface) continue;
      error(ref.loc, "track_interface " + ref.name +
                         " is the instance's own interface (keepalived ignores it and reports "
                         "an error; the own interface is tracked unless dont_track_primary)");
    }
  }

  void check_vmac() {
    if (vi_.vmac_xmit_base && !vi_.use_vmac) {
      error(vi_.loc, "vmac_xmit_base is only valid with use_vmac");
    }
  }

  static std::string format(Duration d) {
    auto us = d.count();
    std::string out = std::to_string(us / 1'000'000);
    if (auto frac = us % 1'000'000; frac != 0) {
      std::string digits = std::to_string(frac);
      digits.insert(0, 6 - digits.size(), '0');
      while (digits.back() == '0')
        digits.pop_back();
      out += "." + digits;
    }
    return out;
  }

 private:
  Context& ctx_;
  VrrpInstance& vi_;
};

void resolve_notify(VrrpNotify& notify, const GlobalDefs& g) {
  resolve(notify.smtp_alert, g.smtp_alert_vrrp.value_or(g.smtp_alert));
  resolve(notify.notify_priority_changes, g.vrrp_notify_priority_changes);
}

// Resolves the weights of track_script / track_file entries from the objects they name, and
// reports names that are not defined. `owner` is "vrrp_instance VI_1" or "vrrp_sync_group G".
void resolve_tracking(Context& ctx, const std::string& owner, VrrpTracking& track,
                      const NameIndex<VrrpScript>& scripts, const NameIndex<TrackFile>& files) {
  for (auto& ref : track.interfaces) {
    if (!ref.weight) ref.weight = 0;
  }
  for (auto& ref : track.scripts) {
    const VrrpScript* script = scripts.find(ref.name);
    if (script == nullptr) {
      ctx.error(ref.loc, owner + ": track_script " + ref.name + ": no vrrp_script of that name" +
                             scripts.suggestion(ref.name));
      continue;
    }
    if (!ref.weight) {
      ref.weight = script->weight;
      ref.reverse = script->weight_reverse;
    }
  }
  for (auto& ref : track.files) {
    const TrackFile* file = files.find(ref.name);
    if (file == nullptr) {
      ctx.error(ref.loc, owner + ": track_file " + ref.name + ": no track_file of that name" +
                             files.suggestion(ref.name));
      continue;
    }
    if (!ref.weight) {
      ref.weight = file->weight;
      ref.reverse = file->weight_reverse;
    }
  }
}

// The address owner's priority is fixed at 255 (RFC 5798 §5.2.4): keepalived ignores a non-zero
// tracking weight on it and reports an error.
void check_owner_weights(Context& ctx, const VrrpInstance& vi) {
  if (vi.priority != 255) return;
  auto check = [&](const std::vector<TrackRef>& refs, std::string_view block) {
    for (const auto& ref : refs) {
      if (ref.weight.value_or(0) == 0) continue;
      ctx.error(ref.loc, "vrrp_instance " + vi.name + ": " + std::string(block) + " " + ref.name +
                             " weight " + std::to_string(*ref.weight) +
                             " cannot move the priority of the address owner (priority 255); "
                             "use weight 0");
    }
  };
  check(vi.track.interfaces, "track_interface");
  check(vi.track.scripts, "track_script");
  check(vi.track.files, "track_file");
}

// keepalived warns about a vrrp_script nothing tracks (it is never run).
void warn_unused_scripts(Context& ctx, const VrrpSection& vrrp) {
  std::vector<std::string_view> used;
  for (const auto& vi : vrrp.instances) {
    for (const auto& ref : vi.track.scripts)
      used.push_back(ref.name);
  }
  for (const auto& group : vrrp.sync_groups) {
    for (const auto& ref : group.track.scripts)
      used.push_back(ref.name);
  }
  std::sort(used.begin(), used.end());
  for (const auto& script : vrrp.scripts) {
    if (std::binary_search(used.begin(), used.end(), std::string_view(script.name))) continue;
    ctx.warning(script.loc, "vrrp_script " + script.name +
                                " is not tracked by any vrrp_instance or vrrp_sync_group: it "
                                "will not run");
  }
}

// Two multicast instances with the same VRID on one interface, family and group would answer
// each other's adverts. keepalived 2.2.7 checks multicast instances only (unicast instances may
// share a VRID when their peers differ).
void check_vrid_conflicts(Context& ctx, std::vector<VrrpInstance>& instances) {
  std::vector<const VrrpInstance*> multicast;
  for (const auto& vi : instances) {
    if (!vi.interface.empty() && vi.virtual_router_id != 0 && vi.unicast_peers.empty()) {
      multicast.push_back(&vi);
    }
  }
  auto key = [](const VrrpInstance* vi) {
    return std::tie(vi->interface, vi->family, vi->virtual_router_id, *vi->mcast_dst_ip);
  };
  std::stable_sort(multicast.begin(), multicast.end(),
                   [&](const auto* a, const auto* b) { return key(a) < key(b); });
  size_t first = 0;
  for (size_t i = 1; i < multicast.size(); ++i) {
    if (key(multicast[i]) != key(multicast[first])) {
      first = i;
      continue;
    }
    const VrrpInstance& a = *multicast[first];
    const VrrpInstance& b = *multicast[i];
    ctx.error(is_set(b.at.virtual_router_id) ? b.at.virtual_router_id : b.loc,
              "vrrp_instance " + b.name + ": virtual_router_id " +
                  std::to_string(b.virtual_router_id) + " is already used on " + b.interface +
                  " (" + family_name(b.family) + ") by vrrp_instance " + a.name + " at " +
                  ctx.reader().files().format(a.loc));
  }
}

// An interface belongs to one garp_group at most; keepalived reports a second listing and
// ignores it.
void check_garp_groups(Context& ctx, const std::vector<GarpGroup>& groups) {
  std::map<std::string_view, SourceLocation> first_listed;
  for (const auto& group : groups) {
    for (const auto& interface : group.interfaces) {
      auto [it, inserted] = first_listed.try_emplace(interface.name, interface.loc);
      if (inserted) continue;
      ctx.error(interface.loc, "garp_group: interface " + interface.name +
                                   " is already in the garp_group listing it at " +
                                   ctx.reader().files().format(it->second));
    }
  }
}

struct Membership {
  std::string_view instance;
  size_t group;
  SourceLocation loc;
};

// Sync groups: members must exist, be listed once, and belong to one group only; a group needs
// two members (keepalived 2.2.7 reports a group of one as an error). Returns the memberships
// sorted by instance name.
std::vector<Membership> check_sync_groups(Context& ctx, std::vector<VrrpSyncGroup>& groups,
                                          const NameIndex<VrrpInstance>& instances) {
  std::vector<Membership> memberships;
  std::vector<size_t> member_errors(groups.size(), 0);
  for (size_t g = 0; g < groups.size(); ++g) {
    for (const auto& member : groups[g].members) {
      if (instances.find(member.name) == nullptr) {
        ctx.error(member.loc, "vrrp_sync_group " + groups[g].name + ": vrrp_instance " +
                                  member.name + " is not defined" +
                                  instances.suggestion(member.name));
        ++member_errors[g];
        continue;
      }
      memberships.push_back({member.name, g, member.loc});
    }
  }
  std::stable_sort(memberships.begin(), memberships.end(),
                   [](const auto& a, const auto& b) { return a.instance < b.instance; });
  std::vector<size_t> valid(groups.size(), 0);
  size_t first = 0;
  for (size_t i = 0; i < memberships.size(); ++i) {
    if (i == 0 || memberships[i].instance != memberships[first].instance) {
      first = i;
      ++valid[memberships[i].group];
      continue;
    }
    const auto& m = memberships[i];
    const auto& earlier = memberships[first];
    const std::string& name = groups[m.group].name;
    std::string where = ctx.reader().files().format(earlier.loc);
    ctx.error(m.loc, "vrrp_sync_group " + name + ": vrrp_instance " + std::string(m.instance) +
                         (earlier.group == m.group
                              ? " is listed twice (also at " + where + ")"
                              : " is already in vrrp_sync_group " + groups[earlier.group].name +
                                    " (at " + where + "); an instance belongs to one group"));
    ++member_errors[m.group];
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    if (member_errors[g] != 0 || groups[g].had_invalid_lines || valid[g] >= 2) continue;
    ctx.error(groups[g].loc,
              "vrrp_sync_group " + groups[g].name +
                  (valid[g] == 0 ? " has no instances (give them in group { ... })"
                                 : " has only one instance (keepalived 2.2.7 requires two or "
                                   "more)"));
  }
  // Keep only the first membership of each instance: the group it belongs to.
  memberships.erase(
      std::unique(memberships.begin(), memberships.end(),
                  [](const auto& a, const auto& b) { return a.instance == b.instance; }),
      memberships.end());
  return memberships;
}

// keepalived ignores (and reports) a non-zero tracking weight on a member of a sync group,
// unless the group sets sync_group_tracking_weight: the members must keep equal priorities.
void check_member_weights(Context& ctx, std::vector<VrrpInstance>& instances,
                          const std::vector<VrrpSyncGroup>& groups,
                          const std::vector<Membership>& memberships) {
  for (const auto& vi : instances) {
    auto it = std::lower_bound(
        memberships.begin(), memberships.end(), vi.name,
        [](const Membership& m, const std::string& name) { return m.instance < name; });
    if (it == memberships.end() || it->instance != vi.name) continue;
    const VrrpSyncGroup& group = groups[it->group];
    if (group.sync_group_tracking_weight) continue;
    auto check = [&](const std::vector<TrackRef>& refs, std::string_view block) {
      for (const auto& ref : refs) {
        if (ref.weight.value_or(0) == 0) continue;
        ctx.error(ref.loc, "vrrp_instance " + vi.name + ": " + std::string(block) + " " + ref.name +
                               " weight " + std::to_string(*ref.weight) +
                               " is not allowed in vrrp_sync_group " + group.name +
                               " (use weight 0, or set sync_group_tracking_weight on the group)");
      }
    };
    check(vi.track.interfaces, "track_interface");
    check(vi.track.scripts, "track_script");
    check(vi.track.files, "track_file");
  }
}

}  // namespace

void finish_vrrp(Config& config, Context& ctx) {
  GlobalDefs& g = config.global;
  auto& vrrp = config.vrrp;

  NameIndex<VrrpScript> scripts(vrrp.scripts);
  NameIndex<TrackFile> files(vrrp.track_files);
  NameIndex<VrrpSyncGroup> groups(vrrp.sync_groups);
  NameIndex<VrrpInstance> instances(vrrp.instances);
  // keepalived 2.2.7 accepts a second vrrp_script or track_file of the same name (and finds the
  // first); it rejects a second instance or sync group.
  scripts.report_duplicates(ctx, "vrrp_script", /*as_error=*/false);
  files.report_duplicates(ctx, "track_file", /*as_error=*/false);
  groups.report_duplicates(ctx, "vrrp_sync_group", /*as_error=*/true);
  instances.report_duplicates(ctx, "vrrp_instance", /*as_error=*/true);

  // keepalived runs a script with its interval as the time limit when no timeout is set.
  for (auto& script : vrrp.scripts)
    resolve(script.timeout, script.interval);

  // keepalived 2.2.7 vrrp.c: an instance without notify_priority_changes takes its sync
  // group's, then the global vrrp_notify_priority_changes.
  for (const auto& group : vrrp.sync_groups) {
    if (!group.notify.notify_priority_changes) continue;
    for (const auto& member : group.members) {
      if (VrrpInstance* vi = instances.find(member.name))
        resolve(vi->notify.notify_priority_changes, *group.notify.notify_priority_changes);
    }
  }
  for (auto& vi : vrrp.instances) {
    InstanceChecker check(ctx, vi);
    check.resolve_defaults(g);
    check.check_required();
    check.check_families();
    check.check_duplicate_addresses();
    check.check_advert_int();
    check.check_preemption();
    check.check_authentication();
    check.check_modes();
    check.check_duplicate_tracking();
    check.check_vmac();
    resolve_notify(vi.notify, g);
    resolve_tracking(ctx, "vrrp_instance " + vi.name, vi.track, scripts, files);
    check_owner_weights(ctx, vi);
  }
  for (auto& group : vrrp.sync_groups) {
    resolve_notify(group.notify, g);
    resolve_tracking(ctx, "vrrp_sync_group " + group.name, group.track, scripts, files);
  }
  warn_unused_scripts(ctx, vrrp);
  check_vrid_conflicts(ctx, vrrp.instances);
  check_garp_groups(ctx, vrrp.garp_groups);
  auto memberships = check_sync_groups(ctx, vrrp.sync_groups, instances);
  check_member_weights(ctx, vrrp.instances, vrrp.sync_groups, memberships);

  // lvs_sync_daemon follows a VRRP instance; its sync id defaults to that instance's VRID.
  // An undefined instance is an error, stricter than keepalived (which logs it and runs without
  // the sync daemon): a typo would silently lose every connection at failover.
  if (g.lvs_sync_daemon && !g.lvs_sync_daemon->vrrp_instance.empty()) {
    auto& sync = *g.lvs_sync_daemon;
    const VrrpInstance* vi = instances.find(sync.vrrp_instance);
    if (vi == nullptr) {
      ctx.error(sync.loc, "lvs_sync_daemon: vrrp_instance " + sync.vrrp_instance +
                              " is not defined" + instances.suggestion(sync.vrrp_instance));
    } else if (!sync.sync_id_set) {
      sync.sync_id = vi->virtual_router_id;
      sync.sync_id_set = true;
    }
  }
}

}  // namespace vigil::config
