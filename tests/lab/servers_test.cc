// The lab's DNS and UDP_CHECK servers' answers, byte for byte (RFC 1035 §4.1.1 for DNS), judged
// by vigil's own DNS_CHECK and UDP_CHECK code as the checkers will judge them.
#include "lab/servers.h"

#include <gtest/gtest.h>

#include <string>

#include "check/dns.h"
#include "check/udp.h"
#include "lab/model.h"

namespace vigil::lab {
namespace {

std::string query_for(const config::DnsCheck& check, uint16_t id) {
  auto q = check::dns_query(check, id);
  EXPECT_TRUE(q);
  return q ? std::string(q->begin(), q->end()) : std::string();
}

TEST(LabDns, AnswersAQueryWithNoerrorAndItsQuestionOnly) {
  const config::DnsCheck check{.type = config::DnsType::kA, .name = "www.example.org"};
  const std::string query = query_for(check, 0x1234);
  const auto reply = dns_reply(query);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->size(), query.size());
  EXPECT_EQ(static_cast<uint8_t>((*reply)[0]), 0x12);
  EXPECT_EQ(static_cast<uint8_t>((*reply)[1]), 0x34);
  EXPECT_EQ(static_cast<uint8_t>((*reply)[2]), 0x81);  // QR, RD kept
  EXPECT_EQ(static_cast<uint8_t>((*reply)[3]), 0x80);  // RA, NOERROR
  EXPECT_EQ(reply->substr(12), query.substr(12));      // the question
  const auto judged = check::judge_dns_reply(
      std::span(reinterpret_cast<const uint8_t*>(reply->data()), reply->size()), 0x1234);
  EXPECT_EQ(judged.verdict, check::DnsVerdict::kPassed) << judged.reason;
}

TEST(LabDns, DropsAnEdnsRecordAndIgnoresWhatIsNoQuery) {
  std::string query = query_for(config::DnsCheck{}, 7);  // SOA of the root
  const size_t question_end = query.size();
  query[11] = 1;  // ARCOUNT 1: an OPT record follows
  query += std::string("\0\0\x29\x10\0\0\0\0\0\0\0", 11);
  const auto reply = dns_reply(query);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->size(), question_end);
  EXPECT_EQ((*reply)[11], 0);

  EXPECT_FALSE(dns_reply(query.substr(0, 11)));  // shorter than a header
  std::string response = *reply;
  EXPECT_FALSE(dns_reply(response));  // QR set: a response, never answered (no reflection loop)
  std::string cut = query_for(config::DnsCheck{.type = config::DnsType::kA, .name = "a.b"}, 9);
  cut.resize(cut.size() - 3);  // the question ends early
  EXPECT_FALSE(dns_reply(cut));
  std::string pointer = query_for(config::DnsCheck{.type = config::DnsType::kA, .name = "a"}, 9);
  pointer[12] = static_cast<char>(0xc0);  // a compression pointer
  EXPECT_FALSE(dns_reply(pointer));
}

bool udp_passes(const config::UdpCheck& check, const std::string& reply) {
  const auto judged = check::judge_udp_reply(
      check, std::span(reinterpret_cast<const uint8_t*>(reply.data()), reply.size()));
  EXPECT_TRUE(judged.passed) << judged.reason;
  return judged.passed;
}

TEST(LabUdp, TheReplyPassesTheChecksJudgement) {
  config::UdpCheck check;
  check.require_reply = true;
  check.reply = {0x4f, 0x4b, 0xa0};  // "OK" then a byte whose low nibble is X
  check.reply_mask = {0xff, 0xff, 0xf0};
  check.min_reply_length = 5;
  auto reply = udp_check_reply(check);
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, std::string("OK\xa0\0\0", 5));
  EXPECT_TRUE(udp_passes(check, *reply));
  // Nothing configured: any datagram passes, the lab sends a fixed one.
  EXPECT_TRUE(udp_passes(config::UdpCheck{}, *udp_check_reply(config::UdpCheck{})));
  // A reply longer than max_reply_length admits no answer.
  check.max_reply_length = 2;
  check.min_reply_length = 0;
  EXPECT_FALSE(udp_check_reply(check));
}

}  // namespace
}  // namespace vigil::lab
