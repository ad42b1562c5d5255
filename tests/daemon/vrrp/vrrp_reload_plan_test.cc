#include "daemon/vrrp/vrrp_reload_plan.h"

#include <gtest/gtest.h>

#include <random>

#include "config/parser.h"

namespace vigil::daemon {
namespace {

Result<IpAddress> fake_lookup(const std::string& interface, AddressFamily family) {
  if (family != AddressFamily::kIpv4) return Error{"no address"};
  if (interface == "eth0") return *IpAddress::parse("10.0.0.1");
  if (interface == "eth1") return *IpAddress::parse("10.1.0.1");
  return Error{"no address"};
}

struct InstanceModel {
  std::string name;
  std::string interface = "eth0";
  int vrid = 1;
  int priority = 100;
  bool nopreempt = false;
  std::vector<int> vips = {1};  // 192.0.2.N
  std::string notify;           // notify_master script
  std::string route;            // one virtual_routes line
};

std::string render(const std::vector<InstanceModel>& model) {
  std::string out = "global_defs {\n  script_user root\n}\n";
  for (const auto& vi : model) {
    out += "vrrp_instance " + vi.name + " {\n  interface " + vi.interface +
           "\n  virtual_router_id " + std::to_string(vi.vrid) + "\n  priority " +
           std::to_string(vi.priority) + "\n";
    if (vi.nopreempt) out += "  nopreempt\n";
    if (!vi.notify.empty()) out += "  notify_master \"" + vi.notify + "\"\n";
    out += "  virtual_ipaddress {\n";
    for (int vip : vi.vips) {
      out += vip < 250 ? "    192.0.2." + std::to_string(vip) + "/32\n"
                       : "    198.18." + std::to_string(vip / 250) + "." +
                             std::to_string(vip % 250 + 1) + "/32\n";
    }
    out += "  }\n";
    if (!vi.route.empty()) out += "  virtual_routes {\n    " + vi.route + "\n  }\n";
    out += "}\n";
  }
  return out;
}

std::vector<VrrpInstancePlan> plans_of(const std::vector<InstanceModel>& model) {
  auto parsed = config::parse_text("vrrp.conf", render(model));
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  auto plans = plan_instances(parsed->config, fake_lookup);
  EXPECT_TRUE(plans) << plans.error().message;
  return plans ? std::move(*plans) : std::vector<VrrpInstancePlan>{};
}

std::map<std::string, const VrrpInstancePlan*> by_name(const std::vector<VrrpInstancePlan>& plans) {
  std::map<std::string, const VrrpInstancePlan*> out;
  for (const auto& plan : plans)
    out.emplace(plan.config.name, &plan);
  return out;
}

const std::vector<InstanceModel> kBase = {
    {.name = "VI_1", .vrid = 51, .vips = {1}},
    {.name = "VI_2", .vrid = 52, .vips = {2, 3}},
    {.name = "VI_3", .interface = "eth1", .vrid = 53, .priority = 150, .vips = {4}},
};

// keepalived 2.2.7 clear_diff_vrrp / send_instance_notifies: DELETED with notify_deleted in
// every state; otherwise FAULT, but nothing for an instance that is FAULT already.
TEST(VrrpRemovalNotice, FollowsKeepalived) {
  struct Row {
    bool notify_deleted;
    vrrp::State state;
    RemovalNotice expected;
  };
  const Row rows[] = {
      {true, vrrp::State::kMaster, RemovalNotice::kDeleted},
      {true, vrrp::State::kBackup, RemovalNotice::kDeleted},
      {true, vrrp::State::kFault, RemovalNotice::kDeleted},
      {true, vrrp::State::kInitialize, RemovalNotice::kDeleted},
      {false, vrrp::State::kMaster, RemovalNotice::kFault},
      {false, vrrp::State::kBackup, RemovalNotice::kFault},
      {false, vrrp::State::kInitialize, RemovalNotice::kFault},
      {false, vrrp::State::kFault, RemovalNotice::kNone},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(removal_notice(row.notify_deleted, row.state), row.expected)
        << "notify_deleted " << row.notify_deleted << ", " << vrrp::to_string(row.state);
  }
}

TEST(VrrpReloadDiff, TheSameConfigurationChangesNothing) {
  const auto running = plans_of(kBase);
  const auto next = plans_of(kBase);
  const VrrpReloadDiff diff = diff_instances(by_name(running), next);
  EXPECT_TRUE(diff.removed.empty());
  EXPECT_TRUE(diff.create.empty());
  EXPECT_EQ(diff.unchanged, 3U);
}

TEST(VrrpReloadDiff, RemovedChangedAndAddedInstances) {
  auto edited = kBase;
  edited.erase(edited.begin());  // VI_1 goes
  edited[0].priority = 120;      // VI_2 changes
  edited.push_back({.name = "VI_4", .vrid = 54, .vips = {9}});
  const auto running = plans_of(kBase);
  const auto next = plans_of(edited);
  const VrrpReloadDiff diff = diff_instances(by_name(running), next);
  EXPECT_EQ(diff.removed, std::vector<std::string>{"VI_1"});
  ASSERT_EQ(diff.create.size(), 2U);
  EXPECT_EQ(diff.create[0].plan->config.name, "VI_2");
  EXPECT_TRUE(diff.create[0].replaces);
  EXPECT_EQ(diff.create[1].plan->config.name, "VI_4");
  EXPECT_FALSE(diff.create[1].replaces);
  EXPECT_EQ(diff.unchanged, 1U);  // VI_3
}

TEST(VrrpReloadPlanText, FlagsWhatCanMoveTheVips) {
  auto edited = kBase;
  edited[0].priority = 90;  // VI_1: an election setting, MASTER now
  edited[1].vips = {2, 7};  // VI_2: VIPs only, BACKUP now
  edited.pop_back();        // VI_3 goes while MASTER
  const auto running_plans = plans_of(kBase);
  std::map<std::string, RunningInstance> running;
  const vrrp::State states[] = {vrrp::State::kMaster, vrrp::State::kBackup, vrrp::State::kMaster};
  for (size_t i = 0; i < running_plans.size(); ++i)
    running.emplace(running_plans[i].config.name, RunningInstance{&running_plans[i], states[i]});
  const api::PlanPart part = describe_vrrp_reload(running, plans_of(edited));

  auto find = [&part](api::PlanArea area, const std::string& subject) -> const api::PlanChange* {
    for (const auto& change : part.changes)
      if (change.area == area && change.subject == subject) return &change;
    return nullptr;
  };
  const auto* vi1 = find(api::PlanArea::kVrrp, "VI_1");
  ASSERT_NE(vi1, nullptr);
  EXPECT_EQ(vi1->action, api::PlanAction::kChange);
  EXPECT_EQ(vi1->detail, "priority 100 -> 90");
  EXPECT_EQ(vi1->warning, "may cause a VRRP transition (MASTER now; it restarts as MASTER)");
  const auto* vi2 = find(api::PlanArea::kVrrp, "VI_2");
  ASSERT_NE(vi2, nullptr);
  EXPECT_EQ(vi2->detail, "virtual addresses");
  EXPECT_EQ(vi2->warning, "");  // VIPs only: no election setting changed
  const auto* added = find(api::PlanArea::kVip, "192.0.2.7/32 on eth0");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->action, api::PlanAction::kAdd);
  EXPECT_EQ(added->detail, "VI_2 (when MASTER; BACKUP now)");
  const auto* dropped = find(api::PlanArea::kVip, "192.0.2.3/32 on eth0");
  ASSERT_NE(dropped, nullptr);
  EXPECT_EQ(dropped->action, api::PlanAction::kRemove);
  const auto* vi3 = find(api::PlanArea::kVrrp, "VI_3");
  ASSERT_NE(vi3, nullptr);
  EXPECT_EQ(vi3->action, api::PlanAction::kRemove);
  EXPECT_NE(vi3->warning.find("releases its virtual addresses"), std::string::npos);
  EXPECT_EQ(api::summarize(part).total(), 5U);
  EXPECT_TRUE(part.notes.empty());
}

TEST(VrrpReloadPlanText, ChangedVirtualRoutesAreNamedAndNeedNoElection) {
  auto before = kBase;
  before[0].route = "198.51.100.0/24 via 10.0.0.254 dev eth0";
  auto after = before;
  after[0].route = "198.51.100.0/24 via 10.0.0.253 dev eth0";
  const auto running_plans = plans_of(before);
  // A tracked route on the instance's own interface adds no tracked object.
  EXPECT_EQ(running_plans[0].config.tracked, plans_of(kBase)[0].config.tracked);
  std::map<std::string, RunningInstance> running;
  for (const auto& plan : running_plans)
    running.emplace(plan.config.name, RunningInstance{&plan, vrrp::State::kMaster});
  const api::PlanPart part = describe_vrrp_reload(running, plans_of(after));
  ASSERT_EQ(part.changes.size(), 1U);
  EXPECT_EQ(part.changes[0].subject, "VI_1");
  EXPECT_EQ(part.changes[0].action, api::PlanAction::kChange);
  EXPECT_EQ(part.changes[0].detail, "virtual routes and rules");
  EXPECT_EQ(part.changes[0].warning, "");
}

// Randomized edits: an instance the edit did not touch is never restarted or removed, and an
// edited one always is.
TEST(VrrpReloadDiff, RandomEditsTouchOnlyTheEditedInstance) {
  std::mt19937 random(14);
  auto pick = [&random](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(random);
  };
  std::vector<InstanceModel> model;
  for (int i = 1; i <= 8; ++i)
    model.push_back({.name = "VI_" + std::to_string(i), .vrid = i, .vips = {i}});
  auto running = plans_of(model);
  for (int step = 0; step < 500; ++step) {
    auto edited = model;
    const size_t i = pick(edited.size());
    InstanceModel& vi = edited[i];
    switch (pick(5)) {
      case 0:
        vi.priority = vi.priority == 254 ? 1 : vi.priority + 1;
        break;
      case 1:
        vi.nopreempt = !vi.nopreempt;
        break;
      case 2:
        vi.vips.push_back(1'000 + step);
        break;
      case 3:
        vi.interface = vi.interface == "eth0" ? "eth1" : "eth0";
        break;
      default:
        vi.notify = vi.notify.empty() ? "/bin/true" : "";
        break;
    }
    const auto next = plans_of(edited);
    const VrrpReloadDiff diff = diff_instances(by_name(running), next);
    ASSERT_TRUE(diff.removed.empty()) << step;
    ASSERT_EQ(diff.create.size(), 1U) << step;
    EXPECT_EQ(diff.create[0].plan->config.name, vi.name) << step;
    EXPECT_TRUE(diff.create[0].replaces) << step;
    EXPECT_EQ(diff.unchanged, edited.size() - 1) << step;
    model = std::move(edited);
    running = next;
  }
}

}  // namespace
}  // namespace vigil::daemon
