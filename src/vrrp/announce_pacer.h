// AnnouncePacer: a VipManager in front of another that spaces gratuitous ARPs and unsolicited
// neighbour advertisements as keepalived's vrrp_garp_interval / vrrp_gna_interval and
// garp_group do, for upstream switches that drop (or police) a burst of them.
//
// Each pacing lane is one interface (global intervals) or one garp_group (its interfaces share
// the lane), and one family: ARPs and NAs are spaced independently. A lane sends one
// announcement at once when it is idle, then at most one per interval; the rest wait in order.
// `count` rounds of an address list go out round by round (a1 a2 a1 a2), so every address is
// announced once before any is announced again. Lanes with a zero interval pass the call
// straight through, as before.
//
// Removing addresses drops their queued announcements: a node that has given a VIP up must not
// keep claiming it. Adding addresses passes through untouched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/time.h"
#include "vrrp/host.h"

namespace vigil::vrrp {

struct AnnouncePacing {
  struct Group {
    Duration garp_interval{0};
    Duration gna_interval{0};
    std::vector<std::string> interfaces;
    bool operator==(const Group&) const = default;
  };
  // Every interface that is in no group, each with a lane of its own.
  Duration garp_interval{0};
  Duration gna_interval{0};
  std::vector<Group> groups;
  bool operator==(const AnnouncePacing&) const = default;
};

class AnnouncePacer final : public VipManager {
 public:
  AnnouncePacer(VipManager& inner, Scheduler& scheduler);
  AnnouncePacer(const AnnouncePacer&) = delete;
  AnnouncePacer& operator=(const AnnouncePacer&) = delete;
  ~AnnouncePacer() override;

  // A reload: queued announcements are kept, in order, and spaced by the new settings (those
  // whose lane now has no interval go out at once).
  void configure(AnnouncePacing pacing);

  Status add_addresses(const std::string& interface,
                       const std::vector<VirtualAddress>& addresses) override;
  Status remove_addresses(const std::string& interface,
                          const std::vector<VirtualAddress>& addresses) override;
  // Returns what the announcements sent at once returned; later failures are counted (the
  // inner VipManager logs them).
  Status announce(const std::string& interface, const std::vector<VirtualAddress>& addresses,
                  int count, const std::shared_ptr<AnnounceTally>& tally) override;

  struct Counters {
    uint64_t queued = 0;           // announcements that had to wait for their lane
    uint64_t sent_later = 0;       // queued ones sent when their turn came
    uint64_t failed_later = 0;     // of those, how many the inner VipManager failed
    uint64_t dropped_removed = 0;  // queued ones dropped because the address was removed
  };
  [[nodiscard]] const Counters& counters() const { return counters_; }
  // Announcements waiting in all lanes.
  [[nodiscard]] size_t waiting() const;

 private:
  struct Pending {
    std::string device;  // where the frame goes out
    VirtualAddress address;
    std::shared_ptr<AnnounceTally> tally;  // the announcing instance's: counts it when sent
  };
  struct LaneKey {
    std::string domain;  // "interface eth0" or "garp_group 2"
    bool ipv6 = false;
    auto operator<=>(const LaneKey&) const = default;
  };
  struct Lane {
    explicit Lane(Scheduler& scheduler) : timer(scheduler) {}
    Duration interval{0};
    TimePoint next_free{};
    std::deque<Pending> queue;
    Timer timer;
  };

  // The lane an announcement on `device` for this family uses, and its interval.
  [[nodiscard]] std::pair<LaneKey, Duration> lane_for(const std::string& device, bool ipv6) const;
  Lane& lane(const LaneKey& key, Duration interval);
  // Sends at once when the lane is idle (returning what the send returned), else queues.
  Status enqueue(Pending pending, bool requeued);
  Status send(const Pending& pending);
  void arm(Lane& lane);
  void send_next(Lane& lane);

  VipManager& inner_;
  Scheduler& scheduler_;
  AnnouncePacing pacing_;
  std::map<std::string, size_t> group_of_interface_;
  std::map<LaneKey, std::unique_ptr<Lane>> lanes_;
  Counters counters_;
};

}  // namespace vigil::vrrp
