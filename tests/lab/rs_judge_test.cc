// vigil-lab's real-server drills, pure: lvs_notify_fifo RS lines parsed, the health before the
// fault (every server out is the wrong-port config), the rs-fail / rs-recover rules (only the
// victim out / back on both directors, no VRRP transition), and the virtual servers the lab can
// play from a configuration.
#include "lab/rs_judge.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "config/parser.h"
#include "lab/model.h"

namespace vigil::lab {
namespace {

const std::string kVs = "[192.0.2.200]:tcp:80";
const std::string kRs1 = "[198.51.100.11]:tcp:80";
const std::string kRs2 = "[198.51.100.12]:tcp:80";

Names names() {
  return Names{{"d1", "d2"}, {"VI_1"}, {"192.0.2.200"}};
}

RsHealthQuery service() {
  return RsHealthQuery{
      .virtual_server = kVs, .real_servers = {kRs1, kRs2}, .starts_up = {true, true}};
}

// d1 MASTER, d2 BACKUP from t=0.
Timeline steady_pair() {
  Timeline t(1, 1);
  t.add(StateEvent{0.0, 0, 0, State::kMaster});
  t.add(StateEvent{0.0, 1, 0, State::kBackup});
  return t;
}

RsEvent line(double at, int director, const std::string& rs, bool up) {
  return RsEvent{at, director, rs, kVs, up};
}

TEST(LvsLine, ParsesKeepalivedsRsLines) {
  const auto down = parse_lvs_line("RS [198.51.100.11]:tcp:80 [192.0.2.200]:tcp:80 DOWN");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->real_server, kRs1);
  EXPECT_EQ(down->virtual_server, kVs);
  EXPECT_FALSE(down->up);
  const auto up = parse_lvs_line("RS [2001:db8::1]:tcp:443 [2001:db8::100]:tcp:443 UP\n");
  ASSERT_TRUE(up);
  EXPECT_TRUE(up->up);
  EXPECT_EQ(up->real_server, "[2001:db8::1]:tcp:443");
}

TEST(LvsLine, SkipsQuorumLinesAndNoise) {
  EXPECT_FALSE(parse_lvs_line("VS [192.0.2.200]:tcp:80 DOWN"));
  EXPECT_FALSE(parse_lvs_line("RS [198.51.100.11]:tcp:80 [192.0.2.200]:tcp:80 MAYBE"));
  EXPECT_FALSE(parse_lvs_line("RS [198.51.100.11]:tcp:80 DOWN"));
  EXPECT_FALSE(parse_lvs_line(""));
}

TEST(RsHealth, UpUntilALineSaysDownAndAlphaStartsDown) {
  Timeline t = steady_pair();
  t.add(line(1.0, 1, kRs2, false));
  auto up = rs_health(t, service(), 2.0);
  EXPECT_TRUE(up[0][0] && up[0][1] && up[1][0]);
  EXPECT_FALSE(up[1][1]);
  RsHealthQuery alpha = service();
  alpha.starts_up = {false, true};
  up = rs_health(t, alpha, 0.5);
  EXPECT_FALSE(up[0][0]);
  t.add(line(0.7, 0, kRs1, true));
  EXPECT_TRUE(rs_health(t, alpha, 0.8)[0][0]);
}

TEST(RsHealth, EveryServerOutIsTheWrongPortFailure) {
  Timeline t = steady_pair();
  for (int d = 0; d < 2; ++d) {
    t.add(line(1.0, d, kRs1, false));
    t.add(line(1.1, d, kRs2, false));
  }
  const auto failure = rs_health_failure(t, names(), service(), 10.0, 3.0);
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->find("every real server of VS [192.0.2.200]:tcp:80 is down before the "
                          "fault (on d1, d2)"),
            std::string::npos)
      << *failure;
}

TEST(RsHealth, OneServerOutOrARecentLineFails) {
  Timeline t = steady_pair();
  t.add(line(1.0, 0, kRs2, false));
  auto failure = rs_health_failure(t, names(), service(), 10.0, 3.0);
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->find("real server [198.51.100.12]:tcp:80 on d1 of VS"), std::string::npos)
      << *failure;
  t.add(line(9.0, 0, kRs2, true));
  failure = rs_health_failure(t, names(), service(), 10.0, 3.0);
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->find("not settled"), std::string::npos) << *failure;
  EXPECT_FALSE(rs_health_failure(t, names(), service(), 12.5, 3.0));
}

RsRun rs_fail(double fault, double end) {
  return RsRun{.kind = DrillKind::kRsFail,
               .service = service(),
               .victim = 0,
               .fault_at = fault,
               .end_at = end};
}

TEST(RsDrill, PassesWhenBothDirectorsTakeOnlyTheVictimOut) {
  Timeline t = steady_pair();
  t.add(line(10.8, 0, kRs1, false));
  t.add(line(11.1, 1, kRs1, false));
  const RunVerdict v = judge_rs_run(t, names(), rs_fail(10.0, 12.0));
  EXPECT_TRUE(v.passed) << (v.failures.empty() ? "" : v.failures.front());
  ASSERT_TRUE(v.rs_change);
  EXPECT_NEAR(*v.rs_change, 1.1, 1e-9);  // the later director's line
}

TEST(RsDrill, FailsWhenADirectorNeverTakesItOut) {
  Timeline t = steady_pair();
  t.add(line(10.8, 0, kRs1, false));
  const RunVerdict v = judge_rs_run(t, names(), rs_fail(10.0, 12.0));
  EXPECT_FALSE(v.passed);
  ASSERT_EQ(v.failures.size(), 1U);
  EXPECT_NE(v.failures[0].find("d2's checkers never took out [198.51.100.11]:tcp:80"),
            std::string::npos)
      << v.failures[0];
  EXPECT_FALSE(v.rs_change);
}

TEST(RsDrill, FailsWhenAnotherServerGoesOutOrTheVictimTwice) {
  Timeline t = steady_pair();
  t.add(line(10.8, 0, kRs1, false));
  t.add(line(10.9, 1, kRs1, false));
  t.add(line(11.0, 1, kRs2, false));
  t.add(line(11.5, 0, kRs1, false));
  const RunVerdict v = judge_rs_run(t, names(), rs_fail(10.0, 12.0));
  EXPECT_FALSE(v.passed);
  ASSERT_EQ(v.failures.size(), 2U);
  EXPECT_NE(v.failures[0].find("d2's checkers took [198.51.100.12]:tcp:80 out although only"),
            std::string::npos)
      << v.failures[0];
  EXPECT_NE(v.failures[1].find("2 times"), std::string::npos) << v.failures[1];
}

TEST(RsDrill, FailsOnAVrrpTransitionButNotOnARepeatedState) {
  Timeline t = steady_pair();
  t.add(line(10.8, 0, kRs1, false));
  t.add(line(10.9, 1, kRs1, false));
  t.add(StateEvent{10.5, 0, 0, State::kMaster});  // the same state again: no transition
  EXPECT_TRUE(judge_rs_run(t, names(), rs_fail(10.0, 12.0)).passed);
  t.add(StateEvent{11.0, 1, 0, State::kMaster});
  const RunVerdict v = judge_rs_run(t, names(), rs_fail(10.0, 12.0));
  EXPECT_FALSE(v.passed);
  ASSERT_EQ(v.failures.size(), 1U);
  EXPECT_NE(v.failures[0].find("VI_1 went BACKUP -> MASTER on d2"), std::string::npos)
      << v.failures[0];
}

TEST(RsDrill, RecoverWantsUpLinesAndRejectsADown) {
  Timeline t = steady_pair();
  t.add(line(5.0, 0, kRs1, false));  // the setup, before the fault: not judged
  t.add(line(5.1, 1, kRs1, false));
  t.add(line(10.4, 0, kRs1, true));
  t.add(line(10.6, 1, kRs1, true));
  RsRun run = rs_fail(10.0, 12.0);
  run.kind = DrillKind::kRsRecover;
  RunVerdict v = judge_rs_run(t, names(), run);
  EXPECT_TRUE(v.passed);
  ASSERT_TRUE(v.rs_change);
  EXPECT_NEAR(*v.rs_change, 0.6, 1e-9);
  t.add(line(11.0, 0, kRs1, false));
  v = judge_rs_run(t, names(), run);
  EXPECT_FALSE(v.passed);
  EXPECT_NE(v.failures[0].find("d1's checkers said [198.51.100.11]:tcp:80 DOWN during rs-recover"),
            std::string::npos)
      << v.failures[0];
}

TEST(RsDrill, DrillNames) {
  EXPECT_EQ(parse_drill("rs-fail"), DrillKind::kRsFail);
  EXPECT_EQ(parse_drill("rs-recover"), DrillKind::kRsRecover);
  EXPECT_EQ(to_string(DrillKind::kRsRecover), "rs-recover");
  EXPECT_EQ(kDefaultDrills.size(), 7U);  // the rs drills are asked for by name
}

std::vector<LabVirtualServer> playable(const std::string& text, std::vector<std::string>& why,
                                       const ContentReader& content = {}) {
  config::ParseOptions options;
  auto parsed = config::parse_text("test.conf", text, options);
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  return playable_virtual_servers(parsed->config, why, content);
}

// md5("vigil-lab health\n")
constexpr const char* kDigestConfig = R"(
virtual_server 192.0.2.200 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 80 {
    HTTP_GET {
      url {
        path /health
        digest 9cb81fdf25a528452479c42ff2750115
      }
    }
  }
}
)";

TEST(RsModel, ADigestIsPlayedWithContentWhoseMd5Matches) {
  std::vector<std::string> why;
  const auto vs = playable(kDigestConfig, why, [](const std::string& path) {
    return path == "/health" ? std::optional<std::string>("vigil-lab health\n") : std::nullopt;
  });
  ASSERT_EQ(vs.size(), 1U) << (why.empty() ? "" : why.front());
  EXPECT_EQ(vs[0].real_servers[0].bodies.at("/health"), "vigil-lab health\n");
}

TEST(RsModel, ADigestWithoutContentOrWithOtherContentIsNotPlayed) {
  struct Case {
    ContentReader content;
    std::string why;
  };
  const std::vector<Case> cases = {
      {{}, "url /health wants a digest: give the lab the content with --rs-root DIR"},
      {[](const std::string&) { return std::nullopt; },
       "url /health wants a digest and --rs-root has no /health"},
      {[](const std::string&) { return std::optional<std::string>("other\n"); },
       "url /health wants digest 9cb81fdf25a528452479c42ff2750115, --rs-root's /health has "},
      {[](const std::string&) { return std::optional<std::string>(std::string(70000, 'x')); },
       "--rs-root's /health is over 65536 bytes"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> why;
    EXPECT_TRUE(playable(kDigestConfig, why, c.content).empty());
    ASSERT_EQ(why.size(), 1U);
    EXPECT_NE(why[0].find(c.why), std::string::npos) << why[0];
  }
}

TEST(RsModel, TcpAndHttpServersArePlayedWithTheirCheckerPorts) {
  std::vector<std::string> why;
  const auto vs = playable(R"(
virtual_server 192.0.2.200 80 {
  delay_loop 2
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 8080 {
    TCP_CHECK {
      connect_port 81
      connect_timeout 1
    }
  }
  real_server 198.51.100.12 80 {
    HTTP_GET {
      url {
        path /health
      }
    }
  }
}
)",
                           why);
  ASSERT_EQ(vs.size(), 1U) << (why.empty() ? "" : why.front());
  EXPECT_EQ(vs[0].key, kVs);
  ASSERT_EQ(vs[0].real_servers.size(), 2U);
  EXPECT_EQ(vs[0].real_servers[0].key, "[198.51.100.11]:tcp:8080");
  EXPECT_EQ(vs[0].real_servers[0].port, 8080);
  EXPECT_EQ(vs[0].real_servers[0].check_port, 81);
  EXPECT_EQ(vs[0].real_servers[1].checker, "HTTP_GET");
  EXPECT_EQ(vs[0].real_servers[1].check_port, 80);
  EXPECT_GT(vs[0].check_cycle, 2.0);
}

TEST(RsModel, WhatTheLabCannotPlayGetsASentence) {
  std::vector<std::string> why;
  const auto vs = playable(R"(
virtual_server 192.0.2.200 53 {
  lb_algo rr
  lb_kind NAT
  protocol UDP
  real_server 198.51.100.11 53 {
    TCP_CHECK {
    }
  }
}
virtual_server 192.0.2.201 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 80 {
    MISC_CHECK {
      misc_path /bin/true
    }
  }
}
)",
                           why);
  EXPECT_TRUE(vs.empty());
  ASSERT_EQ(why.size(), 2U);
  EXPECT_NE(why[0].find("on a UDP service the lab plays DNS_CHECK and UDP_CHECK only"),
            std::string::npos)
      << why[0];
  EXPECT_NE(why[1].find("TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK and UDP_CHECK only"),
            std::string::npos)
      << why[1];
}

TEST(RsModel, SmtpServersAndHttpStatusesOtherThan200ArePlayed) {
  std::vector<std::string> why;
  const auto vs = playable(R"(
virtual_server 192.0.2.200 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 80 {
    SMTP_CHECK {
      host {
        connect_ip 198.51.100.11
        connect_port 2525
      }
    }
  }
  real_server 198.51.100.12 80 {
    SMTP_CHECK {
    }
  }
  real_server 198.51.100.13 80 {
    HTTP_GET {
      url {
        path /moved
        status_code 301-302
      }
      url {
        path /any
        status_code 200-399
      }
    }
  }
  real_server 198.51.100.14 443 {
    SSL_GET {
      url {
        path /health
      }
    }
  }
}
)",
                           why);
  ASSERT_EQ(vs.size(), 1U) << (why.empty() ? "" : why.front());
  ASSERT_EQ(vs[0].real_servers.size(), 4U);
  EXPECT_EQ(vs[0].real_servers[3].checker, "SSL_GET");
  EXPECT_TRUE(vs[0].real_servers[3].tls);
  EXPECT_EQ(vs[0].real_servers[3].check_port, 443);
  EXPECT_EQ(vs[0].real_servers[0].checker, "SMTP_CHECK");
  EXPECT_EQ(vs[0].real_servers[0].check_port, 2525);
  EXPECT_EQ(vs[0].real_servers[1].check_port, 80);
  EXPECT_EQ(vs[0].real_servers[2].http_status, 301);
}

TEST(RsModel, DnsServersOnUdpServicesArePlayedAndOnlyThere) {
  std::vector<std::string> why;
  const auto vs = playable(R"(
virtual_server 192.0.2.200 53 {
  lb_algo rr
  lb_kind NAT
  protocol UDP
  real_server 198.51.100.31 53 {
    DNS_CHECK {
      type A
      name www.example.org
    }
  }
}
virtual_server 192.0.2.201 53 {
  lb_algo rr
  lb_kind NAT
  protocol UDP
  real_server 198.51.100.32 53 {
    TCP_CHECK {
    }
  }
}
virtual_server 192.0.2.202 53 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.33 53 {
    DNS_CHECK {
    }
  }
}
)",
                           why);
  ASSERT_EQ(vs.size(), 1U) << (why.empty() ? "" : why.front());
  EXPECT_EQ(vs[0].key, "[192.0.2.200]:udp:53");
  ASSERT_EQ(vs[0].real_servers.size(), 1U);
  EXPECT_EQ(vs[0].real_servers[0].key, "[198.51.100.31]:udp:53");
  EXPECT_EQ(vs[0].real_servers[0].checker, "DNS_CHECK");
  EXPECT_TRUE(vs[0].real_servers[0].udp);
  EXPECT_EQ(vs[0].real_servers[0].check_port, 53);
  ASSERT_EQ(why.size(), 2U);
  EXPECT_NE(why[0].find("on a UDP service the lab plays DNS_CHECK and UDP_CHECK only"),
            std::string::npos)
      << why[0];
  EXPECT_NE(why[1].find("the lab plays DNS_CHECK and UDP_CHECK on UDP services only"),
            std::string::npos)
      << why[1];
}

TEST(RsModel, SslGetThatVerifiesTheServerIsNotPlayed) {
  std::vector<std::string> why;
  const auto vs = playable(R"(
SSL {
  verify_server
}
virtual_server 192.0.2.200 443 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 443 {
    SSL_GET {
      url {
        path /health
      }
    }
  }
}
)",
                           why);
  EXPECT_TRUE(vs.empty());
  ASSERT_EQ(why.size(), 1U);
  EXPECT_NE(why[0].find("its SSL_GET verifies the server's certificate or wants ALPN"),
            std::string::npos)
      << why[0];
}

TEST(RsModel, HttpUrlsWithoutACommonStatusOrSmtpWithTwoHostsAreNotPlayed) {
  std::vector<std::string> why;
  const auto vs = playable(R"(
virtual_server 192.0.2.200 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 80 {
    HTTP_GET {
      url {
        path /a
        status_code 200
      }
      url {
        path /b
        status_code 404
      }
    }
  }
}
virtual_server 192.0.2.201 25 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 25 {
    SMTP_CHECK {
      host {
        connect_ip 198.51.100.11
      }
      host {
        connect_ip 198.51.100.12
      }
    }
  }
}
)",
                           why);
  EXPECT_TRUE(vs.empty());
  ASSERT_EQ(why.size(), 2U);
  EXPECT_NE(why[0].find("its HTTP_GET urls accept no status in common"), std::string::npos)
      << why[0];
  EXPECT_NE(why[1].find("its SMTP_CHECK has 2 hosts (the lab plays one)"), std::string::npos)
      << why[1];
}

}  // namespace
}  // namespace vigil::lab
