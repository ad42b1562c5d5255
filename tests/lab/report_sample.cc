#include "lab/report_sample.h"

namespace vigil::lab::testing {
namespace {

RunRecord base_run(DrillKind kind, int n) {
  RunRecord r;
  r.run = n;
  r.what.kind = kind;
  r.what.victim = 0;
  r.what.instances = {0};
  r.what.vip = 0;
  r.what.fault_at = 10.0;
  r.what.heal_at = 11.0;
  r.what.end_at = 12.0;
  r.phase = 0.042;
  r.from = 9.0;
  r.initial.states = {{State::kMaster, State::kBackup}};
  r.initial.vip_on = {{true, false}};
  // The client: a reply every 2 ms but from the fault to the VIP's arrival on d2.
  for (int k = 0; k <= 1500; ++k) {
    const double t = 9.0 + k * 0.002;
    if (t < 10.0 || t > 10.37) r.replies.push_back(t);
  }
  r.states.push_back(StateEvent{9.5, 0, 0, State::kMaster});
  r.states.push_back(StateEvent{10.0, 0, 0, State::kDown});
  r.states.push_back(StateEvent{10.35, 1, 0, State::kMaster});
  r.vips.push_back(VipEvent{10.36, 1, 0, true});
  return r;
}

}  // namespace

LabModel sample_model() {
  LabModel m;
  m.directors[0].id = "d1";
  m.directors[0].config_path = "/etc/vigil/d1.conf";
  m.directors[1].id = "d2";
  m.directors[1].config_path = "/etc/vigil/d2.conf";
  LabInstance i;
  i.name = "VI_1";
  i.interface = "eth0";
  i.virtual_router_id = 51;
  i.advert_int = 0.1;
  i.version = 3;
  i.vips = {"192.0.2.200"};
  i.priority = 150;
  m.directors[0].instances = {i};
  i.priority = 100;
  i.nopreempt = true;
  m.directors[1].instances = {i};
  m.vips = {"192.0.2.200"};
  m.advert_int = 0.1;
  return m;
}

Names sample_names() {
  return Names{{"d1", "d2"}, {"VI_1"}, {"192.0.2.200"}};
}

ReportContext sample_context() {
  return ReportContext{.daemon = "vigild",
                       .daemon_path = "/usr/sbin/vigild",
                       .vrrp_only = true,
                       .ipvs_note = "",
                       .demo = false,
                       .notes = {"d2's daemon exited on its own"}};
}

std::vector<DrillRecord> sample_drills() {
  DrillRecord kill{.kind = DrillKind::kKill, .runs = {}};
  for (int n = 1; n <= 3; ++n) {
    RunRecord r = base_run(DrillKind::kKill, n);
    r.verdict.vip_move = 0.30 + 0.05 * n;
    r.verdict.outage = 0.31 + 0.05 * n;
    r.verdict.takeovers = 1;
    kill.runs.push_back(r);
  }
  // Markup characters in a reason: the XML must escape them.
  kill.runs[2].verdict.passed = false;
  kill.runs[2].verdict.failures = {"d2 never became MASTER of VI_1 after the fault",
                                   "a <reason> with \"quotes\" & an ampersand"};

  DrillRecord preempt{.kind = DrillKind::kPreempt, .runs = {}};
  RunRecord p = base_run(DrillKind::kPreempt, 1);
  p.what.heal_at = p.what.fault_at;
  p.what.expect_preempt = true;
  p.verdict.vip_move = 0.2;
  p.verdict.outage = 0.01;
  p.verdict.takeovers = 1;
  preempt.runs.push_back(p);

  DrillRecord partition{.kind = DrillKind::kPartition, .runs = {}};
  RunRecord s = base_run(DrillKind::kPartition, 1);
  s.verdict.outage = 0.004;
  s.verdict.two_masters_since = 0.33;
  s.verdict.two_masters_for = 0.6;
  partition.runs.push_back(s);

  DrillRecord loss{.kind = DrillKind::kLoss, .runs = {}};
  RunRecord l = base_run(DrillKind::kLoss, 1);
  l.states = {StateEvent{9.5, 0, 0, State::kMaster}};
  l.vips = {};
  l.what.adverts_dropped = 10;
  l.verdict.outage = 0.002;
  loss.runs.push_back(l);

  DrillRecord reload{.kind = DrillKind::kReload, .runs = {}};
  RunRecord h = base_run(DrillKind::kReload, 1);
  h.states = {StateEvent{9.5, 0, 0, State::kMaster}};
  h.vips = {};
  h.what.reloads = {5, 4};  // two SIGHUPs merged on d2
  h.verdict.outage = 0.003;
  reload.runs.push_back(h);

  // The steady state never came: a run that failed before its fault, and one not run, with
  // nothing measured.
  DrillRecord link{.kind = DrillKind::kLink, .runs = {}};
  RunRecord broken;
  broken.run = 1;
  broken.what.kind = DrillKind::kLink;
  broken.what.fault_at = broken.what.heal_at = broken.what.end_at = 20.0;
  broken.verdict.passed = false;
  broken.verdict.failures = {"split brain before the fault: VI_1 is MASTER on d1 and d2"};
  link.runs.push_back(broken);
  RunRecord not_run;
  not_run.run = 2;
  not_run.what.kind = DrillKind::kLink;
  not_run.verdict.passed = false;
  not_run.verdict.failures = {"not run: split brain before the fault: VI_1 is MASTER on d1 and d2"};
  link.runs.push_back(not_run);
  // A real server taken out on both directors (no VRRP transition), and rs-recover not run
  // where the checkers cannot run.
  DrillRecord rs_fail{.kind = DrillKind::kRsFail, .runs = {}};
  RunRecord f;
  f.run = 1;
  f.what.kind = DrillKind::kRsFail;
  f.what.fault_at = 30.0;
  f.what.heal_at = f.what.end_at = 31.2;
  f.phase = 0.05;
  f.real_server = "[198.51.100.11]:tcp:80";
  f.states.push_back(StateEvent{29.0, 0, 0, State::kMaster});
  f.rs_events.push_back(RsEvent{30.6, 0, "[198.51.100.11]:tcp:80", "[192.0.2.200]:tcp:80", false});
  f.rs_events.push_back(RsEvent{30.9, 1, "[198.51.100.11]:tcp:80", "[192.0.2.200]:tcp:80", false});
  f.verdict.rs_change = 0.9;
  rs_fail.runs.push_back(f);
  DrillRecord rs_recover{.kind = DrillKind::kRsRecover, .runs = {}};
  RunRecord n;
  n.run = 1;
  n.what.kind = DrillKind::kRsRecover;
  n.verdict.passed = false;
  n.verdict.failures = {
      "not run: the directors run VRRP only (-P: this kernel has no IPVS), so no "
      "checker runs to take a real server out"};
  rs_recover.runs.push_back(n);
  return {kill, preempt, loss, partition, reload, link, rs_fail, rs_recover};
}

}  // namespace vigil::lab::testing
