// Runs the drills against a built lab and gathers what they found (the shell around judge.h).
#pragma once

#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "lab/judge.h"
#include "lab/lab.h"

namespace vigil::lab {

struct RunRecord {
  int run = 0;
  DrillRun what;
  RunVerdict verdict;
  double phase = 0;                // the random wait before the fault, seconds
  std::vector<StateEvent> states;  // from the steady state before to the end, for the report
  std::vector<VipEvent> vips;
  double from = 0;                 // where `states` and `vips` begin (CLOCK_MONOTONIC seconds)
  Snapshot initial;                // the pair at `from`: the report's timelines start from it
  std::vector<double> replies;     // the client's replies from `what.vip`, `from` to the end
  std::string real_server;         // rs-*: the real server faulted ("[198.51.100.11]:tcp:80")
  std::vector<RsEvent> rs_events;  // rs-*: the RS lines from the fault to the end
};

struct DrillRecord {
  DrillKind kind = DrillKind::kKill;
  std::vector<RunRecord> runs;
  [[nodiscard]] size_t passed() const;
};

struct DrillPlan {
  std::vector<DrillKind> drills;
  int repeat = 1;
  std::optional<uint32_t> seed;
};

// Progress lines go to `progress` as they happen ("[kill 1/3] ..."). Returns every drill run; a
// daemon that dies on its own, or the lab failing, ends the series (LabError propagates).
std::vector<DrillRecord> run_drills(Lab& lab, const DrillPlan& plan,
                                    const std::function<void(const std::string&)>& progress);

}  // namespace vigil::lab
