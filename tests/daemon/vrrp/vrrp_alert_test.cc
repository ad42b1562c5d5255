// The VRRP side's SMTP alerts (keepalived 2.2.7 vrrp_notify.c vrrp_smtp_notifier and
// vrrp_sync_smtp_notifier) over a fake host in virtual time: one alert per state change of each
// instance and sync group with smtp_alert on, none without smtp_server / notification_email.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "alert/fake_alert_sender.h"
#include "config/test_util.h"
#include "daemon/vrrp/fake_vrrp_host.h"
#include "daemon/vrrp/vrrp_runtime.h"

namespace vigil::daemon {
namespace {

std::string config_text(const std::string& globals) {
  return "global_defs {\n  vrrp_garp_master_delay 0\n" + globals + R"(}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
  smtp_alert
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  smtp_alert
  virtual_ipaddress { 10.0.0.100/24 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 1
  virtual_ipaddress { 10.0.0.101/24 }
}
)";
}

const std::string kSmtp =
    "  smtp_server 192.0.2.25\n  notification_email {\n    ops@example.com\n  }\n";

std::vector<std::string> subjects(const vigil::testing::FakeAlertSender& sender) {
  std::vector<std::string> out;
  for (const auto& a : sender.sent)
    out.push_back(a.subject + " | " + a.body);
  return out;
}

struct Run {
  std::vector<std::string> alerts;
};

Run run(const std::string& globals) {
  testing::FakeVrrpHost host;
  vigil::testing::FakeAlertSender sender;
  std::unique_ptr<config::Parsed> parsed;
  const config::Config& config = config::testing::parse_ok(parsed, config_text(globals));
  VrrpRuntime runtime(
      host, VrrpServiceOptions{.primary_address = [](const std::string&, AddressFamily)
                                   -> Result<IpAddress> { return *IpAddress::parse("10.0.0.1"); }});
  runtime.set_alert_sender(&sender);
  EXPECT_TRUE(runtime.start(config));
  host.clock.advance(5s);  // both become MASTER
  runtime.stop();
  return Run{subjects(sender)};
}

TEST(VrrpAlerts, InstanceAndSyncGroupTransitions) {
  EXPECT_EQ(run(kSmtp).alerts,
            (std::vector<std::string>{
                "VRRP Instance VI_1 - Entering BACKUP state | => VRRP Instance is no longer "
                "owning VRRP VIPs <=",
                "VRRP Group G1 - Entering BACKUP state | => All VRRP group instances are now in "
                "BACKUP state <=",
                "VRRP Instance VI_1 - Entering MASTER state | => VRRP Instance is now owning VRRP "
                "VIPs <=",
                "VRRP Group G1 - Entering MASTER state | => All VRRP group instances are now in "
                "MASTER state <=",
                "VRRP Instance VI_1 - Stopping | => VRRP Instance stopping <=",
                "VRRP Group G1 - Stopping | => All VRRP group instances are now stopping <=",
            }));
}

// The global smtp_alert_vrrp turns VI_2's on too.
TEST(VrrpAlerts, GlobalDefault) {
  const auto alerts = run(kSmtp + "  smtp_alert_vrrp on\n").alerts;
  EXPECT_EQ(std::count_if(alerts.begin(), alerts.end(),
                          [](const std::string& a) { return a.starts_with("VRRP Instance VI_2"); }),
            3);
}

TEST(VrrpAlerts, NoneWithoutServerOrAddress) {
  EXPECT_EQ(run("").alerts, std::vector<std::string>{});
  EXPECT_EQ(run("  smtp_server 192.0.2.25\n").alerts, std::vector<std::string>{});
  EXPECT_EQ(run("  notification_email {\n    ops@example.com\n  }\n").alerts,
            std::vector<std::string>{});
}

}  // namespace
}  // namespace vigil::daemon
