#include "vrrp/state_machine.h"

#include <algorithm>
#include <cassert>

#include "common/log.h"
#include "common/overloaded.h"

namespace vigil::vrrp {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("vrrp");
  return *instance;
}

}  // namespace

Duration skew_time(uint8_t version, uint8_t priority, Duration master_adver_interval) {
  const int64_t weight = 256 - int64_t{priority};
  if (version == 2) {
    // RFC 3768 §6.1: (256 - Priority) / 256 seconds.
    return Duration{weight * std::chrono::microseconds(std::chrono::seconds(1)).count() / 256};
  }
  // RFC 5798 §6.1: ((256 - Priority) * Master_Adver_Interval) / 256.
  return Duration{weight * master_adver_interval.count() / 256};
}

Duration master_down_interval(uint8_t version, uint8_t priority, Duration master_adver_interval,
                              uint32_t down_timer_adverts) {
  // RFC 5798 §6.1 / RFC 3768 §6.1: (3 * Master_Adver_Interval) + Skew_Time; keepalived's
  // down_timer_adverts replaces the 3 (a deviation every router of the VRID must share).
  return static_cast<int64_t>(down_timer_adverts) * master_adver_interval +
         skew_time(version, priority, master_adver_interval);
}

std::string_view to_string(State state) {
  switch (state) {
    case State::kInitialize:
      return "INIT";
    case State::kBackup:
      return "BACKUP";
    case State::kMaster:
      return "MASTER";
    case State::kFault:
      return "FAULT";
    case State::kCount:
      break;
  }
  return "?";
}

std::string_view to_string(TransitionReason reason) {
  switch (reason) {
    case TransitionReason::kStartup:
      return "startup";
    case TransitionReason::kAddressOwner:
      return "address owner";
    case TransitionReason::kMasterDownTimer:
      return "master down timer expired";
    case TransitionReason::kHigherPriorityAdvert:
      return "higher priority advert";
    case TransitionReason::kPreemptDelayExpired:
      return "preempt delay expired";
    case TransitionReason::kShutdown:
      return "shutdown";
    case TransitionReason::kFault:
      return "fault";
    case TransitionReason::kFaultCleared:
      return "fault cleared";
    case TransitionReason::kSyncGroup:
      return "sync group";
    case TransitionReason::kMaintenance:
      return "maintenance";
  }
  return "?";
}

bool can_enter(State state, TransitionReason reason) {
  switch (reason) {
    case TransitionReason::kShutdown:
      return state == State::kInitialize;
    case TransitionReason::kStartup:
    case TransitionReason::kHigherPriorityAdvert:
    case TransitionReason::kMaintenance:
      return state == State::kBackup;
    case TransitionReason::kAddressOwner:
    case TransitionReason::kMasterDownTimer:
    case TransitionReason::kPreemptDelayExpired:
      return state == State::kMaster;
    case TransitionReason::kFault:
      return state == State::kFault;
    case TransitionReason::kFaultCleared:  // to BACKUP, or MASTER for an address owner
      return state == State::kBackup || state == State::kMaster;
    case TransitionReason::kSyncGroup:
      return state != State::kInitialize && state != State::kCount;
  }
  return false;
}

std::string_view to_string(TimerKind timer) {
  switch (timer) {
    case TimerKind::kAdver:
      return "Adver_Timer";
    case TimerKind::kMasterDown:
      return "Master_Down_Timer";
    case TimerKind::kPreemptDelay:
      return "preempt delay";
    case TimerKind::kCount:
      break;
  }
  return "?";
}

std::string to_string(const Action& action) {
  return std::visit(
      Overloaded{
          [](const SendAdvert& a) { return fmt::format("SendAdvert(priority {})", a.priority); },
          [](const SetTimer& a) {
            return fmt::format("SetTimer({} at {} us)", to_string(a.timer),
                               a.at.time_since_epoch().count());
          },
          [](const CancelTimer& a) { return fmt::format("CancelTimer({})", to_string(a.timer)); },
          [](const AddVips&) { return std::string("AddVips"); },
          [](const SendGratuitous&) { return std::string("SendGratuitous"); },
          [](const RemoveVips&) { return std::string("RemoveVips"); },
          [](const RequestGroupMaster&) { return std::string("RequestGroupMaster"); },
          [](const Notify& a) {
            return fmt::format("Notify({} -> {}, {})", to_string(a.from), to_string(a.to),
                               to_string(a.reason));
          },
          [](const SendLowerPriorityGratuitous&) {
            return std::string("SendLowerPriorityGratuitous");
          },
          [](const NotifyLowerPriorityAdvert& a) {
            return fmt::format("NotifyLowerPriorityAdvert(priority {} from {})", a.priority,
                               a.source.to_string());
          },
          [](const NotifyPriorityChange& a) {
            return fmt::format("NotifyPriorityChange({} at priority {})", to_string(a.state),
                               a.priority);
          },
      },
      action);
}

StateMachine::StateMachine(InstanceConfig config)
    : config_(std::move(config)),
      priority_(config_.priority),
      master_adver_interval_(config_.advert_interval) {
  // Config validation guarantees these; the codec could not encode anything else.
  assert(config_.version == 2 || config_.version == 3);
  assert(config_.version == 3 || config_.family == AddressFamily::kIpv4);
  assert(config_.primary_address.family() == config_.family);
  assert(config_.priority >= 1);
  assert(config_.advert_interval > Duration::zero());
  assert(config_.version == 3 || config_.advert_interval % std::chrono::seconds(1) == Duration{0});
  assert(config_.version == 2 ||
         (config_.advert_interval % std::chrono::milliseconds(10) == Duration{0} &&
          config_.advert_interval <= std::chrono::milliseconds(40950)));
}

Duration StateMachine::skew_time() const {
  return vrrp::skew_time(config_.version, priority_, master_adver_interval_);
}

Duration StateMachine::master_down_interval() const {
  return vrrp::master_down_interval(config_.version, priority_, master_adver_interval_,
                                    config_.down_timer_adverts);
}

Actions StateMachine::handle(const Event& event, TimePoint now) {
  Actions out;
  std::visit([&](const auto& e) { on(e, now, out); }, event);
  return out;
}

// ---- events ---------------------------------------------------------------------------------

void StateMachine::on(const Startup&, TimePoint now, Actions& out) {
  if (state_ != State::kInitialize) return;
  if (in_fault()) {
    transition(State::kFault, own_fault_ ? TransitionReason::kFault : TransitionReason::kSyncGroup,
               out);
    return;
  }
  start(TransitionReason::kStartup, now, out);
}

void StateMachine::on(const Shutdown&, TimePoint, Actions& out) {
  switch (state_) {
    case State::kInitialize:
      return;
    case State::kMaster:
      // RFC 5798 §6.4.3: cancel Adver_Timer, send an advert with priority 0.
      cancel_all_timers(out);
      out.emplace_back(SendAdvert{kStopPriority});
      out.emplace_back(RemoveVips{});
      break;
    case State::kBackup:
    case State::kFault:
      // RFC 5798 §6.4.2: cancel Master_Down_Timer.
      cancel_all_timers(out);
      break;
    case State::kCount:
      assert(false);
  }
  last_master_priority_.reset();
  transition(State::kInitialize, TransitionReason::kShutdown, out);
}

void StateMachine::on(const AdvertReceived& advert, TimePoint now, Actions& out) {
  if (advert.source == config_.primary_address) {
    // Our own advert looped back; answering it would re-assert against ourselves forever.
    ++own_adverts_ignored_;
    return;
  }
  if (state_ == State::kBackup && maintenance_) {
    // Not contending: note who is master (for status), arm nothing.
    if (advert.priority == kStopPriority) {
      heard_master_.reset();
    } else {
      heard_master_ = advert.source;
    }
    return;
  }
  if (state_ == State::kBackup) {
    // RFC 5798 §6.4.2
    if (advert.priority == kStopPriority) {
      // The master is leaving: take over after Skew_Time only.
      last_master_priority_.reset();
      heard_master_.reset();
      set_timer(TimerKind::kMasterDown, now + skew_time(), out);
      master_down_may_wait_ = false;  // the master said it is leaving
      return;
    }
    if (!config_.preempt || advert.priority >= priority_ || preempt_delay_active(now)) {
      last_master_priority_ = advert.priority;
      heard_master_ = advert.source;
      restart_master_down(advert, now, out);
      return;
    }
    // Preempting a lower-priority master: discard the advert and let Master_Down_Timer run out.
    logger().debug("[{}] discarding advert from {} with lower priority {} (ours {})", config_.name,
                   advert.source.to_string(), advert.priority, priority_);
    return;
  }
  if (state_ == State::kMaster) {
    // RFC 5798 §6.4.3
    if (advert.priority == kStopPriority) {
      send_advert_and_rearm(now, out);
      return;
    }
    const bool other_wins =
        advert.priority > priority_ ||
        (advert.priority == priority_ && advert.source > config_.primary_address);
    if (other_wins) {
      if (config_.version == 3 && advert.max_advert_interval > Duration::zero())
        master_adver_interval_ = advert.max_advert_interval;
      last_master_priority_ = advert.priority;
      heard_master_ = advert.source;
      if (config_.higher_prio_send_advert) out.emplace_back(SendAdvert{priority_});
      step_down(TransitionReason::kHigherPriorityAdvert, now, out,
                fmt::format("{} priority {}", advert.source.to_string(), advert.priority));
      return;
    }
    // RFC 5798 says discard; like keepalived we re-assert at once (unless lower_prio_no_advert)
    // so that the other master, which would otherwise wait for our next Adver_Timer, hears us
    // and backs off now. Its gratuitous ARPs may have moved the addresses: announce them again.
    // Info once per mastership: a peer that cannot hear us would otherwise log every advert.
    logger().log(reassert_logged_ ? spdlog::level::debug : spdlog::level::info,
                 "[{}] advert from {} with lower priority {} (ours {}){}", config_.name,
                 advert.source.to_string(), advert.priority, priority_,
                 config_.lower_prio_no_advert ? "" : ": re-asserting");
    reassert_logged_ = true;
    if (!config_.lower_prio_no_advert) send_advert_and_rearm(now, out);
    if (config_.garp_lower_prio_repeat > 0) out.emplace_back(SendLowerPriorityGratuitous{});
    out.emplace_back(NotifyLowerPriorityAdvert{advert.priority, advert.source});
  }
  // Initialize and Fault ignore adverts.
}

void StateMachine::on(const MasterDownTimerExpired&, TimePoint now, Actions& out) {
  const auto due = deadline(TimerKind::kMasterDown);
  if (!take_expired(TimerKind::kMasterDown, now)) return;
  if (state_ != State::kBackup) return;
  // An addition to RFC 5798 §6.4.2 (keepalived takes over at once): an expiry handled late means
  // this host was not running, so the adverts the master sent meanwhile may still be queued behind
  // the expiry, or, frozen with us, the master is sending its overdue advert right now. Give them
  // as long as we were late, at most one Master_Adver_Interval, once per silence. A whole-VM
  // pause of ~30 ms otherwise makes a 0.01 s backup take over from a live master.
  const Duration late = now - *due;
  if (master_down_may_wait_ && late > kLateExpiryThreshold) {
    const Duration wait = std::min(late, master_adver_interval_);
    ++late_master_down_waits_;
    logger().warn(
        "[{}] Master_Down_Timer expired {} us late (this host was not running): "
        "waiting {} us for adverts held up meanwhile",
        config_.name, late.count(), wait.count());
    set_timer(TimerKind::kMasterDown, now + wait, out);
    master_down_may_wait_ = false;
    return;
  }
  take_over(TransitionReason::kMasterDownTimer, now, out);
}

void StateMachine::on(const AdverTimerExpired&, TimePoint now, Actions& out) {
  if (!take_expired(TimerKind::kAdver, now)) return;
  if (state_ != State::kMaster) return;
  send_advert_and_rearm(now, out);
}

void StateMachine::on(const PreemptDelayExpired&, TimePoint now, Actions& out) {
  if (!take_expired(TimerKind::kPreemptDelay, now)) return;
  if (state_ != State::kBackup || !config_.preempt) return;
  // The delay held back a preemption: a lower-priority master is still advertising.
  if (last_master_priority_ && *last_master_priority_ < priority_)
    take_over(TransitionReason::kPreemptDelayExpired, now, out);
}

void StateMachine::on(const FaultRaised&, TimePoint, Actions& out) {
  const bool was = in_fault();
  own_fault_ = true;
  if (!was) enter_fault(TransitionReason::kFault, out);
}

void StateMachine::on(const FaultCleared&, TimePoint now, Actions& out) {
  if (!own_fault_) return;
  own_fault_ = false;
  if (!in_fault()) leave_fault(TransitionReason::kFaultCleared, now, out);
}

void StateMachine::on(const PriorityChanged& change, TimePoint, Actions& out) {
  if (config_.is_owner() || change.priority == priority_) return;
  assert(change.priority >= 1 && change.priority < kOwnerPriority);
  logger().info("[{}] priority {} -> {}", config_.name, priority_, change.priority);
  // Takes effect in the next advert and the next Master_Down_Interval; a backup that now
  // outranks the master discards its adverts and takes over when Master_Down_Timer runs out.
  priority_ = change.priority;
  out.emplace_back(NotifyPriorityChange{state_, priority_});
}

void StateMachine::on(const GroupFault&, TimePoint, Actions& out) {
  const bool was = in_fault();
  group_fault_ = true;
  if (!was) enter_fault(TransitionReason::kSyncGroup, out);
}

void StateMachine::on(const GroupFaultCleared&, TimePoint now, Actions& out) {
  if (!group_fault_) return;
  group_fault_ = false;
  if (!in_fault()) leave_fault(TransitionReason::kSyncGroup, now, out);
}

void StateMachine::on(const GroupMaster&, TimePoint now, Actions& out) {
  if (state_ == State::kBackup && !maintenance_)
    become_master(TransitionReason::kSyncGroup, now, out);
}

void StateMachine::on(const GroupBackup&, TimePoint now, Actions& out) {
  if (state_ == State::kMaster) step_down(TransitionReason::kSyncGroup, now, out);
}

void StateMachine::on(const MaintenanceOn&, TimePoint, Actions& out) {
  if (maintenance_) return;
  maintenance_ = true;
  wants_master_ = false;
  switch (state_) {
    case State::kMaster:
      // As a shutdown (RFC 5798 §6.4.3): priority 0 lets the backup take over after Skew_Time.
      cancel_all_timers(out);
      out.emplace_back(SendAdvert{kStopPriority});
      out.emplace_back(RemoveVips{});
      last_master_priority_.reset();
      transition(State::kBackup, TransitionReason::kMaintenance, out);
      break;
    case State::kBackup:
      cancel_timer(TimerKind::kMasterDown, out);
      cancel_timer(TimerKind::kPreemptDelay, out);
      logger().info("[{}] maintenance: BACKUP, not contending", config_.name);
      break;
    case State::kInitialize:
    case State::kFault:
      logger().info("[{}] maintenance: will not contend", config_.name);
      break;
    case State::kCount:
      assert(false);
  }
}

void StateMachine::on(const MaintenanceOff&, TimePoint now, Actions& out) {
  if (!maintenance_) return;
  maintenance_ = false;
  logger().info("[{}] maintenance off: contending again", config_.name);
  // A fresh Master_Down_Interval: a live master's adverts keep this BACKUP (or, with preempt and
  // a higher priority, are discarded so that the timer runs out); silence makes it MASTER.
  if (state_ == State::kBackup) arm_master_down(now, out);
}

// ---- transitions ----------------------------------------------------------------------------

void StateMachine::start(TransitionReason reason, TimePoint now, Actions& out) {
  // RFC 5798 §6.4.1
  master_adver_interval_ = config_.advert_interval;
  last_master_priority_.reset();
  if (config_.is_owner() && !maintenance_) {
    become_master(reason == TransitionReason::kStartup ? TransitionReason::kAddressOwner : reason,
                  now, out);
    return;
  }
  // keepalived: preempt_delay holds back preemption after startup and after a fault.
  if (config_.preempt && !maintenance_ && config_.preempt_delay > Duration::zero())
    set_timer(TimerKind::kPreemptDelay, now + config_.preempt_delay, out);
  // Even with `state MASTER` a non-owner first listens for a full Master_Down_Interval.
  become_backup(reason, now, out);
}

void StateMachine::take_over(TransitionReason reason, TimePoint now, Actions& out) {
  if (maintenance_) return;  // unreachable: no Master_Down_Timer runs in maintenance
  if (!in_sync_group_) {
    become_master(reason, now, out);
    return;
  }
  logger().debug("[{}] ready for MASTER ({}), waiting for the sync group", config_.name,
                 to_string(reason));
  wants_master_ = true;
  out.emplace_back(RequestGroupMaster{});
}

void StateMachine::become_master(TransitionReason reason, TimePoint now, Actions& out) {
  // RFC 5798 §6.4.1 / §6.4.2: send an advert, announce the addresses, arm Adver_Timer.
  cancel_timer(TimerKind::kMasterDown, out);
  cancel_timer(TimerKind::kPreemptDelay, out);
  out.emplace_back(SendAdvert{priority_});
  out.emplace_back(AddVips{});
  out.emplace_back(SendGratuitous{});
  set_timer(TimerKind::kAdver, now + config_.advert_interval, out);
  last_master_priority_.reset();
  transition(State::kMaster, reason, out);
}

void StateMachine::step_down(TransitionReason reason, TimePoint now, Actions& out,
                             std::string_view detail) {
  // RFC 5798 §6.4.3: cancel Adver_Timer, set Master_Down_Timer, transition to Backup.
  cancel_timer(TimerKind::kAdver, out);
  out.emplace_back(RemoveVips{});
  arm_master_down(now, out);
  transition(State::kBackup, reason, out, detail);
}

void StateMachine::become_backup(TransitionReason reason, TimePoint now, Actions& out) {
  arm_master_down(now, out);
  transition(State::kBackup, reason, out);
}

void StateMachine::enter_fault(TransitionReason reason, Actions& out) {
  switch (state_) {
    case State::kInitialize:
      return;  // Startup will go straight to Fault
    case State::kMaster:
      // Tell the backups now, so they take over after Skew_Time instead of Master_Down_Interval.
      cancel_all_timers(out);
      out.emplace_back(SendAdvert{kStopPriority});
      out.emplace_back(RemoveVips{});
      break;
    case State::kBackup:
      cancel_all_timers(out);
      break;
    case State::kFault:
    case State::kCount:
      assert(false);
  }
  last_master_priority_.reset();
  transition(State::kFault, reason, out);
}

void StateMachine::leave_fault(TransitionReason reason, TimePoint now, Actions& out) {
  if (state_ != State::kFault) return;  // still in Initialize: Startup decides
  start(reason, now, out);
}

void StateMachine::send_advert_and_rearm(TimePoint now, Actions& out) {
  out.emplace_back(SendAdvert{priority_});
  set_timer(TimerKind::kAdver, now + config_.advert_interval, out);
}

void StateMachine::restart_master_down(const AdvertReceived& advert, TimePoint now, Actions& out) {
  // RFC 5798 §6.4.2: v3 adopts the master's interval; v2 intervals were checked to be equal.
  if (config_.version == 3 && advert.max_advert_interval > Duration::zero())
    master_adver_interval_ = advert.max_advert_interval;
  arm_master_down(now, out);
}

void StateMachine::arm_master_down(TimePoint now, Actions& out) {
  // In maintenance nothing may make this instance MASTER: no timer to run out.
  if (maintenance_) {
    cancel_timer(TimerKind::kMasterDown, out);
    return;
  }
  set_timer(TimerKind::kMasterDown, now + master_down_interval(), out);
  master_down_may_wait_ = true;
}

void StateMachine::cancel_all_timers(Actions& out) {
  cancel_timer(TimerKind::kAdver, out);
  cancel_timer(TimerKind::kMasterDown, out);
  cancel_timer(TimerKind::kPreemptDelay, out);
}

void StateMachine::set_timer(TimerKind timer, TimePoint at, Actions& out) {
  // A master was heard (or is leaving): not ready for the group's MASTER until this runs out.
  if (timer == TimerKind::kMasterDown) wants_master_ = false;
  deadlines_[static_cast<size_t>(timer)] = at;
  out.emplace_back(SetTimer{timer, at});
}

void StateMachine::cancel_timer(TimerKind timer, Actions& out) {
  auto& deadline = deadlines_[static_cast<size_t>(timer)];
  if (!deadline) return;
  deadline.reset();
  out.emplace_back(CancelTimer{timer});
}

bool StateMachine::take_expired(TimerKind timer, TimePoint now) {
  auto& deadline = deadlines_[static_cast<size_t>(timer)];
  // A stale expiry (cancelled or re-armed later) is ignored.
  if (!deadline || now < *deadline) return false;
  deadline.reset();
  return true;
}

bool StateMachine::preempt_delay_active(TimePoint now) const {
  const auto& deadline = deadlines_[static_cast<size_t>(TimerKind::kPreemptDelay)];
  return deadline && now < *deadline;
}

std::optional<IpAddress> StateMachine::master_address() const {
  if (state_ == State::kMaster) return config_.primary_address;
  if (state_ == State::kBackup) return heard_master_;
  return std::nullopt;
}

void StateMachine::transition(State to, TransitionReason reason, Actions& out,
                              std::string_view detail) {
  const State from = state_;
  assert(from != to);
  state_ = to;
  if (to != State::kBackup) heard_master_.reset();
  reassert_logged_ = false;
  wants_master_ = false;
  ++entered_[static_cast<size_t>(to)];
  assert(can_enter(to, reason));
  ++entered_by_reason_[static_cast<size_t>(to)][static_cast<size_t>(reason)];
  if (detail.empty()) {
    logger().info("[{}] {} -> {} ({})", config_.name, to_string(from), to_string(to),
                  to_string(reason));
  } else {
    logger().info("[{}] {} -> {} ({}: {})", config_.name, to_string(from), to_string(to),
                  to_string(reason), detail);
  }
  out.emplace_back(Notify{from, to, reason});
}

}  // namespace vigil::vrrp
