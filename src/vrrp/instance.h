// The thin shell around a StateMachine: it arms the machine's timers on a Scheduler, sends the
// adverts it asks for through an AdvertTransport, moves the virtual addresses through a
// VipManager (with keepalived's gratuitous ARP schedule) and reports transitions to a Notifier.
// AdvertReceiver decodes what a socket delivers and hands each advert to its instance.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/time.h"
#include "vrrp/host.h"
#include "vrrp/instance_config.h"
#include "vrrp/packet.h"
#include "vrrp/state_machine.h"
#include "vrrp/tracking.h"

namespace vigil::vrrp {

// Called after every transition with the instance's priority at that moment. Must not block
// (the daemon queues notify scripts elsewhere); events it feeds back (sync group) should be
// posted to the scheduler rather than handled inside the call.
using Notifier =
    std::function<void(const InstanceConfig& config, const Notify& notify, uint8_t priority)>;

// Called when a master hears a lower-priority advert (keepalived's MASTER_RX_LOWER_PRI), with
// the instance's own priority. Same rules as Notifier.
using LowerPriorityNotifier = std::function<void(
    const InstanceConfig& config, const NotifyLowerPriorityAdvert& seen, uint8_t priority)>;

// Called when tracking moved the instance's priority (NotifyPriorityChange). Same rules as
// Notifier.
using PriorityChangeNotifier =
    std::function<void(const InstanceConfig& config, const NotifyPriorityChange& change)>;

// How a sync group hears from its members (see SyncGroupLink, which installs these).
struct SyncGroupHooks {
  std::function<void(const Notify&)> on_transition;
  std::function<void()> on_master_request;  // RequestGroupMaster
  std::function<void()> on_fault_changed;   // own tracking fault went up or down
};

class Instance {
 public:
  Instance(InstanceConfig config, Scheduler& scheduler, AdvertTransport& transport,
           VipManager& vips, Notifier notifier = {});
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  ~Instance();  // cancels timers; does not send anything (see stop())

  void start();
  // Clean stop: a master sends priority 0 and removes its addresses (RFC 5798 §6.4.3).
  void stop();
  // An advert for this instance's VRID that passed the codec's checks.
  void on_advert(const ReceivedAdvert& received);
  // A tracked object went up or down: moves the priority or raises/clears the fault (and tells
  // the sync group, if any).
  PriorityTracker::Change tracked_changed(const std::string& name, bool up);
  // Several tracked objects at once (a track_file's value is one object per weight bit): one
  // priority change and at most one fault change for the lot, as keepalived applies a value.
  PriorityTracker::Change tracked_changed(const std::vector<std::pair<std::string, bool>>& changes);
  // Sync group events (GroupFault, GroupMaster, ...) and anything else for the machine.
  void handle(const Event& event);
  [[nodiscard]] const PriorityTracker& tracker() const { return tracker_; }

  // Makes this instance a sync group member: it reports to `hooks` and asks the group before
  // taking over. Empty hooks leave the group.
  void set_sync_group(SyncGroupHooks hooks);
  void set_lower_priority_notifier(LowerPriorityNotifier notifier) {
    lower_priority_notifier_ = std::move(notifier);
  }
  void set_priority_change_notifier(PriorityChangeNotifier notifier) {
    priority_change_notifier_ = std::move(notifier);
  }

  [[nodiscard]] State state() const { return machine_.state(); }
  [[nodiscard]] const StateMachine& machine() const { return machine_; }
  [[nodiscard]] const InstanceConfig& config() const { return machine_.config(); }
  [[nodiscard]] const ReceivePolicy& receive_policy() const { return receive_policy_; }

  struct Counters {
    uint64_t adverts_sent = 0;
    uint64_t advert_send_failures = 0;
    uint64_t adverts_received = 0;
    uint64_t vip_failures = 0;
    // Adverts with priority 0 (a master leaving: shutdown, fault, maintenance).
    uint64_t priority_zero_sent = 0;
    uint64_t priority_zero_received = 0;
  };
  [[nodiscard]] const Counters& counters() const { return counters_; }
  // Gratuitous ARPs and unsolicited NAs sent for this instance (paced ones when they went out).
  [[nodiscard]] const AnnounceTally& announced() const { return *announced_; }

  // An operator's request (vigilctl vrrp garp): a master announces its virtual addresses once
  // more now (garp_master_repeat gratuitous ARPs / unsolicited NAs). Refused unless MASTER.
  Status announce_now();

 private:
  void apply(const Actions& actions);
  void send_advert(uint8_t priority);
  void announce();
  void announce_after_lower_priority_advert();
  // `repeat` announcements now and, unless `delay` is 0, again after it on `timer` (re-armed,
  // not added to). Read from the config each time, so a reload in between applies.
  void announce_now_and_after(Timer& timer, int InstanceConfig::*repeat,
                              Duration InstanceConfig::*delay);
  void refresh_announcements();
  void check(const Status& status, std::string_view what, uint64_t& failures);

  StateMachine machine_;
  PriorityTracker tracker_;
  ReceivePolicy receive_policy_;
  Scheduler& scheduler_;
  AdvertTransport& transport_;
  VipManager& vips_;
  Notifier notifier_;
  LowerPriorityNotifier lower_priority_notifier_;
  PriorityChangeNotifier priority_change_notifier_;
  SyncGroupHooks group_;
  std::array<std::unique_ptr<Timer>, static_cast<size_t>(TimerKind::kCount)> timers_;
  Timer garp_repeat_timer_;      // the second burst after garp_master_delay
  Timer garp_refresh_timer_;     // garp_master_refresh while master
  Timer garp_lower_prio_timer_;  // the second set after garp_lower_prio_delay
  Counters counters_;
  std::shared_ptr<AnnounceTally> announced_ = std::make_shared<AnnounceTally>();
};

// Demultiplexes the adverts of one receiving socket (one interface and family) by VRID.
class AdvertReceiver {
 public:
  // Instances must outlive the receiver or be removed first.
  void add(Instance& instance);
  void remove(const Instance& instance);

  // A datagram from an IPv4 raw socket (IP header included).
  void on_ipv4_datagram(std::span<const uint8_t> datagram);
  // A message from an IPv6 raw socket with its addresses and IPV6_HOPLIMIT.
  void on_ipv6_message(const IpAddress& source, const IpAddress& destination, uint8_t hop_limit,
                       std::span<const uint8_t> payload);

  [[nodiscard]] const RejectCounters& rejects() const { return rejects_; }

 private:
  void dispatch(const DecodeResult& result);
  [[nodiscard]] VridLookup lookup() const;

  std::map<uint8_t, Instance*> by_vrid_;
  RejectCounters rejects_;
};

}  // namespace vigil::vrrp
