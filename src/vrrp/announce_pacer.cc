#include "vrrp/announce_pacer.h"

#include <algorithm>

#include "common/log.h"

namespace vigil::vrrp {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("vrrp");
  return *instance;
}

const std::string& device_of(const std::string& interface, const VirtualAddress& address) {
  return address.device.empty() ? interface : address.device;
}

}  // namespace

AnnouncePacer::AnnouncePacer(VipManager& inner, Scheduler& scheduler)
    : inner_(inner), scheduler_(scheduler) {}

AnnouncePacer::~AnnouncePacer() = default;

void AnnouncePacer::configure(AnnouncePacing pacing) {
  if (pacing == pacing_) return;
  pacing_ = std::move(pacing);
  group_of_interface_.clear();
  for (size_t g = 0; g < pacing_.groups.size(); ++g) {
    for (const auto& name : pacing_.groups[g].interfaces)
      group_of_interface_.try_emplace(name, g);  // the config check refuses a second listing
  }
  // Lanes are rebuilt for the new settings; what was waiting is queued again in its order.
  std::vector<Pending> waiting;
  for (auto& [key, lane] : lanes_) {
    waiting.insert(waiting.end(), std::make_move_iterator(lane->queue.begin()),
                   std::make_move_iterator(lane->queue.end()));
  }
  lanes_.clear();
  for (auto& pending : waiting)
    if (!enqueue(std::move(pending), /*requeued=*/true).ok()) ++counters_.failed_later;
}

std::pair<AnnouncePacer::LaneKey, Duration> AnnouncePacer::lane_for(const std::string& device,
                                                                    bool ipv6) const {
  if (auto it = group_of_interface_.find(device); it != group_of_interface_.end()) {
    const auto& group = pacing_.groups[it->second];
    return {LaneKey{"garp_group " + std::to_string(it->second + 1), ipv6},
            ipv6 ? group.gna_interval : group.garp_interval};
  }
  return {LaneKey{"interface " + device, ipv6},
          ipv6 ? pacing_.gna_interval : pacing_.garp_interval};
}

AnnouncePacer::Lane& AnnouncePacer::lane(const LaneKey& key, Duration interval) {
  auto& slot = lanes_[key];
  if (!slot) slot = std::make_unique<Lane>(scheduler_);
  slot->interval = interval;
  return *slot;
}

Status AnnouncePacer::add_addresses(const std::string& interface,
                                    const std::vector<VirtualAddress>& addresses) {
  return inner_.add_addresses(interface, addresses);
}

Status AnnouncePacer::remove_addresses(const std::string& interface,
                                       const std::vector<VirtualAddress>& addresses) {
  for (auto& [key, lane] : lanes_) {
    const size_t before = lane->queue.size();
    std::erase_if(lane->queue, [&](const Pending& pending) {
      return std::any_of(addresses.begin(), addresses.end(), [&](const VirtualAddress& removed) {
        return removed.prefix.address == pending.address.prefix.address &&
               device_of(interface, removed) == pending.device;
      });
    });
    counters_.dropped_removed += before - lane->queue.size();
    if (lane->queue.empty()) lane->timer.cancel();
  }
  return inner_.remove_addresses(interface, addresses);
}

Status AnnouncePacer::announce(const std::string& interface,
                               const std::vector<VirtualAddress>& addresses, int count,
                               const std::shared_ptr<AnnounceTally>& tally) {
  std::vector<VirtualAddress> unpaced;
  std::vector<Pending> paced;
  for (const auto& address : addresses) {
    const std::string& device = device_of(interface, address);
    if (lane_for(device, address.prefix.address.is_v6()).second > Duration::zero()) {
      paced.push_back({device, address, tally});
    } else {
      unpaced.push_back(address);
    }
  }
  Status status;
  if (!unpaced.empty()) status = inner_.announce(interface, unpaced, count, tally);
  for (int round = 0; round < count; ++round) {
    for (const auto& pending : paced) {
      Status sent = enqueue(pending, /*requeued=*/false);
      if (status.ok() && !sent.ok()) status = std::move(sent);
    }
  }
  return status;
}

Status AnnouncePacer::enqueue(Pending pending, bool requeued) {
  auto [key, interval] = lane_for(pending.device, pending.address.prefix.address.is_v6());
  if (interval <= Duration::zero()) return send(pending);
  Lane& target = lane(key, interval);
  const TimePoint now = scheduler_.now();
  if (target.queue.empty() && target.next_free <= now) {
    // An idle lane sends at once; its next announcement waits one interval.
    target.next_free = now + interval;
    return send(pending);
  }
  if (!requeued) ++counters_.queued;
  target.queue.push_back(std::move(pending));
  if (target.queue.size() == 1) {
    logger().debug("[{}] announcements spaced {} us apart: the next at +{} us", key.domain,
                   interval.count(), (target.next_free - now).count());
  }
  arm(target);
  return {};
}

Status AnnouncePacer::send(const Pending& pending) {
  return inner_.announce(pending.device, {pending.address}, 1, pending.tally);
}

void AnnouncePacer::arm(Lane& lane) {
  if (lane.queue.empty() || lane.timer.armed()) return;
  lane.timer.arm_at(lane.next_free, [this, &lane] { send_next(lane); });
}

void AnnouncePacer::send_next(Lane& lane) {
  if (lane.queue.empty()) return;
  Pending pending = std::move(lane.queue.front());
  lane.queue.pop_front();
  lane.next_free = scheduler_.now() + lane.interval;
  ++counters_.sent_later;
  if (!send(pending).ok()) ++counters_.failed_later;
  arm(lane);
}

size_t AnnouncePacer::waiting() const {
  size_t total = 0;
  for (const auto& [key, lane] : lanes_)
    total += lane->queue.size();
  return total;
}

}  // namespace vigil::vrrp
