// vigild's control API (docs/operations.md): the admin socket (0600, root: reads and changes)
// and the read-only one (0660, group vigil: GET only), on the main loop. Status is gathered from
// every side by posted reply (the VRRP and check threads build their parts and hand them over;
// nobody waits for them), with a deadline after which the answer says which side was silent.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/client.h"
#include "api/event_followers.h"
#include "api/events.h"
#include "api/metrics.h"
#include "api/plan.h"
#include "api/server.h"
#include "api/status.h"
#include "common/result.h"
#include "daemon/lvs/lvs_service.h"
#include "daemon/metrics_gather.h"
#include "daemon/service.h"
#include "daemon/side_gather.h"
#include "daemon/vrrp/vrrp_service.h"
#include "event/wall_clock.h"

namespace vigil::event {
class EventLoop;
}

namespace vigil::daemon {

struct ReloadOutcome {
  bool applied = false;
  std::string message;              // "configuration reloaded", or why it was refused
  std::vector<std::string> errors;  // "file:line:col: message" of a refused configuration
};

struct ControlOptions {
  api::SocketPaths sockets;
  // Group of the read-only socket; unset: root's (nobody else reads it).
  std::optional<gid_t> read_only_group;
  // The daemon's own part of the status (version, uptime, config, last reload, warnings).
  std::function<api::DaemonStatus()> daemon_status;
  // The sides whose parts complete it, asked in order.
  std::function<std::vector<Service*>()> services;
  // Reloads the configuration file now (as SIGHUP does) and says how it went; `who` names the
  // caller for the log.
  std::function<ReloadOutcome(const std::string& who)> reload;
  // reload --dry-run: reads the configuration file as a reload would (logging nothing) and
  // returns the plan's header (file, hash, errors) with the configuration the sides are to plan
  // against (null when the file would be refused).
  std::function<std::pair<api::ReloadPlan, SharedConfig>()> read_for_plan;
  // The IPVS side, for the overrides (null: vigild runs without it, -P).
  std::function<LvsService*()> lvs;
  // The VRRP side, for vrrp garp (null: no instance runs, or -C).
  std::function<VrrpService*()> vrrp;
  // GET /metrics (docs/operations.md "Metrics"): the daemon's own families (reloads, build
  // info); the control requests' and the sides' are added. Detail: the configured level (the
  // UNIX sockets take ?detail=basic|full). With an address, also served on TCP, /metrics only.
  std::function<api::MetricsPart()> daemon_metrics;
  bool metrics_full_detail = false;
  std::optional<config::GlobalDefs::MetricsListen> metrics_listen;
  // GET /v1/events: the main loop's journal (null: none kept).
  api::EventJournal* events = nullptr;
  // A follower sent nothing for this long gets a heartbeat line; zero: none.
  Duration events_heartbeat = api::EventFollowers::kDefaultHeartbeat;
  // vigilctl vrrp maintenance (control_vrrp.cc): the entries the state file held at start, and
  // how a changed set is saved (LvsService::save_vrrp_maintenance, or save_vrrp_maintenance_file
  // without the IPVS side). Unset: kept in memory only.
  lvs::VrrpMaintenanceMap vrrp_maintenance;
  std::function<Status(const lvs::VrrpMaintenanceMap&)> save_vrrp_maintenance;
  // `since` of a maintenance entry. Unset: event::wall_clock_now.
  event::WallClock wall_clock;
  // How long a status waits for a side before answering without it.
  Duration side_timeout = std::chrono::seconds(2);
  api::ServerLimits limits;
};

// The overrides as the API lists them.
std::vector<api::OverrideStatus> override_statuses(const std::vector<lvs::OverrideEntry>& entries);

// The routes, by socket: which requests each answers (documented in docs/operations.md).
enum class SocketKind { kAdmin, kReadOnly, kMetrics };

// Requests by listener, path and method (GET /metrics' vigil_control_requests_total), in a fixed
// table: counting allocates nothing, and no client can make series (a path that is not one of
// the API's counts as "other", a method other than GET and POST as "other").
class ControlRequestCounts {
 public:
  // In SocketKind's order.
  static constexpr std::array<std::string_view, 3> kListeners = {"admin", "read_only",
                                                                 "metrics_tcp"};
  static constexpr std::array<std::string_view, 13> kPaths = {
      "/metrics",      "/v1/status",     "/v1/services",         "/v1/events",
      "/v1/reload",    "/v1/log",        "/v1/overrides",        "/v1/rs",
      "/v1/vrrp/garp", "/v1/vrrp/stats", "/v1/vrrp/stats/clear", "/v1/vrrp/maintenance",
      "other"};
  static constexpr std::array<std::string_view, 3> kMethods = {"GET", "POST", "other"};

  void count(SocketKind kind, std::string_view path, std::string_view method);
  [[nodiscard]] uint64_t get(SocketKind kind, std::string_view path, std::string_view method) const;
  // One series per listener, path and method counted at least once.
  void add_to(api::MetricFamily& family) const;

 private:
  static size_t path_index(std::string_view path);
  static size_t method_index(std::string_view method);
  std::array<std::array<std::array<uint64_t, kMethods.size()>, kPaths.size()>, kListeners.size()>
      counts_{};
};

class ControlServer {
 public:
  // Creates both sockets (their directory must exist); fails when another live vigild serves
  // either.
  static Result<std::unique_ptr<ControlServer>> start(event::EventLoop& loop,
                                                      ControlOptions options);
  ~ControlServer();

  [[nodiscard]] const api::ServerCounters& admin_counters() const;
  [[nodiscard]] const api::ServerCounters& read_only_counters() const;
  // The metrics listener's port (0: none); its port when the configuration asked for port 0.
  [[nodiscard]] uint16_t metrics_port() const { return metrics_ ? metrics_->port() : 0; }

 private:
  ControlServer(event::EventLoop& loop, ControlOptions options);
  void handle(SocketKind kind, const api::HttpRequest& request, const api::PeerCredentials& peer,
              api::Responder respond);
  void status(const api::StatusQuery& query, api::Responder respond);
  // POST /v1/reload {"dry_run": true}: every side's plan, gathered as the status is.
  void plan(api::Responder respond);
  // POST /v1/log: one component's log level, or every one's.
  api::HttpResponse change_log_level(const api::HttpRequest& request,
                                     const api::PeerCredentials& peer);
  void metrics(SocketKind kind, const api::HttpRequest& request, api::Responder respond);
  // GET /v1/events[?since=SEQ][&follow=1]: the journal as JSON lines; following, a stream.
  void events(const api::HttpRequest& request, api::Responder respond);
  // GET /v1/vrrp/stats, POST /v1/vrrp/stats/clear, POST /v1/vrrp/maintenance (control_vrrp.cc):
  // false when `request` is for none of them (`respond` untouched).
  bool handle_vrrp_ops(SocketKind kind, const api::HttpRequest& request,
                       const api::PeerCredentials& peer, api::Responder& respond);
  // POST /v1/rs: drain, maint, weight or ready one real server (or one on every virtual server).
  api::HttpResponse change_real_server(const api::HttpRequest& request,
                                       const api::PeerCredentials& peer);

  event::EventLoop& loop_;
  ControlOptions options_;
  std::unique_ptr<api::ControlSocketServer> admin_;
  std::unique_ptr<api::ControlSocketServer> read_only_;
  // The status requests waiting for their sides.
  SideGatherer<api::StatusPart> status_gatherer_{loop_};
  SideGatherer<api::PlanPart> plan_gatherer_{loop_};
  std::unique_ptr<api::ControlSocketServer> metrics_;  // TCP, GET /metrics only
  MetricsGatherer metrics_gatherer_{loop_};
  // GET /v1/events?follow=1 streams (null without a journal).
  std::unique_ptr<api::EventFollowers> followers_;
  lvs::VrrpMaintenanceMap vrrp_maintenance_;  // as saved in the state file
  ControlRequestCounts requests_;
  // Lets posted status parts find out the server is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::daemon
