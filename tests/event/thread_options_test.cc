#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <iterator>
#include <sstream>
#include <string>

#include "event/event_loop.h"

namespace vigil::event {
namespace {

TEST(TimerSlack, SetsTheCallingThreadsSlack) {
  const auto before = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  ASSERT_TRUE(set_timer_slack(std::chrono::nanoseconds(1), "test").ok());
  EXPECT_EQ(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), 1);
  EXPECT_FALSE(set_timer_slack(std::chrono::nanoseconds(0), "test").ok());
  EXPECT_EQ(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), 1);
  ASSERT_TRUE(set_timer_slack(std::chrono::nanoseconds(before), "test").ok());
}

// VmLck of /proc/self/status in kB (-1 when absent).
long locked_kb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = -1;
  while (status >> key) {
    if (key == "VmLck:") {
      status >> value;
      return value;
    }
    status.ignore(1 << 12, '\n');
  }
  return -1;
}

// AddressSanitizer intercepts mlockall and makes it a no-op (locking its shadow memory would
// pin terabytes), so only the call itself can be checked there; the release run checks VmLck.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMlockallLocks = false;
#else
constexpr bool kMlockallLocks = true;
#endif

TEST(LockMemory, LocksTheProcessPages) {
  // In a child, so the test binary itself stays unlocked.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!lock_memory("test").ok()) _exit(2);
    _exit(!kMlockallLocks || locked_kb() > 0 ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  // 2: mlockall refused (no CAP_IPC_LOCK and a small RLIMIT_MEMLOCK); CI runs as root.
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(LoopThread, AppliesTimerSlackWithRealtimeOptionsAndRunsEvenIfRefused) {
  LoopThread thread("slack-test");
  // Priority 0 is outside SCHED_RR's range: refused, but the slack is set first and the loop runs.
  Status status = thread.start(ThreadOptions{.realtime_priority = 0});
  EXPECT_FALSE(status.ok());
  std::promise<long> slack;
  thread.loop().post([&] { slack.set_value(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)); });
  auto future = slack.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(future.get(), 1);
  thread.stop();
}

// Field 19 of /proc/self/task/TID/stat: the thread's nice value. The command name (field 2) is in
// parentheses and may hold blanks, so the fields are counted after its closing parenthesis.
int nice_of_thread(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  for (int index = 3; index <= 19 && fields >> field; ++index) {
    if (index == 19) return std::stoi(field);
  }
  return 1000;
}

std::string name_of_thread(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

TEST(LoopThread, AppliesANiceValueAndANameToItsOwnThreadOnly) {
  const pid_t main_tid = gettid();
  const int main_nice = nice_of_thread(main_tid);
  ASSERT_NE(main_nice, 1000);
  // Raising the nice value needs no privilege; 19 is the highest (and stays 19 when already so).
  LoopThread thread("nice-test");
  ASSERT_TRUE(
      thread.start(ThreadOptions{.thread_name = "a-very-long-thread-name", .nice = 19}).ok());
  std::promise<pid_t> tid;
  thread.loop().post([&] { tid.set_value(gettid()); });
  auto future = tid.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const pid_t loop_tid = future.get();
  EXPECT_EQ(nice_of_thread(loop_tid), 19);
  EXPECT_EQ(name_of_thread(loop_tid), "a-very-long-thr");  // 15 characters
  EXPECT_EQ(nice_of_thread(main_tid), main_nice) << "the calling thread keeps its nice value";
  thread.stop();
}

}  // namespace
}  // namespace vigil::event
