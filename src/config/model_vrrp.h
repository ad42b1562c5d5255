// VRRP part of the model (vrrp_script, track_file, vrrp_sync_group, vrrp_instance).
//
// Fields that inherit a global_defs default or depend on other settings are std::optional while
// parsing; finish_vrrp() resolves them, so after a successful parse every one of them is set.
// Defaults are keepalived 2.2.7's (checked against `keepalived -t` and its config dump).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/time.h"
#include "config/model_common.h"

namespace vigil::config {

// vrrp_script NAME { ... }: a periodic check whose exit status moves priority or causes a fault.
struct VrrpScript {
  std::string name;
  SourceLocation loc;
  Command script;  // required
  Duration interval = std::chrono::seconds(1);
  // keepalived runs the script with the interval as its time limit when no timeout is set.
  std::optional<Duration> timeout;  // resolved: interval
  int weight = 0;                   // -253..253; 0: failure means FAULT
  bool weight_reverse = false;
  uint32_t rise = 1;          // successes before OK
  uint32_t fall = 1;          // failures before KO
  std::optional<RunAs> user;  // unset: global_defs script_user
  bool init_fail = false;     // start in the failed state
};

// track_file NAME { ... } (vrrp_track_file is the older spelling).
struct TrackFile {
  std::string name;
  SourceLocation loc;
  std::string path;  // required
  int weight = 1;    // -254..254: the number in the file is multiplied by it
  bool weight_reverse = false;
  // init_file [VALUE] [overwrite]: write VALUE at startup if the file is missing (or always,
  // with overwrite).
  std::optional<int64_t> init_value;
  bool init_overwrite = false;
};

// One line of a track_interface, track_script or track_file block: `NAME [weight N [reverse]]`.
struct TrackRef {
  std::string name;
  // Unset: 0 for an interface; the vrrp_script's or track_file's own weight (and reverse flag)
  // otherwise. Resolved by finish_vrrp.
  std::optional<int> weight;
  bool reverse = false;
  SourceLocation loc;
};

// The tracking and notification settings that vrrp_sync_group and vrrp_instance share.
struct VrrpTracking {
  std::vector<TrackRef> interfaces;
  std::vector<TrackRef> scripts;
  std::vector<TrackRef> files;
};

struct VrrpNotify {
  std::optional<NotifyScript> master;
  std::optional<NotifyScript> backup;
  std::optional<NotifyScript> fault;
  std::optional<NotifyScript> stop;
  // `notify`: called on every transition with GROUP|INSTANCE NAME STATE PRIORITY appended.
  std::optional<NotifyScript> any;
  std::optional<bool> smtp_alert;               // resolved: global smtp_alert_vrrp
  std::optional<bool> notify_priority_changes;  // resolved: vrrp_notify_priority_changes
};

struct SyncGroupMember {
  std::string name;
  SourceLocation loc;
};

// vrrp_sync_group NAME { group { VI_1 VI_2 } ... }: instances that change state together.
struct VrrpSyncGroup {
  std::string name;
  SourceLocation loc;
  std::vector<SyncGroupMember> members;
  VrrpTracking track;
  VrrpNotify notify;
  bool sync_group_tracking_weight = false;  // members may use non-zero tracking weights
  // Parse bookkeeping: some lines were invalid (and reported); checks that would only repeat
  // those errors are skipped.
  bool had_invalid_lines = false;
};

enum class VrrpInitialState : uint8_t { kBackup, kMaster };
enum class VrrpAuthType : uint8_t { kNone, kPass, kAh };

// rtnetlink address scopes (RT_SCOPE_*), as `scope` names them.
inline constexpr uint8_t kScopeGlobal = 0;
inline constexpr uint8_t kScopeSite = 200;
inline constexpr uint8_t kScopeLink = 253;
inline constexpr uint8_t kScopeHost = 254;
inline constexpr uint8_t kScopeNowhere = 255;

inline constexpr uint32_t kLifetimeForever = 0xffffffff;

// One line of virtual_ipaddress / virtual_ipaddress_excluded:
// ADDR[/PREFIX] [brd ADDR] [dev IF] [scope SCOPE] [label LABEL] [peer ADDR] [home] [-nodad]
// [mngtmpaddr] [noprefixroute] [autojoin] [no_track] [preferred_lft N|forever] [use_vmac]
struct VirtualAddress {
  IpPrefix prefix;
  std::optional<IpAddress> broadcast;
  std::optional<IpAddress> peer;
  std::string dev;  // empty: the instance's interface
  std::string label;
  uint8_t scope = kScopeGlobal;
  std::optional<uint32_t> preferred_lft;  // seconds; kLifetimeForever for "forever"
  bool no_track = false;  // a deleted address does not take the instance out of MASTER
  bool home = false;
  bool nodad = false;
  bool mngtmpaddr = false;
  bool noprefixroute = false;
  bool autojoin = false;
  bool use_vmac = false;
  SourceLocation loc;
};

// rtnetlink route types (RTN_*) and protocols (RTPROT_*) as virtual_routes names them.
enum class RouteType : uint8_t {
  kUnicast = 1,
  kBlackhole = 6,
  kUnreachable = 7,
  kProhibit = 8,
  kThrow = 9,
};
inline constexpr uint32_t kTableMain = 254;         // RT_TABLE_MAIN
inline constexpr uint32_t kTableLocal = 255;        // RT_TABLE_LOCAL
inline constexpr uint32_t kTableDefault = 253;      // RT_TABLE_DEFAULT
inline constexpr uint8_t kProtocolKeepalived = 18;  // RTPROT_KEEPALIVED: what `ip route` shows

// How a route is added when a matching one exists (keepalived's add / prepend / append; the
// default is prepend, the kernel's NLM_F_CREATE alone).
enum class RouteAddMode : uint8_t { kPrepend, kAdd, kAppend };

// One line of virtual_routes (keepalived 2.2.7's subset that vigil implements):
// [inet|inet6] [TYPE] [to] PREFIX|default [src ADDR] [via|gw ADDR] [dev|oif IF] [table N]
// [metric|priority|preference N] [scope SCOPE] [protocol N] [tos|dsfield N] [onlink]
// [add|prepend|append] [no_track]
// TYPE is unicast, blackhole, unreachable, prohibit or throw.
struct VirtualRoute {
  IpPrefix destination;
  RouteType type = RouteType::kUnicast;
  std::optional<IpAddress> preferred_source;  // `src`: RTA_PREFSRC
  std::optional<IpAddress> gateway;           // `via` / `gw`
  std::string dev;                            // `dev` / `oif`; empty: the kernel picks
  uint32_t table = kTableMain;
  std::optional<uint32_t> metric;          // RTA_PRIORITY
  std::optional<uint8_t> scope;            // unset: global (keepalived: RT_SCOPE_UNIVERSE)
  uint8_t protocol = kProtocolKeepalived;  // `protocol`; keepalived's default
  uint8_t tos = 0;                         // `tos` / `dsfield`
  bool onlink = false;
  RouteAddMode add_mode = RouteAddMode::kPrepend;
  // keepalived: an untracked route stays where it is when deleted by someone else. A tracked
  // route needs `dev` and protocol keepalived (otherwise keepalived reports an error).
  bool no_track = false;
  SourceLocation loc;
};

// What a rule does (FR_ACT_*).
enum class RuleAction : uint8_t {
  kTable = 1,  // `table` / `lookup`
  kGoto = 2,
  kNop = 3,
  kBlackhole = 6,
  kUnreachable = 7,
  kProhibit = 8,
};

// One line of virtual_rules (keepalived 2.2.7's subset that vigil implements):
// [inet|inet6] [from PREFIX|all] [to PREFIX|all] [table|lookup N] [preference|order|priority N]
// [dev|iif IF] [oif IF] [fwmark N[/MASK]] [tos|dsfield N] [goto N | nop | [type] blackhole |
// unreachable | prohibit] [no_track]
struct VirtualRule {
  AddressFamily family = AddressFamily::kIpv4;
  std::optional<IpPrefix> from;
  std::optional<IpPrefix> to;
  RuleAction action = RuleAction::kTable;
  uint32_t table = 0;        // with kTable
  uint32_t goto_target = 0;  // with kGoto
  // Required (keepalived numbers rules without one and reports a configuration error).
  std::optional<uint32_t> priority;
  std::string iif;  // `dev` / `iif`
  std::string oif;
  std::optional<uint32_t> fwmark;
  std::optional<uint32_t> fwmask;
  uint8_t tos = 0;
  bool no_track = false;  // tracked rules carry protocol keepalived (FRA_PROTOCOL 18)
  SourceLocation loc;
};

// One line of unicast_peer: ADDR [min_ttl N] [max_ttl N].
struct UnicastPeer {
  IpAddress address;
  std::optional<uint8_t> min_ttl;
  std::optional<uint8_t> max_ttl;
  SourceLocation loc;
};

// Where a keyword was written, for checks that need the whole instance before they can judge it.
struct VrrpInstanceLocations {
  SourceLocation state;
  SourceLocation interface;
  SourceLocation virtual_router_id;
  SourceLocation priority;
  SourceLocation advert_int;
  SourceLocation version;
  SourceLocation nopreempt;
  SourceLocation preempt_delay;
  SourceLocation authentication;
  SourceLocation source_address;
  SourceLocation mcast_dst_ip;
  SourceLocation accept;
  SourceLocation unicast_ttl;
  SourceLocation unicast_keyword;  // the first keyword that only makes sense with unicast peers
};

struct VrrpInstance {
  std::string name;
  SourceLocation loc;
  VrrpInstanceLocations at;
  // Parse bookkeeping: some lines of its value blocks were invalid (and reported); checks that
  // would only repeat those errors are skipped.
  bool had_invalid_lines = false;

  VrrpInitialState state = VrrpInitialState::kBackup;
  std::string interface;          // required (keepalived 2.2.7 rejects an instance without one)
  uint8_t virtual_router_id = 0;  // 1..255; 0 while not given (an error)
  // keepalived: 255 (address owner) when state MASTER gives no priority, else 100.
  std::optional<uint8_t> priority;
  std::optional<uint8_t> version;  // resolved: 3 for IPv6, else global vrrp_version
  // v2: whole seconds 1..255; v3: centiseconds 0.01..40.95 s (checked once the version is known).
  Duration advert_int = std::chrono::seconds(1);
  AddressFamily family = AddressFamily::kIpv4;  // resolved from the virtual addresses
  bool native_ipv6 = false;                     // deprecated: forces IPv6

  bool nopreempt = false;
  Duration preempt_delay{0};  // 0..1000 s

  VrrpAuthType auth_type = VrrpAuthType::kNone;  // VRRPv2 only
  std::string auth_pass;                         // at most 8 characters (longer is truncated)

  std::optional<IpAddress> source_address;  // mcast_src_ip / unicast_src_ip
  std::optional<IpAddress> mcast_dst_ip;    // resolved: global vrrp_mcast_group4 / 6
  std::vector<UnicastPeer> unicast_peers;   // non-empty: unicast mode
  std::optional<uint8_t> unicast_ttl;
  bool unicast_fault_no_peer = false;
  bool track_src_ip = false;
  bool v3_checksum_as_v2 = false;  // v3 over IPv4 without the pseudo-header (old_unicast_checksum)

  std::vector<VirtualAddress> virtual_addresses;
  std::vector<VirtualAddress> excluded_addresses;  // virtual_ipaddress_excluded: not advertised
  std::vector<VirtualRoute> virtual_routes;        // added on MASTER, removed on leaving it
  std::vector<VirtualRule> virtual_rules;

  VrrpTracking track;
  bool dont_track_primary = false;
  VrrpNotify notify;
  std::optional<NotifyScript> notify_master_rx_lower_pri;
  bool notify_deleted = false;  // send DELETED (not FAULT) when removed by a reload
  std::optional<NotifyScript> notify_deleted_script;

  // Resolved from global_defs vrrp_garp_* when not set here.
  std::optional<Duration> garp_master_delay;
  std::optional<uint32_t> garp_master_repeat;
  std::optional<Duration> garp_master_refresh;  // 0: no refresh
  std::optional<uint32_t> garp_master_refresh_repeat;
  std::optional<Duration> garp_lower_prio_delay;
  std::optional<uint32_t> garp_lower_prio_repeat;
  std::optional<bool> lower_prio_no_advert;     // global vrrp_lower_prio_no_advert
  std::optional<bool> higher_prio_send_advert;  // global vrrp_higher_prio_send_advert
  std::optional<bool> skip_check_adv_addr;      // global vrrp_skip_check_adv_addr
  std::optional<bool> check_unicast_src;        // global vrrp_check_unicast_src
  std::optional<bool> strict_mode;              // global vrrp_strict
  std::optional<bool> accept;                   // default: on unless strict mode
  // Master_Down_Interval counts this many adverts (the RFCs' 3); resolved:
  // vrrp_down_timer_adverts.
  std::optional<uint32_t> down_timer_adverts;
  bool promote_secondaries = false;
  uint8_t debug = 0;  // 0..4, no effect

  // use_vmac [NAME]: the VIPs go on a macvlan with the RFC 5798 virtual MAC (vrrp/vmac.h);
  // NAME empty: keepalived's default name (global vmac_prefix). vmac_xmit_base: adverts leave
  // from `interface` instead.
  bool use_vmac = false;
  std::string vmac_interface;
  bool vmac_xmit_base = false;
};

// garp_group { garp_interval, gna_interval, interface / interfaces { ... } }: the least time
// between two gratuitous ARPs (two unsolicited NAs) sent on the listed interfaces, counted
// across all of them, for a switch that cannot take a burst. Interfaces in no group use
// global_defs' vrrp_garp_interval / vrrp_gna_interval, each on its own.
struct GarpGroupInterface {
  std::string name;
  SourceLocation loc;
};
struct GarpGroup {
  SourceLocation loc;
  std::optional<Duration> garp_interval;  // unset: ARPs on these interfaces are not spaced
  std::optional<Duration> gna_interval;   // unset: NAs on these interfaces are not spaced
  std::vector<GarpGroupInterface> interfaces;
};

struct VrrpSection {
  std::vector<GarpGroup> garp_groups;
  std::vector<VrrpScript> scripts;
  std::vector<TrackFile> track_files;
  std::vector<VrrpSyncGroup> sync_groups;
  std::vector<VrrpInstance> instances;
  // The top-level static_ipaddress, static_routes and static_rules blocks: set when the VRRP
  // side starts, before any instance runs, and removed when it stops, whatever the instances do
  // (keepalived 2.2.7). An address without `dev` goes on global_defs' default_interface (eth0
  // when unset).
  std::vector<VirtualAddress> static_addresses;
  std::vector<VirtualRoute> static_routes;
  std::vector<VirtualRule> static_rules;
};

}  // namespace vigil::config
