#include "check/reload.h"

#include <algorithm>
#include <map>

namespace vigil::check {
namespace {

RealServerPlan plan_real_server(const RealServerSpec& spec, const RunningRealServer* old) {
  RealServerPlan plan{.key = spec.key, .existed = old != nullptr};
  plan.checkers.reserve(spec.checkers.size());
  if (old == nullptr) {
    // check_new_rs_state: a new server's alpha checkers start down; retries apply (the
    // start-up's "one failure is enough" is not set on a reload).
    for (size_t i = 0; i < spec.checkers.size(); ++i) {
      plan.checkers.push_back(
          {.first_event = Start{.alpha_applies = true, .first_check_retries = true}});
    }
    return plan;
  }
  // migrate_checkers: each new checker takes the state of the first old checker of the same
  // server that matches it.
  for (const auto& checker : spec.checkers) {
    CheckerPlan p;
    for (size_t j = 0; j < old->checkers.size(); ++j) {
      if (matches(old->checkers[j].identity, checker.identity)) {
        p.kept_from = j;
        break;
      }
    }
    plan.checkers.push_back(p);
  }
  // "Find out how many checkers are really failed": among the kept ones, those that ran and are
  // down; fresh ones have not run.
  size_t failed = 0;
  bool any_has_run = false;
  for (const auto& p : plan.checkers) {
    if (!p.kept_from) continue;
    const CarriedState& state = old->checkers[*p.kept_from].state;
    if (state.has_run && !state.up) ++failed;
    if (state.has_run) any_has_run = true;
  }
  const bool pessimistic = failed > 0 || (!old->alive && !any_has_run);
  for (auto& p : plan.checkers) {
    if (p.kept_from) {
      p.first_event =
          ReloadKept{.old = old->checkers[*p.kept_from].state, .pessimistic = pessimistic};
    } else {
      // "If a checker has failed, set new alpha checkers to be down until they have run"; one
      // failure is then enough. Elsewhere a new checker starts up and retries apply.
      p.first_event = Start{.alpha_applies = pessimistic, .first_check_retries = !pessimistic};
    }
  }
  return plan;
}

}  // namespace

VirtualServerPlan plan_virtual_server(const RunningVirtualServer* old,
                                      const VirtualServerSpec& spec) {
  VirtualServerPlan vp{.key = spec.key, .existed = old != nullptr};
  std::map<RealServerKey, const RunningRealServer*> old_servers;
  if (old != nullptr) {
    for (const auto& rs : old->real_servers)
      old_servers.emplace(rs.key, &rs);
  }
  vp.real_servers.reserve(spec.real_servers.size());
  for (const auto& rs : spec.real_servers) {
    const auto found = old_servers.find(rs.key);
    vp.real_servers.push_back(
        plan_real_server(rs, found == old_servers.end() ? nullptr : found->second));
    if (found != old_servers.end()) old_servers.erase(found);
  }
  // In key order, as before.
  for (const auto& [key, gone] : old_servers)
    vp.removed_real_servers.push_back(key);
  return vp;
}

ReloadPlan plan_reload(const std::vector<RunningVirtualServer>& running,
                       const std::vector<VirtualServerSpec>& specs) {
  std::map<VirtualServerKey, const RunningVirtualServer*> old_services;
  for (const auto& vs : running)
    old_services.emplace(vs.key, &vs);
  ReloadPlan plan;
  plan.services.reserve(specs.size());
  std::vector<bool> kept_service(running.size(), false);
  for (const auto& spec : specs) {
    const auto it = old_services.find(spec.key);
    const RunningVirtualServer* old = it == old_services.end() ? nullptr : it->second;
    if (old != nullptr) kept_service[static_cast<size_t>(old - running.data())] = true;
    plan.services.push_back(plan_virtual_server(old, spec));
  }
  for (size_t i = 0; i < running.size(); ++i) {
    if (!kept_service[i]) plan.removed_services.push_back(running[i].key);
  }
  return plan;
}

}  // namespace vigil::check
