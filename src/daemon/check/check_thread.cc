// The check thread's options from the checker process keywords (see check_thread.h).
#include "daemon/check/check_thread.h"

#include <fmt/format.h>

namespace vigil::daemon {

CheckThreadPlan plan_check_thread(const config::GlobalDefs& global, bool vrrp_runs) {
  CheckThreadPlan plan;
  auto& options = plan.options;
  options.thread_name = global.checker_process_name.empty() ? "check" : global.checker_process_name;
  if (!global.checker_process_name.empty()) {
    plan.notes.push_back(fmt::format(
        "checker_process_name {}: vigild runs its checkers as a thread, not a process; the "
        "thread is named {} (ps -L, top -H)",
        global.checker_process_name, global.checker_process_name));
  }

  if (const auto& wanted = global.checker_rt_priority) {
    const auto& vrrp = global.vrrp_rt_priority;
    if (!vrrp_runs) {
      options.realtime_priority = *wanted;
    } else if (!vrrp) {
      plan.warnings.push_back(fmt::format(
          "checker_rt_priority {} is ignored: the VRRP thread runs at normal priority (no "
          "vrrp_rt_priority) and the checkers must not outrank it; set vrrp_rt_priority above {}",
          *wanted, *wanted));
    } else if (*wanted < *vrrp) {
      options.realtime_priority = *wanted;
    } else if (*vrrp > 1) {
      options.realtime_priority = *vrrp - 1;
      plan.warnings.push_back(fmt::format(
          "checker_rt_priority {} is not below vrrp_rt_priority {}: the check thread runs at "
          "SCHED_RR {} so that VRRP always outranks it",
          *wanted, *vrrp, *vrrp - 1));
    } else {
      plan.warnings.push_back(fmt::format(
          "checker_rt_priority {} is ignored: vrrp_rt_priority is 1, the lowest SCHED_RR "
          "priority, and the checkers must stay below it",
          *wanted));
    }
  }

  if (global.checker_priority) {
    if (options.realtime_priority) {
      // keepalived sets the nice value only without a realtime priority, too.
      plan.warnings.push_back(
          fmt::format("checker_priority {} has no effect: the check thread runs at SCHED_RR {} "
                      "(checker_rt_priority)",
                      *global.checker_priority, *options.realtime_priority));
    } else {
      options.nice = global.checker_priority;
    }
  }

  options.cpus = global.checker_cpu_affinity;

  if (global.checker_no_swap) {
    options.lock_memory = true;
    plan.notes.emplace_back(
        "checker_no_swap: the memory of all of vigild is locked (mlockall), not only the "
        "checkers': they are a thread of the one process");
  }
  return plan;
}

}  // namespace vigil::daemon
