#include "lab/drills.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "lab/rs_judge.h"
#include "lab/shell.h"

namespace vigil::lab {
namespace {

// Everything the lab waits for is bounded by these, scaled by the slowest instance.
struct Bounds {
  double hold;      // how long the steady state must hold before a fault
  double steady;    // the longest wait for the steady state
  double takeover;  // the longest wait for a takeover after a fault
  double observe;   // how long a fault stays in place once it did its work
  // How long a takeover the configured priorities promise (PreemptRules) may keep the pair from
  // being steady: beyond it the lab takes the pair as it is (a tracked priority may have
  // lowered the backup's, which the configuration does not show).
  double preempt_grace;
};

Bounds bounds_for(const LabModel& model) {
  double down = 0;
  double preempt_delay = 0;
  for (const auto& d : model.directors) {
    for (const auto& i : d.instances) {
      down = std::max(down, master_down_interval(i));
      preempt_delay = std::max(preempt_delay, i.preempt_delay);
    }
  }
  const double advert = model.advert_int;
  const double preempt_grace = 1.0 + 2 * down + preempt_delay;
  return Bounds{.hold = std::max(5 * advert, 0.5),
                .steady = 8.0 + 10 * down + preempt_grace,
                .takeover = 5.0 + 3 * down,
                .observe = std::max(3 * advert, 0.3),
                .preempt_grace = preempt_grace};
}

PreemptRules preempt_rules(const LabModel& model) {
  PreemptRules rules(model.directors[0].instances.size());
  for (int d = 0; d < 2; ++d) {
    const auto& instances = model.directors[d].instances;
    for (size_t i = 0; i < instances.size() && i < rules.size(); ++i) {
      rules[i].priority[d] = instances[i].priority;
      rules[i].nopreempt[d] = instances[i].nopreempt;
    }
  }
  return rules;
}

// Waits until `predicate(snapshot)` holds, bounded by `timeout`; false when it never did.
bool wait_for(Lab& lab, double timeout, const std::function<bool(const Snapshot&)>& predicate) {
  const double end = monotonic_seconds() + timeout;
  // Bounded by `end`; each pass sleeps 5 ms.
  for (;;) {
    check_interrupt();
    lab.check_daemons();
    const double now = monotonic_seconds();
    if (predicate(lab.timeline().at(now))) return true;
    if (now >= end) return false;
    sleep_for(0.005);
  }
}

// Waits until the pair has been steady for `hold`; returns the failure text, or nothing. A
// takeover the configuration promises (a restarted backup with the higher priority) is waited
// for, up to `preempt_grace`, so that the next fault starts from the pair's real steady state
// and not from the moment before that backup's master-down timer runs out.
std::optional<std::string> wait_steady(Lab& lab, const Bounds& b, std::string_view when,
                                       double& steady_at) {
  const double end = monotonic_seconds() + b.steady;
  const PreemptRules rules = preempt_rules(lab.model());
  double pending_from = -1;  // since when a takeover has been pending; -1: none
  // Bounded by `end`; each pass sleeps 20 ms.
  for (;;) {
    check_interrupt();
    lab.check_daemons();
    const double now = monotonic_seconds();
    const Timeline timeline = lab.timeline();
    const bool pending =
        judge_steady(timeline.at(now), lab.names(), rules).verdict == Steadiness::kPreemptPending;
    if (!pending) pending_from = -1;
    if (pending && pending_from < 0) pending_from = now;
    const bool waited_enough = pending_from >= 0 && now - pending_from >= b.preempt_grace;
    const auto since =
        steady_since(timeline, lab.names(), now, waited_enough ? PreemptRules{} : rules);
    if (since && now - *since >= b.hold) {
      steady_at = now;
      return std::nullopt;
    }
    if (now >= end) {
      steady_at = now;
      return steady_failure(judge_steady(timeline.at(now), lab.names(), rules), when);
    }
    sleep_for(0.02);
  }
}

int master_of(const Snapshot& s, int instance) {
  if (s.states[instance][0] == State::kMaster) return 0;
  if (s.states[instance][1] == State::kMaster) return 1;
  return -1;
}

int vip_index(const LabModel& model, const LabInstance& instance) {
  if (instance.vips.empty()) return -1;
  auto it = std::find(model.vips.begin(), model.vips.end(), instance.vips.front());
  return it == model.vips.end() ? -1 : static_cast<int>(it - model.vips.begin());
}

std::string fmt_ms(std::optional<double> seconds) {
  return seconds ? fmt::format("{:.1f} ms", *seconds * 1000.0) : std::string("-");
}

// What the report shows of a run: the states, VIPs and client `replies` (from its VIP) from
// `from` to its end.
void keep_timeline(const Timeline& timeline, const std::vector<double>& replies, double from,
                   RunRecord& rec) {
  rec.from = from;
  rec.initial = timeline.at(from);
  rec.states = timeline.states_between(from, rec.what.end_at);
  rec.vips = timeline.vips_between(from, rec.what.end_at);
  rec.replies.clear();
  for (double r : replies) {
    if (r >= from && r <= rec.what.end_at) rec.replies.push_back(r);
  }
}

// Why the loss drill means nothing for this configuration, or nothing: losing one advert in two
// leaves a gap of two advert intervals, which must stay a whole interval below the
// Master_Down_Interval (down_timer_adverts intervals plus the skew), or timing alone decides.
std::optional<std::string> loss_cannot_play(const LabModel& model) {
  for (const auto& d : model.directors) {
    for (const auto& i : d.instances) {
      if (i.down_timer_adverts < 3)
        return fmt::format(
            "{} on {} has down_timer_adverts {}: losing one advert in two is not "
            "below its tolerance by a whole advert interval, so the loss drill "
            "needs at least 3",
            i.name, d.id, i.down_timer_adverts);
    }
  }
  return std::nullopt;
}

bool is_rs(DrillKind kind) {
  return kind == DrillKind::kRsFail || kind == DrillKind::kRsRecover;
}

// Why the lab cannot play a real server's fault here, or nothing.
std::optional<std::string> rs_cannot_play(const Lab& lab) {
  if (!lab.checkers_run())
    return "the directors run VRRP only (-P: this kernel has no IPVS), so no checker runs to "
           "take a real server out";
  const LabModel& model = lab.model();
  if (model.virtual_servers.empty()) {
    return model.unplayable.empty()
               ? std::string("the configuration has no virtual_server: no real server to stop")
               : "no virtual_server whose real servers the lab can play: " +
                     model.unplayable.front();
  }
  return std::nullopt;
}

// Waits (bounded by `timeout`) until each director has an RS line for `key` saying `up` after
// `since`; false when one never did.
bool wait_rs_line(Lab& lab, double timeout, const std::string& vs, const std::string& key, bool up,
                  double since) {
  const double end = monotonic_seconds() + timeout;
  // Bounded by `end`; each pass sleeps 10 ms.
  for (;;) {
    check_interrupt();
    lab.check_daemons();
    const double now = monotonic_seconds();
    bool seen[2] = {false, false};
    for (const auto& e : lab.timeline().rs_between(since, now)) {
      if (e.virtual_server == vs && e.real_server == key && e.up == up) seen[e.director] = true;
    }
    if (seen[0] && seen[1]) return true;
    if (now >= end) return false;
    sleep_for(0.01);
  }
}

// One run of rs-fail / rs-recover once the pair is steady: the health must be steady too, then
// the real server's fault, then the verdict. `rs_broken` is set when the health never settled.
void rs_drill_run(Lab& lab, const Bounds& b, RunRecord& rec, const std::string& tag, double phase,
                  const std::function<void(const std::string&)>& progress,
                  std::optional<std::string>& rs_broken) {
  const LabModel& model = lab.model();
  const LabVirtualServer& vs = model.virtual_servers.front();
  RsRun run;
  run.kind = rec.what.kind;
  run.service.virtual_server = vs.key;
  for (const auto& rs : vs.real_servers) {
    run.service.real_servers.push_back(rs.key);
    run.service.starts_up.push_back(rs.starts_up);
  }
  run.victim = (rec.run - 1) % static_cast<int>(vs.real_servers.size());
  const std::string& key = vs.real_servers[run.victim].key;
  rec.real_server = key;
  const double cycle = vs.check_cycle;
  const double line_bound = 5.0 + 2 * cycle;

  // Every real server up on both directors, and no RS line, for a whole check cycle.
  progress(tag + fmt::format(" waiting for every real server of VS {} to be up on both "
                             "directors for a check cycle ({:.1f} s)",
                             vs.key, cycle));
  {
    const double end = monotonic_seconds() + b.steady + 3 * cycle;
    double ok_since = -1;  // since when the health has been fine; -1: it is not
    std::optional<std::string> failure;
    // Bounded by `end`; each pass sleeps 50 ms.
    for (;;) {
      check_interrupt();
      lab.check_daemons();
      const double now = monotonic_seconds();
      failure = rs_health_failure(lab.timeline(), lab.names(), run.service, now, cycle);
      if (failure) ok_since = -1;
      if (!failure && ok_since < 0) ok_since = now;
      if (ok_since >= 0 && now - ok_since >= cycle) break;
      if (now >= end) break;
      sleep_for(0.05);
    }
    if (ok_since < 0 || monotonic_seconds() - ok_since < cycle) {
      const double now = monotonic_seconds();
      rec.what.fault_at = rec.what.heal_at = rec.what.end_at = now;
      rec.verdict.passed = false;
      rec.verdict.failures.push_back(
          failure.value_or("real-server health not steady before the fault"));
      rs_broken = rec.verdict.failures.back();
      return;
    }
  }
  if (run.kind == DrillKind::kRsRecover) {
    progress(tag + fmt::format(" setup: real server {} stops", key));
    const double down_at = monotonic_seconds();
    lab.set_real_server(0, run.victim, false);
    if (!wait_rs_line(lab, line_bound, vs.key, key, false, down_at)) {
      lab.set_real_server(0, run.victim, true);
      const double now = monotonic_seconds();
      rec.what.fault_at = rec.what.heal_at = rec.what.end_at = now;
      rec.verdict.passed = false;
      rec.verdict.failures.push_back(
          fmt::format("setup: the directors' checkers did not both take {} out within {:.1f} s",
                      key, line_bound));
      return;
    }
  }
  sleep_for(phase);
  const bool up = run.kind == DrillKind::kRsRecover;
  run.fault_at = monotonic_seconds();
  progress(tag + " real server " + key +
           (up ? " comes back (its port listens again)" : " stops (its port closes)"));
  lab.set_real_server(0, run.victim, up);
  if (wait_rs_line(lab, line_bound, vs.key, key, up, run.fault_at)) {
    progress(tag + fmt::format(" both directors took it {}; watching {:.1f} s more",
                               up ? "back" : "out", b.observe));
  } else {
    progress(tag + fmt::format(" not both directors took it {} within {:.1f} s",
                               up ? "back" : "out", line_bound));
  }
  sleep_for(b.observe);
  run.end_at = monotonic_seconds();
  rec.what.fault_at = run.fault_at;
  rec.what.heal_at = rec.what.end_at = run.end_at;
  const Timeline timeline = lab.timeline();
  rec.verdict = judge_rs_run(timeline, lab.names(), run);
  rec.rs_events = timeline.rs_between(run.fault_at, run.end_at);
  if (!up) {
    // Back for the next run (not judged): the next run's health wait sees it up again.
    lab.set_real_server(0, run.victim, true);
    wait_rs_line(lab, line_bound, vs.key, key, true, run.end_at);
  }
}

}  // namespace

size_t DrillRecord::passed() const {
  return static_cast<size_t>(
      std::count_if(runs.begin(), runs.end(), [](const RunRecord& r) { return r.verdict.passed; }));
}

std::vector<DrillRecord> run_drills(Lab& lab, const DrillPlan& plan,
                                    const std::function<void(const std::string&)>& progress) {
  const LabModel& model = lab.model();
  const Names& names = lab.names();
  const Bounds b = bounds_for(model);
  std::mt19937 random(plan.seed ? *plan.seed : std::random_device{}());
  std::vector<DrillRecord> records;
  const size_t total = plan.drills.size();
  double quiet_from = monotonic_seconds();
  std::optional<std::string> broken;     // the steady state never came: the rest cannot run
  std::optional<std::string> rs_broken;  // the real servers' health never settled

  for (size_t n = 0; n < total; ++n) {
    DrillRecord record{.kind = plan.drills[n], .runs = {}};
    const std::string drill(to_string(record.kind));
    for (int r = 1; r <= plan.repeat; ++r) {
      const std::string tag =
          fmt::format("[drill {}/{} {}, run {}/{}]", n + 1, total, drill, r, plan.repeat);
      RunRecord rec;
      rec.run = r;
      rec.what.kind = record.kind;
      rec.what.quiet_from = quiet_from;
      if (broken) {
        rec.verdict.passed = false;
        rec.verdict.failures.push_back("not run: " + *broken);
        record.runs.push_back(std::move(rec));
        continue;
      }
      if (is_rs(record.kind) || record.kind == DrillKind::kLoss) {
        std::optional<std::string> why;
        if (record.kind == DrillKind::kLoss) {
          why = loss_cannot_play(model);
        } else {
          why = rs_cannot_play(lab);
          if (!why && rs_broken) why = rs_broken;
        }
        if (why) {
          rec.verdict.passed = false;
          rec.verdict.failures.push_back("not run: " + *why);
          if (r == 1) progress(tag + " not run: " + *why);
          record.runs.push_back(std::move(rec));
          continue;
        }
      }
      progress(tag +
               " waiting for the steady state (one MASTER per instance, each VIP on one "
               "director)");
      double steady_at = 0;
      if (auto failure = wait_steady(lab, b, "before the fault", steady_at)) {
        rec.what.fault_at = rec.what.heal_at = rec.what.end_at = steady_at;
        rec.verdict.passed = false;
        rec.verdict.failures.push_back(*failure);
        progress(tag + " FAILED: " + *failure);
        broken = *failure;
        record.runs.push_back(std::move(rec));
        continue;
      }
      // The daemons' start is a window of its own: the first quiet time is the steady state.
      if (records.empty() && r == 1) rec.what.quiet_from = steady_at - b.hold;
      if (is_rs(record.kind)) {
        std::uniform_real_distribution<double> phase(0.0, model.advert_int);
        rec.phase = phase(random);
        const double from = steady_at - b.hold;
        rs_drill_run(lab, b, rec, tag, rec.phase, progress, rs_broken);
        const Timeline timeline = lab.timeline();
        keep_timeline(timeline, lab.replies(rec.what.vip), from, rec);
        quiet_from = monotonic_seconds();
        std::string line = tag + (rec.verdict.passed ? " passed" : " FAILED");
        if (rec.verdict.rs_change)
          line += ", real server out/back on both directors after " + fmt_ms(rec.verdict.rs_change);
        for (const auto& f : rec.verdict.failures)
          line += "\n    " + f;
        progress(line);
        record.runs.push_back(std::move(rec));
        continue;
      }
      Snapshot before = lab.timeline().at(monotonic_seconds());
      const int master = master_of(before, 0);
      const int peer = 1 - master;
      DrillRun& what = rec.what;
      what.victim = master;
      for (size_t i = 0; i < names.instances.size(); ++i) {
        if (master_of(before, static_cast<int>(i)) == master)
          what.instances.push_back(static_cast<int>(i));
      }
      what.vip = vip_index(model, model.directors[master].instances.front());
      const double record_from = steady_at - b.hold;

      if (record.kind == DrillKind::kPreempt) {
        // The master leaves (SIGTERM) and the peer takes over; that is the setup. The drill is
        // its return.
        progress(tag + fmt::format(" stopping {} (MASTER) so that it can return",
                                   names.directors[master]));
        lab.stop_daemon(master);
        double settled = 0;
        if (auto failure = wait_steady(lab, b, "before the return", settled)) {
          what.fault_at = what.heal_at = what.end_at = settled;
          rec.verdict.passed = false;
          rec.verdict.failures.push_back(*failure);
          progress(tag + " FAILED: " + *failure);
          lab.start_daemon(master);
          record.runs.push_back(std::move(rec));
          continue;
        }
        what.quiet_from = settled;
        what.instances.clear();
        before = lab.timeline().at(monotonic_seconds());
        for (size_t i = 0; i < names.instances.size(); ++i) {
          if (master_of(before, static_cast<int>(i)) == peer)
            what.instances.push_back(static_cast<int>(i));
        }
        // The first instance decides, as "the master" is its master (docs/lab.md).
        const ReturnRule rule = return_rule(model, 0, master);
        what.expect_preempt = rule.takeover;
        what.preempt_why = rule.why;
      }

      std::uniform_real_distribution<double> phase(0.0, model.advert_int);
      rec.phase = phase(random);
      sleep_for(rec.phase);
      const std::string victim_name = names.directors[master];
      const std::string peer_name = names.directors[peer];
      auto peer_holds = [&](const Snapshot& s) {
        for (int i : what.instances) {
          if (s.states[i][peer] != State::kMaster) return false;
        }
        return what.vip < 0 || s.vip_on[what.vip][peer];
      };

      switch (record.kind) {
        case DrillKind::kKill:
        case DrillKind::kStop:
        case DrillKind::kLink: {
          what.fault_at = monotonic_seconds();
          if (record.kind == DrillKind::kKill) {
            progress(tag +
                     fmt::format(" unplugging {} (MASTER) and SIGKILLing its daemon", victim_name));
            lab.plug(master, false);
            lab.kill_daemon(master);
          } else if (record.kind == DrillKind::kStop) {
            progress(tag + fmt::format(" SIGTERM to the daemon on {} (MASTER)", victim_name));
            lab.stop_daemon(master);
          } else {
            progress(tag + fmt::format(" {}'s VRRP interface {} down", victim_name,
                                       model.directors[master].instances.front().interface));
            lab.set_link(master, model.directors[master].instances.front().interface, false);
          }
          if (wait_for(lab, b.takeover, peer_holds)) {
            progress(tag + fmt::format(" {} took over; holding the fault {:.1f} s", peer_name,
                                       b.observe));
            sleep_for(b.observe);
          } else {
            progress(tag +
                     fmt::format(" {} did not take over within {:.1f} s", peer_name, b.takeover));
          }
          what.heal_at = monotonic_seconds();
          if (record.kind == DrillKind::kKill) {
            progress(tag + fmt::format(" {} back: VIPs flushed (as a reboot does), plugged in, "
                                       "daemon restarted",
                                       victim_name));
            lab.flush_vips(master);
            lab.plug(master, true);
            lab.start_daemon(master);
          } else if (record.kind == DrillKind::kStop) {
            progress(tag + fmt::format(" {} back: daemon restarted", victim_name));
            lab.start_daemon(master);
          } else {
            progress(tag + fmt::format(" {}'s interface back up", victim_name));
            lab.set_link(master, model.directors[master].instances.front().interface, true);
          }
          break;
        }
        case DrillKind::kPreempt: {
          what.fault_at = what.heal_at = monotonic_seconds();
          progress(
              tag +
              fmt::format(" {} returns (priority {}{}): it {} take over ({})", victim_name,
                          model.directors[master].instances.front().priority,
                          model.directors[master].instances.front().nopreempt ? ", nopreempt" : "",
                          what.expect_preempt ? "must" : "must not", what.preempt_why));
          lab.start_daemon(master);
          // Wait for the returning daemon to report a state, then for a takeover or long enough
          // that one would have happened.
          wait_for(lab, b.takeover, [&](const Snapshot& s) {
            for (int i : what.instances) {
              if (s.states[i][master] == State::kDown || s.states[i][master] == State::kUnknown)
                return false;
            }
            return true;
          });
          if (what.expect_preempt) {
            auto returned = [&](const Snapshot& s) {
              for (int i : what.instances) {
                if (s.states[i][master] != State::kMaster) return false;
              }
              return what.vip < 0 || s.vip_on[what.vip][master];
            };
            wait_for(lab, b.takeover, returned);
          } else {
            sleep_for(b.takeover / 2);
          }
          break;
        }
        case DrillKind::kPartition: {
          what.fault_at = monotonic_seconds();
          progress(tag +
                   " VRRP between the directors dropped (nftables): both should claim "
                   "MASTER");
          lab.partition(true);
          auto both = [&](const Snapshot& s) {
            for (int i : what.instances) {
              if (s.states[i][0] != State::kMaster || s.states[i][1] != State::kMaster)
                return false;
            }
            return true;
          };
          if (wait_for(lab, b.takeover, both)) sleep_for(b.observe);
          what.heal_at = monotonic_seconds();
          progress(tag + " partition healed");
          lab.partition(false);
          break;
        }
        case DrillKind::kLoss: {
          const double duration = kLossAdverts * model.advert_int;
          what.fault_at = monotonic_seconds();
          progress(tag + fmt::format(" one in two of {}'s (MASTER) adverts dropped for {:.1f} s "
                                     "(nftables): below its peer's tolerance, nothing may change",
                                     victim_name, duration));
          lab.lose_adverts(master, true);
          sleep_for(duration);
          what.adverts_dropped = lab.lose_adverts(master, false);
          what.heal_at = monotonic_seconds();
          progress(tag + fmt::format(" loss ended: {} adverts dropped", what.adverts_dropped));
          break;
        }
        case DrillKind::kReload: {
          const int before_reloads[2] = {lab.reloads_logged(0), lab.reloads_logged(1)};
          const double spacing = std::max(model.advert_int / 2, 0.05);
          what.fault_at = monotonic_seconds();
          progress(tag + fmt::format(" SIGHUP storm: {} SIGHUPs to each director's daemon, one "
                                     "every {:.0f} ms; nothing may change",
                                     kReloadStorm, spacing * 1000.0));
          for (int k = 0; k < kReloadStorm; ++k) {
            lab.reload_daemon(0);
            lab.reload_daemon(1);
            sleep_for(spacing);
          }
          what.heal_at = monotonic_seconds();
          // Each daemon logs a completed reload (bounded), then the lab watches a while longer:
          // a reload that upsets VRRP shows within a few adverts.
          auto both_reloaded = [&] {
            return lab.reloads_logged(0) > before_reloads[0] &&
                   lab.reloads_logged(1) > before_reloads[1];
          };
          const double reload_end = monotonic_seconds() + b.takeover;
          // Bounded by `reload_end`; each pass sleeps 50 ms.
          while (!both_reloaded() && monotonic_seconds() < reload_end) {
            check_interrupt();
            lab.check_daemons();
            sleep_for(0.05);
          }
          sleep_for(b.observe);
          lab.check_daemons();
          for (int d = 0; d < 2; ++d)
            what.reloads[d] = lab.reloads_logged(d) - before_reloads[d];
          progress(tag + fmt::format(" reloads completed: {} {}, {} {}", names.directors[0],
                                     what.reloads[0], names.directors[1], what.reloads[1]));
          break;
        }
        case DrillKind::kRsFail:
        case DrillKind::kRsRecover:
          break;  // played above
      }
      double settled = 0;
      if (auto failure = wait_steady(lab, b, "after healing", settled)) what.unsettled = failure;
      what.end_at = settled;
      const Timeline timeline = lab.timeline();
      const std::vector<double> replies = lab.replies(what.vip);
      rec.verdict = judge_run(timeline, names, what, replies);
      keep_timeline(timeline, replies, record_from, rec);
      quiet_from = what.end_at;
      std::string line = tag + (rec.verdict.passed ? " passed" : " FAILED");
      if (rec.verdict.vip_move) line += ", VIP move " + fmt_ms(rec.verdict.vip_move);
      if (rec.verdict.outage) line += ", outage " + fmt_ms(rec.verdict.outage);
      if (rec.verdict.two_masters_since)
        line += ", two masters from " + fmt_ms(rec.verdict.two_masters_since) +
                " after the fault for " + fmt_ms(rec.verdict.two_masters_for);
      for (const auto& f : rec.verdict.failures)
        line += "\n    " + f;
      progress(line);
      if (what.unsettled) broken = what.unsettled;
      record.runs.push_back(std::move(rec));
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace vigil::lab
