// `vrrp_sync_group`: instances that move together (keepalived semantics). Pure: it is told what
// its members did and returns the events to deliver to them; the daemon delivers them to the
// members' StateMachines (and feeds the resulting transitions back in).
//
// - A member whose own tracking faults puts every member in FAULT; they leave FAULT together
//   when no member has a fault of its own any more.
// - A member whose Master_Down_Timer runs out does not take over alone: it asks the group
//   (RequestGroupMaster), and the group goes MASTER when every member is MASTER or ready, i.e.
//   no member still hears a master of its own. A group whose members disagree then stays put
//   instead of flapping.
// - A member that becomes MASTER on its own anyway (the address owner) makes the others MASTER.
// - A MASTER that steps down to BACKUP on a higher-priority advert makes the other masters
//   BACKUP.
// Transitions caused by the group itself are not echoed, so one change never loops.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "vrrp/state_machine.h"

namespace vigil::vrrp {

class SyncGroup {
 public:
  SyncGroup(std::string name, size_t member_count) : name_(std::move(name)), size_(member_count) {}

  struct Delivery {
    size_t member = 0;
    Event event;
  };

  // Member `member`'s own tracking fault went up or down (PriorityTracker::fault()).
  std::vector<Delivery> member_fault_changed(size_t member, bool member_faulted);

  // A member asked for MASTER; `ready[i]` says whether member i is MASTER or wants to be.
  std::vector<Delivery> member_wants_master(const std::vector<bool>& ready);

  // Member `member` made transition `notify`.
  std::vector<Delivery> member_transitioned(size_t member, const Notify& notify);

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] bool faulted() const { return !faulted_members_.empty(); }

 private:
  std::vector<Delivery> to_all(const Event& event) const;
  std::vector<Delivery> to_others(size_t member, const Event& event) const;

  std::string name_;
  size_t size_;
  std::set<size_t> faulted_members_;
};

}  // namespace vigil::vrrp
