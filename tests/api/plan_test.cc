#include "api/plan.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "golden.h"

namespace vigil::api {
namespace {

using testing::expect_golden;

ReloadPlan sample() {
  ReloadPlan plan{.file = "/etc/vigil/vigil.conf", .config_hash = "ab12"};
  PlanPart vrrp;
  vrrp.changes.push_back({.area = PlanArea::kVrrp,
                          .action = PlanAction::kChange,
                          .subject = "VI_1",
                          .detail = "priority 100 -> 150",
                          .warning = "may cause a VRRP transition (BACKUP now; it restarts)"});
  vrrp.changes.push_back({.area = PlanArea::kVip,
                          .action = PlanAction::kAdd,
                          .subject = "192.0.2.9/32 on eth0",
                          .detail = "VI_1 (when MASTER; BACKUP now)"});
  vrrp.notes.push_back("2 VRRP instances unchanged (state and VIPs kept)");
  PlanPart ipvs;
  ipvs.changes.push_back({.area = PlanArea::kIpvs,
                          .action = PlanAction::kRemove,
                          .subject = "dest TCP 192.0.2.80:80 -> 10.0.0.3:80",
                          .detail = "2 active, 5 inactive connections",
                          .warning = "its established connections are dropped"});
  ipvs.changes.push_back({.area = PlanArea::kIpvs,
                          .action = PlanAction::kChange,
                          .subject = "dest TCP 192.0.2.80:80 -> 10.0.0.1:80",
                          .detail = "weight 1 -> 3"});
  ipvs.changes.push_back({.area = PlanArea::kOverride,
                          .action = PlanAction::kChange,
                          .subject = "drain of [192.0.2.80]:tcp:80 [10.0.0.3]:80",
                          .detail = "orphaned: its target leaves the configuration"});
  PlanPart checkers;
  checkers.changes.push_back({.area = PlanArea::kChecker,
                              .action = PlanAction::kAdd,
                              .subject = "virtual server [192.0.2.81]:tcp:443",
                              .detail = "2 real servers, 2 checkers"});
  checkers.notes.push_back("4 checkers keep their state");
  // Arrival order differs from area order: merge() sorts by area.
  merge(plan.part, std::move(checkers));
  merge(plan.part, std::move(ipvs));
  merge(plan.part, std::move(vrrp));
  return plan;
}

TEST(ReloadPlan, MergeOrdersChangesByArea) {
  const ReloadPlan plan = sample();
  ASSERT_EQ(plan.part.changes.size(), 6U);
  for (size_t i = 1; i < plan.part.changes.size(); ++i)
    EXPECT_LE(plan.part.changes[i - 1].area, plan.part.changes[i].area) << i;
  // Within an area, each side's order stays.
  EXPECT_EQ(plan.part.changes[2].subject, "dest TCP 192.0.2.80:80 -> 10.0.0.3:80");
}

TEST(ReloadPlan, SummaryCountsEachAction) {
  const PlanSummary summary = summarize(sample().part);
  EXPECT_EQ(summary.add, 2U);
  EXPECT_EQ(summary.change, 3U);
  EXPECT_EQ(summary.remove, 1U);
  EXPECT_EQ(summary.total(), 6U);
}

TEST(ReloadPlan, TextMatchesTheGoldenFile) {
  expect_golden("plan.txt", render_plan_text(sample()));
}

TEST(ReloadPlan, JsonMatchesTheGoldenFileAndRoundTrips) {
  const ReloadPlan plan = sample();
  expect_golden("plan.json", to_json_text(plan));
  auto back = plan_from_json(to_json_text(plan));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, plan);
}

TEST(ReloadPlan, NoChangeSaysSo) {
  ReloadPlan plan{.file = "/etc/vigil/vigil.conf", .config_changed = false};
  const std::string text = render_plan_text(plan);
  EXPECT_NE(text.find("No changes."), std::string::npos) << text;
  EXPECT_NE(text.find("the file is the running configuration"), std::string::npos) << text;
  EXPECT_FALSE(refused(plan));
}

TEST(ReloadPlan, ErrorsMeanRefusedAndAreListed) {
  ReloadPlan plan{.file = "/etc/vigil/vigil.conf",
                  .errors = {"/etc/vigil/vigil.conf:3:5: unknown keyword 'priorty'"}};
  EXPECT_TRUE(refused(plan));
  const std::string text = render_plan_text(plan);
  EXPECT_NE(text.find("would be refused (1 error)"), std::string::npos) << text;
  EXPECT_NE(text.find("unknown keyword 'priorty'"), std::string::npos) << text;
  EXPECT_EQ(text.find("Plan:"), std::string::npos) << text;
}

TEST(ReloadPlan, ASideRefusalMeansRefused) {
  ReloadPlan plan = sample();
  plan.part.refusals.push_back("VRRP: VI_1: interface eth9 has no IPv4 address");
  EXPECT_TRUE(refused(plan));
  EXPECT_NE(render_plan_text(plan).find("every side would keep the running configuration"),
            std::string::npos);
}

TEST(ReloadPlan, JsonReaderRefusesOtherSchemasAndBadFields) {
  EXPECT_FALSE(plan_from_json("[]").ok());
  EXPECT_FALSE(plan_from_json(R"({"schema":"vigil-plan/2"})").ok());
  auto text = to_json(sample());
  text["changes"][0]["action"] = "explode";
  auto bad = plan_from_json(text.dump());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("explode"), std::string::npos);
  text = to_json(sample());
  text["changes"][0]["subject"] = 7;
  EXPECT_FALSE(plan_from_json(text.dump()).ok());
}

}  // namespace
}  // namespace vigil::api
