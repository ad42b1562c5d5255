// LoopWatchdog in virtual time: the watched loop is a queue the test runs (or does not).
#include "event/loop_watchdog.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "fakes/fake_scheduler.h"

namespace vigil::event {
namespace {

using namespace std::chrono_literals;

class LoopWatchdogTest : public ::testing::Test {
 protected:
  std::unique_ptr<LoopWatchdog> make() {
    return std::make_unique<LoopWatchdog>(
        scheduler_, [this](std::function<void()> callback) { posted_.push_back(callback); },
        "check", LoopWatchdog::Options{.interval = 500ms, .stall_after = 2s});
  }
  // The watched loop turns: everything posted so far runs.
  void turn() {
    auto batch = std::move(posted_);
    posted_.clear();
    for (auto& callback : batch)
      callback();
  }
  // Advances virtual time in 100 ms steps, the watched loop turning at each (a healthy loop).
  void healthy_for(Duration d) {
    for (Duration t{0}; t < d; t += 100ms) {
      turn();
      scheduler_.advance(100ms);
    }
  }

  vigil::testing::FakeScheduler scheduler_;
  std::vector<std::function<void()>> posted_;
};

TEST_F(LoopWatchdogTest, ATurningLoopIsNeverStalled) {
  auto watchdog = make();
  healthy_for(60s);
  EXPECT_EQ(watchdog->counters().stalls, 0U);
  EXPECT_FALSE(watchdog->counters().stalled_now);
  // One ping in flight at a time: a slow loop is not flooded.
  EXPECT_LE(posted_.size(), 1U);
}

TEST_F(LoopWatchdogTest, ALoopBlockedForTwoSecondsIsOneStallWithItsLength) {
  auto watchdog = make();
  healthy_for(5s);
  // Blocked: nothing posted runs for 3.5 s. Pings do not pile up meanwhile.
  scheduler_.advance(1900ms);
  EXPECT_EQ(watchdog->counters().stalls, 0U);  // under 2 s: not a stall yet
  scheduler_.advance(1600ms);
  EXPECT_EQ(watchdog->counters().stalls, 1U);
  EXPECT_TRUE(watchdog->counters().stalled_now);
  EXPECT_EQ(posted_.size(), 1U);
  healthy_for(2s);
  const auto counters = watchdog->counters();
  EXPECT_EQ(counters.stalls, 1U);
  EXPECT_FALSE(counters.stalled_now);
  // Virtual time: the ping posted by the tick at the block's start (5 s) runs when the loop
  // turns again (8.5 s) and is seen answered by the next tick (9 s).
  EXPECT_EQ(counters.longest, 4000ms);
}

TEST_F(LoopWatchdogTest, JustUnderTheThresholdIsNoStall) {
  auto watchdog = make();
  healthy_for(1s);
  for (int i = 0; i < 5; ++i) {
    scheduler_.advance(1400ms);  // with the ping's tick phase: at most 1.9 s unanswered
    healthy_for(1s);
  }
  EXPECT_EQ(watchdog->counters().stalls, 0U);
}

TEST_F(LoopWatchdogTest, APingThatRunsAfterTheWatchdogIsGoneIsHarmless) {
  auto watchdog = make();
  ASSERT_EQ(posted_.size(), 1U);
  watchdog.reset();
  turn();  // the ping outlives the watchdog (its shared state keeps it valid under ASan)
  scheduler_.advance(10s);
  EXPECT_TRUE(posted_.empty());  // and a watchdog that is gone posts nothing more
}

}  // namespace
}  // namespace vigil::event
