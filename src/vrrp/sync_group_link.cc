#include "vrrp/sync_group_link.h"

#include <algorithm>

namespace vigil::vrrp {

SyncGroupLink::SyncGroupLink(std::string name, std::vector<Instance*> members, Scheduler& scheduler)
    : group_(std::move(name), members.size()), members_(std::move(members)), scheduler_(scheduler) {
  for (size_t i = 0; i < members_.size(); ++i) {
    members_[i]->set_sync_group(SyncGroupHooks{
        .on_transition =
            [this, i](const Notify& notify) {
              auto deliveries = group_.member_transitioned(i, notify);
              if (!deliveries.empty())
                post([this, deliveries = std::move(deliveries)] { deliver_now(deliveries); });
            },
        // Readiness is judged when the posted check runs, not when it was asked for.
        .on_master_request =
            [this] {
              post([this] {
                std::vector<bool> ready;
                for (const auto* member : members_) {
                  ready.push_back(member->state() == State::kMaster ||
                                  member->machine().wants_master());
                }
                deliver_now(group_.member_wants_master(ready));
              });
            },
        .on_fault_changed =
            [this, i] {
              auto deliveries = group_.member_fault_changed(i, members_[i]->tracker().fault());
              if (!deliveries.empty())
                post([this, deliveries = std::move(deliveries)] { deliver_now(deliveries); });
            },
    });
  }
}

SyncGroupLink::~SyncGroupLink() {
  for (auto id : pending_)
    scheduler_.cancel(id);
  for (auto* member : members_)
    member->set_sync_group({});
}

void SyncGroupLink::post(std::function<void()> work) {
  auto id = std::make_shared<Scheduler::TimerId>(Scheduler::kNoTimer);
  *id = scheduler_.post([this, id, work = std::move(work)] {
    std::erase(pending_, *id);
    work();
  });
  pending_.push_back(*id);
}

void SyncGroupLink::deliver_now(const std::vector<SyncGroup::Delivery>& deliveries) {
  for (const auto& d : deliveries)
    members_[d.member]->handle(d.event);
}

}  // namespace vigil::vrrp
