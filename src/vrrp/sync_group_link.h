// Connects a pure SyncGroup to the Instances of one director: it installs SyncGroupHooks on each
// member and delivers the group's answers through the scheduler, after the current handler
// returns, so no instance is re-entered mid-handle.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/time.h"
#include "vrrp/instance.h"
#include "vrrp/sync_group.h"

namespace vigil::vrrp {

class SyncGroupLink {
 public:
  // `members` must outlive the link; the link removes its hooks when destroyed.
  SyncGroupLink(std::string name, std::vector<Instance*> members, Scheduler& scheduler);
  SyncGroupLink(const SyncGroupLink&) = delete;
  SyncGroupLink& operator=(const SyncGroupLink&) = delete;
  ~SyncGroupLink();

  [[nodiscard]] const SyncGroup& group() const { return group_; }

 private:
  // Posts `work` to run after the current handler; cancelled if the link dies first.
  void post(std::function<void()> work);
  void deliver_now(const std::vector<SyncGroup::Delivery>& deliveries);

  SyncGroup group_;
  std::vector<Instance*> members_;
  Scheduler& scheduler_;
  std::vector<Scheduler::TimerId> pending_;
};

}  // namespace vigil::vrrp
