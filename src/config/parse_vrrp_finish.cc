// finish_vrrp: phase two of the VRRP section, after the whole input is read. Resolves the
// defaults that depend on global_defs or on other settings of the instance.
#include "config/sections.h"

namespace vigil::config {
namespace {

template <class T>
void resolve(std::optional<T>& value, const T& fallback) {
  if (!value) value = fallback;
}

// The family of an instance: keepalived takes it from the first of the source address and the
// virtual addresses to be written in the file; native_ipv6 forces IPv6.
AddressFamily instance_family(const VrrpInstance& vi) {
  const IpAddress* first = nullptr;
  SourceLocation first_loc;
  auto consider = [&](const IpAddress& address, const SourceLocation& loc) {
    if (first == nullptr || std::tie(loc.file, loc.line, loc.column) <
                                std::tie(first_loc.file, first_loc.line, first_loc.column)) {
      first = &address;
      first_loc = loc;
    }
  };
  if (vi.source_address) consider(*vi.source_address, vi.at.source_address);
  if (!vi.virtual_addresses.empty()) {
    consider(vi.virtual_addresses.front().prefix.address, vi.virtual_addresses.front().loc);
  }
  if (first != nullptr) return first->family();
  return vi.native_ipv6 ? AddressFamily::kIpv6 : AddressFamily::kIpv4;
}

void resolve_instance(VrrpInstance& vi, const GlobalDefs& g) {
  vi.family = instance_family(vi);
  // RFC 3768 (VRRPv2) is IPv4 only; keepalived runs IPv6 instances as version 3.
  if (vi.family == AddressFamily::kIpv6) {
    vi.version = 3;
  } else {
    resolve(vi.version, g.vrrp_version);
  }
  // keepalived 2.2.7: an instance with state MASTER and no priority is the address owner.
  resolve(vi.priority, vi.state == VrrpInitialState::kMaster ? uint8_t{255} : uint8_t{100});
  resolve(vi.mcast_dst_ip,
          vi.family == AddressFamily::kIpv4 ? g.vrrp_mcast_group4 : g.vrrp_mcast_group6);
  resolve(vi.garp_master_delay, g.vrrp_garp_master_delay);
  resolve(vi.garp_master_repeat, g.vrrp_garp_master_repeat);
  resolve(vi.garp_master_refresh, g.vrrp_garp_master_refresh);
  resolve(vi.garp_master_refresh_repeat, g.vrrp_garp_master_refresh_repeat);
  resolve(vi.garp_lower_prio_delay, g.vrrp_garp_lower_prio_delay.value_or(*vi.garp_master_delay));
  resolve(vi.garp_lower_prio_repeat,
          g.vrrp_garp_lower_prio_repeat.value_or(*vi.garp_master_repeat));
  resolve(vi.lower_prio_no_advert, g.vrrp_lower_prio_no_advert);
  resolve(vi.higher_prio_send_advert, g.vrrp_higher_prio_send_advert);
  resolve(vi.skip_check_adv_addr, g.vrrp_skip_check_adv_addr);
  resolve(vi.check_unicast_src, g.vrrp_check_unicast_src);
  resolve(vi.strict_mode, g.vrrp_strict);
  // Accept mode is on unless strict mode (RFC 5798 §6.1 makes it off by default) asks otherwise.
  resolve(vi.accept, !*vi.strict_mode);
}

void resolve_notify(VrrpNotify& notify, const GlobalDefs& g) {
  resolve(notify.smtp_alert, g.smtp_alert_vrrp.value_or(g.smtp_alert));
  resolve(notify.notify_priority_changes, g.vrrp_notify_priority_changes);
}

}  // namespace

void finish_vrrp(Config& config, Context& /*ctx*/) {
  const GlobalDefs& g = config.global;
  auto& vrrp = config.vrrp;
  for (auto& script : vrrp.scripts)
    resolve(script.timeout, script.interval);
  for (auto& vi : vrrp.instances) {
    resolve_instance(vi, g);
    resolve_notify(vi.notify, g);
  }
  for (auto& group : vrrp.sync_groups)
    resolve_notify(group.notify, g);
}

}  // namespace vigil::config
