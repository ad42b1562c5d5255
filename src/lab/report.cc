#include "lab/report.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace vigil::lab {
namespace {

std::string pair_ms(const std::vector<double>& values) {
  const auto d = distribution(values);
  if (!d) return "-";
  return fmt::format("{:.1f} / {:.1f} ms", d->median * 1000.0, d->p99 * 1000.0);
}

nlohmann::json dist_json(const std::vector<double>& values) {
  const auto d = distribution(values);
  if (!d) return nullptr;
  return {{"count", d->count}, {"median_ms", d->median * 1000.0}, {"p99_ms", d->p99 * 1000.0}};
}

nlohmann::json ms_or_null(const std::optional<double>& seconds) {
  if (!seconds) return nullptr;
  return *seconds * 1000.0;
}

struct Columns {
  std::vector<double> moves, outages, split;
};

Columns columns_of(const DrillRecord& drill) {
  Columns c;
  for (const auto& run : drill.runs) {
    if (run.verdict.vip_move) c.moves.push_back(*run.verdict.vip_move);
    if (run.verdict.outage) c.outages.push_back(*run.verdict.outage);
    if (run.verdict.two_masters_since) c.split.push_back(*run.verdict.two_masters_since);
  }
  return c;
}

}  // namespace

bool all_passed(const std::vector<DrillRecord>& drills) {
  size_t runs = 0;
  for (const auto& d : drills) {
    runs += d.runs.size();
    if (d.passed() != d.runs.size()) return false;
  }
  return runs > 0;
}

std::string format_table(const std::vector<DrillRecord>& drills) {
  std::string out = fmt::format("{:<10} {:>4} {:>6}  {:<22} {:<22} {}\n", "drill", "runs", "passed",
                                "VIP move median/p99", "outage median/p99", "notes");
  for (const auto& d : drills) {
    const Columns c = columns_of(d);
    std::string notes;
    if (!c.split.empty()) notes = "two masters after " + pair_ms(c.split);
    out += fmt::format("{:<10} {:>4} {:>6}  {:<22} {:<22} {}\n", to_string(d.kind), d.runs.size(),
                       d.passed(), pair_ms(c.moves), pair_ms(c.outages), notes);
  }
  return out;
}

std::string report_json(const LabModel& model, const Names& names, const ReportContext& context,
                        const std::vector<DrillRecord>& drills) {
  nlohmann::json doc;
  doc["schema"] = "vigil-lab-report/1";
  doc["passed"] = all_passed(drills);
  doc["demo"] = context.demo;
  doc["daemon"] = {{"name", context.daemon}, {"path", context.daemon_path}};
  doc["vrrp_only"] = context.vrrp_only;
  doc["ipvs_note"] =
      context.ipvs_note.empty() ? nlohmann::json(nullptr) : nlohmann::json(context.ipvs_note);
  doc["notes"] = context.notes;
  nlohmann::json directors = nlohmann::json::array();
  for (int d = 0; d < 2; ++d) {
    nlohmann::json instances = nlohmann::json::array();
    for (const auto& i : model.directors[d].instances) {
      instances.push_back({{"name", i.name},
                           {"interface", i.interface},
                           {"virtual_router_id", i.virtual_router_id},
                           {"priority", i.priority},
                           {"advert_int_s", i.advert_int},
                           {"version", i.version},
                           {"nopreempt", i.nopreempt},
                           {"vips", i.vips}});
    }
    directors.push_back({{"id", model.directors[d].id},
                         {"config", model.directors[d].config_path},
                         {"namespace", std::string("vlab-d") + std::to_string(d + 1)},
                         {"instances", instances}});
  }
  doc["directors"] = directors;
  nlohmann::json out_drills = nlohmann::json::array();
  for (const auto& d : drills) {
    const Columns c = columns_of(d);
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : d.runs) {
      const double t0 = r.what.fault_at;
      nlohmann::json states = nlohmann::json::array();
      for (const auto& e : r.states) {
        states.push_back({{"t_ms", (e.at - t0) * 1000.0},
                          {"director", names.directors[e.director]},
                          {"instance", names.instances[e.instance]},
                          {"state", std::string(to_string(e.state))}});
      }
      nlohmann::json vips = nlohmann::json::array();
      for (const auto& e : r.vips) {
        vips.push_back({{"t_ms", (e.at - t0) * 1000.0},
                        {"director", names.directors[e.director]},
                        {"vip", names.vips[e.vip]},
                        {"present", e.present}});
      }
      runs.push_back({{"run", r.run},
                      {"passed", r.verdict.passed},
                      {"failures", r.verdict.failures},
                      {"victim", names.directors[r.what.victim]},
                      {"vip", r.what.vip >= 0 ? nlohmann::json(names.vips[r.what.vip])
                                              : nlohmann::json(nullptr)},
                      {"phase_ms", r.phase * 1000.0},
                      {"expect_preempt", r.what.kind == DrillKind::kPreempt
                                             ? nlohmann::json(r.what.expect_preempt)
                                             : nlohmann::json(nullptr)},
                      {"heal_ms", (r.what.heal_at - t0) * 1000.0},
                      {"end_ms", (r.what.end_at - t0) * 1000.0},
                      {"vip_move_ms", ms_or_null(r.verdict.vip_move)},
                      {"outage_ms", ms_or_null(r.verdict.outage)},
                      {"two_masters_since_ms", ms_or_null(r.verdict.two_masters_since)},
                      {"two_masters_for_ms", ms_or_null(r.verdict.two_masters_for)},
                      {"takeovers", r.verdict.takeovers},
                      {"states", states},
                      {"vip_events", vips}});
    }
    out_drills.push_back({{"name", std::string(to_string(d.kind))},
                          {"runs", d.runs.size()},
                          {"passed", d.passed()},
                          {"vip_move", dist_json(c.moves)},
                          {"outage", dist_json(c.outages)},
                          {"two_masters_since", dist_json(c.split)},
                          {"runs_detail", runs}});
  }
  doc["drills"] = out_drills;
  return doc.dump(2) + "\n";
}

}  // namespace vigil::lab
