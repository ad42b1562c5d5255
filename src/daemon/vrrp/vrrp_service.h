// The VRRP side of vigild: every vrrp_instance of the configuration on its own LoopThread
// ("vrrp", SCHED_RR at vrrp_rt_priority), with one raw advert socket per (interface, family),
// the rtnetlink VIP manager, a LinkMonitor for the instance interfaces and track_interface,
// vrrp_script checks, track_file (inotify), sync groups, notify scripts and notify FIFOs
// (with their reader scripts). VrrpRuntime (vrrp_runtime.h) is the same without the thread.
//
// The Service calls come from the main loop thread; each hands its work to the VRRP loop and
// waits for it there, so everything VRRP owns is touched by the VRRP thread only. Blocking steps
// (NSS look-ups for script users, the interface address look-up) run on the calling thread
// before the hand-over.
//
// Known blocking on the VRRP thread: spdlog sinks take plain mutexes (transition and warning
// lines only, not the per-advert path), rtnetlink address changes wait for the kernel's ack,
// track_file reads a small file when inotify reports a change, and SIGUSR1/SIGUSR2 (taken by
// the daemon's main loop, which calls dump_data() / dump_stats()) write the dump files.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/vrrp_ops.h"
#include "common/time.h"
#include "daemon/service.h"
#include "daemon/vrrp/vrrp_translate.h"
#include "vrrp/state_machine.h"

namespace vigil::daemon {

struct VrrpServiceOptions {
  bool keep_vips_on_stop = false;  // -V (keepalived's --dont-release-vrrp)
  // SIGUSR1 writes the instance states here, SIGUSR2 the counters (keepalived's
  // /tmp/keepalived.data and /tmp/keepalived.stats), each as a new 0600 file that replaces what
  // is at the path without following it. vigild passes run_files()' names ($TMPDIR, _INST_NS).
  std::string data_file = "/tmp/vigil.data";
  std::string stats_file = "/tmp/vigil.stats";
  // SIGTERM/SIGINT stop the instances at once on the VRRP thread; stop() then finishes the job.
  bool handle_stop_signals = true;
  Duration notify_timeout = std::chrono::seconds(10);
  // How long stop() waits for notify_stop scripts before killing them.
  Duration stop_script_grace = std::chrono::seconds(2);
  PrimaryAddressLookup primary_address;  // empty: the interface's (vrrp::interface_primary_address)
  // Whether an interface exists, for the static entries' check at start and reload; empty: the
  // kernel's (vrrp::interface_index).
  std::function<bool(const std::string& interface)> interface_exists;
  // Told every state an instance reports (the states its notify scripts see), with kInitialize
  // when it stops (shutdown, or removed by a reload). Called on the VRRP thread: it must not
  // block; hand the event to another loop (EventLoop::post).
  std::function<void(const std::string& instance, vrrp::State state)> on_state_change;
  // Told every transition with its reason (GET /v1/events), on the VRRP thread; it must not
  // block (set_event_sink()).
  api::EventSink on_event;
  // vigilctl vrrp maintenance: the instances in maintenance at start (from the state file),
  // with their reasons. They never become MASTER, from the first moment.
  std::map<std::string, std::string> maintenance;
};

// vigilctl vrrp maintenance on|off INSTANCE|--all [--reason TEXT].
struct MaintenanceRequest {
  bool on = true;
  std::string instance;  // empty with `all`
  bool all = false;
  std::string reason;
};

// What a maintenance request did.
struct MaintenanceOutcome {
  api::MaintenanceChange change;
  std::string reason;
};

// Which instances `request` turns on or off (pure): the named instance and, when it is in a
// vrrp_sync_group, every member of the group (a group moves together: one member in maintenance
// keeps the whole group from MASTER, so all of them are put in maintenance and shown so); with
// `all`, every configured instance (and for `off` every orphaned entry too). `sync_groups` maps
// each configured instance to its group ("" for none); `in_maintenance` holds the current
// entries, orphaned ones included. An unknown name is an error, except an orphaned entry
// turned off.
Result<std::vector<std::string>> maintenance_targets(
    const MaintenanceRequest& request, const std::map<std::string, std::string>& sync_groups,
    const std::set<std::string>& in_maintenance);

class VrrpService final : public Service {
 public:
  explicit VrrpService(VrrpServiceOptions options = {});
  ~VrrpService() override;

  Status start(const SharedConfig& config) override;
  void reload(const SharedConfig& config) override;
  Result<Commit> prepare_reload(const SharedConfig& config) override;
  void plan_reload(const SharedConfig& config, PlanReply done) override;
  void stop() override;

  // SIGUSR1 / SIGUSR2: write the state / counter dumps on the VRRP thread; return once written.
  void dump_data() override;
  void dump_stats() override;
  // vigilctl vrrp garp: the master `instance` announces its addresses now; `done` gets the
  // outcome on the VRRP thread (it must hand it over, as status()'s does).
  void announce(const std::string& instance, std::function<void(Status)> done);
  // vigilctl vrrp maintenance: applied on the VRRP thread, `done` gets the outcome there (hand it
  // over, as status()'s does). The caller persists it (the state file).
  void set_maintenance(MaintenanceRequest request,
                       std::function<void(Result<MaintenanceOutcome>)> done);
  // vigilctl vrrp stats [--clear]: the counters since each instance's last clear; `clear` (the
  // instance named, every one when empty) takes a new baseline first. On the VRRP thread.
  void stats(std::optional<std::string> clear,
             std::function<void(Result<std::vector<api::VrrpInstanceStats>>)> done);
  // Built on the VRRP thread, handed to `done` there.
  void status(const api::StatusQuery& query, StatusReply done) override;
  void metrics(api::MetricsDetail detail, MetricsReply done) override;
  // Posts a no-op to the VRRP loop unless the previous one has not run yet (then false).
  bool alive() override;
  void set_event_sink(api::EventSink sink) override;

  class Runtime;  // lives on the VRRP thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::daemon
