#include "vrrp/sync_group.h"

#include <cassert>

#include "common/log.h"

namespace vigil::vrrp {

std::vector<SyncGroup::Delivery> SyncGroup::member_fault_changed(size_t member,
                                                                 bool member_faulted) {
  assert(member < size_);
  const bool group_was_faulted = faulted();
  if (member_faulted) {
    faulted_members_.insert(member);
  } else {
    faulted_members_.erase(member);
  }
  if (faulted() == group_was_faulted) return {};
  log::get("vrrp")->info("[{}] sync group {}", name_,
                         faulted() ? "faulted: all members to FAULT" : "fault cleared");
  // Every member, the faulted one too, holds the group fault: it must not leave FAULT when its
  // own fault clears while another member's persists.
  if (faulted()) return to_all(GroupFault{});
  return to_all(GroupFaultCleared{});
}

std::vector<SyncGroup::Delivery> SyncGroup::member_wants_master(const std::vector<bool>& ready) {
  assert(ready.size() == size_);
  for (bool member_ready : ready) {
    if (!member_ready) return {};
  }
  return to_all(GroupMaster{});
}

std::vector<SyncGroup::Delivery> SyncGroup::member_transitioned(size_t member,
                                                                const Notify& notify) {
  assert(member < size_);
  if (notify.reason == TransitionReason::kSyncGroup) return {};
  if (notify.to == State::kMaster) return to_others(member, GroupMaster{});
  if (notify.from == State::kMaster && notify.to == State::kBackup)
    return to_others(member, GroupBackup{});
  return {};
}

std::vector<SyncGroup::Delivery> SyncGroup::to_all(const Event& event) const {
  std::vector<Delivery> out;
  for (size_t i = 0; i < size_; ++i)
    out.push_back({i, event});
  return out;
}

std::vector<SyncGroup::Delivery> SyncGroup::to_others(size_t member, const Event& event) const {
  std::vector<Delivery> out;
  for (size_t i = 0; i < size_; ++i) {
    if (i != member) out.push_back({i, event});
  }
  return out;
}

}  // namespace vigil::vrrp
