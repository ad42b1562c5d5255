// `vigilctl vrrp stats` and `vigilctl vrrp maintenance`: the model of what GET /v1/vrrp/stats
// answers, the counters shown since the last `--clear`, and the text for people. Pure.
//
// Clearing never resets a counter: /metrics exposes the same counters as `_total`, and a
// Prometheus counter must never go backwards. The VRRP side keeps, per instance, a copy of the
// counters taken at the last clear (the baseline); the stats show current minus baseline.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace vigil::api {

// Changes that remove or retype a field bump it; added fields do not.
inline constexpr const char* kVrrpStatsSchema = "vigil-vrrp-stats/1";

// The counters of keepalived's SIGUSR2 stats file that vigild keeps, for one instance.
struct VrrpCounters {
  uint64_t adverts_received = 0;
  uint64_t adverts_sent = 0;
  uint64_t advert_send_failures = 0;
  uint64_t became_master = 0;
  uint64_t released_master = 0;
  uint64_t priority_zero_received = 0;
  uint64_t priority_zero_sent = 0;
  uint64_t own_adverts_ignored = 0;
  uint64_t vip_failures = 0;
  // Adverts dropped by the checks of RFC 5798 §7.1, by reason (packet errors, TTL,
  // authentication, ...), in the daemon's reason order.
  std::vector<std::pair<std::string, uint64_t>> rejected;
  [[nodiscard]] uint64_t rejected_total() const;
  bool operator==(const VrrpCounters&) const = default;
};

// `current` minus `baseline`, field by field (a reason missing from the baseline counts from
// 0; a counter below its baseline, which a reload that re-created the instance could cause,
// shows 0).
VrrpCounters counters_since(const VrrpCounters& current, const VrrpCounters& baseline);

struct VrrpInstanceStats {
  std::string name;
  std::string state;
  bool maintenance = false;
  // Seconds since `vrrp stats --clear` for this instance; none: never cleared (the counters
  // run since the instance started).
  std::optional<double> cleared_seconds_ago;
  VrrpCounters counters;  // since the clear
  bool operator==(const VrrpInstanceStats&) const = default;
};

nlohmann::json to_json(const std::vector<VrrpInstanceStats>& stats);
std::string vrrp_stats_json_text(const std::vector<VrrpInstanceStats>& stats);
Result<std::vector<VrrpInstanceStats>> vrrp_stats_from_json(std::string_view text);

// Every instance (or the one named) with its counters. Empty: none matched.
std::string render_vrrp_stats_text(const std::vector<VrrpInstanceStats>& stats,
                                   const std::string& only = "");

// POST /v1/vrrp/maintenance's answer, for people: "VI_1: maintenance on" per instance.
struct MaintenanceChange {
  bool on = false;
  std::vector<std::string> changed;    // instances whose maintenance was turned on / off now
  std::vector<std::string> unchanged;  // already so
};
std::string render_maintenance_change(const MaintenanceChange& change);

}  // namespace vigil::api
