#include "daemon/lvs/lvs_reload_plan.h"

#include <fmt/format.h>

#include <set>

#include "common/overloaded.h"

namespace vigil::daemon {

namespace {

using api::PlanAction;
using api::PlanArea;
using api::PlanChange;

std::string path(const datapath::ServiceKey& service, const datapath::DestinationKey& key) {
  return datapath::to_string(service) + " -> " + datapath::to_string(key);
}

std::string connections(uint64_t active, uint64_t inactive) {
  return fmt::format("{} active, {} inactive connection{}", active, inactive,
                     inactive == 1 ? "" : "s");
}

// "weight 1 -> 3, masq -> route": the destination's fields that differ.
std::string destination_change(const datapath::Destination& a, const datapath::Destination& b) {
  std::string out;
  auto add = [&out](std::string text) { out += (out.empty() ? "" : ", ") + std::move(text); };
  if (a.weight != b.weight) add(fmt::format("weight {} -> {}", a.weight, b.weight));
  if (a.method != b.method)
    add(datapath::to_string(a.method) + " -> " + datapath::to_string(b.method));
  if (a.upper_threshold != b.upper_threshold || a.lower_threshold != b.lower_threshold)
    add(fmt::format("thresholds {}-{} -> {}-{}", a.lower_threshold, a.upper_threshold,
                    b.lower_threshold, b.upper_threshold));
  if (out.empty()) add("tunnel settings: " + datapath::to_string(b));
  return out;
}

}  // namespace

api::PlanPart describe_ipvs_plan(const datapath::Table& known,
                                 const std::vector<datapath::Operation>& operations,
                                 const datapath::Table* counters) {
  const datapath::Table& live = counters != nullptr ? *counters : known;
  // A service deleted and added back in one plan (a change IPVS cannot make in place).
  std::set<datapath::ServiceKey> deleted;
  std::set<datapath::ServiceKey> added;
  for (const auto& operation : operations) {
    if (const auto* d = std::get_if<datapath::DeleteService>(&operation)) deleted.insert(d->key);
    if (const auto* a = std::get_if<datapath::AddService>(&operation)) added.insert(a->key);
  }
  const auto replaced = [&](const datapath::ServiceKey& key) {
    return deleted.contains(key) && added.contains(key)
               ? "deleted and added again: its established connections are dropped"
               : "";
  };
  api::PlanPart part;
  for (const auto& operation : operations) {
    std::visit(
        Overloaded{
            [&](const datapath::AddService& op) {
              part.changes.push_back({.area = PlanArea::kIpvs,
                                      .action = PlanAction::kAdd,
                                      .subject = "service " + datapath::to_string(op.key),
                                      .detail = datapath::to_string(op.service),
                                      .warning = replaced(op.key)});
            },
            [&](const datapath::EditService& op) {
              const auto it = known.find(op.key);
              std::string detail = datapath::to_string(op.service);
              if (it != known.end())
                detail = fmt::format("{} -> {}", datapath::to_string(it->second.service), detail);
              part.changes.push_back({.area = PlanArea::kIpvs,
                                      .action = PlanAction::kChange,
                                      .subject = "service " + datapath::to_string(op.key),
                                      .detail = std::move(detail)});
            },
            [&](const datapath::DeleteService& op) {
              uint64_t active = 0;
              uint64_t inactive = 0;
              size_t destinations = 0;
              if (const auto it = known.find(op.key); it != known.end())
                destinations = it->second.destinations.size();
              if (const auto it = live.find(op.key); it != live.end()) {
                for (const auto& [key, stats] : it->second.destination_stats) {
                  active += stats.active_connections;
                  inactive += stats.inactive_connections;
                }
              }
              std::string warning = replaced(op.key);
              if (warning.empty() && active > 0)
                warning = "its established connections are dropped";
              part.changes.push_back({.area = PlanArea::kIpvs,
                                      .action = PlanAction::kRemove,
                                      .subject = "service " + datapath::to_string(op.key),
                                      .detail = fmt::format("{} destination{}, {}", destinations,
                                                            destinations == 1 ? "" : "s",
                                                            connections(active, inactive)),
                                      .warning = std::move(warning)});
            },
            [&](const datapath::AddDestination& op) {
              part.changes.push_back({.area = PlanArea::kIpvs,
                                      .action = PlanAction::kAdd,
                                      .subject = "dest " + path(op.service, op.key),
                                      .detail = datapath::to_string(op.destination)});
            },
            [&](const datapath::EditDestination& op) {
              std::string detail = datapath::to_string(op.destination);
              if (const auto it = known.find(op.service); it != known.end()) {
                if (const auto d = it->second.destinations.find(op.key);
                    d != it->second.destinations.end())
                  detail = destination_change(d->second, op.destination);
              }
              part.changes.push_back({.area = PlanArea::kIpvs,
                                      .action = PlanAction::kChange,
                                      .subject = "dest " + path(op.service, op.key),
                                      .detail = std::move(detail)});
            },
            [&](const datapath::DeleteDestination& op) {
              datapath::DestinationStats stats;
              if (const auto it = live.find(op.service); it != live.end()) {
                if (const auto s = it->second.destination_stats.find(op.key);
                    s != it->second.destination_stats.end())
                  stats = s->second;
              }
              part.changes.push_back(
                  {.area = PlanArea::kIpvs,
                   .action = PlanAction::kRemove,
                   .subject = "dest " + path(op.service, op.key),
                   .detail = connections(stats.active_connections, stats.inactive_connections),
                   .warning = stats.active_connections > 0
                                  ? "its established connections are dropped"
                                  : ""});
            },
            [&](const datapath::Flush&) {
              part.changes.push_back({.area = PlanArea::kIpvs,
                                      .action = PlanAction::kRemove,
                                      .subject = "every IPVS service (flush)",
                                      .warning = "every established connection is dropped"});
            },
        },
        operation);
  }
  return part;
}

api::PlanPart describe_override_plan(const std::vector<lvs::OverrideEntry>& before,
                                     const std::vector<lvs::OverrideEntry>& after,
                                     const std::vector<lvs::DroppedOverride>& dropped) {
  api::PlanPart part;
  for (const auto& d : dropped) {
    part.changes.push_back({.area = PlanArea::kOverride,
                            .action = PlanAction::kRemove,
                            .subject = std::string(lvs::to_string(d.override_.kind)) + " of " +
                                       lvs::format_target(d.target),
                            .detail = "dropped: " + std::string(lvs::to_string(d.reason))});
  }
  std::set<lvs::OverrideTarget> orphaned_before;
  for (const auto& entry : before)
    if (entry.orphaned) orphaned_before.insert(entry.target);
  for (const auto& entry : after) {
    if (orphaned_before.contains(entry.target) == entry.orphaned) continue;
    part.changes.push_back({.area = PlanArea::kOverride,
                            .action = PlanAction::kChange,
                            .subject = std::string(lvs::to_string(entry.override_.kind)) + " of " +
                                       lvs::format_target(entry.target),
                            .detail = entry.orphaned
                                          ? "orphaned: its target leaves the configuration (kept, "
                                            "not applied)"
                                          : "its target is back: applied again"});
  }
  return part;
}

}  // namespace vigil::daemon
