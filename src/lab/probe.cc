#include "lab/probe.h"

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
#include <cstring>
#include <ctime>

namespace vigil::lab {
namespace {

timespec to_timespec(double seconds) {
  seconds = std::max(seconds, 0.0);
  const auto whole = static_cast<time_t>(seconds);
  return timespec{.tv_sec = whole,
                  .tv_nsec = static_cast<long>((seconds - static_cast<double>(whole)) * 1e9)};
}

}  // namespace

double monotonic_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void StallMeter::record(double now, double late) {
  max = std::max(max, late);
  if (late > 0.001) {
    ++over_1ms;
    if (kept.size() < kKept) kept.emplace_back(now, late);
  }
}

bool go_realtime(int priority, std::string& error) {
  if (priority <= 0) return true;
  sched_param param{};
  param.sched_priority = priority;
  if (sched_setscheduler(0, SCHED_FIFO, &param) != 0) {
    error = "SCHED_FIFO " + std::to_string(priority) + ": " + std::strerror(errno);
    return false;
  }
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    error = std::string("mlockall: ") + std::strerror(errno);
    return false;
  }
  return true;
}

uint16_t internet_checksum(const uint8_t* data, size_t length) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < length; i += 2)
    sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (length % 2 != 0) sum += static_cast<uint32_t>(data[length - 1] << 8);
  while (sum >> 16 != 0)
    sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

GapSummary summarize_replies(const std::vector<double>& replies, std::optional<double> mark) {
  GapSummary s;
  s.received = replies.size();
  if (!replies.empty()) {
    s.first_reply = replies.front();
    s.last_reply = replies.back();
  }
  for (size_t i = 1; i < replies.size(); ++i) {
    double gap = replies[i] - replies[i - 1];
    if (gap > s.longest_gap) {
      s.longest_gap = gap;
      s.longest_gap_from = replies[i - 1];
      s.longest_gap_to = replies[i];
    }
  }
  if (!mark) return s;
  for (size_t i = 0; i < replies.size(); ++i) {
    const double r = replies[i];
    if (r <= *mark) s.last_before_mark = r;
    if (r > *mark && !s.first_after_mark) s.first_after_mark = r;
    // The outage a fault causes: the longest gap that ends after the fault.
    if (i > 0 && r > *mark && r - replies[i - 1] > s.longest_gap_after_mark) {
      s.longest_gap_after_mark = r - replies[i - 1];
      s.longest_gap_after_mark_from = replies[i - 1];
    }
  }
  return s;
}

EchoProber::~EchoProber() {
  if (fd_ >= 0) close(fd_);
}

bool EchoProber::open(const std::string& target, std::string& error, int socket_fd) {
  target_ = target;
  fd_ = socket_fd;
  if (inet_pton(AF_INET, target.c_str(), address_) == 1) {
    if (fd_ < 0) fd_ = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  } else if (inet_pton(AF_INET6, target.c_str(), address_) == 1) {
    ipv6_ = true;
    if (fd_ < 0) fd_ = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd_ >= 0) {
      icmp6_filter filter{};
      ICMP6_FILTER_SETBLOCKALL(&filter);
      ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
      setsockopt(fd_, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
    }
  } else {
    error = "not an address: " + target;
    return false;
  }
  if (fd_ < 0) {
    error =
        std::string("raw ICMP socket: ") + std::strerror(errno) + " (needs root or CAP_NET_RAW)";
    return false;
  }
  identifier_ = static_cast<uint16_t>((getpid() ^ reinterpret_cast<uintptr_t>(this)) & 0xffff);
  return true;
}

void EchoProber::run(double interval, double end, const std::function<bool()>& stop) {
  const double start = monotonic_seconds();
  double next_send = start;
  {
    std::lock_guard lock(mutex_);
    if (end - start < 7200) sent_at_.reserve(static_cast<size_t>((end - start) / interval) + 16);
  }
  // Bounded by `end`: every pass either sends or waits at most until the next send.
  while (!stop()) {
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
    timespec timeout = to_timespec(next_send - now);
    pollfd pfd{.fd = fd_, .events = POLLIN, .revents = 0};
    if (ppoll(&pfd, 1, &timeout, nullptr) > 0) drain();
  }
  // Late replies to the last requests still count.
  const double grace_end = monotonic_seconds() + 0.05;
  for (int i = 0; i < 10 && monotonic_seconds() < grace_end; ++i) {
    pollfd pfd{.fd = fd_, .events = POLLIN, .revents = 0};
    if (poll(&pfd, 1, 10) > 0) drain();
  }
}

std::vector<double> EchoProber::replies() const {
  std::lock_guard lock(mutex_);
  std::vector<double> copy = replies_;
  std::sort(copy.begin(), copy.end());
  return copy;
}

size_t EchoProber::sent() const {
  std::lock_guard lock(mutex_);
  return sent_at_.size();
}

void EchoProber::send_one() {
  uint8_t packet[64] = {};
  uint16_t sequence = 0;
  {
    std::lock_guard lock(mutex_);
    sequence = static_cast<uint16_t>(sent_at_.size() & 0xffff);
    sent_at_.push_back(monotonic_seconds());
  }
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
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  const sockaddr* to = nullptr;
  socklen_t to_len = 0;
  if (ipv6_) {
    v6.sin6_family = AF_INET6;
    std::memcpy(&v6.sin6_addr, address_, 16);
    to = reinterpret_cast<const sockaddr*>(&v6);
    to_len = sizeof v6;
  } else {
    v4.sin_family = AF_INET;
    std::memcpy(&v4.sin_addr, address_, 4);
    to = reinterpret_cast<const sockaddr*>(&v4);
    to_len = sizeof v4;
  }
  // A failed send (no neighbour yet, ENOBUFS) is simply a lost probe.
  if (sendto(fd_, packet, sizeof packet, MSG_DONTWAIT, to, to_len) < 0) ++send_errors_;
}

void EchoProber::drain() {
  // At most a bounded number of datagrams per call; the rest wait for the next poll.
  for (int i = 0; i < 256; ++i) {
    uint8_t buffer[1500];
    ssize_t n = recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0) return;
    const uint8_t* icmp = buffer;
    auto length = static_cast<size_t>(n);
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
    auto id = static_cast<uint16_t>(icmp[4] << 8 | icmp[5]);
    if (id != identifier_) continue;
    auto sequence = static_cast<uint16_t>(icmp[6] << 8 | icmp[7]);
    double now = monotonic_seconds();
    std::lock_guard lock(mutex_);
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
    replies_.push_back(now);
  }
}

AddressWatcher::~AddressWatcher() {
  if (fd_ >= 0) close(fd_);
}

bool AddressWatcher::open(const std::vector<std::string>& addresses, std::string& error,
                          int socket_fd) {
  unsigned groups = 0;
  for (const auto& text : addresses) {
    Wanted w{};
    w.text = text;
    if (inet_pton(AF_INET, text.c_str(), w.bytes) == 1) {
      w.family = AF_INET;
      w.length = 4;
      groups |= RTMGRP_IPV4_IFADDR;
    } else if (inet_pton(AF_INET6, text.c_str(), w.bytes) == 1) {
      w.family = AF_INET6;
      w.length = 16;
      groups |= RTMGRP_IPV6_IFADDR;
    } else {
      error = "not an address: " + text;
      return false;
    }
    wanted_.push_back(w);
  }
  fd_ = socket_fd >= 0 ? socket_fd : socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd_ < 0) {
    error = std::string("rtnetlink socket: ") + std::strerror(errno);
    return false;
  }
  int buffer = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = groups;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    error = std::string("bind rtnetlink: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void AddressWatcher::drain(const std::function<void(const AddressEvent&)>& on_event,
                           const std::function<void(double)>& on_overrun) {
  // Bounded per call; the rest waits for the next poll.
  for (int i = 0; i < 64; ++i) {
    alignas(nlmsghdr) char buffer[16384];
    ssize_t n = recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    const double at = monotonic_seconds();
    if (n < 0) {
      if (errno == ENOBUFS) {
        on_overrun(at);  // events were lost: the caller says so
        continue;
      }
      return;
    }
    auto remaining = static_cast<unsigned int>(n);
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(header, remaining);
         header = NLMSG_NEXT(header, remaining)) {
      if (header->nlmsg_type != RTM_NEWADDR && header->nlmsg_type != RTM_DELADDR) continue;
      const auto* message = static_cast<const ifaddrmsg*>(NLMSG_DATA(header));
      int length = static_cast<int>(IFA_PAYLOAD(header));
      const Wanted* match = nullptr;
      for (const rtattr* attribute = IFA_RTA(message);
           match == nullptr && RTA_OK(attribute, length); attribute = RTA_NEXT(attribute, length)) {
        if (attribute->rta_type != IFA_LOCAL && attribute->rta_type != IFA_ADDRESS) continue;
        for (const auto& w : wanted_) {
          if (message->ifa_family == w.family && RTA_PAYLOAD(attribute) == w.length &&
              std::memcmp(RTA_DATA(attribute), w.bytes, w.length) == 0) {
            match = &w;
            break;
          }
        }
      }
      if (match == nullptr) continue;
      on_event(AddressEvent{.added = header->nlmsg_type == RTM_NEWADDR,
                            .at = at,
                            .ifindex = message->ifa_index,
                            .address = match->text});
    }
  }
}

}  // namespace vigil::lab
