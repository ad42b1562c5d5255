// Script users are looked up once per load, never per notify.
#include "daemon/check/script_users.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "config/test_util.h"

namespace vigil::daemon {
namespace {

class ScriptUsersTest : public ::testing::Test {
 protected:
  ScriptUsers users{[this](const std::string& user, const std::string& group) -> Result<RunAs> {
    asked.push_back(user + ":" + group);
    if (user == "ghost") return Error{"no such user"};
    return RunAs{.user = user, .uid = static_cast<uid_t>(1000 + user.size()), .gid = 100};
  }};
  std::vector<std::string> asked;
};

TEST_F(ScriptUsersTest, EachUserOfAConfigurationIsResolvedAtLoadOnce) {
  std::unique_ptr<config::Parsed> parsed;
  const auto& config = config::testing::parse_ok(parsed, R"(
global_defs {
  script_user nobody
}
virtual_server 10.0.0.100 80 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  quorum_up /bin/up alice
  quorum_down /bin/down alice staff
  real_server 192.168.1.10 80 {
    notify_up /bin/rs-up bob
    notify_down /bin/rs-down
  }
  real_server 192.168.1.11 80 {
    notify_up /bin/rs-up bob
  }
}
)");
  users.load(config);
  EXPECT_EQ(asked, (std::vector<std::string>{"nobody:", "alice:", "alice:staff", "bob:"}));
  // Notifies and MISC_CHECKs after the load: no look-up.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(users.get({"bob", ""}).has_value());
    EXPECT_EQ(users.get({"bob", ""})->uid, 1003U);
    ASSERT_TRUE(users.get({"nobody", ""}).has_value());
  }
  EXPECT_EQ(users.lookups(), 4U);
  // A reload looks every user up again (a user changed in the system is seen).
  users.load(config);
  EXPECT_EQ(users.lookups(), 8U);
}

TEST_F(ScriptUsersTest, AUserThatDoesNotResolveIsAskedOncePerLoad) {
  EXPECT_FALSE(users.get({"ghost", ""}).has_value());
  EXPECT_FALSE(users.get({"ghost", ""}).has_value());
  EXPECT_EQ(asked, (std::vector<std::string>{"ghost:"}));
  std::unique_ptr<config::Parsed> parsed;
  users.load(config::testing::parse_ok(parsed, "global_defs {\n}\n"));
  EXPECT_FALSE(users.get({"ghost", ""}).has_value());
  EXPECT_EQ(asked, (std::vector<std::string>{"ghost:", "ghost:"}));
}

}  // namespace
}  // namespace vigil::daemon
