// virtual_server_group, virtual_server, real_server, sorry_server and SSL: model, defaults and
// validation. Checkers are in parser_check_test.cc.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/json.h"
#include "test_util.h"

namespace vigil::config {
namespace {

using testing::errors;
using testing::parse;
using testing::parse_ok;
using testing::warnings;
using Strings = std::vector<std::string>;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

// A valid virtual server around `body` (which starts on line 5) with one real server after it.
std::string vs_with(const std::string& body) {
  return "virtual_server 10.0.0.1 80 {\n"
         "  protocol TCP\n"
         "  lvs_sched rr\n"
         "  lvs_method NAT\n" +
         body +
         "\n"
         "  real_server 10.0.1.1 80 {\n"
         "  }\n"
         "}\n";
}

TEST(VirtualServer, DefaultsAreKeepalivedsDefaults) {
  std::unique_ptr<Parsed> p;
  const auto& lvs = parse_ok(p, vs_with("")).lvs;
  ASSERT_EQ(lvs.virtual_servers.size(), 1U);
  const auto& vs = lvs.virtual_servers[0];
  EXPECT_EQ(vs.kind, VirtualServerKind::kAddress);
  EXPECT_EQ(vs.address, ip("10.0.0.1"));
  EXPECT_EQ(vs.port, 80);
  EXPECT_EQ(vs.family, AddressFamily::kIpv4);
  EXPECT_EQ(vs.protocol, LvsProtocol::kTcp);
  EXPECT_EQ(vs.scheduler, Scheduler::kRr);
  EXPECT_EQ(vs.forwarding.method, ForwardingMethod::kNat);
  EXPECT_EQ(vs.delay_loop, 60s);
  EXPECT_EQ(vs.connect_timeout, 5s);
  EXPECT_EQ(vs.quorum, 1U);
  EXPECT_EQ(vs.hysteresis, 0U);
  EXPECT_EQ(vs.weight, 1U);
  EXPECT_EQ(vs.persistence_timeout, 0U);
  EXPECT_FALSE(vs.persistence_granularity);
  EXPECT_FALSE(vs.alpha);
  EXPECT_FALSE(vs.omega);
  EXPECT_FALSE(vs.ha_suspend);
  EXPECT_FALSE(vs.inhibit_on_failure);
  EXPECT_FALSE(vs.smtp_alert);
  EXPECT_FALSE(vs.sorry_server);
  ASSERT_EQ(vs.real_servers.size(), 1U);
  const auto& rs = vs.real_servers[0];
  EXPECT_EQ(rs.address, ip("10.0.1.1"));
  EXPECT_EQ(rs.port, 80);
  EXPECT_EQ(rs.weight, 1U);
  EXPECT_EQ(rs.forwarding.method, ForwardingMethod::kNat);
  EXPECT_EQ(rs.delay_loop, 60s);
  EXPECT_EQ(rs.connect_timeout, 5s);
  EXPECT_FALSE(rs.retry);
  EXPECT_FALSE(rs.warmup);
  EXPECT_FALSE(rs.delay_before_retry);
  EXPECT_TRUE(rs.smtp_alert);  // keepalived's default for real servers
  EXPECT_FALSE(rs.inhibit_on_failure);
  EXPECT_TRUE(rs.checkers.empty());
}

TEST(VirtualServer, ReadsEveryKeyword) {
  std::unique_ptr<Parsed> p;
  const auto& vs = parse_ok(p, R"(virtual_server 10.0.0.1 443 {
  ip_family inet
  delay_loop 6.5
  connect_timeout 2
  delay_before_retry 0
  warmup 4
  retry 3
  lb_algo sh
  sh-port
  sh-fallback
  flag-3
  lb_kind DR
  persistence_timeout 600
  persistence_granularity 255.255.255.0
  persistence_engine sip
  protocol tcp
  ha_suspend
  smtp_alert on
  virtualhost www.example.com
  snmp_name web
  alpha
  omega
  inhibit_on_failure
  quorum 3
  hysteresis 1
  weight 2
  quorum_up "/usr/local/bin/quorum up" nobody nogroup
  quorum_down /usr/local/bin/quorum_down
  sorry_server 10.0.9.9 443
  sorry_server_inhibit
  sorry_server_lvs_method TUN type gue port 6080 csum
  real_server 10.0.1.1 443 {
  }
  real_server 10.0.1.2 443 {
  }
}
)")
                       .lvs.virtual_servers.at(0);
  EXPECT_EQ(vs.port, 443);
  EXPECT_TRUE(vs.family_set);
  EXPECT_EQ(vs.delay_loop, 6500ms);
  EXPECT_EQ(vs.connect_timeout, 2s);
  EXPECT_EQ(vs.delay_before_retry, 0s);
  EXPECT_EQ(vs.warmup, 4s);
  EXPECT_EQ(vs.retry, 3U);
  EXPECT_EQ(vs.scheduler, Scheduler::kSh);
  EXPECT_TRUE(vs.sched_flag_1);  // sh-fallback
  EXPECT_TRUE(vs.sched_flag_2);  // sh-port
  EXPECT_TRUE(vs.sched_flag_3);
  EXPECT_FALSE(vs.one_packet);
  EXPECT_EQ(vs.forwarding.method, ForwardingMethod::kDirectRouting);
  EXPECT_EQ(vs.persistence_timeout, 600U);
  EXPECT_EQ(vs.persistence_granularity, 24);
  EXPECT_EQ(vs.persistence_engine, "sip");
  EXPECT_EQ(vs.protocol, LvsProtocol::kTcp);
  EXPECT_TRUE(vs.ha_suspend);
  EXPECT_TRUE(vs.smtp_alert);
  EXPECT_EQ(vs.virtualhost, "www.example.com");
  EXPECT_EQ(vs.snmp_name, "web");
  EXPECT_TRUE(vs.alpha);
  EXPECT_TRUE(vs.omega);
  EXPECT_TRUE(vs.inhibit_on_failure);
  EXPECT_EQ(vs.quorum, 3U);
  EXPECT_EQ(vs.hysteresis, 1U);
  EXPECT_EQ(vs.weight, 2U);
  ASSERT_TRUE(vs.quorum_up);
  EXPECT_EQ(vs.quorum_up->command.argv, (Strings{"/usr/local/bin/quorum", "up"}));
  ASSERT_TRUE(vs.quorum_up->run_as);
  EXPECT_EQ(vs.quorum_up->run_as->user, "nobody");
  EXPECT_EQ(vs.quorum_up->run_as->group, "nogroup");
  ASSERT_TRUE(vs.quorum_down);
  EXPECT_EQ(vs.quorum_down->command.argv, (Strings{"/usr/local/bin/quorum_down"}));
  EXPECT_FALSE(vs.quorum_down->run_as);
  ASSERT_TRUE(vs.sorry_server);
  EXPECT_EQ(vs.sorry_server->address, ip("10.0.9.9"));
  EXPECT_EQ(vs.sorry_server->port, 443);
  EXPECT_TRUE(vs.sorry_server->inhibit);
  EXPECT_EQ(vs.sorry_server->forwarding.method, ForwardingMethod::kTunnel);
  EXPECT_EQ(vs.sorry_server->forwarding.tunnel_type, TunnelType::kGue);
  EXPECT_EQ(vs.sorry_server->forwarding.tunnel_port, 6080);
  EXPECT_EQ(vs.sorry_server->forwarding.tunnel_checksum, TunnelChecksum::kCsum);
  ASSERT_EQ(vs.real_servers.size(), 2U);
  // Real servers inherit what the virtual server sets.
  for (const auto& rs : vs.real_servers) {
    EXPECT_EQ(rs.weight, 2U);
    EXPECT_EQ(rs.forwarding.method, ForwardingMethod::kDirectRouting);
    EXPECT_TRUE(rs.alpha);
    EXPECT_TRUE(rs.inhibit_on_failure);
    EXPECT_EQ(rs.delay_loop, 6500ms);
    EXPECT_EQ(rs.connect_timeout, 2s);
    EXPECT_EQ(rs.retry, 3U);
    EXPECT_EQ(rs.warmup, 4s);
    EXPECT_EQ(rs.delay_before_retry, 0s);
    EXPECT_EQ(rs.virtualhost, "www.example.com");
  }
}

TEST(VirtualServer, BarePersistenceTimeoutIsSixMinutes) {
  std::unique_ptr<Parsed> p;
  const auto& vs = parse_ok(p, vs_with("  persistence_timeout")).lvs.virtual_servers.at(0);
  EXPECT_EQ(vs.persistence_timeout, 360U);
}

TEST(VirtualServer, GranularityWithoutTimeoutMakesTheServicePersistent) {
  auto p = parse(vs_with("  persistence_granularity 255.255.0.0"));
  EXPECT_TRUE(p->ok()) << p->diagnostics.format(p->files);
  const auto& vs = p->config.lvs.virtual_servers.at(0);
  EXPECT_EQ(vs.persistence_timeout, 360U);
  EXPECT_EQ(vs.persistence_granularity, 16);
  EXPECT_EQ(warnings(*p), (Strings{"1:1: virtual_server 10.0.0.1 80: persistence_granularity "
                                   "without persistence_timeout: persistent for 360 s"}));
}

TEST(VirtualServer, PortMayBeOmittedForPersistentServices) {
  std::unique_ptr<Parsed> p;
  const auto& vs = parse_ok(p, R"(virtual_server 10.0.0.1 {
  protocol UDP
  lvs_sched wlc
  lvs_method NAT
  persistence_timeout 60
  real_server 10.0.1.1 53 {
  }
}
)")
                       .lvs.virtual_servers.at(0);
  EXPECT_EQ(vs.port, 0);
  EXPECT_EQ(vs.protocol, LvsProtocol::kUdp);
  EXPECT_EQ(vs.real_servers.at(0).port, 53);
}

TEST(VirtualServer, EverySchedulerAndFlagSpelling) {
  const std::pair<const char*, Scheduler> kSchedulers[] = {
      {"rr", Scheduler::kRr},   {"wrr", Scheduler::kWrr},   {"lc", Scheduler::kLc},
      {"wlc", Scheduler::kWlc}, {"lblc", Scheduler::kLblc}, {"lblcr", Scheduler::kLblcr},
      {"dh", Scheduler::kDh},   {"sh", Scheduler::kSh},     {"sed", Scheduler::kSed},
      {"nq", Scheduler::kNq},   {"mh", Scheduler::kMh},     {"fo", Scheduler::kFo},
      {"ovf", Scheduler::kOvf}, {"twos", Scheduler::kTwos},
  };
  for (const auto& [name, scheduler] : kSchedulers) {
    std::unique_ptr<Parsed> p;
    const auto& vs = parse_ok(p, "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lvs_sched " +
                                     std::string(name) +
                                     "\n  lvs_method NAT\n  real_server 10.0.1.1 80 {\n  }\n}\n")
                         .lvs.virtual_servers.at(0);
    EXPECT_EQ(vs.scheduler, scheduler) << name;
    EXPECT_EQ(to_string(vs.scheduler), name);
  }
  std::unique_ptr<Parsed> p;
  const auto& mh = parse_ok(p, R"(virtual_server 10.0.0.1 53 {
  protocol UDP
  lvs_sched mh
  mh-port
  mh-fallback
  ops
  lvs_method NAT
  real_server 10.0.1.1 53 {
  }
}
)")
                       .lvs.virtual_servers.at(0);
  EXPECT_TRUE(mh.sched_flag_1);
  EXPECT_TRUE(mh.sched_flag_2);
  EXPECT_FALSE(mh.sched_flag_3);
  EXPECT_TRUE(mh.one_packet);
}

TEST(VirtualServer, ForwardingMethods) {
  struct Case {
    const char* line;
    Forwarding expected;
  };
  const Case kCases[] = {
      {"lvs_method NAT", {}},
      {"lvs_method DR", {.method = ForwardingMethod::kDirectRouting}},
      {"lvs_method FULLNAT", {.method = ForwardingMethod::kFullNat}},
      {"lvs_method TUN", {.method = ForwardingMethod::kTunnel}},
      {"lvs_method TUN type ipip", {.method = ForwardingMethod::kTunnel}},
      {"lvs_method TUN type gre",
       {.method = ForwardingMethod::kTunnel, .tunnel_type = TunnelType::kGre}},
      {"lvs_method TUN type gre csum",
       {.method = ForwardingMethod::kTunnel,
        .tunnel_type = TunnelType::kGre,
        .tunnel_checksum = TunnelChecksum::kCsum}},
      {"lvs_method TUN type gue port 5555",
       {.method = ForwardingMethod::kTunnel, .tunnel_type = TunnelType::kGue, .tunnel_port = 5555}},
      {"lvs_method TUN type gue port 5555 remcsum",
       {.method = ForwardingMethod::kTunnel,
        .tunnel_type = TunnelType::kGue,
        .tunnel_checksum = TunnelChecksum::kRemCsum,
        .tunnel_port = 5555}},
      {"lvs_method TUN type gue port 5555 nocsum",
       {.method = ForwardingMethod::kTunnel,
        .tunnel_type = TunnelType::kGue,
        .tunnel_checksum = TunnelChecksum::kNoCsum,
        .tunnel_port = 5555}},
  };
  for (const auto& c : kCases) {
    std::unique_ptr<Parsed> p;
    const auto& vs =
        parse_ok(p, "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lvs_sched rr\n  " +
                        std::string(c.line) + "\n  real_server 10.0.1.1 80 {\n  }\n}\n")
            .lvs.virtual_servers.at(0);
    EXPECT_EQ(vs.forwarding, c.expected) << c.line;
    EXPECT_EQ(vs.real_servers.at(0).forwarding, c.expected) << c.line;
  }
}

TEST(VirtualServer, FwmarkServiceTakesTheRealServersFamily) {
  std::unique_ptr<Parsed> p;
  const auto& lvs = parse_ok(p, R"(virtual_server fwmark 7 {
  lvs_sched wrr
  lvs_method NAT
  real_server 2001:db8::10 80 {
  }
}
virtual_server fwmark 8 {
  lvs_sched wrr
  lvs_method DR
  real_server 10.0.1.1 {
  }
}
)")
                        .lvs;
  ASSERT_EQ(lvs.virtual_servers.size(), 2U);
  EXPECT_EQ(lvs.virtual_servers[0].kind, VirtualServerKind::kFwmark);
  EXPECT_EQ(lvs.virtual_servers[0].fwmark, 7U);
  EXPECT_EQ(lvs.virtual_servers[0].family, AddressFamily::kIpv6);
  EXPECT_EQ(lvs.virtual_servers[0].real_servers[0].port, 80);
  EXPECT_EQ(lvs.virtual_servers[1].family, AddressFamily::kIpv4);
  EXPECT_EQ(lvs.virtual_servers[1].real_servers[0].port, 0);
}

TEST(VirtualServer, TunnelledRealServersMayBeOfAnotherFamily) {
  std::unique_ptr<Parsed> p;
  const auto& vs = parse_ok(p, vs_with(R"(  real_server 2001:db8::5 80 {
    lvs_method TUN
  })"))
                       .lvs.virtual_servers.at(0);
  EXPECT_EQ(vs.real_servers.at(0).forwarding.method, ForwardingMethod::kTunnel);
  EXPECT_EQ(vs.real_servers.at(1).forwarding.method, ForwardingMethod::kNat);
}

TEST(RealServer, ReadsEveryKeywordAndOverridesTheVirtualServer) {
  std::unique_ptr<Parsed> p;
  const auto& vs = parse_ok(p, R"(virtual_server 10.0.0.1 80 {
  protocol TCP
  lvs_sched wlc
  lvs_method DR
  weight 5
  alpha
  inhibit_on_failure
  real_server 10.0.1.1 8080 {
    weight 0
    lvs_method NAT
    uthreshold 1000
    lthreshold 10
    notify_up "/bin/notify up" root
    notify_down /bin/notify_down
    smtp_alert off
    virtualhost rs.example.com
    snmp_name rs1
    alpha off
    inhibit_on_failure no
    connect_timeout 1.5
    delay_loop 10
    delay_before_retry 2
    warmup 0
    retry 4
  }
  real_server 10.0.1.2 {
  }
}
)")
                       .lvs.virtual_servers.at(0);
  ASSERT_EQ(vs.real_servers.size(), 2U);
  const auto& rs = vs.real_servers[0];
  EXPECT_EQ(rs.port, 8080);
  EXPECT_EQ(rs.weight, 0U);
  EXPECT_EQ(rs.forwarding.method, ForwardingMethod::kNat);
  EXPECT_EQ(rs.upper_threshold, 1000U);
  EXPECT_EQ(rs.lower_threshold, 10U);
  ASSERT_TRUE(rs.notify_up);
  EXPECT_EQ(rs.notify_up->command.argv, (Strings{"/bin/notify", "up"}));
  EXPECT_EQ(rs.notify_up->run_as->user, "root");
  ASSERT_TRUE(rs.notify_down);
  EXPECT_EQ(rs.notify_down->command.argv, (Strings{"/bin/notify_down"}));
  EXPECT_FALSE(rs.smtp_alert);
  EXPECT_EQ(rs.virtualhost, "rs.example.com");
  EXPECT_EQ(rs.snmp_name, "rs1");
  EXPECT_FALSE(rs.alpha);
  EXPECT_FALSE(rs.inhibit_on_failure);
  EXPECT_EQ(rs.connect_timeout, 1500ms);
  EXPECT_EQ(rs.delay_loop, 10s);
  EXPECT_EQ(rs.delay_before_retry, 2s);
  EXPECT_EQ(rs.warmup, 0s);
  EXPECT_EQ(rs.retry, 4U);
  // The second one inherits, and as a DR server takes the virtual server's port.
  const auto& inherited = vs.real_servers[1];
  EXPECT_EQ(inherited.port, 80);
  EXPECT_EQ(inherited.weight, 5U);
  EXPECT_EQ(inherited.forwarding.method, ForwardingMethod::kDirectRouting);
  EXPECT_TRUE(inherited.alpha);
  EXPECT_TRUE(inherited.inhibit_on_failure);
}

TEST(VirtualServerGroup, ReadsAddressesRangesPrefixesAndFwmarks) {
  std::unique_ptr<Parsed> p;
  const auto& lvs = parse_ok(p, R"(virtual_server_group WEB {
  10.0.0.1 80
  10.0.0.2-10 80
  10.0.1.250-10.0.2.5 80
  10.0.3.9/29 80
  fwmark 7
  fwmark 8 inet
}
virtual_server_group WEB6 {
  2001:db8::1-ff 443
  2001:db8::a:0/112 443
}
virtual_server group WEB {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  real_server 10.0.1.1 80 {
  }
}
virtual_server group WEB6 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  real_server 2001:db8::100 443 {
  }
}
)")
                        .lvs;
  ASSERT_EQ(lvs.groups.size(), 2U);
  const auto& web = lvs.groups[0];
  EXPECT_EQ(web.name, "WEB");
  ASSERT_EQ(web.ranges.size(), 4U);
  EXPECT_EQ(web.ranges[0].first, ip("10.0.0.1"));
  EXPECT_EQ(web.ranges[0].last, ip("10.0.0.1"));
  EXPECT_EQ(web.ranges[0].port, 80);
  EXPECT_EQ(web.ranges[1].first, ip("10.0.0.2"));
  EXPECT_EQ(web.ranges[1].last, ip("10.0.0.10"));
  EXPECT_EQ(web.ranges[2].first, ip("10.0.1.250"));
  EXPECT_EQ(web.ranges[2].last, ip("10.0.2.5"));
  EXPECT_EQ(web.ranges[3].first, ip("10.0.3.8"));
  EXPECT_EQ(web.ranges[3].last, ip("10.0.3.15"));
  ASSERT_EQ(web.fwmarks.size(), 2U);
  EXPECT_EQ(web.fwmarks[0].mark, 7U);
  EXPECT_FALSE(web.fwmarks[0].family);
  EXPECT_EQ(web.fwmarks[1].family, AddressFamily::kIpv4);
  const auto& web6 = lvs.groups[1];
  ASSERT_EQ(web6.ranges.size(), 2U);
  EXPECT_EQ(web6.ranges[0].first, ip("2001:db8::1"));
  EXPECT_EQ(web6.ranges[0].last, ip("2001:db8::ff"));
  EXPECT_EQ(web6.ranges[1].first, ip("2001:db8::a:0"));
  EXPECT_EQ(web6.ranges[1].last, ip("2001:db8::a:ffff"));
  ASSERT_EQ(lvs.virtual_servers.size(), 2U);
  EXPECT_EQ(lvs.virtual_servers[0].kind, VirtualServerKind::kGroup);
  EXPECT_EQ(lvs.virtual_servers[0].group, "WEB");
  EXPECT_EQ(lvs.virtual_servers[1].family, AddressFamily::kIpv6);
}

TEST(Ssl, ReadsTheBlockAndACaAloneDoesNotTurnOnVerification) {
  // keepalived 2.2.7 loads the CA but never verifies the server: neither does vigil by default.
  std::unique_ptr<Parsed> p;
  const auto& ssl = parse_ok(p, R"(SSL {
  password secret
  ca /etc/vigil/ca.pem
  certificate /etc/vigil/client.pem
  key /etc/vigil/client.key
}
)")
                        .lvs.ssl;
  ASSERT_TRUE(ssl);
  EXPECT_EQ(ssl->password, "secret");
  EXPECT_EQ(ssl->ca, "/etc/vigil/ca.pem");
  EXPECT_EQ(ssl->certificate, "/etc/vigil/client.pem");
  EXPECT_EQ(ssl->key, "/etc/vigil/client.key");
  EXPECT_FALSE(ssl->verify_server());
  EXPECT_FALSE(ssl->session_resumption);
  EXPECT_TRUE(ssl->alpn.empty());
  EXPECT_TRUE(warnings(*p).empty());
}

TEST(Ssl, VigilExtensionsAreOptIn) {
  std::unique_ptr<Parsed> p;
  const auto& ssl = parse_ok(p, R"(SSL {
  verify_server
  session_resumption on
  alpn h2 http/1.1
}
)")
                        .lvs.ssl;
  ASSERT_TRUE(ssl);
  EXPECT_TRUE(ssl->verify_server());  // no ca: the system store
  EXPECT_TRUE(ssl->ca.empty());
  EXPECT_TRUE(ssl->session_resumption);
  EXPECT_EQ(ssl->alpn, (Strings{"h2", "http/1.1"}));

  std::unique_ptr<Parsed> q;
  const auto& off = parse_ok(q, "SSL {\n  ca /ca.pem\n  verify_server off\n}\n").lvs.ssl;
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->verify_server());
}

TEST(Ssl, ExtensionsTakePartInEquality) {
  // A reload that turns verification on must be seen as a change of the TLS context.
  SslConfig a;
  SslConfig b = a;
  EXPECT_EQ(a, b);
  b.verify_server_certificate = true;
  EXPECT_NE(a, b);
  b = a;
  b.session_resumption = true;
  EXPECT_NE(a, b);
  b = a;
  b.alpn = {"h2"};
  EXPECT_NE(a, b);
}

TEST(Ssl, BadExtensionArguments) {
  auto p = parse(R"(SSL {
  verify_server maybe
  alpn
  alpn h2 ""
  alpn h2 h2
}
)");
  EXPECT_EQ(errors(*p),
            (Strings{"2:17: 'verify_server': 'maybe' is not one of on|off|true|false|yes|no",
                     "3:3: 'alpn' takes at least 1 arguments, got 0",
                     "4:11: 'alpn': a protocol name is 1 to 255 bytes long"}));
  EXPECT_EQ(warnings(*p), (Strings{"5:11: 'alpn': 'h2' is listed twice"}));
}

// --- Errors found while reading (at the offending token). ------------------------------------

struct ErrorCase {
  const char* what;
  const char* body;  // inside the virtual server of vs_with(), from line 5
  Strings expected;
};

class VirtualServerErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(VirtualServerErrors, ReportsAtTheToken) {
  auto p = parse(vs_with(GetParam().body));
  EXPECT_EQ(errors(*p), GetParam().expected) << GetParam().what;
}

INSTANTIATE_TEST_SUITE_P(
    Table, VirtualServerErrors,
    ::testing::Values(
        ErrorCase{"unknown scheduler",
                  "  lvs_sched rrr",
                  {"5:13: 'lvs_sched': unknown scheduler 'rrr'; did you mean 'rr'? (expected one "
                   "of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos)"}},
        ErrorCase{"schedulers are lower case",
                  "  lb_algo WRR",
                  {"5:11: 'lb_algo': unknown scheduler 'WRR'; did you mean 'wrr'? (expected one "
                   "of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos)"}},
        ErrorCase{"sh-port needs lvs_sched sh first",
                  "  sh-port",
                  {"5:3: 'sh-port' only applies to the sh scheduler ('lvs_sched sh' must come "
                   "before it)"}},
        ErrorCase{"mh-fallback with another scheduler",
                  "  mh-fallback",
                  {"5:3: 'mh-fallback' only applies to the mh scheduler ('lvs_sched mh' must "
                   "come before it)"}},
        ErrorCase{"hashed",
                  "  hashed",
                  {"5:3: 'hashed' has no effect (the kernel manages IP_VS_SVC_F_HASHED) and "
                   "keepalived rejects it"}},
        ErrorCase{"unknown forwarding method",
                  "  lvs_method DRR",
                  {"5:14: 'lvs_method': unknown forwarding method 'DRR'; did you mean 'DR'? "
                   "(expected one of NAT, DR, TUN, FULLNAT)"}},
        ErrorCase{"methods are upper case",
                  "  lb_kind dr",
                  {"5:11: 'lb_kind': unknown forwarding method 'dr'; did you mean 'DR'? "
                   "(expected one of NAT, DR, TUN, FULLNAT)"}},
        ErrorCase{"gue without port",
                  "  lvs_method TUN type gue",
                  {"5:23: 'lvs_method': a gue tunnel needs 'port N'"}},
        ErrorCase{"ipip has no checksum",
                  "  lvs_method TUN type ipip csum",
                  {"5:28: 'lvs_method': ipip tunnels have no checksum option"}},
        ErrorCase{"gre has no remcsum",
                  "  lvs_method TUN type gre remcsum",
                  {"5:27: 'lvs_method': gre tunnels do not support remote checksum"}},
        ErrorCase{"unknown tunnel type",
                  "  lvs_method TUN type vxlan",
                  {"5:23: 'lvs_method': unknown tunnel type 'vxlan' (expected one of ipip, gue, "
                   "gre)"}},
        ErrorCase{"DR takes no options",
                  "  lvs_method DR type gre",
                  {"5:17: 'lvs_method' takes 1 argument, got 3"}},
        ErrorCase{"unknown protocol",
                  "  protocol TPC",
                  {"5:12: 'protocol': unknown protocol 'TPC'; did you mean 'TCP'? (expected one "
                   "of TCP, UDP, SCTP)"}},
        ErrorCase{"persistence_timeout 0",
                  "  persistence_timeout 0",
                  {"5:23: 'persistence_timeout': 0 is out of range [1, 2678400]"}},
        ErrorCase{"non-contiguous netmask",
                  "  persistence_granularity 255.255.0.255",
                  {"5:27: 'persistence_granularity': netmask 255.255.0.255 is not contiguous"}},
        ErrorCase{"IPv6 granularity on an IPv4 service",
                  "  persistence_granularity 64",
                  {"5:27: 'persistence_granularity': '64' is not an IPv4 netmask"}},
        ErrorCase{"quorum 0", "  quorum 0", {"5:10: 'quorum': 0 is out of range [1, 4294967295]"}},
        ErrorCase{"weight too large",
                  "  weight 2147483648",
                  {"5:10: 'weight': 2147483648 is out of range [0, 2147483647]"}},
        ErrorCase{"delay_loop 0",
                  "  delay_loop 0",
                  {"5:14: 'delay_loop': 0 s is out of range [0.000001, 1000000000]"}},
        ErrorCase{"connect_timeout too long",
                  "  connect_timeout 4295",
                  {"5:19: 'connect_timeout': 4295 s is out of range [0.000001, 4294.967295]"}},
        ErrorCase{"retry 0 on a virtual server",
                  "  retry 0",
                  {"5:9: 'retry': 0 is out of range [1, 4294967295]"}},
        ErrorCase{"ip_family conflicts with the address",
                  "  ip_family inet6",
                  {"5:13: virtual_server 10.0.0.1 80: ip_family inet6 conflicts with the "
                   "virtual server's address"}},
        ErrorCase{"sorry_server_inhibit before sorry_server",
                  "  sorry_server_inhibit",
                  {"5:3: 'sorry_server_inhibit' must follow 'sorry_server'"}},
        ErrorCase{"sorry_server_lvs_method before sorry_server",
                  "  sorry_server_lvs_method DR",
                  {"5:3: 'sorry_server_lvs_method' must follow 'sorry_server'"}},
        ErrorCase{"bad sorry server address",
                  "  sorry_server 10.0.0.300 80",
                  {"5:16: 'sorry_server': '10.0.0.300' is not an IP address"}},
        ErrorCase{"unknown keyword",
                  "  quorom 2",
                  {"5:3: unknown keyword 'quorom'; did you mean 'quorum'?"}},
        ErrorCase{"real server weight negative",
                  "  real_server 10.0.1.2 80 {\n    weight -1\n  }",
                  {"6:12: 'weight': -1 is out of range [0, 2147483647]"}},
        ErrorCase{"real server bad port",
                  "  real_server 10.0.1.2 65536 {\n  }",
                  {"5:24: 'real_server': 65536 is out of range [0, 65535]"}},
        ErrorCase{"real server lb_kind is not a real_server keyword",
                  "  real_server 10.0.1.2 80 {\n    lb_kind DR\n  }",
                  {"6:5: unknown keyword 'lb_kind'"}},
        ErrorCase{"real server uthreshold negative",
                  "  real_server 10.0.1.2 80 {\n    uthreshold -5\n  }",
                  {"6:16: 'uthreshold': -5 is out of range [0, 4294967295]"}},
        ErrorCase{"unknown checker",
                  "  real_server 10.0.1.2 80 {\n    TCP_CHEK {\n    }\n  }",
                  {"6:5: unknown keyword 'TCP_CHEK'; did you mean 'TCP_CHECK'?"}}));

// --- Errors found after reading (at the object). ----------------------------------------------

struct FileErrorCase {
  const char* what;
  const char* text;  // a whole file
  Strings expected;
};

class LvsFileErrors : public ::testing::TestWithParam<FileErrorCase> {};

TEST_P(LvsFileErrors, ReportsEveryProblem) {
  auto p = parse(GetParam().text);
  EXPECT_EQ(errors(*p), GetParam().expected) << GetParam().what;
}

INSTANTIATE_TEST_SUITE_P(
    Table, LvsFileErrors,
    ::testing::Values(
        FileErrorCase{"keepalived -t requires protocol, lvs_sched and lvs_method",
                      "virtual_server 10.0.0.1 80 {\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "}\n",
                      {"1:1: virtual_server 10.0.0.1 80: no 'protocol' set (keepalived -t rejects "
                       "this; the kernel would default to UDP)",
                       "1:1: virtual_server 10.0.0.1 80: no 'lvs_sched' set (keepalived -t "
                       "rejects this; the default would be wlc)",
                       "1:1: virtual_server 10.0.0.1 80: no 'lvs_method' set (keepalived -t "
                       "rejects this; the default would be NAT)"}},
        FileErrorCase{"an invalid value is one error, not also a missing one",
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol IP\n"
                      "  lvs_sched roundrobin\n"
                      "  lvs_method TUN type gue\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "    lvs_method NATT\n"
                      "  }\n"
                      "}\n",
                      {"2:12: 'protocol': unknown protocol 'IP'; did you mean 'TCP'? (expected one "
                       "of TCP, UDP, "
                       "SCTP)",
                       "3:13: 'lvs_sched': unknown scheduler 'roundrobin' (expected one of rr, "
                       "wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos)",
                       "4:23: 'lvs_method': a gue tunnel needs 'port N'",
                       "6:16: 'lvs_method': unknown forwarding method 'NATT'; did you mean 'NAT'? "
                       "(expected one of NAT, DR, TUN, FULLNAT)"}},
        FileErrorCase{"no real servers",
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "}\n",
                      {"1:1: virtual_server 10.0.0.1 80 has no real servers"}},
        FileErrorCase{"missing port without persistence",
                      "virtual_server 10.0.0.1 {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "}\n",
                      {"1:1: virtual_server 10.0.0.1: a port is required unless "
                       "persistence_timeout is set"}},
        FileErrorCase{"ops needs UDP",
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  ops\n"
                      "  lvs_method NAT\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "}\n",
                      {"1:1: virtual_server 10.0.0.1 80: 'ops' (one packet scheduling) requires "
                       "protocol UDP"}},
        FileErrorCase{"protocol with a fwmark, ha_suspend with a fwmark",
                      "virtual_server fwmark 3 {\n"
                      "  protocol TCP\n"
                      "  ha_suspend\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "}\n",
                      {"1:1: virtual_server fwmark 3: ha_suspend cannot be used with fwmarks",
                       "1:1: virtual_server fwmark 3: 'protocol' has no meaning for a fwmark "
                       "service (keepalived -t rejects it)"}},
        FileErrorCase{"real server of another family without TUN, sorry server too",
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "  sorry_server 2001:db8::9 80\n"
                      "  real_server 2001:db8::1 80 {\n"
                      "  }\n"
                      "}\n",
                      {"6:3: virtual_server 10.0.0.1 80: real_server 2001:db8::1 80 is not of the "
                       "virtual server's address family (only TUN servers may differ)",
                       "5:3: virtual_server 10.0.0.1 80: sorry_server 2001:db8::9 is not of the "
                       "virtual server's address family (only TUN servers may differ)"}},
        FileErrorCase{"DR cannot change the port",
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method DR\n"
                      "  real_server 10.0.1.1 8080 {\n"
                      "  }\n"
                      "  real_server 10.0.1.2 8080 {\n"
                      "    lvs_method NAT\n"
                      "  }\n"
                      "}\n",
                      {"5:3: virtual_server 10.0.0.1 80: real_server 10.0.1.1 8080 uses DR, which "
                       "cannot change the port: its port 8080 must be the virtual server's port "
                       "80"}},
        FileErrorCase{"DR real server of a fwmark service has no port",
                      "virtual_server fwmark 1 {\n"
                      "  lvs_sched rr\n"
                      "  lvs_method TUN\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "}\n",
                      {"4:3: virtual_server fwmark 1: real_server 10.0.1.1 80 uses TUN with a "
                       "fwmark service: it must not have a port"}},
        FileErrorCase{"the same real server twice",
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "  real_server 10.0.1.2 80 {\n"
                      "  }\n"
                      "  real_server 10.0.1.1 {\n"
                      "  }\n"
                      "}\n",
                      {"9:3: virtual_server 10.0.0.1 80: real_server 10.0.1.1 80 is defined twice "
                       "(first at line 5)"}},
        FileErrorCase{"the same virtual server twice",
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "}\n"
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol UDP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "}\n"
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "}\n",
                      {"15:1: virtual_server 10.0.0.1 80 is defined twice (first at line 1)"}},
        FileErrorCase{"quorum above the total weight",
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "  quorum 5\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "    weight 2\n"
                      "  }\n"
                      "  real_server 10.0.1.2 80 {\n"
                      "    weight 2\n"
                      "  }\n"
                      "}\n",
                      {"1:1: virtual_server 10.0.0.1 80: quorum 5 exceeds the total weight 4 of "
                       "its real servers"}},
        FileErrorCase{"hysteresis not below quorum",
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "  hysteresis 1\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "}\n",
                      {"1:1: virtual_server 10.0.0.1 80: hysteresis 1 must be below quorum 1"}},
        FileErrorCase{"sorry server that is a real server with another inhibit",
                      "virtual_server 10.0.0.1 80 {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "  sorry_server 10.0.1.1 80\n"
                      "  sorry_server_inhibit\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "}\n",
                      {"5:3: virtual_server 10.0.0.1 80: the sorry_server is also a real server, "
                       "but its inhibit setting differs (set sorry_server_inhibit to match "
                       "inhibit_on_failure)"}},
        FileErrorCase{"unknown group",
                      "virtual_server group NOPE {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method NAT\n"
                      "  real_server 10.0.1.1 80 {\n"
                      "  }\n"
                      "}\n",
                      {"1:22: virtual_server group NOPE: no virtual_server_group named 'NOPE'"}},
        FileErrorCase{"group errors",
                      "virtual_server_group A {\n"
                      "}\n"
                      "virtual_server_group B {\n"
                      "  10.0.0.10-5 80\n"
                      "  10.0.0.1 80 81\n"
                      "  10.0.0.300 80\n"
                      "  fwmark 0\n"
                      "  fwmark 4 inet4\n"
                      "  10.0.0.1-10.0.0.0 80\n"
                      "  2001:db8::1-10000 80\n"
                      "}\n"
                      "virtual_server_group C {\n"
                      "  10.0.0.1 80\n"
                      "  2001:db8::1 80\n"
                      "  fwmark 1\n"
                      "}\n"
                      "virtual_server_group C {\n"
                      "  10.0.0.1 80\n"
                      "}\n",
                      {"4:3: virtual_server_group B: '10.0.0.10-5' is not a range: its end is not "
                       "above its start",
                       "5:15: virtual_server_group B: one 'IP|RANGE [PORT]' per line, unexpected "
                       "'81'",
                       "6:3: virtual_server_group B: '10.0.0.300' is not an IP address, range or "
                       "prefix",
                       "7:10: 'fwmark': 0 is out of range [1, 4294967295]",
                       "8:12: 'fwmark': unknown address family 'inet4'; did you mean 'inet'? "
                       "(expected one of inet, inet6)",
                       "9:3: virtual_server_group B: '10.0.0.1-10.0.0.0' is not a range: its end "
                       "is not above its start",
                       "10:3: virtual_server_group B: '2001:db8::1-10000' is not an IP address "
                       "range",
                       "17:1: virtual_server_group C is defined twice (first at line 12)",
                       "1:1: virtual_server_group A has no entries",
                       "3:1: virtual_server_group B has no entries",
                       "12:1: virtual_server_group C has IPv4 and IPv6 addresses and a fwmark "
                       "without a family (write 'fwmark N inet|inet6')"}},
        FileErrorCase{"group of another family than its real servers",
                      "virtual_server_group G {\n"
                      "  2001:db8::1 80\n"
                      "}\n"
                      "virtual_server group G {\n"
                      "  protocol TCP\n"
                      "  lvs_sched rr\n"
                      "  lvs_method DR\n"
                      "  real_server 10.0.1.1 81 {\n"
                      "  }\n"
                      "}\n",
                      {"8:3: virtual_server group G: real_server 10.0.1.1 81 is not of the virtual "
                       "server's address family (only TUN servers may differ)",
                       "8:3: virtual_server group G: real_server 10.0.1.1 81 uses DR, which cannot "
                       "change the port: its port 81 differs from the group's port 80"}},
        FileErrorCase{"bad virtual_server headers",
                      "virtual_server fwmark 0 {\n"
                      "}\n"
                      "virtual_server 10.0.0.1 80 81 {\n"
                      "}\n"
                      "virtual_server {\n"
                      "}\n"
                      "virtual_server group {\n"
                      "}\n",
                      {"1:23: 'virtual_server': 0 is out of range [1, 4294967295]",
                       "3:28: 'virtual_server' takes 1 to 2 arguments, got 3",
                       "5:1: 'virtual_server' needs IP [PORT], 'fwmark N' or 'group NAME'",
                       "7:1: 'virtual_server' takes 2 arguments, got 1"}}));

}  // namespace
}  // namespace vigil::config

namespace vigil::config {
namespace {

using Json = nlohmann::ordered_json;

Json dump(const Config& config) {
  return Json::parse(to_json_text(config));
}

TEST(LvsJson, VirtualServerWithEveryDefaultResolved) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, R"(virtual_server 10.0.0.1 80 {
  protocol TCP
  lvs_sched sh
  sh-port
  lvs_method DR
  delay_loop 0.5
  persistence_timeout
  quorum_up "/bin/up now" nobody
  sorry_server 10.0.9.9 80
  real_server 10.0.1.1 80 {
    weight 3
    TCP_CHECK {
      connect_timeout 2
    }
  }
}
)");
  auto expected = Json::parse(R"({
    "address": "10.0.0.1", "port": 80, "ip_family": "inet", "protocol": "TCP",
    "lvs_sched": "sh", "scheduler_flags": ["sh-port"], "ops": false,
    "lvs_method": {"method": "DR"},
    "persistence_timeout": 360, "persistence_granularity": null, "persistence_engine": null,
    "ha_suspend": false, "alpha": false, "omega": false, "inhibit_on_failure": false,
    "smtp_alert": false, "quorum": 1, "hysteresis": 0, "weight": 1,
    "virtualhost": "", "snmp_name": "",
    "quorum_up": {"argv": ["/bin/up", "now"], "user": "nobody", "group": ""},
    "quorum_down": null,
    "delay_loop": 0.5, "connect_timeout": 5, "delay_before_retry": null, "warmup": null,
    "retry": null,
    "sorry_server": {"address": "10.0.9.9", "port": 80, "lvs_method": {"method": "DR"},
                     "inhibit": false},
    "real_servers": [{
      "address": "10.0.1.1", "port": 80, "weight": 3, "lvs_method": {"method": "DR"},
      "uthreshold": 0, "lthreshold": 0, "inhibit_on_failure": false, "alpha": false,
      "smtp_alert": true, "virtualhost": "", "snmp_name": "",
      "notify_up": null, "notify_down": null,
      "checkers": [{
        "type": "TCP_CHECK", "connect_ip": "10.0.1.1", "connect_port": 80, "bindto": null,
        "bind_port": null, "bind_if": null, "fwmark": 0, "connect_timeout": 2,
        "retry": 1, "delay_before_retry": 1, "warmup": 0.5, "delay_loop": 0.5,
        "alpha": false, "log_all_failures": false, "rise": 1, "interval_jitter": 0
      }]
    }]
  })");
  auto j = dump(config);
  EXPECT_EQ(j["virtual_server"][0], expected) << j["virtual_server"][0].dump(2);
  EXPECT_EQ(j["virtual_server_group"], Json::array());
  EXPECT_EQ(j["SSL"], nullptr);
}

TEST(LvsJson, EveryCheckerType) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, R"(track_file tf {
  file /run/tf
}
virtual_server fwmark 9 {
  lvs_sched rr
  lvs_method TUN type gue port 6080 csum
  real_server 10.0.1.1 {
    HTTP_GET {
      url {
        path /
        digest 9b3a0c85a887a256d6939da88aabd8cd
        status_code 200 300-399
      }
    }
    SSL_GET {
      url {
        path /s
      }
    }
    SMTP_CHECK {
      host {
        connect_port 25
      }
    }
    DNS_CHECK {
      type MX
    }
    UDP_CHECK {
      payload 01 02
      require_reply 0x
    }
    PING_CHECK {
    }
    MISC_CHECK {
      misc_path "/bin/check 1"
      user nobody
    }
    FILE_CHECK {
      track_file tf
      weight 2 reverse
    }
  }
}
)");
  auto j = dump(config);
  const auto& vs = j["virtual_server"][0];
  EXPECT_EQ(vs["fwmark"], 9);
  EXPECT_EQ(vs["protocol"], nullptr);
  EXPECT_EQ(vs["lvs_method"],
            Json::parse(R"({"method": "TUN", "type": "gue", "port": 6080, "checksum": "csum"})"));
  const auto& checkers = vs["real_servers"][0]["checkers"];
  ASSERT_EQ(checkers.size(), 8U);
  EXPECT_EQ(checkers[0]["url"], Json::parse(R"([{"path": "/",
      "digest": "9b3a0c85a887a256d6939da88aabd8cd", "status_code": ["200", "300-399"],
      "virtualhost": "", "regex": null, "regex_no_match": false, "regex_options": [],
      "regex_stack": null, "regex_min_offset": null, "regex_max_offset": null}])"));
  EXPECT_EQ(checkers[0]["http_protocol"], "1.0");
  EXPECT_EQ(checkers[0]["delay_before_retry"], 3);
  EXPECT_FALSE(checkers[0].contains("enable_sni"));
  EXPECT_EQ(checkers[1]["type"], "SSL_GET");
  EXPECT_EQ(checkers[1]["enable_sni"], false);
  EXPECT_EQ(checkers[2]["helo_name"], "smtpchecker.keepalived.org");
  EXPECT_EQ(checkers[2]["host"][0]["connect_port"], 25);
  EXPECT_EQ(checkers[2]["host"][0]["connect_ip"], "10.0.1.1");
  EXPECT_EQ(checkers[3]["dns_type"], "MX");
  EXPECT_EQ(checkers[3]["name"], ".");
  EXPECT_EQ(checkers[3]["retry"], 3);
  EXPECT_EQ(checkers[4]["payload"], "0102");
  EXPECT_EQ(checkers[4]["reply"], "00");
  EXPECT_EQ(checkers[4]["reply_mask"], "f0");
  EXPECT_EQ(checkers[5]["type"], "PING_CHECK");
  EXPECT_EQ(checkers[6]["misc_path"], Json::parse(R"({"argv": ["/bin/check", "1"]})"));
  EXPECT_EQ(checkers[6]["misc_timeout"], 60);
  EXPECT_EQ(checkers[6]["retry"], 0);
  EXPECT_EQ(checkers[6]["user"], "nobody");
  EXPECT_FALSE(checkers[6].contains("connect_ip"));
  EXPECT_EQ(checkers[7], Json::parse(R"({"type": "FILE_CHECK", "track_file": "tf",
      "weight": 2, "reverse": true})"));
}

TEST(LvsJson, GroupsAndSsl) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, R"(SSL {
  password secret
  ca /ca.pem
}
virtual_server_group G {
  10.0.0.1-3 80
  fwmark 4 inet
}
virtual_server group G {
  protocol UDP
  lvs_sched wrr
  lvs_method NAT
  real_server 10.0.1.1 80 {
  }
}
)");
  auto j = dump(config);
  EXPECT_EQ(j["virtual_server_group"], Json::parse(R"([{"name": "G",
      "addresses": [{"first": "10.0.0.1", "last": "10.0.0.3", "port": 80}],
      "fwmarks": [{"fwmark": 4, "ip_family": "inet"}]}])"));
  EXPECT_EQ(j["virtual_server"][0]["group"], "G");
  EXPECT_EQ(j["virtual_server"][0]["protocol"], "UDP");
  // The password is never dumped.
  EXPECT_EQ(j["SSL"], Json::parse(R"json({"password": "(set)", "ca": "/ca.pem", "certificate": "",
      "key": "", "verify_server": false, "session_resumption": false, "alpn": []})json"));
}

}  // namespace
}  // namespace vigil::config

namespace vigil::config {
namespace {

// --- The differential corpus: vigil's own verdict on the LVS files. ----------------------------

TEST(LvsCorpus, VerdictMatchesTheFileName) {
  // Files named *-bad-* are rejected by keepalived -t (checked by integration/config_diff); the
  // others are accepted. This runs the same expectation in-process.
  auto corpus = std::filesystem::path(VIGIL_TEST_DATA_DIR) / "corpus";
  size_t good = 0;
  size_t bad = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("lvs-") || !name.ends_with(".conf")) continue;
    auto parsed = parse_file(entry.path().string());
    bool rejected = name.find("-bad-") != std::string::npos;
    ++(rejected ? bad : good);
    EXPECT_EQ(parsed->ok(), !rejected) << name << "\n" << parsed->diagnostics.format(parsed->files);
  }
  EXPECT_GE(good, 3U);
  EXPECT_GE(bad, 5U);
}

}  // namespace
}  // namespace vigil::config
