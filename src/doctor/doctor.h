// vigilctl doctor: the mistakes that break LVS sites, judged from the configuration and the
// host's state. Two layers, as everywhere in vigil:
// - the rules (diagnose()) are pure: the parsed configuration and the gathered Facts in, one
//   Finding per check out. Every check is emitted only where the configuration makes it relevant
//   (ip_forward only for NAT/FULLNAT services, a scheduler's module only when a service uses it).
// - the gatherer (gather()) asks a Host for exactly what wants() lists; LinuxHost reads
//   /proc/sys, /sys/class/net, /proc/modules, modules.dep, getrlimit and the scripts' files.
// A new check adds what it needs to Wants/Facts, a rule in rules.cc and rows in
// tests/doctor/rules_test.cc. docs/troubleshooting.md describes each finding for operators.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/script_security.h"
#include "config/diagnostics.h"
#include "config/model.h"
#include "doctor/probes.h"

namespace vigil::doctor {

enum class Level : uint8_t { kOk, kWarn, kFail };
std::string_view to_string(Level level);  // "ok", "warn", "fail"

// A sysctl on this director that a finding's fix sets: `vigilctl doctor --fix` applies these and
// nothing else (never a real server's, never a module, a file or a script).
struct SysctlFix {
  std::string name;  // "net.ipv4.ip_forward"
  std::string value;
  bool operator==(const SysctlFix&) const = default;
};

struct Finding {
  std::string check;  // "kernel.ip_forward", "vrrp.interface", ...
  Level level = Level::kOk;
  std::string subject;   // what in the configuration it is about: "vrrp_instance VI_1"
  std::string location;  // file:line of that, when the model has it; else empty
  std::string found;     // what the host has: "net.ipv4.ip_forward = 0"
  std::string why;       // why it matters for this configuration
  std::string fix;       // the command that fixes it; empty for OK
  std::vector<SysctlFix> sysctl_fixes;  // what --fix may apply of `fix`; empty for most
  bool operator==(const Finding&) const = default;
};

// What a running vigild's IPVS side says of one real server (GET /v1/services).
struct LiveRealServer {
  std::string address;  // "[10.0.0.1]:tcp:80"
  int64_t kernel_weight = 0;
  uint64_t connections = 0;  // scheduled to it since its destination was added
  bool operator==(const LiveRealServer&) const = default;
};

struct LiveService {
  std::string name;  // keepalived's FMT_VS: "[192.0.2.10]:tcp:80", "FWM 7", "[group]:80"
  std::vector<LiveRealServer> real_servers;  // those in IPVS
  bool operator==(const LiveService&) const = default;
};

// A running vigild's live state, read over its read-only socket.
struct LiveState {
  std::string socket;
  std::vector<LiveService> services;
  bool operator==(const LiveState&) const = default;
};

// A script the configuration runs, and as whom (unset: global_defs script_user).
struct ScriptRef {
  std::string program;  // argv[0] as configured
  std::optional<config::RunAs> run_as;
  bool operator<(const ScriptRef& o) const;
};

// What the rules need gathered for this configuration.
struct Wants {
  std::set<std::string> sysctls;     // "net.ipv4.ip_forward"
  std::set<std::string> interfaces;  // "eth0"
  std::set<std::string> modules;     // "ip_vs", "ip_vs_wrr"
  std::set<ScriptRef> scripts;
  bool local_addresses = false;
  bool open_file_limit = false;
  bool firewall = false;       // the nftables ruleset (VRRP instances: firewall.h)
  bool ipvs_table = false;     // IPVS's connection table size and use
  bool probes = false;         // run the active probes (probes.h)
  std::set<IpAddress> routes;  // with probes: the routes to look up first
  bool live = false;           // a running vigild's state (virtual servers' traffic)
};
// `probes`: also what the active probes need (vigilctl doctor without --no-probes).
Wants wants(const config::Config& config, bool probes = false);

struct InterfaceState {
  bool admin_up = false;  // IFF_UP
  bool carrier = false;   // operstate up (or unknown, as for lo and some virtual devices)
  std::string operstate;  // as /sys/class/net/X/operstate says
  bool operator==(const InterfaceState&) const = default;
};

enum class ModuleState : uint8_t {
  kLoaded,    // in /proc/modules
  kBuiltin,   // in modules.builtin, or its /proc interface exists
  kLoadable,  // in modules.dep: modprobe loads it on first use
  kMissing,   // none of these
};
std::string_view to_string(ModuleState state);

// What the script's file says, judged under enable_script_security for the user it runs as.
struct ScriptState {
  script_security::Verdict verdict = script_security::Verdict::kNotFound;
  std::string reason;  // assess()'s, for the finding
  std::string user;    // who it runs as ("root", "keepalived_script")
};

// IPVS's connection hash table: its size (ip_vs's conn_tab_bits, set only when the module is
// loaded) and the connections it holds now (/proc/net/ip_vs_conn, counted up to kConnCountCap).
// TCP connections IPVS holds to one destination, by how far they got.
struct DestinationConnStates {
  uint64_t syn_recv = 0;  // the client's SYN forwarded; no reply of the real server seen yet
  uint64_t past_syn = 0;  // any later state: the real server's replies came through IPVS
  bool operator==(const DestinationConnStates&) const = default;
};
struct IpvsConnTable {
  std::optional<unsigned> bits;  // unset: ip_vs is not loaded
  std::optional<uint64_t> connections;
  // The TCP connections by destination (real server address and port), of the lines counted.
  std::map<std::pair<IpAddress, uint16_t>, DestinationConnStates> tcp_by_destination;
  bool operator==(const IpvsConnTable&) const = default;
};
inline constexpr uint64_t kConnCountCap = uint64_t{1} << 20;

// One line of /proc/net/ip_vs_conn: "TCP 0A000102 9C40 0A000164 0050 0A00020B 0050 SYN_RECV 54"
// (IPv4 in hex; IPv6 as the kernel's %pI6). Unset for the header or a line it cannot read.
struct IpvsConnLine {
  std::string protocol;  // "TCP", "UDP", "SCTP"
  IpAddress destination;
  uint16_t destination_port = 0;
  std::string state;  // "SYN_RECV", "ESTABLISHED", ...
};
std::optional<IpvsConnLine> parse_ipvs_conn_line(std::string_view line);
// Adds one line to the per-destination TCP counts.
void count_ipvs_conn_line(std::string_view line, IpvsConnTable& table);

// The host's nftables ruleset as nft prints it, or why it could not be read.
struct FirewallRuleset {
  std::string json;     // `nft -j list ruleset`
  std::string listing;  // `nft -a list ruleset`: the rules' text with their handles
  std::string error;    // non-empty: nft could not be run or failed
};

// The host as gathered. A key missing from a map: could not be read (a sysctl), does not exist
// (an interface).
struct Facts {
  std::map<std::string, std::string> sysctls;  // value as read, trimmed
  std::map<std::string, InterfaceState> interfaces;
  std::map<std::string, ModuleState> modules;
  std::string modules_dir;   // where loadability was looked up: /lib/modules/RELEASE
  bool module_index = true;  // modules_dir/modules.dep could be read
  std::map<ScriptRef, ScriptState> scripts;
  std::set<std::string> local_addresses;    // every address on this host, as IpAddress::to_string
  std::optional<uint64_t> open_file_limit;  // RLIMIT_NOFILE soft
  std::optional<FirewallRuleset> firewall;  // unset: not wanted
  std::optional<IpvsConnTable> ipvs_table;  // unset: not wanted
  // The active probes; unset when they did not run (--no-probes). A route missing from
  // `routes`: the kernel has none.
  std::map<IpAddress, Route> routes;
  std::optional<ProbeResults> probes;
  // Unset when no vigild of this configuration answers (or it was not wanted).
  std::optional<LiveState> live;
};

// The rules. `files` names the configuration's files for locations. Includes
// diagnose_probes()'s findings when the probes ran.
std::vector<Finding> diagnose(const config::Config& config, const config::SourceFiles& files,
                              const Facts& facts);
// The rules over the active probes (probe_rules.cc): real servers answering ARP for a VIP,
// real servers unreachable, other routers using one of our VRIDs.
std::vector<Finding> diagnose_probes(const config::Config& config, const config::SourceFiles& files,
                                     const Facts& facts);
// The firewall rule (firewall_rules.cc): for each vrrp_instance, whether the nftables ruleset
// lets the adverts it must receive reach vigild's socket.
std::vector<Finding> diagnose_firewall(const config::Config& config,
                                       const config::SourceFiles& files, const Facts& facts);
// A virtual_ipaddress whose network holds `real_server` (a host address does not count): where a
// NAT real server's route back should go, following the VRRP master.
struct VrrpGateway {
  IpAddress address;
  std::string instance;  // the vrrp_instance holding it
};
std::optional<VrrpGateway> vrrp_gateway(const config::Config& config, const IpAddress& real_server);

// "virtual_server 192.0.2.10:80", "virtual_server [2001:db8::1]:80", "virtual_server fwmark 1".
std::string describe(const config::VirtualServer& vs);

// The host as the gatherer sees it.
class Host {
 public:
  virtual ~Host() = default;
  [[nodiscard]] virtual std::optional<std::string> sysctl(const std::string& name) const = 0;
  [[nodiscard]] virtual std::optional<InterfaceState> interface(const std::string& name) const = 0;
  [[nodiscard]] virtual ModuleState module(const std::string& name) const = 0;
  [[nodiscard]] virtual std::string modules_dir() const = 0;
  [[nodiscard]] virtual bool module_index() const = 0;  // modules.dep could be read
  [[nodiscard]] virtual ScriptState script(const ScriptRef& script,
                                           const config::GlobalDefs& global) const = 0;
  [[nodiscard]] virtual std::set<std::string> local_addresses() const = 0;
  [[nodiscard]] virtual std::optional<uint64_t> open_file_limit() const = 0;
  [[nodiscard]] virtual FirewallRuleset firewall() const = 0;
  [[nodiscard]] virtual IpvsConnTable ipvs_conn_table() const = 0;
  // Why the host cannot be examined at all (vigilctl doctor exits 9), if so.
  [[nodiscard]] virtual std::optional<std::string> unusable() const { return std::nullopt; }
  [[nodiscard]] virtual std::optional<Route> route(const IpAddress& destination) const = 0;
  // Sends and listens as `plan` says; returns when the longest of its parts is over.
  [[nodiscard]] virtual ProbeResults probe(const ProbePlan& plan) const = 0;
  // The running vigild of this configuration (its net_namespace and instance name its socket),
  // if one answers.
  [[nodiscard]] virtual std::optional<LiveState> live_state(
      const config::GlobalDefs& /*global*/) const {
    return std::nullopt;
  }
};

// The running kernel, the file system and NSS. Fails (the doctor could not run) when /proc/sys
// or /sys/class/net cannot be read at all.
class LinuxHost final : public Host {
 public:
  LinuxHost();
  [[nodiscard]] std::optional<std::string> unusable() const override;
  [[nodiscard]] std::optional<std::string> sysctl(const std::string& name) const override;
  [[nodiscard]] std::optional<InterfaceState> interface(const std::string& name) const override;
  [[nodiscard]] ModuleState module(const std::string& name) const override;
  [[nodiscard]] std::string modules_dir() const override { return modules_dir_; }
  [[nodiscard]] bool module_index() const override { return module_index_; }
  [[nodiscard]] ScriptState script(const ScriptRef& script,
                                   const config::GlobalDefs& global) const override;
  [[nodiscard]] std::set<std::string> local_addresses() const override;
  [[nodiscard]] std::optional<uint64_t> open_file_limit() const override;
  // Runs nft (read-only: `list ruleset`); needs CAP_NET_ADMIN.
  [[nodiscard]] FirewallRuleset firewall() const override;
  // /sys/module/ip_vs/parameters/conn_tab_bits and the lines of /proc/net/ip_vs_conn.
  [[nodiscard]] IpvsConnTable ipvs_conn_table() const override;
  // linux_probes.cc: RTM_GETROUTE; AF_PACKET ARP and raw IPPROTO_VRRP sockets (needs
  // CAP_NET_RAW: without it each probe reports why it could not run).
  [[nodiscard]] std::optional<Route> route(const IpAddress& destination) const override;
  [[nodiscard]] ProbeResults probe(const ProbePlan& plan) const override;
  // GET /v1/services over the read-only socket (linux_live.cc).
  [[nodiscard]] std::optional<LiveState> live_state(
      const config::GlobalDefs& global) const override;

 private:
  std::string modules_dir_;
  bool module_index_ = false;
  std::set<std::string> loaded_;
  std::set<std::string> builtin_;
  std::set<std::string> loadable_;
};

// Where a sysctl lives under /proc/sys: "net.ipv4.conf.eth0.100.rp_filter" ->
// "/proc/sys/net/ipv4/conf/eth0.100/rp_filter" (an interface's name keeps its dots). Empty for
// a name that could leave /proc/sys.
std::string sysctl_path(const std::string& name);

Facts gather(const config::Config& config, const Wants& wants, const Host& host);

}  // namespace vigil::doctor
