// Keeps the kernel's IPVS tables equal to what the configuration (and later the checkers) say.
//
// A pass is: dump what the kernel holds, plan with datapath::reconcile(), apply the plan
// (pipelined by the adapter; one failed operation never stops the others). Passes run at start,
// on every config change, on demand, and periodically to repair edits made behind vigil's back.
// A config change is planned against the table as vigil last saw it, without a dump, so one
// changed weight reaches the kernel as one operation at once; the periodic pass re-reads it all,
// on another thread when LvsControllerOptions::read_in_background is set.
//
// What vigil owns survives restarts through an OwnershipStore: at start, services owned before
// and no longer configured are removed; the store is saved after each pass that changed it.
// The periodic pass also checks the FULLNAT nftables table (one read) and restores it when it
// was changed or deleted behind vigil's back; with no FULLNAT service it reads nothing. Each
// apply is read back once, to learn whether nft lists the table as vigil renders it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/result.h"
#include "common/time.h"
#include "config/model.h"
#include "datapath/datapath.h"
#include "datapath/reconcile.h"
#include "lvs/desired.h"
#include "lvs/overrides.h"
#include "lvs/ownership_store.h"

namespace vigil::lvs {

// What a background read hands back: the dump twice, one kept as kernel() (weights and counters
// as IPVS had them), one without the counters to plan against and keep up to date. Both are made
// where the read runs, so that the loop copies no table (at 37,000 destinations a copy holds it for
// milliseconds).
struct ReadTables {
  datapath::Table kernel;
  datapath::Table planning;
};
// The two tables of one dump (for the reading side).
ReadTables read_tables(datapath::Table table);

struct LvsControllerOptions {
  // Periodic full pass; 0: never. The next one waits at least kResyncIdleFactor times as long
  // as the last dump took, so the dumps (and the plans against them, on the loop) take at most
  // a tenth of the time on a big table or a slow machine.
  Duration resync_interval = std::chrono::seconds(10);
  // -I (keepalived's --dont-release-ipvs): leave everything in place on stop.
  bool keep_on_stop = false;
  // Makes the FULLNAT services' source NAT what the list says (an empty list removes it); see
  // lvs/fullnat.h. Called at start (with an empty list: removes a table a killed vigild left),
  // when the list changes, when the periodic pass finds the table changed, and at stop.
  // Unset: FULLNAT services are plain IPVS NAT.
  std::function<Status(const std::vector<FullNatService>&)> apply_fullnat;
  // Lists the FULLNAT table as it is now (`nft list table`); an error when it does not exist or
  // cannot be read. Unset: the periodic pass does not check the table.
  std::function<Result<std::string>()> read_fullnat;
  // Where ownership is kept across restarts. Unset: vigil owns only what the config names (and
  // what it created since it started).
  std::shared_ptr<OwnershipStore> ownership_store;
  // Reads the tables away from the loop for the periodic pass and refresh_kernel(): called on
  // the loop, it calls `done` back on the loop, later, with what it read (read_tables()). A
  // drain or a verdict that arrives meanwhile is applied at once instead of waiting behind a
  // dump of the whole table (seconds at 37,000 destinations on a slow machine). Unset: the
  // dumps hold the loop.
  std::function<void(std::function<void(Result<ReadTables>)> done)> read_in_background;
  // Frees tables the loop is done with (the previous read's) away from the loop, where the
  // reads run: 37,000 destinations take milliseconds to free. Unset: freed on the loop.
  std::function<void(std::vector<datapath::Table> tables)> free_in_background;
};

class LvsController {
 public:
  static constexpr int kResyncIdleFactor = 9;

  LvsController(datapath::Datapath& datapath, Scheduler& scheduler,
                LvsControllerOptions options = {});
  LvsController(const LvsController&) = delete;
  LvsController& operator=(const LvsController&) = delete;

  // Checks that IPVS is there, applies lvs_timeouts, adopts what already matches and programs
  // the rest. lvs_flush also removes services vigil does not own (on this first pass only).
  // The controller keeps `config` (shared with the rest of the daemon, never copied).
  Status start(std::shared_ptr<const config::Config> config);
  // A new (already validated) configuration: planned against the last known table.
  void update(std::shared_ptr<const config::Config> config);
  // The same with a copy of `config` (tests).
  Status start(const config::Config& config) {
    return start(std::make_shared<const config::Config>(config));
  }
  void update(const config::Config& config) {
    update(std::make_shared<const config::Config>(config));
  }
  // The checkers' verdicts for some virtual servers (each complete): merged, then planned
  // against the last known table like a config change, so one changed real server is one
  // netlink operation. Verdicts for services no longer configured are ignored.
  void apply_health(const check::HealthBatch& batch);
  // The operators' overrides (lvs/overrides.h). Before start(): the first programming applies
  // them (a server drained before a restart never gets a new flow from it). After: only the
  // virtual servers whose overrides changed are planned, against the last known table, so one
  // drain is one netlink operation. Overrides whose target is not configured are kept, unused.
  void set_overrides(OverrideMap overrides);
  // A new configuration together with the overrides that go with it (pruned for it): one pass.
  void update(std::shared_ptr<const config::Config> config, OverrideMap overrides);
  // What update(config, overrides) would do now: the table it would want and the operations it
  // would send (planned against the last known table, as update() plans). update() applies
  // exactly this plan; `vigilctl reload --dry-run` shows it. Changes nothing.
  struct UpdatePlan {
    DesiredLvs desired;
    std::vector<datapath::Operation> operations;
    HealthOverlay health;  // the verdicts it used (rebased_health())
  };
  [[nodiscard]] UpdatePlan plan_update(const config::Config& config,
                                       const OverrideMap& overrides) const;
  // The table as vigil last saw it, without counters (kernel() has them).
  [[nodiscard]] const datapath::Table& last_known() const { return last_known_; }
  // A full pass now (dump on the loop, plan, apply). Returns false if the dump failed.
  bool resync();
  // Removes what vigil owns (default), flushes everything (lvs_flush_on_stop) or keeps it all.
  void stop();

  struct Counters {
    uint64_t passes = 0;
    uint64_t operations_sent = 0;
    uint64_t operations_failed = 0;
    uint64_t dump_failures = 0;
    uint64_t fullnat_failures = 0;
    uint64_t fullnat_repairs = 0;  // the table found changed or missing, and restored
    uint64_t ownership_save_failures = 0;
    // Operations a periodic pass needed: the kernel differed from what vigil wants (an edit
    // behind vigil's back, or an operation that failed earlier).
    uint64_t drift_repairs = 0;
  };
  [[nodiscard]] const Counters& counters() const { return counters_; }
  [[nodiscard]] const datapath::Ownership& owned() const { return owned_; }
  [[nodiscard]] const DesiredLvs& desired() const { return desired_; }
  [[nodiscard]] const HealthOverlay& health() const { return health_; }
  [[nodiscard]] const OverrideMap& overrides() const { return overrides_; }
  // The kernel's table as the last dump read it: weights and counters as IPVS had them (status
  // and metrics). Empty before the first dump.
  [[nodiscard]] const datapath::Table& kernel() const { return kernel_; }
  // Reads the kernel's table again for kernel(), unless the last dump is recent: younger than
  // 1 s with no operation sent since, and in any case younger than kResyncIdleFactor + 1 times
  // as long as it took (so requests never spend more than about a tenth of the loop on dumps).
  // No planning. Then calls `then` on the loop: at once when no read is needed or the dump runs
  // on the loop, else when the background read in flight (shared) ends. A failed dump is logged
  // and counted (kernel() keeps the last one). Never called after the controller is gone.
  void refresh_kernel(std::function<void()> then);
  // True while a background read is in flight (tests).
  [[nodiscard]] bool reading() const { return reading_.has_value(); }

 private:
  // The checkers' verdicts as they apply to `next`: those of virtual servers it keeps, with the
  // weight of a live real server whose configured weight changed moved to the new one (what the
  // checkers' next verdict says: the engine gives configured + dynamic weight), so that the
  // reload's own pass programs it and the plan shows it. Only a weight equal to the old
  // configured one (no dynamic part) is moved; a 0 may be inhibit_on_failure's and stays.
  // inhibit_on_failure turned on brings a server that is out in at weight 0; turned off, it
  // takes out one at weight 0 that cannot be alive at 0 (configured weight not 0, no dynamic
  // part), as the checkers' next verdict does.
  [[nodiscard]] HealthOverlay rebased_health(const config::Config& next) const;
  // Keeps `config` and the check keys of its virtual servers.
  void set_config(std::shared_ptr<const config::Config> config);
  void plan_and_apply(const datapath::Table& actual, bool flush_foreign);
  // Sends `operations` (planned from `actual` and desired_), then updates ownership.
  void apply_planned(const datapath::Table& actual,
                     const std::vector<datapath::Operation>& operations);
  // Recomputes the services of `changed` blocks only and plans them against the last known
  // table (with the services whose operations failed since the last full pass); `fullnat`: one
  // of them uses FULLNAT, so everything is recomputed instead.
  void replan_blocks(const std::vector<const config::VirtualServer*>& changed, bool fullnat);
  // Sends `operations`, mirrors the successful ones into last_known_ and remembers the services
  // of failed ones for the next health pass.
  std::vector<datapath::OpResult> apply_operations(
      const std::vector<datapath::Operation>& operations);
  void schedule_resync();
  // The periodic pass's plan against a fresh table: counts the drift, applies, checks FULLNAT.
  void repair(const datapath::Table& actual);
  Result<datapath::Table> timed_dump();
  // Starts a background read (or joins the one in flight); `resync`: a periodic pass follows.
  void read_in_background(bool resync, std::function<void()> then);
  void finish_background_read(Result<ReadTables> tables);
  // Hands `tables` to options_.free_in_background, or frees them here.
  void free_tables(std::vector<datapath::Table> tables);
  // `verify`: read the table back and restore it if it differs (the periodic pass).
  void sync_fullnat(bool verify);
  void apply_fullnat(const char* why);
  // After an apply: does nft list the table as vigil renders it? If not, compare no more.
  void check_fullnat_listing();
  void save_ownership();

  datapath::Datapath& datapath_;
  Scheduler& scheduler_;
  LvsControllerOptions options_;
  std::shared_ptr<const config::Config> config_;  // the running configuration
  // The check key of each of its virtual servers, to its block (into config_).
  std::map<check::VirtualServerKey, const config::VirtualServer*> blocks_;
  // Which block a service key's entry comes from (the first naming it).
  std::map<datapath::ServiceKey, const config::VirtualServer*> service_owner_;
  // Services with an operation that failed since the last full pass: planned again by every
  // health pass until then.
  std::set<datapath::ServiceKey> retry_services_;
  HealthOverlay health_;   // the checkers' latest verdicts
  OverrideMap overrides_;  // the operators'
  DesiredLvs desired_;
  datapath::Ownership owned_;
  // The kernel's table after our last pass, as far as we know; no counters (kernel_ has them).
  datapath::Table last_known_;
  // What the FULLNAT table holds, as far as vigil knows.
  enum class FullNatState : uint8_t {
    kUnknown,  // at start: a killed vigild may have left a table
    kAbsent,   // removed (or never there)
    kApplied,  // applied_fullnat_ was loaded
    kFailed,   // the last apply failed: retried by the next pass
  };
  FullNatState fullnat_state_ = FullNatState::kUnknown;
  std::vector<FullNatService> applied_fullnat_;  // as last applied successfully
  // nft lists vigil's own ruleset differently from how vigil renders it (another nft version):
  // only a missing table is restored.
  bool fullnat_check_presence_only_ = false;
  std::optional<std::set<datapath::ServiceKey>> saved_ownership_;  // as last saved
  bool flush_on_stop_ = false;
  bool flush_on_stop_vs_only_ = false;
  Timer resync_timer_;
  Duration last_dump_duration_{};
  std::optional<TimePoint> last_dump_at_;
  bool sent_since_dump_ = false;  // operations applied since the last dump
  datapath::Table kernel_;        // the last dump
  // A read on another thread (options_.read_in_background), in flight.
  struct BackgroundRead {
    TimePoint started;
    // Sent and applied since it started: the dump may or may not show them, so they are applied
    // to it again (each is idempotent on a table) before it is planned against.
    std::vector<datapath::Operation> applied;
    bool resync = false;                      // a periodic pass waits for it
    std::vector<std::function<void()>> then;  // refresh_kernel()'s callers
  };
  std::optional<BackgroundRead> reading_;
  // Its answer is dropped when the controller is gone (the callback holds a weak reference).
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  Counters counters_;
};

}  // namespace vigil::lvs
