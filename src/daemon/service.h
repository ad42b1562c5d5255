// One side of vigild (VRRP, the checkers, IPVS): started with a validated configuration,
// reloaded with another, stopped once; SIGUSR1 / SIGUSR2 ask each for its dumps. All calls come
// from the daemon's main loop thread.
#pragma once

#include <functional>
#include <memory>

#include "api/metrics.h"
#include "api/plan.h"
#include "api/status.h"
#include "common/result.h"
#include "config/model.h"

namespace vigil::daemon {

// The running configuration, shared read-only by every side (one copy in the process).
using SharedConfig = std::shared_ptr<const config::Config>;

class Service {
 public:
  virtual ~Service() = default;
  // A failure here is fatal for the daemon (e.g. IPVS missing while virtual servers are set).
  virtual Status start(const SharedConfig& config) = 0;
  // `config` has passed validation; the previous one keeps running until this returns.
  virtual void reload(const SharedConfig& config) = 0;
  // A reload in two steps, so that every side agrees before any side changes: prepare does
  // what can refuse `config` (the VRRP side's address lookups, opening IPVS for the first
  // virtual server) and changes nothing; the commit it returns applies it (and cannot refuse).
  // One side's refusal leaves every side on the running configuration.
  using Commit = std::function<void()>;
  virtual Result<Commit> prepare_reload(const SharedConfig& config) {
    return Commit([this, config] { reload(config); });
  }
  // reload --dry-run: what a reload to `config` would change, computed by the planner the
  // reload itself uses, handed over as status() hands its part. Changes nothing.
  using PlanReply = std::function<void(api::PlanPart)>;
  virtual void plan_reload(const SharedConfig& /*config*/, PlanReply done) { done({}); }
  virtual void stop() = 0;
  // SIGUSR1: write the state dump; SIGUSR2: the counters (keepalived's .data / .stats files).
  // Each side that has state writes its own files; written when the call returns.
  virtual void dump_data() {}
  virtual void dump_stats() {}
  // The control API's status: the side's part, handed to `done` from whichever thread the side
  // runs on (`done` is thread-safe). Never blocks the caller, and the side never waits for the
  // caller: a side on its own thread builds the part there and hands it over.
  using StatusReply = std::function<void(api::StatusPart)>;
  virtual void status(const api::StatusQuery& /*query*/, StatusReply done) { done({}); }
  // GET /metrics: the side's metric families (docs/operations.md "Metrics"), handed over as
  // status() hands its part.
  using MetricsReply = std::function<void(api::MetricsPart)>;
  virtual void metrics(api::MetricsDetail /*detail*/, MetricsReply done) { done({}); }
  // Whether the side's own loop turns, for systemd's watchdog (asked every half WatchdogSec from
  // the main loop): false while a callback posted to it earlier has not run.
  virtual bool alive() { return true; }
};

}  // namespace vigil::daemon
