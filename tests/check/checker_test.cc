// The checker state machine against keepalived 2.2.7's timing and state rules
// (shared/reference/checkers.md §0, §1.2, §1.3), in virtual time: every step names the instant
// the event is handled and the exact actions, to the microsecond.
#include "check/checker.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/log.h"

namespace vigil::check {

void PrintTo(const Action& action, std::ostream* os) {
  *os << to_string(action);
}

namespace {

constexpr TimePoint kT0{Duration{1'000'000'000}};
TimePoint at(Duration offset) {
  return kT0 + offset;
}

// A random source that always returns the same fraction (num/den) of the bound, and counts calls.
struct FixedRandom {
  int64_t num = 0;
  int64_t den = 1;
  int* calls = nullptr;
  Duration operator()(Duration max) const {
    if (calls != nullptr) ++*calls;
    return max * num / den;
  }
};

CheckerSpec spec_of(CheckerType type) {
  CheckerSpec spec{
      .identity = {.type = type},
      .label = "TCP 10.0.0.1:80",
      .delay_loop = 10s,
      .delay_before_retry = 1s,
      .warmup = 0s,
      .retry = 2,
  };
  if (type == CheckerType::kMisc) {
    spec.label = "MISC 10.0.0.1:80 /bin/check";
    spec.identity.detail = MiscIdentity{.argv = {"/bin/check"}, .dynamic = false};
  }
  if (type == CheckerType::kFile) spec.label = "FILE 10.0.0.1:80 f";
  return spec;
}

ProbeFailed refused() {
  return {.reason = Reason::kConnectionRefused, .detail = "connection refused"};
}
ProbeFailed timed_out() {
  return {.reason = Reason::kTimeout, .detail = "timeout"};
}

Report down(Reason reason = Reason::kConnectionRefused) {
  return {.up = false, .changed = true, .reason = reason};
}
Report up() {
  return {.up = true, .changed = true, .reason = Reason::kSucceeded};
}

struct Step {
  Duration at;
  Event event;
  Actions expected;
};

// Feeds `steps` in order and checks each step's actions.
void run(Checker& checker, const std::vector<Step>& steps) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& step = steps[i];
    EXPECT_EQ(checker.handle(step.event, at(step.at)), step.expected) << "step " << i;
  }
}

// ---- the first probe: 1 s + rand(0..warmup) (§0.2, check_api.c) ------------------------------

struct WarmupCase {
  const char* name;
  Duration warmup;
  int64_t num;
  int64_t den;
  Duration first_probe;  // after start
};

class FirstProbe : public ::testing::TestWithParam<WarmupCase> {};

TEST_P(FirstProbe, IsOneSecondPlusRandomWarmup) {
  const auto& c = GetParam();
  auto spec = spec_of(CheckerType::kTcp);
  spec.warmup = c.warmup;
  int calls = 0;
  Checker checker(spec, FixedRandom{c.num, c.den, &calls});
  EXPECT_EQ(checker.handle(Start{}, at(0s)), (Actions{ProbeAt{at(c.first_probe)}}));
  // warmup 0 disables the random part: the source is not even asked.
  EXPECT_EQ(calls, c.warmup == 0s ? 0 : 1);
}

INSTANTIATE_TEST_SUITE_P(Checker, FirstProbe,
                         ::testing::Values(WarmupCase{"WarmupZero", 0s, 1, 2, 1s},
                                           WarmupCase{"RandomZero", 60s, 0, 1, 1s},
                                           WarmupCase{"RandomMax", 60s, 1, 1, 61s},
                                           WarmupCase{"RandomThird", 10s, 1, 3,
                                                      4'333'333us},  // 3333333.33 truncated
                                           WarmupCase{"ShortWarmup", 1'500us, 1, 2, 1'000'750us}),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- TCP_CHECK (tcp_epilog) ------------------------------------------------------------------

// §0.3: the very first check after start has no retries: one failure takes the checker down.
TEST(TcpCheck, FirstFailureAfterStartIsDownAtOnce) {
  Checker checker(spec_of(CheckerType::kTcp), FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {1s, ProbeStarted{}, {}},
                   {1'003'000us, refused(), {down(), ProbeAt{at(11'003'000us)}}},
               });
  EXPECT_FALSE(checker.up());
  EXPECT_EQ(checker.transitions(Reason::kConnectionRefused), 1U);
}

// §0.2/§0.3: an up checker goes DOWN after 1 + retry consecutive failures spaced
// delay_before_retry apart, each measured from the end of the failed probe (fixed delay).
TEST(TcpCheck, DownAfterOnePlusRetryFailuresFixedDelay) {
  Checker checker(spec_of(CheckerType::kTcp), FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {1'000'200us, ProbeSucceeded{}, {ProbeAt{at(11'000'200us)}}},
                   // the probe took 5 s (connect_timeout): the retry is 1 s after its end
                   {16'000'200us, timed_out(), {ProbeAt{at(17'000'200us)}}},
                   {17'000'300us, refused(), {ProbeAt{at(18'000'300us)}}},
                   {18'000'400us, refused(), {down(), ProbeAt{at(28'000'400us)}}},
               });
  EXPECT_EQ(checker.failures(Reason::kTimeout), 1U);
  EXPECT_EQ(checker.failures(Reason::kConnectionRefused), 2U);
  EXPECT_EQ(checker.transitions(Reason::kConnectionRefused), 1U);
}

TEST(TcpCheck, RetryZeroGoesDownOnTheFirstFailure) {
  auto spec = spec_of(CheckerType::kTcp);
  spec.retry = 0;
  Checker checker(spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {1s, ProbeSucceeded{}, {ProbeAt{at(11s)}}},
                   {11s, refused(), {down(), ProbeAt{at(21s)}}},
               });
}

// A success between failures starts the count again.
TEST(TcpCheck, SuccessResetsTheRetryCount) {
  Checker checker(spec_of(CheckerType::kTcp), FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {1s, ProbeSucceeded{}, {ProbeAt{at(11s)}}},
                   {11s, refused(), {ProbeAt{at(12s)}}},
                   {12s, refused(), {ProbeAt{at(13s)}}},
                   {13s, ProbeSucceeded{}, {ProbeAt{at(23s)}}},
                   {23s, refused(), {ProbeAt{at(24s)}}},
                   {24s, refused(), {ProbeAt{at(25s)}}},
                   {25s, refused(), {down(), ProbeAt{at(35s)}}},
               });
}

// §1.2: 2.2.7's TCP_CHECK, while DOWN, probes `retry` times at delay_before_retry, then once at
// delay_loop, and repeats; UP needs one success.
TEST(TcpCheck, DownCadenceOf227ThenUpAfterOneSuccess) {
  Checker checker(spec_of(CheckerType::kTcp), FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {1s, refused(), {down(), ProbeAt{at(11s)}}},
                   {11s, refused(), {ProbeAt{at(12s)}}},
                   {12s, refused(), {ProbeAt{at(13s)}}},
                   {13s, refused(), {ProbeAt{at(23s)}}},
                   {23s, refused(), {ProbeAt{at(24s)}}},
                   {24'500us + 24s, ProbeSucceeded{}, {up(), ProbeAt{at(34'024'500us)}}},
               });
  EXPECT_TRUE(checker.up());
  EXPECT_EQ(checker.transitions(Reason::kSucceeded), 1U);
}

// §1.2: a local error (socket, bind) is not a failure: no state change, no retry used,
// rescheduled at delay_loop.
TEST(TcpCheck, LocalErrorIsNotAFailure) {
  Checker checker(spec_of(CheckerType::kTcp), FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {1s, ProbeSucceeded{}, {ProbeAt{at(11s)}}},
                   {11s, refused(), {ProbeAt{at(12s)}}},
                   {12s, ProbeNotRun{"bind: address not available"}, {ProbeAt{at(22s)}}},
                   {22s, refused(), {ProbeAt{at(23s)}}},
                   {23s, refused(), {down(), ProbeAt{at(33s)}}},
               });
  EXPECT_EQ(checker.probes_not_run(), 1U);
}

// ---- alpha (§1.1, §1.3) -----------------------------------------------------------------------

TEST(Alpha, StartsDownAndOneSuccessBringsItUp) {
  auto spec = spec_of(CheckerType::kTcp);
  spec.alpha = true;
  Checker checker(spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
               });
  EXPECT_FALSE(checker.up());
  run(checker, {
                   {1s, ProbeSucceeded{}, {up(), ProbeAt{at(11s)}}},
               });
  EXPECT_TRUE(checker.up());
}

// update_svr_checker_state: an alpha checker's first failure confirms DOWN (the real server's
// notify_down runs) without a state change; later failures say nothing.
TEST(Alpha, FirstFailureConfirmsDownOnce) {
  auto spec = spec_of(CheckerType::kTcp);
  spec.alpha = true;
  Checker checker(spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {1s,
                    refused(),
                    {Report{.up = false, .changed = false, .reason = Reason::kConnectionRefused},
                     ProbeAt{at(11s)}}},
                   {11s, refused(), {ProbeAt{at(12s)}}},
               });
  EXPECT_EQ(checker.transitions(Reason::kConnectionRefused), 0U);
}

// ---- UDP_CHECK / PING_CHECK / DNS_CHECK: a down checker probes every delay_loop ---------------

struct DownCadenceCase {
  const char* name;
  CheckerType type;
};

class UpRetriesOnly : public ::testing::TestWithParam<DownCadenceCase> {};

TEST_P(UpRetriesOnly, DownCheckerProbesEveryDelayLoop) {
  Checker checker(spec_of(GetParam().type), FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {1s, ProbeSucceeded{}, {ProbeAt{at(11s)}}},
                   {11s, timed_out(), {ProbeAt{at(12s)}}},
                   {12s, timed_out(), {ProbeAt{at(13s)}}},
                   {13s, timed_out(), {down(Reason::kTimeout), ProbeAt{at(23s)}}},
                   {23s, timed_out(), {ProbeAt{at(33s)}}},
                   {33s, timed_out(), {ProbeAt{at(43s)}}},
                   {43s, ProbeSucceeded{}, {up(), ProbeAt{at(53s)}}},
               });
}

INSTANTIATE_TEST_SUITE_P(Checker, UpRetriesOnly,
                         ::testing::Values(DownCadenceCase{"Udp", CheckerType::kUdp},
                                           DownCadenceCase{"Ping", CheckerType::kPing},
                                           DownCadenceCase{"Dns", CheckerType::kDns}),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- MISC_CHECK: fixed rate from the script's start (check_misc.c) --------------------------

TEST(MiscCheck, FixedRateFromTheStart) {
  auto spec = spec_of(CheckerType::kMisc);
  spec.retry = 1;
  Checker checker(spec, FixedRandom{});
  run(checker,
      {
          {0s, Start{}, {ProbeAt{at(1s)}}},
          {1s, ProbeStarted{}, {}},
          // ran 3.5 s: the next start is still 10 s after this one's start
          {4'500'000us, misc_exit_event(0, false), {ProbeAt{at(11s)}}},
          {11s, ProbeStarted{}, {}},
          // a failure retries delay_before_retry after the start
          {11'400'000us, misc_exit_event(1, false), {ProbeAt{at(12s)}}},
          {12s, ProbeStarted{}, {}},
          {12'200'000us, misc_exit_event(1, false), {down(Reason::kScriptExit), ProbeAt{at(22s)}}},
          {22s, ProbeStarted{}, {}},
          // a run that overran its slot: the next starts 1 us after it ended
          {33s, misc_exit_event(0, false), {up(), ProbeAt{at(33'000'001us)}}},
      });
}

// misc_dynamic: exit status 2..255 passes and sets the real server's weight to status - 2 (the
// checker adds status - 2 - the configured weight).
TEST(MiscCheck, DynamicWeightFollowsTheExitStatus) {
  auto spec = spec_of(CheckerType::kMisc);
  spec.retry = 0;
  spec.real_server_weight = 5;
  spec.identity.detail = MiscIdentity{.argv = {"/bin/check"}, .dynamic = true};
  Checker checker(spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {1s, ProbeStarted{}, {}},
                   {2s, misc_exit_event(12, true), {WeightChanged{5}, ProbeAt{at(11s)}}},
                   {11s, ProbeStarted{}, {}},
                   {12s, misc_exit_event(12, true), {ProbeAt{at(21s)}}},
                   {21s, ProbeStarted{}, {}},
                   {22s, misc_exit_event(0, true), {WeightChanged{0}, ProbeAt{at(31s)}}},
                   {31s, ProbeStarted{}, {}},
                   {32s, misc_exit_event(2, true), {WeightChanged{-5}, ProbeAt{at(41s)}}},
               });
  EXPECT_TRUE(checker.up());
}

// #2720: a script timeout with misc_dynamic must not leak weight: after the timeout takes the
// checker down and the script passes again with the same status, the weight is the same as
// before (keepalived 2.2.7 added it a second time).
TEST(MiscCheck, TimeoutDoesNotLeakDynamicWeight) {
  auto spec = spec_of(CheckerType::kMisc);
  spec.retry = 0;
  spec.real_server_weight = 1;
  spec.identity.detail = MiscIdentity{.argv = {"/bin/check"}, .dynamic = true};
  Checker checker(spec, FixedRandom{});
  const ProbeFailed timeout{.reason = Reason::kScriptTimeout, .detail = "timed out"};
  run(checker,
      {
          {0s, Start{}, {ProbeAt{at(1s)}}},
          {1s, ProbeStarted{}, {}},
          {2s, misc_exit_event(12, true), {WeightChanged{9}, ProbeAt{at(11s)}}},
          {11s, ProbeStarted{}, {}},
          {21s,
           timeout,
           {WeightChanged{0}, down(Reason::kScriptTimeout), ProbeAt{at(21'000'001us)}}},
          {21'000'001us, ProbeStarted{}, {}},
          // the same status again gives back the same weight, not twice that
          {22s, misc_exit_event(12, true), {WeightChanged{9}, up(), ProbeAt{at(31'000'001us)}}},
          {31'000'001us, ProbeStarted{}, {}},
          {32s, misc_exit_event(13, true), {WeightChanged{10}, ProbeAt{at(41'000'001us)}}},
      });
  EXPECT_EQ(checker.dynamic_weight(), 10);
}

TEST(MiscCheck, ExitStatusRules) {
  EXPECT_TRUE(std::holds_alternative<ProbeSucceeded>(misc_exit_event(0, false)));
  EXPECT_TRUE(std::holds_alternative<ProbeFailed>(misc_exit_event(1, false)));
  EXPECT_TRUE(std::holds_alternative<ProbeFailed>(misc_exit_event(2, false)));
  EXPECT_TRUE(std::holds_alternative<ProbeFailed>(misc_exit_event(1, true)));
  EXPECT_TRUE(std::holds_alternative<ProbeSucceeded>(misc_exit_event(2, true)));
  EXPECT_TRUE(std::holds_alternative<ProbeSucceeded>(misc_exit_event(255, true)));
  EXPECT_TRUE(std::holds_alternative<ProbeFailed>(misc_exit_event(256, true)));
}

// ---- FILE_CHECK (§1.2) ------------------------------------------------------------------------

struct FileCase {
  const char* name;
  int32_t weight;
  bool reverse;
  int64_t value;
  bool up;
  int64_t dynamic_weight;
};

class FileCheckValue : public ::testing::TestWithParam<FileCase> {};

TEST_P(FileCheckValue, StateAndWeight) {
  const auto& c = GetParam();
  auto spec = spec_of(CheckerType::kFile);
  spec.file_weight = c.weight;
  spec.file_reverse = c.reverse;
  Checker checker(spec, FixedRandom{});
  // No probe is ever scheduled; the value at start sets the state without a report.
  EXPECT_EQ(checker.handle(Start{}, at(0s)), Actions{});
  Actions first = checker.handle(FileValue{c.value}, at(0s));
  Actions expected;
  if (c.dynamic_weight != 0) expected.emplace_back(WeightChanged{c.dynamic_weight});
  EXPECT_EQ(first, expected);
  EXPECT_EQ(checker.up(), c.up);
  EXPECT_EQ(checker.dynamic_weight(), c.dynamic_weight);
}

INSTANTIATE_TEST_SUITE_P(
    Checker, FileCheckValue,
    ::testing::Values(FileCase{"WeightZeroValueZeroUp", 0, false, 0, true, 0},
                      FileCase{"WeightZeroValueSetDown", 0, false, 3, false, 0},
                      FileCase{"WeightZeroReverseValueZeroDown", 0, true, 0, false, 0},
                      FileCase{"WeightZeroReverseValueSetUp", 0, true, 7, true, 0},
                      FileCase{"Multiplier", 10, false, 3, true, 30},
                      FileCase{"MultiplierReverse", 10, true, 3, true, -30},
                      FileCase{"NegativeValue", 2, false, -4, true, -8},
                      FileCase{"ClampedAtInt32Max", 2, false, 2'000'000'000, true, INT32_MAX},
                      FileCase{"AtInt32MinIsDown", 1, false, INT32_MIN, false, 0},
                      FileCase{"BelowInt32MinIsDown", 1000, true, 5'000'000, false, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(FileCheck, LaterValuesTransition) {
  auto spec = spec_of(CheckerType::kFile);
  spec.file_weight = 0;
  Checker checker(spec, FixedRandom{});
  run(checker,
      {
          {0s, Start{}, {}},
          {0s, FileValue{0}, {}},
          {5s, FileValue{1}, {Report{.up = false, .changed = true, .reason = Reason::kFileValue}}},
          {6s, FileValue{2}, {}},
          {7s, FileValue{0}, {Report{.up = true, .changed = true, .reason = Reason::kFileValue}}},
      });
}

// ---- beyond keepalived: rise and per-interval jitter ----------------------------------------

TEST(Rise, DownCheckerNeedsRiseConsecutiveSuccesses) {
  auto spec = spec_of(CheckerType::kUdp);
  spec.retry = 0;
  spec.rise = 3;
  Checker checker(spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {1s, timed_out(), {down(Reason::kTimeout), ProbeAt{at(11s)}}},
                   {11s, ProbeSucceeded{}, {ProbeAt{at(21s)}}},
                   {21s, ProbeSucceeded{}, {ProbeAt{at(31s)}}},
                   {31s, timed_out(), {ProbeAt{at(41s)}}},  // starts the count again
                   {41s, ProbeSucceeded{}, {ProbeAt{at(51s)}}},
                   {51s, ProbeSucceeded{}, {ProbeAt{at(61s)}}},
                   {61s, ProbeSucceeded{}, {up(), ProbeAt{at(71s)}}},
               });
}

// Default rise 1 is keepalived: one success.
TEST(Rise, DefaultIsOneSuccess) {
  auto spec = spec_of(CheckerType::kUdp);
  spec.retry = 0;
  Checker checker(spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {1s, timed_out(), {down(Reason::kTimeout), ProbeAt{at(11s)}}},
                   {11s, ProbeSucceeded{}, {up(), ProbeAt{at(21s)}}},
               });
}

struct JitterCase {
  const char* name;
  uint32_t percent;
  int64_t num;
  int64_t den;
  Duration next;        // after a success at 1 s (delay_loop 10 s)
  Duration retry_next;  // after a failure at 20 s (delay_before_retry 1 s)
};

class IntervalJitter : public ::testing::TestWithParam<JitterCase> {};

TEST_P(IntervalJitter, DrawsEachIntervalAroundItsValue) {
  const auto& c = GetParam();
  auto spec = spec_of(CheckerType::kTcp);
  spec.interval_jitter_percent = c.percent;
  int calls = 0;
  Checker checker(spec, FixedRandom{c.num, c.den, &calls});
  checker.handle(Start{}, at(0s));
  EXPECT_EQ(checker.handle(ProbeSucceeded{}, at(1s)), (Actions{ProbeAt{at(1s + c.next)}}));
  EXPECT_EQ(checker.handle(refused(), at(20s)), (Actions{ProbeAt{at(20s + c.retry_next)}}));
  // Off by default: the source is asked only for the (zero) warmup, i.e. never.
  EXPECT_EQ(calls, c.percent == 0 ? 0 : 2);
}

INSTANTIATE_TEST_SUITE_P(Checker, IntervalJitter,
                         ::testing::Values(JitterCase{"Off", 0, 1, 1, 10s, 1s},
                                           JitterCase{"LowEnd", 10, 0, 1, 9s, 900ms},
                                           JitterCase{"HighEnd", 10, 1, 1, 11s, 1'100ms},
                                           JitterCase{"Middle", 20, 1, 2, 10s, 1s},
                                           JitterCase{"Quarter", 50, 1, 4, 7'500ms, 750ms}),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- stop, logging --------------------------------------------------------------------------

TEST(Checker, StopCancelsTheProbeAndIgnoresLateResults) {
  Checker checker(spec_of(CheckerType::kTcp), FixedRandom{});
  run(checker, {
                   {0s, Start{}, {ProbeAt{at(1s)}}},
                   {0s, Stop{}, {CancelProbe{}}},
                   {1s, refused(), {}},
                   {1s, Stop{}, {}},
               });
  EXPECT_TRUE(checker.up());
}

// One transition() logs "[label] FROM -> TO (reason)"; retries of an up checker are logged at
// info only with log_all_failures.
class CheckLogCapture {
 public:
  CheckLogCapture()
      : logger_(log::get("check")),
        sink_(std::make_shared<spdlog::sinks::ostream_sink_st>(stream_)) {
    sink_->set_pattern("%l %v");
    logger_->sinks().push_back(sink_);
  }
  CheckLogCapture(const CheckLogCapture&) = delete;
  CheckLogCapture& operator=(const CheckLogCapture&) = delete;
  ~CheckLogCapture() { std::erase(logger_->sinks(), sink_); }
  [[nodiscard]] std::string text() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::sinks::ostream_sink_st> sink_;
};

TEST(Checker, TransitionsAreLoggedWithTheirReason) {
  CheckLogCapture capture;
  Checker checker(spec_of(CheckerType::kTcp), FixedRandom{});
  checker.handle(Start{}, at(0s));
  checker.handle(refused(), at(1s));
  checker.handle(ProbeSucceeded{}, at(11s));
  EXPECT_EQ(capture.text(),
            "info [TCP 10.0.0.1:80] UP -> DOWN (connection refused)\n"
            "info [TCP 10.0.0.1:80] DOWN -> UP (check succeeded)\n");
}

TEST(Checker, LogAllFailuresLogsEachAttemptAtInfo) {
  for (const bool all : {false, true}) {
    CheckLogCapture capture;
    auto spec = spec_of(CheckerType::kTcp);
    spec.log_all_failures = all;
    Checker checker(spec, FixedRandom{});
    checker.handle(Start{}, at(0s));
    checker.handle(ProbeSucceeded{}, at(1s));
    checker.handle(refused(), at(11s));
    EXPECT_EQ(
        capture.text().find("info [TCP 10.0.0.1:80] failed (connection refused), retry 1/2") !=
            std::string::npos,
        all)
        << capture.text();
  }
}

}  // namespace
}  // namespace vigil::check
