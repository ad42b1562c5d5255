// The checker engine: every checker of a configuration, driven in time. It owns one checker state
// machine per checker block (checker.h) and one verdict per virtual server (verdict.h), arms a
// timer for each ProbeAt, starts probes through a Prober (probe.h), feeds their results back and
// hands out what changed: the desired IPVS state of each changed virtual server (a HealthBatch,
// by value, for the IPVS side) and the notify actions (scripts, FIFO lines, SMTP alerts) to run.
//
// It runs on one thread (the check thread) with that thread's Scheduler; it reads no clock and
// opens no socket itself, so tests drive it in virtual time with a fake prober.
//
// Every checker type vigil parses has a probe in the I/O layer except FILE_CHECK, which needs
// none: the engine reads its file through the injected FileReader. Without a reader, FILE_CHECK
// checkers are left out with a warning at load and their real servers count them as passing, as
// vigil did before it had checkers. (keepalived's BFD_CHECK is not parsed.) An SMTP_CHECK's
// `host {}` blocks become checkers of their own at load, as in keepalived 2.2.7.
//
// Shared probes (vigil's opt-in, global_defs `checker_share_probes`; keepalived issues #2111,
// #2358): checkers whose whole spec is identical (type, target, every probe parameter, and the
// timing: delay_loop, retry, delay_before_retry, warmup, alpha, rise, jitter ...) form a group at
// each load. The group's members draw the same random values (the first member's: its warmup,
// its jitter), so members in the same state ask for their probes at the same instants; a member
// whose probe falls due while the group has a probe of the same target in flight joins it
// instead of starting one. One prober call then serves every member, and its result reaches each
// of them as the same event; each member keeps its own state machine, verdict and notifies, so
// the verdicts are those of the unshared run. A member in another state (a reload kept one and
// started another fresh) probes on its own until its probe falls due during the group's. The
// probe is cancelled only when its last member leaves it (a reload, a CancelProbe). Off (the
// default), every checker probes on its own, as keepalived does.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "check/checker.h"
#include "check/probe.h"
#include "check/reload.h"
#include "check/spec.h"
#include "check/verdict.h"
#include "common/result.h"
#include "common/time.h"

namespace vigil::config {
struct Config;
struct VirtualServer;
struct RunAs;
}  // namespace vigil::config

namespace vigil::check {

// The complete desired state of one virtual server's destinations.
struct ServiceHealth {
  VirtualServerKey key;
  DesiredService desired;
  bool operator==(const ServiceHealth&) const = default;
};
// Services whose desired state changed, each complete (a later entry replaces an earlier one).
using HealthBatch = std::vector<ServiceHealth>;

// The check key of a configured virtual server (what ServiceHealth::key holds for it).
[[nodiscard]] VirtualServerKey virtual_server_key(const config::VirtualServer& vs);

// Resolves a MISC_CHECK's user (or the global script_user) to credentials at load; none: the
// user does not resolve, and the checker is left out (it never runs as root instead).
using RunAsResolver = std::function<std::optional<RunAs>(const config::RunAs&)>;

// FILE_CHECK: the value of a tracked file (common/track_file.h read_track_file_value in
// production); none: this read is ignored and the last value stays (keepalived's "Invalid
// number ... ignoring").
using FileReader = std::function<std::optional<int64_t>(const std::string& path)>;

// The probe requests of one checker block, one per target (url, or the single connection); empty
// for FILE_CHECK and for a MISC_CHECK whose user does not resolve. Fails on a regex PCRE2
// rejects. An SMTP_CHECK with `host {}` blocks yields its first connection only: load() splits
// the hosts into checkers of their own before it asks.
Result<std::vector<ProbeRequest>> probe_requests(const config::Config& config,
                                                 const config::VirtualServer& vs,
                                                 size_t real_server, size_t checker,
                                                 const RunAsResolver& resolve);

// A real server of a virtual server, by the checkers' keys (the real server's as configured).
struct ServerRef {
  VirtualServerKey virtual_server;
  RealServerKey real_server;
  auto operator<=>(const ServerRef&) const = default;
};
// Real servers whose checks are paused (`vigilctl rs maint`).
using PausedServers = std::set<ServerRef>;
// A checker went up or down (the control API's events): references valid during the call.
struct CheckerChange {
  const VirtualServerSpec& virtual_server;
  const RealServerSpec& real_server;
  const CheckerSpec& checker;
  bool up = false;
  Reason reason = Reason::kSucceeded;
  std::string_view detail;  // the failed probe's, when it said something
};

// A histogram of durations with fixed bounds (no allocation to record one).
template <size_t N>
struct DurationHistogram {
  std::array<uint64_t, N + 1> buckets{};  // not cumulative; the last: above the last bound
  uint64_t count = 0;
  Duration total{0};

  void record(Duration value, const std::array<Duration, N>& bounds) {
    value = std::max(value, Duration::zero());
    size_t i = 0;
    while (i < N && value > bounds[i])
      ++i;
    ++buckets[i];
    ++count;
    total += value;
  }
};

inline constexpr size_t kCheckerTypeCount = static_cast<size_t>(config::CheckerType::kFile) + 1;

// How long probes took and how late they started, since the engine was made (reloads keep them):
// GET /metrics' vigil_check_duration_seconds and vigil_check_schedule_slip_seconds.
struct CheckTimings {
  static constexpr std::array<Duration, 14> kDurationBounds = {
      Duration{1'000},      Duration{2'500},     Duration{5'000},     Duration{10'000},
      Duration{25'000},     Duration{50'000},    Duration{100'000},   Duration{250'000},
      Duration{500'000},    Duration{1'000'000}, Duration{2'500'000}, Duration{5'000'000},
      Duration{10'000'000}, Duration{30'000'000}};
  static constexpr std::array<Duration, 10> kSlipBounds = {
      Duration{100},       Duration{500},      Duration{1'000},   Duration{5'000},
      Duration{10'000},    Duration{50'000},   Duration{100'000}, Duration{500'000},
      Duration{1'000'000}, Duration{5'000'000}};
  // Probes that completed (succeeded or failed; not those that could not start), by checker type
  // (config::CheckerType's order): from the probe's start to its result, on the engine's clock.
  // A shared probe counts once per member.
  std::array<DurationHistogram<kDurationBounds.size()>, kCheckerTypeCount> duration{};
  // Probes the checkers' schedules asked for (ProbeAt): how long after the asked time the timer
  // ran.
  DurationHistogram<kSlipBounds.size()> slip;
};

struct EngineSinks {
  // Desired IPVS state of the services that changed.
  std::function<void(HealthBatch)> health;
  // Notify scripts, FIFO lines and SMTP alerts of one virtual server, in order.
  std::function<void(const VirtualServerSpec&, NotifyActions)> notify;
  // Every checker state change, as it is judged (optional).
  std::function<void(const CheckerChange&)> checker_changed;
};

class CheckEngine {
 public:
  // Without `read_file`, FILE_CHECK checkers are left out (as a type without a probe).
  CheckEngine(Scheduler& scheduler, Prober& prober, RandomDuration random, EngineSinks sinks,
              RunAsResolver resolve = {}, FileReader read_file = {});
  ~CheckEngine();
  CheckEngine(const CheckEngine&) = delete;
  CheckEngine& operator=(const CheckEngine&) = delete;

  // The first load starts every checker; a later one is a reload: checkers of unchanged identity
  // keep their state (reload.h), the rest start fresh, removed ones stop. The reload is
  // incremental: a checker whose virtual server, real server and spec are unchanged and whose
  // state the reload would not change stays running as it is (its object, its next probe, its
  // probe in flight, its counters), in its virtual server kept whole when nothing in it changed;
  // only the others start (a kept checker of another spec starts again with its carried state,
  // re-armed at 1 s + warmup as keepalived re-arms every checker). A virtual server that loses
  // real servers starts all its checkers again. A virtual server whose block is the one its
  // running service came from, but for its place in the files (config::same_ignoring_locations),
  // is not translated again to find that out. checker_share_probes: a group stays only when
  // its members are exactly the same; otherwise every member starts again in the new group.
  // Returns the complete desired state of every configured virtual server (also sent to the
  // health sink), the same as a reload that started every checker again. Fails (and changes
  // nothing) on a probe that cannot be built.
  // The engine keeps `config` (shared, never copied) while its checkers run.
  Result<HealthBatch> load(std::shared_ptr<const config::Config> config);
  // The same with a copy of `config` (tests).
  Result<HealthBatch> load(const config::Config& config);

  // Off: every reload starts every checker again (the kept ones with their carried state) instead
  // of keeping the untouched ones as they are. The results of load() are the same either way;
  // for tests and benches that compare the two.
  void set_incremental_reload(bool on) { incremental_ = on; }

  // Stops every checker and probe; with omega, the shutdown notifies go to the notify sink.
  void stop();

  // The real servers whose checks are paused (operators' maintenance), replacing the last set;
  // it stays across reloads (a checker a reload adds to a paused server starts paused). A paused
  // checker keeps its state (up or down, weight) and runs no probe: its scheduled probe and a
  // probe in flight are cancelled (a result never arrives), a FILE_CHECK ignores its file.
  // Resumed, its next check starts at once (a FILE_CHECK reads its file again).
  void set_paused(PausedServers paused);

  // FILE_CHECK: the files the running checkers track. The caller watches them (inotify, no
  // polling) and calls file_changed() for each one that may have changed.
  [[nodiscard]] std::set<std::string> tracked_files() const;
  // `path` may have changed: the checkers tracking it read it again (a FileValue event each).
  void file_changed(const std::string& path);

  struct CheckerStatus {
    std::string label;
    std::string virtual_server;
    RealServerKey real_server;
    bool up = true;
    bool has_run = false;
    int64_t dynamic_weight = 0;
    std::optional<TimePoint> next_probe;
    uint64_t probes = 0;
    std::array<uint64_t, kReasonCount> failures{};
    uint64_t probes_not_run = 0;
    std::optional<Duration> last_latency;
    // When its last probe completed (succeeded or failed); none before the first.
    std::optional<TimePoint> last_completed;
    config::CheckerType type = config::CheckerType::kTcp;
    std::string last_error;
    // checker_share_probes: the number of other checkers sharing its probes (0: none).
    size_t shared_with = 0;
    bool paused = false;  // set_paused(): no probe runs, the state stays
  };
  [[nodiscard]] std::vector<CheckerStatus> status() const;

  // Each virtual server's verdicts (the control API's status), in configuration order.
  struct ServiceStatus {
    std::string label;  // keepalived's FMT_VS
    std::string protocol_name;
    bool quorum_up = true;
    bool sorry_active = false;
    int64_t live_weight = 0;
    int64_t quorum = 0;
    struct Server {
      RealServerKey key;
      bool alive = false;
      int64_t weight = 0;  // effective (configured plus dynamic)
      // When it last became alive or not alive (none: not since its virtual server started).
      std::optional<TimePoint> changed_at;
    };
    std::vector<Server> real_servers;
  };
  [[nodiscard]] std::vector<ServiceStatus> service_status() const;
  [[nodiscard]] size_t checker_count() const;

  // reload --dry-run: the match a load() of `config` makes (plan_reload(), reload.h) against the
  // running virtual servers, with the specs and the running services it was made from.
  struct ReloadPreview {
    ReloadPlan plan;
    std::vector<VirtualServerSpec> specs;  // the new ones, one per plan.services entry
    std::vector<RunningVirtualServer> running;
    std::vector<std::string> running_labels;  // keepalived's FMT_VS of each running one
  };
  [[nodiscard]] ReloadPreview preview_reload(const config::Config& config) const;
  // Checker blocks of types the engine does not run yet (left out at the last load).
  [[nodiscard]] size_t skipped_checkers() const { return skipped_; }
  [[nodiscard]] const CheckTimings& timings() const { return timings_; }

 private:
  struct Slot;
  struct Service;
  struct SharedProbe;
  struct Group;

  static void describe_running(const Service& service, RunningVirtualServer& into);
  void dispatch(Slot& slot, const Event& event);
  // Records when a real server's alive flag changed (it was `was_alive` before an event).
  void note_alive_change(Service& service, size_t real_server, bool was_alive);
  // Pauses or resumes `slot` as paused_ says for its real server.
  void update_paused(Service& service, size_t real_server, Slot& slot);
  void apply(Slot& slot, Actions actions);
  void fire(Slot& slot, uint32_t target);
  // The slot's probe succeeded or failed at `now`: its completion time and the histogram.
  void note_completed(Slot& slot, TimePoint now);
  // Abandons the slot's running probe: cancels it unless other members still share it.
  void leave(Slot& slot);
  // A shared probe ended: every member gets its result.
  void deliver(Group& group, SharedProbe* probe, ProbeResult result);
  // checker_share_probes: the groups of identical checkers of `specs`, as group_of[vs][rs][c]
  // (null: not shared) and each member's index in its group.
  struct Membership {
    Group* group = nullptr;
    size_t member = 0;
  };
  // What load() built for the checkers of one virtual server, in the (filtered) spec's order.
  struct BuiltChecker {
    std::vector<ProbeRequest> requests;  // one per target; empty when deferred or FILE_CHECK
    // TCP_CHECK / PING_CHECK: the probe is the spec's connection, built when it fires (compared
    // through the spec, never kept).
    bool deferred = false;
    std::string file;                   // FILE_CHECK: the tracked file
    std::vector<config::HttpUrl> urls;  // HTTP_GET / SSL_GET as configured (what expect judges)
  };
  struct Built {
    std::vector<BuiltChecker> checkers;
    std::vector<size_t> first;  // real server r's checkers: [first[r], first[r + 1])
    [[nodiscard]] const BuiltChecker& at(size_t r, size_t c) const {
      return checkers[first[r] + c];
    }
    BuiltChecker& at(size_t r, size_t c) { return checkers[first[r] + c]; }
  };
  std::vector<std::vector<std::vector<Membership>>> form_groups(
      const std::vector<VirtualServerSpec>& specs, const std::vector<Built>& built,
      std::vector<std::unique_ptr<Group>>& groups) const;
  // plan_real_server (reload.cc) for real server `r` of the running service `old`: its checkers
  // that ran and are down, or the server not alive with none run, make a reload pessimistic.
  [[nodiscard]] static bool reload_pessimistic(const Service& old, size_t r);
  // A reload keeps the running service `old` as it is for `spec`: the same spec, alerts and
  // probes, and a state that the reload would give it anew (reload.h, start()).
  [[nodiscard]] bool untouched_service(const Service& old, const VirtualServerSpec& spec,
                                       const Built& built, const AlertPolicy& alerts) const;
  // The same, found without translating `vs`: it is the running service's block (but for its
  // place in the files), and its state and probes allow it.
  [[nodiscard]] bool untouched_block(const Service& old, const config::VirtualServer& vs,
                                     const config::Config& config, const AlertPolicy& alerts) const;
  // A reload: the notifies of the real and virtual servers it removes (keepalived 2.2.7
  // clear_diff_services: notify_down, FIFO, the "=> Removing <=" alert; the quorum lost by a
  // removed virtual server, or by a kept one that lost real servers: update_vs_notifies), per
  // running service: removed_servers[i], removed_services[i] for services_[i].
  std::vector<std::pair<VirtualServerSpec, NotifyActions>> remove_for_reload(
      const std::vector<const std::vector<RealServerKey>*>& removed_servers,
      const std::vector<bool>& removed_services, const config::Config& config);
  // Sends the changed services' desired state and the collected notifies.
  void flush();
  void tear_down(std::vector<std::unique_ptr<Service>>& services);
  void touch(Service& service);  // it has a change or notifies for the next flush()

  Scheduler& scheduler_;
  Prober& prober_;
  RandomDuration random_;
  EngineSinks sinks_;
  RunAsResolver resolve_;
  FileReader read_file_;
  std::shared_ptr<const config::Config> config_;  // the loaded one: services' blocks are in it
  std::vector<std::unique_ptr<Service>> services_;
  std::vector<std::unique_ptr<Group>> groups_;  // checker_share_probes; after services_
  std::vector<Service*> touched_;               // services with something for flush(), each once
  PausedServers paused_;
  bool loaded_ = false;
  bool incremental_ = true;
  size_t skipped_ = 0;
  CheckTimings timings_;
};

}  // namespace vigil::check
