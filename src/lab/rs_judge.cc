#include "lab/rs_judge.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace vigil::lab {
namespace {

int index_of(const std::vector<std::string>& list, const std::string& name) {
  auto it = std::find(list.begin(), list.end(), name);
  return it == list.end() ? -1 : static_cast<int>(it - list.begin());
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

std::array<std::vector<bool>, 2> rs_health(const Timeline& timeline, const RsHealthQuery& query,
                                           double at) {
  std::array<std::vector<bool>, 2> up = {query.starts_up, query.starts_up};
  for (int d = 0; d < 2; ++d)
    up[d].resize(query.real_servers.size(), true);
  for (const auto& e : timeline.rs_between(-std::numeric_limits<double>::infinity(), at)) {
    if (e.virtual_server != query.virtual_server) continue;
    const int k = index_of(query.real_servers, e.real_server);
    if (k >= 0 && (e.director == 0 || e.director == 1)) up[e.director][k] = e.up;
  }
  return up;
}

std::optional<std::string> rs_health_failure(const Timeline& timeline, const Names& names,
                                             const RsHealthQuery& query, double now, double hold) {
  const auto up = rs_health(timeline, query, now);
  std::vector<std::string> all_down_on;
  std::vector<std::string> some_down;
  for (int d = 0; d < 2; ++d) {
    std::vector<std::string> down;
    for (size_t k = 0; k < query.real_servers.size(); ++k) {
      if (!up[d][k]) down.push_back(query.real_servers[k]);
    }
    if (!down.empty() && down.size() == query.real_servers.size()) {
      all_down_on.push_back(names.directors[d]);
    } else if (!down.empty()) {
      some_down.push_back(fmt::format("{} on {}", join(down), names.directors[d]));
    }
  }
  if (!all_down_on.empty()) {
    return fmt::format(
        "every real server of VS {} is down before the fault (on {}): its checkers find none of "
        "them ({}); is the checker's port one the real servers listen on?",
        query.virtual_server, join(all_down_on), join(query.real_servers));
  }
  if (!some_down.empty()) {
    return fmt::format("real server {} of VS {} is down before the fault", join(some_down),
                       query.virtual_server);
  }
  for (const auto& e : timeline.rs_between(now - hold, now)) {
    if (e.virtual_server != query.virtual_server) continue;
    return fmt::format(
        "real-server health not settled before the fault: {} said {} {} {:.1f} s before",
        names.directors[e.director], e.real_server, e.up ? "UP" : "DOWN", now - e.at);
  }
  return std::nullopt;
}

RunVerdict judge_rs_run(const Timeline& timeline, const Names& names, const RsRun& run) {
  RunVerdict v;
  auto fail = [&](std::string message) {
    v.passed = false;
    v.failures.push_back(std::move(message));
  };
  const bool want_up = run.kind == DrillKind::kRsRecover;
  const std::string& victim = run.service.real_servers.at(run.victim);
  std::array<size_t, 2> victim_lines = {0, 0};
  std::array<std::optional<double>, 2> first_line;
  for (const auto& e : timeline.rs_between(run.fault_at, run.end_at)) {
    if (e.virtual_server != run.service.virtual_server) continue;
    const std::string& who = names.directors[e.director];
    if (e.real_server != victim) {
      fail(fmt::format("{}'s checkers took {} {} although only {} changed", who, e.real_server,
                       e.up ? "back" : "out", victim));
      continue;
    }
    if (e.up != want_up) {
      fail(fmt::format("{}'s checkers said {} {} during {}", who, victim, e.up ? "UP" : "DOWN",
                       to_string(run.kind)));
      continue;
    }
    ++victim_lines[e.director];
    if (!first_line[e.director]) first_line[e.director] = e.at;
  }
  for (int d = 0; d < 2; ++d) {
    if (victim_lines[d] == 0) {
      fail(fmt::format("{}'s checkers never {} {} (no RS ... {} line from {})", names.directors[d],
                       want_up ? "put back" : "took out", victim, want_up ? "UP" : "DOWN",
                       names.directors[d]));
    } else if (victim_lines[d] > 1) {
      fail(fmt::format("{}'s checkers said {} {} {} times (once expected)", names.directors[d],
                       victim, want_up ? "UP" : "DOWN", victim_lines[d]));
    }
  }
  if (first_line[0] && first_line[1])
    v.rs_change = std::max(*first_line[0], *first_line[1]) - run.fault_at;

  // No VRRP transition: a state line that differs from the director's state just before it.
  const Snapshot before = timeline.at(run.fault_at);
  auto current = before.states;
  for (const auto& e : timeline.states_between(run.fault_at, run.end_at)) {
    if (e.instance < 0 || static_cast<size_t>(e.instance) >= current.size()) continue;
    State& now = current[e.instance][e.director];
    if (e.state != now) {
      fail(fmt::format("VRRP transition during {}: {} went {} -> {} on {}", to_string(run.kind),
                       names.instances[e.instance], to_string(now), to_string(e.state),
                       names.directors[e.director]));
    }
    now = e.state;
  }
  return v;
}

}  // namespace vigil::lab
