// What `vigilctl reload --dry-run` shows: the changes a reload of the configuration file would
// make, as each side's own reload planner computes them (the VRRP instances and their VIPs, the
// IPVS operations, the checkers, the operators' overrides). JSON is the wire form (versioned by
// kPlanSchema); the text is for people. Pure.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace vigil::api {

// Changes that remove or retype a field bump it; added fields do not.
inline constexpr const char* kPlanSchema = "vigil-plan/1";

enum class PlanAction : uint8_t { kAdd, kChange, kRemove };

// Where a change lands; also the order of the text's sections.
enum class PlanArea : uint8_t { kVrrp, kVip, kIpvs, kChecker, kOverride };

struct PlanChange {
  PlanArea area = PlanArea::kVrrp;
  PlanAction action = PlanAction::kAdd;
  std::string subject;  // "VI_1", "10.0.0.9/32 on eth0", "dest TCP 10.0.0.1:80 -> 10.1.0.2:80"
  std::string detail;   // "priority 100 -> 150", "weight 1 -> 3", "2 active, 5 inactive conns"
  // Not empty: the change can disturb traffic ("may cause a VRRP transition", "MASTER now:
  // its VIPs are released", "delete + add: established connections are dropped").
  std::string warning;
  bool operator==(const PlanChange&) const = default;
};

// One side's share: its changes, lines that need no action ("12 checkers keep their state"),
// and, when the side would refuse the configuration, why (the real reload would be refused).
struct PlanPart {
  std::vector<PlanChange> changes;
  std::vector<std::string> notes;
  std::vector<std::string> refusals;
  bool operator==(const PlanPart&) const = default;
};

struct ReloadPlan {
  std::string file;
  std::string config_hash;          // of the file the plan was made from
  bool config_changed = true;       // the hash differs from the running configuration's
  std::vector<std::string> errors;  // "file:line:col: message": the file would be refused
  PlanPart part;                    // every side's, merged in area order
  bool operator==(const ReloadPlan&) const = default;
};

struct PlanSummary {
  size_t add = 0;
  size_t change = 0;
  size_t remove = 0;
  [[nodiscard]] size_t total() const { return add + change + remove; }
};
PlanSummary summarize(const PlanPart& part);

// Appends `from`'s changes, notes and refusals; changes stay sorted by area, stably.
void merge(PlanPart& into, PlanPart from);

// Whether a real reload would be refused (config errors or a side's refusal).
bool refused(const ReloadPlan& plan);

std::string to_string(PlanAction action);  // "add", "change", "remove"
std::string to_string(PlanArea area);      // "vrrp", "vip", "ipvs", "checker", "override"

nlohmann::json to_json(const ReloadPlan& plan);
std::string to_json_text(const ReloadPlan& plan);
// Refuses another schema, or fields of the wrong type.
Result<ReloadPlan> plan_from_json(std::string_view text);

// The text: one section per area, "+ / ~ / -" per change, then
// "Plan: 3 to add, 2 to change, 1 to remove." (or "No changes.").
std::string render_plan_text(const ReloadPlan& plan);

}  // namespace vigil::api
