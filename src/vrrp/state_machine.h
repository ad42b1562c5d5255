// The VRRP state machine of RFC 5798 §6.4 (Initialize, Backup, Master) plus Fault for tracking,
// with keepalived's additions (preempt_delay, re-asserting against lower-priority masters, sync
// group commands). Pure: handle(event, now) returns the actions for the caller to carry out; the
// machine never reads a clock or owns a timer. Timers are deadlines the caller arms and reports
// back as *TimerExpired events.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/ip_address.h"
#include "common/time.h"
#include "vrrp/instance_config.h"

namespace vigil::vrrp {

// ---- RFC 5798 §6.1 timer formulas ------------------------------------------------------------
//
// Computed in microseconds and truncated toward zero. For v2 the RFC 3768 formula
// (256 - Priority) / 256 s is exact to the microsecond only when 256 - Priority is a multiple of
// 4; e.g. priority 100 gives 609375 us exactly, priority 101 gives 605468 us (605468.75
// truncated). For v3 the RFC states Skew_Time in centiseconds; we keep microseconds instead of
// rounding to whole centiseconds (priority 100 at 1 s: 609375 us, not 600 ms), as keepalived
// does, so small intervals keep their skew.

// v2: (256 - priority) / 256 s. v3: ((256 - priority) * Master_Adver_Interval) / 256.
Duration skew_time(uint8_t version, uint8_t priority, Duration master_adver_interval);

// The RFCs' count of adverts in Master_Down_Interval; keepalived's down_timer_adverts changes it.
inline constexpr uint32_t kDownTimerAdverts = 3;

// down_timer_adverts (3) * Master_Adver_Interval + Skew_Time.
Duration master_down_interval(uint8_t version, uint8_t priority, Duration master_adver_interval,
                              uint32_t down_timer_adverts = kDownTimerAdverts);

// A Master_Down_Timer expiry handled more than this after its deadline means this host (or the
// VRRP thread) was not running: the silence it measured may be ours, not the master's.
inline constexpr Duration kLateExpiryThreshold = std::chrono::milliseconds(1);

// ---- states, events, actions -----------------------------------------------------------------

enum class State : uint8_t { kInitialize, kBackup, kMaster, kFault, kCount };
inline constexpr size_t kStateCount = static_cast<size_t>(State::kCount);
// keepalived's names: "INIT", "BACKUP", "MASTER", "FAULT".
std::string_view to_string(State state);

enum class TransitionReason : uint8_t {
  kStartup,               // Initialize -> Backup
  kAddressOwner,          // Initialize/Fault -> Master at priority 255 (RFC 5798 §6.4.1)
  kMasterDownTimer,       // Backup -> Master (RFC 5798 §6.4.2)
  kHigherPriorityAdvert,  // Master -> Backup (RFC 5798 §6.4.3)
  kPreemptDelayExpired,   // Backup -> Master: a lower-priority master was seen during the delay
  kShutdown,              // any -> Initialize (RFC 5798 §6.4.2, §6.4.3)
  kFault,                 // a tracked object with weight 0 failed
  kFaultCleared,          // Fault -> Backup/Master
  kSyncGroup,             // a sync group member moved and this one follows
  kMaintenance,           // Master -> Backup: an operator's vigilctl vrrp maintenance on
};
inline constexpr size_t kTransitionReasonCount =
    static_cast<size_t>(TransitionReason::kMaintenance) + 1;
std::string_view to_string(TransitionReason reason);
// Whether the state machine enters `state` for `reason` (kSyncGroup: every state but INIT).
bool can_enter(State state, TransitionReason reason);

struct Startup {};
struct Shutdown {};
// An advert that passed the codec's checks (RFC 5798 §7.1).
struct AdvertReceived {
  uint8_t priority = 0;
  Duration max_advert_interval{0};  // v3: adopted by a backup; v2: equals ours (codec checked)
  IpAddress source;                 // the sender's primary address
};
struct MasterDownTimerExpired {};
struct AdverTimerExpired {};
struct PreemptDelayExpired {};
// The instance's own tracked objects (weight 0) failed / all recovered.
struct FaultRaised {};
struct FaultCleared {};
// Tracking moved the effective priority (already clamped to 1-254; ignored for owners).
struct PriorityChanged {
  uint8_t priority = 0;
};
// Sync group commands (see sync_group.h): follow another member.
struct GroupFault {};
struct GroupFaultCleared {};
struct GroupMaster {};
struct GroupBackup {};
// vigilctl vrrp maintenance on|off: a graceful hand-over that lasts until turned off. On: a
// MASTER sends priority 0 (the backup takes over after Skew_Time, RFC 5798 §6.4.3), removes its
// addresses and goes BACKUP; while on, the instance never becomes MASTER (no Master_Down_Timer
// runs, a sync group's GroupMaster is ignored). Off: it contends again from a fresh
// Master_Down_Interval (preempt as configured). Valid in any state, INIT too (a restart).
struct MaintenanceOn {};
struct MaintenanceOff {};

using Event =
    std::variant<Startup, Shutdown, AdvertReceived, MasterDownTimerExpired, AdverTimerExpired,
                 PreemptDelayExpired, FaultRaised, FaultCleared, PriorityChanged, GroupFault,
                 GroupFaultCleared, GroupMaster, GroupBackup, MaintenanceOn, MaintenanceOff>;

enum class TimerKind : uint8_t { kAdver, kMasterDown, kPreemptDelay, kCount };
std::string_view to_string(TimerKind timer);

struct SendAdvert {
  uint8_t priority = 0;
  bool operator==(const SendAdvert&) const = default;
};
struct SetTimer {
  TimerKind timer{};
  TimePoint at{};
  bool operator==(const SetTimer&) const = default;
};
struct CancelTimer {
  TimerKind timer{};
  bool operator==(const CancelTimer&) const = default;
};
// Add the virtual addresses to their interfaces.
struct AddVips {
  bool operator==(const AddVips&) const = default;
};
// Announce the virtual addresses: gratuitous ARP (IPv4) or unsolicited NA (IPv6), with the
// configured repeat and delay.
struct SendGratuitous {
  bool operator==(const SendGratuitous&) const = default;
};
struct RemoveVips {
  bool operator==(const RemoveVips&) const = default;
};
// Sync group member: Master_Down_Timer ran out, but the group goes MASTER only when every
// member is ready (keepalived semantics); the group answers with GroupMaster.
struct RequestGroupMaster {
  bool operator==(const RequestGroupMaster&) const = default;
};
// Master heard an advert that loses the election against it (lower priority, or equal
// priority from a lower address): keepalived's MASTER_RX_LOWER_PRI notification.
struct NotifyLowerPriorityAdvert {
  uint8_t priority = 0;  // the advert's
  IpAddress source;
  bool operator==(const NotifyLowerPriorityAdvert&) const = default;
};
// Announce the virtual addresses again after such an advert, with garp_lower_prio_repeat and
// garp_lower_prio_delay.
struct SendLowerPriorityGratuitous {
  bool operator==(const SendLowerPriorityGratuitous&) const = default;
};
// Tracking moved the priority this instance advertises (never an owner's): keepalived's
// MASTER_PRIORITY / BACKUP_PRIORITY notify FIFO line when notify_priority_changes is on.
// `state` is the state the instance is in when the priority changes.
struct NotifyPriorityChange {
  State state{};
  uint8_t priority = 0;  // the new one
  bool operator==(const NotifyPriorityChange&) const = default;
};
struct Notify {
  State from{};
  State to{};
  TransitionReason reason{};
  bool operator==(const Notify&) const = default;
};

using Action = std::variant<SendAdvert, SetTimer, CancelTimer, AddVips, SendGratuitous, RemoveVips,
                            RequestGroupMaster, Notify, SendLowerPriorityGratuitous,
                            NotifyLowerPriorityAdvert, NotifyPriorityChange>;
std::string to_string(const Action& action);

using Actions = std::vector<Action>;

// ---- the machine ---------------------------------------------------------------------------

class StateMachine {
 public:
  explicit StateMachine(InstanceConfig config);

  // Feeds one event at time `now`; returns what the caller must do, in order.
  Actions handle(const Event& event, TimePoint now);

  // A sync group member asks its group (RequestGroupMaster) instead of taking over alone.
  void set_in_sync_group(bool in_group) { in_sync_group_ = in_group; }
  // Backup whose Master_Down_Timer ran out while waiting for its sync group.
  [[nodiscard]] bool wants_master() const { return wants_master_; }

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] const InstanceConfig& config() const { return config_; }
  [[nodiscard]] const std::string& name() const { return config_.name; }
  // Base priority moved by tracking; 255 for an owner.
  [[nodiscard]] uint8_t priority() const { return priority_; }
  // RFC 5798 §6.1: the interval the backup expects from the master (v3: the master's).
  [[nodiscard]] Duration master_adver_interval() const { return master_adver_interval_; }
  [[nodiscard]] Duration skew_time() const;
  [[nodiscard]] Duration master_down_interval() const;
  [[nodiscard]] std::optional<TimePoint> deadline(TimerKind timer) const {
    return deadlines_[static_cast<size_t>(timer)];
  }
  [[nodiscard]] bool in_fault() const { return own_fault_ || group_fault_; }
  [[nodiscard]] bool in_maintenance() const { return maintenance_; }
  // Who is master as far as this instance knows: its own primary address while MASTER; while
  // BACKUP, the source of the last advert it accepted from its master (RFC 5798 §6.4.2); none
  // otherwise, or when the master said it was leaving (priority 0) or none was heard yet.
  [[nodiscard]] std::optional<IpAddress> master_address() const;
  // Times this instance entered each state.
  [[nodiscard]] uint64_t entered(State state) const { return entered_[static_cast<size_t>(state)]; }
  // Of those, the times it entered it for `reason`.
  [[nodiscard]] uint64_t entered(State state, TransitionReason reason) const {
    return entered_by_reason_[static_cast<size_t>(state)][static_cast<size_t>(reason)];
  }
  // Adverts ignored because they came from our own primary address (looped back).
  [[nodiscard]] uint64_t own_adverts_ignored() const { return own_adverts_ignored_; }
  // Master_Down_Timer expiries that came late enough to wait for held-up adverts first.
  [[nodiscard]] uint64_t late_master_down_waits() const { return late_master_down_waits_; }

 private:
  void on(const Startup&, TimePoint now, Actions& out);
  void on(const Shutdown&, TimePoint now, Actions& out);
  void on(const AdvertReceived& advert, TimePoint now, Actions& out);
  void on(const MasterDownTimerExpired&, TimePoint now, Actions& out);
  void on(const AdverTimerExpired&, TimePoint now, Actions& out);
  void on(const PreemptDelayExpired&, TimePoint now, Actions& out);
  void on(const FaultRaised&, TimePoint now, Actions& out);
  void on(const FaultCleared&, TimePoint now, Actions& out);
  void on(const PriorityChanged& change, TimePoint now, Actions& out);
  void on(const GroupFault&, TimePoint now, Actions& out);
  void on(const GroupFaultCleared&, TimePoint now, Actions& out);
  void on(const GroupMaster&, TimePoint now, Actions& out);
  void on(const GroupBackup&, TimePoint now, Actions& out);
  void on(const MaintenanceOn&, TimePoint now, Actions& out);
  void on(const MaintenanceOff&, TimePoint now, Actions& out);

  // Leaving Initialize or Fault: the owner becomes master at once, others wait as backup.
  void start(TransitionReason reason, TimePoint now, Actions& out);
  void become_master(TransitionReason reason, TimePoint now, Actions& out);
  // become_master(), or for a sync group member a RequestGroupMaster.
  void take_over(TransitionReason reason, TimePoint now, Actions& out);
  void become_backup(TransitionReason reason, TimePoint now, Actions& out);
  // Master -> Backup.
  void step_down(TransitionReason reason, TimePoint now, Actions& out,
                 std::string_view detail = {});
  void enter_fault(TransitionReason reason, Actions& out);
  void leave_fault(TransitionReason reason, TimePoint now, Actions& out);
  void send_advert_and_rearm(TimePoint now, Actions& out);
  void cancel_all_timers(Actions& out);
  // Backup: the master is alive; restart Master_Down_Timer, adopting its interval (v3).
  void restart_master_down(const AdvertReceived& advert, TimePoint now, Actions& out);
  // Master_Down_Timer measuring the master's silence: a late expiry may wait (see on()).
  void arm_master_down(TimePoint now, Actions& out);

  void set_timer(TimerKind timer, TimePoint at, Actions& out);
  void cancel_timer(TimerKind timer, Actions& out);
  // True (and clears the deadline) when `timer` was armed and is due at `now`.
  bool take_expired(TimerKind timer, TimePoint now);
  [[nodiscard]] bool preempt_delay_active(TimePoint now) const;

  // The one place where the state changes: logs "from -> to (reason)", counts, notifies.
  void transition(State to, TransitionReason reason, Actions& out, std::string_view detail = {});

  InstanceConfig config_;
  State state_ = State::kInitialize;
  uint8_t priority_;
  Duration master_adver_interval_;
  bool own_fault_ = false;
  bool group_fault_ = false;
  // Priority of the last master heard while in Backup (for preempt_delay expiry).
  std::optional<uint8_t> last_master_priority_;
  // The source of the last advert a backup accepted from its master (or that made it step down).
  std::optional<IpAddress> heard_master_;
  std::array<std::optional<TimePoint>, static_cast<size_t>(TimerKind::kCount)> deadlines_{};
  std::array<uint64_t, kStateCount> entered_{};
  std::array<std::array<uint64_t, kTransitionReasonCount>, kStateCount> entered_by_reason_{};
  uint64_t own_adverts_ignored_ = 0;
  // The running Master_Down_Timer counts the master's silence (not Skew_Time after a priority-0
  // advert, not an extra wait already given), so a late expiry may wait once.
  bool master_down_may_wait_ = false;
  uint64_t late_master_down_waits_ = 0;
  bool reassert_logged_ = false;
  bool in_sync_group_ = false;
  bool wants_master_ = false;
  bool maintenance_ = false;
};

}  // namespace vigil::vrrp
