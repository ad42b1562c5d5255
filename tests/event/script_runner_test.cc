// ProcessScriptRunner with real processes. Each test runs the loop until its scripts end,
// bounded far above what they need; `sleep` appears only as a script that must be killed.
#include "event/script_runner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "event/event_loop.h"
#include "fakes/fake_script_runner.h"

namespace vigil::event {
namespace {

constexpr Duration kBound = 10s;
using Outcome = ScriptResult::Outcome;

class ScriptRunnerTest : public ::testing::Test {
 protected:
  std::optional<ScriptResult> run(ScriptRequest request) {
    std::optional<ScriptResult> result;
    runner_.run(std::move(request), [&](const ScriptResult& r) { result = r; });
    EXPECT_FALSE(result.has_value());  // never inline
    loop_.run_until([&] { return result.has_value(); }, kBound);
    return result;
  }
  std::optional<ScriptResult> run_argv(std::vector<std::string> argv) {
    return run(ScriptRequest{.name = "test", .argv = std::move(argv)});
  }
  std::optional<ScriptResult> capture(std::vector<std::string> argv) {
    return run(ScriptRequest{.name = "test", .argv = std::move(argv), .capture_output = true});
  }

  EventLoop loop_;
  ProcessScriptRunner runner_{loop_};
};

TEST_F(ScriptRunnerTest, ReportsExitCodes) {
  auto ok = run_argv({"/bin/true"});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->outcome, Outcome::kExited);
  EXPECT_EQ(ok->exit_code, 0);
  EXPECT_TRUE(ok->succeeded());

  auto failed = run_argv({"/bin/false"});
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->outcome, Outcome::kExited);
  EXPECT_EQ(failed->exit_code, 1);
  EXPECT_FALSE(failed->succeeded());

  // No shell is involved: "sh" is argv[0], found in the script PATH, and "exit 7" one argument.
  auto seven = run_argv({"sh", "-c", "exit 7"});
  ASSERT_TRUE(seven);
  EXPECT_EQ(seven->outcome, Outcome::kExited);
  EXPECT_EQ(seven->exit_code, 7);
  EXPECT_EQ(describe(*seven), "exited 7");

  EXPECT_EQ(runner_.counters().exited_zero, 1U);
  EXPECT_EQ(runner_.counters().exited_nonzero, 2U);
  EXPECT_EQ(runner_.running(), 0U);
}

TEST_F(ScriptRunnerTest, ArgumentsAreNotReinterpretedByAShell) {
  auto result = capture({"/bin/echo", "$HOME", "a b", "'quoted'", ";", "|"});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->output, "$HOME a b 'quoted' ; |\n");
}

TEST_F(ScriptRunnerTest, ReportsTheSignalThatKilledAScript) {
  auto result = run_argv({"sh", "-c", "kill -KILL $$"});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, Outcome::kSignaled);
  EXPECT_EQ(result->signal, SIGKILL);
  EXPECT_EQ(describe(*result), "killed by SIGKILL");
}

TEST_F(ScriptRunnerTest, TimeoutSendsSigterm) {
  auto result = run(ScriptRequest{.name = "slow", .argv = {"sleep", "10"}, .timeout = 100ms});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, Outcome::kTimedOut);
  EXPECT_EQ(result->signal, SIGTERM);
  EXPECT_GE(result->runtime, 100ms);
  EXPECT_LT(result->runtime, 5s);
  EXPECT_EQ(describe(*result, 100ms), "timed out after 100ms (SIGTERM)");
  EXPECT_EQ(runner_.counters().timed_out, 1U);
}

TEST(ScriptRunner, TimeoutEscalatesToSigkillForTheWholeProcessGroup) {
  EventLoop loop;
  ProcessScriptRunner runner(loop, {.kill_grace = 100ms});
  std::optional<ScriptResult> result;
  // The shell and its sleep both ignore SIGTERM (an ignored disposition survives execve).
  runner.run(ScriptRequest{.name = "stubborn",
                           .argv = {"sh", "-c", "trap '' TERM; sleep 10; exit 0"},
                           .timeout = 50ms},
             [&](const ScriptResult& r) { result = r; });
  ASSERT_TRUE(loop.run_until([&] { return result.has_value(); }, kBound));
  EXPECT_EQ(result->outcome, Outcome::kTimedOut);
  EXPECT_EQ(result->signal, SIGKILL);
  EXPECT_GE(result->runtime, 150ms);
}

TEST_F(ScriptRunnerTest, ReportsExecFailures) {
  auto missing = run_argv({"/nonexistent/vigil-test-program"});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->outcome, Outcome::kExecFailed);
  EXPECT_EQ(missing->error, ENOENT);
  EXPECT_EQ(describe(*missing), "exec failed: No such file or directory");

  auto not_in_path = run_argv({"vigil-no-such-program"});
  ASSERT_TRUE(not_in_path);
  EXPECT_EQ(not_in_path->outcome, Outcome::kExecFailed);
  EXPECT_EQ(not_in_path->error, ENOENT);

  auto not_executable = run_argv({"/etc/passwd"});
  ASSERT_TRUE(not_executable);
  EXPECT_EQ(not_executable->outcome, Outcome::kExecFailed);
  EXPECT_EQ(not_executable->error, EACCES);

  auto empty = run_argv({});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->outcome, Outcome::kSpawnFailed);
  EXPECT_EQ(empty->error, EINVAL);

  EXPECT_EQ(runner_.counters().exec_failed, 3U);
  EXPECT_EQ(runner_.counters().spawn_failed, 1U);
}

TEST_F(ScriptRunnerTest, CapturesStdoutAndStderr) {
  auto result = capture({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->output, "out\nerr\n");
  EXPECT_FALSE(result->output_truncated);
}

TEST_F(ScriptRunnerTest, KeepsOnlyTheFirstFourKibibytesOfOutput) {
  auto result = capture({"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->exit_code, 0);  // it was not blocked by a full pipe
  EXPECT_EQ(result->output, std::string(kCaptureLimit, 'x'));
  EXPECT_TRUE(result->output_truncated);
}

TEST_F(ScriptRunnerTest, DiscardsOutputUnlessAskedAndReadsStdinFromDevNull) {
  auto result = run_argv({"sh", "-c", "cat; echo ignored"});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->exit_code, 0);  // cat saw end of file at once
  EXPECT_TRUE(result->output.empty());
}

TEST_F(ScriptRunnerTest, GivesACleanEnvironment) {
  ASSERT_EQ(setenv("VIGIL_TEST_LEAK", "1", 1), 0);
  auto result = run(ScriptRequest{.name = "env",
                                  .argv = {"/usr/bin/env"},
                                  .capture_output = true,
                                  .extra_env = {"VIGIL_STATE=MASTER"}});
  unsetenv("VIGIL_TEST_LEAK");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->output, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nVIGIL_STATE=MASTER\n");
}

TEST_F(ScriptRunnerTest, ClosesTheDaemonsFileDescriptors) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);  // deliberately without O_CLOEXEC
  auto result = capture({"/bin/ls", "/proc/self/fd"});
  close(fds[0]);
  close(fds[1]);
  ASSERT_TRUE(result);
  // 0-2, plus the directory ls itself has open.
  EXPECT_EQ(result->output, "0\n1\n2\n3\n");
}

TEST_F(ScriptRunnerTest, ResetsSignalDispositionsAndMask) {
  // The test process ignores SIGPIPE and blocks SIGUSR1; the script must see neither.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &previous), 0);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigset_t old_mask;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);
  auto result = capture({"sh", "-c", "grep -E '^(SigBlk|SigIgn):' /proc/self/status"});
  sigaction(SIGPIPE, &previous, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->output, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST_F(ScriptRunnerTest, RunsAsAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  auto nobody = resolve_run_as("nobody");
  ASSERT_TRUE(nobody.ok()) << nobody.error().message;
  auto uid = run(ScriptRequest{
      .name = "as nobody", .argv = {"id", "-u"}, .run_as = *nobody, .capture_output = true});
  ASSERT_TRUE(uid);
  EXPECT_EQ(uid->output, std::to_string(nobody->uid) + "\n");
  EXPECT_NE(nobody->uid, 0U);

  auto groups = run(ScriptRequest{
      .name = "as nobody", .argv = {"id", "-G"}, .run_as = *nobody, .capture_output = true});
  ASSERT_TRUE(groups);
  EXPECT_EQ(groups->output, std::to_string(nobody->gid) + "\n");  // root's groups are dropped
}

TEST(ResolveRunAs, LooksUpUsersAndGroups) {
  auto root = resolve_run_as("root");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->uid, 0U);
  EXPECT_EQ(root->gid, 0U);
  EXPECT_FALSE(root->groups.empty());

  auto with_group = resolve_run_as("root", "nogroup");
  ASSERT_TRUE(with_group.ok()) << with_group.error().message;
  EXPECT_EQ(with_group->uid, 0U);
  EXPECT_NE(with_group->gid, 0U);
  EXPECT_EQ(with_group->groups, std::vector<gid_t>{with_group->gid});

  EXPECT_FALSE(resolve_run_as("vigil-no-such-user").ok());
  EXPECT_FALSE(resolve_run_as("root", "vigil-no-such-group").ok());
}

// The loop runs at SCHED_RR, as a VRRP loop with vrrp_rt_priority does: fifty scripts started at
// once all finish while a periodic timer keeps ticking, and none inherits the realtime policy.
// How late the ticks run is a timing figure: bench/loop_latency measures it, not this test.
TEST(ScriptRunner, FiftyConcurrentScriptsRunBesideARealtimePeriodicTimer) {
  LoopThread thread("burst");
  if (Status status = thread.start({.realtime_priority = 10}); !status.ok()) {
    GTEST_SKIP() << "needs SCHED_RR: " << status.error().message;
  }
  constexpr int kScripts = 50;
  std::unique_ptr<ProcessScriptRunner> runner;
  int finished = 0;
  int succeeded = 0;
  std::string child_policy;
  int ticks = 0;
  TimePoint next{};
  std::function<void()> tick;
  std::promise<void> all_done;
  bool reported = false;
  auto report_when_done = [&] {
    if (!reported && finished == kScripts && !child_policy.empty() && ticks >= 5) {
      reported = true;
      all_done.set_value();
    }
  };
  thread.loop().post([&] {
    Scheduler& scheduler = thread.loop().scheduler();
    runner = std::make_unique<ProcessScriptRunner>(thread.loop());
    for (int i = 0; i < kScripts; ++i) {
      runner->run(ScriptRequest{.name = "burst", .argv = {"sh", "-c", "exit 0"}},
                  [&](const ScriptResult& r) {
                    ++finished;
                    succeeded += r.succeeded() ? 1 : 0;
                    report_when_done();
                  });
    }
    runner->run(
        ScriptRequest{.name = "policy", .argv = {"sh", "-c", "chrt -p $$"}, .capture_output = true},
        [&](const ScriptResult& r) {
          child_policy = r.output.empty() ? "none" : r.output;
          report_when_done();
        });
    // A VRRP-like 10 ms timer, re-armed at a fixed rate: how late does each tick run?
    next = scheduler.now() + 10ms;
    tick = [&] {
      Scheduler& s = thread.loop().scheduler();
      ++ticks;
      next += 10ms;
      s.call_at(next, tick);
      report_when_done();
    };
    scheduler.call_at(next, tick);
  });
  const bool done =
      all_done.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  thread.stop();
  runner.reset();
  ASSERT_TRUE(done);
  EXPECT_EQ(succeeded, kScripts);
  EXPECT_GE(ticks, 5);
  // Scripts do not inherit the loop's realtime priority.
  EXPECT_NE(child_policy.find("SCHED_OTHER"), std::string::npos) << child_policy;
}

TEST(ScriptRunner, BoundsConcurrencyAndRunsTheQueueInOrder) {
  EventLoop loop;
  ProcessScriptRunner runner(loop, {.max_concurrent = 2});
  std::vector<int> order;
  size_t most_running = 0;
  for (int i = 0; i < 6; ++i) {
    runner.run(ScriptRequest{.name = "queued", .argv = {"sh", "-c", "exit " + std::to_string(i)}},
               [&](const ScriptResult& r) { order.push_back(r.exit_code); });
  }
  EXPECT_EQ(runner.running(), 2U);  // handed to the spawner at once
  EXPECT_EQ(runner.queued(), 4U);
  std::function<void()> sample = [&] {
    most_running = std::max(most_running, runner.running());
    loop.scheduler().call_after(100us, sample);
  };
  sample();
  ASSERT_TRUE(loop.run_until([&] { return order.size() == 6; }, kBound));
  EXPECT_LE(most_running, 2U);
  EXPECT_GE(most_running, 1U);
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST(ScriptRunner, WatchesChildrenThroughSigchldWhenAsked) {
  EventLoop loop;
  ProcessScriptRunner runner(loop, {.child_watch = ProcessScriptRunner::ChildWatch::kSigchld});
  std::vector<int> codes;
  for (int code : {3, 0, 7, 1, 2}) {
    runner.run(
        ScriptRequest{.name = "sigchld", .argv = {"sh", "-c", "exit " + std::to_string(code)}},
        [&](const ScriptResult& r) { codes.push_back(r.exit_code); });
  }
  std::optional<ScriptResult> timed_out;
  runner.run(ScriptRequest{.name = "sigchld", .argv = {"sleep", "10"}, .timeout = 50ms},
             [&](const ScriptResult& r) { timed_out = r; });
  ASSERT_TRUE(loop.run_until([&] { return codes.size() == 5 && timed_out; }, kBound));
  std::sort(codes.begin(), codes.end());
  EXPECT_EQ(codes, (std::vector<int>{0, 1, 2, 3, 7}));
  EXPECT_EQ(timed_out->outcome, Outcome::kTimedOut);
  EXPECT_EQ(runner.counters().pidfd_fallbacks, 0U);
}

// A path for a script to create once it has set its traps; removed first.
std::string ready_file(const std::string& name) {
  std::string path = ::testing::TempDir() + "vigil-script-" + name + ".ready";
  ::unlink(path.c_str());
  return path;
}

// Runs `loop` until `path` exists, looking every 5 ms.
bool wait_for_file(EventLoop& loop, const std::string& path) {
  bool found = false;
  Timer poll(loop.scheduler());
  std::function<void()> look = [&] {
    found = ::access(path.c_str(), F_OK) == 0;
    if (!found) poll.arm_after(5ms, look);
  };
  look();
  const bool ok = loop.run_until([&] { return found; }, kBound);
  ::unlink(path.c_str());
  return ok;
}

TEST(ScriptRunner, TerminateRunningEndsEveryStartedScriptWithSigterm) {
  EventLoop loop;
  ProcessScriptRunner runner(loop);
  std::vector<ScriptResult> results;
  // One is still being started when terminate_running() comes: it gets SIGTERM once its pid is
  // known. The other has been running; its shell's trap shows that SIGTERM reached it.
  const std::string ready = ready_file("reader");
  runner.run(
      ScriptRequest{.name = "reader",
                    .argv = {"sh", "-c", "trap 'exit 7' TERM; : > \"$0\"; sleep 10 & wait", ready},
                    .timeout = Duration::zero()},
      [&](const ScriptResult& r) { results.push_back(r); });
  ASSERT_TRUE(wait_for_file(loop, ready));  // the shell has set its trap
  runner.run(ScriptRequest{.name = "late", .argv = {"sleep", "10"}, .timeout = 60s},
             [&](const ScriptResult& r) { results.push_back(r); });
  EXPECT_FALSE(runner.idle());
  runner.terminate_running();
  ASSERT_TRUE(loop.run_until([&] { return results.size() == 2; }, kBound));
  EXPECT_TRUE(runner.idle());
  const auto reader = std::find_if(results.begin(), results.end(),
                                   [](const ScriptResult& r) { return r.exit_code == 7; });
  ASSERT_NE(reader, results.end()) << "the reader's TERM trap did not run";
  EXPECT_EQ(reader->outcome, Outcome::kExited);
  const auto late = std::find_if(results.begin(), results.end(),
                                 [](const ScriptResult& r) { return r.signal == SIGTERM; });
  ASSERT_NE(late, results.end());
  EXPECT_EQ(late->outcome, Outcome::kSignaled);
  EXPECT_LT(late->runtime, 5s);
}

TEST(ScriptRunner, TerminateRunningEscalatesToSigkillAfterTheGrace) {
  EventLoop loop;
  ProcessScriptRunner runner(loop, {.kill_grace = 100ms});
  std::optional<ScriptResult> result;
  const std::string ready = ready_file("stubborn");
  runner.run(
      ScriptRequest{.name = "stubborn",
                    .argv = {"sh", "-c", "trap '' TERM; : > \"$0\"; sleep 10; exit 0", ready},
                    .timeout = Duration::zero()},
      [&](const ScriptResult& r) { result = r; });
  ASSERT_TRUE(wait_for_file(loop, ready));  // the shell ignores SIGTERM from here on
  runner.terminate_running();
  runner.terminate_running();  // a second call neither re-arms the grace nor signals again
  ASSERT_TRUE(loop.run_until([&] { return result.has_value(); }, kBound));
  EXPECT_EQ(result->outcome, Outcome::kSignaled);
  EXPECT_EQ(result->signal, SIGKILL);
  EXPECT_EQ(runner.counters().timed_out, 0U);
}

TEST(ScriptRunner, DestructionKillsAndReapsRunningScriptsWithoutCallingBack) {
  EventLoop loop;
  bool called = false;
  {
    ProcessScriptRunner runner(loop);
    runner.run(ScriptRequest{.name = "left", .argv = {"sleep", "10"}, .timeout = 60s},
               [&](const ScriptResult&) { called = true; });
    ASSERT_TRUE(loop.run_until([&] { return runner.running() == 1; }, kBound));
  }
  bool later = false;
  loop.scheduler().call_after(10ms, [&] { later = true; });
  ASSERT_TRUE(loop.run_until([&] { return later; }, kBound));
  EXPECT_FALSE(called);
  int status;
  EXPECT_EQ(waitpid(-1, &status, WNOHANG), -1);  // no child left, not even a zombie
  EXPECT_EQ(errno, ECHILD);
}

TEST(ScriptRunner, ACallbackMayDestroyTheRunner) {
  EventLoop loop;
  auto runner = std::make_unique<ProcessScriptRunner>(loop);
  bool done = false;
  runner->run(ScriptRequest{.name = "last", .argv = {"/bin/true"}}, [&](const ScriptResult&) {
    runner.reset();
    done = true;
  });
  runner->run(ScriptRequest{.name = "dropped", .argv = {"sleep", "10"}},
              [](const ScriptResult&) { ADD_FAILURE() << "called after destruction"; });
  ASSERT_TRUE(loop.run_until([&] { return done; }, kBound));
  bool later = false;
  loop.scheduler().call_after(10ms, [&] { later = true; });
  EXPECT_TRUE(loop.run_until([&] { return later; }, kBound));
}

TEST(FakeScriptRunner, RecordsRequestsAndFinishesThemOnDemand) {
  testing::FakeScriptRunner fake;
  ScriptRunner& runner = fake;
  std::optional<int> code;
  runner.run(ScriptRequest{.name = "VI_1 notify_master", .argv = {"/etc/notify.sh", "MASTER"}},
             [&](const ScriptResult& r) { code = r.exit_code; });
  ASSERT_EQ(fake.started().size(), 1U);
  EXPECT_EQ(fake.started()[0].request.argv[1], "MASTER");
  EXPECT_EQ(fake.unfinished(), 1U);
  EXPECT_FALSE(code);
  fake.finish_with_exit_code(0, 4);
  EXPECT_EQ(code, 4);
  EXPECT_EQ(fake.unfinished(), 0U);
}

}  // namespace
}  // namespace vigil::event
