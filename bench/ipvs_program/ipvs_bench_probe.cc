// vigil-ipvs-bench-probe: the measuring instrument of bench/ipvs_program, run inside the VM in the
// network namespace of the daemon under test. It reads the clocks itself (CLOCK_MONOTONIC): it is
// not part of the daemon.
//
//   vigil-ipvs-bench-probe cold SERVICES DESTS TIMEOUT_S SETTLE_S LOG -- COMMAND...
//     Starts COMMAND (stdout and stderr to LOG), times from its exec to the moment the kernel
//     holds SERVICES services and DESTS destinations, keeps counting netlink for SETTLE_S more
//     seconds and leaves COMMAND running.
//   vigil-ipvs-bench-probe reload PID TIMEOUT_S SETTLE_S [VIP:PORT RIP:PORT WEIGHT]
//     Sends SIGHUP to PID. With a destination: times until the kernel shows it with WEIGHT.
//     Then counts netlink until PID and its children have used no CPU for SETTLE_S seconds
//     (the reload is over), at most TIMEOUT_S in all.
//
// It prints one line of key=value pairs: times in ms, the pid, and the IPVS generic netlink
// requests every process in the namespace sent meanwhile ("ops" changes the table, "gets" only
// reads it; "by_cmd" per command), seen on an nlmon device (nlmon0, made by the caller).
//
// The kernel is polled through the IPVS getsockopt interface (IP_VS_SO_GET_INFO/SERVICES/DESTS):
// it is cheap, the same for both daemons and sends no netlink, so it does not disturb the count.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "vigil-ipvs-bench-probe: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(2);
}

double now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

// --- the IPVS family id (genetlink controller) --------------------------------------------------

uint16_t ipvs_family_id() {
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) die("netlink socket");
  alignas(nlmsghdr) char buf[8192] = {};
  auto* nlh = reinterpret_cast<nlmsghdr*>(buf);
  auto* genl = static_cast<genlmsghdr*>(NLMSG_DATA(nlh));
  genl->cmd = CTRL_CMD_GETFAMILY;
  genl->version = 1;
  auto* attr = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(genl) + GENL_HDRLEN);
  const char name[] = IPVS_GENL_NAME;
  attr->nla_type = CTRL_ATTR_FAMILY_NAME;
  attr->nla_len = static_cast<uint16_t>(NLA_HDRLEN + sizeof(name));
  std::memcpy(reinterpret_cast<char*>(attr) + NLA_HDRLEN, name, sizeof(name));
  nlh->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN + NLA_ALIGN(attr->nla_len));
  nlh->nlmsg_type = GENL_ID_CTRL;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, buf, nlh->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0)
    die("GETFAMILY send");
  const ssize_t n = recv(fd, buf, sizeof(buf), 0);
  close(fd);
  if (n < static_cast<ssize_t>(NLMSG_LENGTH(GENL_HDRLEN)) || nlh->nlmsg_type != GENL_ID_CTRL) {
    errno = ENOENT;
    die("no IPVS generic netlink family");
  }
  int left = static_cast<int>(nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN));
  for (auto* a = reinterpret_cast<nlattr*>(static_cast<char*>(NLMSG_DATA(nlh)) + GENL_HDRLEN);
       left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left;
       left -= NLA_ALIGN(a->nla_len),
             a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(a) + NLA_ALIGN(a->nla_len))) {
    if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID) {
      uint16_t id = 0;
      std::memcpy(&id, reinterpret_cast<char*>(a) + NLA_HDRLEN, sizeof(id));
      return id;
    }
  }
  errno = ENOENT;
  die("GETFAMILY reply without an id");
}

// --- netlink counting on nlmon0 -----------------------------------------------------------------

const char* command_name(uint8_t cmd) {
  switch (cmd) {
    case IPVS_CMD_NEW_SERVICE:
      return "NEW_SERVICE";
    case IPVS_CMD_SET_SERVICE:
      return "SET_SERVICE";
    case IPVS_CMD_DEL_SERVICE:
      return "DEL_SERVICE";
    case IPVS_CMD_GET_SERVICE:
      return "GET_SERVICE";
    case IPVS_CMD_NEW_DEST:
      return "NEW_DEST";
    case IPVS_CMD_SET_DEST:
      return "SET_DEST";
    case IPVS_CMD_DEL_DEST:
      return "DEL_DEST";
    case IPVS_CMD_GET_DEST:
      return "GET_DEST";
    case IPVS_CMD_NEW_DAEMON:
      return "NEW_DAEMON";
    case IPVS_CMD_DEL_DAEMON:
      return "DEL_DAEMON";
    case IPVS_CMD_GET_DAEMON:
      return "GET_DAEMON";
    case IPVS_CMD_SET_CONFIG:
      return "SET_CONFIG";
    case IPVS_CMD_GET_CONFIG:
      return "GET_CONFIG";
    case IPVS_CMD_SET_INFO:
      return "SET_INFO";
    case IPVS_CMD_GET_INFO:
      return "GET_INFO";
    case IPVS_CMD_ZERO:
      return "ZERO";
    case IPVS_CMD_FLUSH:
      return "FLUSH";
    default:
      return "OTHER";
  }
}

bool is_read_only(uint8_t cmd) {
  return cmd == IPVS_CMD_GET_SERVICE || cmd == IPVS_CMD_GET_DEST || cmd == IPVS_CMD_GET_DAEMON ||
         cmd == IPVS_CMD_GET_CONFIG || cmd == IPVS_CMD_GET_INFO;
}

// Counts the IPVS requests (NLM_F_REQUEST, the IPVS family) in every netlink skb of the
// namespace that nlmon0 sees; replies, ACKs and other families are ignored.
class NetlinkCounter {
 public:
  explicit NetlinkCounter(uint16_t family) : family_(family) {
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd_ < 0) die("packet socket");
    const int big = 64 << 20;  // a cold start is ~40,000 requests and as many ACKs
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) != 0)
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = static_cast<int>(if_nametoindex("nlmon0"));
    if (address.sll_ifindex == 0) die("nlmon0");
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) die("bind nlmon0");
    thread_ = std::thread([this] { loop(); });
  }
  ~NetlinkCounter() {
    if (thread_.joinable()) finish();
    close(fd_);
  }

  // Read-only requests counted so far (those queued on the socket but not read yet are not).
  uint64_t gets_so_far() {
    std::lock_guard lock(mutex_);
    uint64_t gets = 0;
    for (const auto& [cmd, count] : by_cmd_)
      if (is_read_only(cmd)) gets += count;
    return gets;
  }

  // Stops counting after reading what is queued; returns "ops=N gets=N drops=N by_cmd=...".
  std::string finish() {
    stop_ = true;
    thread_.join();
    tpacket_stats stats{};
    socklen_t len = sizeof(stats);
    getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &len);
    drops_ += stats.tp_drops;
    uint64_t ops = 0, gets = 0;
    std::string by_cmd;
    for (const auto& [cmd, count] : by_cmd_) {
      (is_read_only(cmd) ? gets : ops) += count;
      by_cmd +=
          std::string(by_cmd.empty() ? "" : ",") + command_name(cmd) + ":" + std::to_string(count);
    }
    return "ops=" + std::to_string(ops) + " gets=" + std::to_string(gets) +
           " drops=" + std::to_string(drops_) + " truncated=" + std::to_string(truncated_) +
           " by_cmd=" + (by_cmd.empty() ? "-" : by_cmd);
  }

 private:
  void loop() {
    std::vector<char> buf(1 << 20);
    pollfd pfd{fd_, POLLIN, 0};
    // After stop_ the queue is drained (poll with no wait) before the thread ends.
    for (;;) {
      const int ready = poll(&pfd, 1, stop_ ? 0 : 50);
      if (ready <= 0) {
        if (stop_) return;
        continue;
      }
      const ssize_t n = recv(fd_, buf.data(), buf.size(), MSG_TRUNC);
      if (n < 0) continue;
      if (static_cast<size_t>(n) > buf.size()) ++truncated_;
      count(buf.data(), std::min(static_cast<size_t>(n), buf.size()));
    }
  }

  void count(const char* data, size_t size) {
    while (size >= sizeof(nlmsghdr)) {
      nlmsghdr header{};
      std::memcpy(&header, data, sizeof(header));
      if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > size) return;
      if (header.nlmsg_type == family_ && (header.nlmsg_flags & NLM_F_REQUEST) &&
          header.nlmsg_len >= NLMSG_LENGTH(GENL_HDRLEN)) {
        genlmsghdr genl{};
        std::memcpy(&genl, data + NLMSG_HDRLEN, sizeof(genl));
        std::lock_guard lock(mutex_);
        ++by_cmd_[genl.cmd];
      }
      const size_t step = NLMSG_ALIGN(header.nlmsg_len);
      if (step >= size) return;
      data += step;
      size -= step;
    }
  }

  uint16_t family_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::map<uint8_t, uint64_t> by_cmd_;
  uint64_t drops_ = 0;
  uint64_t truncated_ = 0;
};

// --- the kernel's table through getsockopt ------------------------------------------------------

class IpvsSockopt {
 public:
  IpvsSockopt() {
    fd_ = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd_ < 0) die("raw socket");
  }
  ~IpvsSockopt() { close(fd_); }

  // Services and the sum of their destinations.
  std::pair<unsigned, unsigned> counts() {
    ip_vs_getinfo info{};
    socklen_t len = sizeof(info);
    if (getsockopt(fd_, IPPROTO_IP, IP_VS_SO_GET_INFO, &info, &len) != 0) die("GET_INFO");
    if (info.num_services == 0) return {0, 0};
    buf_.assign(sizeof(ip_vs_get_services) + info.num_services * sizeof(ip_vs_service_entry), 0);
    auto* get = reinterpret_cast<ip_vs_get_services*>(buf_.data());
    get->num_services = info.num_services;
    len = static_cast<socklen_t>(buf_.size());
    if (getsockopt(fd_, IPPROTO_IP, IP_VS_SO_GET_SERVICES, get, &len) != 0) die("GET_SERVICES");
    unsigned dests = 0;
    for (unsigned i = 0; i < get->num_services; ++i)
      dests += get->entrytable[i].num_dests;
    return {get->num_services, dests};
  }

  // The weight of one TCP destination (-1 when the service or destination is not there).
  int weight(const sockaddr_in& service, const sockaddr_in& dest) {
    constexpr unsigned kMax = 256;
    buf_.assign(sizeof(ip_vs_get_dests) + kMax * sizeof(ip_vs_dest_entry), 0);
    auto* get = reinterpret_cast<ip_vs_get_dests*>(buf_.data());
    get->protocol = IPPROTO_TCP;
    get->addr = service.sin_addr.s_addr;
    get->port = service.sin_port;
    get->num_dests = kMax;
    socklen_t len = static_cast<socklen_t>(buf_.size());
    if (getsockopt(fd_, IPPROTO_IP, IP_VS_SO_GET_DESTS, get, &len) != 0) return -1;
    for (unsigned i = 0; i < get->num_dests && i < kMax; ++i) {
      const auto& entry = get->entrytable[i];
      if (entry.addr == dest.sin_addr.s_addr && entry.port == dest.sin_port) return entry.weight;
    }
    return -1;
  }

 private:
  int fd_ = -1;
  std::vector<char> buf_;
};

sockaddr_in parse_endpoint(const std::string& text) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  const auto colon = text.rfind(':');
  if (colon == std::string::npos ||
      inet_pton(AF_INET, text.substr(0, colon).c_str(), &out.sin_addr) != 1) {
    errno = EINVAL;
    die("not IPv4:PORT: " + text);
  }
  out.sin_port = htons(static_cast<uint16_t>(std::stoi(text.substr(colon + 1))));
  return out;
}

struct CpuTicks {
  uint64_t user = 0;
  uint64_t system = 0;
  [[nodiscard]] uint64_t total() const { return user + system; }
};

// CPU ticks of PID and its descendants.
CpuTicks tree_cpu_ticks(pid_t root) {
  std::map<pid_t, std::pair<pid_t, CpuTicks>> procs;  // pid -> (ppid, ticks)
  DIR* dir = opendir("/proc");
  if (dir == nullptr) die("/proc");
  while (dirent* entry = readdir(dir)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE* file = std::fopen(path, "r");
    if (file == nullptr) continue;
    char line[1024] = {};
    const bool read = std::fgets(line, sizeof(line), file) != nullptr;
    std::fclose(file);
    const char* after_name = read ? std::strrchr(line, ')') : nullptr;
    if (after_name == nullptr) continue;
    char state = 0;
    int ppid = 0;
    unsigned long long utime = 0, stime = 0;
    // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    if (std::sscanf(after_name + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state,
                    &ppid, &utime, &stime) == 4)
      procs[pid] = {ppid, CpuTicks{utime, stime}};
  }
  closedir(dir);
  CpuTicks total;
  for (const auto& [pid, info] : procs) {
    for (pid_t p = pid; p > 1;) {
      if (p == root) {
        total.user += info.second.user;
        total.system += info.second.system;
        break;
      }
      auto it = procs.find(p);
      if (it == procs.end()) break;
      p = it->second.first;
    }
  }
  return total;
}

int cold(int argc, char** argv) {
  if (argc < 8 || std::string(argv[6]) != "--") {
    std::fprintf(stderr, "usage: cold SERVICES DESTS TIMEOUT_S SETTLE_S LOG -- COMMAND...\n");
    return 2;
  }
  const unsigned services = std::stoul(argv[1]), dests = std::stoul(argv[2]);
  const double timeout_ms = std::stod(argv[3]) * 1e3, settle_ms = std::stod(argv[4]) * 1e3;
  IpvsSockopt kernel;
  NetlinkCounter counter(ipvs_family_id());
  const double start = now_ms();
  const pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    const int log = open(argv[5], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    setsid();  // signals to the caller's group do not reach the daemon
    execvp(argv[7], argv + 7);
    _exit(127);
  }
  double done = -1;
  unsigned polls = 0;
  std::pair<unsigned, unsigned> seen{};
  while (now_ms() - start < timeout_ms) {
    seen = kernel.counts();
    ++polls;
    if (seen.first == services && seen.second == dests) {
      done = now_ms();
      break;
    }
    if (waitpid(pid, nullptr, WNOHANG) == pid) break;  // the daemon died
    sleep_ms(10);
  }
  while (now_ms() - (done > 0 ? done : start) < settle_ms)
    sleep_ms(50);
  const std::string netlink = counter.finish();
  std::printf("result=%s cold_ms=%.1f pid=%d services=%u dests=%u polls=%u %s\n",
              done > 0 ? "ok" : "timeout", done > 0 ? done - start : -1.0, pid, seen.first,
              seen.second, polls, netlink.c_str());
  return done > 0 ? 0 : 1;
}

int reload(int argc, char** argv) {
  if (argc != 4 && argc != 7) {
    std::fprintf(stderr, "usage: reload PID TIMEOUT_S SETTLE_S [VIP:PORT RIP:PORT WEIGHT]\n");
    return 2;
  }
  const pid_t pid = static_cast<pid_t>(std::stoi(argv[1]));
  const double timeout_ms = std::stod(argv[2]) * 1e3, settle_ms = std::stod(argv[3]) * 1e3;
  const bool watch = argc == 7;
  sockaddr_in service{}, dest{};
  int weight = 0;
  if (watch) {
    service = parse_endpoint(argv[4]);
    dest = parse_endpoint(argv[5]);
    weight = std::stoi(argv[6]);
  }
  IpvsSockopt kernel;
  NetlinkCounter counter(ipvs_family_id());
  const int weight_before = watch ? kernel.weight(service, dest) : 0;
  const CpuTicks ticks_before = tree_cpu_ticks(pid);
  const double start = now_ms();
  if (kill(pid, SIGHUP) != 0) die("SIGHUP");
  double landed = -1;
  uint64_t gets_before_landing = 0;
  while (watch && now_ms() - start < timeout_ms) {
    if (kernel.weight(service, dest) == weight) {
      landed = now_ms();
      // A periodic full read (vigild's resync) running when SIGHUP came delays the reload.
      sleep_ms(60);  // the counting thread wakes within 50 ms
      gets_before_landing = counter.gets_so_far();
      break;
    }
    sleep_ms(1);
  }
  // The reload is over when the daemon's processes have used no CPU for SETTLE_S (at least
  // SETTLE_S after the SIGHUP or the landing).
  CpuTicks ticks = tree_cpu_ticks(pid);
  double quiet_since = landed > 0 ? landed : start;
  while (now_ms() - start < timeout_ms && now_ms() - quiet_since < settle_ms) {
    sleep_ms(100);
    const CpuTicks t = tree_cpu_ticks(pid);
    if (t.total() != ticks.total()) {
      ticks = t;
      quiet_since = now_ms();
    }
  }
  const double quiet = quiet_since - start;
  const std::string netlink = counter.finish();
  const auto ms = [](uint64_t ticks) {
    return static_cast<unsigned long long>(ticks * 1000 /
                                           static_cast<uint64_t>(sysconf(_SC_CLK_TCK)));
  };
  std::printf(
      "result=%s landed_ms=%.1f busy_ms=%.0f cpu_user_ms=%llu cpu_sys_ms=%llu "
      "weight_before=%d gets_before_landing=%llu %s\n",
      !watch || landed > 0 ? "ok" : "timeout", landed > 0 ? landed - start : -1.0, quiet,
      ms(ticks.user - ticks_before.user), ms(ticks.system - ticks_before.system), weight_before,
      static_cast<unsigned long long>(gets_before_landing), netlink.c_str());
  return !watch || landed > 0 ? 0 : 1;
}

}  // namespace

// command TIMEOUT_S VIP:PORT RIP:PORT WEIGHT -- CMD...: runs CMD (vigilctl rs drain ...) and
// measures from just before its exec until the kernel shows WEIGHT for the destination (polled
// every 0.2 ms through getsockopt, which sends no netlink), and until CMD exits.
int command(int argc, char** argv) {
  if (argc < 7 || std::string(argv[5]) != "--") {
    std::fprintf(stderr, "usage: command TIMEOUT_S VIP:PORT RIP:PORT WEIGHT -- CMD...\n");
    return 2;
  }
  const double timeout_ms = std::stod(argv[1]) * 1e3;
  const sockaddr_in service = parse_endpoint(argv[2]);
  const sockaddr_in dest = parse_endpoint(argv[3]);
  const int weight = std::stoi(argv[4]);
  IpvsSockopt kernel;
  const int weight_before = kernel.weight(service, dest);
  const double start = now_ms();
  const pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    execvp(argv[6], argv + 6);
    _exit(127);
  }
  double landed = -1, exited = -1;
  int status = 0;
  while (now_ms() - start < timeout_ms && (landed < 0 || exited < 0)) {
    if (landed < 0 && kernel.weight(service, dest) == weight) landed = now_ms();
    if (exited < 0 && waitpid(child, &status, WNOHANG) == child) exited = now_ms();
    usleep(200);
  }
  if (exited < 0) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
  }
  const bool ok = landed > 0 && exited > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf("result=%s landed_ms=%.2f exited_ms=%.2f weight_before=%d weight=%d exit=%d\n",
              ok ? "ok" : "fail", landed > 0 ? landed - start : -1.0,
              exited > 0 ? exited - start : -1.0, weight_before, weight,
              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return ok ? 0 : 1;
}

// post TIMEOUT_S SOCKET VIP:PORT RIP:PORT WEIGHT BODY: sends `POST /v1/rs` with BODY (JSON) over
// vigild's admin socket itself, and measures from just before the connect until the kernel
// shows WEIGHT for the destination (getsockopt, every 0.2 ms) and until the answer is read: the
// daemon's part of a drain, without a client program's start (most of `command`'s time under
// software emulation).
int post(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: post TIMEOUT_S SOCKET VIP:PORT RIP:PORT WEIGHT BODY\n");
    return 2;
  }
  const double timeout_ms = std::stod(argv[1]) * 1e3;
  const std::string socket_path = argv[2];
  const sockaddr_in service = parse_endpoint(argv[3]);
  const sockaddr_in dest = parse_endpoint(argv[4]);
  const int weight = std::stoi(argv[5]);
  const std::string body = argv[6];
  const std::string request =
      "POST /v1/rs HTTP/1.1\r\nHost: vigild\r\nConnection: close\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  IpvsSockopt kernel;
  const int weight_before = kernel.weight(service, dest);
  const double start = now_ms();
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) die("connect");
  size_t sent = 0;
  std::string answer;
  double landed = -1, answered = -1;
  while (now_ms() - start < timeout_ms && (landed < 0 || answered < 0)) {
    if (sent < request.size()) {
      const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<size_t>(n);
    } else if (answered < 0) {
      char buffer[4096];
      const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n > 0) answer.append(buffer, static_cast<size_t>(n));
      if (n == 0) answered = now_ms();  // Connection: close
    }
    if (landed < 0 && kernel.weight(service, dest) == weight) landed = now_ms();
    if (landed < 0 || answered < 0) usleep(200);
  }
  close(fd);
  const bool ok = landed > 0 && answered > 0 && answer.rfind("HTTP/1.1 200", 0) == 0;
  std::printf("result=%s landed_ms=%.2f exited_ms=%.2f weight_before=%d weight=%d status=\"%s\"\n",
              ok ? "ok" : "fail", landed > 0 ? landed - start : -1.0,
              answered > 0 ? answered - start : -1.0, weight_before, weight,
              answer.substr(0, answer.find('\r')).c_str());
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "cold") return cold(argc - 1, argv + 1);
  if (mode == "reload") return reload(argc - 1, argv + 1);
  if (mode == "command") return command(argc - 1, argv + 1);
  if (mode == "post") return post(argc - 1, argv + 1);
  std::fprintf(
      stderr,
      "usage: vigil-ipvs-bench-probe cold SERVICES DESTS TIMEOUT_S SETTLE_S LOG -- CMD...\n"
      "       vigil-ipvs-bench-probe reload PID TIMEOUT_S SETTLE_S "
      "[VIP:PORT RIP:PORT WEIGHT]\n"
      "       vigil-ipvs-bench-probe command TIMEOUT_S VIP:PORT RIP:PORT WEIGHT -- CMD...\n"
      "       vigil-ipvs-bench-probe post TIMEOUT_S SOCKET VIP:PORT RIP:PORT WEIGHT BODY\n");
  return 2;
}
