#include "vrrp/instance.h"

#include <cassert>

#include "common/log.h"
#include "common/overloaded.h"

namespace vigil::vrrp {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("vrrp");
  return *instance;
}

Event expiry_event(TimerKind kind) {
  switch (kind) {
    case TimerKind::kAdver:
      return AdverTimerExpired{};
    case TimerKind::kMasterDown:
      return MasterDownTimerExpired{};
    case TimerKind::kPreemptDelay:
      return PreemptDelayExpired{};
    case TimerKind::kCount:
      break;
  }
  assert(false);
  return AdverTimerExpired{};
}

}  // namespace

Instance::Instance(InstanceConfig config, Scheduler& scheduler, AdvertTransport& transport,
                   VipManager& vips, Notifier notifier)
    : machine_(std::move(config)),
      tracker_(machine_.config().priority),
      receive_policy_(machine_.config().receive_policy()),
      scheduler_(scheduler),
      transport_(transport),
      vips_(vips),
      notifier_(std::move(notifier)),
      garp_repeat_timer_(scheduler),
      garp_refresh_timer_(scheduler),
      garp_lower_prio_timer_(scheduler) {
  for (auto& timer : timers_)
    timer = std::make_unique<Timer>(scheduler);
  for (const auto& tracked : machine_.config().tracked)
    tracker_.add(tracked.name, tracked.weight, tracked.initially_up);
  // Tracked objects that start down count from the beginning (Startup goes straight to FAULT).
  const TimePoint now = scheduler_.now();
  if (tracker_.effective_priority() != machine_.priority())
    apply(machine_.handle(PriorityChanged{tracker_.effective_priority()}, now));
  if (tracker_.fault()) apply(machine_.handle(FaultRaised{}, now));
}

Instance::~Instance() = default;

void Instance::start() {
  handle(Startup{});
}

void Instance::stop() {
  handle(Shutdown{});
}

void Instance::on_advert(const ReceivedAdvert& received) {
  ++counters_.adverts_received;
  if (received.advert.priority == kStopPriority) ++counters_.priority_zero_received;
  handle(AdvertReceived{.priority = received.advert.priority,
                        .max_advert_interval = received.advert.advert_interval,
                        .source = received.ip.source});
}

PriorityTracker::Change Instance::tracked_changed(const std::string& name, bool up) {
  return tracked_changed(std::vector<std::pair<std::string, bool>>{{name, up}});
}

PriorityTracker::Change Instance::tracked_changed(
    const std::vector<std::pair<std::string, bool>>& changes) {
  const uint8_t priority_before = tracker_.effective_priority();
  const bool fault_before = tracker_.fault();
  for (const auto& [name, up] : changes)
    tracker_.set_up(name, up);
  const PriorityTracker::Change change{
      .priority_changed = tracker_.effective_priority() != priority_before,
      .fault_changed = tracker_.fault() != fault_before};
  if (change.priority_changed) handle(PriorityChanged{tracker_.effective_priority()});
  if (change.fault_changed) {
    if (tracker_.fault()) {
      handle(FaultRaised{});
    } else {
      handle(FaultCleared{});
    }
    if (group_.on_fault_changed) group_.on_fault_changed();
  }
  return change;
}

void Instance::set_sync_group(SyncGroupHooks hooks) {
  group_ = std::move(hooks);
  machine_.set_in_sync_group(static_cast<bool>(group_.on_master_request));
}

void Instance::handle(const Event& event) {
  apply(machine_.handle(event, scheduler_.now()));
}

void Instance::apply(const Actions& actions) {
  const auto& config = machine_.config();
  for (const auto& action : actions) {
    std::visit(
        Overloaded{
            [&](const SendAdvert& a) { send_advert(a.priority); },
            [&](const SetTimer& a) {
              const TimerKind kind = a.timer;
              timers_[static_cast<size_t>(kind)]->arm_at(
                  a.at, [this, kind] { handle(expiry_event(kind)); });
            },
            [&](const CancelTimer& a) { timers_[static_cast<size_t>(a.timer)]->cancel(); },
            [&](const AddVips&) {
              check(vips_.add_addresses(config.interface, config.virtual_addresses),
                    "adding virtual addresses", counters_.vip_failures);
            },
            [&](const SendGratuitous&) { announce(); },
            [&](const RemoveVips&) {
              garp_repeat_timer_.cancel();
              garp_refresh_timer_.cancel();
              garp_lower_prio_timer_.cancel();
              check(vips_.remove_addresses(config.interface, config.virtual_addresses),
                    "removing virtual addresses", counters_.vip_failures);
            },
            [&](const RequestGroupMaster&) {
              if (group_.on_master_request) group_.on_master_request();
            },
            [&](const Notify& n) {
              if (notifier_) notifier_(config, n, machine_.priority());
              if (group_.on_transition) group_.on_transition(n);
            },
            [&](const SendLowerPriorityGratuitous&) { announce_after_lower_priority_advert(); },
            [&](const NotifyLowerPriorityAdvert& seen) {
              if (lower_priority_notifier_)
                lower_priority_notifier_(config, seen, machine_.priority());
            },
            [&](const NotifyPriorityChange& change) {
              if (priority_change_notifier_) priority_change_notifier_(config, change);
            },
        },
        action);
  }
}

void Instance::send_advert(uint8_t priority) {
  const auto& config = machine_.config();
  const Advert advert = config.advert(priority);
  auto send_to = [&](const IpAddress& destination) {
    OutgoingAdvert out{.interface = config.sending_interface(),
                       .source = config.primary_address,
                       .destination = destination,
                       .bytes = encode(advert, {.source = config.primary_address,
                                                .destination = destination,
                                                .v3_checksum_as_v2 = config.v3_checksum_as_v2}),
                       .ttl = config.unicast_peers.empty() ? kRequiredTtl : config.unicast_ttl};
    const Status status = transport_.send(out);
    if (status.ok()) {
      ++counters_.adverts_sent;
      if (priority == kStopPriority) ++counters_.priority_zero_sent;
    } else {
      check(status, "sending advert", counters_.advert_send_failures);
    }
  };
  if (config.unicast_peers.empty()) {
    send_to(multicast_group(config.family));
  } else {
    for (const auto& peer : config.unicast_peers)
      send_to(peer.address);
  }
}

void Instance::announce() {
  // keepalived: garp_master_repeat at once, the same again after garp_master_delay, and
  // garp_master_refresh_repeat per garp_master_refresh while master.
  const auto& config = machine_.config();
  if (config.virtual_addresses.empty()) return;
  announce_now_and_after(garp_repeat_timer_, &InstanceConfig::garp_master_repeat,
                         &InstanceConfig::garp_master_delay);
  if (config.garp_master_refresh > Duration::zero()) {
    garp_refresh_timer_.arm_after(config.garp_master_refresh, [this] { refresh_announcements(); });
  }
}

Status Instance::announce_now() {
  const auto& config = machine_.config();
  if (machine_.state() != State::kMaster) {
    return Error{fmt::format("{} is {}: only a master announces its addresses", config.name,
                             to_string(machine_.state()))};
  }
  if (config.virtual_addresses.empty()) return Error{config.name + " has no virtual address"};
  auto sent = vips_.announce(config.interface, config.virtual_addresses, config.garp_master_repeat,
                             announced_);
  if (!sent) ++counters_.vip_failures;
  return sent;
}

void Instance::announce_after_lower_priority_advert() {
  // keepalived: garp_lower_prio_repeat now and again after garp_lower_prio_delay. Each such
  // advert starts the pair afresh (a pending second set is replaced, not added to).
  if (machine_.config().virtual_addresses.empty()) return;
  announce_now_and_after(garp_lower_prio_timer_, &InstanceConfig::garp_lower_prio_repeat,
                         &InstanceConfig::garp_lower_prio_delay);
}

void Instance::announce_now_and_after(Timer& timer, int InstanceConfig::*repeat,
                                      Duration InstanceConfig::*delay) {
  const auto& config = machine_.config();
  check(vips_.announce(config.interface, config.virtual_addresses, config.*repeat, announced_),
        "announcing virtual addresses", counters_.vip_failures);
  if (config.*delay > Duration::zero()) {
    timer.arm_after(config.*delay, [this, repeat] {
      const auto& c = machine_.config();
      check(vips_.announce(c.interface, c.virtual_addresses, c.*repeat, announced_),
            "announcing virtual addresses", counters_.vip_failures);
    });
  }
}

void Instance::refresh_announcements() {
  // Re-arms itself; cancelled with the addresses (RemoveVips) or when the instance dies.
  const auto& config = machine_.config();
  check(vips_.announce(config.interface, config.virtual_addresses,
                       config.garp_master_refresh_repeat, announced_),
        "refreshing announcements", counters_.vip_failures);
  garp_refresh_timer_.arm_after(config.garp_master_refresh, [this] { refresh_announcements(); });
}

void Instance::check(const Status& status, std::string_view what, uint64_t& failures) {
  if (status.ok()) return;
  ++failures;
  logger().warn("[{}] {} failed: {}", machine_.name(), what, status.error().message);
}

// ---- AdvertReceiver -------------------------------------------------------------------------

void AdvertReceiver::add(Instance& instance) {
  [[maybe_unused]] auto [it, inserted] = by_vrid_.emplace(instance.config().vrid, &instance);
  assert(inserted && "two instances with one VRID on one interface and family");
}

void AdvertReceiver::remove(const Instance& instance) {
  auto it = by_vrid_.find(instance.config().vrid);
  if (it != by_vrid_.end() && it->second == &instance) by_vrid_.erase(it);
}

VridLookup AdvertReceiver::lookup() const {
  return [this](uint8_t vrid) -> const ReceivePolicy* {
    auto it = by_vrid_.find(vrid);
    return it == by_vrid_.end() ? nullptr : &it->second->receive_policy();
  };
}

void AdvertReceiver::on_ipv4_datagram(std::span<const uint8_t> datagram) {
  dispatch(decode_ipv4(datagram, lookup()));
}

void AdvertReceiver::on_ipv6_message(const IpAddress& source, const IpAddress& destination,
                                     uint8_t hop_limit, std::span<const uint8_t> payload) {
  dispatch(decode_ipv6(source, destination, hop_limit, payload, lookup()));
}

void AdvertReceiver::dispatch(const DecodeResult& result) {
  if (!result.ok()) {
    // Untrusted input: dropped, counted, debug only (a flood must not flood the log).
    rejects_.count(result.reason());
    logger().debug("dropped advert: {}", to_string(result.reason()));
    return;
  }
  by_vrid_.at(result.advert().vrid)->on_advert(result.value());
}

}  // namespace vigil::vrrp
