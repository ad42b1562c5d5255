#include "vrrp/linux_link_monitor.h"

#include <fmt/format.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

#include "common/log.h"

namespace vigil::vrrp {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("vrrp");
  return *instance;
}

// A dump of many links arrives in datagrams of up to a page or two each; 64 KiB is ample.
constexpr size_t kReceiveBufferSize = 64 * 1024;

}  // namespace

Result<std::unique_ptr<LinkMonitor>> LinkMonitor::open(Callback on_link, int receive_buffer_bytes) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return errno_error("link monitor: netlink socket", errno);
  // SO_RCVBUFFORCE passes rmem_max with CAP_NET_ADMIN; SO_RCVBUF is capped by it.
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer_bytes,
                   sizeof(receive_buffer_bytes)) < 0) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes,
                 sizeof(receive_buffer_bytes));
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_LINK;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof(local)) < 0)
    return errno_error("link monitor: bind RTMGRP_LINK", errno);
  std::unique_ptr<LinkMonitor> monitor(new LinkMonitor(std::move(fd), std::move(on_link)));
  // Subscribed before dumping, so no change can fall between the dump and the events.
  if (Status status = monitor->request_dump(); !status) return status.error();
  return monitor;
}

LinkMonitor::LinkMonitor(UniqueFd fd, Callback on_link)
    : fd_(std::move(fd)), on_link_(std::move(on_link)) {}

Status LinkMonitor::request_dump() {
  struct {
    nlmsghdr header;
    ifinfomsg body;
  } request{};
  request.header.nlmsg_len = sizeof(request);
  request.header.nlmsg_type = RTM_GETLINK;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.header.nlmsg_seq = ++dump_sequence_;
  request.body.ifi_family = AF_UNSPEC;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.get(), &request, sizeof(request), MSG_DONTWAIT,
               reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel)) < 0)
    return errno_error("link monitor: RTM_GETLINK dump request", errno);
  dump_in_progress_ = true;
  seen_in_dump_.clear();
  return {};
}

size_t LinkMonitor::drain(size_t budget) {
  std::vector<uint8_t> buffer(kReceiveBufferSize);
  size_t read = 0;
  for (; read < budget; ++read) {
    sockaddr_nl from{};
    iovec iov{buffer.data(), buffer.size()};
    msghdr message{};
    message.msg_name = &from;
    message.msg_namelen = sizeof(from);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    const ssize_t size = ::recvmsg(fd_.get(), &message, MSG_DONTWAIT);
    if (size < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        // The kernel dropped events: what we know may be stale, so read the whole table again.
        ++counters_.overruns;
        logger().warn("link monitor: netlink overrun, dumping links again");
        if (dump_in_progress_) {
          dump_again_ = true;
        } else if (Status status = request_dump(); !status) {
          logger().warn("{}", status.error().message);
        }
        continue;
      }
      logger().warn("link monitor: receive: {}", std::strerror(errno));
      break;
    }
    // Only the kernel (port 0) speaks for the links.
    if (from.nl_pid != 0 || (message.msg_flags & MSG_TRUNC) != 0) continue;
    handle_datagram(buffer.data(), static_cast<size_t>(size));
  }
  return read;
}

void LinkMonitor::handle_datagram(const uint8_t* data, size_t size) {
  auto remaining = static_cast<int>(size);
  for (auto* header = reinterpret_cast<const nlmsghdr*>(data); NLMSG_OK(header, remaining);
       header = NLMSG_NEXT(header, remaining)) {
    ++counters_.messages;
    if (header->nlmsg_type == NLMSG_DONE) {
      if (header->nlmsg_seq == dump_sequence_) finish_dump();
      continue;
    }
    if (header->nlmsg_type == NLMSG_ERROR) {
      if (header->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
        const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
        if (error->error != 0)
          logger().warn("link monitor: netlink error: {}", std::strerror(-error->error));
      }
      if (header->nlmsg_seq == dump_sequence_ && dump_in_progress_) {
        // The dump failed: retry once the kernel can take it.
        dump_in_progress_ = false;
        dump_again_ = true;
      }
      continue;
    }
    if (header->nlmsg_type != RTM_NEWLINK && header->nlmsg_type != RTM_DELLINK) continue;
    if (header->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) continue;
    const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(header));
    std::string name;
    int attributes_size = static_cast<int>(header->nlmsg_len - NLMSG_LENGTH(sizeof(ifinfomsg)));
    for (const rtattr* attribute = IFLA_RTA(info); RTA_OK(attribute, attributes_size);
         attribute = RTA_NEXT(attribute, attributes_size)) {
      if (attribute->rta_type == IFLA_IFNAME) {
        const auto* text = static_cast<const char*>(RTA_DATA(attribute));
        name.assign(text, strnlen(text, RTA_PAYLOAD(attribute)));
      }
    }
    if (header->nlmsg_type == RTM_DELLINK) {
      remove(info->ifi_index);
      continue;
    }
    if (name.empty()) continue;
    if (dump_in_progress_ && header->nlmsg_seq == dump_sequence_)
      seen_in_dump_.insert(info->ifi_index);
    const bool up = (info->ifi_flags & IFF_UP) != 0 && (info->ifi_flags & IFF_RUNNING) != 0;
    update(info->ifi_index, name, up);
  }
  if (dump_again_ && !dump_in_progress_) {
    dump_again_ = false;
    if (Status status = request_dump(); !status) logger().warn("{}", status.error().message);
  }
}

void LinkMonitor::finish_dump() {
  dump_in_progress_ = false;
  dump_done_ = true;
  // A link missing from a complete dump was deleted while events were being lost.
  std::vector<int> gone;
  for (const auto& [index, link] : links_) {
    if (!seen_in_dump_.contains(index)) gone.push_back(index);
  }
  for (int index : gone)
    remove(index);
}

void LinkMonitor::update(int index, const std::string& name, bool up) {
  auto it = links_.find(index);
  if (it != links_.end() && it->second.name != name) {
    // Renamed: whoever tracks the old name has lost that interface.
    remove(index);
    it = links_.end();
  }
  if (it == links_.end()) {
    links_.emplace(index, Link{name, up});
    logger().debug("[{}] link {} (ifindex {})", name, up ? "up" : "down", index);
  } else if (it->second.up != up) {
    it->second.up = up;
    ++counters_.changes;
    logger().info("[{}] link {}", name, up ? "up" : "down");
  } else {
    return;
  }
  if (on_link_) on_link_(name, up);
}

void LinkMonitor::remove(int index) {
  auto it = links_.find(index);
  if (it == links_.end()) return;
  const std::string name = it->second.name;
  const bool was_up = it->second.up;
  links_.erase(it);
  ++counters_.changes;
  logger().info("[{}] link removed", name);
  if (was_up && on_link_) on_link_(name, false);
}

std::optional<bool> LinkMonitor::is_up(const std::string& name) const {
  for (const auto& [index, link] : links_) {
    if (link.name == name) return link.up;
  }
  return std::nullopt;
}

}  // namespace vigil::vrrp
