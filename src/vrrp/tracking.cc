#include "vrrp/tracking.h"

#include <algorithm>

namespace vigil::vrrp {

void PriorityTracker::add(const std::string& name, int weight, bool initially_up) {
  tracked_[name] = Tracked{weight, initially_up};
}

PriorityTracker::Change PriorityTracker::set_up(const std::string& name, bool up) {
  auto it = tracked_.find(name);
  if (it == tracked_.end() || it->second.up == up) return {};
  const uint8_t priority_before = effective_priority();
  const bool fault_before = fault();
  it->second.up = up;
  return Change{.priority_changed = effective_priority() != priority_before,
                .fault_changed = fault() != fault_before};
}

uint8_t PriorityTracker::effective_priority() const {
  if (base_priority_ == 255) return 255;  // owners are not moved
  int priority = base_priority_;
  for (const auto& [name, tracked] : tracked_) {
    if (tracked.weight > 0 && tracked.up) priority += tracked.weight;
    if (tracked.weight < 0 && !tracked.up) priority += tracked.weight;
  }
  return static_cast<uint8_t>(std::clamp(priority, 1, 254));
}

bool PriorityTracker::fault() const {
  return std::any_of(tracked_.begin(), tracked_.end(), [](const auto& entry) {
    return entry.second.weight == 0 && !entry.second.up;
  });
}

}  // namespace vigil::vrrp
