// What the checker process keywords make of the check thread (daemon/check/check_thread.h), as a
// table: keepalived's keyword, vigil's thread option, and what is said about it.
#include "daemon/check/check_thread.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace vigil::daemon {
namespace {

struct Case {
  const char* name;
  std::optional<int> checker_rt;
  std::optional<int> vrrp_rt;
  bool vrrp_runs;
  std::optional<int> nice;
  std::optional<int> want_rt;
  std::optional<int> want_nice;
  std::vector<std::string> want_warnings;
};

TEST(CheckThreadPlan, RealtimePriorityStaysBelowVrrpAndNiceOnlyWithoutIt) {
  const Case cases[] = {
      {"nothing set", {}, {}, true, {}, {}, {}, {}},
      {"below VRRP", 20, 50, true, {}, 20, {}, {}},
      {"equal to VRRP: one below",
       50,
       50,
       true,
       {},
       49,
       {},
       {"checker_rt_priority 50 is not below vrrp_rt_priority 50: the check thread runs at "
        "SCHED_RR 49 so that VRRP always outranks it"}},
      {"above VRRP: one below",
       80,
       50,
       true,
       {},
       49,
       {},
       {"checker_rt_priority 80 is not below vrrp_rt_priority 50: the check thread runs at "
        "SCHED_RR 49 so that VRRP always outranks it"}},
      {"VRRP at 1: nothing below",
       5,
       1,
       true,
       {},
       {},
       {},
       {"checker_rt_priority 5 is ignored: vrrp_rt_priority is 1, the lowest SCHED_RR priority, "
        "and the checkers must stay below it"}},
      {"VRRP at normal priority",
       20,
       {},
       true,
       {},
       {},
       {},
       {"checker_rt_priority 20 is ignored: the VRRP thread runs at normal priority (no "
        "vrrp_rt_priority) and the checkers must not outrank it; set vrrp_rt_priority above 20"}},
      {"no VRRP in this vigild (-C, or no instance)", 80, 50, false, {}, 80, {}, {}},
      {"no VRRP and no vrrp_rt_priority", 20, {}, false, {}, 20, {}, {}},
      {"nice alone", {}, {}, true, -5, {}, -5, {}},
      {"nice with SCHED_RR: no effect",
       20,
       50,
       true,
       -5,
       20,
       {},
       {"checker_priority -5 has no effect: the check thread runs at SCHED_RR 20 "
        "(checker_rt_priority)"}},
      {"nice where SCHED_RR was dropped: the nice value applies",
       20,
       {},
       true,
       10,
       {},
       10,
       {"checker_rt_priority 20 is ignored: the VRRP thread runs at normal priority (no "
        "vrrp_rt_priority) and the checkers must not outrank it; set vrrp_rt_priority above 20"}},
  };
  for (const auto& c : cases) {
    config::GlobalDefs global;
    global.checker_rt_priority = c.checker_rt;
    global.vrrp_rt_priority = c.vrrp_rt;
    global.checker_priority = c.nice;
    const CheckThreadPlan plan = plan_check_thread(global, c.vrrp_runs);
    EXPECT_EQ(plan.options.realtime_priority, c.want_rt) << c.name;
    EXPECT_EQ(plan.options.nice, c.want_nice) << c.name;
    EXPECT_EQ(plan.warnings, c.want_warnings) << c.name;
    EXPECT_EQ(plan.options.thread_name, "check") << c.name;
    EXPECT_FALSE(plan.options.lock_memory) << c.name;
    EXPECT_TRUE(plan.options.cpus.empty()) << c.name;
    EXPECT_TRUE(plan.notes.empty()) << c.name;
  }
}

TEST(CheckThreadPlan, NoSwapLocksTheProcessAndTheNameNamesTheThread) {
  config::GlobalDefs global;
  global.checker_no_swap = true;
  global.checker_cpu_affinity = {1, 3};
  global.checker_process_name = "lb_checkers";
  const CheckThreadPlan plan = plan_check_thread(global, true);
  EXPECT_TRUE(plan.options.lock_memory);
  EXPECT_EQ(plan.options.cpus, (std::vector<int>{1, 3}));
  EXPECT_EQ(plan.options.thread_name, "lb_checkers");
  EXPECT_TRUE(plan.warnings.empty());
  EXPECT_EQ(plan.notes,
            (std::vector<std::string>{
                "checker_process_name lb_checkers: vigild runs its checkers as a thread, not a "
                "process; the thread is named lb_checkers (ps -L, top -H)",
                "checker_no_swap: the memory of all of vigild is locked (mlockall), not only the "
                "checkers': they are a thread of the one process"}));
}

}  // namespace
}  // namespace vigil::daemon
