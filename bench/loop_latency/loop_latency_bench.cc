// bench/loop_latency: how late a VRRP-like periodic timer runs on a SCHED_RR event loop while
// (a) a SCHED_OTHER thread posts into the loop as fast as it can (a lock shared without
// priority inheritance would let the preempted poster stall the loop), and (b) the loop's
// ProcessScriptRunner starts 50 scripts at once (fork/exec work done on the loop thread).
//
//   vigil-loop-latency-bench [RUNS]     (root: SCHED_RR needs CAP_SYS_NICE)
//
// Prints one line per scenario and run, then the median and worst of each scenario's worst tick
// lateness. Exits 1 when a scenario's worst exceeds the 3 ms target, 2 when it cannot run.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "event/event_loop.h"
#include "event/script_runner.h"

namespace {

using namespace std::chrono_literals;
using vigil::Duration;
using vigil::Scheduler;
using vigil::TimePoint;
using vigil::event::LoopThread;

constexpr Duration kTarget = 3ms;

struct Outcome {
  bool completed = false;
  Duration worst{0};
  int ticks = 0;
  std::string detail;
};

// Runs `ticks` fixed-rate ticks of `period` on `thread`'s loop, calling `setup` on the loop
// first; returns once every tick ran (or after 20 s). Lateness is measured against the
// schedule, so a late tick does not move the later ones.
Outcome run_ticks(LoopThread& thread, Duration period, int ticks,
                  const std::function<void()>& setup) {
  Outcome outcome;
  TimePoint next{};
  std::function<void()> tick;
  std::promise<void> done;
  thread.loop().post([&] {
    setup();
    Scheduler& scheduler = thread.loop().scheduler();
    next = scheduler.now() + period;
    tick = [&] {
      Scheduler& s = thread.loop().scheduler();
      outcome.worst = std::max(outcome.worst, s.now() - next);
      next += period;
      if (++outcome.ticks == ticks) {
        done.set_value();
        return;
      }
      s.call_at(next, tick);
    };
    scheduler.call_at(next, tick);
  });
  outcome.completed = done.get_future().wait_for(20s) == std::future_status::ready;
  return outcome;
}

// Starts the loop thread at SCHED_RR 10, as vrrp_rt_priority runs the VRRP loop; exits 2 when
// that is not allowed (not root).
void start_realtime(LoopThread& thread) {
  if (auto status = thread.start({.realtime_priority = 10}); !status.ok()) {
    std::fprintf(stderr, "needs SCHED_RR: %s\n", status.error().message.c_str());
    std::exit(2);
  }
}

Outcome posting_flood() {
  LoopThread thread("bench-posted");
  start_realtime(thread);
  std::atomic<bool> stop_posting{false};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> posted{0};
  std::thread poster([&] {
    sched_param normal{};
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &normal);
    for (uint64_t i = 0; i < 50'000'000 && !stop_posting; ++i) {
      thread.loop().post([&] { delivered.fetch_add(1, std::memory_order_relaxed); });
      posted.fetch_add(1, std::memory_order_relaxed);
    }
  });
  Outcome outcome = run_ticks(thread, 5ms, 200, [] {});
  stop_posting = true;
  poster.join();
  thread.stop();
  outcome.detail =
      std::to_string(posted.load()) + " posts, " + std::to_string(delivered.load()) + " delivered";
  return outcome;
}

Outcome script_burst() {
  LoopThread thread("bench-burst");
  start_realtime(thread);
  constexpr int kScripts = 50;
  std::unique_ptr<vigil::event::ProcessScriptRunner> runner;
  int succeeded = 0;
  Outcome outcome = run_ticks(thread, 10ms, 50, [&] {
    runner = std::make_unique<vigil::event::ProcessScriptRunner>(thread.loop());
    for (int i = 0; i < kScripts; ++i) {
      runner->run(vigil::event::ScriptRequest{.name = "burst", .argv = {"sh", "-c", "exit 0"}},
                  [&](const vigil::event::ScriptResult& r) { succeeded += r.succeeded() ? 1 : 0; });
    }
  });
  thread.stop();
  runner.reset();
  outcome.detail = std::to_string(succeeded) + "/" + std::to_string(kScripts) + " scripts ok";
  return outcome;
}

struct Scenario {
  const char* name;
  Outcome (*run)();
};

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 10;
  const Scenario scenarios[] = {{"posting flood, 5 ms ticks", posting_flood},
                                {"50 scripts at once, 10 ms ticks", script_burst}};
  int status = 0;
  for (const auto& scenario : scenarios) {
    std::vector<Duration> worst;
    for (int run = 0; run < runs; ++run) {
      const Outcome outcome = scenario.run();
      if (!outcome.completed) {
        std::printf("%s: run %d did not finish (%d ticks)\n", scenario.name, run + 1,
                    outcome.ticks);
        status = 1;
        continue;
      }
      worst.push_back(outcome.worst);
      std::printf("%s: run %d worst lateness %ld us (%s)\n", scenario.name, run + 1,
                  static_cast<long>(outcome.worst.count()), outcome.detail.c_str());
    }
    if (worst.empty()) continue;
    std::sort(worst.begin(), worst.end());
    const Duration median = worst[(worst.size() - 1) / 2];
    std::printf(
        "%s: worst-tick lateness over %zu runs: median %ld us, max %ld us (target < %ld "
        "us)\n",
        scenario.name, worst.size(), static_cast<long>(median.count()),
        static_cast<long>(worst.back().count()), static_cast<long>(kTarget.count()));
    if (worst.back() >= kTarget) status = 1;
  }
  return status;
}
