#include "daemon/check/check_reload_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace vigil::daemon {

namespace {

using api::PlanAction;
using api::PlanArea;

size_t checker_total(const check::VirtualServerSpec& spec) {
  size_t total = 0;
  for (const auto& rs : spec.real_servers)
    total += rs.checkers.size();
  return total;
}

std::string plural(size_t n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

}  // namespace

api::PlanPart describe_checker_plan(const check::CheckEngine::ReloadPreview& preview) {
  api::PlanPart part;
  std::map<check::VirtualServerKey, size_t> running_of;
  for (size_t i = 0; i < preview.running.size(); ++i)
    running_of.emplace(preview.running[i].key, i);
  size_t kept = 0;
  for (size_t v = 0; v < preview.plan.services.size(); ++v) {
    const check::VirtualServerPlan& vp = preview.plan.services[v];
    const check::VirtualServerSpec& spec = preview.specs[v];
    if (!vp.existed) {
      // Only what has checkers: the IPVS section lists the servers themselves.
      if (checker_total(spec) == 0) continue;
      part.changes.push_back({.area = PlanArea::kChecker,
                              .action = PlanAction::kAdd,
                              .subject = "virtual server " + spec.label,
                              .detail = plural(spec.real_servers.size(), "real server") + ", " +
                                        plural(checker_total(spec), "checker")});
      continue;
    }
    const auto running = running_of.find(vp.key);
    for (size_t r = 0; r < vp.real_servers.size(); ++r) {
      const check::RealServerPlan& rp = vp.real_servers[r];
      const auto& rs = spec.real_servers[r];
      const std::string where = fmt::format(
          "{} of {}", check::format_real_server(rs.key, spec.protocol_name), spec.label);
      if (!rp.existed) {
        if (rs.checkers.empty()) continue;
        part.changes.push_back({.area = PlanArea::kChecker,
                                .action = PlanAction::kAdd,
                                .subject = "real server " + where,
                                .detail = plural(rs.checkers.size(), "checker")});
        continue;
      }
      std::vector<bool> matched;
      if (running != running_of.end()) {
        for (const auto& old_rs : preview.running[running->second].real_servers) {
          if (old_rs.key == rs.key) matched.assign(old_rs.checkers.size(), false);
        }
      }
      for (size_t c = 0; c < rp.checkers.size(); ++c) {
        const check::CheckerPlan& cp = rp.checkers[c];
        if (cp.kept_from && *cp.kept_from < matched.size()) matched[*cp.kept_from] = true;
        if (std::holds_alternative<check::ReloadKept>(cp.first_event)) {
          ++kept;
          continue;
        }
        part.changes.push_back({.area = PlanArea::kChecker,
                                .action = PlanAction::kAdd,
                                .subject = rs.checkers[c].label + " on " + where,
                                .detail = "starts fresh"});
      }
      const auto stopped = static_cast<size_t>(std::count(matched.begin(), matched.end(), false));
      if (stopped > 0) {
        part.changes.push_back({.area = PlanArea::kChecker,
                                .action = PlanAction::kRemove,
                                .subject = plural(stopped, "checker") + " on " + where,
                                .detail = "not in the new configuration: stopped"});
      }
    }
    for (const auto& key : vp.removed_real_servers) {
      size_t checkers = 0;
      if (running != running_of.end()) {
        for (const auto& old_rs : preview.running[running->second].real_servers)
          if (old_rs.key == key) checkers = old_rs.checkers.size();
      }
      if (checkers == 0) continue;
      part.changes.push_back(
          {.area = PlanArea::kChecker,
           .action = PlanAction::kRemove,
           .subject = fmt::format("real server {} of {}",
                                  check::format_real_server(key, spec.protocol_name), spec.label),
           .detail = plural(checkers, "checker") + " stop"});
    }
  }
  for (const auto& key : preview.plan.removed_services) {
    const auto it = running_of.find(key);
    const size_t i = it == running_of.end() ? 0 : it->second;
    size_t checkers = 0;
    for (const auto& rs : preview.running[i].real_servers)
      checkers += rs.checkers.size();
    if (checkers == 0) continue;
    part.changes.push_back({.area = PlanArea::kChecker,
                            .action = PlanAction::kRemove,
                            .subject = "virtual server " + preview.running_labels[i],
                            .detail = plural(checkers, "checker") + " stop"});
  }
  if (kept > 0) part.notes.push_back(fmt::format("{} keep their state", plural(kept, "checker")));
  return part;
}

}  // namespace vigil::daemon
