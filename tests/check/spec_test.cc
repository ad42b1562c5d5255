// CheckerSpec from keepalived.conf text through vigil's config model: keepalived's inheritance
// (VS -> RS -> checker) arrives resolved, and the identity holds exactly the fields keepalived
// compares on reload (shared/reference/checkers.md §1.4).
#include "check/spec.h"

#include <gtest/gtest.h>

#include <string>

#include "config/parser.h"

namespace vigil::check {
namespace {

std::vector<VirtualServerSpec> specs_of(const std::string& body) {
  auto parsed = config::parse_text("test.conf",
                                   "virtual_server 10.0.0.100 80 {\n"
                                   "  lvs_sched rr\n  lvs_method NAT\n"
                                   "  protocol TCP\n  delay_loop 7\n" +
                                       body + "}\n");
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  return translate(parsed->config);
}

CheckerSpec only_checker(const std::string& checker_block) {
  auto specs = specs_of("  real_server 10.0.0.1 80 {\n    weight 3\n" + checker_block + "  }\n");
  return specs.at(0).real_servers.at(0).checkers.at(0);
}

TEST(Translate, TcpCheckInheritsAndGetsKeepalivedDefaults) {
  const auto spec = only_checker("    TCP_CHECK {\n    }\n");
  EXPECT_EQ(spec.label, "TCP 10.0.0.1:80");
  EXPECT_EQ(spec.delay_loop, 7s);          // the VS's
  EXPECT_EQ(spec.warmup, 7s);              // default: delay_loop
  EXPECT_EQ(spec.delay_before_retry, 1s);  // TCP default
  EXPECT_EQ(spec.retry, 1U);
  EXPECT_EQ(spec.real_server_weight, 3);
  EXPECT_EQ(spec.rise, 1U);
  EXPECT_EQ(spec.interval_jitter_percent, 0U);
  ASSERT_TRUE(spec.identity.connection);
  EXPECT_EQ(spec.identity.connection->connect_port, 80);
  EXPECT_EQ(spec.identity.connection->connect_timeout, 5s);
}

// vigil's rise and interval_jitter reach the checker machine's spec.
TEST(Translate, RiseAndIntervalJitterReachTheSpec) {
  const auto spec =
      only_checker("    TCP_CHECK {\n      rise 3\n      interval_jitter 10\n    }\n");
  EXPECT_EQ(spec.rise, 3U);
  EXPECT_EQ(spec.interval_jitter_percent, 10U);
}

// fast_recovery reaches the spec (the checker machine's cadence) but not the identity (the
// Identity case HttpProtocolAndFastRecoveryIgnored).
TEST(Translate, FastRecoveryReachesTheSpec) {
  const auto fast = only_checker(
      "    HTTP_GET {\n      url {\n        path /a\n      }\n      url {\n        path /b\n"
      "      }\n      fast_recovery\n    }\n");
  EXPECT_TRUE(fast.fast_recovery);
  const auto* http = std::get_if<HttpIdentity>(&fast.identity.detail);
  ASSERT_NE(http, nullptr);
  ASSERT_EQ(http->urls.size(), 2U);
  EXPECT_EQ(http->urls[1].path, "/b");
  EXPECT_FALSE(
      only_checker("    HTTP_GET {\n      url {\n        path /a\n      }\n    }\n").fast_recovery);
  EXPECT_FALSE(only_checker("    TCP_CHECK {\n    }\n").fast_recovery);
}

TEST(Translate, VirtualServerLabelsAndQuorum) {
  auto specs = specs_of(
      "  quorum 2\n  hysteresis 1\n"
      "  real_server 10.0.0.1 80 {\n    weight 2\n  }\n");
  ASSERT_EQ(specs.size(), 1U);
  EXPECT_EQ(specs[0].label, "[10.0.0.100]:tcp:80");
  EXPECT_EQ(specs[0].quorum, 2U);
  EXPECT_EQ(specs[0].hysteresis, 1U);
  EXPECT_EQ(format_real_server(specs[0].real_servers[0].key, specs[0].protocol_name),
            "[10.0.0.1]:tcp:80");
  EXPECT_TRUE(specs[0].real_servers[0].checkers.empty());
}

// Fields keepalived does not compare leave the identity equal; fields it compares change it.
struct IdentityCase {
  const char* name;
  std::string before;
  std::string after;
  bool same;
};

class Identity : public ::testing::TestWithParam<IdentityCase> {};

TEST_P(Identity, ComparesExactlyKeepalivedsFields) {
  const auto& c = GetParam();
  const auto a = only_checker(c.before);
  const auto b = only_checker(c.after);
  EXPECT_EQ(a.identity == b.identity, c.same);
  EXPECT_EQ(matches(a.identity, b.identity), c.same);
}

const std::string kHttp = "    HTTP_GET {\n      url {\n        path /health\n      }\n";

INSTANTIATE_TEST_SUITE_P(
    Check, Identity,
    ::testing::Values(
        IdentityCase{"TcpDelayLoopRetryWarmupAlphaIgnored", "    TCP_CHECK {\n    }\n",
                     "    TCP_CHECK {\n      delay_loop 3\n      retry 9\n      warmup 0\n"
                     "      delay_before_retry 4\n      alpha\n      log_all_failures\n    }\n",
                     true},
        IdentityCase{"TcpConnectPortCounts", "    TCP_CHECK {\n    }\n",
                     "    TCP_CHECK {\n      connect_port 81\n    }\n", false},
        IdentityCase{"TcpConnectTimeoutCounts", "    TCP_CHECK {\n    }\n",
                     "    TCP_CHECK {\n      connect_timeout 2\n    }\n", false},
        IdentityCase{"TcpFwmarkCounts", "    TCP_CHECK {\n    }\n",
                     "    TCP_CHECK {\n      fwmark 5\n    }\n", false},
        IdentityCase{"TcpBindPortCounts", "    TCP_CHECK {\n      bindto 10.0.0.5\n    }\n",
                     "    TCP_CHECK {\n      bindto 10.0.0.5\n      bind_port 999\n    }\n", false},
        IdentityCase{"CommentLineChangesNothing", "    TCP_CHECK {\n    }\n",
                     "    # a comment\n\n    TCP_CHECK {\n    }\n", true},
        IdentityCase{"TypeCounts", "    TCP_CHECK {\n    }\n", "    PING_CHECK {\n    }\n", false},
        IdentityCase{"HttpProtocolAndFastRecoveryIgnored", kHttp + "    }\n",
                     kHttp + "      http_protocol 1.1\n      fast_recovery\n    }\n", true},
        IdentityCase{"HttpPathCounts", kHttp + "    }\n",
                     "    HTTP_GET {\n      url {\n        path /other\n      }\n    }\n", false},
        IdentityCase{"HttpStatusCounts", kHttp + "    }\n",
                     "    HTTP_GET {\n      url {\n        path /health\n        status_code 200\n"
                     "      }\n    }\n",
                     false},
        IdentityCase{"DnsNameCounts", "    DNS_CHECK {\n      name a.example\n    }\n",
                     "    DNS_CHECK {\n      name b.example\n    }\n", false},
        IdentityCase{"UdpPayloadIgnored", "    UDP_CHECK {\n    }\n",
                     "    UDP_CHECK {\n      payload 0a0b\n    }\n", true},
        IdentityCase{"MiscTimeoutIgnoredArgvCounts",
                     "    MISC_CHECK {\n      misc_path \"/bin/true a\"\n    }\n",
                     "    MISC_CHECK {\n      misc_path \"/bin/true a\"\n      misc_timeout 3\n"
                     "    }\n",
                     true},
        IdentityCase{"MiscArgvCounts", "    MISC_CHECK {\n      misc_path \"/bin/true a\"\n    }\n",
                     "    MISC_CHECK {\n      misc_path \"/bin/true b\"\n    }\n", false},
        IdentityCase{"MiscDynamicCounts", "    MISC_CHECK {\n      misc_path /bin/true\n    }\n",
                     "    MISC_CHECK {\n      misc_path /bin/true\n      misc_dynamic\n    }\n",
                     false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Identity, FileCheckNeverMatches) {
  CheckerIdentity file{.type = CheckerType::kFile};
  EXPECT_TRUE(file == file);
  EXPECT_FALSE(matches(file, file));
}

}  // namespace
}  // namespace vigil::check
