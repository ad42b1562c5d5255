#include "event/signals.h"

#include <gtest/gtest.h>

#include <csignal>
#include <vector>

#include "event/event_loop.h"

namespace vigil::event {
namespace {

constexpr Duration kBound = 5s;

TEST(SignalHandler, DeliversARaisedSignalOnTheLoop) {
  EventLoop loop;
  SignalHandler signals(loop);
  std::vector<int> seen;
  bool on_loop = false;
  ASSERT_TRUE(signals
                  .on(SIGUSR1,
                      [&](int signal_number) {
                        seen.push_back(signal_number);
                        on_loop = loop.in_loop_thread();
                      })
                  .ok());
  ASSERT_TRUE(signals.on(SIGUSR2, [&](int signal_number) { seen.push_back(signal_number); }).ok());
  ASSERT_EQ(raise(SIGUSR1), 0);
  EXPECT_TRUE(seen.empty());  // not inline in the signal handler
  ASSERT_TRUE(loop.run_until([&] { return seen.size() == 1; }, kBound));
  ASSERT_EQ(raise(SIGUSR2), 0);
  ASSERT_TRUE(loop.run_until([&] { return seen.size() == 2; }, kBound));
  EXPECT_EQ(seen, (std::vector<int>{SIGUSR1, SIGUSR2}));
  EXPECT_TRUE(on_loop);
}

TEST(SignalHandler, ReplacingACallbackKeepsTheSignalHandled) {
  EventLoop loop;
  SignalHandler signals(loop);
  int first = 0;
  int second = 0;
  ASSERT_TRUE(signals.on(SIGHUP, [&](int) { ++first; }).ok());
  ASSERT_TRUE(signals.on(SIGHUP, [&](int) { ++second; }).ok());
  ASSERT_EQ(raise(SIGHUP), 0);
  ASSERT_TRUE(loop.run_until([&] { return second == 1; }, kBound));
  EXPECT_EQ(first, 0);
}

TEST(SignalHandler, RefusesSignalsThatCannotBeCaught) {
  EventLoop loop;
  SignalHandler signals(loop);
  EXPECT_FALSE(signals.on(SIGKILL, [](int) {}).ok());
  EXPECT_FALSE(signals.on(SIGSTOP, [](int) {}).ok());
}

TEST(SignalHandler, RestoresTheDefaultDispositionWhenDestroyed) {
  {
    EventLoop loop;
    SignalHandler signals(loop);
    ASSERT_TRUE(signals.on(SIGUSR2, [](int) {}).ok());
    struct sigaction installed {};
    ASSERT_EQ(sigaction(SIGUSR2, nullptr, &installed), 0);
    EXPECT_NE(installed.sa_handler, SIG_DFL);
  }
  struct sigaction after {};
  ASSERT_EQ(sigaction(SIGUSR2, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, SIG_DFL);
}

}  // namespace
}  // namespace vigil::event
