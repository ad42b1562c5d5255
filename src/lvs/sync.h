// lvs_sync_daemon: the kernel's IPVS connection-sync daemon, run the way keepalived runs it.
//
// Bound to a VRRP instance (`lvs_sync_daemon IF VI ...`): the master daemon runs while that
// instance is MASTER, the backup daemon while it is INIT, BACKUP or FAULT, none once it stopped;
// one at a time, the other is stopped first. This is the VRRP side's job, so `vigild -C` runs
// none. Without an instance (`lvs_sync_daemon IF id N`), the IPVS side runs both daemons all the
// time, so `vigild -P` runs none. A daemon already running with the wanted parameters (left by an
// earlier vigild) is kept; one with other parameters is replaced; a reload that changes the
// parameters restarts the daemon, one that does not leaves it alone. At stop, vigil stops the
// daemons it started or kept, and never one it did not manage (no lvs_sync_daemon configured).
//
// Pure decisions (desired_sync_daemons, plan_sync_daemons) apart from the thin shell that acts
// through a Datapath: LvsSyncController (main loop). vigild's Service, which opens IPVS and takes
// VRRP state changes from the VRRP thread, is daemon/lvs/lvs_sync_service.h.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "config/model.h"
#include "datapath/datapath.h"
#include "vrrp/state_machine.h"

namespace vigil::lvs {

// The followed VRRP instance, as the sync controller knows it. kInit until it reports a state.
enum class SyncInstanceState : uint8_t { kInit, kBackup, kMaster, kFault, kStopped };
std::string_view to_string(SyncInstanceState state);  // "INIT", "BACKUP", ..., "STOPPED"

// VrrpServiceOptions::on_state_change's state: kInitialize there means the instance stopped.
SyncInstanceState sync_instance_state(vrrp::State reported);

// Which sides of vigild run: -P runs the VRRP side only, -C the IPVS side only.
struct SyncSides {
  bool vrrp = true;
  bool lvs = true;
};

// Whether this process manages the sync daemon at all: an instance-bound one belongs to the VRRP
// side, an unbound one to the IPVS side (keepalived's VRRP and checker processes).
bool manages_sync_daemon(const std::optional<config::LvsSyncDaemon>& config, SyncSides sides);

// The kernel request for `config` in `state`: unset options keep the kernel's defaults (port
// 8848, ttl 1, group 224.0.0.81, payload from the interface MTU).
datapath::SyncDaemonConfig sync_daemon_config(const config::LvsSyncDaemon& config,
                                              datapath::SyncDaemonState state);

// The daemons that should run (at most one per state, master first).
std::vector<datapath::SyncDaemonConfig> desired_sync_daemons(
    const std::optional<config::LvsSyncDaemon>& config, SyncInstanceState state, SyncSides sides);

// Whether a daemon the kernel reports is the one `wanted` asks for. The kernel reports the
// values it chose for unset ones, so an unset payload size matches any, and an unset group
// matches the default group.
bool reported_matches(const datapath::SyncDaemonConfig& wanted,
                      const datapath::SyncDaemonConfig& reported);

struct StartSyncDaemon {
  datapath::SyncDaemonConfig config;
  bool operator==(const StartSyncDaemon&) const = default;
};
struct StopSyncDaemon {
  datapath::SyncDaemonState state;
  bool operator==(const StopSyncDaemon&) const = default;
};
using SyncOperation = std::variant<StopSyncDaemon, StartSyncDaemon>;
// "start master sync daemon on eth1 (sync id 7, port 8848, ttl 1)", "stop backup sync daemon".
std::string to_string(const SyncOperation& operation);

struct SyncPlanInput {
  std::vector<datapath::SyncDaemonConfig> desired;
  // lvs_sync_daemon is configured: vigil manages both daemons, so any daemon running that is not
  // the desired one is replaced or stopped. Unset, only the daemons in `started` are vigil's.
  bool managed = false;
  std::vector<datapath::SyncDaemonConfig> running;  // as the kernel reports them
  // The daemons vigil started (as it asked for them) or kept, by state.
  std::map<datapath::SyncDaemonState, datapath::SyncDaemonConfig> owned;
};

struct SyncPlan {
  std::vector<SyncOperation> operations;  // stops first, then starts
  // Running daemons equal to the desired ones that vigil did not start: kept, and owned from now.
  std::vector<datapath::SyncDaemonConfig> kept;
};

// What to do to go from `running` to `desired`. A daemon vigil owns is compared with what vigil
// asked for (so a reload that changes an option restarts it); any other with reported_matches().
SyncPlan plan_sync_daemons(const SyncPlanInput& input);

struct LvsSyncControllerOptions {
  SyncSides sides;
  // After a failed dump, start or stop, the next attempt comes this much later.
  Duration retry_interval = std::chrono::seconds(10);
};

// Applies the decisions through a Datapath. Main-loop only.
class LvsSyncController {
 public:
  LvsSyncController(datapath::Datapath& datapath, Scheduler& scheduler,
                    LvsSyncControllerOptions options = {});
  LvsSyncController(const LvsSyncController&) = delete;
  LvsSyncController& operator=(const LvsSyncController&) = delete;

  // At start and on every reload (none: lvs_sync_daemon is not configured). Reconciles now.
  void configure(const std::optional<config::LvsSyncDaemon>& config);
  // A VRRP instance reported `state`. When it is the followed instance, a pass runs soon (after
  // the current handler), so states reported together (BACKUP then MASTER) make one change.
  void instance_state(const std::string& instance, SyncInstanceState state);
  // Stops the daemons vigil owns; later calls change nothing.
  void stop();

  [[nodiscard]] const std::map<datapath::SyncDaemonState, datapath::SyncDaemonConfig>& owned()
      const {
    return owned_;
  }
  [[nodiscard]] SyncInstanceState followed_state() const;
  [[nodiscard]] uint64_t passes() const { return passes_; }
  [[nodiscard]] uint64_t failures() const { return failures_; }

 private:
  void reconcile(const std::string& reason);
  void schedule_pass();
  void warn(const std::string& message);
  [[nodiscard]] std::string describe(const std::vector<datapath::SyncDaemonConfig>& daemons) const;

  datapath::Datapath& datapath_;
  Scheduler& scheduler_;
  LvsSyncControllerOptions options_;
  std::optional<config::LvsSyncDaemon> config_;
  std::map<std::string, SyncInstanceState> instances_;
  std::map<datapath::SyncDaemonState, datapath::SyncDaemonConfig> owned_;
  Timer pass_timer_;   // a pass requested by instance_state()
  Timer retry_timer_;  // the next attempt after a failure
  std::string last_warning_;
  bool stopped_ = false;
  uint64_t passes_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace vigil::lvs
