// The IPVS side of vigild: an lvs::LvsController over the kernel's IPVS (generic netlink), and
// the operators' overrides of real servers (drain, maint, weight; lvs/overrides.h), kept in the
// state file across restarts and applied from the first IPVS programming on.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/events.h"
#include "common/time.h"
#include "daemon/service.h"
#include "datapath/datapath.h"
#include "event/event_loop.h"
#include "event/wall_clock.h"
#include "lvs/controller.h"
#include "lvs/overrides.h"

namespace vigil::daemon {

using DatapathFactory = std::function<Result<std::unique_ptr<datapath::Datapath>>()>;

// The production factory: IpvsNetlinkDatapath::open().
DatapathFactory ipvs_netlink_factory();

// The FULLNAT source NAT for real: net.ipv4.vs.conntrack=1 when there are services, then the
// ruleset of fullnat_ruleset() through `nft -f -` (one atomic transaction). Blocking: it runs on
// the main loop at reconcile time and waits for nft (a few milliseconds).
Status apply_fullnat_with_nft(const std::vector<lvs::FullNatService>& services);
// `nft list table inet vigil_fullnat`: the table as nft lists it; an error when it does not
// exist. Blocking like the apply.
Result<std::string> read_fullnat_with_nft();

// vigilctl vrrp maintenance without the IPVS side (vigild -P): the state file's VRRP part read
// at start (an unreadable or corrupt file is logged and read as none; LvsService sets it aside
// when it runs), and saved by replacing that part only (the overrides in the file are kept).
lvs::VrrpMaintenanceMap read_vrrp_maintenance(const std::string& state_file);
Status save_vrrp_maintenance_file(const std::string& state_file,
                                  const lvs::VrrpMaintenanceMap& maintenance);

struct OverrideStateOptions {
  // The state file (RunFiles::override_state_file); empty: overrides are kept in memory only.
  std::string state_file;
  // Gives `since` and expiry times (seconds since the epoch). Unset: event::wall_clock_now.
  event::WallClock wall_clock;
  // Called on the main loop after the overrides changed (a request, an expiry, a reload or a
  // start that dropped some). Each change is also an override event (set_event_sink()).
  std::function<void()> on_change;
};

// A change asked for by an operator (the control API).
struct OverrideRequest {
  lvs::OverrideTarget target;
  lvs::OverrideKind kind = lvs::OverrideKind::kDrain;
  uint32_t weight = 0;  // kWeight
  std::string reason;
  uint32_t uid = 0;  // the caller (SO_PEERCRED)
  int32_t pid = 0;
  std::optional<std::chrono::seconds> lasts;  // --for
};

// The periodic IPVS table dumps on a thread of their own, with a datapath of their own from the
// factory (lvs::LvsControllerOptions::read_in_background), so a drain never waits behind one.
struct BackgroundReadOptions {
  // Thread-safe: runs the callback on the main loop (event::EventLoop::post). Unset: the dumps
  // run on the main loop.
  std::function<void(std::function<void()>)> post_to_loop;
};

class LvsService final : public Service {
 public:
  LvsService(Scheduler& scheduler, DatapathFactory factory, lvs::LvsControllerOptions options,
             OverrideStateOptions overrides = {}, BackgroundReadOptions reads = {});
  ~LvsService() override;

  // Opens IPVS only when the configuration has virtual servers or LVS settings, so a
  // VRRP-only director runs on a kernel without IPVS.
  Status start(const SharedConfig& config) override;
  void reload(const SharedConfig& config) override;
  // Refuses a configuration that adds the first virtual servers when IPVS cannot be opened.
  Result<Commit> prepare_reload(const SharedConfig& config) override;
  // The IPVS operations (LvsController::plan_update) and the overrides the reload would orphan
  // or drop; at once, on the main loop.
  void plan_reload(const SharedConfig& config, PlanReply done) override;
  void stop() override;
  // Every change of an override is an event (api::OverrideEvent): set or cleared by an operator,
  // and vigild's own: expired, dropped (a start or a reload), orphaned or restored (a reload;
  // orphaned also at start). Reported on the main loop, in the order the changes are made.
  void set_event_sink(api::EventSink sink) override { event_sink_ = std::move(sink); }
  // On the main loop (after refresh_kernel(), like status()): the controller's counters, the
  // overrides and the kernel's figures.
  void metrics(api::MetricsDetail detail, MetricsReply done) override;
  // The services query (vigilctl services): each configured real server's destination as IPVS
  // holds it (LvsController::refresh_kernel(): no dump when the last one is recent) and when
  // its admin state last changed. On the main loop: at once, or when a background read ends.
  void status(const api::StatusQuery& query, StatusReply done) override;

  // The checkers' verdicts (check/engine.h), on the main loop; ignored until IPVS is open.
  void apply_health(const check::HealthBatch& batch);

  // Sets (or replaces) the override of one real server, on the main loop, once started. IPVS
  // gets one planned pass of the target's virtual server, then the state file is saved; when it
  // cannot be, the change is undone (another pass) and the error says why (logged at warn). An
  // unknown target or a bad weight is an error too. Returns the override as recorded.
  Result<lvs::Override> set_override(const OverrideRequest& request);
  // `ready`: removes the override of `target` (its health decides again; a DOWN server stays
  // out). No override there is an error; so is a state file that cannot be saved. `reason`: the
  // caller's, for the event.
  Status clear_override(const lvs::OverrideTarget& target, uint32_t uid, int32_t pid,
                        std::string_view reason = {});
  // Every override, orphaned ones (target not configured: not applied) included.
  [[nodiscard]] std::vector<lvs::OverrideEntry> overrides() const;
  // The real servers in maintenance, whose checks are to pause (the check engine's side).
  [[nodiscard]] std::set<lvs::OverrideTarget> paused_checks() const;
  // Gets paused_checks() now and on each change of it, on the main loop (the checkers' side).
  void on_paused_checks(std::function<void(const std::set<lvs::OverrideTarget>&)> sink);
  // The (virtual server, real server) pairs a request names (lvs::resolve_targets on the
  // running configuration).
  [[nodiscard]] std::vector<lvs::OverrideTarget> resolve_targets(std::string_view virtual_server,
                                                                 std::string_view real_server,
                                                                 bool all_virtual_servers) const;
  [[nodiscard]] const std::string& state_file() const { return state_options_.state_file; }
  // vigilctl vrrp maintenance: the VRRP side's part of the state file, kept and saved with the
  // overrides (one writer of the file, on the main loop). An error when it cannot be saved, or
  // before start() read the file (its overrides would be lost).
  Status save_vrrp_maintenance(lvs::VrrpMaintenanceMap maintenance);

 private:
  // The configured virtual servers and real servers as IPVS holds them (refresh_kernel()).
  struct KernelRealServer {
    lvs::OverrideTarget target;
    std::string label;                                   // "[10.0.0.1]:tcp:80"
    std::optional<api::KernelDestinationStatus> kernel;  // none: not in IPVS
  };
  struct KernelVirtualServer {
    check::VirtualServerKey key;
    std::string label;       // FMT_VS
    bool in_kernel = false;  // any of its services is in IPVS
    datapath::Stats stats;   // its services' counters, summed
    uint64_t active_connections = 0;
    uint64_t inactive_connections = 0;
    std::vector<KernelRealServer> real_servers;  // as configured
  };
  // From the last dump (refresh_kernel() first).
  std::vector<KernelVirtualServer> kernel_view();
  // LvsController::refresh_kernel(), or `then` at once when IPVS is not open.
  void refresh_kernel(std::function<void()> then);
  api::StatusPart real_servers_status();
  api::MetricsPart metrics_part(api::MetricsDetail detail);

  Status open_and_start(const SharedConfig& config);
  // IPVS for a reload that brings the first virtual servers, kept in opened_for_reload_ for
  // open_and_start(); nothing to do when it is open or not needed.
  Status open_ipvs_for(const config::Config& config);
  [[nodiscard]] int64_t wall_now() const;
  // Reads the state file at start. A file that cannot be read or parsed is logged (with its
  // line), set aside as PATH.broken-SECONDS and ignored.
  void load_state();
  Status save_state(const lvs::OverrideMap& overrides);
  // Drops expired overrides (and weight overrides the configuration outdated), logs them,
  // reports them, saves. True when it dropped any.
  enum class PruneWhen : uint8_t { kStart, kReload, kExpiry };
  bool prune(PruneWhen when);
  // Reports an override's change as an event (nothing without a sink).
  void report(api::OverrideEvent event);
  // Makes `next` the overrides: applied, then saved; undone when the save fails.
  Status commit(lvs::OverrideMap next);
  // The controller gets the overrides; the expiry timer is armed for the next one.
  void overrides_changed();
  // on_change, and the paused checks' sink when they changed.
  void announce_change();
  void arm_expiry();
  // Opens the reading thread's datapath and starts it; a failure leaves the dumps on the loop.
  void start_background_reads();
  void stop_background_reads();

  Scheduler& scheduler_;
  DatapathFactory factory_;
  lvs::LvsControllerOptions options_;
  OverrideStateOptions state_options_;
  SharedConfig config_;  // the running configuration
  lvs::OverrideMap overrides_;
  std::function<void(const std::set<lvs::OverrideTarget>&)> paused_sink_;
  std::set<lvs::OverrideTarget> paused_sent_;  // as the sink last got it
  lvs::OverrideMap announced_;                 // the overrides as announce_change() last saw them
  std::map<lvs::OverrideTarget, int64_t> admin_changed_;  // set, cleared or dropped since start
  lvs::VrrpMaintenanceMap vrrp_maintenance_;  // kept for the VRRP side (not interpreted here)
  bool state_loaded_ = false;
  // A broken state file that could not be set aside: never overwritten, so nothing is saved.
  std::optional<std::string> unsaveable_;
  api::EventSink event_sink_;
  Timer expiry_timer_;
  std::unique_ptr<datapath::Datapath> datapath_;
  // Opened by open_ipvs_for() for a reload that adds the first virtual servers.
  std::unique_ptr<datapath::Datapath> opened_for_reload_;
  std::unique_ptr<lvs::LvsController> controller_;
  BackgroundReadOptions reads_;
  // The reading thread's own handle; only that thread uses it while it runs (declared before
  // the thread, so the thread is joined before it goes).
  std::unique_ptr<datapath::Datapath> read_datapath_;
  std::unique_ptr<event::LoopThread> read_thread_;
};

// True when `config` asks for anything in IPVS tables (lvs_sync_daemon is LvsSyncService's).
bool needs_ipvs(const config::Config& config);

}  // namespace vigil::daemon
