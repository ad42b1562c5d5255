// vigil-lab's table and report.json: the statistics of each drill and the documented fields.
#include "lab/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace vigil::lab {
namespace {

RunRecord run(int n, bool passed, double move, double outage) {
  RunRecord r;
  r.run = n;
  r.what.kind = DrillKind::kKill;
  r.what.victim = 0;
  r.what.vip = 0;
  r.what.fault_at = 10.0;
  r.what.heal_at = 11.0;
  r.what.end_at = 12.0;
  r.verdict.passed = passed;
  if (!passed) r.verdict.failures.push_back("d2 never became MASTER of VI_1 after the fault");
  r.verdict.vip_move = move;
  r.verdict.outage = outage;
  r.states.push_back(StateEvent{10.35, 1, 0, State::kMaster});
  r.vips.push_back(VipEvent{10.36, 1, 0, true});
  return r;
}

std::vector<DrillRecord> records() {
  DrillRecord kill{.kind = DrillKind::kKill, .runs = {}};
  kill.runs.push_back(run(1, true, 0.30, 0.31));
  kill.runs.push_back(run(2, true, 0.40, 0.41));
  kill.runs.push_back(run(3, false, 0.35, 0.36));
  return {kill};
}

LabModel model() {
  LabModel m;
  m.directors[0].id = "d1";
  m.directors[1].id = "d2";
  LabInstance i;
  i.name = "VI_1";
  i.vips = {"192.0.2.200"};
  m.directors[0].instances = {i};
  m.directors[1].instances = {i};
  m.vips = {"192.0.2.200"};
  return m;
}

TEST(Report, TableCountsRunsAndPassesAndGivesMedianAndP99) {
  const std::string table = format_table(records());
  EXPECT_NE(table.find("kill          3      2  350.0 / 400.0 ms"), std::string::npos) << table;
  EXPECT_NE(table.find("360.0 / 410.0 ms"), std::string::npos) << table;
  EXPECT_FALSE(all_passed(records()));
  EXPECT_FALSE(all_passed({}));
}

TEST(Report, JsonFollowsTheSchema) {
  const Names names{{"d1", "d2"}, {"VI_1"}, {"192.0.2.200"}};
  ReportContext context{.daemon = "vigild",
                        .daemon_path = "/usr/sbin/vigild",
                        .vrrp_only = true,
                        .ipvs_note = "no IPVS",
                        .demo = true,
                        .notes = {}};
  const auto doc = nlohmann::json::parse(report_json(model(), names, context, records()));
  EXPECT_EQ(doc["schema"], "vigil-lab-report/1");
  EXPECT_EQ(doc["passed"], false);
  EXPECT_EQ(doc["daemon"]["name"], "vigild");
  EXPECT_EQ(doc["vrrp_only"], true);
  EXPECT_EQ(doc["directors"][1]["id"], "d2");
  EXPECT_EQ(doc["directors"][0]["instances"][0]["vips"][0], "192.0.2.200");
  const auto& kill = doc["drills"][0];
  EXPECT_EQ(kill["name"], "kill");
  EXPECT_EQ(kill["runs"], 3);
  EXPECT_EQ(kill["passed"], 2);
  EXPECT_DOUBLE_EQ(kill["vip_move"]["median_ms"].get<double>(), 350.0);
  EXPECT_DOUBLE_EQ(kill["outage"]["p99_ms"].get<double>(), 410.0);
  EXPECT_TRUE(kill["two_masters_since"].is_null());
  const auto& third = kill["runs_detail"][2];
  EXPECT_EQ(third["passed"], false);
  EXPECT_EQ(third["failures"][0], "d2 never became MASTER of VI_1 after the fault");
  EXPECT_EQ(third["victim"], "d1");
  EXPECT_NEAR(third["states"][0]["t_ms"].get<double>(), 350.0, 1e-6);
  EXPECT_EQ(third["states"][0]["state"], "MASTER");
  EXPECT_EQ(third["vip_events"][0]["present"], true);
}

}  // namespace
}  // namespace vigil::lab
