// The script-security audit of a whole configuration: what is refused, what runs and how, and
// the `vigild -t` exit code, over an in-memory file system and user table. The rows of
// ConfigTestExitCodes are the cases integration/security/script_security.py checks against
// keepalived 2.2.7 on real files.
#include "control/script_audit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "config/test_util.h"
#include "control/config_check.h"
#include "fakes/fake_file_inspector.h"

namespace vigil::control {
namespace {

constexpr uid_t kNobody = 65534;

// The files of the cases: one secure script, one in a world-writable directory, one in a
// directory a user owns, one the user owns, one not executable, links to each kind.
vigil::testing::FakeFileInspector files() {
  vigil::testing::FakeFileInspector fs;
  fs.add_file("/etc/vigil/ok.sh");
  fs.add_file("/etc/vigil/user-owned.sh", 0755, kNobody, kNobody);
  fs.add_file("/etc/vigil/noexec.sh", 0644);
  fs.add_file("/etc/vigil/open.sh", 0777);
  fs.add_dir("/srv/open", 0777);
  fs.add_file("/srv/open/check.sh");
  fs.add_dir("/home/op", 0755, kNobody, kNobody);
  fs.add_file("/home/op/check.sh");
  fs.add_link("/etc/vigil/to-open.sh", "/srv/open/check.sh");
  fs.add_link("/usr/local/bin/ok", "/etc/vigil/ok.sh");
  fs.add_file("/usr/bin/true");
  return fs;
}

class ScriptAuditTest : public ::testing::Test {
 protected:
  ScriptAuditEnvironment environment() {
    return ScriptAuditEnvironment{
        .files = fs_,
        .resolve_user = [this](const std::string& user, const std::string& group) -> Result<RunAs> {
          auto it = users_.find(user);
          if (it == users_.end()) return Error{"no user " + user};
          if (!group.empty() && group != user) return Error{"no group " + group};
          return it->second;
        },
        .search_path = "/usr/bin:/bin"};
  }
  ScriptAudit audit(const std::string& text) {
    parsed_.emplace_back();
    return audit_scripts(config::testing::parse_ok(parsed_.back(), text), environment());
  }
  // "line: message" of every diagnostic of `severity`.
  static std::vector<std::string> lines(const ScriptAudit& audit, config::Severity severity) {
    std::vector<std::string> out;
    for (const auto& d : audit.diagnostics.items())
      if (d.severity == severity) out.push_back(std::to_string(d.location.line) + ": " + d.message);
    return out;
  }

  vigil::testing::FakeFileInspector fs_ = files();
  std::map<std::string, RunAs> users_ = {
      {"root", RunAs{.user = "root", .uid = 0, .gid = 0}},
      {"nobody", RunAs{.user = "nobody", .uid = kNobody, .gid = kNobody}},
  };
  std::vector<std::unique_ptr<config::Parsed>> parsed_;
};

// Two instances in a sync group, each tracking `chk` (SCRIPT) and `other` (secure).
std::string tracking_config(const std::string& global, const std::string& script) {
  return "global_defs {\n" + global + "\n}\n" + R"(vrrp_script chk {
  script ")" +
         script +
         R"("
}
vrrp_script other {
  script /etc/vigil/ok.sh
}
vrrp_sync_group G {
  group { VI_1 VI_2 }
  track_script { chk }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  track_script {
    chk
    other
  }
  virtual_ipaddress { 10.0.0.100/24 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  track_script { chk }
  virtual_ipaddress { 10.0.0.101/24 }
}
)";
}

const char* const kSecurityAsRoot = "enable_script_security\nscript_user root";

std::vector<std::string> tracked(const config::VrrpTracking& track) {
  std::vector<std::string> out;
  for (const auto& ref : track.scripts)
    out.push_back(ref.name);
  return out;
}

TEST_F(ScriptAuditTest, RefusedTrackScriptIsRemovedFromEveryInstanceAndGroup) {
  const ScriptAudit a = audit(tracking_config(kSecurityAsRoot, "/srv/open/check.sh --fast"));
  ASSERT_EQ(a.config.vrrp.scripts.size(), 1U);
  EXPECT_EQ(a.config.vrrp.scripts[0].name, "other");
  EXPECT_EQ(tracked(a.config.vrrp.instances[0].track), std::vector<std::string>{"other"});
  EXPECT_TRUE(tracked(a.config.vrrp.instances[1].track).empty());
  EXPECT_TRUE(tracked(a.config.vrrp.sync_groups[0].track).empty());
  EXPECT_EQ(lines(a, config::Severity::kError),
            std::vector<std::string>{
                "6: vrrp_script chk /srv/open/check.sh --fast is insecure (/srv/open is writable "
                "by others): not run, and no instance or sync group tracks it "
                "(enable_script_security)"});
  EXPECT_FALSE(a.scripts_without_security);
  EXPECT_EQ(a.refused, 1U);
}

TEST_F(ScriptAuditTest, WithoutEnforcementAnInsecureScriptRunsWithAWarning) {
  const ScriptAudit a = audit(tracking_config("script_user root", "/srv/open/check.sh"));
  EXPECT_EQ(a.config.vrrp.scripts.size(), 2U);
  EXPECT_EQ(tracked(a.config.vrrp.instances[1].track), std::vector<std::string>{"chk"});
  EXPECT_TRUE(lines(a, config::Severity::kError).empty());
  EXPECT_EQ(lines(a, config::Severity::kWarning),
            (std::vector<std::string>{
                "5: vrrp_script chk /srv/open/check.sh is insecure (/srv/open is writable by "
                "others): it runs as root only because enable_script_security is not set",
                "0: scripts are run but enable_script_security is not set; some are insecure"}));
  EXPECT_TRUE(a.scripts_without_security);
}

TEST_F(ScriptAuditTest, KeptScriptsRunByTheirResolvedPath) {
  const ScriptAudit a = audit(std::string(R"(global_defs {
  enable_script_security
  script_user root
}
vrrp_script chk {
  script "/usr/local/bin/ok --fast"
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  track_script { chk }
  notify_master "true master"
  virtual_ipaddress { 10.0.0.100/24 }
}
)"));
  ASSERT_EQ(a.config.vrrp.scripts.size(), 1U);
  EXPECT_EQ(a.config.vrrp.scripts[0].script.argv,
            (std::vector<std::string>{"/etc/vigil/ok.sh", "--fast"}));
  EXPECT_EQ(a.config.vrrp.scripts[0].script.text, "/usr/local/bin/ok --fast") << "as written";
  ASSERT_TRUE(a.config.vrrp.instances[0].notify.master);
  EXPECT_EQ(a.config.vrrp.instances[0].notify.master->command.argv,
            (std::vector<std::string>{"/usr/bin/true", "master"}));
  EXPECT_TRUE(a.diagnostics.items().empty()) << a.diagnostics.format(parsed_.back()->files);
}

TEST_F(ScriptAuditTest, RefusedNotifyAndFifoScriptsAreDroppedWithAWarning) {
  const ScriptAudit a = audit(std::string(R"(global_defs {
  enable_script_security
  script_user root
  vrrp_notify_fifo /run/vigil.fifo
  vrrp_notify_fifo_script /home/op/check.sh
}
vrrp_sync_group G {
  group { VI_1 VI_2 }
  notify_master /etc/vigil/open.sh
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  notify_backup /etc/vigil/missing.sh
  notify_fault /etc/vigil/noexec.sh
  notify /etc/vigil/ok.sh
  notify_stop "/etc/vigil/ok.sh stop" nosuchuser
  virtual_ipaddress { 10.0.0.100/24 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  virtual_ipaddress { 10.0.0.101/24 }
}
)"));
  const auto& notify = a.config.vrrp.instances[0].notify;
  EXPECT_FALSE(notify.backup);
  EXPECT_FALSE(notify.fault);
  EXPECT_FALSE(notify.stop);
  EXPECT_TRUE(notify.any);
  EXPECT_FALSE(a.config.vrrp.sync_groups[0].notify.master);
  ASSERT_TRUE(a.config.global.vrrp_notify_fifo);
  EXPECT_FALSE(a.config.global.vrrp_notify_fifo->script) << "the FIFO stays, its reader goes";
  EXPECT_TRUE(lines(a, config::Severity::kError).empty()) << "keepalived -t: exit 0";
  EXPECT_EQ(lines(a, config::Severity::kWarning),
            (std::vector<std::string>{
                "15: vrrp_instance VI_1 notify_backup /etc/vigil/missing.sh: not found "
                "(/etc/vigil/missing.sh: No such file or directory): not run",
                "16: vrrp_instance VI_1 notify_fault /etc/vigil/noexec.sh: not executable "
                "(/etc/vigil/noexec.sh is not executable by uid 0 gid 0): not run",
                "18: vrrp_instance VI_1 notify_stop /etc/vigil/ok.sh stop: no user nosuchuser: "
                "not run",
                "9: vrrp_sync_group G notify_master /etc/vigil/open.sh is insecure "
                "(/etc/vigil/open.sh is writable by others): not run (enable_script_security)",
                "5: vrrp_notify_fifo_script /home/op/check.sh is insecure (/home/op is owned by "
                "uid 65534, not root): not run (enable_script_security)"}));
  EXPECT_EQ(a.refused, 5U);
}

// notify_deleted's script is judged like every notify script: refused, it is dropped and the
// instance still says DELETED (the flag stays); kept, it runs by its resolved path.
TEST_F(ScriptAuditTest, NotifyDeletedScriptIsJudged) {
  auto text = [](const std::string& script) {
    return "global_defs {\n  enable_script_security\n  script_user root\n}\n"
           "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n"
           "  notify_deleted " +
           script + "\n  virtual_ipaddress { 10.0.0.100/24 }\n}\n";
  };
  const ScriptAudit refused = audit(text("/etc/vigil/open.sh"));
  EXPECT_TRUE(refused.config.vrrp.instances[0].notify_deleted);
  EXPECT_FALSE(refused.config.vrrp.instances[0].notify_deleted_script);
  EXPECT_EQ(lines(refused, config::Severity::kWarning),
            (std::vector<std::string>{
                "8: vrrp_instance VI_1 notify_deleted /etc/vigil/open.sh is insecure "
                "(/etc/vigil/open.sh is writable by others): not run (enable_script_security)"}));
  EXPECT_EQ(refused.refused, 1U);
  const ScriptAudit kept = audit(text("/etc/vigil/ok.sh"));
  ASSERT_TRUE(kept.config.vrrp.instances[0].notify_deleted_script);
  EXPECT_EQ(kept.refused, 0U);
}

TEST_F(ScriptAuditTest, DefaultUserIsKeepalivedScriptWhereItExists) {
  users_["keepalived_script"] = RunAs{.user = "keepalived_script", .uid = 998, .gid = 998};
  // Run as that user, the script in the open directory needs no protected path.
  const ScriptAudit a = audit(tracking_config("enable_script_security", "/srv/open/check.sh"));
  ASSERT_TRUE(a.config.global.script_user);
  EXPECT_EQ(a.config.global.script_user->user, "keepalived_script");
  EXPECT_EQ(a.config.vrrp.scripts.size(), 2U);
  EXPECT_TRUE(a.diagnostics.items().empty()) << a.diagnostics.format(parsed_.back()->files);
}

TEST_F(ScriptAuditTest, NoDefaultUserUnderEnforcementRefusesScriptsWithoutAUser) {
  const ScriptAudit a = audit(tracking_config("enable_script_security", "/etc/vigil/ok.sh"));
  EXPECT_TRUE(a.config.vrrp.scripts.empty());
  EXPECT_FALSE(a.config.global.script_user) << "root stays the default";
  ASSERT_EQ(lines(a, config::Severity::kError).size(), 2U);
  EXPECT_EQ(lines(a, config::Severity::kError)[0],
            "5: vrrp_script chk /etc/vigil/ok.sh: enable_script_security is set, script_user is "
            "not and there is no user keepalived_script to run scripts as: not run, and no "
            "instance or sync group tracks it");
}

TEST_F(ScriptAuditTest, UnknownScriptUserIsAnError) {
  const ScriptAudit a = audit(tracking_config("script_user nosuchuser", "/etc/vigil/ok.sh"));
  EXPECT_TRUE(a.config.vrrp.scripts.empty());
  const auto errors = lines(a, config::Severity::kError);
  ASSERT_EQ(errors.size(), 3U);
  EXPECT_EQ(errors[0],
            "2: script_user nosuchuser: no user nosuchuser: scripts without a user of their own "
            "are not run");
}

// A script's own user wins over script_user; a script run by a user needs no protected path.
TEST_F(ScriptAuditTest, ScriptsOfOtherUsersNeedNoProtectedPath) {
  const ScriptAudit a = audit(std::string(R"(global_defs {
  enable_script_security
  script_user root
}
vrrp_script chk {
  script /srv/open/check.sh
  user nobody
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  track_script { chk }
  notify_master /home/op/check.sh nobody
  virtual_ipaddress { 10.0.0.100/24 }
}
)"));
  EXPECT_EQ(a.config.vrrp.scripts.size(), 1U);
  EXPECT_TRUE(a.config.vrrp.instances[0].notify.master);
  EXPECT_TRUE(a.diagnostics.items().empty()) << a.diagnostics.format(parsed_.back()->files);
}

TEST_F(ScriptAuditTest, LvsScriptsAreJudgedToo) {
  const ScriptAudit a = audit(std::string(R"(global_defs {
  enable_script_security
  script_user root
}
virtual_server 10.0.0.100 80 {
  lb_kind NAT
  lb_algo rr
  protocol TCP
  quorum_up /srv/open/check.sh
  real_server 10.0.1.1 80 {
    notify_up /etc/vigil/ok.sh
    notify_down /etc/vigil/open.sh
    MISC_CHECK {
      misc_path "/home/op/check.sh 10.0.1.1"
    }
    MISC_CHECK {
      misc_path /etc/vigil/ok.sh
    }
  }
}
)"));
  const auto& vs = a.config.lvs.virtual_servers.at(0);
  EXPECT_FALSE(vs.quorum_up);
  const auto& rs = vs.real_servers.at(0);
  EXPECT_TRUE(rs.notify_up);
  EXPECT_FALSE(rs.notify_down);
  EXPECT_EQ(rs.checkers.size(), 1U) << "the refused MISC_CHECK is removed, as keepalived does";
  EXPECT_EQ(lines(a, config::Severity::kWarning).size(), 3U);
  EXPECT_TRUE(lines(a, config::Severity::kError).empty());
}

// ---- vigild -t ------------------------------------------------------------------------------

struct ExitCase {
  const char* what;
  const char* global;  // global_defs lines
  const char* script;  // vrrp_script chk's script
  int exit_code;       // keepalived 2.2.7 -t's, where it can judge the row
};

class ConfigTestExitTest : public ScriptAuditTest {
 protected:
  int check(const std::string& text) {
    char path[] = "/tmp/vigil-script-audit-XXXXXX";
    const int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    const ScriptAuditEnvironment env = environment();
    std::ostringstream out;
    std::ostringstream err;
    const int code = run_config_check({.file = path, .scripts = &env}, out, err);
    unlink(path);
    last_output_ = err.str();
    return code;
  }
  std::string last_output_;
};

TEST_F(ConfigTestExitTest, ConfigTestExitCodes) {
  const std::vector<ExitCase> cases = {
      {"secure, enforced", kSecurityAsRoot, "/etc/vigil/ok.sh", 0},
      {"file writable by others", kSecurityAsRoot, "/etc/vigil/open.sh", 5},
      {"directory writable by others", kSecurityAsRoot, "/srv/open/check.sh", 5},
      {"directory owned by a user", kSecurityAsRoot, "/home/op/check.sh", 5},
      {"file owned by a user", kSecurityAsRoot, "/etc/vigil/user-owned.sh", 5},
      {"link to an insecure file", kSecurityAsRoot, "/etc/vigil/to-open.sh", 5},
      {"link to a secure file", kSecurityAsRoot, "/usr/local/bin/ok", 0},
      {"missing", kSecurityAsRoot, "/etc/vigil/missing.sh", 5},
      {"not executable", kSecurityAsRoot, "/etc/vigil/noexec.sh", 0},
      {"secure, not enforced", "script_user root", "/etc/vigil/ok.sh", 6},
      {"insecure, not enforced", "script_user root", "/srv/open/check.sh", 6},
      {"no script_user, not enforced", "", "/etc/vigil/ok.sh", 6},
      {"missing, not enforced", "script_user root", "/etc/vigil/missing.sh", 5},
      {"no script_user nor keepalived_script, enforced", "enable_script_security",
       "/etc/vigil/ok.sh", 5},
      {"unknown script_user", "script_user nosuchuser", "/etc/vigil/ok.sh", 5},
      {"unknown script_user, enforced", "enable_script_security\nscript_user nosuchuser",
       "/etc/vigil/ok.sh", 5},
      // keepalived -t stops itself for scripts run by another user (exit 143); the running
      // daemon's verdicts are compared in integration/security instead.
      {"user's script in an open directory, enforced", "enable_script_security\nscript_user nobody",
       "/srv/open/check.sh", 0},
      {"user's script, not enforced", "script_user nobody", "/etc/vigil/ok.sh", 6},
  };
  for (const auto& c : cases) {
    const std::string text = "global_defs {\n" + std::string(c.global) + R"(
}
vrrp_script chk {
  script ")" + c.script + R"("
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  track_script { chk }
  virtual_ipaddress { 10.0.0.100/24 }
}
)";
    EXPECT_EQ(check(text), c.exit_code) << c.what << "\n" << last_output_;
  }
}

TEST_F(ConfigTestExitTest, RefusalsAreReportedAtTheScriptsLine) {
  EXPECT_EQ(check(tracking_config(kSecurityAsRoot, "/srv/open/check.sh")), kConfigErrors);
  EXPECT_NE(last_output_.find(":6:10: error: vrrp_script chk /srv/open/check.sh is insecure"),
            std::string::npos)
      << last_output_;
  EXPECT_NE(last_output_.find("1 error, 0 warnings: scripts refused"), std::string::npos)
      << last_output_;
}

}  // namespace
}  // namespace vigil::control
