// The lab's decisions, pure: the VRRP states and VIP owners over time (a timeline fed by the
// directors' vrrp_notify_fifo lines and rtnetlink), whether a pair is in its steady state, and
// the pass rules of each drill. Rules count things (masters, transitions, replies); the times
// they measure are reported, never compared with a bound.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::lab {

// kDown: the lab killed or stopped the director's daemon; it counts as no state at all until
// the daemon (restarted) writes one.
enum class State : uint8_t { kUnknown, kBackup, kMaster, kFault, kStop, kDown };
std::string_view to_string(State state);

// One line of a vrrp_notify_fifo: `INSTANCE "VI_1" MASTER 150` (or GROUP ...). Lines that are
// not a state (MASTER_RX_LOWER_PRI: a master heard a lower priority) give no line.
struct FifoLine {
  bool group = false;
  std::string name;
  State state = State::kUnknown;
  int priority = 0;
};
std::optional<FifoLine> parse_fifo_line(std::string_view line);

struct StateEvent {
  double at = 0;
  int director = 0;  // 0 or 1
  int instance = 0;  // index into the model's instances
  State state = State::kUnknown;
};
struct VipEvent {
  double at = 0;
  int director = 0;
  int vip = 0;  // index into the model's VIPs
  bool present = false;
};

// One `RS` line of an lvs_notify_fifo, keepalived's format (src/check/verdict.h):
// `RS [198.51.100.11]:tcp:80 [192.0.2.200]:tcp:80 DOWN`. `VS` lines (quorum) give no line.
struct LvsLine {
  std::string real_server;     // "[198.51.100.11]:tcp:80"
  std::string virtual_server;  // "[192.0.2.200]:tcp:80"
  bool up = false;
};
std::optional<LvsLine> parse_lvs_line(std::string_view line);

struct RsEvent {
  double at = 0;
  int director = 0;
  std::string real_server;
  std::string virtual_server;
  bool up = false;
};

struct Snapshot {
  std::vector<std::array<State, 2>> states;  // per instance, per director
  std::vector<std::array<bool, 2>> vip_on;   // per VIP, per director
};

// Events in any order (threads append them); queries see them in time order.
class Timeline {
 public:
  Timeline(size_t instances, size_t vips) : instances_(instances), vips_(vips) {}
  void add(const StateEvent& event) { states_.push_back(event); }
  void add(const VipEvent& event) { vip_events_.push_back(event); }
  void add(const RsEvent& event) { rs_events_.push_back(event); }
  [[nodiscard]] Snapshot at(double t) const;
  // Every instant at which something changed, ascending, within [from, to].
  [[nodiscard]] std::vector<double> changes(double from, double to) const;
  [[nodiscard]] std::vector<StateEvent> states_between(double from, double to) const;
  [[nodiscard]] std::vector<VipEvent> vips_between(double from, double to) const;
  [[nodiscard]] std::vector<RsEvent> rs_between(double from, double to) const;
  [[nodiscard]] size_t instances() const { return instances_; }
  [[nodiscard]] size_t vips() const { return vips_; }

 private:
  size_t instances_;
  size_t vips_;
  std::vector<StateEvent> states_;
  std::vector<VipEvent> vip_events_;
  std::vector<RsEvent> rs_events_;
};

// Names for messages.
struct Names {
  std::array<std::string, 2> directors;
  std::vector<std::string> instances;
  std::vector<std::string> vips;
};

// kPreemptPending: one MASTER per instance, but its BACKUP will take it over on its own.
enum class Steadiness : uint8_t { kSteady, kSplitBrain, kNoMaster, kNotReporting, kPreemptPending };
struct SteadyJudgement {
  Steadiness verdict = Steadiness::kNoMaster;
  std::string detail;  // what is wrong, e.g. "VI_1 is MASTER on d1 and d2"
};
// One instance's configured priority and nopreempt on each director. A BACKUP with a higher
// priority than its MASTER and no nopreempt takes the instance over when its master-down timer
// (and preempt_delay) runs out (RFC 5798 §6.4.2): until then the pair is not steady.
struct PreemptRule {
  std::array<int, 2> priority{100, 100};
  std::array<bool, 2> nopreempt{false, false};
};
using PreemptRules = std::vector<PreemptRule>;  // per instance; empty: no takeover is expected
// Exactly one MASTER per instance, each VIP on exactly one director, both directors reporting
// a state for every instance (a daemon starting again has not caught up yet), and no BACKUP
// that `rules` say will take its instance over.
SteadyJudgement judge_steady(const Snapshot& snapshot, const Names& names,
                             const PreemptRules& rules = {});
// Since when the pair has been steady without a break, as of `now`; nothing when it is not.
std::optional<double> steady_since(const Timeline& timeline, const Names& names, double now,
                                   const PreemptRules& rules = {});
// "split brain before the fault: VI_1 is MASTER on d1 and d2" / "no master: ...".
std::string steady_failure(const SteadyJudgement& judgement, std::string_view when);

enum class DrillKind : uint8_t {
  kKill,
  kStop,
  kLink,
  kPreempt,
  kLoss,
  kPartition,
  kReload,
  kRsFail,
  kRsRecover
};
std::string_view to_string(DrillKind kind);
std::optional<DrillKind> parse_drill(std::string_view name);
inline constexpr std::array<DrillKind, 9> kAllDrills = {
    DrillKind::kKill,    DrillKind::kStop,   DrillKind::kLink,
    DrillKind::kPreempt, DrillKind::kLoss,   DrillKind::kPartition,
    DrillKind::kReload,  DrillKind::kRsFail, DrillKind::kRsRecover};
// Without --drills: the VRRP drills. rs-fail / rs-recover need the directors' checkers, which
// need IPVS (docs/lab.md), so they are asked for by name.
inline constexpr std::array<DrillKind, 7> kDefaultDrills = {
    DrillKind::kKill, DrillKind::kStop,      DrillKind::kLink,  DrillKind::kPreempt,
    DrillKind::kLoss, DrillKind::kPartition, DrillKind::kReload};
// loss: for how many advert intervals one in two of the master's adverts is lost, per run.
inline constexpr int kLossAdverts = 20;
// reload: how many SIGHUPs each director's daemon gets in one run.
inline constexpr int kReloadStorm = 5;
// A daemon log line saying a reload is complete: vigild's "configuration reloaded",
// keepalived's "Reload complete".
bool is_reload_complete(std::string_view log_line);
// The sum of the `counter packets N` of an `nft list table` listing; nothing when it has none.
std::optional<int64_t> nft_counted_packets(std::string_view listing);

// What happened in one run of a drill, as the shell did it (times CLOCK_MONOTONIC seconds).
struct DrillRun {
  DrillKind kind = DrillKind::kKill;
  int victim = 0;              // kill/stop/link/partition: the master; preempt: the returning one
  std::vector<int> instances;  // the instances the drill is about (the victim's, or the peer's)
  int vip = -1;                // the VIP whose move and outage are measured (-1: none)
  double quiet_from = 0;       // since then no fault was in progress
  double fault_at = 0;
  double heal_at = 0;                    // the fault undone (preempt: = fault_at)
  double end_at = 0;                     // steady again, or the time the lab gave up waiting
  std::optional<std::string> unsettled;  // why the pair was not steady at end_at
  bool expect_preempt = false;           // preempt: the returning director should take over
  std::string preempt_why;               // preempt: why it should or should not (model.h)
  // reload: the completed reloads each director's daemon logged after the SIGHUPs (-1: not
  // counted).
  std::array<int, 2> reloads{-1, -1};
  // loss: the master's adverts nftables dropped (-1: not counted).
  int64_t adverts_dropped = -1;
};

struct RunVerdict {
  bool passed = true;
  std::vector<std::string> failures;
  std::optional<double> vip_move;           // fault -> VIP added on the new master, seconds
  std::optional<double> outage;             // longest gap in the client's replies, seconds
  std::optional<double> two_masters_since;  // partition: fault -> both MASTER, seconds
  std::optional<double> two_masters_for;    // partition: how long both were MASTER, seconds
  size_t takeovers = 0;                     // transitions to MASTER in the fault window
  std::optional<double> rs_change;          // rs-*: fault -> the last director's RS line
};
// `replies`: the client's reply times for run.vip, ascending.
RunVerdict judge_run(const Timeline& timeline, const Names& names, const DrillRun& run,
                     const std::vector<double>& replies);

// Median and 99th percentile by nearest rank; nothing for an empty list.
struct Distribution {
  size_t count = 0;
  double median = 0;
  double p99 = 0;
};
std::optional<Distribution> distribution(std::vector<double> values);

}  // namespace vigil::lab
