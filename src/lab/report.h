// What the lab tells a person (the table) and a program (report.json, docs/lab.md's schema).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lab/drills.h"

namespace vigil::lab {

struct ReportContext {
  std::string daemon;  // vigild or keepalived
  std::string daemon_path;
  bool vrrp_only = true;
  std::string ipvs_note;  // why the directors run VRRP only, or empty
  bool demo = false;
  std::vector<std::string> notes;  // lines the person should read (e.g. a daemon that died)
};

// The summary table: drill, runs, passed, VIP move median/p99, outage median/p99. Pure.
std::string format_table(const std::vector<DrillRecord>& drills);
// report.json (schema "vigil-lab-report/1"). Pure.
std::string report_json(const LabModel& model, const Names& names, const ReportContext& context,
                        const std::vector<DrillRecord>& drills);
// junit.xml for CI: one <testsuite> per drill, one <testcase> per run, a <failure> with the
// reasons for each failed run (the first as its message). Pure.
std::string junit_xml(const ReportContext& context, const std::vector<DrillRecord>& drills);
// index.html: the summary table, then per run its verdict, reasons and timeline. Self-contained
// (inline style and SVG; no script, nothing fetched) and well-formed XML. Pure.
std::string report_html(const LabModel& model, const Names& names, const ReportContext& context,
                        const std::vector<DrillRecord>& drills);
// One run's timeline as SVG, from `from` to its end: a lane per instance and director (its VRRP
// state), per VIP and director (present or not), per director for the faulted real server
// (rs-*), and the client's replies per 10 ms bucket, with the fault and its end marked. Pure.
std::string run_timeline_svg(const RunRecord& run, const Names& names);
// --compare: per drill, each daemon's passed runs and its VIP move and outage medians, then the
// first reason of each drill that failed on either side. Pure.
std::string format_compare_table(std::string_view a_name, const std::vector<DrillRecord>& a,
                                 std::string_view b_name, const std::vector<DrillRecord>& b);
// --compare's DIR/index.html: the same table, linking each daemon's own index.html. Pure.
std::string compare_html(std::string_view a_name, const std::vector<DrillRecord>& a,
                         std::string_view b_name, const std::vector<DrillRecord>& b);
// Every run of every drill passed (and there was at least one).
bool all_passed(const std::vector<DrillRecord>& drills);

}  // namespace vigil::lab
