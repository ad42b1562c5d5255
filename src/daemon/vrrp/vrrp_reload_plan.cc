#include "daemon/vrrp/vrrp_reload_plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>

namespace vigil::daemon {

RemovalNotice removal_notice(bool notify_deleted, vrrp::State state) {
  if (notify_deleted) return RemovalNotice::kDeleted;
  return state == vrrp::State::kFault ? RemovalNotice::kNone : RemovalNotice::kFault;
}

VrrpReloadDiff diff_instances(const std::map<std::string, const VrrpInstancePlan*>& running,
                              const std::vector<VrrpInstancePlan>& next) {
  VrrpReloadDiff diff;
  std::map<std::string, const VrrpInstancePlan*> wanted;
  for (const auto& plan : next)
    wanted.emplace(plan.config.name, &plan);
  for (const auto& [name, plan] : running)
    if (!wanted.contains(name)) diff.removed.push_back(name);
  for (const auto& plan : next) {
    const auto existing = running.find(plan.config.name);
    if (existing == running.end()) {
      diff.create.push_back({.plan = &plan, .replaces = false});
    } else if (*existing->second == plan) {
      ++diff.unchanged;
    } else {
      diff.create.push_back({.plan = &plan, .replaces = true});
    }
  }
  return diff;
}

namespace {

std::string vip_text(const vrrp::VirtualAddress& vip, const std::string& interface) {
  return fmt::format("{} on {}", vip.prefix.to_string(),
                     vip.device.empty() ? interface : vip.device);
}

std::vector<vrrp::VirtualAddress> all_vips(const VrrpInstancePlan& plan) {
  auto vips = plan.config.virtual_addresses;
  vips.insert(vips.end(), plan.excluded.begin(), plan.excluded.end());
  return vips;
}

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

// What changed, in keepalived's words; `election`: a change that can make another router win.
struct ChangeText {
  std::vector<std::string> items;
  bool election = false;
};

ChangeText what_changed(const VrrpInstancePlan& before, const VrrpInstancePlan& after) {
  ChangeText out;
  const auto& a = before.config;
  const auto& b = after.config;
  auto field = [&out](bool differs, std::string text, bool election) {
    if (!differs) return;
    out.items.push_back(std::move(text));
    out.election = out.election || election;
  };
  field(a.interface != b.interface, fmt::format("interface {} -> {}", a.interface, b.interface),
        true);
  field(a.vrid != b.vrid, fmt::format("virtual_router_id {} -> {}", a.vrid, b.vrid), true);
  field(a.priority != b.priority, fmt::format("priority {} -> {}", a.priority, b.priority), true);
  field(a.version != b.version, fmt::format("version {} -> {}", a.version, b.version), true);
  field(a.advert_interval != b.advert_interval,
        fmt::format("advert_int {:g} -> {:g}", seconds(a.advert_interval),
                    seconds(b.advert_interval)),
        true);
  field(a.preempt != b.preempt, b.preempt ? "preempt on" : "nopreempt", true);
  field(
      a.preempt_delay != b.preempt_delay,
      fmt::format("preempt_delay {:g} -> {:g}", seconds(a.preempt_delay), seconds(b.preempt_delay)),
      false);
  field(a.auth_type != b.auth_type || a.auth_pass != b.auth_pass, "authentication", true);
  field(a.unicast_peers != b.unicast_peers || a.check_unicast_src != b.check_unicast_src ||
            a.unicast_ttl != b.unicast_ttl,
        "unicast peers", true);
  field(a.primary_address != b.primary_address,
        fmt::format("primary address {} -> {}", a.primary_address.to_string(),
                    b.primary_address.to_string()),
        true);
  field(a.tracked != b.tracked || before.links.size() != after.links.size() ||
            before.scripts.size() != after.scripts.size() ||
            before.files.size() != after.files.size(),
        "tracked objects", true);
  field(before.sync_group != after.sync_group,
        fmt::format("sync group '{}' -> '{}'", before.sync_group, after.sync_group), true);
  field(all_vips(before) != all_vips(after), "virtual addresses", false);
  field(before.routing != after.routing, "virtual routes and rules", false);
  if (out.items.empty()) out.items.emplace_back("notify, GARP or other settings");
  return out;
}

}  // namespace

api::PlanPart describe_vrrp_reload(const std::map<std::string, RunningInstance>& running,
                                   const std::vector<VrrpInstancePlan>& next) {
  std::map<std::string, const VrrpInstancePlan*> plans;
  for (const auto& [name, instance] : running)
    plans.emplace(name, instance.plan);
  const VrrpReloadDiff diff = diff_instances(plans, next);
  api::PlanPart part;
  using api::PlanAction;
  using api::PlanArea;
  for (const auto& name : diff.removed) {
    const RunningInstance& old = running.at(name);
    const bool master = old.state == vrrp::State::kMaster;
    part.changes.push_back(
        {.area = PlanArea::kVrrp,
         .action = PlanAction::kRemove,
         .subject = name,
         .detail = fmt::format("{} now, vrid {} on {}", vrrp::to_string(old.state),
                               old.plan->config.vrid, old.plan->config.interface),
         .warning =
             master ? "MASTER now: it sends priority 0 and releases its virtual addresses" : ""});
  }
  for (const auto& create : diff.create) {
    const auto& config = create.plan->config;
    if (!create.replaces) {
      part.changes.push_back(
          {.area = PlanArea::kVrrp,
           .action = PlanAction::kAdd,
           .subject = config.name,
           .detail = fmt::format("vrid {} on {}, priority {}, {} virtual address{}", config.vrid,
                                 config.interface, config.priority, config.virtual_addresses.size(),
                                 config.virtual_addresses.size() == 1 ? "" : "es")});
      continue;
    }
    const RunningInstance& old = running.at(config.name);
    const ChangeText changed = what_changed(*old.plan, *create.plan);
    const bool master = old.state == vrrp::State::kMaster;
    std::string warning;
    if (changed.election) {
      warning = fmt::format("may cause a VRRP transition ({} now; it restarts{})",
                            vrrp::to_string(old.state), master ? " as MASTER" : "");
    }
    part.changes.push_back({.area = PlanArea::kVrrp,
                            .action = PlanAction::kChange,
                            .subject = config.name,
                            .detail = fmt::format("{}", fmt::join(changed.items, ", ")),
                            .warning = std::move(warning)});
    // The VIPs a MASTER adds or removes at once; others take them when they become MASTER.
    const auto before = all_vips(*old.plan);
    const auto after = all_vips(*create.plan);
    const std::string when =
        master ? "" : fmt::format(" (when MASTER; {} now)", vrrp::to_string(old.state));
    for (const auto& vip : after) {
      if (std::find(before.begin(), before.end(), vip) != before.end()) continue;
      part.changes.push_back({.area = PlanArea::kVip,
                              .action = PlanAction::kAdd,
                              .subject = vip_text(vip, config.interface),
                              .detail = config.name + when});
    }
    for (const auto& vip : before) {
      if (std::find(after.begin(), after.end(), vip) != after.end()) continue;
      part.changes.push_back({.area = PlanArea::kVip,
                              .action = PlanAction::kRemove,
                              .subject = vip_text(vip, old.plan->config.interface),
                              .detail = config.name + when});
    }
  }
  if (diff.unchanged > 0) {
    part.notes.push_back(fmt::format("{} VRRP instance{} unchanged (state and VIPs kept)",
                                     diff.unchanged, diff.unchanged == 1 ? "" : "s"));
  }
  return part;
}

}  // namespace vigil::daemon
