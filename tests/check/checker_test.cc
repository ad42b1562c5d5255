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
  const CheckerSpec checker_spec = spec_of(CheckerType::kTcp);
  Checker checker(checker_spec, FixedRandom{});
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
  const CheckerSpec checker_spec = spec_of(CheckerType::kTcp);
  Checker checker(checker_spec, FixedRandom{});
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
  const CheckerSpec checker_spec = spec_of(CheckerType::kTcp);
  Checker checker(checker_spec, FixedRandom{});
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
  const CheckerSpec checker_spec = spec_of(CheckerType::kTcp);
  Checker checker(checker_spec, FixedRandom{});
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
  const CheckerSpec checker_spec = spec_of(CheckerType::kTcp);
  Checker checker(checker_spec, FixedRandom{});
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
  const CheckerSpec checker_spec = spec_of(GetParam().type);
  Checker checker(checker_spec, FixedRandom{});
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

// The first success of an up MISC_CHECK: a confirmation without notifies, which check_misc.c
// mails (the verdict turns it into the SMTP alert only).
const Report kMiscFirstRun{.up = true, .changed = false, .notifies = false};

TEST(MiscCheck, FixedRateFromTheStart) {
  auto spec = spec_of(CheckerType::kMisc);
  spec.retry = 1;
  Checker checker(spec, FixedRandom{});
  run(checker,
      {
          {0s, Start{}, {ProbeAt{at(1s)}}},
          {1s, ProbeStarted{}, {}},
          // ran 3.5 s: the next start is still 10 s after this one's start
          {4'500'000us, misc_exit_event(0, false), {kMiscFirstRun, ProbeAt{at(11s)}}},
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
  run(checker,
      {
          {0s, Start{}, {ProbeAt{at(1s)}}},
          {1s, ProbeStarted{}, {}},
          {2s, misc_exit_event(12, true), {WeightChanged{5}, kMiscFirstRun, ProbeAt{at(11s)}}},
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
          {2s, misc_exit_event(12, true), {WeightChanged{9}, kMiscFirstRun, ProbeAt{at(11s)}}},
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

// ---- HTTP_GET / SSL_GET: one url per probe (check_http.c epilog, timeout_epilog) ---------------

ProbeAt probe(Duration offset, uint32_t target) {
  return {.at = at(offset), .target = target};
}

// Three urls /u0 /u1 /u2, delay_loop 10 s, delay_before_retry 3 s (HTTP's default), retry 2.
CheckerSpec http_spec(size_t urls = 3) {
  CheckerSpec spec{
      .identity = {.type = CheckerType::kHttp},
      .label = "HTTP 10.0.0.1:80",
      .delay_loop = 10s,
      .delay_before_retry = 3s,
      .warmup = 0s,
      .retry = 2,
  };
  HttpIdentity http;
  for (size_t i = 0; i < urls; ++i)
    http.urls.push_back({.path = "/u" + std::to_string(i)});
  spec.identity.detail = std::move(http);
  return spec;
}

// The first complete pass over three urls, each answering at once: the checker has run, is up,
// and the next probe is url 0 at 31 s.
void first_pass(Checker& checker) {
  run(checker, {
                   {0s, Start{}, {probe(1s, 0)}},
                   {1s, ProbeSucceeded{}, {probe(11s, 1)}},
                   {11s, ProbeSucceeded{}, {probe(21s, 2)}},
                   {21s, ProbeSucceeded{}, {probe(31s, 0)}},
               });
  ASSERT_TRUE(checker.up());
  ASSERT_TRUE(checker.has_run());
}

// checkers.md §1.2 "Several URLs": one url per delay_loop, fixed delay from the end of each
// probe, so a full pass takes N·delay_loop; a non-alpha checker was up already (no report).
TEST(HttpGet, SteadyStateProbesOneUrlPerDelayLoop) {
  const CheckerSpec checker_spec = http_spec();
  Checker checker(checker_spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {probe(1s, 0)}},
                   {1'200ms, ProbeSucceeded{}, {probe(11'200ms, 1)}},
                   {11'500ms, ProbeSucceeded{}, {probe(21'500ms, 2)}},
               });
  // Until the first complete pass every url has no retries (epilog: retry_it = retry).
  EXPECT_FALSE(checker.has_run());
  EXPECT_EQ(checker.retry_it(), 2U);
  run(checker, {
                   {21'600ms, ProbeSucceeded{}, {probe(31'600ms, 0)}},
                   {31'600ms, ProbeSucceeded{}, {probe(41'600ms, 1)}},
                   {41'600ms, ProbeSucceeded{}, {probe(51'600ms, 2)}},
                   {51'600ms, ProbeSucceeded{}, {probe(61'600ms, 0)}},
               });
  EXPECT_TRUE(checker.has_run());
  EXPECT_TRUE(checker.up());
  EXPECT_EQ(checker.retry_it(), 0U);
}

struct HttpDownCase {
  const char* name;
  Duration delay_before_retry;
  Duration down_interval;  // max(delay_before_retry, delay_loop 10 s)
};

class HttpGetDown : public ::testing::TestWithParam<HttpDownCase> {};

// An up checker whose url 2 fails: 1 + retry attempts delay_before_retry apart, then DOWN; then
// only url 2, every max(delay_before_retry, delay_loop); once it passes, urls 0, 1, 2 again,
// delay_loop apart, and UP after the last.
TEST_P(HttpGetDown, OnlyTheFailedUrlThenEveryUrlBeforeUp) {
  const auto& c = GetParam();
  auto spec = http_spec();
  spec.delay_before_retry = c.delay_before_retry;
  Checker checker(spec, FixedRandom{});
  first_pass(checker);
  const Duration d = c.delay_before_retry;
  const Duration m = c.down_interval;
  const Duration t = 51s + 2 * d;  // the third failure
  run(checker, {
                   {31s, ProbeSucceeded{}, {probe(41s, 1)}},
                   {41s, ProbeSucceeded{}, {probe(51s, 2)}},
                   {51s, refused(), {probe(51s + d, 2)}},
                   {51s + d, refused(), {probe(51s + 2 * d, 2)}},
                   {t, refused(), {down(), probe(t + m, 2)}},
               });
  EXPECT_EQ(checker.failed_target(), std::optional<uint32_t>(2));
  run(checker, {
                   {t + m, timed_out(), {probe(t + 2 * m, 2)}},
                   {t + 2 * m, refused(), {probe(t + 3 * m, 2)}},
                   // url 2 passes: back to url 0, still DOWN
                   {t + 3 * m, ProbeSucceeded{}, {probe(t + 3 * m + 10s, 0)}},
               });
  EXPECT_FALSE(checker.up());
  EXPECT_EQ(checker.failed_target(), std::nullopt);
  run(checker, {
                   {t + 3 * m + 10s, ProbeSucceeded{}, {probe(t + 3 * m + 20s, 1)}},
                   {t + 3 * m + 20s, ProbeSucceeded{}, {probe(t + 3 * m + 30s, 2)}},
                   {t + 3 * m + 30s, ProbeSucceeded{}, {up(), probe(t + 3 * m + 40s, 0)}},
               });
  EXPECT_EQ(checker.transitions(Reason::kConnectionRefused), 1U);
  EXPECT_EQ(checker.transitions(Reason::kSucceeded), 1U);
  EXPECT_EQ(checker.failures(Reason::kConnectionRefused), 4U);
  EXPECT_EQ(checker.failures(Reason::kTimeout), 1U);
}

INSTANTIATE_TEST_SUITE_P(Checker, HttpGetDown,
                         ::testing::Values(HttpDownCase{"RetryShorterThanDelayLoop", 3s, 10s},
                                           HttpDownCase{"RetryLongerThanDelayLoop", 15s, 15s},
                                           HttpDownCase{"RetryEqualsDelayLoop", 10s, 10s}),
                         [](const auto& info) { return std::string(info.param.name); });

// epilog(REGISTER_CHECKER_FAILED) with no failed url: a url failing in the walk after the failed
// url passed is retried every delay_before_retry, without counting retries, and the walk goes on
// from it (not from url 0) once it passes.
TEST(HttpGet, FailingUrlDuringTheRecoveryWalkRetriesAtDelayBeforeRetry) {
  const CheckerSpec checker_spec = http_spec();
  Checker checker(checker_spec, FixedRandom{});
  first_pass(checker);
  run(checker, {
                   {31s, refused(), {probe(34s, 0)}},
                   {34s, refused(), {probe(37s, 0)}},
                   {37s, refused(), {down(), probe(47s, 0)}},
                   {47s, ProbeSucceeded{}, {probe(57s, 0)}},
                   {57s, ProbeSucceeded{}, {probe(67s, 1)}},
                   {67s, refused(), {probe(70s, 1)}},
                   {70s, refused(), {probe(73s, 1)}},
                   {73s, refused(), {probe(76s, 1)}},
                   {76s, refused(), {probe(79s, 1)}},
                   {79s, ProbeSucceeded{}, {probe(89s, 2)}},
                   {89s, ProbeSucceeded{}, {up(), probe(99s, 0)}},
               });
  EXPECT_EQ(checker.failed_target(), std::nullopt);
}

// fast_recovery (epilog): no delay_loop spacing before the first complete pass, nor in the walk
// after the failed url passes (a failing url there is retried at once); retries of an up
// checker and the failed url's own cadence keep their spacing.
TEST(HttpGet, FastRecoveryDropsTheSpacingAtStartAndDuringRecovery) {
  auto spec = http_spec();
  spec.fast_recovery = true;
  Checker checker(spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {probe(1s, 0)}},
                   {1'100ms, ProbeSucceeded{}, {probe(1'100ms, 1)}},
                   {1'200ms, ProbeSucceeded{}, {probe(1'200ms, 2)}},
                   {1'300ms, ProbeSucceeded{}, {probe(11'300ms, 0)}},
                   {11'300ms, ProbeSucceeded{}, {probe(21'300ms, 1)}},
                   {21'300ms, refused(), {probe(24'300ms, 1)}},
                   {24'300ms, refused(), {probe(27'300ms, 1)}},
                   {27'300ms, refused(), {down(), probe(37'300ms, 1)}},
                   {37'300ms, refused(), {probe(47'300ms, 1)}},
                   {47'300ms, ProbeSucceeded{}, {probe(47'300ms, 0)}},
                   {47'400ms, ProbeSucceeded{}, {probe(47'400ms, 1)}},
                   {47'500ms, timed_out(), {probe(47'500ms, 1)}},
                   {47'600ms, ProbeSucceeded{}, {probe(47'600ms, 2)}},
                   {47'700ms, ProbeSucceeded{}, {up(), probe(57'700ms, 0)}},
               });
}

// Alpha (§1.1): the checker starts down; a full pass brings it up.
TEST(HttpGet, AlphaIsUpAfterTheFirstCompletePass) {
  auto spec = http_spec();
  spec.alpha = true;
  Checker checker(spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {probe(1s, 0)}},
                   {1s, ProbeSucceeded{}, {probe(11s, 1)}},
                   {11s, ProbeSucceeded{}, {probe(21s, 2)}},
               });
  EXPECT_FALSE(checker.up());
  run(checker, {
                   {21s, ProbeSucceeded{}, {up(), probe(31s, 0)}},
               });
}

// timeout_epilog sets has_run before epilog(RETRY), so update_svr_checker_state is not called:
// unlike the other types, an alpha HTTP checker's first failure confirms nothing (no report).
// The failed url is then probed every max(delay_before_retry, delay_loop).
TEST(HttpGet, AlphaFirstFailureReportsNothing) {
  auto spec = http_spec();
  spec.alpha = true;
  Checker checker(spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {probe(1s, 0)}},
                   {1s, ProbeSucceeded{}, {probe(11s, 1)}},
                   {11s, refused(), {probe(21s, 1)}},
                   {21s, ProbeSucceeded{}, {probe(31s, 0)}},
                   {31s, ProbeSucceeded{}, {probe(41s, 1)}},
                   {41s, ProbeSucceeded{}, {probe(51s, 2)}},
                   {51s, ProbeSucceeded{}, {up(), probe(61s, 0)}},
               });
}

// §0.3: one failure is enough until the first complete pass, on whichever url it happens.
TEST(HttpGet, FirstPassHasNoRetries) {
  const CheckerSpec first_url_spec = http_spec();
  Checker first_url(first_url_spec, FixedRandom{});
  run(first_url, {
                     {0s, Start{}, {probe(1s, 0)}},
                     {1s, refused(), {down(), probe(11s, 0)}},
                 });
  const CheckerSpec later_url_spec = http_spec();
  Checker later_url(later_url_spec, FixedRandom{});
  run(later_url, {
                     {0s, Start{}, {probe(1s, 0)}},
                     {1s, ProbeSucceeded{}, {probe(11s, 1)}},
                     {11s, ProbeSucceeded{}, {probe(21s, 2)}},
                     {21s, timed_out(), {down(Reason::kTimeout), probe(31s, 2)}},
                 });
}

// A reload's new real server starts with retries (first_check_retries), but while the checker
// has not run epilog sets retry_it = retry after every passing url, and timeout_epilog marks it
// run on any failure: the retries last until a url passes first.
TEST(HttpGet, FirstCheckRetriesLastUntilAUrlPasses) {
  const Start with_retries{.alpha_applies = true, .first_check_retries = true};
  const CheckerSpec url_passes_first_spec = http_spec();
  Checker url_passes_first(url_passes_first_spec, FixedRandom{});
  run(url_passes_first, {
                            {0s, with_retries, {probe(1s, 0)}},
                            {1s, ProbeSucceeded{}, {probe(11s, 1)}},
                            {11s, refused(), {down(), probe(21s, 1)}},
                        });
  const CheckerSpec url_fails_first_spec = http_spec();
  Checker url_fails_first(url_fails_first_spec, FixedRandom{});
  run(url_fails_first, {
                           {0s, with_retries, {probe(1s, 0)}},
                           {1s, refused(), {probe(4s, 0)}},
                           {4s, ProbeSucceeded{}, {probe(14s, 1)}},
                           {14s, refused(), {probe(17s, 1)}},
                           {17s, refused(), {probe(20s, 1)}},
                           {20s, refused(), {down(), probe(30s, 1)}},
                       });
}

// §1.4: the http checker has no migrate function: a kept checker starts again at url 0 with no
// failed url. A kept DOWN checker is therefore in the recovery walk: a failing url retries at
// delay_before_retry and every url must pass before UP.
TEST(HttpGet, ReloadKeptDownCheckerWalksEveryUrlFromTheFirst) {
  const CheckerSpec checker_spec = http_spec();
  Checker checker(checker_spec, FixedRandom{});
  run(checker,
      {
          {0s, ReloadKept{.old = {.up = false, .has_run = true, .retry_it = 3}}, {probe(1s, 0)}},
          {1s, refused(), {probe(4s, 0)}},
          {4s, ProbeSucceeded{}, {probe(14s, 1)}},
          {14s, ProbeSucceeded{}, {probe(24s, 2)}},
          {24s, ProbeSucceeded{}, {up(), probe(34s, 0)}},
      });
}

// migrate_checkers: an up checker's retry_it is kept below the new retry: with one retry used,
// one more failure retries and the next takes it down.
TEST(HttpGet, ReloadKeptUpCheckerKeepsItsRetriesNotItsUrl) {
  const CheckerSpec checker_spec = http_spec();
  Checker checker(checker_spec, FixedRandom{});
  run(checker,
      {
          {0s, ReloadKept{.old = {.up = true, .has_run = true, .retry_it = 1}}, {probe(1s, 0)}},
          {1s, refused(), {probe(4s, 0)}},
          {4s, refused(), {down(), probe(14s, 0)}},
      });
}

// http_connect_thread: a local error reschedules the same url at delay_loop.
TEST(HttpGet, ProbeNotRunKeepsTheUrl) {
  const CheckerSpec checker_spec = http_spec();
  Checker checker(checker_spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {probe(1s, 0)}},
                   {1s, ProbeSucceeded{}, {probe(11s, 1)}},
                   {11s, ProbeNotRun{"socket: too many open files"}, {probe(21s, 1)}},
                   {21s, ProbeSucceeded{}, {probe(31s, 2)}},
               });
  EXPECT_EQ(checker.probes_not_run(), 1U);
}

// vigil's opt-in rise counts passing urls while down and holds back UP until a complete pass
// ends with at least `rise` of them.
TEST(HttpGet, RiseCountsPassingUrlsWhileDown) {
  auto spec = http_spec(2);
  spec.retry = 0;
  spec.rise = 4;
  Checker checker(spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {probe(1s, 0)}},
                   {1s, ProbeSucceeded{}, {probe(11s, 1)}},
                   {11s, ProbeSucceeded{}, {probe(21s, 0)}},
                   {21s, refused(), {down(), probe(31s, 0)}},
                   {31s, ProbeSucceeded{}, {probe(41s, 0)}},        // 1: the failed url
                   {41s, ProbeSucceeded{}, {probe(51s, 1)}},        // 2
                   {51s, ProbeSucceeded{}, {probe(61s, 0)}},        // 3: a pass, not enough
                   {61s, ProbeSucceeded{}, {probe(71s, 1)}},        // 4
                   {71s, ProbeSucceeded{}, {up(), probe(81s, 0)}},  // 5, and a pass: UP
               });
}

TEST(HttpGet, ProbeAtNamesItsTarget) {
  EXPECT_EQ(to_string(ProbeAt{.at = TimePoint{Duration{5}}, .target = 2}),
            "ProbeAt(5 us, target 2)");
}

// ---- SMTP_CHECK (smtp_final, smtp_start_check_thread) -------------------------------------------

CheckerSpec smtp_spec() {
  auto spec = spec_of(CheckerType::kSmtp);
  spec.label = "SMTP 10.0.0.1:25";
  spec.identity.detail = SmtpIdentity{.helo_name = "smtpchecker.keepalived.org"};
  return spec;
}

// smtp_start_check_thread zeroes retry_it before every delay_loop probe, the first included: the
// first check has its retries (unlike TCP_CHECK), and a down checker probes `retry` times at
// delay_before_retry, then once at delay_loop. One host, so every probe is target 0.
TEST(SmtpCheck, EveryCycleHasItsRetriesTheFirstToo) {
  const CheckerSpec checker_spec = smtp_spec();
  Checker checker(checker_spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {probe(1s, 0)}},
                   {1s, refused(), {probe(2s, 0)}},
                   {2s, timed_out(), {probe(3s, 0)}},
                   {3s, refused(), {down(), probe(13s, 0)}},
                   {13s, refused(), {probe(14s, 0)}},
                   {14s, refused(), {probe(15s, 0)}},
                   {15s, refused(), {probe(25s, 0)}},
                   {25'300ms, ProbeSucceeded{}, {up(), probe(35'300ms, 0)}},
                   {35'300ms, refused(), {probe(36'300ms, 0)}},
                   {36'300ms, ProbeSucceeded{}, {probe(46'300ms, 0)}},
               });
}

// smtp_final sets has_run only on success (or through update_svr_checker_state): an alpha
// checker confirms DOWN after its 1 + retry attempts, once.
TEST(SmtpCheck, AlphaConfirmsDownAfterItsRetries) {
  auto spec = smtp_spec();
  spec.alpha = true;
  Checker checker(spec, FixedRandom{});
  run(checker, {
                   {0s, Start{}, {probe(1s, 0)}},
                   {1s, refused(), {probe(2s, 0)}},
                   {2s, refused(), {probe(3s, 0)}},
                   {3s,
                    refused(),
                    {Report{.up = false, .changed = false, .reason = Reason::kConnectionRefused},
                     probe(13s, 0)}},
                   {13s, refused(), {probe(14s, 0)}},
                   {14s, refused(), {probe(15s, 0)}},
                   {15s, refused(), {probe(25s, 0)}},
               });
  EXPECT_EQ(checker.transitions(Reason::kConnectionRefused), 0U);
}

// The launch function zeroes retry_it after a reload too, and a local error starts a new cycle.
TEST(SmtpCheck, ReloadAndLocalErrorsStartACycleWithItsRetries) {
  const CheckerSpec checker_spec = smtp_spec();
  Checker checker(checker_spec, FixedRandom{});
  run(checker,
      {
          {0s, ReloadKept{.old = {.up = true, .has_run = true, .retry_it = 2}}, {probe(1s, 0)}},
          {1s, refused(), {probe(2s, 0)}},
          {2s, ProbeNotRun{"bind: address not available"}, {probe(12s, 0)}},
          {12s, refused(), {probe(13s, 0)}},
          {13s, refused(), {probe(14s, 0)}},
          {14s, refused(), {down(), probe(24s, 0)}},
      });
}

// ---- stop, logging --------------------------------------------------------------------------

TEST(Checker, StopCancelsTheProbeAndIgnoresLateResults) {
  const CheckerSpec checker_spec = spec_of(CheckerType::kTcp);
  Checker checker(checker_spec, FixedRandom{});
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
  const CheckerSpec checker_spec = spec_of(CheckerType::kTcp);
  Checker checker(checker_spec, FixedRandom{});
  checker.handle(Start{}, at(0s));
  checker.handle(refused(), at(1s));
  checker.handle(ProbeSucceeded{}, at(11s));
  EXPECT_EQ(capture.text(),
            "info [TCP 10.0.0.1:80] UP -> DOWN (connection refused)\n"
            "info [TCP 10.0.0.1:80] DOWN -> UP (check succeeded)\n");
}

TEST(Checker, HttpRetryLinesNameTheUrl) {
  CheckLogCapture capture;
  auto spec = http_spec();
  spec.log_all_failures = true;
  Checker checker(spec, FixedRandom{});
  first_pass(checker);
  checker.handle(ProbeSucceeded{}, at(31s));
  checker.handle(refused(), at(41s));
  EXPECT_NE(capture.text().find(
                "info [HTTP 10.0.0.1:80] url /u1 failed (connection refused), retry 1/2\n"),
            std::string::npos)
      << capture.text();
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

// A host out of sockets fails every probe: one warning per episode, not one per probe.
TEST(Checker, ProbesNotRunWarnOncePerEpisode) {
  CheckLogCapture capture;
  const CheckerSpec checker_spec = spec_of(CheckerType::kTcp);
  Checker checker(checker_spec, FixedRandom{});
  checker.handle(Start{}, at(0s));
  checker.handle(ProbeNotRun{"socket: too many open files"}, at(1s));
  checker.handle(ProbeNotRun{"socket: too many open files"}, at(11s));
  checker.handle(ProbeNotRun{"socket: too many open files"}, at(21s));
  checker.handle(ProbeSucceeded{}, at(31s));
  checker.handle(ProbeNotRun{"bind: address not available"}, at(41s));
  EXPECT_EQ(checker.probes_not_run(), 4U);
  EXPECT_EQ(capture.text(),
            "warning [TCP 10.0.0.1:80] probe not run: socket: too many open files (repeats "
            "logged at debug until a probe runs)\n"
            "info [TCP 10.0.0.1:80] probes run again after 3 not run\n"
            "warning [TCP 10.0.0.1:80] probe not run: bind: address not available (repeats "
            "logged at debug until a probe runs)\n");
}

}  // namespace
}  // namespace vigil::check
