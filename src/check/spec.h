// What the checker core is given: checker, real-server and virtual-server specs translated from the
// parsed configuration (config/model_lvs.h, keepalived's defaults and VS -> RS -> checker
// inheritance already resolved there). Plain values, compared with `= default`, never holding
// source locations, so a comment line added to the file changes nothing.
//
// The identity of a checker is exactly what keepalived 2.2.7 compares on reload to keep a
// checker's state (shared/reference/checkers.md §1.4): delay_loop, retry, delay_before_retry,
// warmup, alpha, log_all_failures, http_protocol, enable_sni and fast_recovery do not count.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/ip_address.h"
#include "common/time.h"
#include "config/model_lvs.h"

namespace vigil::config {
struct Config;
}

namespace vigil::check {

using config::CheckerType;

// keepalived's IPVS_WEIGHT_LIMIT: weights written to IPVS are clamped to [0, this].
inline constexpr int64_t kMaxIpvsWeight = INT32_MAX;

// ---- identity (checkers.md §1.4) --------------------------------------------------------------

// compare_conn_opts: the destination (connect_ip:connect_port), bindto with its port, bind_if,
// connect_timeout and fwmark.
struct ConnectionIdentity {
  IpAddress connect_ip;
  uint16_t connect_port = 0;
  std::optional<IpAddress> bind_ip;
  uint16_t bind_port = 0;
  std::string bind_if;
  Duration connect_timeout{0};
  uint32_t fwmark = 0;
  bool operator==(const ConnectionIdentity&) const = default;
};

struct HttpUrlIdentity {
  std::string path;
  std::optional<std::array<uint8_t, 16>> digest;
  std::vector<config::StatusRange> status_codes;
  std::string virtualhost;
  std::string regex;
  bool regex_no_match = false;
  std::vector<std::string> regex_options;
  std::optional<uint32_t> regex_min_offset;
  std::optional<uint32_t> regex_max_offset;
  bool operator==(const HttpUrlIdentity&) const = default;
};

// HTTP_GET / SSL_GET: the url list and the checker's virtualhost; not http_protocol, enable_sni
// or fast_recovery. (keepalived HEAD also compares sni_name, which vigil does not parse.)
struct HttpIdentity {
  std::vector<HttpUrlIdentity> urls;
  std::string virtualhost;
  bool operator==(const HttpIdentity&) const = default;
};

// compare_smtp_check: helo_name and the connection. keepalived 2.2.7 makes each `host {}` block a
// checker of its own (smtp_check_end_handler) with its own connection, so an SMTP checker has
// exactly one connection and the hosts are not a list to compare.
struct SmtpIdentity {
  std::string helo_name;
  bool operator==(const SmtpIdentity&) const = default;
};

struct DnsIdentity {
  config::DnsType type = config::DnsType::kSoa;
  std::string name;
  bool operator==(const DnsIdentity&) const = default;
};

// MISC_CHECK: argv and misc_dynamic (not misc_timeout, not the user).
struct MiscIdentity {
  std::vector<std::string> argv;
  bool dynamic = false;
  bool operator==(const MiscIdentity&) const = default;
};

// The fields keepalived compares, and nothing else. UDP_CHECK and PING_CHECK compare only the
// connection (payload and require_reply do not count); MISC_CHECK has no connection.
// FILE_CHECK is never matched on reload (keepalived has no compare function for it: its state is
// re-derived from the file); see matches().
struct CheckerIdentity {
  CheckerType type = CheckerType::kTcp;
  std::optional<ConnectionIdentity> connection;
  std::variant<std::monostate, HttpIdentity, SmtpIdentity, DnsIdentity, MiscIdentity> detail;
  bool operator==(const CheckerIdentity&) const = default;
};

// keepalived's reload match: same type and compare() true; FILE_CHECK never matches.
[[nodiscard]] bool matches(const CheckerIdentity& old_checker, const CheckerIdentity& new_checker);

// ---- specs ------------------------------------------------------------------------------------

// Everything the checker state machine needs. The probe's own parameters (payloads, urls,
// scripts) stay in the config model for the I/O layer.
struct CheckerSpec {
  CheckerIdentity identity;
  // "TCP 10.0.0.1:80": the type and what it checks; log lines are "[label] ...".
  std::string label;
  Duration delay_loop{0};
  Duration delay_before_retry{0};
  Duration warmup{0};  // 0: the first probe is at exactly 1 s
  uint32_t retry = 0;
  bool alpha = false;
  bool log_all_failures = false;
  // MISC_CHECK misc_dynamic uses the real server's configured weight (cur_weight is the exit
  // status - 2 - this).
  int64_t real_server_weight = 1;
  // FILE_CHECK: the multiplier and reverse flag (model: FileCheck).
  int32_t file_weight = 1;
  bool file_reverse = false;
  // HTTP_GET / SSL_GET fast_recovery: no delay_loop between urls before the first complete pass
  // and while a down checker walks its urls again (check_http.c epilog). Not identity.
  bool fast_recovery = false;

  // ---- beyond keepalived (opt-in; the defaults behave exactly as keepalived 2.2.7) -----------
  // Consecutive successes a down checker needs to come back up; keepalived: 1.
  uint32_t rise = 1;
  // Every interval (delay_loop, delay_before_retry) is drawn uniformly from
  // [d - d*p/100, d + d*p/100]; 0: keepalived's fixed intervals. At most 50.
  uint32_t interval_jitter_percent = 0;

  bool operator==(const CheckerSpec&) const = default;
};

// keepalived identifies a real server by address:port within its virtual server.
struct RealServerKey {
  IpAddress address;
  uint16_t port = 0;
  auto operator<=>(const RealServerKey&) const = default;
};

struct RealServerSpec {
  RealServerKey key;
  int64_t weight = 1;  // configured (keepalived's iweight), 0..INT32_MAX
  bool inhibit_on_failure = false;
  bool alpha = false;
  // Boxed (a pointer, as in the config model): most real servers have none, and two optional
  // scripts inline were 300 of each real server's 370 bytes (docs/performance.md).
  config::Box<config::LvsScript> notify_up;
  config::Box<config::LvsScript> notify_down;
  std::vector<CheckerSpec> checkers;
  bool operator==(const RealServerSpec&) const = default;
};

struct SorryServerSpec {
  RealServerKey key;
  bool inhibit = false;  // sorry_server_inhibit
  bool operator==(const SorryServerSpec&) const = default;
};

// keepalived's vs_iseq: a group name + port, or family + protocol + address:port, or a fwmark
// (with its family).
struct VirtualServerKey {
  config::VirtualServerKind kind = config::VirtualServerKind::kAddress;
  AddressFamily family = AddressFamily::kIpv4;
  config::LvsProtocol protocol = config::LvsProtocol::kTcp;
  IpAddress address;
  uint16_t port = 0;
  uint32_t fwmark = 0;
  std::string group;
  auto operator<=>(const VirtualServerKey&) const = default;
};

struct VirtualServerSpec {
  VirtualServerKey key;
  // keepalived's FMT_VS: "[10.0.0.100]:tcp:80", "FWM 7", "[group]:80".
  std::string label;
  // keepalived's service_type for FMT_RS: "tcp", "udp", "sctp"; "none" for fwmark services.
  std::string protocol_name;
  uint32_t quorum = 1;
  uint32_t hysteresis = 0;
  bool omega = false;
  std::optional<config::LvsScript> quorum_up;
  std::optional<config::LvsScript> quorum_down;
  std::optional<SorryServerSpec> sorry_server;
  // global rs_init_notifies: notify_up (and the FIFO line) for real servers alive at start.
  bool rs_init_notifies = false;
  std::vector<RealServerSpec> real_servers;
  bool operator==(const VirtualServerSpec&) const = default;
};

// "[10.0.0.1]:tcp:80" (keepalived's FMT_RS; IPv6 as "[2001:db8::1]:tcp:80").
[[nodiscard]] std::string format_real_server(const RealServerKey& key,
                                             const std::string& protocol_name);

// ---- translation from the config model ----------------------------------------------------------

// The checker's connection options (TCP, HTTP, SSL, SMTP, DNS, UDP, PING).
[[nodiscard]] ConnectionIdentity connection_of(const config::Checker& checker);
[[nodiscard]] CheckerSpec translate(const config::Checker& checker, const config::RealServer& rs);
[[nodiscard]] VirtualServerSpec translate(const config::VirtualServer& vs);
[[nodiscard]] std::vector<VirtualServerSpec> translate(const config::Config& config);

// keepalived's load-time reductions (checkers.md §1.3, check_data.c): a quorum above the total
// configured weight of the real servers is reduced to it, and a hysteresis >= quorum to
// quorum - 1, each with a warning (returned, for the caller to log). vigil's config validation
// refuses both today, so only specs built by hand (or a later relaxed validator) reach them.
// keepalived would set hysteresis to UINT_MAX for a quorum reduced to 0; vigil sets 0.
[[nodiscard]] std::vector<std::string> reduce_quorum(VirtualServerSpec& vs);

}  // namespace vigil::check
