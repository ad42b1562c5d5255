// From the configuration model to what the VRRP core runs: one vrrp::InstanceConfig per
// vrrp_instance, plus the daemon-side facts the core does not need (excluded addresses, which
// links, scripts and files feed which tracked objects).
//
// Pure but for the primary-address lookup, which is injected (tests pass a table; the daemon
// reads the interface at start).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/model.h"
#include "vrrp/announce_pacer.h"
#include "vrrp/instance_config.h"
#include "vrrp/routing.h"
#include "vrrp/static_entries.h"
#include "vrrp/vmac.h"

namespace vigil::daemon {

// The address adverts come from when the instance sets no mcast_src_ip / unicast_src_ip.
using PrimaryAddressLookup =
    std::function<Result<IpAddress>(const std::string& interface, AddressFamily family)>;

// Tracked-object names as the PriorityTracker knows them.
std::string tracked_interface_name(const std::string& interface);  // "interface eth0"
std::string tracked_script_name(const std::string& script);        // "script chk_nginx"
// A track_file's value times its weight is spread over binary objects, one per bit of the
// magnitude and sign, so the tracker (up/down with fixed weights) adds exactly value × weight:
// "file NAME +k" (weight 2^k, up when bit k of a positive sum is set) and "file NAME -k"
// (weight -2^k, down when bit k of a negative sum is set), plus "file NAME fault" (weight 0).
std::string tracked_file_bit_name(const std::string& file, bool negative, int bit);
std::string tracked_file_fault_name(const std::string& file);
inline constexpr int kTrackFileBits = 8;  // |value × weight| is clamped to 254

// One tracked entry with keepalived's `reverse`: the tracker gets weight -W and is fed the
// inverted state, which adds W in the opposite condition.
struct TrackedLink {
  std::string interface;
  bool reverse = false;
};
struct TrackedScript {
  std::string script;
  bool reverse = false;
};
struct TrackedFile {
  std::string file;
  int weight = 1;  // sign included; `reverse` already applied
};

struct VrrpInstancePlan {
  vrrp::InstanceConfig config;
  // virtual_ipaddress_excluded: added and removed with the VIPs, never advertised.
  std::vector<vrrp::VirtualAddress> excluded;
  // virtual_routes and virtual_rules: added after the addresses, removed before them.
  vrrp::InstanceRouting routing;
  // The instance's own interface first (unless dont_track_primary); then track_interface; then
  // (weight 0, as keepalived) the dev of each tracked route and the iif / oif of each tracked rule.
  std::vector<TrackedLink> links;
  std::vector<TrackedScript> scripts;
  std::vector<TrackedFile> files;
  std::string sync_group;  // empty: none
  // use_vmac: the macvlan the VIPs live on (config.interface names it; the tracked links and the
  // primary address stay the base interface's).
  std::optional<vrrp::VmacPlan> vmac;
  config::VrrpNotify notify;
  std::optional<config::NotifyScript> notify_master_rx_lower_pri;
  // notify_deleted [SCRIPT]: a reload that removes the instance says DELETED, not FAULT.
  bool notify_deleted = false;
  std::optional<config::NotifyScript> notify_deleted_script;
  bool operator==(const VrrpInstancePlan& other) const;
};

// What a tracker object of a track_file must be fed for `value` read from the file.
struct TrackFileState {
  bool fault = false;
  int delta = 0;  // value × weight, clamped to -254..254
};
TrackFileState track_file_state(int64_t value, int weight);
// The up/down of every object tracked_file_bit_name() names for `state` (fault last).
std::vector<std::pair<std::string, bool>> track_file_objects(const std::string& file,
                                                             const TrackFileState& state);

// Translates one instance. Errors name the instance (and interface) when the primary address
// cannot be found.
// `vmac_names` are the VMAC names that instances before this one took (keepalived's default
// name avoids them); this instance's is added.
Result<VrrpInstancePlan> plan_instance(const config::Config& config,
                                       const config::VrrpInstance& instance,
                                       const PrimaryAddressLookup& lookup,
                                       std::set<std::string>* vmac_names = nullptr);

// Every instance of the config, or the first error.
Result<std::vector<VrrpInstancePlan>> plan_instances(const config::Config& config,
                                                     const PrimaryAddressLookup& lookup);

bool same_instance_config(const vrrp::InstanceConfig& a, const vrrp::InstanceConfig& b);

// vrrp_garp_interval / vrrp_gna_interval and the garp_groups. A group's unset interval means
// no spacing on its interfaces (the global one does not apply to them), as in keepalived.
vrrp::AnnouncePacing announce_pacing(const config::Config& config);

// static_ipaddress, static_routes and static_rules. An address without dev goes on global_defs'
// default_interface, eth0 when unset (keepalived 2.2.7's DFLT_INT).
vrrp::StaticEntries static_entries(const config::Config& config);

}  // namespace vigil::daemon
