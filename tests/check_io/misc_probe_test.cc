// MISC_CHECK through AsioProber with real processes (event::ProcessScriptRunner), and the table
// from a script's end to the probe's result (keepalived 2.2.7 check_misc.c).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "check_io/misc.h"
#include "check_io/probe_fixture.h"
#include "common/log.h"

namespace vigil::check_io {
namespace {

using check::MiscProbe;
using check::Reason;
using Outcome = event::ScriptResult::Outcome;

TEST(MiscResult, FromTheScriptsEnd) {
  struct Case {
    const char* name;
    event::ScriptResult script;
    bool dynamic;
    std::string expected;  // describe() of the result
    std::optional<int> exit_status;
  };
  const Case cases[] = {
      {"exit 0", {.outcome = Outcome::kExited, .exit_code = 0}, false, "succeeded", 0},
      {"exit 1",
       {.outcome = Outcome::kExited, .exit_code = 1},
       false,
       "failed: script exit status: exited with status 1",
       1},
      {"exit 5",
       {.outcome = Outcome::kExited, .exit_code = 5},
       false,
       "failed: script exit status: exited with status 5",
       5},
      {"dynamic exit 0", {.outcome = Outcome::kExited, .exit_code = 0}, true, "succeeded", 0},
      {"dynamic exit 1",
       {.outcome = Outcome::kExited, .exit_code = 1},
       true,
       "failed: script exit status: exited with status 1",
       1},
      {"dynamic exit 2", {.outcome = Outcome::kExited, .exit_code = 2}, true, "succeeded", 2},
      {"dynamic exit 255", {.outcome = Outcome::kExited, .exit_code = 255}, true, "succeeded", 255},
      {"signal",
       {.outcome = Outcome::kSignaled, .signal = 9},
       false,
       "failed: script killed by a signal: killed by SIGKILL",
       std::nullopt},
      {"timeout",
       {.outcome = Outcome::kTimedOut, .signal = 15},
       false,
       "failed: script timed out: timed out after 3000ms (SIGTERM)",
       std::nullopt},
      {"exec failed",
       {.outcome = Outcome::kExecFailed, .error = ENOENT},
       false,
       "not run: exec failed: No such file or directory",
       std::nullopt},
      {"spawn failed",
       {.outcome = Outcome::kSpawnFailed, .error = EAGAIN},
       true,
       "not run: could not start: Resource temporarily unavailable",
       std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::optional<check::ProbeResult> result = misc_result(c.script, c.dynamic, 3s);
    EXPECT_EQ(describe(result), c.expected);
    if (const auto* passed = std::get_if<check::ProbeSucceeded>(&*result)) {
      EXPECT_EQ(passed->exit_status, c.exit_status);
    }
    if (const auto* failure = failed(result)) {
      EXPECT_EQ(failure->exit_status, c.exit_status);
    }
  }
}

class MiscProbeTest : public ProbeTest {
 protected:
  static MiscProbe script(const std::string& shell, bool dynamic = false, Duration timeout = 10s) {
    return {.name = "test.sh",
            .argv = {"/bin/sh", "-c", shell},
            .timeout = timeout,
            .dynamic = dynamic};
  }
};

TEST_F(MiscProbeTest, ExitStatuses) {
  auto zero = probe(script("exit 0"));
  ASSERT_TRUE(succeeded(zero)) << describe(zero);
  EXPECT_EQ(std::get<check::ProbeSucceeded>(*zero).exit_status, 0);

  auto one = probe(script("exit 1"));
  const auto* failure = failed(one);
  ASSERT_NE(failure, nullptr) << describe(one);
  EXPECT_EQ(failure->reason, Reason::kScriptExit);
  EXPECT_EQ(failure->detail, "exited with status 1");
  EXPECT_EQ(failure->exit_status, 1);

  auto dynamic = probe(script("exit 5", true));
  ASSERT_TRUE(succeeded(dynamic)) << describe(dynamic);
  EXPECT_EQ(std::get<check::ProbeSucceeded>(*dynamic).exit_status, 5);

  auto not_dynamic = probe(script("exit 5"));
  ASSERT_NE(failed(not_dynamic), nullptr) << describe(not_dynamic);
  EXPECT_EQ(failed(not_dynamic)->exit_status, 5);
}

TEST_F(MiscProbeTest, KilledBySignal) {
  auto result = probe(script("kill -KILL $$"));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kScriptSignal);
  EXPECT_EQ(failure->detail, "killed by SIGKILL");
}

TEST_F(MiscProbeTest, Timeout) {
  // The runner's own timer (the loop's clock) ends it: 100 ms is a limit, not a wait asserted.
  auto result = probe(script("exec sleep 30", false, 100ms));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kScriptTimeout);
  EXPECT_EQ(failure->detail.rfind("timed out after 100ms", 0), 0U) << failure->detail;
}

TEST_F(MiscProbeTest, MissingScriptIsNotRun) {
  auto result = probe(MiscProbe{.name = "missing", .argv = {"/nonexistent/vigil-check.sh"}});
  const auto* skipped = not_run(result);
  ASSERT_NE(skipped, nullptr) << describe(result);
  EXPECT_EQ(skipped->detail, "exec failed: No such file or directory");
  EXPECT_EQ(prober_.counters().not_run, 1U);
}

TEST_F(MiscProbeTest, CancelledScriptNeverReports) {
  bool reported = false;
  auto id = prober_.start(script("exit 0"), [&](check::ProbeResult) { reported = true; });
  prober_.cancel(id);
  EXPECT_EQ(prober_.running(), 0U);
  // The runner still reaps the script (ended by the SIGTERM, or exited before it came); its
  // result goes nowhere.
  ASSERT_TRUE(run_until([&] { return scripts_.idle(); }));
  EXPECT_FALSE(reported);
  EXPECT_EQ(scripts_.counters().exited_zero + scripts_.counters().signaled, 1U);
  EXPECT_EQ(prober_.counters().cancelled, 1U);
  EXPECT_EQ(prober_.counters().succeeded, 0U);
}

// A process that is gone, or a zombie nobody reaps yet (a grandchild reparented to an init that
// has not waited for it).
bool gone(pid_t pid) {
  if (kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

// A reload that removes or changes a MISC_CHECK cancels its probe: the script's process group
// (the script and what it started) ends then, not at misc_timeout.
TEST_F(MiscProbeTest, CancelKillsTheScriptsProcessGroup) {
  char dir_template[] = "/tmp/vigil-misc-cancel-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  // The script reports its pids through a FIFO the test reads outside the loop: nothing in the
  // loop wakes when a file appears, so waiting for one there would always last kBound.
  const std::string pids = dir + "/pids";
  ASSERT_EQ(mkfifo(pids.c_str(), 0600), 0);
  const int reader = ::open(pids.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  // The script starts a background sleep, writes both pids, then waits for it.
  bool reported = false;
  const auto id =
      prober_.start(script("sleep 300 & echo $$ $! > " + pids + " && wait", false, 600s),
                    [&](check::ProbeResult) { reported = true; });
  pid_t script_pid = 0;
  pid_t sleep_pid = 0;
  {
    pollfd readable{.fd = reader, .events = POLLIN, .revents = 0};
    const auto bound = std::chrono::duration_cast<std::chrono::milliseconds>(kBound);
    ASSERT_EQ(::poll(&readable, 1, static_cast<int>(bound.count())), 1);
    // echo writes its short line in one write(), which a pipe delivers whole.
    char text[64] = {};
    const ssize_t got = ::read(reader, text, sizeof(text) - 1);
    ASSERT_GT(got, 0);
    ::close(reader);
    std::istringstream(text) >> script_pid >> sleep_pid;
  }
  ASSERT_GT(script_pid, 0);
  ASSERT_GT(sleep_pid, 0);
  EXPECT_FALSE(gone(script_pid));
  EXPECT_FALSE(gone(sleep_pid));

  prober_.cancel(id);
  // Bounded: kBound, far below the 600 s misc_timeout and the 300 s sleep.
  EXPECT_TRUE(run_until([&] { return scripts_.idle(); }));
  EXPECT_TRUE(gone(script_pid));
  EXPECT_TRUE(run_until([&] { return gone(sleep_pid); }));
  EXPECT_FALSE(reported);
  EXPECT_EQ(scripts_.counters().signaled, 1U);
  EXPECT_EQ(scripts_.counters().timed_out, 0U);
  if (!gone(sleep_pid)) kill(sleep_pid, SIGKILL);  // never leave it behind
  std::remove(pids.c_str());
  rmdir(dir.c_str());
}

// Cancelled before the spawner thread has handed its pid to the loop (the loop has not run since
// start()): nothing is signalled or logged with a pid it does not have ("SIGTERM to pid -1"); the
// script is ended once its pid is known and never reported.
TEST_F(MiscProbeTest, CancelBeforeThePidIsKnown) {
  std::ostringstream logged;
  auto logger = log::get("event");
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(logged);
  sink->set_pattern("%v");
  logger->sinks().push_back(sink);
  const auto level = logger->level();
  logger->set_level(spdlog::level::debug);

  bool reported = false;
  const auto id = prober_.start(script("exec sleep 300", false, 600s),
                                [&](check::ProbeResult) { reported = true; });
  prober_.cancel(id);
  EXPECT_TRUE(run_until([&] { return scripts_.idle(); }));
  logger->set_level(level);
  std::erase(logger->sinks(), sink);

  EXPECT_FALSE(reported);
  EXPECT_EQ(scripts_.counters().signaled, 1U);
  EXPECT_EQ(scripts_.counters().timed_out, 0U);
  const std::string text = logged.str();
  EXPECT_EQ(text.find("pid -1"), std::string::npos) << text;
  EXPECT_EQ(text.find("pid 0"), std::string::npos) << text;
  EXPECT_NE(text.find("[test.sh] cancelled while starting"), std::string::npos) << text;
  EXPECT_NE(text.find("[test.sh] ended while starting: SIGTERM to pid "), std::string::npos)
      << text;
}

TEST_F(MiscProbeTest, DestroyedProberDropsTheResult) {
  bool reported = false;
  auto prober = std::make_unique<AsioProber>(loop_, time_, scripts_);
  prober->start(script("exit 0"), [&](check::ProbeResult) { reported = true; });
  prober.reset();
  ASSERT_TRUE(run_until([&] { return scripts_.idle(); }));
  EXPECT_FALSE(reported);
}

}  // namespace
}  // namespace vigil::check_io
