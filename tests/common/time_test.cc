#include "common/time.h"

#include <gtest/gtest.h>

#include <vector>

#include "fakes/fake_scheduler.h"

namespace vigil {
namespace {

TEST(FakeScheduler, RunsInDeadlineOrderAndMovesTheClock) {
  testing::FakeScheduler scheduler;
  const auto start = scheduler.now();
  std::vector<std::pair<int, TimePoint>> ran;
  scheduler.call_after(30ms, [&] { ran.emplace_back(3, scheduler.now()); });
  scheduler.call_after(10ms, [&] { ran.emplace_back(1, scheduler.now()); });
  scheduler.call_after(10ms, [&] { ran.emplace_back(2, scheduler.now()); });
  EXPECT_EQ(scheduler.advance(20ms), 2U);
  EXPECT_EQ(scheduler.now(), start + 20ms);
  EXPECT_EQ(scheduler.advance(10ms), 1U);
  ASSERT_EQ(ran.size(), 3U);
  EXPECT_EQ(ran[0], std::pair(1, start + 10ms));
  EXPECT_EQ(ran[1], std::pair(2, start + 10ms));
  EXPECT_EQ(ran[2], std::pair(3, start + 30ms));
}

TEST(Timer, RearmCancelsThePreviousDeadline) {
  testing::FakeScheduler scheduler;
  Timer timer(scheduler);
  int fired = 0;
  timer.arm_after(10ms, [&] { fired = 1; });
  timer.arm_after(50ms, [&] { fired = 2; });
  scheduler.advance(20ms);
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(timer.armed());
  scheduler.advance(30ms);
  EXPECT_EQ(fired, 2);
  EXPECT_FALSE(timer.armed());
}

TEST(Timer, DestructionCancels) {
  testing::FakeScheduler scheduler;
  int fired = 0;
  {
    Timer timer(scheduler);
    timer.arm_after(1ms, [&] { ++fired; });
  }
  scheduler.advance(1s);
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(scheduler.pending(), 0U);
}

}  // namespace
}  // namespace vigil
