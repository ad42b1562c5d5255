#include "vrrp/static_entries.h"

#include <algorithm>
#include <set>

#include "common/overloaded.h"

namespace vigil::vrrp {
namespace {

template <class T>
bool contains(const std::vector<T>& list, const T& entry) {
  return std::find(list.begin(), list.end(), entry) != list.end();
}

template <class T>
void forget(std::vector<T>& list, const T& entry) {
  list.erase(std::remove(list.begin(), list.end(), entry), list.end());
}

template <class T>
void hold(std::vector<T>& list, const T& entry) {
  if (!contains(list, entry)) list.push_back(entry);
}

template <class T>
void remove_missing(const std::vector<T>& held, const std::vector<T>& wanted, StaticChanges& out) {
  for (const auto& entry : held) {
    if (!contains(wanted, entry)) out.push_back({StaticChange::Op::kRemove, entry});
  }
}

template <class T>
void add_all(const std::vector<T>& wanted, StaticChanges& out) {
  for (const auto& entry : wanted)
    out.push_back({StaticChange::Op::kAdd, entry});
}

std::string to_string(const StaticAddress& a) {
  std::string out = a.address.prefix.to_string() + " dev " + a.address.device;
  if (!a.address.label.empty()) out += " label " + a.address.label;
  return out;
}

}  // namespace

std::string to_string(const StaticChange& change) {
  const bool add = change.op == StaticChange::Op::kAdd;
  const auto op = add ? RoutingChange::Op::kAdd : RoutingChange::Op::kRemove;
  return std::visit(Overloaded{
                        [&](const StaticAddress& a) {
                          return std::string(add ? "address add " : "address del ") + to_string(a);
                        },
                        [&](const Route& r) {
                          return to_string(RoutingChange{op, r});
                        },
                        [&](const Rule& r) {
                          return to_string(RoutingChange{op, r});
                        },
                    },
                    change.entry);
}

StaticChanges plan_static(const StaticEntries& held, const StaticEntries& wanted) {
  StaticChanges out;
  remove_missing(held.rules, wanted.rules, out);
  remove_missing(held.routes, wanted.routes, out);
  remove_missing(held.addresses, wanted.addresses, out);
  add_all(wanted.addresses, out);
  add_all(wanted.routes, out);
  add_all(wanted.rules, out);
  return out;
}

std::vector<std::string> static_interfaces(const StaticEntries& entries) {
  std::set<std::string> names;
  for (const auto& a : entries.addresses)
    names.insert(a.address.device);
  for (const auto& r : entries.routes)
    names.insert(r.device);
  for (const auto& r : entries.rules) {
    names.insert(r.iif);
    names.insert(r.oif);
  }
  names.erase("");
  return {names.begin(), names.end()};
}

StaticApplyResult apply_static(VipManager& addresses, RoutingTable& routing,
                               const StaticChanges& changes, StaticEntries held) {
  StaticApplyResult result;
  for (const auto& change : changes) {
    const bool add = change.op == StaticChange::Op::kAdd;
    Status status = std::visit(
        Overloaded{
            [&](const StaticAddress& a) {
              const std::vector<VirtualAddress> one{a.address};
              return add ? addresses.add_addresses(a.address.device, one)
                         : addresses.remove_addresses(a.address.device, one);
            },
            [&](const Route& r) {
              return routing.apply({add ? RoutingChange::Op::kAdd : RoutingChange::Op::kRemove, r});
            },
            [&](const Rule& r) {
              return routing.apply({add ? RoutingChange::Op::kAdd : RoutingChange::Op::kRemove, r});
            },
        },
        change.entry);
    const bool held_now = add && status.ok();
    auto track = [&](auto& list, const auto& entry) {
      if (held_now) {
        hold(list, entry);
      } else {
        forget(list, entry);
      }
    };
    std::visit(Overloaded{
                   [&](const StaticAddress& a) { track(held.addresses, a); },
                   [&](const Route& r) { track(held.routes, r); },
                   [&](const Rule& r) { track(held.rules, r); },
               },
               change.entry);
    if (!status.ok()) {
      if (result.failures++ == 0) result.first_failure = status;
    }
  }
  result.held = std::move(held);
  return result;
}

}  // namespace vigil::vrrp
