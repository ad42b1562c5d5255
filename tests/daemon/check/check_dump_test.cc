// The SIGUSR1 / SIGUSR2 checker dumps, byte for byte: their layout is documented (docs/config.md)
// and read by scripts, so it only changes on purpose.
#include "daemon/check/check_dump.h"

#include <gtest/gtest.h>

#include <string>

#include "api/golden.h"

namespace vigil::daemon {
namespace {

using Status = check::CheckEngine::CheckerStatus;

constexpr TimePoint kNow{Duration{1'000'000'000}};

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

CheckDumpInput two_servers() {
  Status tcp{
      .label = "TCP 192.168.1.10:80",
      .virtual_server = "[10.0.0.100]:tcp:80",
      .real_server = {ip("192.168.1.10"), 80},
      .up = true,
      .has_run = true,
      .next_probe = kNow + 1500ms,
      .probes = 12,
      .last_latency = Duration{250},
      .last_completed = kNow - 2500ms,
      .type = config::CheckerType::kTcp,
  };
  tcp.failures[static_cast<size_t>(check::Reason::kConnectionRefused)] = 2;
  tcp.failures[static_cast<size_t>(check::Reason::kTimeout)] = 1;
  Status http{
      .label = "HTTP_GET 192.168.1.10:8080",
      .virtual_server = "[10.0.0.100]:tcp:80",
      .real_server = {ip("192.168.1.10"), 80},
      .up = false,
      .has_run = true,
      .dynamic_weight = -3,
      .probes = 4,
      .last_completed = kNow - 30s,
      .type = config::CheckerType::kHttp,
      .last_error = "status 500\nfrom the server",
  };
  http.failures[static_cast<size_t>(check::Reason::kBadReply)] = 4;
  Status misc{
      .label = "MISC /bin/check.sh",
      .virtual_server = "FWM 7",
      .real_server = {ip("2001:db8::1"), 0},
      .up = true,
      .has_run = false,
      .next_probe = kNow - 2ms,
      .probes_not_run = 1,
      .type = config::CheckerType::kMisc,
  };
  return CheckDumpInput{.checkers = {tcp, http, misc}, .left_out = 1, .now = kNow};
}

TEST(CheckDump, DataShowsEachCheckerUnderItsVirtualAndRealServer) {
  EXPECT_EQ(format_check_data(two_servers()),
            "------< Health checkers >------\n"
            " Checkers = 3\n"
            " Left out (no probe for their type yet) = 1\n"
            " Virtual server = [10.0.0.100]:tcp:80\n"
            "  Real server = [192.168.1.10]:80\n"
            "   Checker = TCP 192.168.1.10:80\n"
            "     State = UP\n"
            "     Has run = yes\n"
            "     Dynamic weight = 0\n"
            "     Next probe = in 1.500 s\n"
            "     Last latency = 0.250 ms\n"
            "     Last error = none\n"
            "   Checker = HTTP_GET 192.168.1.10:8080\n"
            "     State = DOWN\n"
            "     Has run = yes\n"
            "     Dynamic weight = -3\n"
            "     Next probe = none\n"
            "     Last latency = none\n"
            "     Last error = status 500 from the server\n"
            " Virtual server = FWM 7\n"
            "  Real server = [2001:db8::1]:0\n"
            "   Checker = MISC /bin/check.sh\n"
            "     State = UP\n"
            "     Has run = no\n"
            "     Dynamic weight = 0\n"
            "     Next probe = overdue by 0.002 s\n"
            "     Last latency = none\n"
            "     Last error = none\n");
}

// checker_share_probes: a shared checker is still listed under its own servers, and says so.
TEST(CheckDump, DataSaysASharedCheckerIsShared) {
  Status tcp{
      .label = "TCP 192.168.1.10:80",
      .virtual_server = "[10.0.0.100]:tcp:80",
      .real_server = {ip("192.168.1.10"), 80},
      .shared_with = 2,
  };
  const std::string data = format_check_data({.checkers = {tcp}, .now = kNow});
  EXPECT_NE(data.find("     Last error = none\n"
                      "     Shared probes = with 2 identical checkers\n"),
            std::string::npos)
      << data;
}

TEST(CheckDump, StatsCountEveryFailureReasonAndTheProber) {
  const check_io::ProberCounters prober{.started = 20,
                                        .succeeded = 12,
                                        .failed = 7,
                                        .not_run = 1,
                                        .cancelled = 2,
                                        .tls_handshakes = 3,
                                        .tls_resumed = 1,
                                        .response_bytes = 4096,
                                        .ignored_replies = 5};
  event::TimerLateness lateness;
  lateness.count = 10;
  lateness.max = Duration{120};
  lateness.buckets[0] = 8;  // <= 50 us
  lateness.buckets[2] = 2;  // <= 250 us
  const std::string text = format_check_stats(
      two_servers(), prober, lateness,
      event::WatchdogCounters{.stalls = 1, .longest = std::chrono::milliseconds(3500)});
  const std::string tcp_block =
      "Virtual server: [10.0.0.100]:tcp:80\n"
      "  Real server: [192.168.1.10]:80\n"
      "    Checker: TCP 192.168.1.10:80\n"
      "      State: UP\n"
      "      Probes: 12\n"
      "      Not run: 0\n"
      "      Failures: 3\n"
      "        connection refused: 2\n"
      "        timeout: 1\n"
      "        unreachable: 0\n"
      "        connection reset: 0\n"
      "        bad reply: 0\n"
      "        script exit status: 0\n"
      "        script killed by a signal: 0\n"
      "        script timed out: 0\n"
      "        file value: 0\n"
      "    Checker: HTTP_GET 192.168.1.10:8080\n";
  EXPECT_EQ(text.substr(0, tcp_block.size()), tcp_block);
  EXPECT_NE(text.find("      Failures: 4\n        connection refused: 0\n"), std::string::npos);
  EXPECT_NE(text.find("Virtual server: FWM 7\n  Real server: [2001:db8::1]:0\n"
                      "    Checker: MISC /bin/check.sh\n      State: UP\n      Probes: 0\n"
                      "      Not run: 1\n"),
            std::string::npos);
  const std::string tail =
      "Prober:\n"
      "  Probes started: 20\n"
      "  Succeeded: 12\n"
      "  Failed: 7\n"
      "  Not run: 1\n"
      "  Cancelled: 2\n"
      "  TLS handshakes: 3\n"
      "  TLS sessions resumed: 1\n"
      "  HTTP response bytes: 4096\n"
      "  DNS datagrams ignored: 5\n"
      "Timer lateness (check thread): 10 callbacks, max 120 us, p99 <= 250 us\n"
      "Check loop stalls (2 s or more without turning): 1, longest 3500 ms\n";
  ASSERT_GE(text.size(), tail.size());
  EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
}

TEST(CheckDump, NoCheckers) {
  EXPECT_EQ(format_check_data(CheckDumpInput{.now = kNow}),
            "------< Health checkers >------\n"
            " Checkers = 0\n"
            " Left out (no probe for their type yet) = 0\n");
  const std::string stats = format_check_stats(CheckDumpInput{.now = kNow}, {}, {});
  EXPECT_EQ(stats.rfind("Prober:\n", 0), 0U) << stats;
  EXPECT_NE(stats.find("Timer lateness (check thread): 0 callbacks, max 0 us, p99 <= 0 us\n"),
            std::string::npos)
      << stats;
}

// GET /metrics from the same status: totals and per virtual server at basic, per real server and
// checker at full only.
TEST(CheckMetrics, BasicKeepsTotalsAndFullAddsRealServersAndCheckers) {
  using Service = check::CheckEngine::ServiceStatus;
  Service service{.label = "[10.0.0.100]:tcp:80",
                  .protocol_name = "tcp",
                  .quorum_up = true,
                  .live_weight = 1,
                  .quorum = 1,
                  .real_servers = {{.key = {ip("192.168.1.10"), 80}, .alive = true, .weight = 1},
                                   {.key = {ip("192.168.1.11"), 80}, .alive = false}}};
  const auto input = two_servers();
  const std::string basic = api::render_metrics(
      {check_metrics(input.checkers, {service}, {.prober = {.response_bytes = 512}, .now = kNow},
                     api::MetricsDetail::kBasic)});
  EXPECT_NE(basic.find("vigil_virtual_server_real_servers{virtual_server=\"[10.0.0.100]:tcp:80\","
                       "health=\"alive\"} 1\n"),
            std::string::npos)
      << basic;
  EXPECT_NE(basic.find("vigil_check_results_total{result=\"connection_refused\"} 2\n"),
            std::string::npos)
      << basic;
  EXPECT_NE(basic.find("vigil_check_results_total{result=\"bad_reply\"} 4\n"), std::string::npos);
  EXPECT_NE(basic.find("vigil_check_probes_not_run_total 1\n"), std::string::npos);
  EXPECT_NE(basic.find("vigil_check_http_response_bytes_total 512\n"), std::string::npos);
  EXPECT_NE(basic.find("vigil_checkers 3\n"), std::string::npos);
  EXPECT_EQ(basic.find("real_server="), std::string::npos) << basic;
  EXPECT_EQ(basic.find("checker="), std::string::npos) << basic;

  const std::string full = api::render_metrics(
      {check_metrics(input.checkers, {service}, {.now = kNow}, api::MetricsDetail::kFull)});
  EXPECT_NE(full.find("vigil_real_server_health{virtual_server=\"[10.0.0.100]:tcp:80\","
                      "real_server=\"[192.168.1.11]:tcp:80\",health=\"dead\"} 1\n"),
            std::string::npos)
      << full;
  EXPECT_NE(full.find("vigil_check_last_duration_seconds{virtual_server=\"[10.0.0.100]:tcp:80\","
                      "checker=\"TCP 192.168.1.10:80\"} 0.00025\n"),
            std::string::npos)
      << full;
  EXPECT_NE(full.find("vigil_checker_up{virtual_server=\"[10.0.0.100]:tcp:80\","
                      "checker=\"HTTP_GET 192.168.1.10:8080\"} 0\n"),
            std::string::npos)
      << full;
}

// The probe timings: durations by checker type (the types running), the schedule's slip, and
// the age of the last completed probe, per virtual server (the oldest) at basic and per checker
// at full. The exposition is a golden file that promtool checks (api.metrics.promtool).
TEST(CheckMetrics, TimingsAndAges) {
  using Service = check::CheckEngine::ServiceStatus;
  const Service service{.label = "[10.0.0.100]:tcp:80", .protocol_name = "tcp"};
  CheckDumpInput input = two_servers();
  CheckMetricsInput timings{.now = kNow};
  auto& tcp = timings.timings.duration[static_cast<size_t>(config::CheckerType::kTcp)];
  tcp.record(3ms, check::CheckTimings::kDurationBounds);
  tcp.record(40s, check::CheckTimings::kDurationBounds);  // above every bound: only in +Inf
  timings.timings.slip.record(Duration{50}, check::CheckTimings::kSlipBounds);
  timings.timings.slip.record(20ms, check::CheckTimings::kSlipBounds);

  const std::string basic = api::render_metrics(
      {check_metrics(input.checkers, {service}, timings, api::MetricsDetail::kBasic)});
  EXPECT_NE(
      basic.find("vigil_check_duration_seconds_bucket{checker_type=\"TCP_CHECK\",le=\"0.005\"} "
                 "1\n"),
      std::string::npos)
      << basic;
  EXPECT_NE(
      basic.find("vigil_check_duration_seconds_bucket{checker_type=\"TCP_CHECK\",le=\"30\"} 1\n"),
      std::string::npos);
  EXPECT_NE(basic.find("vigil_check_duration_seconds_count{checker_type=\"TCP_CHECK\"} 2\n"),
            std::string::npos);
  EXPECT_NE(basic.find("vigil_check_duration_seconds_sum{checker_type=\"TCP_CHECK\"} 40.003\n"),
            std::string::npos);
  // HTTP_GET and MISC_CHECK run (zero observations); SSL_GET does not: no series.
  EXPECT_NE(basic.find("vigil_check_duration_seconds_count{checker_type=\"HTTP_GET\"} 0\n"),
            std::string::npos);
  EXPECT_NE(basic.find("vigil_check_duration_seconds_count{checker_type=\"MISC_CHECK\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(basic.find("SSL_GET"), std::string::npos);
  EXPECT_NE(basic.find("vigil_check_schedule_slip_seconds_bucket{le=\"0.0001\"} 1\n"),
            std::string::npos);
  EXPECT_NE(basic.find("vigil_check_schedule_slip_seconds_bucket{le=\"0.05\"} 2\n"),
            std::string::npos);
  // The virtual server's oldest completion is HTTP_GET's, 30 s ago; FWM 7's MISC_CHECK never
  // completed one: no series.
  EXPECT_NE(
      basic.find("vigil_check_last_completed_age_seconds{virtual_server=\"[10.0.0.100]:tcp:80\"} "
                 "30\n"),
      std::string::npos);
  EXPECT_EQ(basic.find("vigil_check_last_completed_age_seconds{virtual_server=\"FWM 7\"}"),
            std::string::npos);
  EXPECT_EQ(basic.find("vigil_checker_last_completed_age_seconds{"), std::string::npos);

  // A paused checker is left out of the oldest.
  input.checkers[1].paused = true;
  const std::string paused = api::render_metrics(
      {check_metrics(input.checkers, {service}, timings, api::MetricsDetail::kBasic)});
  EXPECT_NE(
      paused.find("vigil_check_last_completed_age_seconds{virtual_server=\"[10.0.0.100]:tcp:80\"} "
                  "2.5\n"),
      std::string::npos)
      << paused;
  input.checkers[1].paused = false;

  const std::string full = api::render_metrics(
      {check_metrics(input.checkers, {service}, timings, api::MetricsDetail::kFull)});
  EXPECT_NE(
      full.find("vigil_checker_last_completed_age_seconds{virtual_server=\"[10.0.0.100]:tcp:80\","
                "checker=\"TCP 192.168.1.10:80\"} 2.5\n"),
      std::string::npos)
      << full;
  api::testing::expect_golden("check_metrics.txt", full);
}

}  // namespace
}  // namespace vigil::daemon
