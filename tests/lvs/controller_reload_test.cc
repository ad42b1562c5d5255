// Randomized reloads (issue 14): thousands of random edits of a generated configuration, each
// planned with plan_update() and then applied with update(); the operations sent are always the
// plan's, the kernel ends up with the plan's table, and a real server the checkers failed is never
// brought back by a reload that kept it.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "check/engine.h"
#include "config/parser.h"
#include "fakes/fake_datapath.h"
#include "fakes/fake_scheduler.h"
#include "lvs/controller.h"

namespace vigil::lvs {
namespace {

struct RealServerModel {
  int host = 1;  // 10.0.0.HOST
  int weight = 1;
};
struct VirtualServerModel {
  int id = 0;  // 192.0.2.ID:80
  std::string scheduler = "rr";
  std::string method = "NAT";
  int persistence = 0;
  std::vector<RealServerModel> real_servers;
};

std::string render(const std::vector<VirtualServerModel>& model) {
  std::string out = "global_defs {\n}\n";
  for (const auto& vs : model) {
    out += "virtual_server 192.0.2." + std::to_string(vs.id) + " 80 {\n  lb_algo " + vs.scheduler +
           "\n  lb_kind " + vs.method + "\n  protocol TCP\n";
    if (vs.persistence > 0) out += "  persistence_timeout " + std::to_string(vs.persistence) + "\n";
    for (const auto& rs : vs.real_servers) {
      out += "  real_server 10.0.0." + std::to_string(rs.host) + " 80 {\n    weight " +
             std::to_string(rs.weight) + "\n  }\n";
    }
    out += "}\n";
  }
  return out;
}

std::shared_ptr<const config::Config> parse(const std::string& text) {
  auto parsed = config::parse_text("random.conf", text);
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files) << text;
  return std::make_shared<const config::Config>(std::move(parsed->config));
}

// One random edit. Virtual server 1 and its real server 10.0.0.1 (failed by its checker) stay.
void edit(std::vector<VirtualServerModel>& model, std::mt19937& random) {
  auto pick = [&random](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(random);
  };
  static const std::vector<std::string> kSchedulers = {"rr", "wrr", "lc", "wlc", "sh"};
  static const std::vector<std::string> kMethods = {"NAT", "DR", "TUN"};
  VirtualServerModel& vs = model[pick(model.size())];
  switch (pick(8)) {
    case 0: {  // a new virtual server
      int id = 2;
      while (std::any_of(model.begin(), model.end(), [id](const auto& v) { return v.id == id; }))
        ++id;
      model.push_back({.id = id, .real_servers = {{.host = 1 + static_cast<int>(pick(20))}}});
      break;
    }
    case 1:  // a virtual server goes
      if (vs.id != 1) std::erase_if(model, [id = vs.id](const auto& v) { return v.id == id; });
      break;
    case 2: {  // a real server comes
      int host = 1 + static_cast<int>(pick(40));
      if (std::none_of(vs.real_servers.begin(), vs.real_servers.end(),
                       [host](const auto& rs) { return rs.host == host; }))
        vs.real_servers.push_back({.host = host, .weight = 1 + static_cast<int>(pick(5))});
      break;
    }
    case 3:  // a real server goes
      if (vs.real_servers.size() > 1) {
        const size_t i = pick(vs.real_servers.size());
        if (vs.id != 1 || vs.real_servers[i].host != 1)
          vs.real_servers.erase(vs.real_servers.begin() + static_cast<std::ptrdiff_t>(i));
      }
      break;
    case 4:  // a weight
      vs.real_servers[pick(vs.real_servers.size())].weight = 1 + static_cast<int>(pick(6));
      break;
    case 5:
      vs.scheduler = kSchedulers[pick(kSchedulers.size())];
      break;
    case 6:
      vs.method = kMethods[pick(kMethods.size())];
      break;
    default:
      vs.persistence = pick(2) == 0 ? 0 : 60 * static_cast<int>(1 + pick(5));
      break;
  }
}

TEST(LvsControllerRandomReloads, TheAppliedOperationsAreThePlanned) {
  for (const uint32_t seed : {1U, 2U, 3U}) {
    std::mt19937 random(seed);
    testing::FakeScheduler scheduler;
    testing::FakeDatapath kernel;
    LvsController controller{kernel, scheduler, {.resync_interval = Duration::zero()}};
    std::vector<VirtualServerModel> model = {
        {.id = 1, .real_servers = {{.host = 1}, {.host = 2}}},
        {.id = 2, .scheduler = "wrr", .real_servers = {{.host = 3, .weight = 2}}},
    };
    auto config = parse(render(model));
    ASSERT_TRUE(controller.start(config).ok());
    // The checkers failed 10.0.0.1 of virtual server 1.
    const auto web = datapath::ServiceKey::tcp(*IpAddress::parse("192.0.2.1"), 80);
    const auto failed = datapath::DestinationKey{*IpAddress::parse("10.0.0.1"), 80};
    controller.apply_health(
        {{.key = check::virtual_server_key(config->lvs.virtual_servers.at(0)),
          .desired = {.real_servers = {{.key = {failed.address, 80}, .in_ipvs = false}}}}});
    ASSERT_FALSE(kernel.table().at(web).destinations.contains(failed));
    size_t operations = 0;
    for (int step = 0; step < 1'000; ++step) {
      edit(model, random);
      config = parse(render(model));
      const auto plan = controller.plan_update(*config, controller.overrides());
      kernel.reset_counts();
      controller.update(config);
      ASSERT_EQ(kernel.journal(), plan.operations) << "seed " << seed << " step " << step;
      ASSERT_EQ(kernel.failed(), 0U) << "seed " << seed << " step " << step;
      ASSERT_EQ(kernel.table(), plan.desired.table) << "seed " << seed << " step " << step;
      ASSERT_FALSE(kernel.table().at(web).destinations.contains(failed))
          << "a reload revived the failed server; seed " << seed << " step " << step;
      // Planning again right after the reload: nothing is left to do.
      EXPECT_TRUE(controller.plan_update(*config, controller.overrides()).operations.empty())
          << "seed " << seed << " step " << step;
      operations += plan.operations.size();
    }
    EXPECT_GT(operations, 500U) << "the edits changed too little to test anything";
  }
}

// A weight changed in the file reaches IPVS in the reload's own pass (the plan shows it), also
// for a real server the checkers decided on: their verdict's weight follows the configured one.
// A failed server stays out, an inhibited one (weight 0) stays at 0.
TEST(LvsControllerReload, AConfiguredWeightChangeFollowsTheVerdict) {
  testing::FakeScheduler scheduler;
  testing::FakeDatapath kernel;
  LvsController controller{kernel, scheduler, {.resync_interval = Duration::zero()}};
  std::vector<VirtualServerModel> model = {
      {.id = 1, .real_servers = {{.host = 1}, {.host = 2, .weight = 2}, {.host = 3}}}};
  auto config = parse(render(model));
  ASSERT_TRUE(controller.start(config).ok());
  auto rs = [](int host) {
    return check::RealServerKey{*IpAddress::parse("10.0.0." + std::to_string(host)), 80};
  };
  controller.apply_health(
      {{.key = check::virtual_server_key(config->lvs.virtual_servers.at(0)),
        .desired = {.real_servers = {{.key = rs(1), .in_ipvs = false},
                                     {.key = rs(2), .in_ipvs = true, .weight = 2},
                                     {.key = rs(3), .in_ipvs = true, .weight = 0}}}}});
  model[0].real_servers[0].weight = 5;
  model[0].real_servers[1].weight = 7;
  model[0].real_servers[2].weight = 4;
  config = parse(render(model));
  const auto plan = controller.plan_update(*config, controller.overrides());
  ASSERT_EQ(plan.operations.size(), 1U);
  const auto* edit = std::get_if<datapath::EditDestination>(&plan.operations[0]);
  ASSERT_NE(edit, nullptr);
  EXPECT_EQ(edit->key.address, rs(2).address);
  EXPECT_EQ(edit->destination.weight, 7);
  kernel.reset_counts();
  controller.update(config);
  EXPECT_EQ(kernel.journal(), plan.operations);
  const auto web = datapath::ServiceKey::tcp(*IpAddress::parse("192.0.2.1"), 80);
  EXPECT_FALSE(kernel.table().at(web).destinations.contains({rs(1).address, 80}));
  EXPECT_EQ(kernel.table().at(web).destinations.at({rs(3).address, 80}).weight, 0);
  // The checkers' verdict for the new configuration agrees: nothing more is sent.
  kernel.reset_counts();
  controller.apply_health(
      {{.key = check::virtual_server_key(config->lvs.virtual_servers.at(0)),
        .desired = {.real_servers = {{.key = rs(1), .in_ipvs = false},
                                     {.key = rs(2), .in_ipvs = true, .weight = 7},
                                     {.key = rs(3), .in_ipvs = true, .weight = 0}}}}});
  EXPECT_TRUE(kernel.journal().empty());
}

// inhibit_on_failure turned on or off for failed real servers, and a failed server added with
// it, reach IPVS in the reload's own pass (the plan shows them), as the checkers' verdict for the
// new configuration has them: found by integration/vm/tests/vigild_random_reloads.sh, where the
// verdict made these changes after the reload, outside its plan.
TEST(LvsControllerReload, InhibitOnFailureFollowsTheVerdict) {
  testing::FakeScheduler scheduler;
  testing::FakeDatapath kernel;
  LvsController controller{kernel, scheduler, {.resync_interval = Duration::zero()}};
  // 10.0.0.1 and .2 failed (.2 inhibited), .3 alive at weight 0, .4 (added) fails from its
  // start (alpha).
  auto render_config = [](bool inhibit_1, bool inhibit_2, bool inhibit_3, bool with_4) {
    std::string out =
        "virtual_server 192.0.2.1 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n";
    const auto rs = [&out](int host, int weight, bool inhibit, bool alpha) {
      out += "  real_server 10.0.0." + std::to_string(host) + " 80 {\n    weight " +
             std::to_string(weight) + "\n" + (inhibit ? "    inhibit_on_failure\n" : "") +
             (alpha ? "    alpha\n" : "") + "    TCP_CHECK {\n      connect_port 9\n    }\n  }\n";
    };
    rs(1, 2, inhibit_1, false);
    rs(2, 3, inhibit_2, false);
    rs(3, 0, inhibit_3, false);
    if (with_4) rs(4, 1, true, true);
    return out + "}\n";
  };
  auto config = parse(render_config(false, true, true, false));
  ASSERT_TRUE(controller.start(config).ok());
  auto rs = [](int host) {
    return check::RealServerKey{*IpAddress::parse("10.0.0." + std::to_string(host)), 80};
  };
  const auto key = check::virtual_server_key(config->lvs.virtual_servers.at(0));
  controller.apply_health({{.key = key,
                            .desired = {.real_servers = {{.key = rs(1), .in_ipvs = false},
                                                         {.key = rs(2), .in_ipvs = true},
                                                         {.key = rs(3), .in_ipvs = true}}}}});
  const auto web = datapath::ServiceKey::tcp(*IpAddress::parse("192.0.2.1"), 80);
  ASSERT_EQ(kernel.table().at(web).destinations.size(), 2U);

  // .1 inhibited now, .2 no longer, .3 no longer (alive at 0: stays), .4 added.
  config = parse(render_config(true, false, false, true));
  const auto plan = controller.plan_update(*config, controller.overrides());
  kernel.reset_counts();
  controller.update(config);
  EXPECT_EQ(kernel.journal(), plan.operations);
  const auto& destinations = kernel.table().at(web).destinations;
  ASSERT_TRUE(destinations.contains({rs(1).address, 80}));
  EXPECT_EQ(destinations.at({rs(1).address, 80}).weight, 0);
  EXPECT_FALSE(destinations.contains({rs(2).address, 80}));
  ASSERT_TRUE(destinations.contains({rs(3).address, 80}));
  EXPECT_EQ(destinations.at({rs(3).address, 80}).weight, 0);
  ASSERT_TRUE(destinations.contains({rs(4).address, 80}));
  EXPECT_EQ(destinations.at({rs(4).address, 80}).weight, 0);
  EXPECT_EQ(plan.operations.size(), 3U);
  // The checkers' verdict for the new configuration agrees: nothing more is sent.
  kernel.reset_counts();
  controller.apply_health({{.key = key,
                            .desired = {.real_servers = {{.key = rs(1), .in_ipvs = true},
                                                         {.key = rs(2), .in_ipvs = false},
                                                         {.key = rs(3), .in_ipvs = true},
                                                         {.key = rs(4), .in_ipvs = true}}}}});
  EXPECT_TRUE(kernel.journal().empty());
}

}  // namespace
}  // namespace vigil::lvs
