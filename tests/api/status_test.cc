#include "api/status.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "golden.h"

namespace vigil::api {
namespace {

DaemonStatus sample() {
  DaemonStatus s{
      .version = "0.1.0",
      .pid = 4242,
      .uptime_seconds = 3725.5,
      .config_file = "/etc/vigil/vigil.conf",
      .config_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      .net_namespace = "d1",
      .instance = "",
      .last_reload = ReloadStatus{.count = 2, .ok = true, .seconds_ago = 61},
  };
  s.vrrp.push_back(
      {.name = "VI_1",
       .state = "MASTER",
       .interface = "eth0",
       .vrid = 51,
       .base_priority = 150,
       .effective_priority = 150,
       .master_address = "192.0.2.1",
       .virtual_addresses = {"192.0.2.100/32"},
       .last_transition = TransitionStatus{
           .from = "BACKUP", .to = "MASTER", .reason = "master-down-timer", .seconds_ago = 125}});
  s.vrrp.push_back({.name = "VI_6",
                    .state = "BACKUP",
                    .interface = "eth1",
                    .vrid = 52,
                    .base_priority = 100,
                    .effective_priority = 80,
                    .master_address = "fe80::1",
                    .sync_group = "G1"});
  s.virtual_servers.push_back(
      {.name = "[192.0.2.100]:tcp:80",
       .alive = 2,
       .total = 2,
       .quorum_up = true,
       .live_weight = 2,
       .quorum = 1,
       .real_servers = {{"[10.0.0.1]:tcp:80", true, 1}, {"[10.0.0.2]:tcp:80", true, 1}}});
  s.overrides.push_back({.virtual_server = "[192.0.2.100]:tcp:80",
                         .real_server = "[10.0.0.2]:80",
                         .kind = "drain",
                         .reason = "kernel upgrade",
                         .since = 1'000'000,
                         .expires = 1'003'600});
  s.overrides.push_back({.virtual_server = "[192.0.2.101]:tcp:80",
                         .real_server = "[10.0.0.9]:80",
                         .kind = "weight",
                         .weight = 5,
                         .uid = 0,
                         .pid = 77,
                         .since = 999'000,
                         .orphaned = true});
  s.warnings.push_back("/etc/vigil/vigil.conf:12:3: unknown keyword 'foo' ignored");
  return s;
}

using testing::expect_golden;

TEST(StatusText, MatchesTheGoldenFile) {
  expect_golden("status.txt", render_status_text(sample(), 1'000'125));
}

TEST(ServicesText, MatchesTheGoldenFile) {
  DaemonStatus s = sample();
  auto& servers = s.virtual_servers[0].real_servers;
  servers[0].checkers = {
      {.name = "TCP_CHECK", .up = true, .has_run = true, .probes = 42, .latency_seconds = 0.0012}};
  servers[1].alive = false;
  servers[1].checkers = {{.name = "HTTP_GET [/health]",
                          .up = false,
                          .has_run = true,
                          .probes = 7,
                          .last_error = "status 503"},
                         {.name = "MISC_CHECK", .has_run = false, .paused = true}};
  servers[0].kernel = KernelDestinationStatus{.weight = 1,
                                              .active_connections = 12,
                                              .inactive_connections = 3,
                                              .connections = 400,
                                              .packets_in = 5000,
                                              .packets_out = 4800,
                                              .bytes_in = 300'000,
                                              .bytes_out = 9'000'000};
  servers[1].last_change_seconds_ago = 125;
  s.virtual_servers[0].alive = 1;
  s.virtual_servers.push_back({.name = "FWM 7", .total = 0});
  expect_golden("services.txt", render_services_text(s));
  EXPECT_EQ(render_services_text(s, "FWM 7"),
            "FWM 7: 0/0 alive, quorum up (weight 0/1)\n"
            "  REAL SERVER HEALTH WEIGHT OVERRIDE KERNEL ACTIVE INACT LAST CHANGE CHECKERS\n");
  EXPECT_EQ(render_services_text(s, "192.0.2.100:80").substr(0, 20), "[192.0.2.100]:tcp:80");
  EXPECT_EQ(render_services_text(s, "192.0.2.100:81"), "");
  auto back = status_from_json(to_json_text(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
}

// The IPVS side's part reaches the check side's real servers whichever part comes first; the
// later of a health change and an admin change is the last change.
TEST(StatusMerge, PutsTheIpvsPartOnTheRealServersInEitherOrder) {
  StatusPart checks;
  checks.virtual_servers.push_back(
      {.name = "[192.0.2.100]:tcp:80",
       .real_servers = {{.address = "[10.0.0.1]:tcp:80", .last_change_seconds_ago = 30},
                        {.address = "[10.0.0.2]:tcp:80"}}});
  StatusPart ipvs;
  ipvs.kernel = {{.virtual_server = "[192.0.2.100]:tcp:80",
                  .real_server = "[10.0.0.1]:80",
                  .kernel = KernelDestinationStatus{.weight = 0, .active_connections = 2},
                  .admin_changed_seconds_ago = 5},
                 {.virtual_server = "[192.0.2.100]:tcp:80",
                  .real_server = "[10.0.0.2]:80",
                  .admin_changed_seconds_ago = 60},
                 {.virtual_server = "[192.0.2.101]:tcp:80", .real_server = "[10.0.0.1]:80"}};
  for (const bool ipvs_first : {true, false}) {
    DaemonStatus s;
    s.merge(ipvs_first ? ipvs : checks);
    s.merge(ipvs_first ? checks : ipvs);
    const auto& servers = s.virtual_servers.at(0).real_servers;
    ASSERT_TRUE(servers[0].kernel) << ipvs_first;
    EXPECT_EQ(servers[0].kernel->active_connections, 2U);
    EXPECT_EQ(servers[0].last_change_seconds_ago, 5);
    EXPECT_FALSE(servers[1].kernel);
    EXPECT_EQ(servers[1].last_change_seconds_ago, 60);
    const std::string json = to_json_text(s);
    EXPECT_NE(json.find("\"active_connections\": 2"), std::string::npos) << json;
  }
}

TEST(VrrpText, MatchesTheGoldenFile) {
  DaemonStatus s = sample();
  s.vrrp[0].adverts_sent = 1200;
  s.vrrp[0].became_master = 1;
  s.vrrp[1].adverts_received = 3000;
  s.vrrp[1].rejected = 2;
  s.vrrp[1].preempt = false;
  s.vrrp[1].fault = true;
  s.vrrp[1].maintenance = true;
  s.vrrp[1].maintenance_reason = "kernel upgrade";
  expect_golden("vrrp.txt", render_vrrp_text(s));
  EXPECT_NE(render_status_text(s).find("VI_6     BACKUP (maintenance)"), std::string::npos)
      << render_status_text(s);
  // The maintenance fields go through the JSON and back.
  auto parsed = status_from_json(to_json_text(s));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->vrrp[1].maintenance);
  EXPECT_EQ(parsed->vrrp[1].maintenance_reason, "kernel upgrade");
  EXPECT_EQ(render_vrrp_text(s, "VI_6").substr(0, 5), "VI_6:");
  EXPECT_EQ(render_vrrp_text(s, "VI_9"), "");
  auto back = status_from_json(to_json_text(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
}

TEST(VirtualServerSpelling, Matches) {
  EXPECT_TRUE(virtual_server_matches("[192.0.2.80]:tcp:80", "192.0.2.80:80"));
  EXPECT_TRUE(virtual_server_matches("[2001:db8::1]:udp:53", "[2001:db8::1]:53"));
  EXPECT_TRUE(virtual_server_matches("FWM 7", "FWM 7"));
  EXPECT_FALSE(virtual_server_matches("[192.0.2.80]:tcp:80", "192.0.2.8:80"));
  EXPECT_FALSE(virtual_server_matches("FWM 7", "7"));
}

TEST(StatusJson, MatchesTheGoldenFile) {
  expect_golden("status.json", to_json_text(sample()));
}

TEST(StatusJson, RoundTrips) {
  const DaemonStatus s = sample();
  auto back = status_from_json(to_json_text(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
}

TEST(StatusJson, RejectsOtherSchemasAndShapes) {
  EXPECT_FALSE(status_from_json("not json"));
  EXPECT_FALSE(status_from_json("[]"));
  EXPECT_FALSE(status_from_json(R"({"schema":"vigil-status/2"})"));
  auto missing = status_from_json(R"({"schema":"vigil-status/1","version":"x"})");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("not as expected"), std::string::npos);
}

struct AssessCase {
  const char* name;
  void (*edit)(DaemonStatus&);
  bool healthy;
  const char* reason;  // a substring of the first reason
};

class Assess : public ::testing::TestWithParam<AssessCase> {};

TEST_P(Assess, ClassifiesTheDaemon) {
  DaemonStatus s = sample();
  GetParam().edit(s);
  const Assessment a = assess(s);
  EXPECT_EQ(a.healthy, GetParam().healthy);
  if (GetParam().reason[0] != '\0') {
    ASSERT_FALSE(a.reasons.empty());
    EXPECT_NE(a.reasons.front().find(GetParam().reason), std::string::npos) << a.reasons.front();
  } else {
    EXPECT_TRUE(a.reasons.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, Assess,
    ::testing::Values(
        AssessCase{"sample", [](DaemonStatus&) {}, true, ""},
        AssessCase{"fault", [](DaemonStatus& s) { s.vrrp[1].state = "FAULT"; }, false,
                   "VI_6 is FAULT"},
        AssessCase{"init", [](DaemonStatus& s) { s.vrrp[0].state = "INIT"; }, false,
                   "VI_1 is INIT"},
        AssessCase{"real_server_down", [](DaemonStatus& s) { s.virtual_servers[0].alive = 1; },
                   false, "1 of 2 real servers alive"},
        AssessCase{"quorum_lost",
                   [](DaemonStatus& s) {
                     s.virtual_servers[0].alive = 0;
                     s.virtual_servers[0].quorum_up = false;
                     s.virtual_servers[0].sorry_server_active = true;
                   },
                   false, "lost its quorum (0 alive of 2): the sorry server serves"},
        AssessCase{"reload_refused",
                   [](DaemonStatus& s) {
                     s.last_reload->ok = false;
                     s.last_reload->message = "vigil.conf:3:1: error";
                   },
                   false, "reload was refused: vigil.conf:3:1"},
        AssessCase{"no_warnings", [](DaemonStatus& s) { s.warnings.clear(); }, true, ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(FormatAge, Table) {
  EXPECT_EQ(format_age(-1), "0s");
  EXPECT_EQ(format_age(42.9), "42s");
  EXPECT_EQ(format_age(60), "1m 0s");
  EXPECT_EQ(format_age(3725), "1h 2m");
  EXPECT_EQ(format_age(90000), "1d 1h");
}

}  // namespace
}  // namespace vigil::api
