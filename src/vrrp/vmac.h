// The virtual MAC (`use_vmac`): an instance's VIPs live on a macvlan interface whose Ethernet
// address is the RFC 5798 §7.3 virtual router MAC, so that a failover moves the address without
// changing the MAC that clients and switches have learnt. This file decides (pure): the MAC, the
// interface name, which interface sends the adverts, the sysctls to set and restore. The Linux
// shell that creates the macvlan and writes the sysctls is vrrp/linux_vmac.h, behind VmacHost.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "vrrp/announce_frames.h"  // MacAddress

namespace vigil::vrrp {

// RFC 5798 §7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
MacAddress virtual_router_mac(AddressFamily family, uint8_t vrid);

// keepalived 2.2.7's default VMAC name (vrrp.c create_vmac_name): "PREFIX.VRID" (PREFIX is
// global_defs' vmac_prefix, "vrrp" when unset); when another instance already took that name,
// IPv6 tries "PREFIX6.VRID" next, then "PREFIX1.VRID", "PREFIX2.VRID" ... (skipping 6), IPv4
// "PREFIX1.VRID", "PREFIX2.VRID" ... A name longer than 15 bytes (IFNAMSIZ - 1) has its prefix
// cut.
std::string default_vmac_name(const std::string& prefix, uint8_t vrid, AddressFamily family,
                              const std::set<std::string>& taken);

// One instance's VMAC as the daemon creates it.
struct VmacPlan {
  std::string name;  // the macvlan
  std::string base;  // the instance's `interface`
  MacAddress mac{};
  AddressFamily family = AddressFamily::kIpv4;
  // vmac_xmit_base: adverts leave from the base interface (its MAC); the VIPs stay on the VMAC.
  bool xmit_base = false;
  // IPv6 only (and not xmit_base): the link-local address keepalived puts on the VMAC (the
  // instance's source address) so that adverts leave from a non-VIP address with the VMAC.
  std::optional<IpAddress> link_local;
  bool operator==(const VmacPlan&) const = default;
};

// The interface the instance's adverts leave from.
inline const std::string& advert_interface(const VmacPlan& plan) {
  return plan.xmit_base ? plan.base : plan.name;
}

// One /proc/sys/net value of one interface: e.g. {"ipv4", "eth0", "arp_ignore", 1}.
struct SysctlSetting {
  std::string protocol;  // "ipv4" or "ipv6"
  std::string interface;
  std::string key;
  int value = 0;
  [[nodiscard]] std::string path() const;  // /proc/sys/net/ipv4/conf/eth0/arp_ignore
  bool operator==(const SysctlSetting&) const = default;
};

// What keepalived 2.2.7 sets on a new VMAC (vrrp_if_config.c, vrrp_vmac.c): IPv4: arp_ignore=1
// (answer ARP only for addresses on the VMAC), accept_local=1 (accept our own source address
// arriving from the other macvlan), rp_filter=0, promote_secondaries=1, and IPv6 off
// (disable_ipv6=1) since an IPv4 VMAC carries no IPv6; both families: addr_gen_mode=1 (none),
// so that the kernel gives the VMAC no EUI-64 link-local of its own (RFC 5798 §7.4).
std::vector<SysctlSetting> vmac_sysctls(const VmacPlan& plan);

// The base interfaces' arp_ignore / arp_filter: set to 1 while an IPv4 VMAC uses the interface
// (so that the base does not answer ARP for the VIPs with its own MAC) and put back as they were
// when the last VMAC on it goes. Pure: the caller reads the current values and writes what is
// returned.
class BaseArpSettings {
 public:
  // The current values of a base interface (none: unreadable, left alone).
  struct Current {
    std::optional<int> arp_ignore;
    std::optional<int> arp_filter;
  };
  // A VMAC on `base` starts using it: the settings to write now (none when another VMAC holds
  // the interface already, or when both are 1).
  std::vector<SysctlSetting> acquire(const std::string& base, const Current& current);
  // A VMAC on `base` goes: the saved values to write back when it was the last one.
  std::vector<SysctlSetting> release(const std::string& base);
  [[nodiscard]] int users(const std::string& base) const;

 private:
  struct Held {
    int users = 0;
    std::vector<SysctlSetting> restore;
  };
  std::map<std::string, Held> held_;
};

// The host side: macvlan interfaces and /proc/sys values. NetlinkVmacHost in production, a
// fake in tests.
class VmacHost {
 public:
  virtual ~VmacHost() = default;
  // Makes `plan.name` a private-mode macvlan on `plan.base` with `plan.mac`, up: an interface of
  // that name which is such a macvlan already is kept; another macvlan of that name is replaced
  // (keepalived does the same); any other interface of that name is an error. Writes
  // vmac_sysctls(plan) before bringing it up and adds plan.link_local after.
  virtual Status ensure(const VmacPlan& plan) = 0;
  // Deletes the macvlan (absent: success).
  virtual Status remove(const std::string& name) = 0;
  [[nodiscard]] virtual std::optional<int> read_sysctl(const SysctlSetting& where) const = 0;
  virtual Status write_sysctl(const SysctlSetting& setting) = 0;
};

}  // namespace vigil::vrrp
