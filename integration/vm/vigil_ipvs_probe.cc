// vigil-ipvs-probe: drives IpvsNetlinkDatapath from the command line so the VM tests can check
// it against ipvsadm, the reference client. Tables are written in ipvsadm's rules syntax (what
// `ipvsadm -Sn` prints and `ipvsadm -R` reads), so one file feeds both. Not installed.
//
//   vigil-ipvs-probe info
//   vigil-ipvs-probe apply FILE|-            apply the rules, pipelined; failures listed as
//                                            "FAIL <line> <operation>: <error>", exit 3 if any
//   vigil-ipvs-probe dump                    the table in rules syntax (feed it to ipvsadm -R)
//   vigil-ipvs-probe stats                   counters of every service and destination
//   vigil-ipvs-probe daemon-start OPTIONS    ipvsadm's --start-daemon options
//   vigil-ipvs-probe daemon-stop master|backup
//   vigil-ipvs-probe daemons                 as `ipvsadm -L --daemon` prints them
//   vigil-ipvs-probe timeouts-set TCP TCPFIN UDP
//   vigil-ipvs-probe timeouts                as `ipvsadm -L --timeout` prints them
//   vigil-ipvs-probe bench SERVICES DESTS    program SERVICES x DESTS, dump, print timings
//
// VIGIL_PROBE_WINDOW sets the adapter's batch size.
#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/log.h"
#include "datapath/ipvs_messages.h"
#include "datapath/ipvs_netlink.h"

namespace {

using namespace vigil;
using namespace vigil::datapath;

[[noreturn]] void die(const std::string& message) {
  std::cerr << "vigil-ipvs-probe: " << message << "\n";
  std::exit(2);
}

// "10.0.0.1:80", "[2001:db8::1]:80", "10.0.0.1" (port absent: nullopt).
std::pair<IpAddress, std::optional<uint16_t>> parse_endpoint(const std::string& text) {
  std::string host = text;
  std::optional<uint16_t> port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) die("bad address " + text);
    host = text.substr(1, close - 1);
    if (close + 1 < text.size() && text[close + 1] == ':') {
      port = static_cast<uint16_t>(std::stoi(text.substr(close + 2)));
    }
  } else if (const auto colon = text.find(':');
             colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
    host = text.substr(0, colon);
    port = static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
  }
  auto address = IpAddress::parse(host);
  if (!address) die("bad address " + text);
  return {*address, port};
}

uint8_t parse_netmask(const std::string& text, AddressFamily family) {
  if (family == AddressFamily::kIpv6 || text.find('.') == std::string::npos) {
    return static_cast<uint8_t>(std::stoi(text));
  }
  in_addr mask{};
  if (inet_pton(AF_INET, text.c_str(), &mask) != 1) die("bad netmask " + text);
  return ipvs::prefix_from_ipv4_netmask(ntohl(mask.s_addr));
}

struct ParsedLine {
  char command = 0;  // A E D a e d C
  ServiceKey service;
  Service service_attributes;
  DestinationKey destination;
  Destination destination_attributes;
};

// One line of ipvsadm rules syntax.
std::optional<ParsedLine> parse_rule(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word;)
    words.push_back(word);
  if (words.empty() || words[0][0] == '#') return std::nullopt;
  ParsedLine parsed;
  std::optional<std::pair<IpAddress, std::optional<uint16_t>>> real_server;
  std::optional<std::string> netmask;
  bool ipv6_fwmark = false;
  std::optional<uint32_t> fwmark;
  std::vector<std::string> sched_flags;
  auto value = [&](size_t& i) -> const std::string& {
    if (i + 1 >= words.size()) die("missing value after " + words[i] + " in: " + line);
    return words[++i];
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "-A" || w == "-E" || w == "-D" || w == "-a" || w == "-e" || w == "-d" || w == "-C") {
      parsed.command = w[1];
    } else if (w == "-t" || w == "-u" || w == "--sctp-service") {
      auto [address, port] = parse_endpoint(value(i));
      parsed.service = {.protocol = w == "-t"   ? Protocol::kTcp
                                    : w == "-u" ? Protocol::kUdp
                                                : Protocol::kSctp,
                        .address = address,
                        .port = port.value_or(0)};
    } else if (w == "-f") {
      fwmark = static_cast<uint32_t>(std::stoul(value(i)));
    } else if (w == "-6") {
      ipv6_fwmark = true;
    } else if (w == "-s") {
      parsed.service_attributes.scheduler = value(i);
    } else if (w == "-p") {
      parsed.service_attributes.flags.persistent = true;
      parsed.service_attributes.persistence_timeout = std::chrono::seconds(300);
      if (i + 1 < words.size() && words[i + 1][0] != '-') {
        parsed.service_attributes.persistence_timeout = std::chrono::seconds(std::stoi(value(i)));
      }
    } else if (w == "-M") {
      netmask = value(i);
    } else if (w == "-b") {
      std::stringstream names(value(i));
      for (std::string name; std::getline(names, name, ',');)
        sched_flags.push_back(name);
    } else if (w == "-o") {
      parsed.service_attributes.flags.one_packet = true;
    } else if (w == "--pe") {
      parsed.service_attributes.persistence_engine = value(i);
    } else if (w == "-r") {
      real_server = parse_endpoint(value(i));
    } else if (w == "-g") {
      parsed.destination_attributes.method = ForwardingMethod::kDirectRoute;
    } else if (w == "-i") {
      parsed.destination_attributes.method = ForwardingMethod::kTunnel;
    } else if (w == "-m") {
      parsed.destination_attributes.method = ForwardingMethod::kNat;
    } else if (w == "-w") {
      parsed.destination_attributes.weight = std::stoi(value(i));
    } else if (w == "-x") {
      parsed.destination_attributes.upper_threshold = static_cast<uint32_t>(std::stoul(value(i)));
    } else if (w == "-y") {
      parsed.destination_attributes.lower_threshold = static_cast<uint32_t>(std::stoul(value(i)));
    } else if (w == "--tun-type") {
      const std::string& type = value(i);
      parsed.destination_attributes.tunnel_type = type == "gue"   ? TunnelType::kGue
                                                  : type == "gre" ? TunnelType::kGre
                                                                  : TunnelType::kIpip;
    } else if (w == "--tun-port") {
      parsed.destination_attributes.tunnel_port = static_cast<uint16_t>(std::stoi(value(i)));
    } else if (w == "--tun-nocsum") {
      parsed.destination_attributes.tunnel_flags = {};
    } else if (w == "--tun-csum") {
      parsed.destination_attributes.tunnel_flags.checksum = true;
    } else if (w == "--tun-remcsum") {
      parsed.destination_attributes.tunnel_flags.remote_checksum = true;
    } else {
      die("unknown word " + w + " in: " + line);
    }
  }
  if (parsed.command == 0) die("no command in: " + line);
  if (fwmark) {
    parsed.service = ServiceKey::firewall_mark(
        *fwmark, ipv6_fwmark ? AddressFamily::kIpv6 : AddressFamily::kIpv4);
  }
  Service& s = parsed.service_attributes;
  s.netmask_prefix = host_prefix(parsed.service.family());
  if (netmask) s.netmask_prefix = parse_netmask(*netmask, parsed.service.family());
  for (const auto& name : sched_flags) {
    auto flag = scheduler_flag_by_name(s.scheduler, name);
    if (!flag) die("scheduler flag " + name + " means nothing for " + s.scheduler);
    if (*flag == SchedulerFlag::kFlag1) s.flags.sched_flag_1 = true;
    if (*flag == SchedulerFlag::kFlag2) s.flags.sched_flag_2 = true;
    if (*flag == SchedulerFlag::kFlag3) s.flags.sched_flag_3 = true;
  }
  if (real_server) {
    // Like ipvsadm: a real server without a port takes the service's.
    parsed.destination = {real_server->first, real_server->second.value_or(parsed.service.port)};
  }
  return parsed;
}

Operation to_operation(const ParsedLine& p) {
  switch (p.command) {
    case 'A':
      return AddService{p.service, p.service_attributes};
    case 'E':
      return EditService{p.service, p.service_attributes};
    case 'D':
      return DeleteService{p.service};
    case 'a':
      return AddDestination{p.service, p.destination, p.destination_attributes};
    case 'e':
      return EditDestination{p.service, p.destination, p.destination_attributes};
    case 'd':
      return DeleteDestination{p.service, p.destination};
    default:
      return Flush{};
  }
}

std::string endpoint(const IpAddress& address, uint16_t port) {
  return address.is_v6() ? "[" + address.to_string() + "]:" + std::to_string(port)
                         : address.to_string() + ":" + std::to_string(port);
}

std::string service_words(const ServiceKey& key) {
  if (key.is_fwmark()) {
    return "-f " + std::to_string(key.fwmark) + (key.family() == AddressFamily::kIpv6 ? " -6" : "");
  }
  const char* flag = key.protocol == Protocol::kTcp   ? "-t"
                     : key.protocol == Protocol::kUdp ? "-u"
                                                      : "--sctp-service";
  return std::string(flag) + " " + endpoint(key.address, key.port);
}

std::string netmask_text(const ServiceKey& key, uint8_t prefix) {
  if (key.family() == AddressFamily::kIpv6) return std::to_string(prefix);
  in_addr mask{.s_addr = htonl(ipvs::ipv4_netmask_from_prefix(prefix))};
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &mask, text, sizeof text);
  return text;
}

// The table in rules syntax; `ipvsadm -R` reads it back.
void print_rules(const Table& table) {
  for (const auto& [key, entry] : table) {
    const Service& s = entry.service;
    std::cout << "-A " << service_words(key) << " -s " << s.scheduler;
    if (const auto names = scheduler_flag_names(s.scheduler, s.flags); !names.empty()) {
      std::cout << " -b " << names;
    }
    if (s.flags.persistent) {
      std::cout << " -p " << s.persistence_timeout.count() << " -M "
                << netmask_text(key, s.netmask_prefix);
    }
    if (s.flags.one_packet) std::cout << " -o";
    if (!s.persistence_engine.empty()) std::cout << " --pe " << s.persistence_engine;
    std::cout << "\n";
    for (const auto& [dkey, d] : entry.destinations) {
      std::cout << "-a " << service_words(key) << " -r " << endpoint(dkey.address, dkey.port);
      switch (d.method) {
        case ForwardingMethod::kDirectRoute:
          std::cout << " -g";
          break;
        case ForwardingMethod::kTunnel:
          std::cout << " -i --tun-type " << to_string(d.tunnel_type);
          if (d.tunnel_type == TunnelType::kGue) std::cout << " --tun-port " << d.tunnel_port;
          if (d.tunnel_type != TunnelType::kIpip) {
            if (d.tunnel_flags.checksum) std::cout << " --tun-csum";
            if (d.tunnel_flags.remote_checksum) std::cout << " --tun-remcsum";
          }
          break;
        default:
          std::cout << " -m";
      }
      std::cout << " -w " << d.weight;
      if (d.upper_threshold != 0) std::cout << " -x " << d.upper_threshold;
      if (d.lower_threshold != 0) std::cout << " -y " << d.lower_threshold;
      std::cout << "\n";
    }
  }
}

// VIGIL_PROBE_WINDOW: requests per batch (default 256), to test batch boundaries.
std::unique_ptr<IpvsNetlinkDatapath> open_datapath() {
  size_t window = 256;
  if (const char* text = std::getenv("VIGIL_PROBE_WINDOW")) window = std::stoul(text);
  auto datapath = IpvsNetlinkDatapath::open({.name = "probe", .window = window});
  if (!datapath) die(datapath.error().message);
  return std::move(*datapath);
}

int apply_file(const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) die("cannot read " + path);
    in = &file;
  }
  std::vector<Operation> operations;
  std::vector<size_t> line_of;
  size_t number = 0;
  for (std::string line; std::getline(*in, line);) {
    ++number;
    if (auto parsed = parse_rule(line)) {
      operations.push_back(to_operation(*parsed));
      line_of.push_back(number);
    }
  }
  auto datapath = open_datapath();
  auto results = datapath->apply(operations);
  int failed = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) continue;
    ++failed;
    std::cout << "FAIL " << line_of[i] << " " << to_string(operations[i]) << ": "
              << results[i].message << "\n";
  }
  std::cout << "applied " << operations.size() - failed << " of " << operations.size()
            << " operations in " << datapath->counters().batches << " batches\n";
  return failed == 0 ? 0 : 3;
}

int print_stats() {
  auto table = open_datapath()->dump();
  if (!table) die(table.error().message);
  for (const auto& [key, entry] : *table) {
    const Stats& s = entry.stats;
    std::cout << to_string(key) << " conns " << s.connections << " inpkts " << s.packets_in
              << " outpkts " << s.packets_out << " inbytes " << s.bytes_in << " outbytes "
              << s.bytes_out << "\n";
    for (const auto& [dkey, ds] : entry.destination_stats) {
      std::cout << "  -> " << to_string(dkey) << " conns " << ds.traffic.connections << " inpkts "
                << ds.traffic.packets_in << " outpkts " << ds.traffic.packets_out << " active "
                << ds.active_connections << " inactive " << ds.inactive_connections << "\n";
    }
  }
  return 0;
}

int start_daemon(const std::vector<std::string>& args) {
  SyncDaemonConfig config;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) die("missing value after " + args[i]);
      return args[++i];
    };
    const std::string& a = args[i];
    if (a == "master" || a == "backup") {
      config.state = a == "master" ? SyncDaemonState::kMaster : SyncDaemonState::kBackup;
    } else if (a == "--mcast-interface") {
      config.interface = value();
    } else if (a == "--syncid") {
      config.sync_id = static_cast<uint8_t>(std::stoi(value()));
    } else if (a == "--sync-maxlen") {
      config.max_length = static_cast<uint16_t>(std::stoi(value()));
    } else if (a == "--mcast-group") {
      config.group = IpAddress::parse(value());
      if (!config.group) die("bad group");
    } else if (a == "--mcast-port") {
      config.port = static_cast<uint16_t>(std::stoi(value()));
    } else if (a == "--mcast-ttl") {
      config.ttl = static_cast<uint8_t>(std::stoi(value()));
    } else {
      die("unknown daemon option " + a);
    }
  }
  if (auto status = open_datapath()->start_sync_daemon(config); !status) {
    die(status.error().message);
  }
  return 0;
}

int print_daemons() {
  auto daemons = open_datapath()->sync_daemons();
  if (!daemons) die(daemons.error().message);
  for (const auto& d : *daemons) {
    std::cout << to_string(d.state) << " sync daemon (mcast=" << d.interface << ", syncid="
              << static_cast<unsigned>(d.sync_id) << ", maxlen=" << d.max_length
              << ", group=" << (d.group ? d.group->to_string() : std::string("224.0.0.81"))
              << ", port=" << d.port << ", ttl=" << static_cast<unsigned>(d.ttl) << ")\n";
  }
  return 0;
}

// Programs services x dests (TCP 10.x.y.z:80, NAT destinations), then dumps it back, timing
// both: the pipelined apply and the N+1 dumps.
int bench(int services, int dests) {
  auto datapath = open_datapath();
  std::vector<Operation> operations;
  operations.reserve(static_cast<size_t>(services) * (dests + 1));
  for (int s = 0; s < services; ++s) {
    const auto vip = IpAddress::v4(0x0a000000U + static_cast<uint32_t>(s + 1));
    const auto key = ServiceKey::tcp(vip, 80);
    operations.push_back(AddService{key, Service{.scheduler = "wrr"}});
    for (int d = 0; d < dests; ++d) {
      const auto rip = IpAddress::v4(0xac100000U + static_cast<uint32_t>(s * dests + d + 1));
      operations.push_back(AddDestination{key, {rip, 8080}, Destination{.weight = d + 1}});
    }
  }
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto results = datapath->apply(operations);
  const auto applied = Clock::now();
  size_t failed = 0;
  for (const auto& r : results)
    failed += r.ok() ? 0 : 1;
  auto table = datapath->dump();
  const auto dumped = Clock::now();
  if (!table) die(table.error().message);
  size_t destination_count = 0;
  for (const auto& [key, entry] : *table)
    destination_count += entry.destinations.size();
  auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::printf(
      "bench apply: %zu operations (%d services x %d dests) in %.3f s, %llu batches, "
      "%zu failed\n",
      operations.size(), services, dests, seconds(applied - start),
      static_cast<unsigned long long>(datapath->counters().batches), failed);
  std::printf("bench dump: %zu services, %zu dests in %.3f s, %llu dump requests\n", table->size(),
              destination_count, seconds(dumped - applied),
              static_cast<unsigned long long>(datapath->counters().dumps));
  const bool complete = failed == 0 && table->size() == static_cast<size_t>(services) &&
                        destination_count == static_cast<size_t>(services) * dests;
  return complete ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  vigil::log::setup({.console = true, .level = spdlog::level::warn});
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) die("usage: see the comment at the top of vigil_ipvs_probe.cc");
  const std::string& command = args[0];
  if (command == "info") {
    auto info = open_datapath()->info();
    if (!info) die(info.error().message);
    std::cout << "IPVS " << info->version_string() << " connection table size "
              << info->connection_table_size << "\n";
    return 0;
  }
  if (command == "apply" && args.size() == 2) return apply_file(args[1]);
  if (command == "dump") {
    auto table = open_datapath()->dump();
    if (!table) die(table.error().message);
    print_rules(*table);
    return 0;
  }
  if (command == "stats") return print_stats();
  if (command == "daemon-start") return start_daemon({args.begin() + 1, args.end()});
  if (command == "daemon-stop" && args.size() == 2) {
    auto status = open_datapath()->stop_sync_daemon(args[1] == "backup" ? SyncDaemonState::kBackup
                                                                        : SyncDaemonState::kMaster);
    if (!status) die(status.error().message);
    return 0;
  }
  if (command == "daemons") return print_daemons();
  if (command == "timeouts-set" && args.size() == 4) {
    auto status =
        open_datapath()->set_timeouts({.tcp = std::chrono::seconds(std::stoi(args[1])),
                                       .tcp_fin = std::chrono::seconds(std::stoi(args[2])),
                                       .udp = std::chrono::seconds(std::stoi(args[3]))});
    if (!status) die(status.error().message);
    return 0;
  }
  if (command == "timeouts") {
    auto timeouts = open_datapath()->timeouts();
    if (!timeouts) die(timeouts.error().message);
    std::cout << "Timeout (tcp tcpfin udp): " << timeouts->tcp.count() << " "
              << timeouts->tcp_fin.count() << " " << timeouts->udp.count() << "\n";
    return 0;
  }
  if (command == "bench" && args.size() == 3) return bench(std::stoi(args[1]), std::stoi(args[2]));
  die("unknown command " + command);
}
