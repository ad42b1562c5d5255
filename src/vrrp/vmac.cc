#include "vrrp/vmac.h"

#include <fmt/format.h>

namespace vigil::vrrp {
namespace {

constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

// "PREFIX[NUMBER].VRID", the prefix cut so that the whole fits an interface name.
std::string vmac_name(const std::string& prefix, std::optional<int> number, uint8_t vrid) {
  const std::string tail =
      (number ? std::to_string(*number) : std::string{}) + "." + std::to_string(vrid);
  const size_t room = kMaxInterfaceName > tail.size() ? kMaxInterfaceName - tail.size() : 0;
  return prefix.substr(0, room) + tail;
}

}  // namespace

MacAddress virtual_router_mac(AddressFamily family, uint8_t vrid) {
  return {
      0x00, 0x00, 0x5e, 0x00, static_cast<uint8_t>(family == AddressFamily::kIpv6 ? 0x02 : 0x01),
      vrid};
}

std::string default_vmac_name(const std::string& prefix, uint8_t vrid, AddressFamily family,
                              const std::set<std::string>& taken) {
  std::string name = vmac_name(prefix, std::nullopt, vrid);
  int number = 0;
  while (taken.contains(name)) {
    if (family == AddressFamily::kIpv6) {
      if (number == 0) {
        number = 6;
      } else if (number == 6) {
        number = 1;
      } else if (++number == 6) {
        ++number;
      }
    } else {
      ++number;
    }
    name = vmac_name(prefix, number, vrid);
  }
  return name;
}

std::string SysctlSetting::path() const {
  return fmt::format("/proc/sys/net/{}/conf/{}/{}", protocol, interface, key);
}

std::vector<SysctlSetting> vmac_sysctls(const VmacPlan& plan) {
  std::vector<SysctlSetting> out;
  if (plan.family == AddressFamily::kIpv4) {
    for (const auto& [key, value] : {std::pair<const char*, int>{"arp_ignore", 1},
                                     {"accept_local", 1},
                                     {"rp_filter", 0},
                                     {"promote_secondaries", 1}})
      out.push_back({"ipv4", plan.name, key, value});
    out.push_back({"ipv6", plan.name, "disable_ipv6", 1});
  }
  out.push_back({"ipv6", plan.name, "addr_gen_mode", 1});
  return out;
}

std::vector<SysctlSetting> BaseArpSettings::acquire(const std::string& base,
                                                    const Current& current) {
  Held& held = held_[base];
  if (held.users++ > 0) return {};
  std::vector<SysctlSetting> writes;
  auto plan = [&](const char* key, const std::optional<int>& value) {
    if (!value || *value == 1) return;
    writes.push_back({"ipv4", base, key, 1});
    held.restore.push_back({"ipv4", base, key, *value});
  };
  plan("arp_ignore", current.arp_ignore);
  plan("arp_filter", current.arp_filter);
  return writes;
}

std::vector<SysctlSetting> BaseArpSettings::release(const std::string& base) {
  auto it = held_.find(base);
  if (it == held_.end()) return {};
  if (--it->second.users > 0) return {};
  auto restore = std::move(it->second.restore);
  held_.erase(it);
  return restore;
}

int BaseArpSettings::users(const std::string& base) const {
  auto it = held_.find(base);
  return it == held_.end() ? 0 : it->second.users;
}

}  // namespace vigil::vrrp
