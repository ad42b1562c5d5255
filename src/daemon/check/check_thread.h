// What keepalived's checker process keywords mean for vigil's check thread, decided as a pure
// function: keepalived runs its checkers as a child process and applies checker_priority,
// checker_rt_priority, checker_no_swap, checker_cpu_affinity and checker_process_name to it;
// vigild runs them as one thread of its own process, so
// - checker_priority (nice) and checker_cpu_affinity act on that thread alone;
// - checker_rt_priority makes it SCHED_RR, always below the VRRP thread: a value at or above
//   vrrp_rt_priority runs at vrrp_rt_priority - 1, and with VRRP running at normal priority (no
//   vrrp_rt_priority) the check thread stays at normal priority too. keepalived's processes are
//   independent and it checks neither; here a busy checker thread must never delay an advert;
// - checker_no_swap locks the memory of the whole process (mlockall cannot lock one thread's);
// - checker_process_name names the thread (ps -L, top -H), not a process.
#pragma once

#include <string>
#include <vector>

#include "config/model_global.h"
#include "event/event_loop.h"

namespace vigil::daemon {

struct CheckThreadPlan {
  event::ThreadOptions options;       // for the check thread's LoopThread::start
  std::vector<std::string> warnings;  // settings changed or dropped: logged at warn at start
  std::vector<std::string> notes;     // what a setting means here: logged at info at start
};

// `vrrp_runs`: the VRRP thread runs in this vigild (not -C, and instances configured); only then
// does vrrp_rt_priority bound checker_rt_priority.
[[nodiscard]] CheckThreadPlan plan_check_thread(const config::GlobalDefs& global, bool vrrp_runs);

}  // namespace vigil::daemon
