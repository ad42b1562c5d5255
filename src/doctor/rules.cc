// The doctor's rules (doctor.h): pure functions of the configuration and the gathered facts.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <tuple>

#include "check/engine.h"
#include "doctor/doctor.h"
#include "lvs/overrides.h"

namespace vigil::doctor {

using config::ForwardingMethod;
using config::VirtualServer;

std::string_view to_string(Level level) {
  switch (level) {
    case Level::kOk:
      return "ok";
    case Level::kWarn:
      return "warn";
    case Level::kFail:
      return "fail";
  }
  return "?";
}

std::string_view to_string(ModuleState state) {
  switch (state) {
    case ModuleState::kLoaded:
      return "loaded";
    case ModuleState::kBuiltin:
      return "built in";
    case ModuleState::kLoadable:
      return "loadable";
    case ModuleState::kMissing:
      return "missing";
  }
  return "?";
}

bool ScriptRef::operator<(const ScriptRef& o) const {
  auto key = [](const ScriptRef& s) {
    return std::make_tuple(s.program, s.run_as.has_value(), s.run_as ? s.run_as->user : "",
                           s.run_as ? s.run_as->group : "");
  };
  return key(*this) < key(o);
}

std::string describe(const VirtualServer& vs) {
  switch (vs.kind) {
    case config::VirtualServerKind::kAddress:
      return vs.address.is_v6()
                 ? fmt::format("virtual_server [{}]:{}", vs.address.to_string(), vs.port)
                 : fmt::format("virtual_server {}:{}", vs.address.to_string(), vs.port);
    case config::VirtualServerKind::kFwmark:
      return fmt::format("virtual_server fwmark {}", vs.fwmark);
    case config::VirtualServerKind::kGroup:
      return fmt::format("virtual_server group {}", vs.group);
  }
  return "virtual_server";
}

std::optional<VrrpGateway> vrrp_gateway(const config::Config& config,
                                        const IpAddress& real_server) {
  for (const auto& instance : config.vrrp.instances) {
    for (const auto& va : instance.virtual_addresses) {
      if (va.prefix.length < (va.prefix.address.is_v4() ? 32 : 128) &&
          va.prefix.contains(real_server))
        return VrrpGateway{.address = va.prefix.address, .instance = instance.name};
    }
  }
  return std::nullopt;
}

std::optional<IpvsConnLine> parse_ipvs_conn_line(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size() && fields.size() < 8) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\n')
      ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  if (fields.size() < 8) return std::nullopt;
  auto hex = [](std::string_view text, uint32_t limit) -> std::optional<uint32_t> {
    uint32_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (error != std::errc() || end != text.data() + text.size() || value > limit)
      return std::nullopt;
    return value;
  };
  IpvsConnLine out{.protocol = std::string(fields[0]), .state = std::string(fields[7])};
  const std::string_view address = fields[5];
  if (address.find(':') == std::string_view::npos) {
    const auto v4 = address.size() == 8 ? hex(address, UINT32_MAX) : std::nullopt;
    if (!v4) return std::nullopt;
    out.destination = IpAddress::v4(*v4);
  } else {
    auto v6 = IpAddress::parse(address);
    if (!v6 || !v6->is_v6()) return std::nullopt;
    out.destination = *v6;
  }
  const auto port = hex(fields[6], UINT16_MAX);
  if (!port) return std::nullopt;
  out.destination_port = static_cast<uint16_t>(*port);
  return out;
}

void count_ipvs_conn_line(std::string_view line, IpvsConnTable& table) {
  const auto parsed = parse_ipvs_conn_line(line);
  if (!parsed || parsed->protocol != "TCP") return;
  auto& states = table.tcp_by_destination[{parsed->destination, parsed->destination_port}];
  ++(parsed->state == "SYN_RECV" ? states.syn_recv : states.past_syn);
}

namespace {

constexpr const char* kIpForward = "net.ipv4.ip_forward";
constexpr const char* kIpv6Forwarding = "net.ipv6.conf.all.forwarding";
constexpr const char* kRpFilterAll = "net.ipv4.conf.all.rp_filter";
constexpr const char* kExpireNodest = "net.ipv4.vs.expire_nodest_conn";
constexpr const char* kExpireQuiescent = "net.ipv4.vs.expire_quiescent_template";
// Global (writable only from the initial network namespace) and per namespace; both exist only
// while nf_conntrack is loaded.
constexpr const char* kConntrackMax = "net.netfilter.nf_conntrack_max";
constexpr const char* kVsConntrack = "net.ipv4.vs.conntrack";
constexpr const char* kConntrackCount = "net.netfilter.nf_conntrack_count";
// FULLNAT's source NAT (nftables masquerade) needs these.
constexpr std::array<const char*, 2> kFullNatModules = {"nf_conntrack", "nf_nat"};
// traffic.skew: judged from this many connections, warned from this share for one server.
constexpr uint64_t kSkewMinConnections = 20;
constexpr uint64_t kSkewPercent = 80;
// More connections per bucket of IPVS's connection table than this is a WARN; the sizes ip_vs
// takes for conn_tab_bits (CONFIG_IP_VS_TAB_BITS's range).
constexpr uint64_t kConnectionsPerBucket = 4;
// Connections stuck in SYN_RECV (and none further) that say a NAT real server's replies go
// elsewhere: a client retrying one connect makes one, so three are no accident.
constexpr uint64_t kStuckSynRecv = 3;
constexpr unsigned kMinConnTabBits = 8;
constexpr unsigned kMaxConnTabBits = 20;
// Descriptors vigild holds besides its checkers: sockets of VRRP, netlink, the control socket,
// logs, notify FIFOs, scripts' pipes.
constexpr uint64_t kBaseDescriptors = 64;

std::string rp_filter_key(const std::string& interface) {
  return "net.ipv4.conf." + interface + ".rp_filter";
}

// Whether the service, one of its real servers or its sorry server forwards by `method`.
bool uses(const VirtualServer& vs, ForwardingMethod method) {
  if (vs.forwarding.method == method) return true;
  if (vs.sorry_server && vs.sorry_server->forwarding.method == method) return true;
  return std::any_of(vs.real_servers.begin(), vs.real_servers.end(),
                     [&](const config::RealServer& rs) { return rs.forwarding.method == method; });
}

bool uses_nat(const VirtualServer& vs) {
  return uses(vs, ForwardingMethod::kNat) || uses(vs, ForwardingMethod::kFullNat);
}

std::string module_for(config::Scheduler scheduler) {
  return "ip_vs_" + std::string(config::to_string(scheduler));
}

size_t checker_count(const config::Config& config) {
  size_t n = 0;
  for (const auto& vs : config.lvs.virtual_servers)
    for (const auto& rs : vs.real_servers)
      n += rs.checkers.size();
  return n;
}

// Every script the configuration runs, with where and for what.
struct ScriptUse {
  ScriptRef ref;
  std::string subject;
  config::SourceLocation loc;
  bool tracked = false;  // a vrrp_script or checker: its failure changes state
};

void add_command(std::vector<ScriptUse>& out, const config::Command& command,
                 const std::optional<config::RunAs>& run_as, std::string subject, bool tracked) {
  if (command.argv.empty()) return;
  out.push_back({{command.argv[0], run_as}, std::move(subject), command.loc, tracked});
}

void add_notify(std::vector<ScriptUse>& out, const config::VrrpNotify& notify,
                const std::string& owner) {
  for (const auto* script :
       {&notify.master, &notify.backup, &notify.fault, &notify.stop, &notify.any}) {
    if (*script) add_command(out, (*script)->command, (*script)->run_as, owner, false);
  }
}

std::vector<ScriptUse> script_uses(const config::Config& config) {
  std::vector<ScriptUse> out;
  for (const auto& script : config.vrrp.scripts)
    add_command(out, script.script, script.user, "vrrp_script " + script.name, true);
  for (const auto& group : config.vrrp.sync_groups)
    add_notify(out, group.notify, "vrrp_sync_group " + group.name);
  for (const auto& instance : config.vrrp.instances) {
    const std::string owner = "vrrp_instance " + instance.name;
    add_notify(out, instance.notify, owner);
    if (instance.notify_master_rx_lower_pri)
      add_command(out, instance.notify_master_rx_lower_pri->command,
                  instance.notify_master_rx_lower_pri->run_as, owner, false);
    if (instance.notify_deleted_script)
      add_command(out, instance.notify_deleted_script->command,
                  instance.notify_deleted_script->run_as, owner, false);
  }
  for (const auto* fifo : {&config.global.notify_fifo, &config.global.vrrp_notify_fifo,
                           &config.global.lvs_notify_fifo}) {
    if (*fifo && (*fifo)->script)
      add_command(out, *(*fifo)->script, (*fifo)->run_as, "notify_fifo " + (*fifo)->path, false);
  }
  for (const auto& vs : config.lvs.virtual_servers) {
    const std::string owner = describe(vs);
    if (vs.quorum_up) add_command(out, vs.quorum_up->command, vs.quorum_up->run_as, owner, false);
    if (vs.quorum_down)
      add_command(out, vs.quorum_down->command, vs.quorum_down->run_as, owner, false);
    for (const auto& rs : vs.real_servers) {
      for (const auto& checker : rs.checkers) {
        if (const auto* misc = checker.as<config::MiscCheck>())
          add_command(out, misc->path, misc->user,
                      fmt::format("{} real_server {} MISC_CHECK", owner, rs.address.to_string()),
                      true);
      }
    }
  }
  return out;
}

// The interfaces VRRP uses, with who uses them.
struct InterfaceUse {
  std::string name;
  std::string subject;
  std::string role;  // "interface", "track_interface", "virtual_ipaddress dev", ...
  config::SourceLocation loc;
  bool tracked = false;  // track_interface: down means FAULT by design, not a mistake
};

std::vector<InterfaceUse> interface_uses(const config::Config& config) {
  std::vector<InterfaceUse> out;
  for (const auto& instance : config.vrrp.instances) {
    const std::string owner = "vrrp_instance " + instance.name;
    if (!instance.interface.empty())
      out.push_back({instance.interface, owner, "interface", instance.at.interface, false});
    for (const auto& track : instance.track.interfaces)
      out.push_back({track.name, owner, "track_interface", track.loc, true});
    for (const auto& vip : instance.virtual_addresses) {
      if (!vip.dev.empty() && !vip.use_vmac)
        out.push_back({vip.dev, owner, "virtual_ipaddress dev", vip.loc, false});
    }
  }
  for (const auto& group : config.vrrp.sync_groups) {
    for (const auto& track : group.track.interfaces)
      out.push_back(
          {track.name, "vrrp_sync_group " + group.name, "track_interface", track.loc, true});
  }
  if (config.global.lvs_sync_daemon && !config.global.lvs_sync_daemon->interface.empty())
    out.push_back(
        {config.global.lvs_sync_daemon->interface, "lvs_sync_daemon", "interface", {}, false});
  return out;
}

class Diagnoser {
 public:
  Diagnoser(const config::Config& config, const config::SourceFiles& files, const Facts& facts)
      : config_(config), files_(files), facts_(facts) {}

  std::vector<Finding> run() {
    forwarding();
    ipvs_modules();
    ipvs_sysctls();
    ipvs_conn_table();
    nat_return_path();
    rp_filter();
    interfaces();
    unicast_sources();
    scripts();
    open_files();
    fullnat_conntrack();
    vs_conntrack();
    conntrack_table();
    traffic_skew();
    return std::move(out_);
  }

 private:
  std::string where(const config::SourceLocation& loc) const {
    return loc.line == 0 ? std::string() : files_.format(loc);
  }

  void add(Finding finding) { out_.push_back(std::move(finding)); }

  const std::string* sysctl(const std::string& name) const {
    auto it = facts_.sysctls.find(name);
    return it == facts_.sysctls.end() ? nullptr : &it->second;
  }

  // The first service matching `pred`, and how many match.
  template <typename Pred>
  std::pair<const VirtualServer*, size_t> services(Pred pred) const {
    const VirtualServer* first = nullptr;
    size_t n = 0;
    for (const auto& vs : config_.lvs.virtual_servers) {
      if (!pred(vs)) continue;
      if (!first) first = &vs;
      ++n;
    }
    return {first, n};
  }

  std::string and_more(size_t n) const {
    return n > 1 ? fmt::format(" (and {} more)", n - 1) : std::string();
  }

  void forwarding() {
    struct Family {
      AddressFamily family;
      const char* key;
      const char* check;
    };
    for (const Family& f :
         {Family{AddressFamily::kIpv4, kIpForward, "kernel.ip_forward"},
          Family{AddressFamily::kIpv6, kIpv6Forwarding, "kernel.ipv6_forwarding"}}) {
      auto [vs, n] =
          services([&](const VirtualServer& v) { return v.family == f.family && uses_nat(v); });
      if (!vs) continue;
      Finding finding{
          .check = f.check, .subject = describe(*vs) + and_more(n), .location = where(vs->loc)};
      const std::string* value = sysctl(f.key);
      if (!value) {
        finding.level = Level::kWarn;
        finding.found = fmt::format("{} cannot be read", f.key);
        finding.why = "NAT and FULLNAT replies are routed back through this director";
        add(std::move(finding));
        continue;
      }
      finding.found = fmt::format("{} = {}", f.key, *value);
      if (*value == "0") {
        finding.level = Level::kFail;
        finding.why =
            "NAT/FULLNAT: the real servers' replies must be forwarded back through this director; "
            "with forwarding off the kernel drops them and clients time out";
        finding.fix = fmt::format(
            "sysctl -w {}=1 (persist: echo '{} = 1' >> /etc/sysctl.d/90-vigil.conf)", f.key, f.key);
        finding.sysctl_fixes = {{f.key, "1"}};
      } else {
        finding.why = "NAT/FULLNAT replies are forwarded back through this director";
      }
      add(std::move(finding));
    }
  }

  std::string missing(const std::string& module) const {
    return facts_.module_index
               ? fmt::format("{} is not loaded, not built in and not in {}/modules.dep", module,
                             facts_.modules_dir)
               : fmt::format(
                     "{} is not loaded nor built in, and there is no {}/modules.dep "
                     "(no modules installed for this kernel)",
                     module, facts_.modules_dir);
  }

  // A module as gathered; one the facts lack counts as missing.
  ModuleState module_state(const std::string& module) const {
    auto it = facts_.modules.find(module);
    return it == facts_.modules.end() ? ModuleState::kMissing : it->second;
  }

  void ipvs_modules() {
    if (config_.lvs.virtual_servers.empty()) return;
    const auto& first = config_.lvs.virtual_servers.front();
    const size_t n = config_.lvs.virtual_servers.size();
    const ModuleState ipvs = module_state("ip_vs");
    Finding finding{.check = "kernel.ip_vs",
                    .subject = describe(first) + and_more(n),
                    .location = where(first.loc)};
    finding.why = "every virtual_server is an IPVS service";
    if (ipvs == ModuleState::kMissing) {
      finding.level = Level::kFail;
      finding.found = missing("ip_vs");
      finding.why =
          "every virtual_server is an IPVS service: vigild cannot install them and "
          "does not start (exit 1, \"IPVS is not available in this kernel\")";
      finding.fix =
          "install the kernel's IPVS module (e.g. apt install linux-modules-extra-$(uname "
          "-r)), then modprobe ip_vs";
    } else {
      finding.found = fmt::format("ip_vs {}", to_string(ipvs));
    }
    add(std::move(finding));

    std::map<config::Scheduler, std::pair<const VirtualServer*, size_t>> schedulers;
    for (const auto& vs : config_.lvs.virtual_servers) {
      auto& [where_first, count] = schedulers[vs.scheduler];
      if (!where_first) where_first = &vs;
      ++count;
    }
    for (const auto& [scheduler, use] : schedulers) {
      const std::string module = module_for(scheduler);
      const ModuleState s = module_state(module);
      Finding f{.check = "kernel.scheduler",
                .subject = describe(*use.first) + and_more(use.second),
                .location = where(use.first->loc)};
      f.why = fmt::format("lb_algo {}: IPVS refuses the service without its scheduler",
                          config::to_string(scheduler));
      if (s == ModuleState::kMissing) {
        f.level = Level::kFail;
        f.found = missing(module);
        f.fix = fmt::format("modprobe {} (or choose an lb_algo this kernel has)", module);
      } else {
        f.found = fmt::format("{} {}", module, to_string(s));
      }
      add(std::move(f));
    }
  }

  void ipvs_sysctls() {
    if (config_.lvs.virtual_servers.empty()) return;
    const auto& first = config_.lvs.virtual_servers.front();
    const size_t n = config_.lvs.virtual_servers.size();
    if (const std::string* value = sysctl(kExpireNodest)) {
      Finding f{.check = "kernel.expire_nodest_conn",
                .subject = describe(first) + and_more(n),
                .location = where(first.loc),
                .found = fmt::format("{} = {}", kExpireNodest, *value)};
      if (*value == "0") {
        f.level = Level::kWarn;
        f.why =
            "a real server taken out of IPVS (failed, or `rs maint`) keeps its connections in "
            "the table: their packets are dropped until they time out, so those clients hang "
            "instead of reconnecting";
        f.fix =
            fmt::format("sysctl -w {}=1 (persist in /etc/sysctl.d/90-vigil.conf)", kExpireNodest);
        f.sysctl_fixes = {{kExpireNodest, "1"}};
      } else {
        f.why =
            "connections to a real server taken out of IPVS end at their next packet, so "
            "clients reconnect to another one";
      }
      add(std::move(f));
    }
    auto [persistent, np] =
        services([](const VirtualServer& vs) { return vs.persistence_timeout > 0; });
    if (const std::string* value = sysctl(kExpireQuiescent); value && persistent) {
      Finding f{.check = "kernel.expire_quiescent_template",
                .subject = describe(*persistent) + and_more(np),
                .location = where(persistent->loc),
                .found = fmt::format("{} = {}", kExpireQuiescent, *value)};
      if (*value == "0") {
        f.level = Level::kWarn;
        f.why = fmt::format(
            "persistence_timeout {}: a drained real server (weight 0, `rs drain`) keeps getting "
            "new connections from clients whose persistence template points at it, until the "
            "template expires; a drain takes that long",
            persistent->persistence_timeout);
        f.fix = fmt::format("sysctl -w {}=1 (persist in /etc/sysctl.d/90-vigil.conf)",
                            kExpireQuiescent);
        f.sysctl_fixes = {{kExpireQuiescent, "1"}};
      } else {
        f.why =
            "a drained real server's persistence templates expire, so persistent clients move "
            "at their next connection";
      }
      add(std::move(f));
    }
  }

  // IPVS finds each packet's connection in a hash table of 2^conn_tab_bits buckets, fixed when
  // ip_vs loads (default 12): far more connections than buckets make every lookup walk a long
  // chain.
  void ipvs_conn_table() {
    if (config_.lvs.virtual_servers.empty() || !facts_.ipvs_table || !facts_.ipvs_table->bits)
      return;
    const auto& first = config_.lvs.virtual_servers.front();
    const unsigned bits = *facts_.ipvs_table->bits;
    const uint64_t buckets = uint64_t{1} << std::min(bits, 63u);
    Finding f{.check = "kernel.ipvs_conn_tab",
              .subject = describe(first) + and_more(config_.lvs.virtual_servers.size()),
              .location = where(first.loc)};
    const auto& connections = facts_.ipvs_table->connections;
    if (!connections) {
      f.found = fmt::format("conn_tab_bits {} ({} buckets); /proc/net/ip_vs_conn cannot be read",
                            bits, buckets);
      f.why = "the connections it holds could not be counted";
      add(std::move(f));
      return;
    }
    const bool capped = *connections >= kConnCountCap;
    f.found = fmt::format("conn_tab_bits {} ({} buckets), {}{} connections now", bits, buckets,
                          capped ? "at least " : "", *connections);
    if (*connections > kConnectionsPerBucket * buckets) {
      // The smallest table with a bucket per connection, within what ip_vs accepts.
      unsigned wanted = kMinConnTabBits;
      while (wanted < kMaxConnTabBits && (uint64_t{1} << wanted) < *connections)
        ++wanted;
      f.level = Level::kWarn;
      f.why = fmt::format(
          "about {} connections per bucket: IPVS walks that chain for every packet it forwards",
          *connections / buckets);
      f.fix = fmt::format(
          "echo 'options ip_vs conn_tab_bits={}' > /etc/modprobe.d/ip_vs.conf; it takes effect "
          "when ip_vs loads again (a reboot, or stop vigild, modprobe -r ip_vs, start vigild: "
          "IPVS's tables and connections are lost)",
          wanted);
    } else {
      f.why = fmt::format("at most {} connections per bucket", kConnectionsPerBucket);
    }
    add(std::move(f));
  }

  // lb_kind NAT rewrites the real server's replies back to the VIP only when they pass through
  // the director: IPVS sees the client's SYN (SYN_RECV) and then the real server's answer. A
  // real server whose replies take another path (its default route not via the director) leaves
  // every connection in SYN_RECV; the client gets a SYN-ACK from an address it never called.
  void nat_return_path() {
    if (!facts_.ipvs_table || !facts_.ipvs_table->connections) return;
    const auto& by_destination = facts_.ipvs_table->tcp_by_destination;
    std::set<std::pair<IpAddress, uint16_t>> seen;
    for (const auto& vs : config_.lvs.virtual_servers) {
      if (vs.kind != config::VirtualServerKind::kFwmark && vs.protocol != config::LvsProtocol::kTcp)
        continue;  // a fwmark service carries whatever its mark selects
      for (const auto& rs : vs.real_servers) {
        if (rs.forwarding.method != ForwardingMethod::kNat) continue;
        const std::pair<IpAddress, uint16_t> key{rs.address, rs.port};
        if (!seen.insert(key).second) continue;
        const auto found = by_destination.find(key);
        if (found == by_destination.end()) continue;  // no connection to judge by
        const DestinationConnStates& states = found->second;
        const std::string target = host_port(rs.address, rs.port);
        Finding f{.check = "rs.nat_return_path",
                  .subject = fmt::format("{} real_server {}", describe(vs), target),
                  .location = where(rs.loc)};
        if (states.past_syn == 0 && states.syn_recv >= kStuckSynRecv) {
          f.level = Level::kFail;
          f.found = fmt::format(
              "{} connections to {} are in SYN_RECV and none got further: its replies do not "
              "come back through this director",
              states.syn_recv, target);
          f.why =
              "with lb_kind NAT the real server must answer through the director, which rewrites "
              "the replies' source back to the VIP; replies that take another path reach the "
              "client from the real server's own address and are dropped";
          f.fix = fmt::format(
              "on {}: ip route replace default via {} (or a route to the clients' networks "
              "through the director), or use lb_kind DR or FULLNAT",
              rs.address.to_string(), nat_gateway_hint(rs.address));
        } else {
          f.found = fmt::format("{} of {} connections to {} got past SYN_RECV", states.past_syn,
                                states.past_syn + states.syn_recv, target);
          f.why = "its replies come back through the director";
        }
        add(std::move(f));
      }
    }
  }

  // The virtual_ipaddress on a real server's network (its gateway when the directors are a VRRP
  // pair), or a placeholder.
  std::string nat_gateway_hint(const IpAddress& real_server) const {
    if (const auto gateway = vrrp_gateway(config_, real_server))
      return gateway->address.to_string() + " (vrrp_instance " + gateway->instance + "'s VIP)";
    return "THIS_DIRECTOR'S_ADDRESS_ON_ITS_NETWORK";
  }

  void rp_filter() {
    auto [vs, n] = services([](const VirtualServer& v) {
      return v.family == AddressFamily::kIpv4 &&
             (uses_nat(v) || uses(v, ForwardingMethod::kTunnel));
    });
    if (!vs) return;
    const std::string* all = sysctl(kRpFilterAll);
    std::set<std::string> seen;
    for (const auto& instance : config_.vrrp.instances) {
      const std::string& name = instance.interface;
      if (name.empty() || !seen.insert(name).second) continue;
      const std::string* own = sysctl(rp_filter_key(name));
      if (!own || !all) continue;  // a missing interface is vrrp.interface's finding
      // The kernel uses the larger of conf.all and conf.IFACE.
      const std::string& effective = std::max(*own, *all);
      Finding f{.check = "kernel.rp_filter",
                .subject = fmt::format("{}{} via {}", describe(*vs), and_more(n), name),
                .location = where(vs->loc),
                .found = fmt::format("rp_filter on {} = {} (all = {}, effective {})", name, *own,
                                     *all, effective)};
      if (effective == "1") {
        f.level = Level::kWarn;
        f.why =
            "strict reverse-path filtering drops packets that arrive on an interface the "
            "route back to their source does not leave by: NAT replies and tunnelled "
            "traffic with asymmetric routes are dropped silently";
        f.fix = fmt::format(
            "sysctl -w net.ipv4.conf.{}.rp_filter=2 net.ipv4.conf.all.rp_filter=2 (loose; "
            "persist in /etc/sysctl.d/90-vigil.conf)",
            name);
        f.sysctl_fixes = {{rp_filter_key(name), "2"}, {kRpFilterAll, "2"}};
      } else {
        f.why = "reverse-path filtering is off or loose: asymmetric NAT/TUN routes are accepted";
      }
      add(std::move(f));
    }
  }

  void interfaces() {
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& use : interface_uses(config_)) {
      if (!seen.insert({use.name, use.subject}).second) continue;
      Finding f{.check = "vrrp.interface", .subject = use.subject, .location = where(use.loc)};
      auto it = facts_.interfaces.find(use.name);
      if (it == facts_.interfaces.end()) {
        f.level = Level::kFail;
        f.found = fmt::format("{} {}: no such interface", use.role, use.name);
        f.why = use.tracked ? "a tracked interface that does not exist keeps the instance in FAULT"
                            : "the instance cannot send or receive adverts nor hold its addresses "
                              "there: it stays in FAULT";
        f.fix =
            fmt::format("ip link show (fix the name at {}, or create {})", f.location, use.name);
      } else if (!it->second.admin_up) {
        f.level = Level::kWarn;
        f.found = fmt::format("{} {} is down (administratively)", use.role, use.name);
        f.why = "the instance is in FAULT while it is down";
        f.fix = fmt::format("ip link set dev {} up", use.name);
      } else if (!it->second.carrier) {
        f.level = Level::kWarn;
        f.found = fmt::format("{} {} is up but has no carrier (operstate {})", use.role, use.name,
                              it->second.operstate);
        f.why = "the instance is in FAULT while the link is down";
        f.fix = "check the cable, the switch port or the peer of the virtual link";
      } else {
        f.found = fmt::format("{} {} is up", use.role, use.name);
        f.why = use.tracked ? "tracked: the instance follows its state" : "VRRP runs on it";
      }
      add(std::move(f));
    }
  }

  void unicast_sources() {
    for (const auto& instance : config_.vrrp.instances) {
      if (!instance.source_address) continue;
      const std::string address = instance.source_address->to_string();
      Finding f{.check = "vrrp.source_address",
                .subject = "vrrp_instance " + instance.name,
                .location = where(instance.at.source_address)};
      if (facts_.local_addresses.count(address) == 0) {
        f.level = Level::kFail;
        f.found = fmt::format("{} is not an address of this host", address);
        f.why =
            "adverts are sent from it: the kernel refuses to send from an address the host "
            "does not have, and peers checking the source drop them";
        f.fix = fmt::format(
            "ip address add {}/PREFIX dev {} (or fix unicast_src_ip / "
            "mcast_src_ip at {})",
            address, instance.interface, f.location);
      } else {
        f.found = fmt::format("{} is an address of this host", address);
        f.why = "adverts are sent from it";
      }
      add(std::move(f));
    }
  }

  void scripts() {
    using script_security::Verdict;
    const bool enforce = config_.global.enable_script_security;
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& use : script_uses(config_)) {
      if (!seen.insert({use.ref.program, use.subject}).second) continue;
      auto it = facts_.scripts.find(use.ref);
      if (it == facts_.scripts.end()) continue;
      const ScriptState& s = it->second;
      Finding f{.check = "scripts.script", .subject = use.subject, .location = where(use.loc)};
      const std::string consequence =
          use.tracked ? "it never runs, so it counts as failing" : "it never runs";
      switch (s.verdict) {
        case Verdict::kNotFound:
          f.level = Level::kFail;
          f.found = fmt::format("{}: not found", use.ref.program);
          f.why = consequence;
          f.fix = fmt::format("install {} (or fix the path at {})", use.ref.program, f.location);
          break;
        case Verdict::kWrongType:
          f.level = Level::kFail;
          f.found = fmt::format("{}: {}", use.ref.program, s.reason);
          f.why = consequence;
          f.fix = fmt::format("make {} a regular file", use.ref.program);
          break;
        case Verdict::kNotExecutable:
          f.level = Level::kFail;
          f.found = fmt::format("{}: not executable by {}", use.ref.program, s.user);
          f.why = consequence;
          f.fix = fmt::format("chmod 755 {}", use.ref.program);
          break;
        case Verdict::kRefused:
        case Verdict::kInsecure:
          f.level = enforce ? Level::kFail : Level::kWarn;
          f.found =
              fmt::format("{} runs as {} and is insecure: {}", use.ref.program, s.user, s.reason);
          f.why = enforce ? "enable_script_security refuses it: " + consequence
                          : "a non-root user could change what runs as root; "
                            "enable_script_security would refuse it";
          f.fix = "chown root: and chmod go-w the script and every directory on its path";
          break;
        case Verdict::kSecure:
          f.found = fmt::format("{} runs as {}", use.ref.program, s.user);
          f.why = enforce ? "enable_script_security accepts it" : "it runs";
          break;
      }
      add(std::move(f));
    }
  }

  void open_files() {
    const size_t checkers = checker_count(config_);
    if (checkers == 0 || !facts_.open_file_limit) return;
    const uint64_t limit = *facts_.open_file_limit;
    const uint64_t need = checkers + kBaseDescriptors;
    Finding f{.check = "resources.open_files",
              .subject = fmt::format("checkers: {}", checkers),
              .found = fmt::format("open-file limit (RLIMIT_NOFILE soft) {}", limit)};
    if (limit < need) {
      f.level = Level::kFail;
      f.why = fmt::format(
          "each checker holds a socket while it runs: with {} checkers vigild "
          "needs at least {} descriptors, so checks fail with EMFILE",
          checkers, need);
      f.fix = fmt::format("LimitNOFILE={} in the unit (systemctl edit vigild), or ulimit -n {}",
                          2 * need, 2 * need);
    } else if (limit < 2 * need) {
      f.level = Level::kWarn;
      f.why = fmt::format("{} checkers need about {} descriptors: little room for growth", checkers,
                          need);
      f.fix = fmt::format("LimitNOFILE={} in the unit (systemctl edit vigild)", 2 * need);
    } else {
      f.why = fmt::format("{} checkers need about {} descriptors", checkers, need);
    }
    add(std::move(f));
  }

  // Connection tracking: FULLNAT's source NAT needs it, and wherever it is loaded a full table
  // drops the first packet of every new connection (the seeds' "connection count not
  // increasing: conntrack max too small").
  void fullnat_conntrack() {
    auto [fullnat, nf] =
        services([](const VirtualServer& v) { return uses(v, ForwardingMethod::kFullNat); });
    if (!fullnat) return;
    for (const char* module : kFullNatModules) {
      const ModuleState state = module_state(module);
      Finding f{.check = "kernel.nf_conntrack",
                .subject = describe(*fullnat) + and_more(nf),
                .location = where(fullnat->loc)};
      if (state == ModuleState::kMissing) {
        f.level = Level::kFail;
        f.found = missing(module);
        f.why =
            "lvs_method FULLNAT: vigild source-NATs the forwarded traffic with an nftables "
            "masquerade, which needs connection tracking: without it the real servers' replies "
            "go straight to the clients, who drop them";
        f.fix = fmt::format("install the kernel's netfilter modules, then modprobe {}", module);
      } else {
        f.found = fmt::format("{} {}", module, to_string(state));
        f.why = "FULLNAT's source NAT has the connection tracking it needs";
      }
      add(std::move(f));
    }
  }

  // FULLNAT's nftables masquerade sees IPVS's connections only when IPVS keeps conntrack
  // entries for them (net.ipv4.vs.conntrack, 0 by default): vigild sets it to 1 when it programs
  // a FULLNAT service. 0 while vigild runs means something set it back.
  void vs_conntrack() {
    auto [fullnat, n] =
        services([](const VirtualServer& v) { return uses(v, ForwardingMethod::kFullNat); });
    if (!fullnat) return;
    const std::string* value = sysctl(kVsConntrack);
    if (!value) return;  // ip_vs not loaded: vigild sets it once it has loaded it
    Finding f{.check = "kernel.vs_conntrack",
              .subject = describe(*fullnat) + and_more(n),
              .location = where(fullnat->loc),
              .found = fmt::format("{} = {}", kVsConntrack, *value)};
    if (*value != "0") {
      f.why = "IPVS keeps conntrack entries for its connections: FULLNAT's source NAT sees them";
    } else if (facts_.live) {
      f.level = Level::kFail;
      f.why =
          "vigild runs and set it to 1 for FULLNAT, and something set it back (a sysctl.d file "
          "applied later?): the nftables masquerade no longer sees IPVS's connections, so the "
          "real servers' replies go to the clients' addresses directly and are dropped";
      f.fix = fmt::format(
          "sysctl -w {}=1, and find what resets it (grep -r vs.conntrack "
          "/etc/sysctl.conf /etc/sysctl.d /run/sysctl.d /usr/lib/sysctl.d)",
          kVsConntrack);
      f.sysctl_fixes = {{kVsConntrack, "1"}};
    } else {
      f.why = "vigild sets it to 1 when it programs the first FULLNAT service";
    }
    add(std::move(f));
  }

  void conntrack_table() {
    if (config_.lvs.virtual_servers.empty()) return;
    const std::string* max_text = sysctl(kConntrackMax);
    const std::string* count_text = sysctl(kConntrackCount);
    if (!max_text || !count_text) return;  // not loaded: nothing is tracked, nothing fills up
    uint64_t max = 0;
    uint64_t count = 0;
    if (!parse_uint(*max_text, max) || !parse_uint(*count_text, count) || max == 0) return;
    const auto& first = config_.lvs.virtual_servers.front();
    Finding f{.check = "kernel.conntrack_table",
              .subject = describe(first) + and_more(config_.lvs.virtual_servers.size()),
              .location = where(first.loc),
              .found = fmt::format("{} = {} of {} = {} ({}%)", kConntrackCount, count,
                                   kConntrackMax, max, count * 100 / max)};
    const std::string fix = fmt::format(
        "sysctl -w {}={} (in the initial network namespace; persist in "
        "/etc/sysctl.d/90-vigil.conf; raise nf_conntrack_buckets with it), or exempt the "
        "IPVS traffic from tracking (nftables notrack)",
        kConntrackMax, 2 * max);
    if (count >= max) {
      f.level = Level::kFail;
      f.why =
          "the connection tracking table is full: the kernel drops the first packet of every "
          "new connection (\"nf_conntrack: table full, dropping packet\"), so new clients "
          "through this director time out while established ones go on";
      f.fix = fix;
      f.sysctl_fixes = {{kConntrackMax, std::to_string(2 * max)}};
    } else if (count * 10 >= max * 9) {
      f.level = Level::kWarn;
      f.why =
          "the connection tracking table is over 90% full: when it fills, the kernel drops the "
          "first packet of every new connection and new clients time out";
      f.fix = fix;
      f.sysctl_fixes = {{kConntrackMax, std::to_string(2 * max)}};
    } else {
      f.why = "the connection tracking table has room for new connections";
    }
    add(std::move(f));
  }

  // With a running vigild: a service whose real servers have equal weights in IPVS but one of
  // them got nearly every connection.
  void traffic_skew() {
    if (!facts_.live) return;
    std::map<std::string_view, const LiveService*> by_name;
    for (const auto& service : facts_.live->services)
      by_name.emplace(service.name, &service);
    for (const auto& vs : config_.lvs.virtual_servers) {
      const auto found = by_name.find(lvs::format_virtual_server(check::virtual_server_key(vs)));
      if (found == by_name.end()) continue;
      const LiveService* live = found->second;
      std::vector<const LiveRealServer*> serving;
      for (const auto& rs : live->real_servers) {
        if (rs.kernel_weight > 0) serving.push_back(&rs);
      }
      if (serving.size() < 2) continue;
      const bool equal = std::all_of(serving.begin(), serving.end(), [&](const auto* rs) {
        return rs->kernel_weight == serving.front()->kernel_weight;
      });
      if (!equal) continue;  // the shares follow the weights
      uint64_t total = 0;
      const LiveRealServer* busiest = serving.front();
      for (const auto* rs : serving) {
        total += rs->connections;
        if (rs->connections > busiest->connections) busiest = rs;
      }
      Finding f{.check = "traffic.skew", .subject = describe(vs), .location = where(vs.loc)};
      const uint64_t share = total == 0 ? 0 : busiest->connections * 100 / total;
      f.found = fmt::format(
          "{} of {} connections ({}%) went to {}, one of {} real servers of "
          "weight {} in IPVS (live, {})",
          busiest->connections, total, share, busiest->address, serving.size(),
          serving.front()->kernel_weight, facts_.live->socket);
      if (total < kSkewMinConnections) {
        f.why = fmt::format("too few connections to judge (fewer than {})", kSkewMinConnections);
      } else if (busiest->connections * 100 < total * kSkewPercent) {
        f.why = "the connections are spread over the real servers";
      } else {
        f.level = Level::kWarn;
        f.why = skew_cause(vs);
        f.fix = skew_fix(vs);
      }
      add(std::move(f));
    }
  }

  static std::string skew_cause(const VirtualServer& vs) {
    const std::string_view sched = config::to_string(vs.scheduler);
    if (vs.persistence_timeout > 0)
      return fmt::format(
          "persistence_timeout {} explains it: each client stays on the real server it first "
          "got, so a few clients (or many behind one NAT) load one server (counts since each "
          "destination was added)",
          vs.persistence_timeout);
    if (sched == "sh" || sched == "mh" || sched == "dh")
      return fmt::format(
          "lb_algo {} explains it: it hashes the {} address, so a few clients (or many behind one "
          "NAT) always land on one server (counts since each destination was added)",
          sched, sched == "dh" ? "destination" : "source");
    return fmt::format(
        "lb_algo {} with equal weights should spread new connections; nothing in the "
        "configuration explains it (counts since each destination was added: a real server that "
        "came back recently has fewer)",
        sched);
  }

  static std::string skew_fix(const VirtualServer& vs) {
    if (vs.persistence_timeout > 0)
      return "expected with persistence; a shorter persistence_timeout (or persistence_granularity "
             "for clients behind NAT) spreads it";
    const std::string_view sched = config::to_string(vs.scheduler);
    if (sched == "sh" || sched == "mh" || sched == "dh")
      return "expected with a hashing scheduler; lb_algo wlc or rr spreads clients";
    return "vigilctl services (the real servers' checks and connections); ipvsadm -Ln --stats";
  }

  static bool parse_uint(const std::string& text, uint64_t& value) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && end == text.data() + text.size();
  }

  const config::Config& config_;
  const config::SourceFiles& files_;
  const Facts& facts_;
  std::vector<Finding> out_;
};

}  // namespace

Wants wants(const config::Config& config, bool probes) {
  Wants w;
  if (probes) {
    w.probes = true;
    w.routes = route_targets(config);
    // The VRRP listening leaves out this host's own adverts.
    if (!config.vrrp.instances.empty()) w.local_addresses = true;
  }
  const auto& vss = config.lvs.virtual_servers;
  for (const auto& vs : vss) {
    if (uses_nat(vs))
      w.sysctls.insert(vs.family == AddressFamily::kIpv4 ? kIpForward : kIpv6Forwarding);
    w.modules.insert(module_for(vs.scheduler));
  }
  if (!vss.empty()) {
    w.live = true;
    w.sysctls.insert(kConntrackMax);
    w.sysctls.insert(kConntrackCount);
    if (std::any_of(vss.begin(), vss.end(),
                    [](const VirtualServer& vs) { return uses(vs, ForwardingMethod::kFullNat); })) {
      w.modules.insert(kFullNatModules.begin(), kFullNatModules.end());
      w.sysctls.insert(kVsConntrack);
    }
    w.modules.insert("ip_vs");
    w.sysctls.insert(kExpireNodest);
    w.sysctls.insert(kExpireQuiescent);
    w.sysctls.insert(kRpFilterAll);
    w.open_file_limit = true;
    w.ipvs_table = true;
  }
  for (const auto& use : interface_uses(config))
    w.interfaces.insert(use.name);
  if (!config.vrrp.instances.empty()) w.firewall = true;
  for (const auto& instance : config.vrrp.instances) {
    if (!instance.interface.empty()) w.sysctls.insert(rp_filter_key(instance.interface));
    if (instance.source_address) w.local_addresses = true;
  }
  for (const auto& use : script_uses(config))
    w.scripts.insert(use.ref);
  return w;
}

std::vector<Finding> diagnose(const config::Config& config, const config::SourceFiles& files,
                              const Facts& facts) {
  auto findings = Diagnoser(config, files, facts).run();
  for (auto& f : diagnose_firewall(config, files, facts))
    findings.push_back(std::move(f));
  for (auto& f : diagnose_probes(config, files, facts))
    findings.push_back(std::move(f));
  return findings;
}

Facts gather(const config::Config& config, const Wants& wants, const Host& host) {
  Facts facts;
  for (const auto& name : wants.sysctls) {
    if (auto value = host.sysctl(name)) facts.sysctls.emplace(name, std::move(*value));
  }
  for (const auto& name : wants.interfaces) {
    if (auto state = host.interface(name)) facts.interfaces.emplace(name, std::move(*state));
  }
  for (const auto& name : wants.modules)
    facts.modules.emplace(name, host.module(name));
  if (!wants.modules.empty()) {
    facts.modules_dir = host.modules_dir();
    facts.module_index = host.module_index();
  }
  for (const auto& script : wants.scripts)
    facts.scripts.emplace(script, host.script(script, config.global));
  if (wants.local_addresses) facts.local_addresses = host.local_addresses();
  if (wants.open_file_limit) facts.open_file_limit = host.open_file_limit();
  if (wants.live) facts.live = host.live_state(config.global);
  if (wants.firewall) facts.firewall = host.firewall();
  if (wants.ipvs_table) facts.ipvs_table = host.ipvs_conn_table();
  if (wants.probes) {
    for (const auto& destination : wants.routes) {
      if (auto route = host.route(destination)) facts.routes.emplace(destination, *route);
    }
    facts.probes = host.probe(probe_plan(config, facts.routes));
  }
  return facts;
}

}  // namespace vigil::doctor
