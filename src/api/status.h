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
  bool operator==(const VrrpInstanceStatus&) const = default;
};

struct RealServerStatus {
  std::string address;  // "[10.0.0.1]:tcp:80" (keepalived's FMT_RS)
  bool alive = false;
  int64_t weight = 0;  // effective (configured plus dynamic), as the checkers see it
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

// One side's contribution (the VRRP thread's, the check thread's).
struct StatusPart {
  std::vector<VrrpInstanceStatus> vrrp;
  std::vector<VirtualServerStatus> virtual_servers;
  std::vector<std::string> warnings;
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
  std::vector<std::string> warnings;
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

nlohmann::json to_json(const DaemonStatus& status);
std::string to_json_text(const DaemonStatus& status);
// vigilctl's side: the daemon's JSON back into the model; an error names what is wrong.
Result<DaemonStatus> status_from_json(std::string_view text);

// The one screen `vigilctl status` prints.
std::string render_status_text(const DaemonStatus& status);

// "3d 4h", "12m 5s", "42s".
std::string format_age(double seconds);

}  // namespace vigil::api
