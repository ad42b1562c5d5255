// LVS part of the model (virtual_server_group, virtual_server, real_server, checkers, SSL).
//
// Defaults are resolved as keepalived 2.2.7 resolves them: a virtual server's setting is the
// default for its real servers, and a real server's setting the default for its checkers
// (finish_lvs does this after the whole file is read). Every field below holds the resolved
// value once parsing is done.
//
// Sized for ~37,000 real servers with a checker each: per-type checker data that needs the heap
// anyway lives behind a Box, so a TCP_CHECK costs no allocation beyond the checkers vector.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/ip_address.h"
#include "common/time.h"
#include "config/model_common.h"

namespace vigil::config {

// A nullable owning pointer with value semantics (copies deep-copy), for optional parts of the
// model that are large and rare: one pointer in the common case instead of the whole part.
template <class T>
class Box {
 public:
  Box() = default;
  explicit Box(T value) : ptr_(std::make_unique<T>(std::move(value))) {}
  Box(const Box& other) : ptr_(other.ptr_ ? std::make_unique<T>(*other.ptr_) : nullptr) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& other) {
    if (this != &other) ptr_ = other.ptr_ ? std::make_unique<T>(*other.ptr_) : nullptr;
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  ~Box() = default;

  T& emplace() {
    ptr_ = std::make_unique<T>();
    return *ptr_;
  }
  [[nodiscard]] explicit operator bool() const { return ptr_ != nullptr; }
  [[nodiscard]] T* get() const { return ptr_.get(); }
  T& operator*() const { return *ptr_; }
  T* operator->() const { return ptr_.get(); }
  bool operator==(const Box& other) const {
    if (!ptr_ || !other.ptr_) return ptr_ == other.ptr_;
    return *ptr_ == *other.ptr_;
  }

 private:
  std::unique_ptr<T> ptr_;
};

// A script keyword with keepalived's "SCRIPT [username [groupname]]" form (notify_up,
// notify_down, quorum_up, quorum_down): the script is one token, quoted if it has arguments.
struct LvsScript {
  Command command;
  std::optional<RunAs> run_as;  // unset: global_defs script_user
  bool operator==(const LvsScript&) const = default;
};

enum class LvsProtocol : uint8_t { kTcp, kUdp, kSctp };

// IPVS schedulers (ip_vs_<name> kernel modules), in keepalived's spelling.
enum class Scheduler : uint8_t {
  kRr,
  kWrr,
  kLc,
  kWlc,
  kLblc,
  kLblcr,
  kDh,
  kSh,
  kSed,
  kNq,
  kMh,
  kFo,
  kOvf,
  kTwos,
};

// lvs_method / lb_kind. kFullNat is vigil's extension (not in keepalived or the mainline
// kernel's IPVS): full NAT rewrites both source and destination, so it is validated exactly like
// NAT (real server port may differ, families must match). keepalived rejects the word.
enum class ForwardingMethod : uint8_t { kNat, kDirectRouting, kTunnel, kFullNat };

enum class TunnelType : uint8_t { kIpip, kGue, kGre };

// The optional checksum word after a TUN type: nocsum|csum|remcsum (GUE and GRE only;
// remcsum GUE only).
enum class TunnelChecksum : uint8_t { kNone, kNoCsum, kCsum, kRemCsum };

// lvs_method NAT|DR|FULLNAT or lvs_method TUN [type {ipip|gue port N|gre} [nocsum|csum|remcsum]]
struct Forwarding {
  ForwardingMethod method = ForwardingMethod::kNat;
  TunnelType tunnel_type = TunnelType::kIpip;  // TUN only
  TunnelChecksum tunnel_checksum = TunnelChecksum::kNone;
  uint16_t tunnel_port = 0;  // GUE only
  bool operator==(const Forwarding&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Checkers.

enum class CheckerType : uint8_t {
  kTcp,   // TCP_CHECK
  kHttp,  // HTTP_GET
  kSsl,   // SSL_GET
  kSmtp,  // SMTP_CHECK
  kDns,   // DNS_CHECK
  kUdp,   // UDP_CHECK
  kPing,  // PING_CHECK
  kMisc,  // MISC_CHECK
  kFile,  // FILE_CHECK
};

enum class HttpProtocol : uint8_t { k1_0, k1_0C, k1_1 };  // "1.0", "1.0C", "1.1"

// One HTTP status code range, inclusive.
struct StatusRange {
  uint16_t first = 200;
  uint16_t last = 299;
  bool operator==(const StatusRange&) const = default;
};

struct HttpUrl {
  std::string path;
  std::optional<std::array<uint8_t, 16>> digest;  // MD5 of the body
  std::vector<StatusRange> status_codes;          // default: 200-299
  std::string virtualhost;                        // default: the checker's
  std::string regex;                              // empty: none
  bool regex_no_match = false;
  std::vector<std::string> regex_options;  // PCRE2 option names as written
  uint32_t regex_stack_start = 0;          // 0: PCRE2's default JIT stack
  uint32_t regex_stack_max = 0;
  std::optional<uint32_t> regex_min_offset;
  std::optional<uint32_t> regex_max_offset;
  SourceLocation loc;
  SourceLocation regex_loc;  // the pattern's token, for compile errors
  bool operator==(const HttpUrl& o) const {
    return path == o.path && digest == o.digest && status_codes == o.status_codes &&
           virtualhost == o.virtualhost && regex == o.regex && regex_no_match == o.regex_no_match &&
           regex_options == o.regex_options && regex_stack_start == o.regex_stack_start &&
           regex_stack_max == o.regex_stack_max && regex_min_offset == o.regex_min_offset &&
           regex_max_offset == o.regex_max_offset;
  }
};

// vigil's per-checker TLS client identity (SSL_GET `client_certificate`, `client_key`,
// `client_key_password`): replaces the global SSL block's certificate, key and password for this
// checker. The parser requires the certificate and the key together and both readable.
struct ClientTls {
  std::string certificate;  // PEM chain
  std::string key;          // PEM key; `password` decrypts it
  std::string password;
  SourceLocation certificate_loc;  // each keyword's, for errors (the files are loaded at load)
  SourceLocation key_loc;
  SourceLocation password_loc;
  bool operator==(const ClientTls& o) const {
    return certificate == o.certificate && key == o.key && password == o.password;
  }
};

// HTTP_GET and SSL_GET.
struct HttpCheck {
  std::vector<HttpUrl> urls;  // at least one
  HttpProtocol protocol = HttpProtocol::k1_0;
  std::string virtualhost;  // default: the real server's, then the virtual server's
  bool enable_sni = false;  // SSL_GET only
  bool fast_recovery = false;
  // vigil's `total_timeout`: bounds the whole check (connect, handshake, request, every read);
  // 0: none, as keepalived, which bounds each step on its own.
  Duration total_timeout{0};
  std::optional<ClientTls> client_tls;  // SSL_GET only (vigil extension)
  bool operator==(const HttpCheck&) const = default;
};

// The connection options of an SMTP_CHECK `host {}` block (kept by keepalived 2.2.7 for old
// configs: each host is checked in turn, all must answer).
struct SmtpHost {
  std::optional<IpAddress> connect_ip;  // default: the checker's connect_ip
  std::optional<uint16_t> connect_port;
  std::optional<IpAddress> bind_ip;
  uint16_t bind_port = 0;
  std::string bind_if;
  uint32_t fwmark = 0;
  std::optional<Duration> connect_timeout;
  SourceLocation loc;
  bool operator==(const SmtpHost& o) const {
    return connect_ip == o.connect_ip && connect_port == o.connect_port && bind_ip == o.bind_ip &&
           bind_port == o.bind_port && bind_if == o.bind_if && fwmark == o.fwmark &&
           connect_timeout == o.connect_timeout;
  }
};

struct SmtpCheck {
  std::string helo_name = "smtpchecker.keepalived.org";  // keepalived's default
  std::vector<SmtpHost> hosts;
  bool operator==(const SmtpCheck&) const = default;
};

// The query types keepalived 2.2.7 accepts (check_dns.c), in its order.
enum class DnsType : uint8_t { kA, kNs, kCname, kSoa, kMx, kTxt, kAaaa, kRrsig, kDnskey };

struct DnsCheck {
  DnsType type = DnsType::kSoa;
  std::string name = ".";
  bool operator==(const DnsCheck&) const = default;
};

struct UdpCheck {
  // Empty: keepalived's 32 filler bytes (check::udp_default_payload; the manual says "random").
  std::vector<uint8_t> payload;
  bool require_reply = false;
  // Expected reply prefix; a mask bit 0 means "ignore" (an X nibble in the config).
  std::vector<uint8_t> reply;
  std::vector<uint8_t> reply_mask;
  uint16_t min_reply_length = 0;
  uint16_t max_reply_length = 255;
  bool operator==(const UdpCheck&) const = default;
};

struct MiscCheck {
  Command path;                     // misc_path (required)
  std::optional<Duration> timeout;  // misc_timeout; unset or 0: the virtual server's delay_loop
  bool dynamic = false;             // exit status 2..255 sets the weight to status - 2
  std::optional<RunAs> user;        // unset: global_defs script_user
  bool operator==(const MiscCheck&) const = default;
};

struct FileCheck {
  std::string track_file;  // the name of a top-level track_file block
  SourceLocation track_file_loc;
  int32_t weight = 1;  // multiplier applied to the value read from the file
  bool reverse = false;
  bool weight_set = false;  // a `weight` line; unset, weight and reverse are the track_file's
  bool operator==(const FileCheck& o) const {
    return track_file == o.track_file && weight == o.weight && reverse == o.reverse;
  }
};

// One checker block. The common part applies to every type (MISC_CHECK uses only alpha onwards,
// FILE_CHECK none of it); the per-type part is in `kind`.
struct Checker {
  CheckerType type = CheckerType::kTcp;
  std::variant<std::monostate, Box<HttpCheck>, Box<SmtpCheck>, Box<DnsCheck>, Box<UdpCheck>,
               Box<MiscCheck>, Box<FileCheck>>
      kind;

  IpAddress connect_ip;              // default: the real server's address
  uint16_t connect_port = 0;         // default: the real server's port
  std::optional<IpAddress> bind_ip;  // bindto
  uint16_t bind_port = 0;
  uint32_t fwmark = 0;  // SO_MARK on the checker's packets; 0: none
  std::string bind_if;
  Duration connect_timeout{0};     // default 5 s (through the real and virtual server)
  Duration delay_before_retry{0};  // default 3 s HTTP/SSL, delay_loop DNS, 1 s others
  Duration warmup{0};              // random start delay 0..warmup; default delay_loop
  Duration delay_loop{0};          // default: the real server's
  uint32_t retry = 0;              // default 1; DNS 3; MISC 0
  bool alpha = false;              // start as down until a check succeeds
  bool log_all_failures = false;   // default: global checker_log_all_failures
  // vigil extensions (opt-in; the defaults are keepalived's behaviour):
  uint32_t rise = 1;             // `rise`: successes a down checker needs to come back up
  uint32_t interval_jitter = 0;  // `interval_jitter`: percent each interval is varied by
  // Which of the inheritable fields were written in this block (kSet* bits).
  uint16_t explicit_fields = 0;
  SourceLocation loc;

  // The per-type part, or nullptr if this checker is of another type.
  template <class T>
  [[nodiscard]] const T* as() const {
    const auto* box = std::get_if<Box<T>>(&kind);
    return box ? box->get() : nullptr;
  }
  template <class T>
  [[nodiscard]] T* as() {
    auto* box = std::get_if<Box<T>>(&kind);
    return box ? box->get() : nullptr;
  }
  bool operator==(const Checker& o) const {
    return type == o.type && kind == o.kind && connect_ip == o.connect_ip &&
           connect_port == o.connect_port && bind_ip == o.bind_ip && bind_port == o.bind_port &&
           fwmark == o.fwmark && bind_if == o.bind_if && connect_timeout == o.connect_timeout &&
           delay_before_retry == o.delay_before_retry && warmup == o.warmup &&
           delay_loop == o.delay_loop && retry == o.retry && alpha == o.alpha &&
           log_all_failures == o.log_all_failures && rise == o.rise &&
           interval_jitter == o.interval_jitter;
  }
};

// Bits of Checker::explicit_fields and RealServer::explicit_fields.
inline constexpr uint16_t kSetConnectIp = 1U << 0;
inline constexpr uint16_t kSetConnectPort = 1U << 1;
inline constexpr uint16_t kSetConnectTimeout = 1U << 2;
inline constexpr uint16_t kSetDelayBeforeRetry = 1U << 3;
inline constexpr uint16_t kSetWarmup = 1U << 4;
inline constexpr uint16_t kSetDelayLoop = 1U << 5;
inline constexpr uint16_t kSetRetry = 1U << 6;
inline constexpr uint16_t kSetAlpha = 1U << 7;
inline constexpr uint16_t kSetLogAllFailures = 1U << 8;
inline constexpr uint16_t kSetInhibit = 1U << 9;
inline constexpr uint16_t kSetWeight = 1U << 10;
inline constexpr uint16_t kSetForwarding = 1U << 11;
inline constexpr uint16_t kSetSmtpAlert = 1U << 12;
inline constexpr uint16_t kSetVirtualhost = 1U << 13;

// ---------------------------------------------------------------------------------------------
// Real, sorry and virtual servers.

struct RealServer {
  IpAddress address;
  uint16_t port = 0;      // 0 as written: the virtual server's port (NAT/DR/TUN), none for fwmark
  Forwarding forwarding;  // default: the virtual server's
  uint32_t weight = 1;    // 0..2147483647 (IPVS takes an int); default: the virtual server's
  uint32_t upper_threshold = 0;     // uthreshold; 0: no limit
  uint32_t lower_threshold = 0;     // lthreshold
  bool inhibit_on_failure = false;  // set weight 0 instead of removing; default: the VS's
  bool alpha = false;               // default: the VS's
  bool smtp_alert = true;  // default: global smtp_alert_checker, else smtp_alert, else true
  // Defaults for this server's checkers, inherited from the virtual server when not written.
  Duration connect_timeout{0};
  Duration delay_loop{0};
  std::optional<Duration> delay_before_retry;  // unset: per checker type
  std::optional<Duration> warmup;              // unset: the checker's delay_loop
  std::optional<uint32_t> retry;               // unset: per checker type
  uint16_t explicit_fields = 0;                // kSet* bits written in this block
  std::string virtualhost;                     // default for HTTP_GET/SSL_GET checkers
  std::string snmp_name;
  Box<LvsScript> notify_up;
  Box<LvsScript> notify_down;
  std::vector<Checker> checkers;
  SourceLocation loc;
  bool operator==(const RealServer&) const = default;
};

// Replaces the real servers when the quorum is lost.
struct SorryServer {
  IpAddress address;
  uint16_t port = 0;
  Forwarding forwarding;  // sorry_server_lvs_method; default: the virtual server's
  bool forwarding_set = false;
  bool inhibit = false;  // sorry_server_inhibit
  SourceLocation loc;
  bool operator==(const SorryServer& o) const {
    return address == o.address && port == o.port && forwarding == o.forwarding &&
           inhibit == o.inhibit;
  }
};

enum class VirtualServerKind : uint8_t { kAddress, kFwmark, kGroup };

struct VirtualServer {
  VirtualServerKind kind = VirtualServerKind::kAddress;
  IpAddress address;    // kAddress
  uint16_t port = 0;    // kAddress; 0 only with persistence
  uint32_t fwmark = 0;  // kFwmark
  std::string group;    // kGroup: a virtual_server_group name
  SourceLocation loc;
  SourceLocation group_loc;

  // ip_family; resolved: the address's family, else the real/sorry servers' (fwmark), else v4.
  AddressFamily family = AddressFamily::kIpv4;
  bool family_set = false;
  LvsProtocol protocol = LvsProtocol::kTcp;  // meaningless for fwmark services
  bool protocol_set = false;
  Scheduler scheduler = Scheduler::kWlc;  // keepalived's and ipvsadm's default
  bool scheduler_set = false;
  // Scheduler flags (IP_VS_SVC_F_SCHED1..3): flag-1 = sh-fallback/mh-fallback,
  // flag-2 = sh-port/mh-port.
  bool sched_flag_1 = false;
  bool sched_flag_2 = false;
  bool sched_flag_3 = false;
  bool one_packet = false;  // ops (UDP only)
  Forwarding forwarding;    // default for real and sorry servers; NAT
  bool forwarding_set = false;
  uint32_t persistence_timeout = 0;  // seconds; 0: not persistent; bare keyword: 360
  // persistence_granularity as a prefix length (IPv4 netmask or IPv6 prefix); unset: host.
  std::optional<uint8_t> persistence_granularity;
  std::string persistence_engine;  // "sip"
  bool ha_suspend = false;
  bool alpha = false;
  bool omega = false;
  bool inhibit_on_failure = false;
  bool smtp_alert = false;  // default: global smtp_alert_checker, else smtp_alert, else false
  bool smtp_alert_set = false;
  uint32_t quorum = 1;
  uint32_t hysteresis = 0;
  uint32_t weight = 1;  // default real server weight
  std::string virtualhost;
  std::string snmp_name;
  std::optional<LvsScript> quorum_up;
  std::optional<LvsScript> quorum_down;
  std::optional<SorryServer> sorry_server;
  // Checker defaults for the real servers.
  Duration delay_loop = std::chrono::seconds(60);
  Duration connect_timeout = std::chrono::seconds(5);
  std::optional<Duration> delay_before_retry;  // unset: per checker type
  std::optional<Duration> warmup;              // unset: the checker's delay_loop
  std::optional<uint32_t> retry;               // unset: per checker type
  std::vector<RealServer> real_servers;
  bool operator==(const VirtualServer&) const = default;
};

// virtual_server_group entries.
struct VsgAddressRange {
  IpAddress first;
  IpAddress last;     // == first for a single address
  uint16_t port = 0;  // 0: none written (persistent services only)
  SourceLocation loc;
  bool operator==(const VsgAddressRange& o) const {
    return first == o.first && last == o.last && port == o.port;
  }
};

struct VsgFwmark {
  uint32_t mark = 0;
  std::optional<AddressFamily> family;  // "fwmark N inet|inet6"
  SourceLocation loc;
  bool operator==(const VsgFwmark& o) const { return mark == o.mark && family == o.family; }
};

struct VirtualServerGroup {
  std::string name;
  std::vector<VsgAddressRange> ranges;
  std::vector<VsgFwmark> fwmarks;
  SourceLocation loc;
  bool operator==(const VirtualServerGroup& o) const {
    return name == o.name && ranges == o.ranges && fwmarks == o.fwmarks;
  }
};

// The top-level SSL block: the client context of SSL_GET checkers. keepalived 2.2.7 loads `ca`
// but never verifies the server's certificate; vigil verifies only when asked (verify_server).
struct SslConfig {
  std::string password;
  std::string ca;
  std::string certificate;
  std::string key;
  // vigil extensions, all off by default so a keepalived.conf behaves as in keepalived.
  // `verify_server`: check the server's certificate chain against `ca` (the system store when
  // there is no ca) and its name against the request's Host name (virtualhost, else the address).
  bool verify_server_certificate = false;
  bool session_resumption = false;  // reuse a TLS session per real server between checks
  std::vector<std::string> alpn;    // ALPN protocol names offered, in order; empty: none
  SourceLocation loc;
  // Each keyword's, for errors: the files are loaded at every load (check/validate.h).
  SourceLocation password_loc;
  SourceLocation ca_loc;
  SourceLocation certificate_loc;
  SourceLocation key_loc;
  [[nodiscard]] bool verify_server() const { return verify_server_certificate; }
  bool operator==(const SslConfig& o) const {
    return password == o.password && ca == o.ca && certificate == o.certificate && key == o.key &&
           verify_server_certificate == o.verify_server_certificate &&
           session_resumption == o.session_resumption && alpn == o.alpn;
  }
};

// The same configuration block, whatever its place in the files: every field compared (the
// locations of the block and of everything in it excepted), also those the types' operator==
// leaves out (a Command's text, a checker's explicit_fields, ...). A reload keeps what a
// block that only moved (lines inserted above it) runs, without translating it again.
[[nodiscard]] bool same_ignoring_locations(const VirtualServer& a, const VirtualServer& b);

struct LvsSection {
  std::vector<VirtualServerGroup> groups;
  std::vector<VirtualServer> virtual_servers;
  std::optional<SslConfig> ssl;
};

// keepalived's spellings, for messages and the JSON dump.
std::string_view to_string(LvsProtocol protocol);
std::string_view to_string(Scheduler scheduler);
std::string_view to_string(ForwardingMethod method);
std::string_view to_string(TunnelType type);
std::string_view to_string(TunnelChecksum checksum);
std::string_view to_string(CheckerType type);
std::string_view to_string(HttpProtocol protocol);
std::string_view to_string(DnsType type);

}  // namespace vigil::config
