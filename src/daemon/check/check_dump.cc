// The SIGUSR1 / SIGUSR2 checker dumps as text (see check_dump.h).
#include "daemon/check/check_dump.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string_view>

#include "check/checker.h"

namespace vigil::daemon {
namespace {

using Status = check::CheckEngine::CheckerStatus;

// "1.500" from 1500000 us: integer arithmetic, so the text never depends on rounding.
std::string thousandths(int64_t value) {
  const int64_t magnitude = std::llabs(value);
  return fmt::format("{}{}.{:03}", value < 0 ? "-" : "", magnitude / 1000, magnitude % 1000);
}

std::string seconds_text(Duration d) {
  return thousandths(d.count() / 1000) + " s";
}

std::string next_probe_text(const Status& checker, TimePoint now) {
  if (!checker.next_probe) return "none";  // a probe is running, or the checker is stopped
  const Duration left = *checker.next_probe - now;
  return left >= Duration::zero() ? "in " + seconds_text(left)
                                  : "overdue by " + seconds_text(-left);
}

// A probe's error text on one line: the dump is read line by line.
std::string one_line(std::string_view text) {
  if (text.empty()) return "none";
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::string real_server_text(const check::RealServerKey& key) {
  return fmt::format("[{}]:{}", key.address.to_string(), key.port);
}

uint64_t failure_total(const Status& checker) {
  uint64_t total = 0;
  for (size_t i = 0; i < check::kReasonCount; ++i) {
    if (static_cast<check::Reason>(i) != check::Reason::kSucceeded) total += checker.failures[i];
  }
  return total;
}

// Calls `header(level, text)` when the virtual server or real server changes, then `body`.
template <class Header, class Body>
void for_each_checker(const CheckDumpInput& input, Header header, Body body) {
  const Status* previous = nullptr;
  for (const auto& checker : input.checkers) {
    const bool new_vs = previous == nullptr || previous->virtual_server != checker.virtual_server;
    if (new_vs) header(0, checker.virtual_server);
    if (new_vs || previous->real_server != checker.real_server)
      header(1, real_server_text(checker.real_server));
    body(checker);
    previous = &checker;
  }
}

}  // namespace

std::string format_check_data(const CheckDumpInput& input) {
  std::string out = "------< Health checkers >------\n";
  fmt::format_to(std::back_inserter(out), " Checkers = {}\n", input.checkers.size());
  fmt::format_to(std::back_inserter(out), " Left out (no probe for their type yet) = {}\n",
                 input.left_out);
  for_each_checker(
      input,
      [&](int level, const std::string& name) {
        out += level == 0 ? " Virtual server = " : "  Real server = ";
        out += name + "\n";
      },
      [&](const Status& c) {
        auto line = [&](std::string_view key, const std::string& value) {
          fmt::format_to(std::back_inserter(out), "     {} = {}\n", key, value);
        };
        out += "   Checker = " + c.label + "\n";
        line("State", c.up ? "UP" : "DOWN");
        line("Has run", c.has_run ? "yes" : "no");
        line("Dynamic weight", std::to_string(c.dynamic_weight));
        line("Next probe", next_probe_text(c, input.now));
        line("Last latency",
             c.last_latency ? thousandths(c.last_latency->count()) + " ms" : "none");
        line("Last error", one_line(c.last_error));
        if (c.shared_with > 0)  // checker_share_probes only
          line("Shared probes", fmt::format("with {} identical checkers", c.shared_with));
      });
  return out;
}

std::string format_check_stats(const CheckDumpInput& input, const check_io::ProberCounters& prober,
                               const event::TimerLateness& lateness,
                               const event::WatchdogCounters& stalls) {
  std::string out;
  auto put = std::back_inserter(out);
  for_each_checker(
      input,
      [&](int level, const std::string& name) {
        out += level == 0 ? "Virtual server: " : "  Real server: ";
        out += name + "\n";
      },
      [&](const Status& c) {
        out += "    Checker: " + c.label + "\n";
        fmt::format_to(put, "      State: {}\n", c.up ? "UP" : "DOWN");
        fmt::format_to(put, "      Probes: {}\n", c.probes);
        fmt::format_to(put, "      Not run: {}\n", c.probes_not_run);
        fmt::format_to(put, "      Failures: {}\n", failure_total(c));
        for (size_t i = 0; i < check::kReasonCount; ++i) {
          const auto reason = static_cast<check::Reason>(i);
          if (reason == check::Reason::kSucceeded) continue;
          fmt::format_to(put, "        {}: {}\n", check::to_string(reason), c.failures[i]);
        }
      });
  out += "Prober:\n";
  fmt::format_to(put, "  Probes started: {}\n", prober.started);
  fmt::format_to(put, "  Succeeded: {}\n", prober.succeeded);
  fmt::format_to(put, "  Failed: {}\n", prober.failed);
  fmt::format_to(put, "  Not run: {}\n", prober.not_run);
  fmt::format_to(put, "  Cancelled: {}\n", prober.cancelled);
  fmt::format_to(put, "  TLS handshakes: {}\n", prober.tls_handshakes);
  fmt::format_to(put, "  TLS sessions resumed: {}\n", prober.tls_resumed);
  fmt::format_to(put, "  HTTP response bytes: {}\n", prober.response_bytes);
  fmt::format_to(put, "  DNS datagrams ignored: {}\n", prober.ignored_replies);
  const Duration p99 = lateness.quantile_bound(0.99);
  fmt::format_to(
      put, "Timer lateness (check thread): {} callbacks, max {} us, p99 {}\n", lateness.count,
      lateness.max.count(),
      p99 == Duration::max() ? std::string("> 100000 us") : fmt::format("<= {} us", p99.count()));
  fmt::format_to(put, "Check loop stalls (2 s or more without turning): {}, longest {} ms{}\n",
                 stalls.stalls,
                 std::chrono::duration_cast<std::chrono::milliseconds>(stalls.longest).count(),
                 stalls.stalled_now ? ", stalled now" : "");
  return out;
}

api::MetricsPart check_metrics(const std::vector<check::CheckEngine::CheckerStatus>& checkers,
                               const std::vector<check::CheckEngine::ServiceStatus>& services,
                               const CheckMetricsInput& input, api::MetricsDetail detail) {
  const check_io::ProberCounters& prober = input.prober;
  const event::TimerLateness& lateness = input.lateness;
  using api::MetricType;
  api::MetricsPart part;
  auto& total = part.family("virtual_server_real_servers",
                            "Real servers of the virtual server, by health.", MetricType::kGauge);
  auto& quorum = part.family("virtual_server_quorum_up",
                             "1 while the live weight reaches the quorum.", MetricType::kGauge);
  auto& live_weight = part.family("virtual_server_live_weight",
                                  "Sum of the alive real servers' weights.", MetricType::kGauge);
  auto& sorry = part.family("virtual_server_sorry_server_active",
                            "1 while the sorry server stands in.", MetricType::kGauge);
  for (const auto& service : services) {
    const api::MetricLabels labels{{"virtual_server", service.label}};
    size_t alive = 0;
    for (const auto& rs : service.real_servers)
      alive += rs.alive ? 1 : 0;
    total.add({{"virtual_server", service.label}, {"health", "alive"}}, static_cast<double>(alive));
    total.add({{"virtual_server", service.label}, {"health", "dead"}},
              static_cast<double>(service.real_servers.size() - alive));
    quorum.add(labels, service.quorum_up ? 1 : 0);
    live_weight.add(labels, static_cast<double>(service.live_weight));
    sorry.add(labels, service.sorry_active ? 1 : 0);
  }
  // Results summed over every checker: bounded by the number of reasons.
  std::array<uint64_t, check::kReasonCount> results{};
  uint64_t not_run = 0;
  for (const auto& c : checkers) {
    for (size_t i = 0; i < check::kReasonCount; ++i)
      results[i] += c.failures[i];
    not_run += c.probes_not_run;
  }
  part.family("checkers", "Checkers running.", MetricType::kGauge)
      .add({}, static_cast<double>(checkers.size()));
  auto& by_result = part.family("check_results",
                                "Probe results of every checker, by result (succeeded or why "
                                "the probe failed).",
                                MetricType::kCounter);
  for (size_t i = 0; i < check::kReasonCount; ++i) {
    by_result.add({{"result", api::label_slug(check::to_string(static_cast<check::Reason>(i)))}},
                  static_cast<double>(results[i]));
  }
  part.family("check_probes_not_run",
              "Probes that could not be started (no socket, script not run).", MetricType::kCounter)
      .add({}, static_cast<double>(not_run));
  part.family("check_http_response_bytes", "HTTP response bytes the checkers read.",
              MetricType::kCounter)
      .add({}, static_cast<double>(prober.response_bytes));
  part.family("timer_lateness_seconds", "How late a thread's loop ran its timers and posted work.",
              MetricType::kHistogram)
      .histograms.push_back(
          api::lateness_histogram({{"thread", "check"}}, event::TimerLateness::kBucketBounds,
                                  lateness.buckets, lateness.count, lateness.total));
  // Durations by checker type: the types running, and any that counted before a reload.
  std::array<bool, check::kCheckerTypeCount> running{};
  for (const auto& c : checkers)
    running[static_cast<size_t>(c.type)] = true;
  auto& durations = part.family("check_duration_seconds",
                                "How long completed probes took (succeeded or failed), by "
                                "checker type.",
                                MetricType::kHistogram);
  for (size_t t = 0; t < check::kCheckerTypeCount; ++t) {
    const auto& h = input.timings.duration[t];
    if (h.count == 0 && !running[t]) continue;
    if (static_cast<config::CheckerType>(t) == config::CheckerType::kFile) continue;  // no probe
    durations.histograms.push_back(api::lateness_histogram(
        {{"checker_type", std::string(config::to_string(static_cast<config::CheckerType>(t)))}},
        check::CheckTimings::kDurationBounds, h.buckets, h.count, h.total));
  }
  const auto& slip = input.timings.slip;
  part.family("check_schedule_slip_seconds",
              "How long after the time the checker's schedule asked for a probe the check thread "
              "started it.",
              MetricType::kHistogram)
      .histograms.push_back(api::lateness_histogram({}, check::CheckTimings::kSlipBounds,
                                                    slip.buckets, slip.count, slip.total));
  // The oldest last completion among each virtual server's running (not paused) checkers that
  // completed a probe; checkers come in the services' order.
  auto age = [&](TimePoint completed) {
    return std::chrono::duration<double>(input.now - completed).count();
  };
  auto& oldest = part.family("check_last_completed_age_seconds",
                             "Seconds since the last completed probe of the virtual server's "
                             "checker that has gone longest without one (paused checkers and "
                             "those with no completed probe yet left out).",
                             MetricType::kGauge);
  for (size_t i = 0; i < checkers.size();) {
    const std::string& vs = checkers[i].virtual_server;
    std::optional<TimePoint> first;
    for (; i < checkers.size() && checkers[i].virtual_server == vs; ++i) {
      const auto& c = checkers[i];
      if (c.paused || !c.last_completed) continue;
      if (!first || *c.last_completed < *first) first = c.last_completed;
    }
    if (first) oldest.add({{"virtual_server", vs}}, age(*first));
  }
  if (detail != api::MetricsDetail::kFull) return part;
  constexpr std::array<std::string_view, 2> kHealth = {"alive", "dead"};
  auto& health = part.family("real_server_health",
                             "The real server's health as the checkers see it (a state set).",
                             MetricType::kGauge);
  auto& weight = part.family("real_server_weight",
                             "The real server's effective weight (configured plus dynamic).",
                             MetricType::kGauge);
  for (const auto& service : services) {
    for (const auto& rs : service.real_servers) {
      const api::MetricLabels labels{
          {"virtual_server", service.label},
          {"real_server", check::format_real_server(rs.key, service.protocol_name)}};
      health.add_state_set(labels, "health", kHealth, rs.alive ? "alive" : "dead");
      weight.add(labels, static_cast<double>(rs.weight));
    }
  }
  auto& duration =
      part.family("check_last_duration_seconds",
                  "How long the checker's last completed probe took.", MetricType::kGauge);
  auto& checker_up = part.family("checker_up", "1 while the checker says its real server is up.",
                                 MetricType::kGauge);
  auto& checker_age =
      part.family("checker_last_completed_age_seconds",
                  "Seconds since the checker's last probe completed (succeeded or failed).",
                  MetricType::kGauge);
  for (const auto& c : checkers) {
    // The checker's label names its target ("TCP 10.0.0.1:80"); a real server's checkers differ.
    const api::MetricLabels labels{{"virtual_server", c.virtual_server}, {"checker", c.label}};
    checker_up.add(labels, c.up ? 1 : 0);
    if (c.last_latency)
      duration.add(labels, std::chrono::duration<double>(*c.last_latency).count());
    if (c.last_completed) checker_age.add(labels, age(*c.last_completed));
  }
  return part;
}

}  // namespace vigil::daemon
