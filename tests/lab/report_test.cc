// vigil-lab's table and report.json: the statistics of each drill and the documented fields.
#include "lab/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lab/report_sample.h"

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
  EXPECT_EQ(doc["schema"], "vigil-lab-report/3");
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

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

TEST(Junit, OneSuitePerDrillOneCasePerRunAFailureWithTheReasons) {
  const std::string xml = junit_xml(testing::sample_context(), testing::sample_drills());
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ", 0), 0u);
  EXPECT_NE(xml.find("<testsuites name=\"vigil-lab (vigild)\" tests=\"11\" failures=\"4\""),
            std::string::npos)
      << xml;
  EXPECT_EQ(count(xml, "<testsuite "), 8u);
  EXPECT_EQ(count(xml, "</testsuite>"), 8u);
  EXPECT_EQ(count(xml, "<testcase "), 11u);
  EXPECT_EQ(count(xml, "<failure "), 4u);
  EXPECT_NE(xml.find("<testsuite name=\"kill\" tests=\"3\" failures=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("<testcase classname=\"vigil-lab.kill\" name=\"kill run 3\" time=\"2.000\">"
                     "\n      <failure message=\"d2 never became MASTER of VI_1 after the fault\""),
            std::string::npos)
      << xml;
  // Markup in a reason is escaped, never copied.
  EXPECT_NE(xml.find("a &lt;reason&gt; with &quot;quotes&quot; &amp; an ampersand"),
            std::string::npos);
  EXPECT_EQ(xml.find("<reason>"), std::string::npos);
  EXPECT_NE(xml.find("<system-out>VIP move 350.0 ms, outage 360.0 ms</system-out>"),
            std::string::npos);
  // rs-fail says what it measured; rs-recover, not run, fails with the reason.
  EXPECT_NE(xml.find("<system-out>real server out on both directors after 900.0 ms</system-out>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure message=\"not run: the directors run VRRP only"), std::string::npos);
  EXPECT_NE(xml.find("<system-out>outage 2.0 ms, adverts dropped 10</system-out>"),
            std::string::npos)
      << xml;
  // reload says how many reloads each director completed.
  EXPECT_NE(xml.find("<system-out>outage 3.0 ms, reloads per director 5 / 4</system-out>"),
            std::string::npos)
      << xml;
}

TEST(Junit, ControlCharactersXmlCannotCarryAreReplaced) {
  auto drills = testing::sample_drills();
  drills[0].runs[2].verdict.failures = {std::string("log tail: \x1b[31mred\x01")};
  const std::string xml = junit_xml(testing::sample_context(), drills);
  EXPECT_NE(xml.find("log tail: ?[31mred?"), std::string::npos) << xml;
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
}

TEST(Compare, SideBySidePassesMediansAndEachSidesFirstReason) {
  const auto vigild = testing::sample_drills();
  std::vector<DrillRecord> keepalived = {vigild[0]};  // kill only, its third run failed
  keepalived[0].runs[0].verdict.outage = 0.5;
  keepalived[0].runs[2].verdict.failures = {"a <reason> & more"};
  const std::string table = format_compare_table("vigild", vigild, "keepalived", keepalived);
  EXPECT_EQ(table.substr(0, table.find('\n')),
            "drill            vigild   keepalived         vigild move    keepalived move       "
            "vigild outage  keepalived outage");
  EXPECT_NE(table.find("kill                2/3          2/3            400.0 ms           400.0 "
                       "ms            410.0 ms           460.0 ms\n"),
            std::string::npos)
      << table;
  // A drill one side did not run shows "-".
  EXPECT_NE(table.find("preempt             1/1            -"), std::string::npos) << table;
  EXPECT_NE(
      table.find("failed runs (the first reason of each drill):\n  vigild kill: d2 never "
                 "became MASTER of VI_1 after the fault\n  keepalived kill: a <reason> & more\n"),
      std::string::npos)
      << table;
  const std::string html = compare_html("vigild", vigild, "keepalived", keepalived);
  EXPECT_NE(html.find("<a href=\"keepalived/index.html\">keepalived's report</a>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"fail\">2/3</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<li>keepalived kill: a &lt;reason&gt; &amp; more</li>"), std::string::npos)
      << html;
}

TEST(Junit, NoDrillsIsAnEmptyWellFormedDocument) {
  EXPECT_EQ(junit_xml(testing::sample_context(), {}),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"vigil-lab (vigild)\" "
            "tests=\"0\" failures=\"0\" errors=\"0\" time=\"0.000\">\n</testsuites>\n");
}

}  // namespace
}  // namespace vigil::lab
