// The pass rules of the real-server drills (rs-fail, rs-recover), pure: what each director's
// checkers said (its lvs_notify_fifo RS lines) and the VRRP states around one real server's
// fault. Rules count lines and transitions; the fault -> line time is measured, never bounded.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "lab/judge.h"

namespace vigil::lab {

// A real server's health as one director's checkers last said: up until an RS line says down
// (an `alpha` server starts down and says UP when it comes). `starts_up` per real server.
struct RsHealthQuery {
  std::string virtual_server;             // lvs_notify_fifo's form, "[192.0.2.200]:tcp:80"
  std::vector<std::string> real_servers;  // the same form, in config order
  std::vector<bool> starts_up;            // per real server (false: alpha)
};
// Per director, per real server: up as of `at`.
std::array<std::vector<bool>, 2> rs_health(const Timeline& timeline, const RsHealthQuery& query,
                                           double at);

// Before a real-server fault every real server of the virtual server must be up on both
// directors and no RS line may have come for `hold` (a whole check cycle). Nothing when that
// holds as of `now`; otherwise the failure: "every real server of VS [..]:tcp:80 is down before
// the fault (on d1: ...)", "real server ... of VS ... is down before the fault on d2", or
// "real-server health not settled before the fault: ..." (a line within `hold`).
std::optional<std::string> rs_health_failure(const Timeline& timeline, const Names& names,
                                             const RsHealthQuery& query, double now, double hold);

struct RsRun {
  DrillKind kind = DrillKind::kRsFail;  // kRsFail: the server went away; kRsRecover: it came back
  RsHealthQuery service;
  int victim = 0;       // index into service.real_servers
  double fault_at = 0;  // the server's port closed (rs-fail) / open again (rs-recover)
  double end_at = 0;    // the lab stopped watching
};

// Passes when, within [fault_at, end_at], each director writes exactly one RS line for the
// victim saying what the drill expects (DOWN for rs-fail, UP for rs-recover) and none for any
// other real server of the virtual server, and no director's VRRP state changes. rs_change: the
// fault -> the later of the two directors' lines, when both came.
RunVerdict judge_rs_run(const Timeline& timeline, const Names& names, const RsRun& run);

}  // namespace vigil::lab
