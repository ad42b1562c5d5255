// Helpers for the VRRP host tests that run in the namespace pair made by
// integration/vrrp_host/run: this process runs in one namespace ("self"), the veth's other end is
// in the peer namespace, named by VRRP_HOST_PEER_NETNS. Sockets opened inside an InNetns scope
// stay in that namespace after it ends. Every wait here is bounded in time and count.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "vrrp/linux_netdev.h"

namespace vigil::vrrp::netns {

// The topology `run` builds (documentation addresses, inside namespaces it made).
inline constexpr const char* kInterface = "eth0";
inline const IpAddress kSelf4 = *IpAddress::parse("192.0.2.1");
inline const IpAddress kPeer4 = *IpAddress::parse("192.0.2.2");
inline const IpAddress kSelf6 = *IpAddress::parse("2001:db8::1");
inline const IpAddress kPeer6 = *IpAddress::parse("2001:db8::2");

inline std::string peer_namespace() {
  const char* name = std::getenv("VRRP_HOST_PEER_NETNS");
  if (name == nullptr || *name == '\0')
    throw std::runtime_error(
        "VRRP_HOST_PEER_NETNS is not set: run through integration/vrrp_host/run");
  return name;
}

// Moves the calling thread into a named network namespace until the scope ends.
class InNetns {
 public:
  explicit InNetns(const std::string& name)
      : original_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
    UniqueFd target(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!original_.valid() || !target.valid() || ::setns(target.get(), CLONE_NEWNET) != 0)
      throw std::runtime_error("cannot enter network namespace " + name);
  }
  InNetns(const InNetns&) = delete;
  InNetns& operator=(const InNetns&) = delete;
  ~InNetns() {
    if (::setns(original_.get(), CLONE_NEWNET) != 0) std::abort();  // the test would be lost
  }

 private:
  UniqueFd original_;
};

// Runs a short command through /bin/sh; returns its exit status and stdout.
struct CommandResult {
  int status = -1;
  std::string output;
};
inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(("timeout 10 " + command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> chunk{};
  size_t size = 0;
  while ((size = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0)
    result.output.append(chunk.data(), size);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Waits until `done()` holds, calling `on_readable` whenever `fd` is readable (and once before
// the first wait). Bounded by `timeout`; returns done().
inline bool pump_until(int fd, const std::function<void()>& on_readable,
                       const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  on_readable();
  for (int round = 0; round < 10'000 && !done(); ++round) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd entry{fd, POLLIN, 0};
    ::poll(&entry, 1, static_cast<int>(left.count()));
    on_readable();
  }
  return done();
}

// Captures the frames an interface receives (not the ones it sends), from an AF_PACKET socket,
// with the kernel's receive time of each.
class PacketCapture {
 public:
  struct Frame {
    std::vector<uint8_t> bytes;
    std::chrono::nanoseconds received{0};  // CLOCK_REALTIME, from SO_TIMESTAMPNS
  };

  explicit PacketCapture(const std::string& interface)
      : fd_(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL))) {
    if (!fd_.valid()) throw std::runtime_error("AF_PACKET socket");
    sockaddr_ll local{};
    local.sll_family = AF_PACKET;
    local.sll_protocol = htons(ETH_P_ALL);
    local.sll_ifindex = static_cast<int>(::if_nametoindex(interface.c_str()));
    const int on = 1;
    if (local.sll_ifindex == 0 ||
        ::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0 ||
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) != 0)
      throw std::runtime_error("cannot capture on " + interface);
  }

  // Collects received frames that satisfy `match` until `count` were seen or `timeout` passed.
  std::vector<std::vector<uint8_t>> collect(
      const std::function<bool(const std::vector<uint8_t>&)>& match, size_t count,
      std::chrono::milliseconds timeout) {
    std::vector<std::vector<uint8_t>> out;
    for (auto& frame : collect_stamped(match, count, timeout))
      out.push_back(std::move(frame.bytes));
    return out;
  }

  std::vector<Frame> collect_stamped(const std::function<bool(const std::vector<uint8_t>&)>& match,
                                     size_t count, std::chrono::milliseconds timeout) {
    std::vector<Frame> frames;
    pump_until(
        fd_.get(),
        [&] {
          for (int i = 0; i < 1000; ++i) {
            Frame frame{.bytes = std::vector<uint8_t>(9000)};
            sockaddr_ll from{};
            iovec data{frame.bytes.data(), frame.bytes.size()};
            alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(timespec))> control{};
            msghdr message{};
            message.msg_name = &from;
            message.msg_namelen = sizeof(from);
            message.msg_iov = &data;
            message.msg_iovlen = 1;
            message.msg_control = control.data();
            message.msg_controllen = control.size();
            const ssize_t size = ::recvmsg(fd_.get(), &message, 0);
            if (size < 0) return;
            if (from.sll_pkttype == PACKET_OUTGOING) continue;
            frame.bytes.resize(static_cast<size_t>(size));
            for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
              if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
              timespec stamp{};
              std::memcpy(&stamp, CMSG_DATA(c), sizeof(stamp));
              frame.received =
                  std::chrono::seconds(stamp.tv_sec) + std::chrono::nanoseconds(stamp.tv_nsec);
            }
            if (match(frame.bytes) && frames.size() < count) frames.push_back(std::move(frame));
          }
        },
        [&] { return frames.size() >= count; }, timeout);
    return frames;
  }

 private:
  UniqueFd fd_;
};

inline uint16_t ethertype(const std::vector<uint8_t>& frame) {
  return frame.size() < 14 ? 0 : static_cast<uint16_t>(frame[12] << 8 | frame[13]);
}

}  // namespace vigil::vrrp::netns
