#include "api/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace vigil::api {

using json = nlohmann::json;

namespace {

constexpr std::array kActions = {PlanAction::kAdd, PlanAction::kChange, PlanAction::kRemove};
constexpr std::array kAreas = {PlanArea::kVrrp, PlanArea::kVip, PlanArea::kIpvs, PlanArea::kChecker,
                               PlanArea::kOverride};

template <class E, size_t N>
Result<E> from_name(const std::array<E, N>& all, const std::string& name, const char* what) {
  for (E value : all)
    if (to_string(value) == name) return value;
  return Error{fmt::format("unknown {} '{}' in the plan", what, name)};
}

const char* section_title(PlanArea area) {
  switch (area) {
    case PlanArea::kVrrp:
      return "VRRP instances";
    case PlanArea::kVip:
      return "Virtual IP addresses";
    case PlanArea::kIpvs:
      return "IPVS";
    case PlanArea::kChecker:
      return "Checkers";
    case PlanArea::kOverride:
      return "Overrides";
  }
  return "?";
}

char sign(PlanAction action) {
  switch (action) {
    case PlanAction::kAdd:
      return '+';
    case PlanAction::kChange:
      return '~';
    case PlanAction::kRemove:
      return '-';
  }
  return '?';
}

}  // namespace

std::string to_string(PlanAction action) {
  switch (action) {
    case PlanAction::kAdd:
      return "add";
    case PlanAction::kChange:
      return "change";
    case PlanAction::kRemove:
      return "remove";
  }
  return "?";
}

std::string to_string(PlanArea area) {
  switch (area) {
    case PlanArea::kVrrp:
      return "vrrp";
    case PlanArea::kVip:
      return "vip";
    case PlanArea::kIpvs:
      return "ipvs";
    case PlanArea::kChecker:
      return "checker";
    case PlanArea::kOverride:
      return "override";
  }
  return "?";
}

PlanSummary summarize(const PlanPart& part) {
  PlanSummary summary;
  for (const auto& change : part.changes) {
    switch (change.action) {
      case PlanAction::kAdd:
        ++summary.add;
        break;
      case PlanAction::kChange:
        ++summary.change;
        break;
      case PlanAction::kRemove:
        ++summary.remove;
        break;
    }
  }
  return summary;
}

void merge(PlanPart& into, PlanPart from) {
  for (auto& change : from.changes)
    into.changes.push_back(std::move(change));
  std::stable_sort(into.changes.begin(), into.changes.end(),
                   [](const PlanChange& a, const PlanChange& b) { return a.area < b.area; });
  for (auto& note : from.notes)
    into.notes.push_back(std::move(note));
  for (auto& refusal : from.refusals)
    into.refusals.push_back(std::move(refusal));
}

bool refused(const ReloadPlan& plan) {
  return !plan.errors.empty() || !plan.part.refusals.empty();
}

json to_json(const ReloadPlan& plan) {
  json changes = json::array();
  for (const auto& change : plan.part.changes) {
    changes.push_back({{"area", to_string(change.area)},
                       {"action", to_string(change.action)},
                       {"subject", change.subject},
                       {"detail", change.detail},
                       {"warning", change.warning}});
  }
  const PlanSummary summary = summarize(plan.part);
  return {
      {"schema", kPlanSchema},
      {"config", {{"file", plan.file}, {"hash", plan.config_hash}}},
      {"config_changed", plan.config_changed},
      {"errors", plan.errors},
      {"refusals", plan.part.refusals},
      {"changes", std::move(changes)},
      {"notes", plan.part.notes},
      {"summary", {{"add", summary.add}, {"change", summary.change}, {"remove", summary.remove}}}};
}

std::string to_json_text(const ReloadPlan& plan) {
  return to_json(plan).dump(2) + "\n";
}

Result<ReloadPlan> plan_from_json(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error{"the daemon's answer is not a JSON object"};
  const auto schema = j.value("schema", std::string());
  if (schema != kPlanSchema)
    return Error{
        fmt::format("unknown plan schema '{}' (this vigilctl reads {})", schema, kPlanSchema)};
  try {
    ReloadPlan plan;
    plan.file = j.at("config").at("file").get<std::string>();
    plan.config_hash = j.at("config").at("hash").get<std::string>();
    plan.config_changed = j.at("config_changed").get<bool>();
    plan.errors = j.at("errors").get<std::vector<std::string>>();
    plan.part.refusals = j.at("refusals").get<std::vector<std::string>>();
    plan.part.notes = j.at("notes").get<std::vector<std::string>>();
    for (const auto& c : j.at("changes")) {
      auto area = from_name(kAreas, c.at("area").get<std::string>(), "area");
      if (!area) return area.error();
      auto action = from_name(kActions, c.at("action").get<std::string>(), "action");
      if (!action) return action.error();
      plan.part.changes.push_back({.area = *area,
                                   .action = *action,
                                   .subject = c.at("subject").get<std::string>(),
                                   .detail = c.at("detail").get<std::string>(),
                                   .warning = c.at("warning").get<std::string>()});
    }
    return plan;
  } catch (const json::exception& e) {
    return Error{fmt::format("the daemon's plan is malformed: {}", e.what())};
  }
}

std::string render_plan_text(const ReloadPlan& plan) {
  std::string out;
  out += fmt::format("Reload plan for {}{}\n", plan.file,
                     plan.config_changed ? "" : " (the file is the running configuration)");
  if (!plan.errors.empty()) {
    out += fmt::format("\nThe file would be refused ({} error{}); nothing would change:\n",
                       plan.errors.size(), plan.errors.size() == 1 ? "" : "s");
    for (const auto& error : plan.errors)
      out += "  " + error + "\n";
    return out;
  }
  for (PlanArea area : kAreas) {
    bool titled = false;
    for (const auto& change : plan.part.changes) {
      if (change.area != area) continue;
      if (!titled) {
        out += fmt::format("\n{}\n", section_title(area));
        titled = true;
      }
      out += fmt::format("  {} {}", sign(change.action), change.subject);
      if (!change.detail.empty()) out += ": " + change.detail;
      out += "\n";
      if (!change.warning.empty()) out += "      ! " + change.warning + "\n";
    }
  }
  if (!plan.part.notes.empty()) {
    out += "\n";
    for (const auto& note : plan.part.notes)
      out += "  " + note + "\n";
  }
  if (!plan.part.refusals.empty()) {
    out += "\nThe reload would be refused; every side would keep the running configuration:\n";
    for (const auto& refusal : plan.part.refusals)
      out += "  " + refusal + "\n";
  }
  const PlanSummary summary = summarize(plan.part);
  if (summary.total() == 0) {
    out += "\nNo changes.\n";
  } else {
    out += fmt::format("\nPlan: {} to add, {} to change, {} to remove.\n", summary.add,
                       summary.change, summary.remove);
  }
  return out;
}

}  // namespace vigil::api
