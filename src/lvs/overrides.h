// Operator overrides of real servers (vigilctl rs drain|maint|weight|ready): the model, the rules
// and the state file format. Pure: no clock is read (times are passed in as seconds since the
// Unix epoch), no file is touched (daemon/lvs/lvs_service.h loads and saves the state file).
//
// An override targets one real server of one virtual server, by the keys the checkers use
// (check::VirtualServerKey, and the real server's configured address and port):
// - drain: weight 0 in IPVS; the destination stays, so established connections continue.
// - maint: the destination leaves IPVS (its connections are cut over by IPVS as on a failure),
//   and the real server's checks are to pause (paused_checks(): the check engine's side).
// - weight N: the real server's weight while it is healthy.
// Removing an override (`ready`) gives the real server back to its health: an override only ever
// lowers or removes traffic, or sets the weight of a healthy server; it never brings a server
// the checkers find DOWN into IPVS, nor lifts one they hold at weight 0 (inhibit_on_failure, a
// dynamic weight of 0). Quorum and the sorry server stay the checkers' decision (computed from
// health alone).
//
// Overrides are local to one director: the VRRP peer does not learn them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "check/engine.h"
#include "check/spec.h"
#include "common/result.h"
#include "config/model.h"

namespace vigil::lvs {

struct OverrideTarget {
  check::VirtualServerKey virtual_server;
  check::RealServerKey real_server;  // as configured (port 0: the service's port)
  auto operator<=>(const OverrideTarget&) const = default;
};

enum class OverrideKind : uint8_t { kDrain, kMaint, kWeight };

// "drain", "maint", "weight".
std::string_view to_string(OverrideKind kind);
std::optional<OverrideKind> parse_override_kind(std::string_view text);

struct Override {
  OverrideKind kind = OverrideKind::kDrain;
  uint32_t weight = 0;             // kWeight: the weight in IPVS, 0..INT32_MAX
  uint32_t configured_weight = 0;  // kWeight: the real server's configured weight when set
  std::string reason;              // free text from the operator (may be empty)
  uint32_t uid = 0;                // who set it (SO_PEERCRED of the request)
  int32_t pid = 0;
  int64_t since = 0;               // when, seconds since the Unix epoch
  std::optional<int64_t> expires;  // --for: when it drops by itself, seconds since the epoch
  bool operator==(const Override&) const = default;
};

using OverrideMap = std::map<OverrideTarget, Override>;

// The longest reason kept (longer ones are cut): the state file and every listing carry it.
inline constexpr size_t kMaxReasonLength = 512;
// At most this many overrides (one per real server is the useful maximum; this bounds the state
// file a request can grow).
inline constexpr size_t kMaxOverrides = 100'000;

// "tcp", "udp", "sctp".
std::string_view protocol_label(config::LvsProtocol protocol);

// "[192.0.2.80]:tcp:80", "FWM 7", "[group]:80" (keepalived's FMT_VS).
std::string format_virtual_server(const check::VirtualServerKey& key);
// "[10.0.0.1]:80".
std::string format_real_server(const check::RealServerKey& key);
// "[192.0.2.80]:tcp:80 [10.0.0.1]:80".
std::string format_target(const OverrideTarget& target);

// The configured block and real server an override targets; nullptr when the configuration has
// none (the override is orphaned).
struct TargetInConfig {
  const config::VirtualServer* virtual_server = nullptr;
  const config::RealServer* real_server = nullptr;
};
TargetInConfig find_target(const config::Config& config, const OverrideTarget& target);

// The spellings an operator may name a virtual server by (resolve_targets(), vigilctl rs-setup):
// its FMT_VS label and "192.0.2.80:80" / "[2001:db8::1]:80", "fwmark:7", a group's "NAME",
// "group NAME" or "NAME:0" (a group's service has no port of its own).
std::vector<std::string> virtual_server_names(const check::VirtualServerKey& key);

// Every (virtual server, real server) of `config` whose virtual server's FMT_VS label or
// address:port ("192.0.2.80:80", "[2001:db8::1]:80", "FWM 7", or a group's name) is
// `virtual_server` and whose real server's address:port ("10.0.0.1:80", "[2001:db8::2]:80", or
// the address alone when it has one port) is `real_server`; with `all_virtual_servers`
// (--all-vs) any virtual server holding that real server. Empty: nothing matches.
std::vector<OverrideTarget> resolve_targets(const config::Config& config,
                                            std::string_view virtual_server,
                                            std::string_view real_server,
                                            bool all_virtual_servers = false);

// A new override for `target` checked against the running configuration: the target must exist;
// a weight must be 0..INT32_MAX; an expiry must be after `since`. kWeight records the real
// server's configured weight. The reason is cut to kMaxReasonLength.
Result<Override> make_override(const config::Config& config, const OverrideTarget& target,
                               Override wanted);

// Why an override was dropped by itself.
enum class DropReason : uint8_t {
  kExpired,                  // its --for ran out
  kConfiguredWeightChanged,  // a weight override whose real server's configured weight changed
};
std::string_view to_string(DropReason reason);

struct DroppedOverride {
  OverrideTarget target;
  Override override_;
  DropReason reason;
};

// Applies the rules to `overrides` for `config` at `now`: drops the expired ones and the weight
// overrides whose target's configured weight is no longer the one they were set against.
// Overrides whose target is not in `config` stay (orphaned: listed, not applied; they apply again
// when the target comes back, unless their weight rule drops them then). Returns what it dropped.
std::vector<DroppedOverride> prune_overrides(OverrideMap& overrides, const config::Config& config,
                                             int64_t now);

// The earliest expiry among `overrides`, if any.
std::optional<int64_t> next_expiry(const OverrideMap& overrides);

// The real servers whose checks are paused (maint): for the check engine.
std::set<OverrideTarget> paused_checks(const OverrideMap& overrides);

// An override as listed (vigilctl status / services, the API).
struct OverrideEntry {
  OverrideTarget target;
  Override override_;
  bool orphaned = false;  // its target is not in the running configuration: not applied
};
std::vector<OverrideEntry> list_overrides(const OverrideMap& overrides,
                                          const config::Config* config);

// What an override makes of a destination the health decided: `in` and `weight` are the health's
// verdict (in IPVS or not, and at what weight); the result is what goes to IPVS.
struct DestinationState {
  bool in = false;
  uint32_t weight = 0;
  bool operator==(const DestinationState&) const = default;
};
DestinationState apply_override(DestinationState health, const Override* override_);

// ---- the state file (libconfig, versioned) ----------------------------------------------------

inline constexpr int kOverrideFileVersion = 1;
// Larger files are refused as corrupt (kMaxOverrides entries fit far below this).
inline constexpr size_t kMaxOverrideFileSize = size_t{64} << 20;

// vigilctl vrrp maintenance on: a vrrp_instance kept BACKUP, not contending, until turned off.
// Kept by instance name; an entry whose instance is not in the running configuration is
// orphaned (kept, shown, applied again when the instance comes back).
struct VrrpMaintenance {
  std::string reason;  // cut to kMaxReasonLength
  uint32_t uid = 0;
  int32_t pid = 0;
  int64_t since = 0;  // seconds since the epoch
  bool operator==(const VrrpMaintenance&) const = default;
};
using VrrpMaintenanceMap = std::map<std::string, VrrpMaintenance>;
// At most this many entries (vrrp_instance names are bounded by the configuration; this bounds
// what a request or a hand-edited file can grow).
inline constexpr size_t kMaxVrrpMaintenance = 10'000;

// Everything the state file holds: the IPVS side's overrides and the VRRP side's maintenance.
// Both sides save through the main loop, each keeping the other's part (see daemon/state_file.h).
struct StateFile {
  OverrideMap overrides;
  VrrpMaintenanceMap vrrp_maintenance;
  bool operator==(const StateFile&) const = default;
};

// The state file's text: `version = 1;`, one group per override and, when there is any, a
// `vrrp_maintenance` list (optional in version 1: files without it read as none).
std::string format_state_file(const StateFile& state);
// `name` names the text in errors: "FILE:LINE: why". An unknown version is an error.
Result<StateFile> parse_state_file(const std::string& text, const std::string& name);

// The overrides alone (the VRRP maintenance is left out / ignored).
std::string format_override_file(const OverrideMap& overrides);
Result<OverrideMap> parse_override_file(const std::string& text, const std::string& name);

}  // namespace vigil::lvs
