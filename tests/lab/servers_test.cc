// The lab's DNS server's answers, byte for byte (RFC 1035 §4.1.1), judged by vigil's own
// DNS_CHECK code as the checker will judge them.
#include "lab/servers.h"

#include <gtest/gtest.h>

#include <string>

#include "check/dns.h"

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

}  // namespace
}  // namespace vigil::lab
