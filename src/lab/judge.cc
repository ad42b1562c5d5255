#include "lab/judge.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "lab/probe.h"

namespace vigil::lab {
namespace {

template <typename T>
std::vector<T> sorted_between(const std::vector<T>& events, double from, double to) {
  std::vector<T> out;
  for (const auto& e : events) {
    if (e.at >= from && e.at <= to) out.push_back(e);
  }
  std::stable_sort(out.begin(), out.end(), [](const T& a, const T& b) { return a.at < b.at; });
  return out;
}

int masters(const Snapshot& s, size_t instance) {
  return (s.states[instance][0] == State::kMaster ? 1 : 0) +
         (s.states[instance][1] == State::kMaster ? 1 : 0);
}

std::string ms(double seconds) {
  return fmt::format("{:.1f} ms", seconds * 1000.0);
}

}  // namespace

std::string_view to_string(State state) {
  switch (state) {
    case State::kUnknown:
      return "UNKNOWN";
    case State::kBackup:
      return "BACKUP";
    case State::kMaster:
      return "MASTER";
    case State::kFault:
      return "FAULT";
    case State::kStop:
      return "STOP";
    case State::kDown:
      return "DOWN";
  }
  return "UNKNOWN";
}

std::optional<FifoLine> parse_fifo_line(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size() && fields.size() < 4) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n'))
      ++i;
    if (i >= line.size()) break;
    size_t start = i;
    if (line[i] == '"') {
      size_t close = line.find('"', i + 1);
      if (close == std::string_view::npos) return std::nullopt;
      fields.push_back(line.substr(i + 1, close - i - 1));
      i = close + 1;
      continue;
    }
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\n')
      ++i;
    fields.push_back(line.substr(start, i - start));
  }
  if (fields.size() < 3) return std::nullopt;
  FifoLine out;
  if (fields[0] == "GROUP")
    out.group = true;
  else if (fields[0] != "INSTANCE")
    return std::nullopt;
  out.name = std::string(fields[1]);
  const std::string_view state = fields[2];
  if (state == "MASTER")
    out.state = State::kMaster;
  else if (state == "BACKUP")
    out.state = State::kBackup;
  else if (state == "FAULT")
    out.state = State::kFault;
  else if (state == "STOP" || state == "DELETED")
    out.state = State::kStop;
  else
    return std::nullopt;  // MASTER_RX_LOWER_PRI and what a later version may add
  if (fields.size() > 3) {
    int priority = 0;
    for (char c : fields[3]) {
      if (c < '0' || c > '9') break;
      priority = priority * 10 + (c - '0');
    }
    out.priority = priority;
  }
  return out;
}

Snapshot Timeline::at(double t) const {
  Snapshot s;
  s.states.assign(instances_, {State::kUnknown, State::kUnknown});
  s.vip_on.assign(vips_, {false, false});
  for (const auto& e : sorted_between(states_, -std::numeric_limits<double>::infinity(), t)) {
    if (static_cast<size_t>(e.instance) < instances_) s.states[e.instance][e.director] = e.state;
  }
  for (const auto& e : sorted_between(vip_events_, -std::numeric_limits<double>::infinity(), t)) {
    if (static_cast<size_t>(e.vip) < vips_) s.vip_on[e.vip][e.director] = e.present;
  }
  return s;
}

std::vector<double> Timeline::changes(double from, double to) const {
  std::vector<double> out;
  for (const auto& e : states_) {
    if (e.at >= from && e.at <= to) out.push_back(e.at);
  }
  for (const auto& e : vip_events_) {
    if (e.at >= from && e.at <= to) out.push_back(e.at);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<StateEvent> Timeline::states_between(double from, double to) const {
  return sorted_between(states_, from, to);
}

std::vector<VipEvent> Timeline::vips_between(double from, double to) const {
  return sorted_between(vip_events_, from, to);
}

std::vector<RsEvent> Timeline::rs_between(double from, double to) const {
  return sorted_between(rs_events_, from, to);
}

SteadyJudgement judge_steady(const Snapshot& s, const Names& names, const PreemptRules& rules) {
  // Split brain first: it is the worse finding.
  for (size_t i = 0; i < s.states.size(); ++i) {
    if (masters(s, i) == 2)
      return {Steadiness::kSplitBrain, fmt::format("{} is MASTER on {} and {}", names.instances[i],
                                                   names.directors[0], names.directors[1])};
  }
  for (size_t v = 0; v < s.vip_on.size(); ++v) {
    if (s.vip_on[v][0] && s.vip_on[v][1])
      return {Steadiness::kSplitBrain, fmt::format("{} is on {} and {}", names.vips[v],
                                                   names.directors[0], names.directors[1])};
  }
  for (size_t i = 0; i < s.states.size(); ++i) {
    if (masters(s, i) == 0)
      return {Steadiness::kNoMaster,
              fmt::format("{} is MASTER on neither director ({} {}, {} {})", names.instances[i],
                          names.directors[0], to_string(s.states[i][0]), names.directors[1],
                          to_string(s.states[i][1]))};
  }
  for (size_t v = 0; v < s.vip_on.size(); ++v) {
    if (!s.vip_on[v][0] && !s.vip_on[v][1])
      return {Steadiness::kNoMaster, fmt::format("{} is on neither director", names.vips[v])};
  }
  for (size_t i = 0; i < s.states.size(); ++i) {
    for (int d = 0; d < 2; ++d) {
      if (s.states[i][d] == State::kUnknown || s.states[i][d] == State::kDown)
        return {Steadiness::kNotReporting,
                fmt::format("{} reports no state for {} (its daemon is not running, or has not "
                            "written to its vrrp_notify_fifo)",
                            names.directors[d], names.instances[i])};
    }
  }
  for (size_t i = 0; i < s.states.size() && i < rules.size(); ++i) {
    const int master = s.states[i][0] == State::kMaster ? 0 : 1;
    const int backup = 1 - master;
    const PreemptRule& rule = rules[i];
    if (s.states[i][backup] == State::kBackup && !rule.nopreempt[backup] &&
        rule.priority[backup] > rule.priority[master])
      return {Steadiness::kPreemptPending,
              fmt::format("{} is BACKUP of {} with the higher priority ({} > {}) and no "
                          "nopreempt, so it is about to take {} from {}",
                          names.directors[backup], names.instances[i], rule.priority[backup],
                          rule.priority[master], names.instances[i], names.directors[master])};
  }
  return {Steadiness::kSteady, ""};
}

std::optional<double> steady_since(const Timeline& timeline, const Names& names, double now,
                                   const PreemptRules& rules) {
  if (judge_steady(timeline.at(now), names, rules).verdict != Steadiness::kSteady)
    return std::nullopt;
  // Walk back over the changes: the last one after which it was not steady bounds the run.
  const auto changes = timeline.changes(-std::numeric_limits<double>::infinity(), now);
  double since = changes.empty() ? -std::numeric_limits<double>::infinity() : changes.front();
  for (size_t k = changes.size(); k > 0; --k) {
    const double t = changes[k - 1];
    if (judge_steady(timeline.at(t), names, rules).verdict != Steadiness::kSteady) break;
    since = t;
  }
  return since;
}

std::string steady_failure(const SteadyJudgement& judgement, std::string_view when) {
  switch (judgement.verdict) {
    case Steadiness::kSteady:
      return "";
    case Steadiness::kSplitBrain:
      return fmt::format("split brain {}: {}", when, judgement.detail);
    case Steadiness::kNoMaster:
      return fmt::format("no master {}: {}", when, judgement.detail);
    case Steadiness::kNotReporting:
    case Steadiness::kPreemptPending:
      return fmt::format("not steady {}: {}", when, judgement.detail);
  }
  return "";
}

std::optional<LvsLine> parse_lvs_line(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size() && fields.size() < 5) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n'))
      ++i;
    if (i >= line.size()) break;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\n')
      ++i;
    fields.push_back(line.substr(start, i - start));
  }
  if (fields.size() != 4 || fields[0] != "RS") return std::nullopt;
  if (fields[3] != "UP" && fields[3] != "DOWN") return std::nullopt;
  return LvsLine{.real_server = std::string(fields[1]),
                 .virtual_server = std::string(fields[2]),
                 .up = fields[3] == "UP"};
}

std::string_view to_string(DrillKind kind) {
  switch (kind) {
    case DrillKind::kKill:
      return "kill";
    case DrillKind::kStop:
      return "stop";
    case DrillKind::kLink:
      return "link";
    case DrillKind::kPreempt:
      return "preempt";
    case DrillKind::kLoss:
      return "loss";
    case DrillKind::kPartition:
      return "partition";
    case DrillKind::kReload:
      return "reload";
    case DrillKind::kRsFail:
      return "rs-fail";
    case DrillKind::kRsRecover:
      return "rs-recover";
  }
  return "?";
}

bool is_reload_complete(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.remove_suffix(1);
  return line.ends_with("] configuration reloaded") || line.ends_with(": Reload complete");
}

std::optional<int64_t> nft_counted_packets(std::string_view listing) {
  constexpr std::string_view kCounter = "counter packets ";
  std::optional<int64_t> sum;
  for (size_t at = listing.find(kCounter); at != std::string_view::npos;
       at = listing.find(kCounter, at + 1)) {
    size_t i = at + kCounter.size();
    int64_t n = 0;
    size_t digits = 0;
    for (; i < listing.size() && listing[i] >= '0' && listing[i] <= '9' && digits < 18;
         ++i, ++digits)
      n = n * 10 + (listing[i] - '0');
    if (digits == 0) continue;
    sum = sum.value_or(0) + n;
  }
  return sum;
}

std::optional<DrillKind> parse_drill(std::string_view name) {
  for (DrillKind kind : kAllDrills) {
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

RunVerdict judge_run(const Timeline& timeline, const Names& names, const DrillRun& run,
                     const std::vector<double>& replies) {
  RunVerdict v;
  auto fail = [&](std::string message) {
    v.passed = false;
    v.failures.push_back(std::move(message));
  };
  const int victim = run.victim;
  const int peer = 1 - victim;
  const std::string& victim_name = names.directors[victim];
  const std::string& peer_name = names.directors[peer];

  // Never two masters outside a fault window: from the end of the last window to this fault.
  for (double t : timeline.changes(run.quiet_from, run.fault_at)) {
    const Snapshot s = timeline.at(t);
    for (size_t i = 0; i < s.states.size(); ++i) {
      if (masters(s, i) == 2) {
        fail(fmt::format("two masters outside a fault window: {} on {} and {}, {} before the fault",
                         names.instances[i], names.directors[0], names.directors[1],
                         ms(run.fault_at - t)));
        break;
      }
    }
    if (!v.passed) break;
  }

  const bool failover =
      run.kind == DrillKind::kKill || run.kind == DrillKind::kStop || run.kind == DrillKind::kLink;
  // Who should hold the instances when the fault has done its work.
  int new_master = peer;
  if (run.kind == DrillKind::kPreempt) new_master = run.expect_preempt ? victim : peer;
  const double window_end = failover ? run.heal_at : run.end_at;
  const auto events = timeline.states_between(run.fault_at, window_end);

  if (run.kind == DrillKind::kReload || run.kind == DrillKind::kLoss) {
    // Neither a reload nor losses below the tolerance may change what VRRP shows: no state line
    // from either director for any instance, no VIP removed or added.
    const bool reload = run.kind == DrillKind::kReload;
    const char* since = reload ? "after the first SIGHUP" : "after the loss began";
    const char* fault = reload ? "a reload" : "losing one advert in two";
    std::vector<std::pair<int, int>> moved;  // (director, instance), each reported once
    for (const auto& e : timeline.states_between(run.fault_at, run.end_at)) {
      if (std::find(moved.begin(), moved.end(), std::pair{e.director, e.instance}) != moved.end())
        continue;
      moved.emplace_back(e.director, e.instance);
      fail(fmt::format("{} went {} for {} {} {}: {} must not change a VRRP state",
                       names.directors[e.director], to_string(e.state), names.instances[e.instance],
                       ms(e.at - run.fault_at), since, fault));
    }
    for (const auto& e : timeline.vips_between(run.fault_at, run.end_at)) {
      fail(fmt::format("{} was {} {} {} {}: {} must not move a VIP", names.vips[e.vip],
                       e.present ? "added on" : "removed from", names.directors[e.director],
                       ms(e.at - run.fault_at), since, fault));
      break;
    }
  }
  if (run.kind == DrillKind::kLoss && run.adverts_dropped == 0)
    fail(
        fmt::format("nftables dropped none of {}'s adverts: the loss never happened", victim_name));
  if (run.kind == DrillKind::kReload) {
    for (int d = 0; d < 2; ++d) {
      if (run.reloads[d] == 0)
        fail(fmt::format("{} logged no completed reload after {} SIGHUPs", names.directors[d],
                         kReloadStorm));
    }
  }

  for (int instance : run.instances) {
    const std::string& iname = names.instances[instance];
    size_t to_master[2] = {0, 0};
    bool victim_fault = false;
    bool peer_left_master = false;
    for (const auto& e : events) {
      if (e.instance != instance) continue;
      if (e.state == State::kMaster) ++to_master[e.director];
      if (e.director == victim && e.state == State::kFault) victim_fault = true;
      if (e.director == peer && e.state != State::kMaster) peer_left_master = true;
    }
    if (failover) {
      v.takeovers += to_master[peer];
      if (to_master[peer] == 0)
        fail(fmt::format("{} never became MASTER of {} after the fault", peer_name, iname));
      else if (to_master[peer] > 1)
        fail(fmt::format("{} became MASTER of {} {} times during the fault (it flapped)", peer_name,
                         iname, to_master[peer]));
      if (run.kind == DrillKind::kLink && !victim_fault)
        fail(fmt::format("{} never reported FAULT for {} after its interface went down",
                         victim_name, iname));
      // Exactly one master from the takeover until the fault is undone; the killed or stopped
      // daemon counts as DOWN.
      for (double t : timeline.changes(run.fault_at, run.heal_at)) {
        if (masters(timeline.at(t), instance) == 2) {
          fail(fmt::format("two masters of {} during the fault, {} after it", iname,
                           ms(t - run.fault_at)));
          break;
        }
      }
    } else if (run.kind == DrillKind::kPreempt) {
      v.takeovers += to_master[new_master];
      if (run.expect_preempt) {
        if (to_master[victim] == 0)
          fail(fmt::format("{} returned with the higher priority but never took {} back{}",
                           victim_name, iname,
                           run.preempt_why.empty() ? "" : " (" + run.preempt_why + ")"));
        else if (to_master[victim] > 1)
          fail(fmt::format("{} became MASTER of {} {} times after returning (it flapped)",
                           victim_name, iname, to_master[victim]));
      } else {
        if (to_master[victim] > 0)
          fail(run.preempt_why.empty()
                   ? fmt::format("{} took {} over on returning although it must not preempt "
                                 "(nopreempt, or a priority not above {}'s)",
                                 victim_name, iname, peer_name)
                   : fmt::format("{} took {} over on returning although it must not: {}",
                                 victim_name, iname, run.preempt_why));
        if (peer_left_master)
          fail(fmt::format("{} left MASTER of {} when {} returned", peer_name, iname, victim_name));
      }
    } else if (run.kind == DrillKind::kPartition) {
      // Both claim the instance: the report says since when and for how long.
      std::optional<double> both_from;
      double both_total = 0;
      for (double t : timeline.changes(run.fault_at, run.heal_at)) {
        const bool both = masters(timeline.at(t), instance) == 2;
        if (both && !both_from) {
          both_from = t;
          if (!v.two_masters_since) v.two_masters_since = t - run.fault_at;
        } else if (!both && both_from) {
          both_total += t - *both_from;
          both_from.reset();
        }
      }
      if (both_from) both_total += run.heal_at - *both_from;
      if (!v.two_masters_since)
        fail(
            fmt::format("the partition never split {}: it was MASTER on one director only", iname));
      else
        v.two_masters_for = both_total;
    }
  }

  // The VIP move: the fault -> the VIP added on the new master.
  if (run.vip >= 0 && run.kind != DrillKind::kPartition && run.kind != DrillKind::kReload &&
      run.kind != DrillKind::kLoss && !(run.kind == DrillKind::kPreempt && !run.expect_preempt)) {
    for (const auto& e : timeline.vips_between(run.fault_at, window_end)) {
      if (e.vip == run.vip && e.director == new_master && e.present) {
        v.vip_move = e.at - run.fault_at;
        break;
      }
    }
    if (!v.vip_move)
      fail(fmt::format("{} never reached {} after the fault", names.vips[run.vip],
                       names.directors[new_master]));
  }
  // The client's outage: the longest gap between replies that ends after the fault (within the
  // window; kill/stop/link: before the fault is undone).
  if (run.vip >= 0) {
    std::vector<double> window;
    for (double r : replies) {
      if (r <= window_end) window.push_back(r);
    }
    const GapSummary gaps = summarize_replies(window, run.fault_at);
    if (!gaps.first_after_mark) {
      if (run.kind != DrillKind::kPartition)
        fail(fmt::format("the client got no reply from {} after the fault", names.vips[run.vip]));
    } else {
      v.outage = gaps.longest_gap_after_mark;
    }
    // After a split brain heals, the client's neighbour entry points at whichever director sent
    // the last gratuitous ARP; when that one stepped down and the other never heard it again, the
    // client reaches nobody until the entry expires (tens of seconds).
    if (run.kind == DrillKind::kPartition &&
        std::none_of(window.begin(), window.end(), [&](double r) { return r > run.heal_at; }))
      fail(fmt::format(
          "the client got no reply from {} after the partition healed: its neighbour entry still "
          "points at the director that stepped down (give the instances higher_prio_send_advert, "
          "so that the director that stays MASTER hears it and sends gratuitous ARPs)",
          names.vips[run.vip]));
  }
  if (run.unsettled) fail(*run.unsettled);
  return v;
}

std::optional<Distribution> distribution(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  auto rank = [&](double q) {
    auto index = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::clamp<size_t>(index, 1, values.size()) - 1];
  };
  return Distribution{values.size(), rank(0.5), rank(0.99)};
}

}  // namespace vigil::lab
