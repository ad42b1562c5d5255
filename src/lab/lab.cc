#include "lab/lab.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lab/shell.h"

namespace vigil::lab {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw LabError("cannot write " + path);
}

}  // namespace

Lab::Lab(const LabModel& model, LabOptions options)
    : model_(model),
      options_(std::move(options)),
      timeline_(model.directors[0].instances.size(), model.vips.size()) {
  for (int d = 0; d < 2; ++d)
    names_.directors[d] = model_.directors[d].id;
  for (const auto& instance : model_.directors[0].instances)
    names_.instances.push_back(instance.name);
  names_.vips = model_.vips;
  bridge_ns_ = std::string(kNamespacePrefix) + "br";
  client_ns_ = std::string(kNamespacePrefix) + "client";
  director_ns_[0] = std::string(kNamespacePrefix) + "d1";
  director_ns_[1] = std::string(kNamespacePrefix) + "d2";
}

Lab::~Lab() {
  teardown();
}

void Lab::ip(const std::string& ns, std::vector<std::string> args) {
  args.insert(args.begin(), {"ip", "-n", ns});
  must_run(args);
}

void Lab::sysctl(const std::string& ns, const std::string& key, const std::string& value) {
  must_run({"ip", "netns", "exec", ns, "sysctl", "-qw", key + "=" + value});
}

void Lab::build() {
  const auto leftovers = lab_namespaces();
  if (!leftovers.empty()) {
    std::string list;
    for (const auto& name : leftovers)
      list += (list.empty() ? "" : ", ") + name;
    throw LabError("a previous lab is still there (namespaces " + list +
                   "): `vigil-lab clean` removes it");
  }
  char work[] = "/tmp/vlab-XXXXXX";
  if (mkdtemp(work) == nullptr) throw LabError(std::string("mkdtemp: ") + std::strerror(errno));
  work_ = work;
  write_file(work_ + "/" + kWorkMarker, std::to_string(getpid()) + "\n");

  for (const std::string& ns : {bridge_ns_, director_ns_[0], director_ns_[1], client_ns_}) {
    must_run({"ip", "netns", "add", ns});
    created_ns_.push_back(ns);
    // No DAD: addresses (and the IPv6 link-local sources of VRRPv3) usable at once.
    sysctl(ns, "net.ipv6.conf.all.accept_dad", "0");
    sysctl(ns, "net.ipv6.conf.default.accept_dad", "0");
    sysctl(ns, "net.ipv6.conf.default.dad_transmits", "0");
    if (ns == bridge_ns_) sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1");
    ip(ns, {"link", "set", "lo", "up"});
  }
  // The client learns a VIP's new owner from its gratuitous ARPs too.
  sysctl(client_ns_, "net.ipv4.conf.all.arp_accept", "1");
  sysctl(client_ns_, "net.ipv4.conf.default.arp_accept", "1");
  for (size_t k = 0; k < model_.segments.size(); ++k) {
    const LabSegment& segment = model_.segments[k];
    const std::string bridge = "br" + std::to_string(k);
    ip(bridge_ns_, {"link", "add", bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0",
                    "mcast_snooping", "0"});
    const std::string client_if = "c" + std::to_string(k);
    struct Port {
      std::string port, ns, name;
    };
    const Port ports[3] = {{"d1-" + std::to_string(k), director_ns_[0], segment.interface},
                           {"d2-" + std::to_string(k), director_ns_[1], segment.interface},
                           {"c-" + std::to_string(k), client_ns_, client_if}};
    for (const auto& p : ports) {
      ip(bridge_ns_,
         {"link", "add", p.port, "type", "veth", "peer", "name", p.name, "netns", p.ns});
      ip(bridge_ns_, {"link", "set", p.port, "master", bridge, "up"});
    }
    for (int d = 0; d < 2; ++d) {
      for (const auto& address : segment.director_addresses[d]) {
        std::vector<std::string> args = {"addr", "add", address.to_string(), "dev",
                                         segment.interface};
        if (address.address.is_v6()) args.push_back("nodad");
        ip(director_ns_[d], args);
      }
      ip(director_ns_[d], {"link", "set", segment.interface, "up"});
    }
    for (const auto& address : segment.client_addresses) {
      std::vector<std::string> args = {"addr", "add", address.to_string(), "dev", client_if};
      if (address.address.is_v6()) args.push_back("nodad");
      ip(client_ns_, args);
    }
    ip(client_ns_, {"link", "set", client_if, "up"});
    // Every VIP of the segment is on-link for the client, whatever its subnet.
    for (const auto& vip : segment.vips) {
      const bool v6 = vip.find(':') != std::string::npos;
      ip(client_ns_,
         {v6 ? "-6" : "-4", "route", "replace", vip + (v6 ? "/128" : "/32"), "dev", client_if});
    }
    ip(bridge_ns_, {"link", "set", bridge, "up"});
  }
  // The real servers the lab plays live on the client's lo; the directors reach them through the
  // client's IPv4 address on the first segment that has one.
  if (model_.virtual_servers.empty()) return;
  const LabSegment* via = nullptr;
  for (const auto& segment : model_.segments) {
    for (const auto& a : segment.client_addresses) {
      if (!via && a.address.is_v4()) via = &segment;
    }
  }
  if (via == nullptr) return;
  std::string gateway;
  for (const auto& a : via->client_addresses) {
    if (gateway.empty() && a.address.is_v4()) gateway = a.address.to_string();
  }
  std::vector<std::string> done;
  for (const auto& vs : model_.virtual_servers) {
    for (const auto& rs : vs.real_servers) {
      if (std::find(done.begin(), done.end(), rs.address) != done.end()) continue;
      done.push_back(rs.address);
      ip(client_ns_, {"addr", "add", rs.address + "/32", "dev", "lo"});
      for (int d = 0; d < 2; ++d)
        ip(director_ns_[d],
           {"-4", "route", "replace", rs.address + "/32", "via", gateway, "dev", via->interface});
    }
  }
}

void Lab::prepare() {
  for (int d = 0; d < 2; ++d) {
    const std::string dir = work_ + "/" + names_.directors[d];
    std::filesystem::create_directories(dir);
    fifo_path_[d] = dir + "/states.fifo";
    if (mkfifo(fifo_path_[d].c_str(), 0600) != 0)
      throw LabError("mkfifo " + fifo_path_[d] + ": " + std::strerror(errno));
    // Read-write: the lab never sees end-of-file when a daemon dies, and keeps what was written.
    fifo_fd_[d] = open(fifo_path_[d].c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fifo_fd_[d] < 0) throw LabError("open " + fifo_path_[d] + ": " + std::strerror(errno));
    lvs_fifo_path_[d] = dir + "/health.fifo";
    if (mkfifo(lvs_fifo_path_[d].c_str(), 0600) != 0)
      throw LabError("mkfifo " + lvs_fifo_path_[d] + ": " + std::strerror(errno));
    lvs_fifo_fd_[d] = open(lvs_fifo_path_[d].c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (lvs_fifo_fd_[d] < 0)
      throw LabError("open " + lvs_fifo_path_[d] + ": " + std::strerror(errno));
    config_path_[d] =
        dir + "/" + std::filesystem::path(model_.directors[d].config_path).filename().string();
    const std::string text = options_.config_texts[d].empty()
                                 ? read_file(model_.directors[d].config_path)
                                 : options_.config_texts[d];
    write_file(config_path_[d], text +
                                    "\n\n# Added by vigil-lab: the states and the real-server "
                                    "health it follows.\n"
                                    "global_defs {\n  vrrp_notify_fifo " +
                                    fifo_path_[d] + "\n  lvs_notify_fifo " + lvs_fifo_path_[d] +
                                    "\n}\n");
    watchers_[d] = std::make_unique<AddressWatcher>();
    const int fd = socket_in_namespace(director_ns_[d], AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    if (fd < 0) throw LabError(std::string("rtnetlink socket: ") + std::strerror(errno));
    std::string error;
    if (!watchers_[d]->open(model_.vips, error, fd)) throw LabError(error);
  }
  for (const auto& vip : model_.vips) {
    auto prober = std::make_unique<EchoProber>();
    const bool v6 = vip.find(':') != std::string::npos;
    const int fd =
        socket_in_namespace(client_ns_, v6 ? AF_INET6 : AF_INET, SOCK_RAW,
                            v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP));
    if (fd < 0) throw LabError(std::string("raw ICMP socket: ") + std::strerror(errno));
    std::string error;
    if (!prober->open(vip, error, fd)) throw LabError(error);
    probers_.push_back(std::move(prober));
  }
  std::vector<LabRealServer> flat;
  for (const auto& vs : model_.virtual_servers) {
    real_server_base_.push_back(flat.size());
    flat.insert(flat.end(), vs.real_servers.begin(), vs.real_servers.end());
  }
  if (!flat.empty()) real_servers_.start(client_ns_, std::move(flat));
  threads_.emplace_back([this] { observe(); });
  for (auto& prober : probers_) {
    EchoProber* p = prober.get();
    threads_.emplace_back([this, p] {
      p->run(options_.probe_interval, monotonic_seconds() + 24 * 3600.0,
             [this] { return stopping_.load(); });
    });
  }
}

void Lab::observe() {
  // Reads what is there of one FIFO and hands over each complete line (bounded: 16 reads).
  auto drain_fifo = [](int fd, std::string& partial, const auto& on_line) {
    char buffer[4096];
    for (int i = 0; i < 16; ++i) {
      const ssize_t n = read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      const double at = monotonic_seconds();
      partial.append(buffer, static_cast<size_t>(n));
      size_t newline;
      while ((newline = partial.find('\n')) != std::string::npos) {
        const std::string line = partial.substr(0, newline);
        partial.erase(0, newline + 1);
        on_line(line, at);
      }
    }
  };
  // Until teardown: each pass waits at most 20 ms.
  while (!stopping_.load()) {
    pollfd fds[6] = {{fifo_fd_[0], POLLIN, 0},        {fifo_fd_[1], POLLIN, 0},
                     {watchers_[0]->fd(), POLLIN, 0}, {watchers_[1]->fd(), POLLIN, 0},
                     {lvs_fifo_fd_[0], POLLIN, 0},    {lvs_fifo_fd_[1], POLLIN, 0}};
    if (poll(fds, 6, 20) <= 0) continue;
    for (int d = 0; d < 2; ++d) {
      if (fds[d].revents & POLLIN) {
        drain_fifo(fifo_fd_[d], fifo_partial_[d], [&](const std::string& line, double at) {
          const auto parsed = parse_fifo_line(line);
          if (!parsed || parsed->group) return;
          for (size_t k = 0; k < names_.instances.size(); ++k) {
            if (names_.instances[k] != parsed->name) continue;
            std::lock_guard lock(mutex_);
            timeline_.add(StateEvent{at, d, static_cast<int>(k), parsed->state});
          }
        });
      }
      if (fds[4 + d].revents & POLLIN) {
        drain_fifo(lvs_fifo_fd_[d], lvs_fifo_partial_[d], [&](const std::string& line, double at) {
          const auto parsed = parse_lvs_line(line);
          if (!parsed) return;
          std::lock_guard lock(mutex_);
          timeline_.add(RsEvent{at, d, parsed->real_server, parsed->virtual_server, parsed->up});
        });
      }
      if (fds[2 + d].revents & POLLIN) {
        watchers_[d]->drain(
            [&](const AddressEvent& e) {
              for (size_t v = 0; v < model_.vips.size(); ++v) {
                if (model_.vips[v] != e.address) continue;
                std::lock_guard lock(mutex_);
                timeline_.add(VipEvent{e.at, d, static_cast<int>(v), e.added});
              }
            },
            [](double) {});
      }
    }
  }
}

void Lab::add_state(int director, int instance, State state) {
  std::lock_guard lock(mutex_);
  timeline_.add(StateEvent{monotonic_seconds(), director, instance, state});
}

std::string Lab::log_path(int director) const {
  return work_ + "/" + names_.directors[director] + "/" + options_.daemon + ".log";
}

std::string Lab::log_tail(int director, size_t lines) const {
  std::ifstream in(log_path(director));
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail)
    out += (out.empty() ? "" : " | ") + l;
  return out;
}

int Lab::reloads_logged(int director) const {
  std::ifstream in(log_path(director));
  int count = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (is_reload_complete(line)) ++count;
  }
  return count;
}

void Lab::reload_daemon(int d) {
  if (daemon_pid_[d] <= 0) throw LabError(names_.directors[d] + " runs no daemon to reload");
  // The daemon itself (keepalived's parent passes it on to its children).
  kill(daemon_pid_[d], SIGHUP);
}

void Lab::start_daemon(int d) {
  if (daemon_pid_[d] > 0) throw LabError(names_.directors[d] + " already runs its daemon");
  const std::string dir = work_ + "/" + names_.directors[d];
  for (const char* stale : {"/main.pid", "/vrrp.pid", "/checkers.pid"})
    std::filesystem::remove(dir + stale);
  std::vector<std::string> argv = {
      options_.binary,   "-f", config_path_[d],    "-n", "-l", "-D", "-p",
      dir + "/main.pid", "-i", names_.directors[d]};
  if (options_.daemon == "keepalived") {
    // keepalived forks VRRP and checker children with pid files of their own.
    argv.insert(argv.end(), {"-r", dir + "/vrrp.pid", "-c", dir + "/checkers.pid"});
  }
  if (options_.vrrp_only) argv.push_back("-P");
  if (options_.ipvs_journal) argv.insert(argv.end(), {"--record", dir + "/ipvs.jsonl"});
  std::ofstream(log_path(d), std::ios::app)
      << "==== vigil-lab: start " << ++daemon_runs_[d] << " at " << monotonic_seconds() << "\n";
  daemon_pid_[d] = spawn_in_namespace(director_ns_[d], argv, log_path(d), dir);
  stopped_on_purpose_[d] = false;
}

void Lab::kill_daemon(int d) {
  if (daemon_pid_[d] <= 0) return;
  stopped_on_purpose_[d] = true;
  for (size_t i = 0; i < names_.instances.size(); ++i)
    add_state(d, static_cast<int>(i), State::kDown);
  kill(-daemon_pid_[d], SIGKILL);
  wait_exit(daemon_pid_[d], 5.0);
  daemon_pid_[d] = -1;
}

void Lab::stop_daemon(int d) {
  if (daemon_pid_[d] <= 0) return;
  stopped_on_purpose_[d] = true;
  // DOWN is stamped before the signal: the daemon's own last line (STOP) must come after it, or
  // the observer can stamp STOP first and DOWN would hide it (the director seen as silent).
  for (size_t i = 0; i < names_.instances.size(); ++i)
    add_state(d, static_cast<int>(i), State::kDown);
  kill(daemon_pid_[d], SIGTERM);
  if (wait_exit(daemon_pid_[d], 10.0) == -1) {
    kill(-daemon_pid_[d], SIGKILL);
    wait_exit(daemon_pid_[d], 5.0);
    daemon_pid_[d] = -1;
    throw LabError(options_.daemon + " on " + names_.directors[d] +
                   " did not stop within 10 s of SIGTERM");
  }
  // What it forked (keepalived's children) goes with it.
  kill(-daemon_pid_[d], SIGKILL);
  daemon_pid_[d] = -1;
}

void Lab::check_daemons() {
  for (int d = 0; d < 2; ++d) {
    if (daemon_pid_[d] <= 0 || stopped_on_purpose_[d]) continue;
    int status = 0;
    if (!reaped(daemon_pid_[d], status)) continue;
    daemon_pid_[d] = -1;
    const std::string how = WIFEXITED(status)
                                ? "exited with " + std::to_string(WEXITSTATUS(status))
                                : "was killed by signal " + std::to_string(WTERMSIG(status));
    throw LabError(options_.daemon + " on " + names_.directors[d] + " " + how + " (log " +
                   log_path(d) + "): " + log_tail(d, 3));
  }
}

void Lab::plug(int d, bool connected) {
  for (size_t k = 0; k < model_.segments.size(); ++k)
    ip(bridge_ns_, {"link", "set", "d" + std::to_string(d + 1) + "-" + std::to_string(k),
                    connected ? "up" : "down"});
}

void Lab::set_link(int d, const std::string& interface, bool up) {
  ip(director_ns_[d], {"link", "set", interface, up ? "up" : "down"});
}

void Lab::partition(bool on) {
  for (int d = 0; d < 2; ++d) {
    if (on) {
      // VRRP (IP protocol 112) in and out of each director; the client still reaches both.
      const std::string rules =
          "table inet vigil_lab_partition {\n"
          "  chain in { type filter hook input priority -300; meta l4proto 112 drop; }\n"
          "  chain out { type filter hook output priority -300; meta l4proto 112 drop; }\n"
          "}\n";
      const std::string path = work_ + "/" + names_.directors[d] + "/partition.nft";
      write_file(path, rules);
      must_run({"ip", "netns", "exec", director_ns_[d], "nft", "-f", path});
    } else {
      must_run({"ip", "netns", "exec", director_ns_[d], "nft", "delete", "table", "inet",
                "vigil_lab_partition"});
    }
  }
}

int64_t Lab::lose_adverts(int d, bool on) {
  if (on) {
    const std::string path = work_ + "/" + names_.directors[d] + "/loss.nft";
    write_file(path, advert_loss_rules(model_, d));
    must_run({"ip", "netns", "exec", director_ns_[d], "nft", "-f", path});
    return 0;
  }
  const CommandResult listing = run_command(
      {"ip", "netns", "exec", director_ns_[d], "nft", "list", "table", "inet", "vigil_lab_loss"});
  must_run(
      {"ip", "netns", "exec", director_ns_[d], "nft", "delete", "table", "inet", "vigil_lab_loss"});
  if (listing.status != 0) return -1;
  return nft_counted_packets(listing.out).value_or(-1);
}

void Lab::flush_vips(int d) {
  for (const auto& segment : model_.segments) {
    for (const auto& vip : segment.vips) {
      const bool v6 = vip.find(':') != std::string::npos;
      run_command({"ip", "-n", director_ns_[d], "addr", "flush", "dev", segment.interface, "to",
                   vip + (v6 ? "/128" : "/32")});
    }
  }
}

void Lab::set_real_server(size_t vs, size_t rs, bool up) {
  if (vs >= real_server_base_.size()) throw LabError("no such virtual server in the lab");
  real_servers_.set_up(real_server_base_[vs] + rs, up);
}

Timeline Lab::timeline() const {
  std::lock_guard lock(mutex_);
  return timeline_;
}

std::vector<double> Lab::replies(int vip) const {
  if (vip < 0 || static_cast<size_t>(vip) >= probers_.size()) return {};
  return probers_[vip]->replies();
}

void Lab::teardown() {
  for (int d = 0; d < 2; ++d) {
    if (daemon_pid_[d] > 0) {
      kill(-daemon_pid_[d], SIGKILL);
      wait_exit(daemon_pid_[d], 5.0);
      daemon_pid_[d] = -1;
    }
  }
  stopping_.store(true);
  real_servers_.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  for (auto it = created_ns_.rbegin(); it != created_ns_.rend(); ++it) {
    // Whatever still runs inside (a daemon's stray child) goes first, by PID.
    const CommandResult pids = run_command({"ip", "netns", "pids", *it});
    std::istringstream in(pids.out);
    std::string pid;
    while (in >> pid) {
      const auto p = static_cast<pid_t>(std::atoi(pid.c_str()));
      if (p > 1) kill(p, SIGKILL);
    }
    run_command({"ip", "netns", "del", *it});
  }
  created_ns_.clear();
  for (int d = 0; d < 2; ++d) {
    if (fifo_fd_[d] >= 0) close(fifo_fd_[d]);
    fifo_fd_[d] = -1;
    if (lvs_fifo_fd_[d] >= 0) close(lvs_fifo_fd_[d]);
    lvs_fifo_fd_[d] = -1;
  }
  watchers_[0].reset();
  watchers_[1].reset();
  probers_.clear();
  if (!work_.empty() && !options_.keep_work) {
    std::error_code ec;
    std::filesystem::remove_all(work_, ec);
  }
}

}  // namespace vigil::lab
