// vigilctl doctor's output and exit codes, over a fake host.
#include "doctor/run.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "control/exit_codes.h"

namespace vigil::doctor {
namespace {

class FixedHost final : public Host {
 public:
  std::string ip_forward = "1";
  std::optional<std::string> sysctl(const std::string& name) const override {
    if (name == "net.ipv4.ip_forward") return ip_forward;
    return std::nullopt;
  }
  std::optional<InterfaceState> interface(const std::string& name) const override {
    if (name == "eth0") return InterfaceState{true, true, "up"};
    return std::nullopt;
  }
  ModuleState module(const std::string& /*name*/) const override { return ModuleState::kLoaded; }
  std::string modules_dir() const override { return "/lib/modules/test"; }
  bool module_index() const override { return true; }
  ScriptState script(const ScriptRef& /*script*/,
                     const config::GlobalDefs& /*global*/) const override {
    return {script_security::Verdict::kSecure, "", "root"};
  }
  std::set<std::string> local_addresses() const override { return {}; }
  std::optional<uint64_t> open_file_limit() const override { return 65536; }
  FirewallRuleset firewall() const override { return {.json = R"({"nftables": []})"}; }
  IpvsConnTable ipvs_conn_table() const override { return {}; }
  std::optional<std::string> unusable() const override { return why_unusable; }
  std::optional<Route> route(const IpAddress& /*destination*/) const override {
    return Route{.interface = "eth0"};
  }
  ProbeResults probe(const ProbePlan& plan) const override {
    ++probes;
    ProbeResults results;
    for (const auto& [name, part] : plan.vrrp)
      results.vrrp[name].listened = part.duration;
    return results;
  }
  std::optional<std::string> why_unusable;
  mutable int probes = 0;
};

class RunTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("doctor_run_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& text) {
    std::string path = (dir_ / "site.conf").string();
    std::ofstream(path) << text;
    return path;
  }

  int run(const std::string& file, bool json = false, bool probes = true) {
    out_.str("");
    err_.str("");
    return run_doctor({.file = file, .config_id = "d1", .json = json, .probes = probes}, &host_,
                      out_, err_);
  }

  std::filesystem::path dir_;
  FixedHost host_;
  std::ostringstream out_;
  std::ostringstream err_;
};

constexpr const char* kSite = R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress { 192.0.2.10/24 }
}
virtual_server 192.0.2.10 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
}
)";

TEST_F(RunTest, HealthySiteExitsZeroWithOneLinePerFinding) {
  EXPECT_EQ(run(write(kSite)), control::kCtlOk) << err_.str();
  const std::string text = out_.str();
  EXPECT_THAT(text, testing::HasSubstr("OK   kernel.ip_forward "));
  EXPECT_THAT(text, testing::HasSubstr("OK   vrrp.interface "));
  EXPECT_THAT(text, testing::HasSubstr("checks: "));
  EXPECT_THAT(text, testing::HasSubstr(" 0 fail in "));
}

TEST_F(RunTest, AFailureExitsOneAndNamesTheFix) {
  host_.ip_forward = "0";
  EXPECT_EQ(run(write(kSite)), control::kCtlDegraded);
  EXPECT_THAT(out_.str(), testing::HasSubstr("FAIL kernel.ip_forward "));
  EXPECT_THAT(out_.str(), testing::HasSubstr("fix: sysctl -w net.ipv4.ip_forward=1"));
}

TEST_F(RunTest, JsonIsVersioned) {
  host_.ip_forward = "0";
  const std::string path = write(kSite);
  EXPECT_EQ(run(path, true), control::kCtlDegraded);
  const auto doc = nlohmann::json::parse(out_.str());
  EXPECT_EQ(doc.at("schema"), "vigil-doctor/1");
  EXPECT_EQ(doc.at("config"), path);
  EXPECT_EQ(doc.at("summary").at("fail"), 1);
  bool seen = false;
  for (const auto& f : doc.at("findings")) {
    if (f.at("check") != "kernel.ip_forward") continue;
    seen = true;
    EXPECT_EQ(f.at("level"), "fail");
    EXPECT_EQ(f.at("subject"), "virtual_server 192.0.2.10:80");
    EXPECT_THAT(f.at("location").get<std::string>(), testing::EndsWith("site.conf:8:1"));
    EXPECT_THAT(f.at("fix").get<std::string>(), testing::HasSubstr("net.ipv4.ip_forward=1"));
  }
  EXPECT_TRUE(seen);
}

TEST_F(RunTest, UnreadableConfiguration) {
  EXPECT_EQ(run((dir_ / "missing.conf").string()), control::kCtlConfigUnreadable);
  EXPECT_THAT(err_.str(), testing::HasSubstr("no such file"));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(RunTest, ConfigurationWithErrors) {
  EXPECT_EQ(run(write("vrrp_instance VI_1 {\n  virtual_router_id 999\n}\n")),
            control::kCtlConfigErrors);
  EXPECT_THAT(err_.str(), testing::HasSubstr("check-config"));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(RunTest, HostThatCannotBeExaminedExitsNine) {
  host_.why_unusable = "/proc/sys/net cannot be read (is /proc mounted?)";
  EXPECT_EQ(run(write(kSite)), control::kCtlCannotRun);
  EXPECT_THAT(err_.str(), testing::HasSubstr("cannot examine this host: /proc/sys/net"));
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(host_.probes, 0);
}

TEST_F(RunTest, ProbesRunUnlessTurnedOffAndTheSummarySaysSo) {
  EXPECT_EQ(run(write(kSite)), control::kCtlOk) << err_.str();
  EXPECT_EQ(host_.probes, 1);
  EXPECT_THAT(out_.str(), testing::HasSubstr("OK   vrrp.vrid_on_link "));
  EXPECT_THAT(out_.str(), testing::HasSubstr("(active probes included; --no-probes skips them)"));

  EXPECT_EQ(run(write(kSite), false, /*probes=*/false), control::kCtlOk) << err_.str();
  EXPECT_EQ(host_.probes, 1);
  EXPECT_THAT(out_.str(), testing::Not(testing::HasSubstr("vrrp.vrid_on_link")));
  EXPECT_THAT(out_.str(), testing::HasSubstr("(active probes skipped)\n"));

  // The JSON's fields stay those of vigil-doctor/1.
  EXPECT_EQ(run(write(kSite), true), control::kCtlOk);
  const auto doc = nlohmann::json::parse(out_.str());
  EXPECT_EQ(doc.at("summary").size(), 3u);
  bool probed = false;
  for (const auto& f : doc.at("findings"))
    probed = probed || f.at("check") == "vrrp.vrid_on_link";
  EXPECT_TRUE(probed);
}

// Records each write and makes it visible to the host, as /proc/sys would.
class RecordingWriter final : public SysctlWriter {
 public:
  explicit RecordingWriter(FixedHost& host) : host_(host) {}
  Status write(const std::string& name, const std::string& value) override {
    writes.push_back(name + "=" + value);
    if (refuse) return Error{"/proc/sys/net/ipv4/ip_forward: Read-only file system"};
    if (name == "net.ipv4.ip_forward") host_.ip_forward = value;
    return {};
  }
  std::vector<std::string> writes;
  bool refuse = false;

 private:
  FixedHost& host_;
};

class FixTest : public RunTest {
 protected:
  int fix(const std::string& file, bool json = false) {
    out_.str("");
    err_.str("");
    return run_doctor({.file = file, .config_id = "d1", .json = json, .probes = false, .fix = true},
                      &host_, out_, err_, &writer_);
  }
  RecordingWriter writer_{host_};
};

TEST_F(FixTest, AppliesTheSysctlFixThenJudgesAgain) {
  host_.ip_forward = "0";
  EXPECT_EQ(fix(write(kSite)), control::kCtlOk) << out_.str() << err_.str();
  EXPECT_EQ(writer_.writes, std::vector<std::string>{"net.ipv4.ip_forward=1"});
  const std::string text = out_.str();
  const size_t before = text.find("FAIL kernel.ip_forward ");
  const size_t applying = text.find("--fix: applying 1 sysctl fix ");
  const size_t written = text.find("  sysctl -w net.ipv4.ip_forward=1\n");
  const size_t after = text.find("OK   kernel.ip_forward ");
  ASSERT_NE(before, std::string::npos) << text;
  ASSERT_NE(applying, std::string::npos) << text;
  ASSERT_NE(written, std::string::npos) << text;
  ASSERT_NE(after, std::string::npos) << text;
  // Shown first, then applied, then judged again.
  EXPECT_LT(before, applying);
  EXPECT_LT(applying, written);
  EXPECT_LT(written, after);
  EXPECT_THAT(text.substr(after), testing::HasSubstr(" 0 fail"));
}

TEST_F(FixTest, AFailedWriteIsSaidAndTheFailureStays) {
  host_.ip_forward = "0";
  writer_.refuse = true;
  EXPECT_EQ(fix(write(kSite)), control::kCtlDegraded);
  EXPECT_THAT(out_.str(), testing::HasSubstr("  sysctl -w net.ipv4.ip_forward=1: FAILED: "
                                             "/proc/sys/net/ipv4/ip_forward: Read-only"));
  const std::string after = out_.str().substr(out_.str().find("After --fix:"));
  EXPECT_THAT(after, testing::HasSubstr("FAIL kernel.ip_forward "));
}

TEST_F(FixTest, NothingToFixWritesNothing) {
  EXPECT_EQ(fix(write(kSite)), control::kCtlOk);
  EXPECT_TRUE(writer_.writes.empty());
  EXPECT_THAT(out_.str(), testing::HasSubstr("--fix: nothing to apply"));
}

TEST_F(FixTest, NotWithJson) {
  host_.ip_forward = "0";
  EXPECT_EQ(fix(write(kSite), /*json=*/true), control::kCtlUsage);
  EXPECT_TRUE(writer_.writes.empty());
  EXPECT_EQ(out_.str(), "");
  EXPECT_THAT(err_.str(), testing::HasSubstr("--fix"));
}

TEST(ExitCodeTest, OnlyFailuresFail) {
  EXPECT_EQ(exit_code({}), control::kCtlOk);
  EXPECT_EQ(exit_code({Finding{.level = Level::kWarn}}), control::kCtlOk);
  EXPECT_EQ(exit_code({Finding{.level = Level::kOk}, Finding{.level = Level::kFail}}),
            control::kCtlDegraded);
}

}  // namespace
}  // namespace vigil::doctor
