#include "vrrp/sync_group.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::vrrp {
namespace {

std::vector<size_t> members(const std::vector<SyncGroup::Delivery>& deliveries) {
  std::vector<size_t> out;
  for (const auto& d : deliveries)
    out.push_back(d.member);
  return out;
}

template <class E>
bool all_are(const std::vector<SyncGroup::Delivery>& deliveries) {
  for (const auto& d : deliveries) {
    if (!std::holds_alternative<E>(d.event)) return false;
  }
  return true;
}

TEST(SyncGroup, MasterOnItsOwnPullsTheOthers) {
  SyncGroup group("G1", 3);
  auto out = group.member_transitioned(
      1, Notify{State::kBackup, State::kMaster, TransitionReason::kMasterDownTimer});
  EXPECT_EQ(members(out), (std::vector<size_t>{0, 2}));
  EXPECT_TRUE(all_are<GroupMaster>(out));
}

TEST(SyncGroup, GoesMasterOnlyWhenEveryMemberIsReady) {
  SyncGroup group("G1", 3);
  EXPECT_TRUE(group.member_wants_master({true, false, true}).empty());
  auto out = group.member_wants_master({true, true, true});
  EXPECT_EQ(members(out), (std::vector<size_t>{0, 1, 2}));
  EXPECT_TRUE(all_are<GroupMaster>(out));
}

TEST(SyncGroup, SteppingDownPushesTheOthersToBackup) {
  SyncGroup group("G1", 2);
  auto out = group.member_transitioned(
      0, Notify{State::kMaster, State::kBackup, TransitionReason::kHigherPriorityAdvert});
  EXPECT_EQ(members(out), (std::vector<size_t>{1}));
  EXPECT_TRUE(all_are<GroupBackup>(out));
}

TEST(SyncGroup, GroupCausedTransitionsAreNotEchoed) {
  SyncGroup group("G1", 2);
  EXPECT_TRUE(group
                  .member_transitioned(
                      1, Notify{State::kBackup, State::kMaster, TransitionReason::kSyncGroup})
                  .empty());
  EXPECT_TRUE(group
                  .member_transitioned(
                      1, Notify{State::kInitialize, State::kBackup, TransitionReason::kStartup})
                  .empty());
}

TEST(SyncGroup, FaultHoldsUntilEveryMemberIsClear) {
  SyncGroup group("G1", 3);
  auto first = group.member_fault_changed(0, true);
  EXPECT_EQ(members(first), (std::vector<size_t>{0, 1, 2}));
  EXPECT_TRUE(all_are<GroupFault>(first));
  EXPECT_TRUE(group.member_fault_changed(2, true).empty());
  EXPECT_TRUE(group.member_fault_changed(0, false).empty());
  EXPECT_TRUE(group.faulted());
  auto cleared = group.member_fault_changed(2, false);
  EXPECT_EQ(members(cleared), (std::vector<size_t>{0, 1, 2}));
  EXPECT_TRUE(all_are<GroupFaultCleared>(cleared));
  EXPECT_FALSE(group.faulted());
}

// Two instances in one group driven through their machines: a fault of one takes both down and
// the clear brings both back as backups.
TEST(SyncGroup, MovesMachinesTogether) {
  const TimePoint t0{Duration{1'000'000'000}};
  auto config = [](std::string name, uint8_t vrid) {
    return InstanceConfig{.name = std::move(name),
                          .vrid = vrid,
                          .priority = 100,
                          .version = 3,
                          .primary_address = *IpAddress::parse("10.0.0.2")};
  };
  std::vector<StateMachine> machines{StateMachine(config("VI_1", 1)),
                                     StateMachine(config("VI_2", 2))};
  SyncGroup group("G1", 2);
  // Delivers an event and everything the group asks for in response, breadth first.
  auto deliver = [&](size_t member, const Event& event, TimePoint now) {
    std::vector<SyncGroup::Delivery> queue{{member, event}};
    for (size_t i = 0; i < queue.size() && i < 100; ++i) {
      for (const auto& action : machines[queue[i].member].handle(queue[i].event, now)) {
        if (const auto* notify = std::get_if<Notify>(&action)) {
          for (auto& d : group.member_transitioned(queue[i].member, *notify))
            queue.push_back(std::move(d));
        }
      }
    }
  };
  deliver(0, Startup{}, t0);
  deliver(1, Startup{}, t0);
  deliver(0, MasterDownTimerExpired{}, t0 + 3'609'375us);
  EXPECT_EQ(machines[0].state(), State::kMaster);
  EXPECT_EQ(machines[1].state(), State::kMaster);  // pulled by the group

  deliver(1, FaultRaised{}, t0 + 5s);
  for (auto& d : group.member_fault_changed(1, true))
    deliver(d.member, d.event, t0 + 5s);
  EXPECT_EQ(machines[0].state(), State::kFault);
  EXPECT_EQ(machines[1].state(), State::kFault);

  deliver(1, FaultCleared{}, t0 + 8s);
  EXPECT_EQ(machines[1].state(), State::kFault);  // the group fault still holds it
  for (auto& d : group.member_fault_changed(1, false))
    deliver(d.member, d.event, t0 + 8s);
  EXPECT_EQ(machines[0].state(), State::kBackup);
  EXPECT_EQ(machines[1].state(), State::kBackup);
}

}  // namespace
}  // namespace vigil::vrrp
