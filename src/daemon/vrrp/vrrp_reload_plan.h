// The VRRP side's reload planner: which running instances a new configuration removes, which it
// restarts with a changed setting and which it adds. VrrpRuntime's reload applies exactly this
// diff, and `vigilctl reload --dry-run` shows it (describe_vrrp_reload): one planner for both.
// Pure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/plan.h"
#include "daemon/vrrp/vrrp_translate.h"
#include "vrrp/state_machine.h"

namespace vigil::daemon {

struct VrrpReloadDiff {
  std::vector<std::string> removed;  // running, absent from the new configuration; name order
  struct Create {
    const VrrpInstancePlan* plan = nullptr;  // into the new plans
    bool replaces = false;  // a running instance of that name differs: it is restarted
  };
  std::vector<Create> create;  // in the new configuration's order
  size_t unchanged = 0;        // keep running as they are (state, VIPs, timers)
};

// What a reload that removes an instance tells its notify scripts, FIFOs and SMTP alert
// (keepalived 2.2.7 vrrp.c clear_diff_vrrp and vrrp_notify.c send_instance_notifies): DELETED
// with notify_deleted; otherwise FAULT, as keepalived always did, and nothing at all for an
// instance that is already FAULT.
enum class RemovalNotice : uint8_t { kNone, kFault, kDeleted };
RemovalNotice removal_notice(bool notify_deleted, vrrp::State state);

// `running`: the running instances' plans by name.
VrrpReloadDiff diff_instances(const std::map<std::string, const VrrpInstancePlan*>& running,
                              const std::vector<VrrpInstancePlan>& next);

struct RunningInstance {
  const VrrpInstancePlan* plan = nullptr;
  vrrp::State state = vrrp::State::kInitialize;
};

// The diff for people: an instance per change (what changed, and a warning when the change can
// move the VIPs), the VIPs a changed instance adds or drops.
api::PlanPart describe_vrrp_reload(const std::map<std::string, RunningInstance>& running,
                                   const std::vector<VrrpInstancePlan>& next);

}  // namespace vigil::daemon
