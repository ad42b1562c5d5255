// vigil-lab's command line before any lab is built: vigild's exit codes for configs that cannot
// be read (4) or have errors (5, with file:line:col), 2 with one sentence for a config the lab
// cannot model, 64 for a bad command line.
#include "lab/cli.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace vigil::lab {
namespace {

class LabCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/vigil-lab-cli-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  int run(std::vector<std::string> args) {
    args.insert(args.begin(), "vigil-lab");
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    testing::internal::CaptureStderr();
    const int code = main(static_cast<int>(args.size()), argv.data());
    err_ = testing::internal::GetCapturedStderr();
    return code;
  }
  std::string dir_;
  std::string err_;
};

TEST_F(LabCli, UnreadableConfigExits4) {
  EXPECT_EQ(run({"run", "-f", dir_ + "/missing.conf"}), 4);
  EXPECT_NE(err_.find("missing.conf: cannot read configuration file: no such file"),
            std::string::npos)
      << err_;
}

TEST_F(LabCli, ConfigErrorsExit5WithFileLineColumn) {
  const auto path = write("bad.conf", "vrrp_instance VI_1 {\n  interface eth0\n  priorty 100\n}\n");
  EXPECT_EQ(run({"run", "-f", path}), 5);
  EXPECT_NE(err_.find("bad.conf:3:3: error:"), std::string::npos) << err_;
}

TEST_F(LabCli, NoVrrpInstanceExits2WithOneSentence) {
  const auto path = write("lvs.conf", "global_defs {\n  router_id x\n}\n");
  EXPECT_EQ(run({"run", "-f", path}), 2);
  EXPECT_NE(err_.find("has no vrrp_instance: the lab rehearses VRRP failover"), std::string::npos)
      << err_;
}

TEST_F(LabCli, ThreeConfigIdsNeedIds) {
  const auto path = write("ids.conf",
                          "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n"
                          "@a priority 1\n@b priority 2\n@c priority 3\n"
                          "  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n");
  EXPECT_EQ(run({"run", "-f", path}), 2);
  EXPECT_NE(err_.find("name 3 config ids (a, b, c): say which two directors"), std::string::npos)
      << err_;
}

TEST_F(LabCli, BadCommandLineExits64) {
  EXPECT_EQ(run({"run"}), 64);
  EXPECT_EQ(run({"demo", "--drills", "reboot"}), 64);
  EXPECT_NE(err_.find("unknown drill reboot"), std::string::npos) << err_;
  EXPECT_EQ(run({"frobnicate"}), 64);
  // --compare picks the daemons itself.
  EXPECT_EQ(run({"demo", "--compare", "--daemon", "keepalived"}), 64);
  EXPECT_NE(err_.find("--compare runs both daemons itself"), std::string::npos) << err_;
  EXPECT_EQ(run({"demo", "--compare", "--json"}), 64);
}

}  // namespace
}  // namespace vigil::lab
