// vigil-vip-probe: sends an ICMP echo request to a virtual IP every few milliseconds and reports
// what a client saw during a failover: replies, losses, the longest gap between two replies and
// the first reply after a given instant. The kernel of whichever director holds the VIP answers,
// so no responder is needed. Runs in the client's network namespace of a test lab; it is a
// measuring instrument, not part of the daemon, so it reads the clocks itself.
//
//   vigil-vip-probe --target IP [--interval-ms 2] [--duration S] [--mark-file FILE]
//                   [--realtime PRIO]
//   vigil-vip-probe --watch-address IP [--duration S] [--realtime PRIO]
//
// It stops after --duration seconds or at SIGINT/SIGTERM, then prints one JSON object. Every time
// is CLOCK_MONOTONIC in seconds (the benchmark takes its fault time from the same clock; network
// namespaces share it). When --mark-file names a file holding such a time (written by the
// benchmark at the moment of the fault), the report includes the last reply before and the first
// reply after that instant and the longest gap that spans it.
//
// --watch-address runs in a director's namespace instead: it listens for RTM_NEWADDR/RTM_DELADDR
// on its own rtnetlink socket and prints one JSON line per addition or removal of IP, stamped when
// the event arrived, then the summary object.
//
// The prober and the watcher are src/lab/probe.h's (vigil-lab uses the same ones); this file is
// their command line and JSON output.
//
// --realtime PRIO runs the tool at SCHED_FIFO PRIO with its memory locked, above the daemons
// (SCHED_RR vrrp_rt_priority) and the load, so its timestamps are not late because it was not
// scheduled. It also measures its own scheduling: "max_stall_ms" is the longest time it was late
// for a wake-up (a send in probe mode, a 1 ms tick in watch mode), and "stalls_over_1ms" counts
// them. A stall longer than the probe interval means the run's timestamps can be late by as much.
#include <poll.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <string>

#include "lab/probe.h"

namespace {

using vigil::lab::monotonic_seconds;

volatile std::sig_atomic_t stop_requested = 0;
void on_stop_signal(int) {
  stop_requested = 1;
}

void print_stalls(const vigil::lab::StallMeter& stalls) {
  std::printf(", \"max_stall_ms\": %.3f, \"stalls_over_1ms\": %zu, \"stalls\": [",
              stalls.max * 1000.0, stalls.over_1ms);
  for (size_t i = 0; i < stalls.kept.size(); ++i)
    std::printf("%s[%.6f, %.3f]", i ? ", " : "", stalls.kept[i].first,
                stalls.kept[i].second * 1000.0);
  std::printf("]");
}

struct Options {
  std::string target;
  std::string watch_address;
  double interval_ms = 2.0;
  double duration_s = 10.0;
  std::string mark_file;
  int realtime = 0;
};

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "vigil-vip-probe: %s\nusage: vigil-vip-probe --target IP [--interval-ms MS] "
               "[--duration S] [--mark-file FILE] [--realtime PRIO]\n"
               "       vigil-vip-probe --watch-address IP [--duration S] [--realtime PRIO]\n",
               message);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
    std::string value = argv[++i];
    if (arg == "--target") {
      options.target = value;
    } else if (arg == "--interval-ms") {
      options.interval_ms = std::atof(value.c_str());
    } else if (arg == "--duration") {
      options.duration_s = std::atof(value.c_str());
    } else if (arg == "--mark-file") {
      options.mark_file = value;
    } else if (arg == "--watch-address") {
      options.watch_address = value;
    } else if (arg == "--realtime") {
      options.realtime = std::atoi(value.c_str());
    } else {
      usage(("unknown option " + arg).c_str());
    }
  }
  if (options.target.empty() == options.watch_address.empty())
    usage("one of --target and --watch-address is required");
  if (options.realtime < 0 || options.realtime > 99) usage("--realtime: 1-99");
  if (options.interval_ms < 0.1 || options.interval_ms > 1000) usage("--interval-ms: 0.1-1000");
  if (options.duration_s <= 0 || options.duration_s > 7200) usage("--duration: 0-7200 s");
  return options;
}

std::optional<double> read_mark(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path);
  double mark = 0;
  if (in >> mark) return mark;
  return std::nullopt;
}

int probe(const Options& options) {
  vigil::lab::EchoProber prober;
  std::string error;
  if (!prober.open(options.target, error)) {
    std::fprintf(stderr, "vigil-vip-probe: %s\n", error.c_str());
    return 1;
  }
  prober.run(options.interval_ms / 1000.0, monotonic_seconds() + options.duration_s,
             [] { return stop_requested != 0; });
  const auto replies = prober.replies();
  const auto mark = read_mark(options.mark_file);
  const auto s = vigil::lab::summarize_replies(replies, mark);
  const size_t sent = prober.sent();
  std::printf(
      "{\"target\": \"%s\", \"interval_ms\": %.3f, \"sent\": %zu, \"received\": %zu, "
      "\"lost\": %zu, \"duplicates\": %zu, \"send_errors\": %zu, \"longest_gap_ms\": %.3f, "
      "\"longest_gap_from\": %.6f, \"longest_gap_to\": %.6f",
      options.target.c_str(), options.interval_ms, sent, s.received,
      sent - std::min(s.received, sent), prober.duplicates(), prober.send_errors(),
      s.longest_gap * 1000.0, s.longest_gap_from, s.longest_gap_to);
  print_stalls(prober.stalls());
  if (s.first_reply)
    std::printf(", \"first_reply\": %.6f, \"last_reply\": %.6f", *s.first_reply, *s.last_reply);
  if (mark) {
    std::printf(
        ", \"mark\": %.6f, \"longest_gap_after_mark_ms\": %.3f, "
        "\"longest_gap_after_mark_from\": %.6f",
        *mark, s.longest_gap_after_mark * 1000.0, s.longest_gap_after_mark_from);
    if (s.last_before_mark) std::printf(", \"last_reply_before_mark\": %.6f", *s.last_before_mark);
    if (s.first_after_mark) {
      std::printf(", \"first_reply_after_mark\": %.6f, \"mark_to_first_reply_ms\": %.3f",
                  *s.first_after_mark, (*s.first_after_mark - *mark) * 1000.0);
    }
    if (s.last_before_mark && s.first_after_mark)
      std::printf(", \"gap_across_mark_ms\": %.3f",
                  (*s.first_after_mark - *s.last_before_mark) * 1000.0);
  }
  std::printf("}\n");
  return 0;
}

// Watches one address appear and disappear on any interface of the namespace; wakes every 1 ms
// tick to measure its own scheduling.
int watch(const Options& options) {
  vigil::lab::AddressWatcher watcher;
  std::string error;
  if (!watcher.open({options.watch_address}, error)) {
    std::fprintf(stderr, "vigil-vip-probe: %s\n", error.c_str());
    return 1;
  }
  vigil::lab::StallMeter stalls;
  size_t added = 0, removed = 0, overruns = 0;
  const double tick = 0.001;
  const double end = monotonic_seconds() + options.duration_s;
  double next_tick = monotonic_seconds() + tick;
  // Bounded by the duration.
  while (stop_requested == 0) {
    double now = monotonic_seconds();
    if (now >= end) break;
    if (now >= next_tick) {
      stalls.record(now, now - next_tick);
      next_tick = now + tick;
    }
    const double wait = std::max(next_tick - now, 0.0);
    timespec timeout{.tv_sec = static_cast<time_t>(wait),
                     .tv_nsec = static_cast<long>(
                         (wait - static_cast<double>(static_cast<time_t>(wait))) * 1e9)};
    pollfd pfd{.fd = watcher.fd(), .events = POLLIN, .revents = 0};
    if (ppoll(&pfd, 1, &timeout, nullptr) > 0) {
      watcher.drain(
          [&](const vigil::lab::AddressEvent& e) {
            (e.added ? added : removed)++;
            std::printf("{\"event\": \"%s\", \"at\": %.6f, \"ifindex\": %u}\n",
                        e.added ? "added" : "removed", e.at, e.ifindex);
            std::fflush(stdout);
          },
          [&](double at) {
            ++overruns;
            std::printf("{\"event\": \"overrun\", \"at\": %.6f}\n", at);
            std::fflush(stdout);
          });
    }
  }
  std::printf("{\"watch_address\": \"%s\", \"added\": %zu, \"removed\": %zu, \"overruns\": %zu",
              options.watch_address.c_str(), added, removed, overruns);
  print_stalls(stalls);
  std::printf("}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::string error;
  if (!vigil::lab::go_realtime(options.realtime, error)) {
    std::fprintf(stderr, "vigil-vip-probe: %s\n", error.c_str());
    return 1;
  }
  return options.watch_address.empty() ? probe(options) : watch(options);
}
