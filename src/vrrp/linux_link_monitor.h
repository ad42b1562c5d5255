// LinkMonitor: follows interface state over rtnetlink (RTMGRP_LINK) for track_interface and for
// each instance's own interface (FAULT while it is down). Non-blocking: the daemon watches fd()
// and calls drain() when it is readable. open() asks for a dump of every link; drain() then
// reports each interface's first known state and, after that, only changes.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/result.h"
#include "vrrp/linux_netdev.h"

namespace vigil::vrrp {

class LinkMonitor {
 public:
  // `up` is IFF_UP and IFF_RUNNING (administratively up with carrier: operstate UP or UNKNOWN).
  // A deleted interface is reported down.
  using Callback = std::function<void(const std::string& name, bool up)>;

  static constexpr size_t kDefaultDrainBudget = 64;  // netlink reads per drain()

  // Room for a burst of link events (many VLANs going down with their parent).
  static constexpr int kDefaultReceiveBufferBytes = 1024 * 1024;

  static Result<std::unique_ptr<LinkMonitor>> open(
      Callback on_link, int receive_buffer_bytes = kDefaultReceiveBufferBytes);

  [[nodiscard]] int fd() const { return fd_.get(); }

  // Reads up to `budget` netlink datagrams (each may hold many messages); returns how many.
  size_t drain(size_t budget = kDefaultDrainBudget);

  // The last state seen for `name`; none before the dump reported it or after it was deleted.
  [[nodiscard]] std::optional<bool> is_up(const std::string& name) const;
  // True once the initial dump has been read completely.
  [[nodiscard]] bool synchronised() const { return dump_done_; }

  struct Counters {
    uint64_t messages = 0;
    uint64_t changes = 0;
    uint64_t overruns = 0;  // ENOBUFS: events were lost; a new dump was requested
  };
  [[nodiscard]] const Counters& counters() const { return counters_; }

 private:
  struct Link {
    std::string name;
    bool up = false;
  };

  LinkMonitor(UniqueFd fd, Callback on_link);
  Status request_dump();
  void handle_datagram(const uint8_t* data, size_t size);
  void finish_dump();
  void update(int index, const std::string& name, bool up);
  void remove(int index);

  UniqueFd fd_;
  Callback on_link_;
  std::map<int, Link> links_;  // by ifindex: a renamed link keeps its index
  uint32_t dump_sequence_ = 0;
  bool dump_in_progress_ = false;
  bool dump_again_ = false;  // an overrun during a dump: dump again when it ends
  bool dump_done_ = false;
  std::set<int> seen_in_dump_;
  Counters counters_;
};

}  // namespace vigil::vrrp
