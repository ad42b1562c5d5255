// Reload as a plan (shared/reference/checkers.md §1.4; keepalived 2.2.7's clear_diff_services,
// migrate_checkers, check_new_rs_state): given the running checkers with their state and the new
// specs, which checkers keep their state (same identity on the same real server of the same
// virtual server), which start fresh and how, and which real and virtual servers go. A value:
// computing it changes nothing, so a later reload planner (vigilctl reload --dry-run) can show it.
//
// Not in the plan yet: the quorum state carried across a reload, rs_init_notifies for servers
// added by a reload, and re-arming FILE_CHECKs (they never match and start fresh from the file).
#pragma once

#include <optional>
#include <vector>

#include "check/checker.h"
#include "check/spec.h"

namespace vigil::check {

// The running state, as the engine reports it.
struct RunningChecker {
  CheckerIdentity identity;
  CarriedState state;
};
struct RunningRealServer {
  RealServerKey key;
  bool alive = true;
  std::vector<RunningChecker> checkers;
};
struct RunningVirtualServer {
  VirtualServerKey key;
  std::vector<RunningRealServer> real_servers;
};

struct CheckerPlan {
  // The old checker whose state is kept (index into the old real server's checkers); none: fresh.
  std::optional<size_t> kept_from;
  // The first event for the new checker: ReloadKept or Start.
  std::variant<Start, ReloadKept> first_event;
  bool operator==(const CheckerPlan&) const = default;
};

struct RealServerPlan {
  RealServerKey key;
  bool existed = false;
  std::vector<CheckerPlan> checkers;  // one per spec checker, in order
  bool operator==(const RealServerPlan&) const = default;
};

struct VirtualServerPlan {
  VirtualServerKey key;
  bool existed = false;
  std::vector<RealServerPlan> real_servers;  // one per spec real server, in order
  // Deleted from IPVS even with inhibit_on_failure (keepalived clear_service_rs: #1228, #2240).
  std::vector<RealServerKey> removed_real_servers;
  bool operator==(const VirtualServerPlan&) const = default;
};

struct ReloadPlan {
  std::vector<VirtualServerPlan> services;  // one per new spec, in order
  std::vector<VirtualServerKey> removed_services;
  bool operator==(const ReloadPlan&) const = default;
};

// One virtual server of plan_reload(): `old` is the running one with the same key, or none.
[[nodiscard]] VirtualServerPlan plan_virtual_server(const RunningVirtualServer* old,
                                                    const VirtualServerSpec& spec);

[[nodiscard]] ReloadPlan plan_reload(const std::vector<RunningVirtualServer>& running,
                                     const std::vector<VirtualServerSpec>& specs);

}  // namespace vigil::check
