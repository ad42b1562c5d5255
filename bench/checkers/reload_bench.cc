// bench/checkers reload: what a SIGHUP costs vigild with a big checker configuration, stage by
// stage, on one thread and in the order vigild runs them (daemon.cc's SIGHUP handler, then the
// check thread's load, then the verdicts on the main loop):
//   parse       config::parse_text of the new file, url regexes compiled, scripts audited;
//   ipvs_plan   LvsController::update: the new desired state planned against the last known table
//               and applied (an in-memory IPVS that follows the kernel's rules, counting
//               operations; tests/fakes/fake_datapath.h);
//   engine      CheckEngine::load: the reload plan (unchanged checkers keep their state), new
//               checkers armed, removed ones stopped;
//   verdicts    LvsController::apply_health with the complete batch load() returns.
// No probe runs: the scheduler's loop never turns, the prober only counts what it is asked.
// keepalived 2.2.7 compares every old real server with every new one on reload (O(N^2),
// keepalived issue #2318); vigil's plan is keyed.
//
//   vigil-reload-bench [--checkers 37000] [--per-vs 16] [--changed-percent 1] [--reloads 5]
//
// The change, spread evenly over the real servers: a third get a new weight (an IPVS edit, the
// checker kept), a third a new connect_port (the checker restarts; the server keeps its state),
// a third are replaced by a server at a new address (one removed, one added). Each reload goes
// from the base configuration to the changed one or back. Prints one line per reload and the
// median (key=value). Exits 1 when a reload applied an unexpected number of IPVS operations.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include "../../tests/fakes/fake_datapath.h"
#include "check/engine.h"
#include "check/validate.h"
#include "common/log.h"
#include "config/parser.h"
#include "control/script_audit.h"
#include "event/scheduler.h"
#include "lvs/controller.h"
#include "proc_self.h"

namespace {

struct Options {
  int checkers = 37000;
  int per_vs = 16;
  double changed_percent = 1.0;
  int reloads = 5;
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(
      stderr, "usage: %s [--checkers N] [--per-vs M] [--changed-percent P] [--reloads K]\n", argv0);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(argv[0]);
    const char* value = argv[++i];
    if (arg == "--checkers") {
      o.checkers = std::atoi(value);
    } else if (arg == "--per-vs") {
      o.per_vs = std::atoi(value);
    } else if (arg == "--changed-percent") {
      o.changed_percent = std::atof(value);
    } else if (arg == "--reloads") {
      o.reloads = std::atoi(value);
    } else {
      usage(argv[0]);
    }
  }
  if (o.checkers < 1 || o.per_vs < 1 || o.per_vs > 250 || o.changed_percent < 0 ||
      o.changed_percent > 100 || o.reloads < 1)
    usage(argv[0]);
  return o;
}

enum class Change { kNone, kWeight, kPort, kReplaced };

// Real server `index` of the configuration: which change it has in the changed variant.
Change change_of(const Options& o, int index) {
  const int changed = static_cast<int>(o.checkers * o.changed_percent / 100.0);
  if (changed == 0) return Change::kNone;
  const int stride = std::max(1, o.checkers / changed);
  if (index % stride != 0 || index / stride >= changed) return Change::kNone;
  switch ((index / stride) % 3) {
    case 0:
      return Change::kWeight;
    case 1:
      return Change::kPort;
    default:
      return Change::kReplaced;
  }
}

std::string make_config(const Options& o, bool changed) {
  std::ostringstream out;
  out << "global_defs {\n  router_id reload-bench\n}\n";
  const int services = (o.checkers + o.per_vs - 1) / o.per_vs;
  int real = 0;
  for (int vs = 0; vs < services; ++vs) {
    out << "virtual_server 10." << (vs >> 16 & 255) << '.' << (vs >> 8 & 255) << '.' << (vs & 255)
        << " 80 {\n  delay_loop 10\n  lvs_sched wrr\n  lvs_method NAT\n  protocol TCP\n";
    for (int j = 0; j < o.per_vs && real < o.checkers; ++j, ++real) {
      const Change change = changed ? change_of(o, real) : Change::kNone;
      // 192.168.j.x: distinct within a virtual server; a replaced server moves to 172.16.
      out << "  real_server " << (change == Change::kReplaced ? "172.16." : "192.168.") << j << '.'
          << (vs % 250 + 1) << " 8080 {\n    weight " << (change == Change::kWeight ? 2 : 1)
          << "\n    TCP_CHECK {\n      connect_timeout 3\n"
          << (change == Change::kPort ? "      connect_port 8081\n" : "") << "    }\n  }\n";
    }
    out << "}\n";
  }
  return out.str();
}

class CountingProber final : public vigil::check::Prober {
 public:
  vigil::check::ProbeId start(const vigil::check::ProbeRequest&, vigil::check::ProbeDone) override {
    return ++started_;
  }
  void cancel(vigil::check::ProbeId) override {}
  [[nodiscard]] uint64_t started() const { return started_; }

 private:
  uint64_t started_ = 0;
};

// The stages' cost is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID): on a shared machine the
// wall clock also counts the time other processes held the CPU. The wall time is printed too.
struct Clock {
  using time_point = std::pair<double, double>;  // (CPU ms, wall ms)
  static time_point now() {
    timespec cpu{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    const double wall = std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    return {cpu.tv_sec * 1e3 + cpu.tv_nsec / 1e6, wall};
  }
};
double wall_total = 0;  // wall ms of the stages timed since the last reset
double ms_since(Clock::time_point start) {
  const auto end = Clock::now();
  wall_total += end.second - start.second;
  return end.first - start.first;
}

struct Stages {
  double parse = 0, ipvs_plan = 0, engine = 0, verdicts = 0;
  double wall = 0;  // all four, wall clock
  size_t operations = 0;
  [[nodiscard]] double total() const { return parse + ipvs_plan + engine + verdicts; }
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  vigil::log::setup({.console = true, .level = spdlog::level::err});
  const std::string texts[2] = {make_config(o, false), make_config(o, true)};

  // vigild's scheduler (a heap of deadlines under one Asio timer) on an io_context that never
  // runs: timers are armed and cancelled as in vigild, none fires.
  boost::asio::io_context io;
  vigil::event::AsioScheduler scheduler(io);
  vigil::testing::FakeDatapath datapath;
  CountingProber prober;
  vigil::lvs::LvsController controller(datapath, scheduler,
                                       vigil::lvs::LvsControllerOptions{.resync_interval = {}});
  vigil::check::HealthBatch pending;
  vigil::check::CheckEngine engine(
      scheduler, prober, [](vigil::Duration) { return vigil::Duration{0}; },
      vigil::check::EngineSinks{
          .health = [](vigil::check::HealthBatch) {},
          .notify = [](const vigil::check::VirtualServerSpec&, vigil::check::NotifyActions) {},
      });

  // One configuration change as vigild applies it; `first`: the start instead of a reload.
  auto apply = [&](int which, bool first) -> Stages {
    Stages s;
    wall_total = 0;
    auto start = Clock::now();
    auto parsed = vigil::config::parse_text("reload-bench.conf", texts[which]);
    if (!parsed->ok()) {
      std::fprintf(stderr, "%s", parsed->diagnostics.format(parsed->files).c_str());
      std::exit(2);
    }
    if (!vigil::check::compile_regexes(parsed->config).empty()) std::exit(2);
    auto audit = vigil::control::audit_scripts(std::move(parsed->config),
                                               vigil::control::system_script_environment());
    // vigild's one shared copy (daemon/service.h SharedConfig): no side copies it.
    const auto shared = std::make_shared<const vigil::config::Config>(std::move(audit.config));
    s.parse = ms_since(start);

    const size_t sent_before = datapath.sent();
    start = Clock::now();
    if (first) {
      if (!controller.start(shared)) std::exit(2);
    } else {
      controller.update(shared);
    }
    s.ipvs_plan = ms_since(start);

    start = Clock::now();
    auto loaded = engine.load(shared);
    if (!loaded) std::exit(2);
    s.engine = ms_since(start);

    start = Clock::now();
    controller.apply_health(*loaded);
    s.verdicts = ms_since(start);
    s.operations = datapath.sent() - sent_before;
    s.wall = wall_total;
    return s;
  };

  const Stages initial = apply(0, true);
  std::printf(
      "start checkers=%d per_vs=%d parse_ms=%.1f ipvs_ms=%.1f engine_ms=%.1f verdicts_ms=%.1f "
      "total_ms=%.1f wall_ms=%.1f ipvs_ops=%zu\n",
      o.checkers, o.per_vs, initial.parse, initial.ipvs_plan, initial.engine, initial.verdicts,
      initial.total(), initial.wall, initial.operations);

  // Expected IPVS operations per reload: a weight change is one edit, a replaced server one
  // delete and one add; a new connect_port changes nothing in IPVS (the server keeps its state).
  size_t expected = 0;
  for (int i = 0; i < o.checkers; ++i) {
    const Change c = change_of(o, i);
    expected += c == Change::kWeight ? 1 : c == Change::kReplaced ? 2 : 0;
  }
  std::vector<Stages> runs;
  int status = 0;
  for (int r = 0; r < o.reloads; ++r) {
    const Stages s = apply((r + 1) % 2, false);
    if (s.operations != expected) status = 1;
    std::printf(
        "reload %d changed_percent=%.2f parse_ms=%.1f ipvs_ms=%.1f engine_ms=%.1f "
        "verdicts_ms=%.1f apply_ms=%.1f total_ms=%.1f wall_ms=%.1f ipvs_ops=%zu expected_ops=%zu "
        "rss_kib=%ld\n",
        r + 1, o.changed_percent, s.parse, s.ipvs_plan, s.engine, s.verdicts,
        s.ipvs_plan + s.engine + s.verdicts, s.total(), s.wall, s.operations, expected,
        vigil::bench::rss_kib());
    runs.push_back(s);
  }
  auto median = [&runs](auto field) {
    std::vector<double> v;
    for (const auto& s : runs)
      v.push_back(field(s));
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "median reloads=%d parse_ms=%.1f apply_ms=%.1f total_ms=%.1f wall_ms=%.1f "
      "probes_started=%llu\n",
      o.reloads, median([](const Stages& s) { return s.parse; }),
      median([](const Stages& s) { return s.ipvs_plan + s.engine + s.verdicts; }),
      median([](const Stages& s) { return s.total(); }),
      median([](const Stages& s) { return s.wall; }),
      static_cast<unsigned long long>(prober.started()));
  return status;
}
