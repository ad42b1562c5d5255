#include "daemon/lvs_fullnat.h"

#include <gtest/gtest.h>

namespace vigil::daemon {
namespace {

using datapath::DestinationKey;
using datapath::ServiceKey;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

constexpr const char* kDeleteBoth =
    "table ip vigil_fullnat\ndelete table ip vigil_fullnat\n"
    "table ip6 vigil_fullnat\ndelete table ip6 vigil_fullnat\n";

TEST(FullNatRuleset, NoServiceOnlyDeletesTheTables) {
  EXPECT_EQ(fullnat_ruleset({}), kDeleteBoth);
}

TEST(FullNatRuleset, MasqueradesEachRealServerOfEachFamily) {
  std::vector<FullNatService> services = {
      {ServiceKey::tcp(ip("192.0.2.80"), 80), {{ip("10.9.0.1"), 8080}, {ip("10.9.0.2"), 8080}}},
      {ServiceKey::udp(ip("192.0.2.53"), 53), {{ip("10.9.0.1"), 53}}},
      {ServiceKey::sctp(ip("2001:db8::1"), 9), {{ip("2001:db8:1::5"), 9}}},
      {ServiceKey::firewall_mark(7, AddressFamily::kIpv4), {{ip("10.9.0.3"), 0}}},
      // The same real server in a second service: one rule.
      {ServiceKey::tcp(ip("192.0.2.81"), 80), {{ip("10.9.0.1"), 8080}}},
  };
  EXPECT_EQ(fullnat_ruleset(services),
            "table ip vigil_fullnat\n"
            "delete table ip vigil_fullnat\n"
            "table ip vigil_fullnat {\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority srcnat; policy accept;\n"
            "    ip daddr 10.9.0.1 tcp dport 8080 masquerade\n"
            "    ip daddr 10.9.0.1 udp dport 53 masquerade\n"
            "    ip daddr 10.9.0.2 tcp dport 8080 masquerade\n"
            "    ip daddr 10.9.0.3 meta mark 7 masquerade\n"
            "  }\n"
            "}\n"
            "table ip6 vigil_fullnat\n"
            "delete table ip6 vigil_fullnat\n"
            "table ip6 vigil_fullnat {\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority srcnat; policy accept;\n"
            "    ip6 daddr 2001:db8:1::5 sctp dport 9 masquerade\n"
            "  }\n"
            "}\n");
}

}  // namespace
}  // namespace vigil::daemon
