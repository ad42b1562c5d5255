// The top-level static_ipaddress, static_routes and static_rules: what to add and remove at
// start, on a reload and at stop (pure), and the applier that hands each change to the host's
// VipManager / RoutingTable and keeps track of what is held.
//
// keepalived 2.2.7 (vrrp_daemon.c start_vrrp / vrrp_terminate_phase1; seen in a namespace):
// - start: the addresses, then the routes, then the rules are added, before any instance runs.
//   One already present counts as set (keepalived's netlink treats EEXIST as done), so it is
//   removed at stop like the others.
// - reload: the rules, then the routes, then the addresses that were set and that the new
//   configuration no longer has are removed; the others stay; new ones are added.
// - stop: the rules, then the routes, then the addresses that are set are removed, after the
//   instances have stopped; -V (--dont-release-vrrp) does not keep them.
// Unlike keepalived, a reload adds again every entry of the new configuration (present ones
// count as added): an entry the kernel removed meanwhile (a route via a device that lost its last
// IPv4 address) comes back, where keepalived leaves it missing until a restart.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "vrrp/host.h"
#include "vrrp/instance_config.h"
#include "vrrp/routing.h"

namespace vigil::vrrp {

// One static address; `address.device` names its interface (never empty).
struct StaticAddress {
  VirtualAddress address;
  bool operator==(const StaticAddress&) const = default;
};

struct StaticEntries {
  std::vector<StaticAddress> addresses;
  std::vector<Route> routes;
  std::vector<Rule> rules;
  [[nodiscard]] bool empty() const { return addresses.empty() && routes.empty() && rules.empty(); }
  bool operator==(const StaticEntries&) const = default;
};

struct StaticChange {
  enum class Op : uint8_t { kAdd, kRemove };
  Op op = Op::kAdd;
  std::variant<StaticAddress, Route, Rule> entry;
  bool operator==(const StaticChange&) const = default;
};
using StaticChanges = std::vector<StaticChange>;

// `ip addr` / `ip route` / `ip rule` style text, for logs and messages.
std::string to_string(const StaticChange& change);

// From `held` (what vigild set and holds) to `wanted` (the configuration's): remove the held
// rules, routes, then addresses that `wanted` lacks, then add every wanted address, route, then
// rule. Start: plan_static({}, wanted); stop: plan_static(held, {}).
StaticChanges plan_static(const StaticEntries& held, const StaticEntries& wanted);

// Every interface the entries name (address devices, route devices, rule iif / oif), sorted,
// each once.
std::vector<std::string> static_interfaces(const StaticEntries& entries);

struct StaticApplyResult {
  StaticEntries held;  // after the changes: what was added and not removed since
  uint64_t failures = 0;
  Status first_failure;  // ok when nothing failed
};

// Applies the changes in order; one failure never stops the others. An entry is held once its
// add succeeds (present counts); a failed add or any remove lets it go (keepalived clears its
// `set` flag either way).
StaticApplyResult apply_static(VipManager& addresses, RoutingTable& routing,
                               const StaticChanges& changes, StaticEntries held);

}  // namespace vigil::vrrp
