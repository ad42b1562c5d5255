#include "vrrp/tracking.h"

#include <gtest/gtest.h>

namespace vigil::vrrp {
namespace {

TEST(PriorityTracker, PositiveWeightAddsWhileUp) {
  PriorityTracker tracker(100);
  tracker.add("chk_nginx", 20, /*initially_up=*/false);
  EXPECT_EQ(tracker.effective_priority(), 100);
  auto change = tracker.set_up("chk_nginx", true);
  EXPECT_TRUE(change.priority_changed);
  EXPECT_FALSE(change.fault_changed);
  EXPECT_EQ(tracker.effective_priority(), 120);
}

TEST(PriorityTracker, NegativeWeightSubtractsWhileDown) {
  PriorityTracker tracker(100);
  tracker.add("eth1", -30);
  tracker.add("chk", -30);
  EXPECT_EQ(tracker.effective_priority(), 100);
  tracker.set_up("eth1", false);
  EXPECT_EQ(tracker.effective_priority(), 70);
  tracker.set_up("chk", false);
  EXPECT_EQ(tracker.effective_priority(), 40);
  EXPECT_FALSE(tracker.fault());
}

TEST(PriorityTracker, ClampsTo1Through254) {
  PriorityTracker low(10);
  low.add("a", -50);
  low.set_up("a", false);
  EXPECT_EQ(low.effective_priority(), 1);
  PriorityTracker high(250);
  high.add("b", 50);
  EXPECT_EQ(high.effective_priority(), 254);
}

TEST(PriorityTracker, OwnerIsNotMoved) {
  PriorityTracker tracker(255);
  tracker.add("a", -50);
  auto change = tracker.set_up("a", false);
  EXPECT_FALSE(change.priority_changed);
  EXPECT_EQ(tracker.effective_priority(), 255);
}

TEST(PriorityTracker, WeightZeroFailureIsAFault) {
  PriorityTracker tracker(100);
  tracker.add("eth0", 0);
  tracker.add("file", 0);
  EXPECT_TRUE(tracker.set_up("eth0", false).fault_changed);
  EXPECT_TRUE(tracker.fault());
  EXPECT_FALSE(tracker.set_up("file", false).fault_changed);  // already in fault
  EXPECT_FALSE(tracker.set_up("eth0", true).fault_changed);   // "file" still down
  EXPECT_TRUE(tracker.set_up("file", true).fault_changed);
  EXPECT_FALSE(tracker.fault());
  EXPECT_EQ(tracker.effective_priority(), 100);
}

TEST(PriorityTracker, RepeatedAndUnknownResultsChangeNothing) {
  PriorityTracker tracker(100);
  tracker.add("a", -10);
  auto same = tracker.set_up("a", true);
  EXPECT_FALSE(same.priority_changed || same.fault_changed);
  auto unknown = tracker.set_up("nope", false);
  EXPECT_FALSE(unknown.priority_changed || unknown.fault_changed);
}

}  // namespace
}  // namespace vigil::vrrp
