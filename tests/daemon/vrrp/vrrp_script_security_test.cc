// What a refused track script does to the instances that tracked it, end to end: the audit
// (control/script_audit.h) as vigild runs it at start and at every reload, then the VRRP runtime
// over a fake host in virtual time.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "config/test_util.h"
#include "control/script_audit.h"
#include "daemon/vrrp/fake_vrrp_host.h"
#include "daemon/vrrp/vrrp_runtime.h"
#include "fakes/fake_file_inspector.h"

namespace vigil::daemon {
namespace {

// VI_1 (priority 150, advert_int 1, no peer: MASTER after 3 s + 106/256 s) tracking `chk`, a
// script in /srv/checks, with `weight` (0: a failure means FAULT).
std::string config_text(int weight) {
  return R"(global_defs {
  enable_script_security
  script_user root
  vrrp_garp_master_delay 0
}
vrrp_script chk {
  script "/srv/checks/chk.sh --fast"
  weight )" +
         std::to_string(weight) + R"(
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  track_script { chk }
  virtual_ipaddress { 10.0.0.100/24 }
}
)";
}

class VrrpScriptSecurityTest : public ::testing::Test {
 protected:
  VrrpScriptSecurityTest() {
    files_.add_dir("/srv/checks", 0777);  // anyone may replace chk.sh
    files_.add_file("/srv/checks/chk.sh");
  }
  VrrpServiceOptions options() {
    return VrrpServiceOptions{
        .primary_address = [](const std::string&, AddressFamily) -> Result<IpAddress> {
          return *IpAddress::parse("10.0.0.1");
        }};
  }
  // What vigild's load_config hands the services.
  config::Config audited(int weight) {
    parsed_.emplace_back();
    const control::ScriptAuditEnvironment environment{
        .files = files_, .resolve_user = [](const std::string& user, const std::string&) {
          return user == "root" ? Result<RunAs>(RunAs{.user = "root"}) : Error{"no user"};
        }};
    return control::audit_scripts(config::testing::parse_ok(parsed_.back(), config_text(weight)),
                                  environment)
        .config;
  }
  [[nodiscard]] size_t runs() const {
    size_t count = 0;
    for (const auto& started : host.runner.started())
      count += started.request.name == "vrrp_script chk" ? 1 : 0;
    return count;
  }
  [[nodiscard]] int advertised() const {
    const auto sent = host.sent_for(51);
    return sent.empty() ? 0 : sent.back().priority();
  }
  // Ends the running check with `exit_code` and lets an advert go out.
  void finish_last_run(int exit_code) {
    const auto& started = host.runner.started();
    ASSERT_FALSE(started.empty());
    ASSERT_FALSE(started.back().finished);
    event::ScriptResult result;
    result.outcome = event::ScriptResult::Outcome::kExited;
    result.exit_code = exit_code;
    host.runner.finish(started.size() - 1, result);
    host.clock.advance(1s);
  }

  testing::FakeVrrpHost host;
  vigil::testing::FakeFileInspector files_;
  std::vector<std::unique_ptr<config::Parsed>> parsed_;
};

// keepalived: the refused script is removed from the instance; no weight, no FAULT.
TEST_F(VrrpScriptSecurityTest, RefusedScriptNeitherRunsNorMovesPriority) {
  for (const int weight : {-30, 0}) {
    SCOPED_TRACE("weight " + std::to_string(weight));
    testing::FakeVrrpHost fresh;
    VrrpRuntime runtime(fresh, options());
    ASSERT_TRUE(runtime.start(audited(weight)));
    fresh.clock.advance(10s);
    EXPECT_EQ(fresh.runner.started().size(), 0U) << "the script never runs";
    const auto sent = fresh.sent_for(51);
    ASSERT_FALSE(sent.empty()) << "MASTER: no FAULT";
    EXPECT_EQ(sent.back().priority(), 150);
    EXPECT_TRUE(fresh.present.contains(*IpPrefix::parse("10.0.0.100/24")));
    runtime.stop();
  }
}

// Each reload judges the scripts again: a directory made safe lets the script run and track;
// made unsafe again, the script is dropped and its weight with it.
TEST_F(VrrpScriptSecurityTest, ReloadJudgesTheScriptAgain) {
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(audited(-30)));
  host.clock.advance(4s);
  ASSERT_EQ(advertised(), 150);
  ASSERT_EQ(runs(), 0U);

  files_.add_dir("/srv/checks", 0755);
  runtime.reload(audited(-30));
  host.clock.advance(1s);
  ASSERT_EQ(runs(), 1U) << "judged secure now: it runs";
  EXPECT_EQ(host.runner.started().back().request.argv,
            (std::vector<std::string>{"/srv/checks/chk.sh", "--fast"}));
  finish_last_run(1);
  EXPECT_EQ(advertised(), 120) << "a failure takes the weight off";

  files_.add_dir("/srv/checks", 0777);
  runtime.reload(audited(-30));
  host.clock.advance(3s);
  EXPECT_EQ(advertised(), 150) << "refused again: no weight";
  const size_t runs_after_refusal = runs();
  host.clock.advance(5s);
  EXPECT_EQ(runs(), runs_after_refusal) << "and it never runs again";
  runtime.stop();
}

}  // namespace
}  // namespace vigil::daemon
