// Keeps the kernel's IPVS tables equal to what the configuration (and later the checkers) say.
//
// A pass is: dump what the kernel holds, plan with datapath::reconcile(), apply the plan
// (pipelined by the adapter; one failed operation never stops the others). Passes run at start,
// on every config change, on demand, and periodically to repair edits made behind vigil's back.
// A config change is planned against the table as vigil last saw it, without a dump, so one
// changed weight reaches the kernel as one operation at once; the periodic pass re-reads it all.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "common/result.h"
#include "common/time.h"
#include "config/model.h"
#include "daemon/lvs_desired.h"
#include "datapath/datapath.h"
#include "datapath/reconcile.h"

namespace vigil::daemon {

struct LvsControllerOptions {
  Duration resync_interval = std::chrono::seconds(10);  // periodic full pass; 0: never
  // -I (keepalived's --dont-release-ipvs): leave everything in place on stop.
  bool keep_on_stop = false;
  // Makes the FULLNAT services' source NAT what the list says (an empty list removes it); see
  // lvs_fullnat.h. Called when the list changes, at start if it is not empty, and at stop.
  // Unset: FULLNAT services are plain IPVS NAT.
  std::function<Status(const std::vector<FullNatService>&)> apply_fullnat;
};

class LvsController {
 public:
  LvsController(datapath::Datapath& datapath, Scheduler& scheduler,
                LvsControllerOptions options = {});
  LvsController(const LvsController&) = delete;
  LvsController& operator=(const LvsController&) = delete;

  // Checks that IPVS is there, applies lvs_timeouts, adopts what already matches and programs
  // the rest. lvs_flush also removes services vigil does not own (on this first pass only).
  Status start(const config::Config& config);
  // A new (already validated) configuration: planned against the last known table.
  void update(const config::Config& config);
  // A full pass now (dump, plan, apply). Returns false if the dump failed.
  bool resync();
  // Removes what vigil owns (default), flushes everything (lvs_flush_on_stop) or keeps it all.
  void stop();

  struct Counters {
    uint64_t passes = 0;
    uint64_t operations_sent = 0;
    uint64_t operations_failed = 0;
    uint64_t dump_failures = 0;
    uint64_t fullnat_failures = 0;
  };
  [[nodiscard]] const Counters& counters() const { return counters_; }
  [[nodiscard]] const datapath::Ownership& owned() const { return owned_; }
  [[nodiscard]] const DesiredLvs& desired() const { return desired_; }

 private:
  void plan_and_apply(const datapath::Table& actual, bool flush_foreign);
  void schedule_resync();
  void sync_fullnat(bool force);

  datapath::Datapath& datapath_;
  Scheduler& scheduler_;
  LvsControllerOptions options_;
  DesiredLvs desired_;
  datapath::Ownership owned_;
  datapath::Table last_known_;  // the kernel's table after our last pass, as far as we know
  std::vector<FullNatService> applied_fullnat_;  // as last applied successfully
  bool fullnat_applied_once_ = false;
  bool flush_on_stop_ = false;
  bool flush_on_stop_vs_only_ = false;
  Timer resync_timer_;
  Counters counters_;
};

}  // namespace vigil::daemon
