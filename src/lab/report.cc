#include "lab/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>

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
  std::vector<double> moves, outages, split, rs_change;
};

Columns columns_of(const DrillRecord& drill) {
  Columns c;
  for (const auto& run : drill.runs) {
    if (run.verdict.vip_move) c.moves.push_back(*run.verdict.vip_move);
    if (run.verdict.outage) c.outages.push_back(*run.verdict.outage);
    if (run.verdict.two_masters_since) c.split.push_back(*run.verdict.two_masters_since);
    if (run.verdict.rs_change) c.rs_change.push_back(*run.verdict.rs_change);
  }
  return c;
}

// XML 1.0 text and attribute values: the five entities, and the control characters XML 1.0
// cannot carry at all replaced (a reason may quote a daemon's output).
std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\t':
        out += "&#9;";
        break;
      default:
        out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
  }
  return out;
}

std::string seconds(double s) {
  return fmt::format("{:.3f}", std::max(0.0, s));
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
    if (!c.rs_change.empty())
      notes = std::string(d.kind == DrillKind::kRsFail ? "out" : "back") + " on both after " +
              pair_ms(c.rs_change);
    out += fmt::format("{:<10} {:>4} {:>6}  {:<22} {:<22} {}\n", to_string(d.kind), d.runs.size(),
                       d.passed(), pair_ms(c.moves), pair_ms(c.outages), notes);
  }
  return out;
}

std::string report_json(const LabModel& model, const Names& names, const ReportContext& context,
                        const std::vector<DrillRecord>& drills) {
  nlohmann::json doc;
  doc["schema"] = "vigil-lab-report/3";
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
      nlohmann::json rs_events = nlohmann::json::array();
      for (const auto& e : r.rs_events) {
        rs_events.push_back({{"t_ms", (e.at - t0) * 1000.0},
                             {"director", names.directors[e.director]},
                             {"real_server", e.real_server},
                             {"virtual_server", e.virtual_server},
                             {"up", e.up}});
      }
      const bool rs = r.what.kind == DrillKind::kRsFail || r.what.kind == DrillKind::kRsRecover;
      runs.push_back(
          {{"run", r.run},
           {"passed", r.verdict.passed},
           {"failures", r.verdict.failures},
           {"victim", rs ? r.real_server : names.directors[r.what.victim]},
           {"real_server",
            rs && !r.real_server.empty() ? nlohmann::json(r.real_server) : nlohmann::json(nullptr)},
           {"vip",
            r.what.vip >= 0 ? nlohmann::json(names.vips[r.what.vip]) : nlohmann::json(nullptr)},
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
           {"rs_change_ms", ms_or_null(r.verdict.rs_change)},
           {"takeovers", r.verdict.takeovers},
           {"adverts_dropped", r.what.kind == DrillKind::kLoss && r.what.adverts_dropped >= 0
                                   ? nlohmann::json(r.what.adverts_dropped)
                                   : nlohmann::json(nullptr)},
           {"reloads", r.what.kind == DrillKind::kReload
                           ? nlohmann::json{{names.directors[0], r.what.reloads[0]},
                                            {names.directors[1], r.what.reloads[1]}}
                           : nlohmann::json(nullptr)},
           {"states", states},
           {"vip_events", vips},
           {"rs_events", rs_events}});
    }
    out_drills.push_back({{"name", std::string(to_string(d.kind))},
                          {"runs", d.runs.size()},
                          {"passed", d.passed()},
                          {"vip_move", dist_json(c.moves)},
                          {"outage", dist_json(c.outages)},
                          {"two_masters_since", dist_json(c.split)},
                          {"rs_change", dist_json(c.rs_change)},
                          {"runs_detail", runs}});
  }
  doc["drills"] = out_drills;
  return doc.dump(2) + "\n";
}

std::string junit_xml(const ReportContext& context, const std::vector<DrillRecord>& drills) {
  size_t tests = 0, failures = 0;
  double total_time = 0;
  std::string suites;
  for (const auto& d : drills) {
    const std::string drill(to_string(d.kind));
    std::string cases;
    double suite_time = 0;
    for (const auto& r : d.runs) {
      const double time = std::max(0.0, r.what.end_at - r.what.fault_at);
      suite_time += time;
      cases +=
          fmt::format("    <testcase classname=\"vigil-lab.{}\" name=\"{} run {}\" time=\"{}\">\n",
                      xml_escape(drill), xml_escape(drill), r.run, seconds(time));
      if (!r.verdict.passed) {
        std::string all;
        for (const auto& f : r.verdict.failures)
          all += f + "\n";
        const std::string first =
            r.verdict.failures.empty() ? std::string("failed") : r.verdict.failures.front();
        cases += fmt::format("      <failure message=\"{}\" type=\"drill\">{}</failure>\n",
                             xml_escape(first), xml_escape(all));
      }
      std::string measured;
      auto add = [&](std::string_view what, const std::optional<double>& value) {
        if (!value) return;
        measured +=
            fmt::format("{}{} {:.1f} ms", measured.empty() ? "" : ", ", what, *value * 1000.0);
      };
      add("VIP move", r.verdict.vip_move);
      add("outage", r.verdict.outage);
      add("two masters from", r.verdict.two_masters_since);
      add("two masters for", r.verdict.two_masters_for);
      add(d.kind == DrillKind::kRsFail ? "real server out on both directors after"
                                       : "real server back on both directors after",
          r.verdict.rs_change);
      if (d.kind == DrillKind::kLoss && r.what.adverts_dropped >= 0)
        measured += fmt::format("{}adverts dropped {}", measured.empty() ? "" : ", ",
                                r.what.adverts_dropped);
      if (d.kind == DrillKind::kReload && r.what.reloads[0] >= 0)
        measured += fmt::format("{}reloads per director {} / {}", measured.empty() ? "" : ", ",
                                r.what.reloads[0], r.what.reloads[1]);
      if (!measured.empty())
        cases += fmt::format("      <system-out>{}</system-out>\n", xml_escape(measured));
      cases += "    </testcase>\n";
    }
    const size_t failed = d.runs.size() - d.passed();
    tests += d.runs.size();
    failures += failed;
    total_time += suite_time;
    suites += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" "
        "time=\"{}\">\n{}  </testsuite>\n",
        xml_escape(drill), d.runs.size(), failed, seconds(suite_time), cases);
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"vigil-lab ({})\" tests=\"{}\" failures=\"{}\" errors=\"0\" "
      "time=\"{}\">\n{}</testsuites>\n",
      xml_escape(context.daemon), tests, failures, seconds(total_time), suites);
}

}  // namespace vigil::lab
