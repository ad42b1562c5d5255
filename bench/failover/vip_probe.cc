// vigil-vip-probe: sends an ICMP echo request to a virtual IP every few milliseconds and reports
// what a client saw during a failover: replies, losses, the longest gap between two replies and
// the first reply after a given instant. The kernel of whichever director holds the VIP answers,
// so no responder is needed. Runs in the client's network namespace of a test lab; it is a
// measuring instrument, not part of the daemon, so it reads the clocks itself.
//
//   vigil-vip-probe --target IP [--interval-ms 2] [--duration S] [--mark-file FILE]
//                   [--realtime PRIO]
//   vigil-vip-probe --watch-address IP [--duration S] [--realtime PRIO]
//
// It stops after --duration seconds or at SIGINT/SIGTERM, then prints one JSON object. Every time
// is CLOCK_MONOTONIC in seconds (the benchmark takes its fault time from the same clock; network
// namespaces share it). When --mark-file names a file holding such a time (written by the
// benchmark at the moment of the fault), the report includes the last reply before and the first
// reply after that instant and the longest gap that spans it.
//
// --watch-address runs in a director's namespace instead: it listens for RTM_NEWADDR/RTM_DELADDR
// on its own rtnetlink socket and prints one JSON line per addition or removal of IP, stamped when
// the event arrived, then the summary object.
//
// --realtime PRIO runs the tool at SCHED_FIFO PRIO with its memory locked, above the daemons
// (SCHED_RR vrrp_rt_priority) and the load, so its timestamps are not late because it was not
// scheduled. It also measures its own scheduling: "max_stall_ms" is the longest time it was late
// for a wake-up (a send in probe mode, a 1 ms tick in watch mode), and "stalls_over_1ms" counts
// them. A stall longer than the probe interval means the run's timestamps can be late by as much.
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void on_stop_signal(int) {
  stop_requested = 1;
}

double monotonic_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

timespec to_timespec(double seconds) {
  seconds = std::max(seconds, 0.0);
  const auto whole = static_cast<time_t>(seconds);
  return timespec{.tv_sec = whole,
                  .tv_nsec = static_cast<long>((seconds - static_cast<double>(whole)) * 1e9)};
}

// How late the tool itself woke up compared with when it meant to; stalls over 1 ms are kept
// (when, how long) so that the benchmark can tell whether one overlapped the failover.
struct StallMeter {
  static constexpr size_t kKept = 256;
  double max = 0;
  size_t over_1ms = 0;
  std::vector<std::pair<double, double>> kept;  // (CLOCK_MONOTONIC end of stall, seconds late)
  void record(double now, double late) {
    max = std::max(max, late);
    if (late > 0.001) {
      ++over_1ms;
      if (kept.size() < kKept) kept.emplace_back(now, late);
    }
  }
  void print() const {
    std::printf(", \"max_stall_ms\": %.3f, \"stalls_over_1ms\": %zu, \"stalls\": [", max * 1000.0,
                over_1ms);
    for (size_t i = 0; i < kept.size(); ++i)
      std::printf("%s[%.6f, %.3f]", i ? ", " : "", kept[i].first, kept[i].second * 1000.0);
    std::printf("]");
  }
};

// SCHED_FIFO above the daemons, memory locked so no page fault delays a timestamp.
bool go_realtime(int priority) {
  if (priority <= 0) return true;
  sched_param param{};
  param.sched_priority = priority;
  if (sched_setscheduler(0, SCHED_FIFO, &param) != 0) {
    std::fprintf(stderr, "vigil-vip-probe: SCHED_FIFO %d: %s\n", priority, std::strerror(errno));
    return false;
  }
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    std::fprintf(stderr, "vigil-vip-probe: mlockall: %s\n", std::strerror(errno));
    return false;
  }
  return true;
}

// RFC 1071 Internet checksum (ICMPv4 only; the kernel fills in ICMPv6's).
uint16_t internet_checksum(const uint8_t* data, size_t length) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < length; i += 2)
    sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (length % 2 != 0) sum += static_cast<uint32_t>(data[length - 1] << 8);
  while (sum >> 16 != 0)
    sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

struct Options {
  std::string target;
  std::string watch_address;
  double interval_ms = 2.0;
  double duration_s = 10.0;
  std::string mark_file;
  int realtime = 0;
};

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "vigil-vip-probe: %s\nusage: vigil-vip-probe --target IP [--interval-ms MS] "
               "[--duration S] [--mark-file FILE] [--realtime PRIO]\n"
               "       vigil-vip-probe --watch-address IP [--duration S] [--realtime PRIO]\n",
               message);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
    std::string value = argv[++i];
    if (arg == "--target") {
      options.target = value;
    } else if (arg == "--interval-ms") {
      options.interval_ms = std::atof(value.c_str());
    } else if (arg == "--duration") {
      options.duration_s = std::atof(value.c_str());
    } else if (arg == "--mark-file") {
      options.mark_file = value;
    } else if (arg == "--watch-address") {
      options.watch_address = value;
    } else if (arg == "--realtime") {
      options.realtime = std::atoi(value.c_str());
    } else {
      usage(("unknown option " + arg).c_str());
    }
  }
  if (options.target.empty() == options.watch_address.empty())
    usage("one of --target and --watch-address is required");
  if (options.realtime < 0 || options.realtime > 99) usage("--realtime: 1-99");
  if (options.interval_ms < 0.1 || options.interval_ms > 1000) usage("--interval-ms: 0.1-1000");
  if (options.duration_s <= 0 || options.duration_s > 7200) usage("--duration: 0-7200 s");
  return options;
}

struct Reply {
  double at;  // receive time, CLOCK_MONOTONIC seconds
};

class Prober {
 public:
  explicit Prober(const Options& options) : options_(options) {}

  bool open() {
    if (inet_pton(AF_INET, options_.target.c_str(), &v4_.sin_addr) == 1) {
      v4_.sin_family = AF_INET;
      fd_ = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    } else if (inet_pton(AF_INET6, options_.target.c_str(), &v6_.sin6_addr) == 1) {
      v6_.sin6_family = AF_INET6;
      ipv6_ = true;
      fd_ = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
      if (fd_ >= 0) {
        icmp6_filter filter{};
        ICMP6_FILTER_SETBLOCKALL(&filter);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
        setsockopt(fd_, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
      }
    } else {
      std::fprintf(stderr, "vigil-vip-probe: not an address: %s\n", options_.target.c_str());
      return false;
    }
    if (fd_ < 0) {
      std::fprintf(stderr, "vigil-vip-probe: raw ICMP socket: %s (needs root or CAP_NET_RAW)\n",
                   std::strerror(errno));
      return false;
    }
    identifier_ = static_cast<uint16_t>(getpid() & 0xffff);
    return true;
  }

  void run() {
    const double interval = options_.interval_ms / 1000.0;
    const double start = monotonic_seconds();
    const double end = start + options_.duration_s;
    double next_send = start;
    sent_at_.reserve(static_cast<size_t>(options_.duration_s / interval) + 16);
    // Bounded by the duration: every pass either sends or waits at most until the next send.
    while (stop_requested == 0) {
      double now = monotonic_seconds();
      if (now >= end) break;
      if (now >= next_send) {
        stalls_.record(now, now - next_send);
        send_one();
        next_send += interval;
        // After a long stall (the prober itself descheduled) resume the cadence instead of
        // bursting to catch up.
        if (next_send < now - 3 * interval) next_send = now + interval;
        continue;
      }
      double wait = next_send - now;
      timespec timeout = to_timespec(wait);
      pollfd pfd{.fd = fd_, .events = POLLIN, .revents = 0};
      if (ppoll(&pfd, 1, &timeout, nullptr) > 0) drain();
    }
    // Late replies to the last requests still count.
    double grace_end = monotonic_seconds() + 0.05;
    while (monotonic_seconds() < grace_end) {
      pollfd pfd{.fd = fd_, .events = POLLIN, .revents = 0};
      if (poll(&pfd, 1, 10) > 0) drain();
    }
  }

  void report(std::optional<double> mark) const {
    std::vector<Reply> replies = replies_;
    std::sort(replies.begin(), replies.end(),
              [](const Reply& a, const Reply& b) { return a.at < b.at; });
    double longest_gap = 0, gap_from = 0, gap_to = 0;
    for (size_t i = 1; i < replies.size(); ++i) {
      double gap = replies[i].at - replies[i - 1].at;
      if (gap > longest_gap) {
        longest_gap = gap;
        gap_from = replies[i - 1].at;
        gap_to = replies[i].at;
      }
    }
    size_t received = replies.size();
    std::printf(
        "{\"target\": \"%s\", \"interval_ms\": %.3f, \"sent\": %zu, \"received\": %zu, "
        "\"lost\": %zu, \"duplicates\": %zu, \"send_errors\": %zu, \"longest_gap_ms\": %.3f, "
        "\"longest_gap_from\": %.6f, \"longest_gap_to\": %.6f",
        options_.target.c_str(), options_.interval_ms, sent_at_.size(), received,
        sent_at_.size() - std::min(received, sent_at_.size()), duplicates_, send_errors_,
        longest_gap * 1000.0, gap_from, gap_to);
    stalls_.print();
    if (!replies.empty()) {
      std::printf(", \"first_reply\": %.6f, \"last_reply\": %.6f", replies.front().at,
                  replies.back().at);
    }
    if (mark) {
      std::optional<double> before, after;
      double longest_after = 0;
      double longest_after_from = 0;
      for (size_t i = 0; i < replies.size(); ++i) {
        const Reply& r = replies[i];
        if (r.at <= *mark) before = r.at;
        if (r.at > *mark && !after) after = r.at;
        // The outage a fault causes: the longest gap that ends after the fault.
        if (i > 0 && r.at > *mark && r.at - replies[i - 1].at > longest_after) {
          longest_after = r.at - replies[i - 1].at;
          longest_after_from = replies[i - 1].at;
        }
      }
      std::printf(
          ", \"mark\": %.6f, \"longest_gap_after_mark_ms\": %.3f, "
          "\"longest_gap_after_mark_from\": %.6f",
          *mark, longest_after * 1000.0, longest_after_from);
      if (before) std::printf(", \"last_reply_before_mark\": %.6f", *before);
      if (after) {
        std::printf(", \"first_reply_after_mark\": %.6f, \"mark_to_first_reply_ms\": %.3f", *after,
                    (*after - *mark) * 1000.0);
      }
      if (before && after)
        std::printf(", \"gap_across_mark_ms\": %.3f", (*after - *before) * 1000.0);
    }
    std::printf("}\n");
  }

 private:
  void send_one() {
    uint16_t sequence = static_cast<uint16_t>(sent_at_.size() & 0xffff);
    uint8_t packet[64] = {};
    // Both ICMP and ICMPv6 echo: type, code, checksum, identifier, sequence, payload.
    packet[0] = ipv6_ ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
    packet[4] = static_cast<uint8_t>(identifier_ >> 8);
    packet[5] = static_cast<uint8_t>(identifier_ & 0xff);
    packet[6] = static_cast<uint8_t>(sequence >> 8);
    packet[7] = static_cast<uint8_t>(sequence & 0xff);
    if (!ipv6_) {
      uint16_t sum = internet_checksum(packet, sizeof packet);
      std::memcpy(packet + 2, &sum, sizeof sum);
    }
    sent_at_.push_back(monotonic_seconds());
    const sockaddr* to =
        ipv6_ ? reinterpret_cast<const sockaddr*>(&v6_) : reinterpret_cast<const sockaddr*>(&v4_);
    socklen_t to_len = ipv6_ ? sizeof v6_ : sizeof v4_;
    // A failed send (no neighbour yet, ENOBUFS) is simply a lost probe.
    if (sendto(fd_, packet, sizeof packet, MSG_DONTWAIT, to, to_len) < 0) ++send_errors_;
  }

  void drain() {
    // At most a bounded number of datagrams per call; the rest wait for the next poll.
    for (int i = 0; i < 256; ++i) {
      uint8_t buffer[1500];
      ssize_t n = recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0) return;
      const uint8_t* icmp = buffer;
      size_t length = static_cast<size_t>(n);
      if (!ipv6_) {
        // IPv4 raw sockets deliver the IP header too.
        if (length < sizeof(iphdr)) continue;
        size_t header = static_cast<size_t>(buffer[0] & 0x0f) * 4;
        if (length < header + 8) continue;
        icmp += header;
        length -= header;
      }
      if (length < 8) continue;
      uint8_t reply_type = ipv6_ ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
      if (icmp[0] != reply_type) continue;
      uint16_t id = static_cast<uint16_t>(icmp[4] << 8 | icmp[5]);
      if (id != identifier_) continue;
      uint16_t sequence = static_cast<uint16_t>(icmp[6] << 8 | icmp[7]);
      double now = monotonic_seconds();
      // Sequence numbers wrap at 65536 (131 s at 2 ms); map to the newest send with that number.
      size_t index = sent_at_.size();
      for (size_t k = sent_at_.size(); k > 0; --k) {
        if (((k - 1) & 0xffff) == sequence) {
          index = k - 1;
          break;
        }
      }
      if (index == sent_at_.size()) continue;
      if (seen_.size() < sent_at_.size()) seen_.resize(sent_at_.size(), false);
      if (seen_[index]) {
        ++duplicates_;
        continue;
      }
      seen_[index] = true;
      replies_.push_back(Reply{now});
    }
  }

  Options options_;
  int fd_ = -1;
  bool ipv6_ = false;
  sockaddr_in v4_{};
  sockaddr_in6 v6_{};
  uint16_t identifier_ = 0;
  std::vector<double> sent_at_;
  std::vector<bool> seen_;
  std::vector<Reply> replies_;
  size_t duplicates_ = 0;
  size_t send_errors_ = 0;
  StallMeter stalls_;
};

// Watches one address appear and disappear on any interface of the namespace.
class AddressWatcher {
 public:
  explicit AddressWatcher(const Options& options) : options_(options) {}

  bool open() {
    if (inet_pton(AF_INET, options_.watch_address.c_str(), address_) == 1) {
      family_ = AF_INET;
      length_ = 4;
    } else if (inet_pton(AF_INET6, options_.watch_address.c_str(), address_) == 1) {
      family_ = AF_INET6;
      length_ = 16;
    } else {
      std::fprintf(stderr, "vigil-vip-probe: not an address: %s\n", options_.watch_address.c_str());
      return false;
    }
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) {
      std::fprintf(stderr, "vigil-vip-probe: rtnetlink socket: %s\n", std::strerror(errno));
      return false;
    }
    int buffer = 4 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = family_ == AF_INET ? RTMGRP_IPV4_IFADDR : RTMGRP_IPV6_IFADDR;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      std::fprintf(stderr, "vigil-vip-probe: bind rtnetlink: %s\n", std::strerror(errno));
      return false;
    }
    return true;
  }

  void run() {
    const double tick = 0.001;
    const double end = monotonic_seconds() + options_.duration_s;
    // Bounded by the duration; wakes every tick to measure its own scheduling.
    double next_tick = monotonic_seconds() + tick;
    while (stop_requested == 0) {
      double now = monotonic_seconds();
      if (now >= end) break;
      if (now >= next_tick) {
        stalls_.record(now, now - next_tick);
        next_tick = now + tick;
      }
      timespec timeout = to_timespec(next_tick - now);
      pollfd pfd{.fd = fd_, .events = POLLIN, .revents = 0};
      if (ppoll(&pfd, 1, &timeout, nullptr) > 0) drain();
    }
    std::printf(
        "{\"watch_address\": \"%s\", \"added\": %zu, \"removed\": %zu, "
        "\"overruns\": %zu",
        options_.watch_address.c_str(), added_, removed_, overruns_);
    stalls_.print();
    std::printf("}\n");
  }

 private:
  void drain() {
    // Bounded per call; the rest waits for the next poll.
    for (int i = 0; i < 64; ++i) {
      alignas(nlmsghdr) char buffer[16384];
      ssize_t n = recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      const double at = monotonic_seconds();
      if (n < 0) {
        if (errno == ENOBUFS) {
          ++overruns_;  // events were lost: say so in the report
          std::printf("{\"event\": \"overrun\", \"at\": %.6f}\n", at);
          std::fflush(stdout);
          continue;
        }
        return;
      }
      auto remaining = static_cast<unsigned int>(n);
      for (auto* header = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(header, remaining);
           header = NLMSG_NEXT(header, remaining)) {
        if (header->nlmsg_type != RTM_NEWADDR && header->nlmsg_type != RTM_DELADDR) continue;
        if (matches(header)) report(header->nlmsg_type == RTM_NEWADDR, at, header);
      }
    }
  }

  bool matches(const nlmsghdr* header) const {
    const auto* message = static_cast<const ifaddrmsg*>(NLMSG_DATA(header));
    if (message->ifa_family != family_) return false;
    int length = static_cast<int>(IFA_PAYLOAD(header));
    for (const rtattr* attribute = IFA_RTA(message); RTA_OK(attribute, length);
         attribute = RTA_NEXT(attribute, length)) {
      if ((attribute->rta_type == IFA_LOCAL || attribute->rta_type == IFA_ADDRESS) &&
          RTA_PAYLOAD(attribute) == length_ &&
          std::memcmp(RTA_DATA(attribute), address_, length_) == 0)
        return true;
    }
    return false;
  }

  void report(bool added, double at, const nlmsghdr* header) {
    const auto* message = static_cast<const ifaddrmsg*>(NLMSG_DATA(header));
    (added ? added_ : removed_)++;
    std::printf("{\"event\": \"%s\", \"at\": %.6f, \"ifindex\": %u}\n", added ? "added" : "removed",
                at, message->ifa_index);
    std::fflush(stdout);
  }

  Options options_;
  int fd_ = -1;
  int family_ = AF_INET;
  size_t length_ = 4;
  unsigned char address_[16] = {};
  size_t added_ = 0;
  size_t removed_ = 0;
  size_t overruns_ = 0;
  StallMeter stalls_;
};

std::optional<double> read_mark(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path);
  double mark = 0;
  if (in >> mark) return mark;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  if (!go_realtime(options.realtime)) return 1;
  if (!options.watch_address.empty()) {
    AddressWatcher watcher(options);
    if (!watcher.open()) return 1;
    watcher.run();
    return 0;
  }
  Prober prober(options);
  if (!prober.open()) return 1;
  prober.run();
  prober.report(read_mark(options.mark_file));
  return 0;
}
