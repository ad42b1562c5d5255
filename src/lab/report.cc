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

// What a run measured, for people: "VIP move 63.0 ms, outage 64.0 ms", and the drill's counts.
std::string measured_text(DrillKind kind, const RunRecord& r) {
  std::string measured;
  auto add = [&](std::string_view what, const std::optional<double>& value) {
    if (value)
      measured +=
          fmt::format("{}{} {:.1f} ms", measured.empty() ? "" : ", ", what, *value * 1000.0);
  };
  add("VIP move", r.verdict.vip_move);
  add("outage", r.verdict.outage);
  add("two masters from", r.verdict.two_masters_since);
  add("two masters for", r.verdict.two_masters_for);
  add(kind == DrillKind::kRsFail ? "real server out on both directors after"
                                 : "real server back on both directors after",
      r.verdict.rs_change);
  if (kind == DrillKind::kLoss && r.what.adverts_dropped >= 0)
    measured +=
        fmt::format("{}adverts dropped {}", measured.empty() ? "" : ", ", r.what.adverts_dropped);
  if (kind == DrillKind::kReload && r.what.reloads[0] >= 0)
    measured += fmt::format("{}reloads per director {} / {}", measured.empty() ? "" : ", ",
                            r.what.reloads[0], r.what.reloads[1]);
  return measured;
}

// The start of a page of the report, up to <body>: the shared style, then `style` (more rules).
std::string html_page_start(std::string_view title, std::string_view style) {
  return fmt::format(
      "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
      "<meta charset=\"utf-8\"/>\n<title>{}</title>\n<style>\n"
      "body{{font-family:sans-serif;margin:1.5em;color:#212121}}\n"
      "table{{border-collapse:collapse}}td,th{{border:1px solid #bdbdbd;padding:2px 8px;"
      "text-align:left}}\n.pass{{color:#2e7d32}}.fail{{color:#c62828}}\n{}</style>\n</head>\n"
      "<body>\n",
      xml_escape(title), style);
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
      const std::string measured = measured_text(d.kind, r);
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

namespace vigil::lab {
namespace {

std::string_view state_colour(State s) {
  switch (s) {
    case State::kMaster:
      return "#2e7d32";
    case State::kBackup:
      return "#90a4ae";
    case State::kFault:
      return "#c62828";
    case State::kStop:
      return "#6d4c41";
    case State::kDown:
      return "#212121";
    case State::kUnknown:
      break;
  }
  return "#e0e0e0";
}

// Milliseconds from the fault, signed, for labels.
std::string rel_ms(double t, double fault) {
  return fmt::format("{:+.0f} ms", (t - fault) * 1000.0);
}

// The SVG's geometry: a label column, then time from `t0` to `t1` across the plot.
struct Plot {
  static constexpr double kWidth = 960, kLabel = 160, kRight = 40, kLane = 16, kGap = 5, kTop = 8,
                          kAxis = 24;
  double t0 = 0, t1 = 1;
  [[nodiscard]] double x(double t) const {
    const double plot = kWidth - kLabel - kRight;
    return kLabel + std::clamp((t - t0) / (t1 - t0), 0.0, 1.0) * plot;
  }
  [[nodiscard]] static double y(size_t lane) { return kTop + lane * (kLane + kGap); }
};

// One lane: its label and the segments [from, to) with a colour and a tooltip.
struct Segment {
  double from = 0, to = 0;
  std::string colour;
  std::string title;
};
struct Lane {
  std::string label;
  std::vector<Segment> segments;
};

// A lane from a starting value and changes in time order: each value lasts until the next.
template <typename Value, typename Style>
Lane lane_of(std::string label, Value first, const std::vector<std::pair<double, Value>>& changes,
             double t0, double t1, double fault, Style style) {
  Lane lane{std::move(label), {}};
  double at = t0;
  Value value = first;
  auto close = [&](double to) {
    if (to <= at) return;
    auto [colour, name] = style(value);
    if (!colour.empty())
      lane.segments.push_back(Segment{at, to, std::string(colour),
                                      fmt::format("{}: {} from {} to {}", lane.label, name,
                                                  rel_ms(at, fault), rel_ms(to, fault))});
  };
  for (const auto& [t, v] : changes) {
    close(std::min(t, t1));
    at = std::max(at, std::min(t, t1));
    value = v;
  }
  close(t1);
  return lane;
}

}  // namespace

std::string run_timeline_svg(const RunRecord& run, const Names& names) {
  Plot p;
  p.t0 = run.from;
  double last = std::max(run.what.end_at, run.what.heal_at);
  for (const auto& e : run.states)
    last = std::max(last, e.at);
  for (const auto& e : run.vips)
    last = std::max(last, e.at);
  p.t1 = std::max(last, p.t0 + 0.1);
  const double fault = run.what.fault_at;
  std::vector<Lane> lanes;

  for (size_t i = 0; i < names.instances.size(); ++i) {
    for (int d = 0; d < 2; ++d) {
      std::vector<std::pair<double, State>> changes;
      for (const auto& e : run.states) {
        if (e.instance == static_cast<int>(i) && e.director == d)
          changes.emplace_back(e.at, e.state);
      }
      const State first =
          i < run.initial.states.size() ? run.initial.states[i][d] : State::kUnknown;
      lanes.push_back(
          lane_of(names.instances[i] + " on " + names.directors[d], first, changes, p.t0, p.t1,
                  fault, [](State s) {
                    return std::pair{std::string(state_colour(s)), std::string(to_string(s))};
                  }));
    }
  }
  for (size_t v = 0; v < names.vips.size(); ++v) {
    for (int d = 0; d < 2; ++d) {
      std::vector<std::pair<double, bool>> changes;
      for (const auto& e : run.vips) {
        if (e.vip == static_cast<int>(v) && e.director == d) changes.emplace_back(e.at, e.present);
      }
      const bool first = v < run.initial.vip_on.size() && run.initial.vip_on[v][d];
      lanes.push_back(
          lane_of(names.vips[v] + " on " + names.directors[d], first, changes, p.t0, p.t1, fault,
                  [](bool on) {
                    return std::pair{std::string(on ? "#1565c0" : ""), std::string("present")};
                  }));
    }
  }
  if (!run.real_server.empty()) {
    for (int d = 0; d < 2; ++d) {
      std::vector<std::pair<double, int>> changes;  // 1 up, 0 down
      for (const auto& e : run.rs_events) {
        if (e.director == d && e.real_server == run.real_server)
          changes.emplace_back(e.at, e.up ? 1 : 0);
      }
      lanes.push_back(lane_of(run.real_server + " on " + names.directors[d], -1, changes, p.t0,
                              p.t1, fault, [](int up) {
                                if (up < 0) return std::pair{std::string(), std::string()};
                                return std::pair{std::string(up ? "#66bb6a" : "#ef5350"),
                                                 std::string(up ? "UP" : "DOWN")};
                              }));
    }
  }
  if (run.what.vip >= 0) {
    // The client: each 10 ms bucket with a reply is a success, one without is a failure.
    constexpr double kBucket = 0.01;
    const auto buckets = static_cast<size_t>(std::ceil((p.t1 - p.t0) / kBucket));
    std::vector<bool> answered(buckets, false);
    for (double r : run.replies) {
      const auto b = static_cast<size_t>((r - p.t0) / kBucket);
      if (r >= p.t0 && b < buckets) answered[b] = true;
    }
    std::vector<std::pair<double, int>> changes;
    for (size_t b = 0; b < buckets; ++b) {
      const int v = answered[b] ? 1 : 0;
      if (changes.empty() || changes.back().second != v)
        changes.emplace_back(p.t0 + static_cast<double>(b) * kBucket, v);
    }
    lanes.push_back(lane_of("client to " + names.vips[run.what.vip], -1, changes, p.t0, p.t1, fault,
                            [](int ok) {
                              if (ok < 0) return std::pair{std::string(), std::string()};
                              return std::pair{std::string(ok ? "#a5d6a7" : "#e53935"),
                                               std::string(ok ? "replies" : "no reply")};
                            }));
  }

  const double height = Plot::y(lanes.size()) + Plot::kAxis;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"{0:.0f}\" "
      "height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" role=\"img\">\n",
      Plot::kWidth, height);
  for (size_t l = 0; l < lanes.size(); ++l) {
    const double y = Plot::y(l);
    svg += fmt::format(
        "<text x=\"4\" y=\"{:.1f}\" class=\"lane\">{}</text>\n<rect x=\"{:.1f}\" y=\"{:.1f}\" "
        "width=\"{:.1f}\" height=\"{:.0f}\" fill=\"#f5f5f5\"/>\n",
        y + Plot::kLane - 4, xml_escape(lanes[l].label), p.x(p.t0), y, p.x(p.t1) - p.x(p.t0),
        Plot::kLane);
    for (const auto& s : lanes[l].segments) {
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.0f}\" fill=\"{}\">"
          "<title>{}</title></rect>\n",
          p.x(s.from), y, std::max(0.5, p.x(s.to) - p.x(s.from)), Plot::kLane, s.colour,
          xml_escape(s.title));
    }
  }
  // Time axis: about ten ticks at a round step, labelled from the fault.
  const double span = p.t1 - p.t0;
  double step = 60;
  for (double s : {0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0}) {
    if (span / s <= 10) {
      step = s;
      break;
    }
  }
  const double axis_y = Plot::y(lanes.size());
  for (double t = fault + std::ceil((p.t0 - fault) / step) * step; t <= p.t1 + 1e-9; t += step) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" class=\"tick\"/>"
        "<text x=\"{0:.1f}\" y=\"{3:.1f}\" class=\"tick\">{4}</text>\n",
        p.x(t), Plot::kTop, axis_y, axis_y + 14, rel_ms(t, fault));
  }
  auto marker = [&](double t, std::string_view cls, std::string_view what) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" class=\"{3}\">"
        "<title>{4} ({5})</title></line>\n",
        p.x(t), Plot::kTop - 4, axis_y, cls, what, rel_ms(t, fault));
  };
  marker(fault, "fault", "fault");
  if (run.what.heal_at > fault) marker(run.what.heal_at, "heal", "fault undone");
  svg += "</svg>\n";
  return svg;
}

std::string report_html(const LabModel& model, const Names& names, const ReportContext& context,
                        const std::vector<DrillRecord>& drills) {
  const bool passed = all_passed(drills);
  std::string h = html_page_start(
      "vigil-lab report",
      "svg.timeline text{font-size:11px;font-family:monospace}\n"
      "svg.timeline text.tick{text-anchor:middle}\n"
      "svg.timeline line.tick{stroke:#bdbdbd;stroke-width:0.5}\n"
      "svg.timeline line.fault{stroke:#c62828;stroke-width:1.5;stroke-dasharray:4 2}\n"
      "svg.timeline line.heal{stroke:#2e7d32;stroke-width:1.5;stroke-dasharray:4 2}\n"
      ".key span{display:inline-block;padding:0 6px;margin-right:4px;color:#fff}\n");
  h += fmt::format("<h1 class=\"{}\">vigil-lab: {}</h1>\n", passed ? "pass" : "fail",
                   passed ? "every drill passed" : "a drill failed");
  h += fmt::format("<p>Daemon: {} ({}){}.</p>\n", xml_escape(context.daemon),
                   xml_escape(context.daemon_path), context.vrrp_only ? ", VRRP only (-P)" : "");
  if (!context.ipvs_note.empty()) h += "<p>" + xml_escape(context.ipvs_note) + "</p>\n";
  h += "<ul>\n";
  for (int d = 0; d < 2; ++d) {
    h += fmt::format("<li>{}: {}</li>\n", xml_escape(model.directors[d].id),
                     xml_escape(model.directors[d].config_path));
  }
  h += "</ul>\n";
  if (!context.notes.empty()) {
    h += "<h2>Notes</h2>\n<ul>\n";
    for (const auto& n : context.notes)
      h += "<li>" + xml_escape(n) + "</li>\n";
    h += "</ul>\n";
  }
  h += "<table>\n<tr><th>drill</th><th>runs</th><th>passed</th><th>VIP move median / p99</th>"
       "<th>outage median / p99</th></tr>\n";
  for (const auto& d : drills) {
    const Columns c = columns_of(d);
    h += fmt::format(
        "<tr><td><a href=\"#{0}\">{0}</a></td><td>{1}</td><td class=\"{2}\">{3}</td><td>{4}</td>"
        "<td>{5}</td></tr>\n",
        to_string(d.kind), d.runs.size(), d.passed() == d.runs.size() ? "pass" : "fail", d.passed(),
        pair_ms(c.moves), pair_ms(c.outages));
  }
  h += "</table>\n";
  h += "<p class=\"key\">";
  for (State s :
       {State::kMaster, State::kBackup, State::kFault, State::kStop, State::kDown, State::kUnknown})
    h += fmt::format("<span style=\"background:{};color:{}\">{}</span>", state_colour(s),
                     s == State::kUnknown ? "#212121" : "#fff", to_string(s));
  h += "<span style=\"background:#1565c0\">VIP present</span>"
       "<span style=\"background:#a5d6a7;color:#212121\">client replies (10 ms)</span>"
       "<span style=\"background:#e53935\">no reply</span>"
       "<span style=\"background:#66bb6a\">real server UP</span>"
       "<span style=\"background:#ef5350\">DOWN</span></p>\n"
       "<p>Times are from the fault (red dashed line); the green dashed line is the fault "
       "undone.</p>\n";
  for (const auto& d : drills) {
    h += fmt::format("<h2 id=\"{0}\">{0}</h2>\n", to_string(d.kind));
    for (const auto& r : d.runs) {
      h += fmt::format("<h3 class=\"{}\">run {}: {}</h3>\n", r.verdict.passed ? "pass" : "fail",
                       r.run, r.verdict.passed ? "passed" : "FAILED");
      const std::string measured = measured_text(d.kind, r);
      if (!measured.empty()) h += "<p>" + xml_escape(measured) + "</p>\n";
      if (!r.verdict.failures.empty()) {
        h += "<ul class=\"fail\">\n";
        for (const auto& f : r.verdict.failures)
          h += "<li>" + xml_escape(f) + "</li>\n";
        h += "</ul>\n";
      }
      // A run that never started (not run, or no steady state) has no timeline.
      if (r.from > 0 && r.what.end_at > r.from) h += run_timeline_svg(r, names);
    }
  }
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace vigil::lab

namespace vigil::lab {
namespace {

// The drills of either side, in the order they ran (the first side's, then any only the second
// ran).
std::vector<DrillKind> drills_of(const std::vector<DrillRecord>& a,
                                 const std::vector<DrillRecord>& b) {
  std::vector<DrillKind> kinds;
  for (const auto* side : {&a, &b}) {
    for (const auto& d : *side) {
      if (std::find(kinds.begin(), kinds.end(), d.kind) == kinds.end()) kinds.push_back(d.kind);
    }
  }
  return kinds;
}

const DrillRecord* find_drill(const std::vector<DrillRecord>& records, DrillKind kind) {
  for (const auto& d : records) {
    if (d.kind == kind) return &d;
  }
  return nullptr;
}

// "3/3", "-" when the side did not run the drill.
std::string passed_of(const DrillRecord* d) {
  return d ? fmt::format("{}/{}", d->passed(), d->runs.size()) : "-";
}

std::string median_ms(const std::vector<double>& values) {
  const auto d = distribution(values);
  return d ? fmt::format("{:.1f} ms", d->median * 1000.0) : "-";
}

struct CompareRow {
  std::string drill, passed[2], move[2], outage[2], first_failure[2];
  bool all_passed[2] = {false, false};  // the side ran the drill and every run passed
};

std::vector<CompareRow> compare_rows(const std::vector<DrillRecord>& a,
                                     const std::vector<DrillRecord>& b) {
  std::vector<CompareRow> rows;
  for (DrillKind kind : drills_of(a, b)) {
    CompareRow row;
    row.drill = std::string(to_string(kind));
    const DrillRecord* sides[2] = {find_drill(a, kind), find_drill(b, kind)};
    for (int k = 0; k < 2; ++k) {
      row.passed[k] = passed_of(sides[k]);
      row.all_passed[k] = sides[k] != nullptr && sides[k]->passed() == sides[k]->runs.size();
      const Columns c = sides[k] ? columns_of(*sides[k]) : Columns{};
      row.move[k] = median_ms(c.moves);
      row.outage[k] = median_ms(c.outages);
      if (sides[k]) {
        for (const auto& r : sides[k]->runs) {
          if (!r.verdict.failures.empty()) {
            row.first_failure[k] = r.verdict.failures.front();
            break;
          }
        }
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

std::string format_compare_table(std::string_view a_name, const std::vector<DrillRecord>& a,
                                 std::string_view b_name, const std::vector<DrillRecord>& b) {
  const std::string ma = fmt::format("{} move", a_name), mb = fmt::format("{} move", b_name);
  const std::string oa = fmt::format("{} outage", a_name), ob = fmt::format("{} outage", b_name);
  std::string out = fmt::format("{:<10} {:>12} {:>12}  {:>18} {:>18}  {:>18} {:>18}\n", "drill",
                                a_name, b_name, ma, mb, oa, ob);
  std::string reasons;
  for (const auto& row : compare_rows(a, b)) {
    out += fmt::format("{:<10} {:>12} {:>12}  {:>18} {:>18}  {:>18} {:>18}\n", row.drill,
                       row.passed[0], row.passed[1], row.move[0], row.move[1], row.outage[0],
                       row.outage[1]);
    for (int k = 0; k < 2; ++k) {
      if (!row.first_failure[k].empty())
        reasons +=
            fmt::format("  {} {}: {}\n", k == 0 ? a_name : b_name, row.drill, row.first_failure[k]);
    }
  }
  if (!reasons.empty()) out += "failed runs (the first reason of each drill):\n" + reasons;
  return out;
}

std::string compare_html(std::string_view a_name, const std::vector<DrillRecord>& a,
                         std::string_view b_name, const std::vector<DrillRecord>& b) {
  const bool passed = all_passed(a) && all_passed(b);
  std::string h = html_page_start("vigil-lab: side by side", "");
  h += fmt::format("<h1 class=\"{}\">vigil-lab: {} and {} side by side</h1>\n",
                   passed ? "pass" : "fail", xml_escape(a_name), xml_escape(b_name));
  h += fmt::format(
      "<p>The same drills and configuration with each daemon, one after the other: "
      "<a href=\"{0}/index.html\">{0}'s report</a>, <a href=\"{1}/index.html\">{1}'s "
      "report</a>.</p>\n",
      xml_escape(a_name), xml_escape(b_name));
  h += fmt::format(
      "<table>\n<tr><th>drill</th><th>{0} passed</th><th>{1} passed</th><th>{0} VIP move "
      "(median)</th><th>{1} VIP move (median)</th><th>{0} outage (median)</th><th>{1} outage "
      "(median)</th></tr>\n",
      xml_escape(a_name), xml_escape(b_name));
  std::string reasons;
  for (const auto& row : compare_rows(a, b)) {
    h += fmt::format(
        "<tr><td>{}</td><td class=\"{}\">{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td></tr>\n",
        row.drill, row.all_passed[0] ? "pass" : "fail", row.passed[0],
        row.all_passed[1] ? "pass" : "fail", row.passed[1], row.move[0], row.move[1], row.outage[0],
        row.outage[1]);
    for (int k = 0; k < 2; ++k) {
      if (!row.first_failure[k].empty())
        reasons += fmt::format("<li>{} {}: {}</li>\n", xml_escape(k == 0 ? a_name : b_name),
                               row.drill, xml_escape(row.first_failure[k]));
    }
  }
  h += "</table>\n";
  if (!reasons.empty())
    h += "<h2>Failed runs (the first reason of each drill)</h2>\n<ul>\n" + reasons + "</ul>\n";
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace vigil::lab
