// The bounded wait for scripts at shutdown, in virtual time.
#include "daemon/check/stop_grace.h"

#include <gtest/gtest.h>

#include <optional>

#include "fakes/fake_scheduler.h"

namespace vigil::daemon {
namespace {

struct Waiting {
  testing::FakeScheduler scheduler;
  const TimePoint start = scheduler.now();
  std::optional<TimePoint> idle_at;  // none: never idle
  std::optional<Duration> done_after;
  int done_calls = 0;

  void wait(Duration grace) {
    when_idle_or_after(
        scheduler, [this] { return idle_at && scheduler.now() >= *idle_at; }, grace, 10ms,
        [this] {
          ++done_calls;
          done_after = scheduler.now() - start;
        });
  }
};

TEST(StopGrace, DoneAtOnceWhenIdle) {
  Waiting w;
  w.idle_at = w.start;
  w.wait(2s);
  EXPECT_EQ(w.done_after, Duration::zero()) << "inline, no timer";
  EXPECT_EQ(w.scheduler.pending(), 0U);
}

TEST(StopGrace, DoneAtTheFirstPollAfterTheScriptsEnd) {
  Waiting w;
  w.idle_at = w.start + 25ms;
  w.wait(2s);
  EXPECT_EQ(w.done_calls, 0);
  w.scheduler.advance(5s);
  EXPECT_EQ(w.done_calls, 1);
  EXPECT_EQ(w.done_after, 30ms);
}

TEST(StopGrace, DoneAfterTheGraceAtTheLatest) {
  Waiting w;  // a script that never ends
  w.wait(2s);
  w.scheduler.advance(1999ms);
  EXPECT_EQ(w.done_calls, 0);
  w.scheduler.advance(1ms);
  EXPECT_EQ(w.done_calls, 1);
  EXPECT_EQ(w.done_after, 2s);
  w.scheduler.advance(10s);
  EXPECT_EQ(w.done_calls, 1) << "exactly once";
  EXPECT_EQ(w.scheduler.pending(), 0U);
}

TEST(StopGrace, AGraceThatIsNoMultipleOfTheStepEndsOnTime) {
  Waiting w;
  w.wait(25ms);
  w.scheduler.advance(1s);
  EXPECT_EQ(w.done_after, 25ms);
  Waiting none;
  none.wait(Duration::zero());
  EXPECT_EQ(none.done_after, Duration::zero());
}

}  // namespace
}  // namespace vigil::daemon
