// The checker dumps vigild writes on SIGUSR1 (states: vigil_check.data) and SIGUSR2 (counters:
// vigil_check.stats), as pure text from the engine's status, so their layout is tested without a
// thread. The check thread calls these with its engine, prober and clock; docs/config.md shows
// the layout. keepalived writes keepalived_check.data on SIGUSR1 (its own layout, a config dump
// with states) and has no checker counters file.
#pragma once

#include <string>
#include <vector>

#include "api/metrics.h"
#include "check/engine.h"
#include "check_io/prober.h"
#include "common/time.h"
#include "event/loop_watchdog.h"
#include "event/scheduler.h"

namespace vigil::daemon {

struct CheckDumpInput {
  // In the engine's order: virtual server, then real server, then checker block.
  std::vector<check::CheckEngine::CheckerStatus> checkers;
  size_t left_out = 0;  // checker blocks of types without a probe yet
  TimePoint now;        // the check thread's clock: next probes are shown relative to it
};

// SIGUSR1: per virtual server, real server and checker, the state.
[[nodiscard]] std::string format_check_data(const CheckDumpInput& input);

// SIGUSR2: per checker, the probe counters and failures by reason; the prober's totals; how late
// the check thread ran its timers.
[[nodiscard]] std::string format_check_stats(const CheckDumpInput& input,
                                             const check_io::ProberCounters& prober,
                                             const event::TimerLateness& lateness,
                                             const event::WatchdogCounters& stalls = {});

// What GET /metrics reads from the check thread besides the engine's status.
struct CheckMetricsInput {
  check_io::ProberCounters prober;
  event::TimerLateness lateness;
  check::CheckTimings timings;
  TimePoint now;  // the check thread's clock: ages are measured to it
};

// GET /metrics: the checker side's families (docs/operations.md "Metrics"). Basic: per virtual
// server, per checker type and totals; full adds per real server and per checker series.
[[nodiscard]] api::MetricsPart check_metrics(
    const std::vector<check::CheckEngine::CheckerStatus>& checkers,
    const std::vector<check::CheckEngine::ServiceStatus>& services, const CheckMetricsInput& input,
    api::MetricsDetail detail);

}  // namespace vigil::daemon
