// The VRRP side's GET /metrics over a fake host in virtual time: the state set follows the
// instance, the counters count, and the exposition has every VRRP family even before a state
// change.
#include <gtest/gtest.h>

#include <string>

#include "api/golden.h"
#include "api/metrics.h"
#include "config/test_util.h"
#include "daemon/vrrp/fake_vrrp_host.h"
#include "daemon/vrrp/vrrp_runtime.h"

namespace vigil::daemon {
namespace {

constexpr const char* kConfig = R"(global_defs {
  vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress { 10.0.0.100/24 }
}
)";

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(VrrpMetrics, StateSetPrioritiesAndCounters) {
  testing::FakeVrrpHost host;
  std::unique_ptr<config::Parsed> parsed;
  const config::Config& config = config::testing::parse_ok(parsed, kConfig);
  VrrpRuntime runtime(
      host, VrrpServiceOptions{.primary_address = [](const std::string&, AddressFamily)
                                   -> Result<IpAddress> { return *IpAddress::parse("10.0.0.1"); }});
  ASSERT_TRUE(runtime.start(config));
  const std::string backup = api::render_metrics({runtime.metrics()});
  EXPECT_TRUE(
      has_line(backup, R"(vigil_vrrp_instance_state{vrrp_instance="VI_1",state="BACKUP"} 1)"))
      << backup;
  EXPECT_TRUE(
      has_line(backup, R"(vigil_vrrp_instance_state{vrrp_instance="VI_1",state="MASTER"} 0)"));
  host.clock.advance(5s);  // no peer: MASTER, sending adverts
  const std::string master = api::render_metrics({runtime.metrics()});
  EXPECT_TRUE(
      has_line(master, R"(vigil_vrrp_instance_state{vrrp_instance="VI_1",state="MASTER"} 1)"))
      << master;
  EXPECT_TRUE(has_line(master, R"(vigil_vrrp_instance_priority{vrrp_instance="VI_1"} 150)"));
  EXPECT_TRUE(has_line(master, R"(vigil_vrrp_instance_base_priority{vrrp_instance="VI_1"} 150)"));
  EXPECT_TRUE(has_line(
      master, R"(vigil_vrrp_instance_transitions_total{vrrp_instance="VI_1",state="MASTER"} 1)"));
  EXPECT_EQ(master.find(R"(vigil_vrrp_adverts_sent_total{vrrp_instance="VI_1"} 0)"),
            std::string::npos)
      << master;
  EXPECT_TRUE(has_line(
      master,
      R"(vigil_vrrp_adverts_rejected_total{vrrp_instance="VI_1",reason="bad_checksum"} 0)"));
  EXPECT_NE(master.find("# TYPE vigil_timer_lateness_seconds histogram\n"), std::string::npos);
  // Becoming master announced the VIP: garp_master_repeat (5) gratuitous ARPs, no NA.
  EXPECT_TRUE(has_line(master, R"(vigil_vrrp_gratuitous_arps_sent_total{vrrp_instance="VI_1"} 5)"))
      << master;
  EXPECT_TRUE(
      has_line(master, R"(vigil_vrrp_neighbour_adverts_sent_total{vrrp_instance="VI_1"} 0)"));
  // By reason: the pairs the state machine makes, at 0 until they happen.
  EXPECT_TRUE(has_line(
      master,
      R"(vigil_vrrp_instance_transitions_by_reason_total{vrrp_instance="VI_1",state="BACKUP",reason="startup"} 1)"));
  EXPECT_TRUE(has_line(
      master,
      R"(vigil_vrrp_instance_transitions_by_reason_total{vrrp_instance="VI_1",state="MASTER",reason="master_down_timer_expired"} 1)"));
  EXPECT_TRUE(has_line(
      master,
      R"(vigil_vrrp_instance_transitions_by_reason_total{vrrp_instance="VI_1",state="BACKUP",reason="higher_priority_advert"} 0)"));
  EXPECT_EQ(master.find(R"(state="INIT",reason="startup")"), std::string::npos) << master;
  // The whole side, as a golden file that promtool checks (api.metrics.promtool).
  api::testing::expect_golden("vrrp_metrics.txt", master);
  runtime.stop();
}

}  // namespace
}  // namespace vigil::daemon
