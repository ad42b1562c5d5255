// What `GET /v1/status` answers and `vigilctl status` shows: the daemon, each VRRP instance,
// each virtual server, warnings. Each side of vigild (VRRP, checkers) fills its part on its own
// thread; the control server merges them. JSON is the wire form (versioned by kStatusSchema);
// the text is for people. Pure.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace vigil::api {

// Changes that remove or retype a field bump it; added fields do not.
inline constexpr const char* kStatusSchema = "vigil-status/1";

struct TransitionStatus {
  std::string from;    // "BACKUP"
  std::string to;      // "MASTER"
  std::string reason;  // "master-down-timer"
  double seconds_ago = 0;
  bool operator==(const TransitionStatus&) const = default;
};

struct VrrpInstanceStatus {
  std::string name;
  std::string state;  // INIT, BACKUP, MASTER, FAULT (keepalived's words)
  std::string interface;
  int vrid = 0;
  int base_priority = 0;
  int effective_priority = 0;
  // The current master's primary address: ours when MASTER, the last advert's source when
  // BACKUP; empty when unknown (no advert heard yet, FAULT, INIT).
  std::string master_address;
  std::string sync_group;
  std::vector<std::string> virtual_addresses;
  std::optional<TransitionStatus> last_transition;
  // vigilctl vrrp: the instance's settings and counters since start.
  int version = 3;
  double advert_interval_seconds = 1;
  bool preempt = true;
  bool fault = false;
  uint64_t adverts_sent = 0;
  uint64_t adverts_received = 0;
  uint64_t became_master = 0;
  uint64_t released_master = 0;
  uint64_t rejected = 0;  // adverts dropped by the checks of RFC 5798 §7.1, every reason
  uint64_t vip_failures = 0;
  // vigilctl vrrp maintenance on: BACKUP and not contending until turned off.
  bool maintenance = false;
  std::string maintenance_reason;
  bool operator==(const VrrpInstanceStatus&) const = default;
};

// One checker of a real server (vigilctl services).
struct CheckerStatus {
  std::string name;  // "TCP_CHECK", "HTTP_GET [/health]" (the checker's label)
  bool up = true;
  bool has_run = false;
  uint64_t probes = 0;
  std::optional<double> latency_seconds;  // the last probe's
  std::string last_error;                 // the last failed probe's detail
  bool paused = false;  // `rs maint`: no probe runs, `up` is the state it had (JSON: when true)
  bool operator==(const CheckerStatus&) const = default;
};

// A real server's destination as IPVS holds it (the IPVS side's last dump; a virtual server
// group's services summed, the weight of the first). JSON: "kernel", absent when the real server
// is not in IPVS (maintenance, down) or IPVS is not read.
struct KernelDestinationStatus {
  int64_t weight = 0;
  uint64_t active_connections = 0;
  uint64_t inactive_connections = 0;
  uint64_t connections = 0;  // counters since the destination was added
  uint64_t packets_in = 0;
  uint64_t packets_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  bool operator==(const KernelDestinationStatus&) const = default;
};

struct RealServerStatus {
  std::string address;  // "[10.0.0.1]:tcp:80" (keepalived's FMT_RS)
  bool alive = false;
  int64_t weight = 0;  // effective (configured plus dynamic), as the checkers see it
  std::vector<CheckerStatus> checkers;  // with StatusQuery::real_servers only
  // With StatusQuery::real_servers only (each absent when unknown):
  std::optional<KernelDestinationStatus> kernel;
  // The last change of its health (alive) or admin state (an override set, cleared or expired)
  // since vigild started.
  std::optional<double> last_change_seconds_ago;
  bool operator==(const RealServerStatus&) const = default;
};

struct VirtualServerStatus {
  std::string name;  // "[10.0.0.100]:tcp:80", "FWM 7" (keepalived's FMT_VS)
  size_t alive = 0;
  size_t total = 0;
  bool quorum_up = true;
  int64_t live_weight = 0;
  int64_t quorum = 1;
  bool sorry_server_active = false;
  std::vector<RealServerStatus> real_servers;
  bool operator==(const VirtualServerStatus&) const = default;
};

struct ReloadStatus {
  uint64_t count = 0;  // reloads attempted since start
  bool ok = true;      // the last one
  double seconds_ago = 0;
  std::string message;  // why the last one was refused
  bool operator==(const ReloadStatus&) const = default;
};

// An operator's drain, maintenance or weight override of one real server (local to this
// director: the peer does not learn it).
struct OverrideStatus {
  std::string virtual_server;  // "[192.0.2.80]:tcp:80"
  std::string real_server;     // "[10.0.0.1]:80"
  std::string kind;            // "drain", "maint", "weight"
  uint32_t weight = 0;         // kind "weight"
  std::string reason;
  uint32_t uid = 0;
  int32_t pid = 0;
  int64_t since = 0;               // seconds since the epoch
  std::optional<int64_t> expires;  // seconds since the epoch
  bool orphaned = false;           // its target is not in the running configuration
  bool operator==(const OverrideStatus&) const = default;
};

// What a status asks the sides for: the summary (GET /v1/status), or every real server with its
// checkers too (GET /v1/services).
struct StatusQuery {
  bool real_servers = false;
};

// The IPVS side's word on one real server of one virtual server (merged into the check side's
// RealServerStatus).
struct KernelRealServer {
  std::string virtual_server;  // as VirtualServerStatus::name
  std::string real_server;     // "[10.0.0.1]:80" (without the protocol)
  std::optional<KernelDestinationStatus> kernel;
  std::optional<double> admin_changed_seconds_ago;
  bool operator==(const KernelRealServer&) const = default;
};

// One side's contribution (the VRRP thread's, the check thread's, the IPVS side's).
struct StatusPart {
  std::vector<VrrpInstanceStatus> vrrp;
  std::vector<VirtualServerStatus> virtual_servers;
  std::vector<std::string> warnings;
  std::vector<KernelRealServer> kernel;
};

struct DaemonStatus {
  std::string version;
  int64_t pid = 0;
  double uptime_seconds = 0;
  std::string config_file;
  std::string config_hash;  // sha256 of the files read, in order
  std::string net_namespace;
  std::string instance;
  std::optional<ReloadStatus> last_reload;
  std::vector<VrrpInstanceStatus> vrrp;
  std::vector<VirtualServerStatus> virtual_servers;
  std::vector<OverrideStatus> overrides;
  std::vector<std::string> warnings;
  // The IPVS side's part until every part is in (not in the JSON: merge() puts it in
  // virtual_servers).
  std::vector<KernelRealServer> kernel;
  bool operator==(const DaemonStatus&) const = default;

  void merge(StatusPart part);
};

// Healthy, or degraded with the reasons: an instance in FAULT (or still INIT), a virtual server
// with a dead real server or without its quorum, the last reload refused. Warnings are shown,
// and do not degrade.
struct Assessment {
  bool healthy = true;
  std::vector<std::string> reasons;
};
Assessment assess(const DaemonStatus& status);

nlohmann::json to_json(const OverrideStatus& override_status);
Result<OverrideStatus> override_from_json(const nlohmann::json& json);
nlohmann::json to_json(const DaemonStatus& status);
std::string to_json_text(const DaemonStatus& status);
// vigilctl's side: the daemon's JSON back into the model; an error names what is wrong.
Result<DaemonStatus> status_from_json(std::string_view text);

// The one screen `vigilctl status` prints. `now` (seconds since the epoch) dates overrides.
std::string render_status_text(const DaemonStatus& status, int64_t now = 0);
// The overrides as a table (vigilctl status and vigilctl overrides).
std::string render_overrides_text(const std::vector<OverrideStatus>& overrides, int64_t now);

// `vigilctl services`: each virtual server with its real servers (health, weight, override,
// checkers). An empty `only` shows all; else the virtual servers `only` names
// ("[192.0.2.80]:tcp:80", "192.0.2.80:80", "FWM 7"). Empty string: none matched.
std::string render_services_text(const DaemonStatus& status, const std::string& only = "");
// `vigilctl vrrp [INSTANCE]`: every instance (or the one named) in detail. Empty: none matched.
std::string render_vrrp_text(const DaemonStatus& status, const std::string& only = "");
// True when `name` (keepalived's FMT_VS) is what an operator typed as `spelling`.
bool virtual_server_matches(const std::string& name, const std::string& spelling);

// "3d 4h", "12m 5s", "42s".
std::string format_age(double seconds);

}  // namespace vigil::api
