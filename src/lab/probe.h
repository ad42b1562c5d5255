// The lab's instruments, shared by vigil-lab and bench/failover's vigil-vip-probe: an ICMP echo
// prober that pings a virtual IP every few milliseconds and records when each reply came back,
// and a watcher of one namespace's address additions and removals (rtnetlink). They are
// measuring instruments, not part of the daemon, so they read CLOCK_MONOTONIC themselves (network
// namespaces share it; the lab's fault times come from the same clock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vigil::lab {

// CLOCK_MONOTONIC in seconds.
double monotonic_seconds();

// How late an instrument woke up compared with when it meant to; stalls over 1 ms are kept
// (when, how long) so that a run can tell whether one overlapped a failover.
struct StallMeter {
  static constexpr size_t kKept = 256;
  double max = 0;
  size_t over_1ms = 0;
  std::vector<std::pair<double, double>> kept;  // (CLOCK_MONOTONIC end of stall, seconds late)
  void record(double now, double late);
};

// SCHED_FIFO `priority` with memory locked (no page fault delays a timestamp); 0: nothing.
// Returns false with a message in `error`.
bool go_realtime(int priority, std::string& error);

// RFC 1071 Internet checksum, in network byte order as stored in a header.
uint16_t internet_checksum(const uint8_t* data, size_t length);

// What a client saw of a target between two instants: the longest gap between two replies, and
// around a mark (a fault): the last reply before, the first after, the longest gap ending after.
struct GapSummary {
  size_t received = 0;
  double longest_gap = 0, longest_gap_from = 0, longest_gap_to = 0;
  std::optional<double> first_reply, last_reply;
  // Only with a mark:
  std::optional<double> last_before_mark, first_after_mark;
  double longest_gap_after_mark = 0, longest_gap_after_mark_from = 0;
};
// `replies` sorted ascending (CLOCK_MONOTONIC seconds). Pure.
GapSummary summarize_replies(const std::vector<double>& replies, std::optional<double> mark);

// Pings one address (IPv4 or IPv6) with raw ICMP echo requests. The lab runs run() on a thread of
// its own and reads replies() from another: the reply list is guarded.
class EchoProber {
 public:
  EchoProber() = default;
  EchoProber(const EchoProber&) = delete;
  EchoProber& operator=(const EchoProber&) = delete;
  ~EchoProber();

  // `socket_fd` >= 0: a raw ICMP (ICMPv6) socket made by the caller (the lab makes it in the
  // client's namespace); the prober owns it from now on. -1: one made here.
  bool open(const std::string& target, std::string& error, int socket_fd = -1);
  // Sends every `interval` seconds until `end` (CLOCK_MONOTONIC) or until `stop()` is true (it
  // is asked at least every `interval`), then waits 50 ms for late replies.
  void run(double interval, double end, const std::function<bool()>& stop);

  [[nodiscard]] const std::string& target() const { return target_; }
  [[nodiscard]] bool ipv6() const { return ipv6_; }
  // Receive times of the replies so far, ascending.
  [[nodiscard]] std::vector<double> replies() const;
  [[nodiscard]] size_t sent() const;
  [[nodiscard]] size_t duplicates() const { return duplicates_; }
  [[nodiscard]] size_t send_errors() const { return send_errors_; }
  [[nodiscard]] const StallMeter& stalls() const { return stalls_; }

 private:
  void send_one();
  void drain();

  std::string target_;
  int fd_ = -1;
  bool ipv6_ = false;
  uint8_t address_[16] = {};
  uint16_t identifier_ = 0;
  mutable std::mutex mutex_;  // guards sent_at_ size reads and replies_
  std::vector<double> sent_at_;
  std::vector<bool> seen_;
  std::vector<double> replies_;
  size_t duplicates_ = 0;
  size_t send_errors_ = 0;
  StallMeter stalls_;
};

// One address addition or removal seen on rtnetlink.
struct AddressEvent {
  bool added = false;
  double at = 0;  // CLOCK_MONOTONIC when the event was read
  unsigned ifindex = 0;
  std::string address;
};

// Listens for RTM_NEWADDR / RTM_DELADDR of a set of addresses in one namespace.
class AddressWatcher {
 public:
  AddressWatcher() = default;
  AddressWatcher(const AddressWatcher&) = delete;
  AddressWatcher& operator=(const AddressWatcher&) = delete;
  ~AddressWatcher();

  // `addresses`: the ones to report (text form, either family). `socket_fd` >= 0: an rtnetlink
  // socket made by the caller (in a director's namespace); owned from now on.
  bool open(const std::vector<std::string>& addresses, std::string& error, int socket_fd = -1);
  [[nodiscard]] int fd() const { return fd_; }
  // Reads what is waiting (bounded) and calls `on_event` for each matching event; `on_overrun`
  // when the kernel dropped events (the socket's buffer overflowed).
  void drain(const std::function<void(const AddressEvent&)>& on_event,
             const std::function<void(double)>& on_overrun);

 private:
  int fd_ = -1;
  struct Wanted {
    int family;
    size_t length;
    uint8_t bytes[16];
    std::string text;
  };
  std::vector<Wanted> wanted_;
};

}  // namespace vigil::lab
