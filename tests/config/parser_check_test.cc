// Checker blocks inside real_server: keywords, per-type defaults, inheritance, validation.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace vigil::config {
namespace {

using testing::errors;
using testing::parse;
using testing::parse_ok;
using Strings = std::vector<std::string>;
using Bytes = std::vector<uint8_t>;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

// One virtual server with one real server holding `checkers` (which start on line 7).
std::string rs_with(const std::string& checkers, const std::string& vs_extra = "",
                    const std::string& rs_extra = "") {
  return "virtual_server 10.0.0.1 80 {\n"
         "  protocol TCP\n"
         "  lvs_sched rr\n"
         "  lvs_method NAT\n"
         "  quorum 1\n" +
         vs_extra + "  real_server 10.0.1.1 8080 {\n" + rs_extra + checkers +
         "\n"
         "  }\n"
         "}\n";
}

const RealServer& only_rs(const Config& config) {
  return config.lvs.virtual_servers.at(0).real_servers.at(0);
}

TEST(Checker, TcpCheckDefaultsComeFromTheRealServer) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with("    TCP_CHECK {\n    }")));
  ASSERT_EQ(rs.checkers.size(), 1U);
  const Checker& c = rs.checkers[0];
  EXPECT_EQ(c.type, CheckerType::kTcp);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(c.kind));
  EXPECT_EQ(c.connect_ip, ip("10.0.1.1"));
  EXPECT_EQ(c.connect_port, 8080);
  EXPECT_FALSE(c.bind_ip);
  EXPECT_EQ(c.bind_port, 0);
  EXPECT_EQ(c.fwmark, 0U);
  EXPECT_EQ(c.connect_timeout, 5s);
  EXPECT_EQ(c.retry, 1U);
  EXPECT_EQ(c.delay_before_retry, 1s);
  EXPECT_EQ(c.delay_loop, 60s);
  EXPECT_EQ(c.warmup, 60s);  // warmup defaults to delay_loop
  EXPECT_FALSE(c.alpha);
  EXPECT_FALSE(c.log_all_failures);
  EXPECT_EQ(c.loc.line, 7U);
}

// vigil extensions: rise, interval_jitter (every checker type but FILE_CHECK) and total_timeout
// (HTTP_GET / SSL_GET). Unset, they are keepalived's behaviour.
TEST(Checker, VigilExtensionsRiseJitterAndTotalTimeout) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with(R"(    HTTP_GET {
      url {
        path /
      }
      rise 3
      interval_jitter 20
      total_timeout 4.5
    }
    MISC_CHECK {
      misc_path /bin/true
      rise 2
    }
    TCP_CHECK {
    })")));
  ASSERT_EQ(rs.checkers.size(), 3U);
  EXPECT_EQ(rs.checkers[0].rise, 3U);
  EXPECT_EQ(rs.checkers[0].interval_jitter, 20U);
  EXPECT_EQ(rs.checkers[0].as<HttpCheck>()->total_timeout, 4500ms);
  EXPECT_EQ(rs.checkers[1].rise, 2U);
  EXPECT_EQ(rs.checkers[2].rise, 1U);
  EXPECT_EQ(rs.checkers[2].interval_jitter, 0U);
}

TEST(Checker, VigilExtensionsOutOfRange) {
  auto p = parse(rs_with(R"(    TCP_CHECK {
      rise 0
      interval_jitter 51
      total_timeout 1
    })"));
  EXPECT_EQ(errors(*p), (Strings{"8:12: 'rise': 0 is out of range [1, 100]",
                                 "9:23: 'interval_jitter': 51 is out of range [0, 50]",
                                 "10:7: unknown keyword 'total_timeout'"}));
}

TEST(Checker, ReadsEveryCommonKeyword) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with(R"(    TCP_CHECK {
      connect_ip 10.0.2.2
      connect_port 9090
      bindto 10.0.0.254
      bind_port 40000
      bind_if eth1
      fwmark 42
      connect_timeout 2.5
      retry 0
      delay_before_retry 0.25
      warmup 0
      delay_loop 3
      alpha
      log_all_failures on
    })")));
  const Checker& c = rs.checkers.at(0);
  EXPECT_EQ(c.connect_ip, ip("10.0.2.2"));
  EXPECT_EQ(c.connect_port, 9090);
  EXPECT_EQ(c.bind_ip, ip("10.0.0.254"));
  EXPECT_EQ(c.bind_port, 40000);
  EXPECT_EQ(c.bind_if, "eth1");
  EXPECT_EQ(c.fwmark, 42U);
  EXPECT_EQ(c.connect_timeout, 2500ms);
  EXPECT_EQ(c.retry, 0U);
  EXPECT_EQ(c.delay_before_retry, 250ms);
  EXPECT_EQ(c.warmup, 0s);
  EXPECT_EQ(c.delay_loop, 3s);
  EXPECT_TRUE(c.alpha);
  EXPECT_TRUE(c.log_all_failures);
}

TEST(Checker, SettingsFlowFromVirtualToRealServerToChecker) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(
      p, "global_defs {\n  checker_log_all_failures\n}\n" +
             rs_with(
                 "    TCP_CHECK {\n    }\n    HTTP_GET {\n      url {\n        path /\n      }\n"
                 "    }\n    DNS_CHECK {\n    }\n    MISC_CHECK {\n      misc_path /bin/true\n"
                 "    }\n",
                 "  delay_loop 10\n  connect_timeout 3\n  alpha\n", "    retry 2\n    warmup 1\n"));
  const auto& rs = only_rs(config);
  ASSERT_EQ(rs.checkers.size(), 4U);
  for (const auto& c : rs.checkers) {
    SCOPED_TRACE(std::string(to_string(c.type)));
    EXPECT_EQ(c.delay_loop, 10s);
    EXPECT_EQ(c.connect_timeout, 3s);
    EXPECT_TRUE(c.alpha);
    EXPECT_EQ(c.retry, 2U);
    EXPECT_EQ(c.warmup, 1s);
    EXPECT_TRUE(c.log_all_failures);
  }
  // delay_before_retry still has the per-type default.
  EXPECT_EQ(rs.checkers[0].delay_before_retry, 1s);
  EXPECT_EQ(rs.checkers[1].delay_before_retry, 3s);
  EXPECT_EQ(rs.checkers[2].delay_before_retry, 10s);  // DNS: delay_loop
  EXPECT_EQ(rs.checkers[3].delay_before_retry, 1s);
}

TEST(Checker, PerTypeDefaults) {
  struct Case {
    const char* block;
    uint32_t retry;
    Duration delay_before_retry;
  };
  const Case kCases[] = {
      {"TCP_CHECK {\n}", 1, 1s},
      {"HTTP_GET {\nurl {\npath /\n}\n}", 1, 3s},
      {"SSL_GET {\nurl {\npath /\n}\n}", 1, 3s},
      {"SMTP_CHECK {\n}", 1, 1s},
      {"DNS_CHECK {\n}", 3, 60s},
      {"UDP_CHECK {\n}", 1, 1s},
      {"PING_CHECK {\n}", 1, 1s},
      {"MISC_CHECK {\nmisc_path /bin/true\n}", 0, 1s},
  };
  for (const auto& c : kCases) {
    std::unique_ptr<Parsed> p;
    const auto& checker = only_rs(parse_ok(p, rs_with(c.block))).checkers.at(0);
    EXPECT_EQ(checker.retry, c.retry) << c.block;
    EXPECT_EQ(checker.delay_before_retry, c.delay_before_retry) << c.block;
  }
}

TEST(Checker, SeveralCheckersOnOneRealServer) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with(R"(    TCP_CHECK {
    }
    TCP_CHECK {
      connect_port 8443
    }
    PING_CHECK {
    })")));
  ASSERT_EQ(rs.checkers.size(), 3U);
  EXPECT_EQ(rs.checkers[0].connect_port, 8080);
  EXPECT_EQ(rs.checkers[1].connect_port, 8443);
  EXPECT_EQ(rs.checkers[2].type, CheckerType::kPing);
}

TEST(HttpGet, ReadsUrlsAndResolvesVirtualhosts) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with(R"(    HTTP_GET {
      http_protocol 1.1
      fast_recovery
      url {
        path /health
        digest 9B3A0C85A887A256D6939DA88AABD8CD
        status_code 200 301-302 400-499
        regex "ok.*"
        regex_no_match
        regex_options caseless dotall
        regex_stack 32768 65536
        regex_min_offset 1
        regex_max_offset 100
      }
      url {
        path /ready
        virtualhost ready.example.com
      }
    }
    SSL_GET {
      virtualhost tls.example.com
      enable_sni
      http_protocol 1.0c
      url {
        path /
      }
    })",
                                               "  virtualhost vs.example.com\n")));
  ASSERT_EQ(rs.checkers.size(), 2U);
  const auto* http = rs.checkers[0].as<HttpCheck>();
  ASSERT_NE(http, nullptr);
  EXPECT_EQ(rs.checkers[0].type, CheckerType::kHttp);
  EXPECT_EQ(http->protocol, HttpProtocol::k1_1);
  EXPECT_TRUE(http->fast_recovery);
  EXPECT_FALSE(http->enable_sni);
  EXPECT_EQ(http->virtualhost, "vs.example.com");  // from the virtual server, through the RS
  ASSERT_EQ(http->urls.size(), 2U);
  const HttpUrl& health = http->urls[0];
  EXPECT_EQ(health.path, "/health");
  ASSERT_TRUE(health.digest);
  EXPECT_EQ((*health.digest)[0], 0x9b);
  EXPECT_EQ((*health.digest)[15], 0xcd);
  EXPECT_EQ(health.status_codes, (std::vector<StatusRange>{{200, 200}, {301, 302}, {400, 499}}));
  EXPECT_EQ(health.regex, "ok.*");
  EXPECT_TRUE(health.regex_no_match);
  EXPECT_EQ(health.regex_options, (Strings{"caseless", "dotall"}));
  EXPECT_EQ(health.regex_stack_start, 32768U);
  EXPECT_EQ(health.regex_stack_max, 65536U);
  EXPECT_EQ(health.regex_min_offset, 1U);
  EXPECT_EQ(health.regex_max_offset, 100U);
  EXPECT_EQ(health.virtualhost, "vs.example.com");
  const HttpUrl& ready = http->urls[1];
  EXPECT_EQ(ready.status_codes, (std::vector<StatusRange>{{200, 299}}));  // the default
  EXPECT_FALSE(ready.digest);
  EXPECT_EQ(ready.virtualhost, "ready.example.com");

  const auto* ssl = rs.checkers[1].as<HttpCheck>();
  ASSERT_NE(ssl, nullptr);
  EXPECT_EQ(rs.checkers[1].type, CheckerType::kSsl);
  EXPECT_TRUE(ssl->enable_sni);
  EXPECT_EQ(ssl->protocol, HttpProtocol::k1_0C);
  EXPECT_EQ(ssl->virtualhost, "tls.example.com");
  EXPECT_EQ(ssl->urls.at(0).virtualhost, "tls.example.com");
  EXPECT_EQ(ssl->urls.at(0).status_codes, (std::vector<StatusRange>{{200, 299}}));
}

TEST(HttpGet, DefaultProtocolIsHttp10) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with("HTTP_GET {\nurl {\npath /\n}\n}")));
  EXPECT_EQ(rs.checkers.at(0).as<HttpCheck>()->protocol, HttpProtocol::k1_0);
  EXPECT_EQ(rs.checkers.at(0).as<HttpCheck>()->virtualhost, "");
}

TEST(SmtpCheck, HeloNameAndHostBlocks) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with(R"(    SMTP_CHECK {
      connect_timeout 7
      helo_name "mail check"
      host {
        connect_ip 10.0.3.3
        connect_port 2525
        bindto 10.0.0.254
      }
      host {
      }
    }
    SMTP_CHECK {
    })")));
  ASSERT_EQ(rs.checkers.size(), 2U);
  const auto* smtp = rs.checkers[0].as<SmtpCheck>();
  ASSERT_NE(smtp, nullptr);
  EXPECT_EQ(smtp->helo_name, "mail check");
  ASSERT_EQ(smtp->hosts.size(), 2U);
  EXPECT_EQ(smtp->hosts[0].connect_ip, ip("10.0.3.3"));
  EXPECT_EQ(smtp->hosts[0].connect_port, 2525);
  EXPECT_EQ(smtp->hosts[0].bind_ip, ip("10.0.0.254"));
  EXPECT_EQ(smtp->hosts[0].connect_timeout, 7s);
  // An empty host block takes the checker's connection.
  EXPECT_EQ(smtp->hosts[1].connect_ip, ip("10.0.1.1"));
  EXPECT_EQ(smtp->hosts[1].connect_port, 8080);
  EXPECT_EQ(rs.checkers[1].as<SmtpCheck>()->helo_name, "smtpchecker.keepalived.org");
  EXPECT_TRUE(rs.checkers[1].as<SmtpCheck>()->hosts.empty());
}

TEST(DnsCheck, TypeAndName) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with(R"(    DNS_CHECK {
      type aaaa
      name example.com
    }
    DNS_CHECK {
    })")));
  const auto* dns = rs.checkers.at(0).as<DnsCheck>();
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ(dns->type, DnsType::kAaaa);
  EXPECT_EQ(dns->name, "example.com");
  const auto* defaults = rs.checkers.at(1).as<DnsCheck>();
  EXPECT_EQ(defaults->type, DnsType::kSoa);
  EXPECT_EQ(defaults->name, ".");
}

TEST(DnsCheck, EveryKeepalivedTypeIncludingDnssec) {
  // keepalived 2.2.7's list (check_dns.c), case-insensitive; RRSIG and DNSKEY pass its -t.
  const std::pair<const char*, DnsType> kTypes[] = {
      {"A", DnsType::kA},       {"ns", DnsType::kNs},       {"CNAME", DnsType::kCname},
      {"SOA", DnsType::kSoa},   {"MX", DnsType::kMx},       {"TXT", DnsType::kTxt},
      {"AAAA", DnsType::kAaaa}, {"RRSIG", DnsType::kRrsig}, {"dnskey", DnsType::kDnskey},
  };
  for (const auto& [word, type] : kTypes) {
    std::unique_ptr<Parsed> p;
    const auto& rs = only_rs(
        parse_ok(p, rs_with(std::string("    DNS_CHECK {\n      type ") + word + "\n    }")));
    EXPECT_EQ(rs.checkers.at(0).as<DnsCheck>()->type, type) << word;
  }
  EXPECT_EQ(to_string(DnsType::kRrsig), "RRSIG");
  EXPECT_EQ(to_string(DnsType::kDnskey), "DNSKEY");
}

TEST(DnsCheck, NamesKeepalivedAcceptsButNoServerCanRead) {
  // A trailing dot is fine; a 64-byte label or a name over 255 encoded bytes warns.
  const std::string label64(64, 'a');
  const std::string label63(63, 'b');
  const std::string long_name = label63 + "." + label63 + "." + label63 + "." + label63;  // 257
  auto p =
      testing::parse(rs_with("    DNS_CHECK {\n      name example.org.\n    }\n"
                             "    DNS_CHECK {\n      name " +
                             label64 +
                             ".org\n    }\n"
                             "    DNS_CHECK {\n      name " +
                             long_name + "\n    }"));
  EXPECT_TRUE(p->ok()) << p->diagnostics.format(p->files);
  EXPECT_EQ(only_rs(p->config).checkers.at(0).as<DnsCheck>()->name, "example.org.");
  EXPECT_EQ(testing::warnings(*p),
            (Strings{"11:12: DNS_CHECK name '" + label64 +
                         ".org' has a label of 64 bytes (at most 63): the check cannot pass",
                     "14:12: DNS_CHECK name '" + long_name +
                         "' is 257 bytes encoded (at most 255): the check cannot pass"}));
}

TEST(UdpCheck, HexStringsAsKeepalivedReadsThem) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with(R"(    UDP_CHECK {
      payload Ab12f 3 456 546443123
      require_reply 0aXx 1
      min_reply_length 2
      max_reply_length 100
    }
    UDP_CHECK {
      require_reply
    }
    UDP_CHECK {
    }
    UDP_CHECK {
      require_reply X 4x x4 5
    })")));
  ASSERT_EQ(rs.checkers.size(), 4U);
  const auto* udp = rs.checkers[0].as<UdpCheck>();
  ASSERT_NE(udp, nullptr);
  // The manual's example: "Ab12f 3 456 546443123" is AB 12 0F 03 45 06 54 64 43 12 03.
  EXPECT_EQ(udp->payload,
            (Bytes{0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03}));
  EXPECT_TRUE(udp->require_reply);
  EXPECT_EQ(udp->reply, (Bytes{0x0a, 0x00, 0x01}));
  // A lone digit is a whole byte, compared in full (keepalived's read_hex_str).
  EXPECT_EQ(udp->reply_mask, (Bytes{0xff, 0x00, 0xff}));
  EXPECT_EQ(udp->min_reply_length, 2);
  EXPECT_EQ(udp->max_reply_length, 100);
  const auto* any_reply = rs.checkers[1].as<UdpCheck>();
  EXPECT_TRUE(any_reply->require_reply);
  EXPECT_TRUE(any_reply->reply.empty());
  const auto* defaults = rs.checkers[2].as<UdpCheck>();
  EXPECT_FALSE(defaults->require_reply);
  const auto* lone = rs.checkers[3].as<UdpCheck>();
  // "X" alone: high nibble 0 compared, low nibble free; "4x" and "x4" keep their digit's nibble.
  EXPECT_EQ(lone->reply, (Bytes{0x00, 0x40, 0x04, 0x05}));
  EXPECT_EQ(lone->reply_mask, (Bytes{0xf0, 0xf0, 0x0f, 0xff}));
  EXPECT_TRUE(defaults->payload.empty());
  EXPECT_EQ(defaults->min_reply_length, 0);
  EXPECT_EQ(defaults->max_reply_length, 255);
}

TEST(MiscCheck, PathTimeoutDynamicUser) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with(R"(    MISC_CHECK {
      misc_path "/usr/local/bin/check --port 8080"
      misc_timeout 4
      misc_dynamic
      user nobody nogroup
      warmup 2
    }
    MISC_CHECK {
      misc_path /bin/true
      delay_loop 7
    })")));
  const auto* misc = rs.checkers.at(0).as<MiscCheck>();
  ASSERT_NE(misc, nullptr);
  EXPECT_EQ(misc->path.argv, (Strings{"/usr/local/bin/check", "--port", "8080"}));
  EXPECT_EQ(misc->timeout, 4s);
  EXPECT_TRUE(misc->dynamic);
  ASSERT_TRUE(misc->user);
  EXPECT_EQ(misc->user->user, "nobody");
  EXPECT_EQ(misc->user->group, "nogroup");
  EXPECT_EQ(rs.checkers[0].warmup, 2s);
  const auto* defaults = rs.checkers.at(1).as<MiscCheck>();
  EXPECT_EQ(defaults->timeout, 60s);  // the virtual server's delay_loop, not the checker's 7 s
  EXPECT_FALSE(defaults->dynamic);
  EXPECT_FALSE(defaults->user);
}

TEST(MiscCheck, TimeoutDefaultsToTheVirtualServersDelayLoop) {
  // keepalived 2.2.7 check_misc.c runs the script with misc_timeout, else checker->vs->delay_loop:
  // the real server's and the checker's delay_loop play no part. misc_timeout 0 means unset.
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with(R"(    MISC_CHECK {
      misc_path /bin/true
      delay_loop 3
    }
    MISC_CHECK {
      misc_path /bin/true
      misc_timeout 0
    }
    MISC_CHECK {
      misc_path /bin/true
      misc_timeout 2.5
      delay_loop 3
    })",
                                               "  delay_loop 10\n", "    delay_loop 3\n")));
  ASSERT_EQ(rs.checkers.size(), 3U);
  EXPECT_EQ(rs.checkers[0].delay_loop, 3s);
  EXPECT_EQ(rs.checkers[0].as<MiscCheck>()->timeout, 10s);
  EXPECT_EQ(rs.checkers[1].delay_loop, 3s);  // the real server's
  EXPECT_EQ(rs.checkers[1].as<MiscCheck>()->timeout, 10s);
  EXPECT_EQ(rs.checkers[2].as<MiscCheck>()->timeout, 2500ms);
}

TEST(FileCheck, NamesATopLevelTrackFile) {
  std::unique_ptr<Parsed> p;
  const auto& config =
      parse_ok(p, "track_file weights {\n  file /run/weights\n}\n" + rs_with(R"(    FILE_CHECK {
      track_file weights
      weight -3 reverse
    }
    FILE_CHECK {
      track_file weights
    })"));
  const auto& rs = only_rs(config);
  const auto* file = rs.checkers.at(0).as<FileCheck>();
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->track_file, "weights");
  EXPECT_EQ(file->weight, -3);
  EXPECT_TRUE(file->reverse);
  EXPECT_EQ(rs.checkers.at(1).as<FileCheck>()->weight, 1);
  EXPECT_FALSE(rs.checkers.at(1).as<FileCheck>()->reverse);
}

// keepalived 2.2.7 check_file.c: without a `weight` line, FILE_CHECK takes the track_file's
// weight and reverse flag.
TEST(FileCheck, WeightDefaultsToTheTrackFilesWeight) {
  std::unique_ptr<Parsed> p;
  const auto& config =
      parse_ok(p, "track_file weights {\n  file /run/weights\n  weight -7 reverse\n}\n" +
                      rs_with(R"(    FILE_CHECK {
      track_file weights
    }
    FILE_CHECK {
      track_file weights
      weight 2
    })"));
  const auto& rs = only_rs(config);
  EXPECT_EQ(rs.checkers.at(0).as<FileCheck>()->weight, -7);
  EXPECT_TRUE(rs.checkers.at(0).as<FileCheck>()->reverse);
  EXPECT_EQ(rs.checkers.at(1).as<FileCheck>()->weight, 2);
  EXPECT_FALSE(rs.checkers.at(1).as<FileCheck>()->reverse);
}

// The seed configs (and most published ones) write nb_get_retry in TCP_CHECK: they must run.
TEST(Checker, NbGetRetryIsTheOldSpellingOfRetryInEveryChecker) {
  for (const char* type : {"TCP_CHECK", "SMTP_CHECK", "DNS_CHECK"}) {
    std::unique_ptr<Parsed> p;
    const auto& rs = only_rs(
        parse_ok(p, rs_with(std::string("    ") + type + " {\n      nb_get_retry 4\n    }")));
    EXPECT_EQ(rs.checkers.at(0).retry, 4U) << type;
    EXPECT_EQ(testing::warnings(*p),
              (Strings{"8:7: 'nb_get_retry' is the old spelling of 'retry': accepted as 'retry'"}))
        << type;
  }
  std::unique_ptr<Parsed> p;
  const auto& http = only_rs(parse_ok(
      p, rs_with(
             "    HTTP_GET {\n      nb_get_retry 2\n      url {\n        path /\n      }\n    }")));
  EXPECT_EQ(http.checkers.at(0).retry, 2U);
}

TEST(Checker, BoxCopiesDeeply) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, rs_with("HTTP_GET {\nurl {\npath /a\n}\n}")));
  Checker copy = rs.checkers.at(0);
  EXPECT_EQ(copy, rs.checkers.at(0));
  copy.as<HttpCheck>()->urls.at(0).path = "/b";
  EXPECT_EQ(rs.checkers.at(0).as<HttpCheck>()->urls.at(0).path, "/a");
  EXPECT_NE(copy, rs.checkers.at(0));
}

// vigil's per-checker TLS client identity in SSL_GET: read, overriding nothing in the model.
class ClientTlsKeywords : public ::testing::Test {
 protected:
  ClientTlsKeywords() {
    std::string pattern = ::testing::TempDir() + "client_tls.XXXXXX";
    dir_ = mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
    for (const char* name : {"/client.pem", "/client-key.pem"})
      std::ofstream(dir_ + name) << "PEM\n";
  }
  ~ClientTlsKeywords() override { std::filesystem::remove_all(dir_); }
  [[nodiscard]] std::string ssl_get(const std::string& lines) const {
    return rs_with("SSL_GET {\n  url {\n    path /\n  }\n" + lines + "}");
  }
  std::string dir_;
};

TEST_F(ClientTlsKeywords, ReadInSslGet) {
  std::unique_ptr<Parsed> p;
  const auto& rs = only_rs(parse_ok(p, ssl_get("  client_certificate " + dir_ +
                                               "/client.pem\n"
                                               "  client_key " +
                                               dir_ +
                                               "/client-key.pem\n"
                                               "  client_key_password s3cret\n")));
  const auto* http = rs.checkers.at(0).as<HttpCheck>();
  ASSERT_NE(http, nullptr);
  ASSERT_TRUE(http->client_tls);
  EXPECT_EQ(http->client_tls->certificate, dir_ + "/client.pem");
  EXPECT_EQ(http->client_tls->key, dir_ + "/client-key.pem");
  EXPECT_EQ(http->client_tls->password, "s3cret");

  std::unique_ptr<Parsed> none;
  const auto& plain = only_rs(parse_ok(none, ssl_get("")));
  EXPECT_FALSE(plain.checkers.at(0).as<HttpCheck>()->client_tls);
}

TEST_F(ClientTlsKeywords, ErrorsNameTheLine) {
  // Lines: SSL_GET on 7, url 8-10, the keywords from 11.
  const std::string cert = "  client_certificate " + dir_ + "/client.pem\n";
  const std::string key = "  client_key " + dir_ + "/client-key.pem\n";
  EXPECT_EQ(errors(*parse(ssl_get(key))),
            Strings{"11:3: SSL_GET: 'client_key' without 'client_certificate'"});
  EXPECT_EQ(errors(*parse(ssl_get(cert))),
            Strings{"11:3: SSL_GET: 'client_certificate' without 'client_key'"});
  EXPECT_EQ(errors(*parse(ssl_get("  client_key_password x\n"))),
            Strings{"11:3: SSL_GET: 'client_key_password' without 'client_key'"});
  EXPECT_EQ(errors(*parse(ssl_get("  client_certificate " + dir_ + "/missing.pem\n" + key))),
            Strings{"11:22: 'client_certificate': cannot read '" + dir_ +
                    "/missing.pem': No such file or directory"});
  // Not in HTTP_GET, which has no TLS.
  EXPECT_EQ(errors(*parse(rs_with("HTTP_GET {\n  url {\n    path /\n  }\n" + cert + "}"))),
            Strings{"11:3: unknown keyword 'client_certificate'"});
}

// --- Errors. ----------------------------------------------------------------------------------

struct ErrorCase {
  const char* what;
  const char* checkers;  // inside the real server of rs_with(), from line 7
  Strings expected;
};

class CheckerErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(CheckerErrors, ReportsAtTheToken) {
  auto p = parse(rs_with(GetParam().checkers));
  EXPECT_EQ(errors(*p), GetParam().expected) << GetParam().what;
}

INSTANTIATE_TEST_SUITE_P(
    Table, CheckerErrors,
    ::testing::Values(
        ErrorCase{"connect_port 0",
                  "TCP_CHECK {\n  connect_port 0\n}",
                  {"8:16: 'connect_port': 0 is out of range [1, 65535]"}},
        ErrorCase{"bad connect_ip",
                  "TCP_CHECK {\n  connect_ip 10.0.0\n}",
                  {"8:14: 'connect_ip': '10.0.0' is not an IP address"}},
        ErrorCase{"connect_timeout 0",
                  "TCP_CHECK {\n  connect_timeout 0\n}",
                  {"8:19: 'connect_timeout': 0 s is out of range [0.000001, 4294.967295]"}},
        ErrorCase{"delay_loop 0",
                  "TCP_CHECK {\n  delay_loop 0\n}",
                  {"8:14: 'delay_loop': 0 s is out of range [0.000001, 1000000000]"}},
        ErrorCase{"retry negative",
                  "TCP_CHECK {\n  retry -1\n}",
                  {"8:9: 'retry': -1 is out of range [0, 4294967295]"}},
        ErrorCase{"interface name too long",
                  "TCP_CHECK {\n  bind_if averyveryverylongname\n}",
                  {"8:11: 'bind_if': interface name 'averyveryverylongname' is longer than 15 "
                   "characters"}},
        ErrorCase{"bindto of another family",
                  "TCP_CHECK {\n  bindto 2001:db8::1\n}",
                  {"7:1: real_server 10.0.1.1 8080: TCP_CHECK: bindto 2001:db8::1 is not of the "
                   "family of connect_ip 10.0.1.1"}},
        ErrorCase{"checker takes no arguments",
                  "TCP_CHECK now {\n}",
                  {"7:11: 'TCP_CHECK' takes 0 arguments, got 1"}},
        ErrorCase{
            "TCP_CHECK has no url", "TCP_CHECK {\n  url {\n  }\n}", {"8:3: unknown keyword 'url'"}},
        ErrorCase{"HTTP_GET without url", "HTTP_GET {\n}", {"7:1: HTTP_GET has no 'url' block"}},
        ErrorCase{"url without path", "SSL_GET {\n  url {\n  }\n}", {"8:3: 'url' has no 'path'"}},
        ErrorCase{"short digest",
                  "HTTP_GET {\n  url {\n    path /\n    digest 9b3a0c85\n  }\n}",
                  {"10:12: 'digest': an MD5 digest is 32 hex digits, '9b3a0c85' has 8"}},
        ErrorCase{"digest not hex",
                  "HTTP_GET {\n  url {\n    path /\n    digest 9b3a0c85a887a256d6939da88aabd8cZ\n"
                  "  }\n}",
                  {"10:12: 'digest': '9b3a0c85a887a256d6939da88aabd8cZ' is not hexadecimal (at "
                   "character 32)"}},
        ErrorCase{"status code out of range",
                  "HTTP_GET {\n  url {\n    path /\n    status_code 200 600\n  }\n}",
                  {"10:21: 'status_code': '600' is not a status code or range within 100-599"}},
        ErrorCase{"status range reversed",
                  "HTTP_GET {\n  url {\n    path /\n    status_code 299-200\n  }\n}",
                  {"10:17: 'status_code': '299-200' is not a status code or range within "
                   "100-599"}},
        ErrorCase{"regex parameters without regex",
                  "HTTP_GET {\n  url {\n    path /\n    regex_no_match\n  }\n}",
                  {"8:3: 'url' has regex parameters but no 'regex'"}},
        ErrorCase{"unknown regex option",
                  "HTTP_GET {\n  url {\n    path /\n    regex x\n    regex_options casless\n"
                  "  }\n}",
                  {"11:19: 'regex_options': unknown regex option 'casless'; did you mean "
                   "'caseless'? (expected one of allow_empty_class, alt_bsux, auto_callout, "
                   "caseless, dollar_endonly, dotall, dupnames, extended, firstline, "
                   "match_unset_backref, multiline, never_ucp, never_utf, no_auto_capture, "
                   "no_auto_possess, no_dotstar_anchor, no_start_optimize, ucp, ungreedy, utf, "
                   "never_backslash_c, alt_circumflex, alt_verbnames, use_offset_limit)"}},
        ErrorCase{"regex offsets reversed",
                  "HTTP_GET {\n  url {\n    path /\n    regex x\n    regex_min_offset 10\n"
                  "    regex_max_offset 5\n  }\n}",
                  {"8:3: 'url': regex_min_offset 10 exceeds regex_max_offset 5"}},
        ErrorCase{"regex stack start above max",
                  "HTTP_GET {\n  url {\n    path /\n    regex x\n    regex_stack 10 5\n  }\n}",
                  {"11:17: 'regex_stack': start 10 exceeds the maximum 5"}},
        ErrorCase{"unknown http_protocol",
                  "HTTP_GET {\n  http_protocol 2.0\n  url {\n    path /\n  }\n}",
                  {"8:17: 'http_protocol': unknown version '2.0' (expected one of 1.0, 1.0C, "
                   "1.1)"}},
        ErrorCase{"tls_compliant is not a keepalived 2.2.7 keyword",
                  "SSL_GET {\n  tls_compliant\n  url {\n    path /\n  }\n}",
                  {"8:3: unknown keyword 'tls_compliant'"}},
        ErrorCase{"unknown DNS type",
                  "DNS_CHECK {\n  type PTR\n}",
                  {"8:8: 'type': unknown DNS query type 'PTR' (expected one of A, NS, CNAME, "
                   "SOA, MX, TXT, AAAA, RRSIG, DNSKEY)"}},
        ErrorCase{"DNS name with an empty label",
                  "DNS_CHECK {\n  name a..b\n}",
                  {"8:8: DNS_CHECK name 'a..b' has an empty label"}},
        ErrorCase{"DNS name with a leading dot",
                  "DNS_CHECK {\n  name .a\n}",
                  {"8:8: DNS_CHECK name '.a' has an empty label"}},
        ErrorCase{"bad UDP payload",
                  "UDP_CHECK {\n  payload 0a zz\n}",
                  {"8:14: 'payload': 'zz' is not a hex string"}},
        ErrorCase{"bad require_reply",
                  "UDP_CHECK {\n  require_reply 0g\n}",
                  {"8:17: 'require_reply': '0g' is not a hex string (digits and X)"}},
        ErrorCase{"reply lengths reversed",
                  "UDP_CHECK {\n  min_reply_length 10\n  max_reply_length 5\n}",
                  {"7:1: UDP_CHECK: min_reply_length 10 exceeds max_reply_length 5"}},
        ErrorCase{"MISC_CHECK without misc_path",
                  "MISC_CHECK {\n  misc_timeout 3\n}",
                  {"7:1: MISC_CHECK has no 'misc_path'"}},
        ErrorCase{"MISC_CHECK has no connection options",
                  "MISC_CHECK {\n  misc_path /bin/true\n  connect_timeout 3\n}",
                  {"9:3: unknown keyword 'connect_timeout'"}},
        ErrorCase{"FILE_CHECK without track_file",
                  "FILE_CHECK {\n}",
                  {"7:1: FILE_CHECK has no 'track_file'"}},
        ErrorCase{"FILE_CHECK of an unknown track_file",
                  "FILE_CHECK {\n  track_file nope\n}",
                  {"8:14: real_server 10.0.1.1 8080: FILE_CHECK: no track_file named 'nope'"}},
        ErrorCase{"FILE_CHECK weight option",
                  "FILE_CHECK {\n  track_file t\n  weight 2 up\n}",
                  {"9:12: 'weight': expected 'reverse', got 'up'",
                   "8:14: real_server 10.0.1.1 8080: FILE_CHECK: no track_file named 't'"}},
        ErrorCase{"SMTP host block keyword",
                  "SMTP_CHECK {\n  host {\n    helo_name x\n  }\n}",
                  {"9:5: unknown keyword 'helo_name'"}}));

}  // namespace
}  // namespace vigil::config
