#include "vrrp/routing.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/overloaded.h"

namespace vigil::vrrp {
namespace {

std::string_view route_type_name(uint8_t type) {
  switch (type) {
    case 6:
      return "blackhole ";
    case 7:
      return "unreachable ";
    case 8:
      return "prohibit ";
    case 9:
      return "throw ";
    default:
      return "";
  }
}

std::string_view rule_action_name(uint8_t action) {
  switch (action) {
    case 3:
      return "nop";
    case 6:
      return "blackhole";
    case 7:
      return "unreachable";
    case 8:
      return "prohibit";
    default:
      return "";
  }
}

template <class T>
bool contains(const std::vector<T>& list, const T& entry) {
  return std::find(list.begin(), list.end(), entry) != list.end();
}

}  // namespace

std::string to_string(const Route& r) {
  std::string out = std::string(route_type_name(r.type)) + r.destination.to_string();
  if (r.gateway) out += " via " + r.gateway->to_string();
  if (!r.device.empty()) out += " dev " + r.device;
  if (r.table != 254) out += fmt::format(" table {}", r.table);
  if (r.metric) out += fmt::format(" metric {}", *r.metric);
  if (r.preferred_source) out += " src " + r.preferred_source->to_string();
  if (r.scope) out += fmt::format(" scope {}", *r.scope);
  if (r.tos != 0) out += fmt::format(" tos {:#x}", r.tos);
  if (r.onlink) out += " onlink";
  return out;
}

std::string to_string(const Rule& r) {
  std::string out = fmt::format("pref {}", r.priority);
  out += r.from ? " from " + r.from->to_string() : " from all";
  if (r.to) out += " to " + r.to->to_string();
  if (r.tos != 0) out += fmt::format(" tos {:#x}", r.tos);
  if (r.fwmark) out += fmt::format(" fwmark {:#x}", *r.fwmark);
  if (r.fwmask) out += fmt::format("/{:#x}", *r.fwmask);
  if (!r.iif.empty()) out += " iif " + r.iif;
  if (!r.oif.empty()) out += " oif " + r.oif;
  if (r.action == 1) {
    out += fmt::format(" lookup {}", r.table);
  } else if (r.action == 2) {
    out += fmt::format(" goto {}", r.goto_target);
  } else {
    out += " " + std::string(rule_action_name(r.action));
  }
  return out;
}

std::string to_string(const RoutingChange& change) {
  const char* verb = change.op == RoutingChange::Op::kAdd ? "add" : "del";
  return std::visit(
      Overloaded{
          [&](const Route& r) { return fmt::format("route {} {}", verb, to_string(r)); },
          [&](const Rule& r) { return fmt::format("rule {} {}", verb, to_string(r)); },
      },
      change.entry);
}

RoutingChanges routing_on_master(const InstanceRouting& routing) {
  RoutingChanges out;
  for (const auto& route : routing.routes)
    out.push_back({RoutingChange::Op::kAdd, route});
  for (const auto& rule : routing.rules)
    out.push_back({RoutingChange::Op::kAdd, rule});
  return out;
}

RoutingChanges routing_on_leaving_master(const InstanceRouting& routing) {
  RoutingChanges out;
  for (const auto& rule : routing.rules)
    out.push_back({RoutingChange::Op::kRemove, rule});
  for (const auto& route : routing.routes)
    out.push_back({RoutingChange::Op::kRemove, route});
  return out;
}

RoutingChanges routing_dropped_by_reload(const InstanceRouting& before,
                                         const InstanceRouting& after) {
  RoutingChanges out;
  for (const auto& rule : before.rules) {
    if (!contains(after.rules, rule)) out.push_back({RoutingChange::Op::kRemove, rule});
  }
  for (const auto& route : before.routes) {
    if (!contains(after.routes, route)) out.push_back({RoutingChange::Op::kRemove, route});
  }
  return out;
}

Status apply_changes(RoutingTable& table, const RoutingChanges& changes, uint64_t* failed) {
  std::optional<Error> first;
  size_t failures = 0;
  for (const auto& change : changes) {
    Status status = table.apply(change);
    if (status.ok()) continue;
    ++failures;
    if (failed != nullptr) ++*failed;
    if (!first) first = Error{to_string(change) + ": " + status.error().message};
  }
  if (!first) return {};
  if (failures > 1) first->message += fmt::format(" (and {} more failed)", failures - 1);
  return *first;
}

Status VipsWithRouting::add_addresses(const std::string& interface,
                                      const std::vector<VirtualAddress>& addresses) {
  Status addresses_added = inner_.add_addresses(interface, addresses);
  Status routing_added = apply_changes(table_, routing_on_master(routing_), &failures_);
  if (!addresses_added.ok()) return addresses_added;
  return routing_added;
}

Status VipsWithRouting::remove_addresses(const std::string& interface,
                                         const std::vector<VirtualAddress>& addresses) {
  Status routing_removed = apply_changes(table_, routing_on_leaving_master(routing_), &failures_);
  Status addresses_removed = inner_.remove_addresses(interface, addresses);
  if (!routing_removed.ok()) return routing_removed;
  return addresses_removed;
}

}  // namespace vigil::vrrp
