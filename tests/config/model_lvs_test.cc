// same_ignoring_locations: a virtual_server block that only moved in the file is the same block;
// any real change is not.
#include "config/model_lvs.h"

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>

#include "test_util.h"

namespace vigil::config {
namespace {

using testing::parse_ok;

const std::string kBlock = R"(virtual_server 10.0.0.1 80 {
  delay_loop 10
  lvs_sched wrr
  lvs_method NAT
  protocol TCP
  quorum_up "/bin/quorum up"
  sorry_server 10.0.9.9 8080
  real_server 192.168.0.1 8080 {
    weight 1
    notify_up "/bin/notify up"
    TCP_CHECK {
      connect_timeout 3
    }
  }
  real_server 192.168.0.2 8080 {
    HTTP_GET {
      url {
        path /health
        status_code 200
      }
    }
  }
}
)";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(SameIgnoringLocations, ABlockThatOnlyMovedIsTheSame) {
  std::unique_ptr<Parsed> a_holder;
  std::unique_ptr<Parsed> b_holder;
  const Config& a = parse_ok(a_holder, kBlock);
  // Lines inserted above it and inside it, another indentation: every location differs.
  std::string moved = "\n\n# a comment\n\n" + kBlock;
  moved = replaced(moved, "  real_server 192.168.0.2", "\n\n      real_server 192.168.0.2");
  moved = replaced(moved, "        path /health", "\n   path /health");
  const Config& b = parse_ok(b_holder, moved);
  ASSERT_EQ(a.lvs.virtual_servers.size(), 1U);
  ASSERT_EQ(b.lvs.virtual_servers.size(), 1U);
  const VirtualServer& x = a.lvs.virtual_servers[0];
  const VirtualServer& y = b.lvs.virtual_servers[0];
  EXPECT_NE(x.loc, y.loc);
  EXPECT_NE(x.real_servers[1].checkers[0].as<HttpCheck>()->urls[0].loc,
            y.real_servers[1].checkers[0].as<HttpCheck>()->urls[0].loc);
  EXPECT_FALSE(x == y);  // operator== compares the locations
  EXPECT_TRUE(same_ignoring_locations(x, y));
  EXPECT_TRUE(same_ignoring_locations(x, x));
}

struct Change {
  const char* name;
  const char* from;
  const char* to;
};
void PrintTo(const Change& change, std::ostream* out) {
  *out << change.name;
}

class SameIgnoringLocationsChange : public ::testing::TestWithParam<Change> {};

TEST_P(SameIgnoringLocationsChange, IsNotTheSame) {
  std::unique_ptr<Parsed> a_holder;
  std::unique_ptr<Parsed> b_holder;
  const Config& a = parse_ok(a_holder, kBlock);
  const Config& b = parse_ok(b_holder, replaced(kBlock, GetParam().from, GetParam().to));
  ASSERT_EQ(a.lvs.virtual_servers.size(), 1U);
  ASSERT_EQ(b.lvs.virtual_servers.size(), 1U);
  EXPECT_FALSE(same_ignoring_locations(a.lvs.virtual_servers[0], b.lvs.virtual_servers[0]));
  EXPECT_FALSE(same_ignoring_locations(b.lvs.virtual_servers[0], a.lvs.virtual_servers[0]));
}

INSTANTIATE_TEST_SUITE_P(
    Changes, SameIgnoringLocationsChange,
    ::testing::Values(Change{"Weight", "weight 1", "weight 2"},
                      Change{"ConnectPort", "connect_timeout 3",
                             "connect_timeout 3\n connect_port 81"},
                      Change{"ConnectTimeout", "connect_timeout 3", "connect_timeout 4"},
                      Change{"UrlPath", "path /health", "path /healthz"},
                      Change{"StatusCode", "status_code 200", "status_code 204"},
                      Change{"NotifyUp", "\"/bin/notify up\"", "\"/bin/notify upper\""},
                      Change{"QuorumUpUser", "\"/bin/quorum up\"", "\"/bin/quorum up\" root"},
                      Change{"SorryServerPort", "10.0.9.9 8080", "10.0.9.9 8081"},
                      Change{"Scheduler", "lvs_sched wrr", "lvs_sched rr"},
                      Change{"DelayLoop", "delay_loop 10", "delay_loop 11"},
                      Change{"CheckerType", "TCP_CHECK {", "PING_CHECK {"},
                      Change{"RealServerAddress", "192.168.0.2", "192.168.0.3"},
                      Change{"OneMoreRealServer", "  real_server 192.168.0.2 8080 {",
                             "  real_server 192.168.0.3 8080 {\n  }\n  real_server 192.168.0.2 "
                             "8080 {"}),
    [](const ::testing::TestParamInfo<Change>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vigil::config
