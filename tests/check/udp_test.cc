// UDP_CHECK's payload and reply matcher, as keepalived 2.2.7 layer4.c and check_udp.c have them
// (shared/reference/checkers.md §1.2).
#include "check/udp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/parser.h"

namespace vigil::check {
namespace {

using Bytes = std::vector<uint8_t>;
using config::UdpCheck;

// The UdpCheck read from the body of a UDP_CHECK block.
UdpCheck udp_from(const std::string& body) {
  auto parsed = config::parse_text("test.conf",
                                   "virtual_server 10.0.0.100 53 {\n"
                                   "  lvs_sched rr\n  lvs_method NAT\n  protocol UDP\n"
                                   "  real_server 10.0.0.1 53 {\n    UDP_CHECK {\n" +
                                       body + "\n    }\n  }\n}\n");
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  return *parsed->config.lvs.virtual_servers.at(0).real_servers.at(0).checkers.at(0).as<UdpCheck>();
}

TEST(UdpPayload, KeepalivedsFillerByDefault) {
  const std::string expected = "keepalived check - keepalived ch";
  ASSERT_EQ(expected.size(), 32U);
  const auto& payload = udp_default_payload();
  EXPECT_EQ(std::string(payload.begin(), payload.end()), expected);
  const auto sent = udp_payload(UdpCheck{});
  EXPECT_EQ(std::string(sent.begin(), sent.end()), expected);
}

TEST(UdpPayload, ConfiguredPayloadAsWritten) {
  const auto check = udp_from("      payload 0102 ff");
  const auto sent = udp_payload(check);
  EXPECT_EQ(Bytes(sent.begin(), sent.end()), (Bytes{0x01, 0x02, 0xff}));
}

TEST(UdpTimeout, PassesWithoutRequireReply) {
  EXPECT_TRUE(udp_timeout_passes(udp_from("")));
  EXPECT_FALSE(udp_timeout_passes(udp_from("      require_reply")));
  EXPECT_FALSE(udp_timeout_passes(udp_from("      require_reply 00")));
}

struct ReplyCase {
  const char* what;
  const char* config;  // UDP_CHECK body
  Bytes datagram;
  bool passed;
  const char* reason = "";
};

TEST(UdpReply, Table) {
  const ReplyCase kCases[] = {
      {"no require_reply: anything", "", Bytes(300, 0xee), true},
      {"no require_reply: empty datagram", "", {}, true},
      {"bare require_reply: any length, lengths unchecked",
       "      require_reply\n      max_reply_length 2", Bytes(10, 1), true},
      {"exact match", "      require_reply 0a0b0c", {0x0a, 0x0b, 0x0c}, true},
      {"longer reply: only the configured prefix compared",
       "      require_reply 0a0b",
       {0x0a, 0x0b, 0x99, 0x98},
       true},
      {"shorter reply: compared up to its own length", "      require_reply 0a0b0c", {0x0a}, true},
      {"empty reply with min 0 passes", "      require_reply 0a0b", {}, true},
      {"mismatch",
       "      require_reply 0a0b0c",
       {0x0a, 0x0c, 0x0c},
       false,
       "reply byte 1 is 0x0c, expected 0x0b"},
      {"X nibble matches anything", "      require_reply 4X x1", {0x4f, 0xa1}, true},
      {"X nibble: the other nibble still counts",
       "      require_reply 4X",
       {0x5f},
       false,
       "reply byte 0 is 0x5f, expected 0x4X"},
      {"XX matches any byte", "      require_reply 01 XX 03", {0x01, 0x77, 0x03}, true},
      {"a lone digit is a whole byte",
       "      require_reply 0a 1",
       {0x0a, 0x41},
       false,
       "reply byte 1 is 0x41, expected 0x01"},
      {"a lone X leaves the high nibble 0",
       "      require_reply X",
       {0x10},
       false,
       "reply byte 0 is 0x10, expected 0x0X"},
      {"below min_reply_length",
       "      require_reply 0a\n      min_reply_length 4",
       {0x0a, 0, 0},
       false,
       "reply of 3 bytes, below min_reply_length 4"},
      {"at min_reply_length",
       "      require_reply 0a\n      min_reply_length 4",
       {0x0a, 0, 0, 0},
       true},
      {"above max_reply_length",
       "      require_reply 0a\n      max_reply_length 3",
       {0x0a, 0, 0, 0},
       false,
       "reply of 4 bytes, above max_reply_length 3"},
      {"default max_reply_length 255", "      require_reply 0a", Bytes(256, 0x0a), false,
       "reply of 256 bytes, above max_reply_length 255"},
      {"at max_reply_length", "      require_reply 0a", Bytes(255, 0x0a), true},
  };
  for (const auto& c : kCases) {
    const UdpJudgement j = judge_udp_reply(udp_from(c.config), c.datagram);
    EXPECT_EQ(j.passed, c.passed) << c.what;
    EXPECT_EQ(j.reason, c.reason) << c.what;
  }
}

}  // namespace
}  // namespace vigil::check
