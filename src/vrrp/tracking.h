// Tracking (`track_interface`, `track_script`, `track_file`) folded into an effective priority
// and a fault flag, keepalived's way. Pure bookkeeping: the daemon feeds up/down results and
// hands the changes to the StateMachine as PriorityChanged / FaultRaised / FaultCleared.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace vigil::vrrp {

class PriorityTracker {
 public:
  explicit PriorityTracker(uint8_t base_priority) : base_priority_(base_priority) {}

  // Registers a tracked object. weight > 0 adds the weight while it is up; weight < 0 adds the
  // (negative) weight while it is down; weight 0 means the instance is in fault while it is down.
  void add(const std::string& name, int weight, bool initially_up = true);

  struct Change {
    bool priority_changed = false;
    bool fault_changed = false;
  };
  // Records a new up/down result for `name` (unknown names are ignored) and says what moved.
  Change set_up(const std::string& name, bool up);

  // Base priority plus the weights, clamped to 1-254; an owner (255) stays 255.
  [[nodiscard]] uint8_t effective_priority() const;
  [[nodiscard]] bool fault() const;

 private:
  struct Tracked {
    int weight = 0;
    bool up = true;
  };
  uint8_t base_priority_;
  std::map<std::string, Tracked> tracked_;
};

}  // namespace vigil::vrrp
