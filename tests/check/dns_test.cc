// DNS_CHECK's query bytes and reply judgement, as keepalived 2.2.7 check_dns.c builds and judges
// them (shared/reference/checkers.md §1.2).
#include "check/dns.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::check {
namespace {

using Bytes = std::vector<uint8_t>;
using config::DnsCheck;
using config::DnsType;

Bytes bytes(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& part : parts)
    out.insert(out.end(), part.begin(), part.end());
  return out;
}

// ID 0x1234, RD, one question.
const Bytes kHeader = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

TEST(DnsQuery, ExampleOrgTypeA) {
  auto query = dns_query(DnsCheck{.type = DnsType::kA, .name = "example.org"}, 0x1234);
  ASSERT_TRUE(query.ok()) << query.error().message;
  EXPECT_EQ(
      *query,
      concat({kHeader, {7}, bytes("example"), {3}, bytes("org"), {0}, {0x00, 0x01, 0x00, 0x01}}));
}

TEST(DnsQuery, DefaultIsSoaOfTheRoot) {
  // keepalived's defaults: type SOA, name "" (vigil's model writes "."); both are the root.
  for (const char* name : {".", ""}) {
    auto query = dns_query(DnsCheck{.type = DnsType::kSoa, .name = name}, 0x1234);
    ASSERT_TRUE(query.ok());
    EXPECT_EQ(*query, concat({kHeader, {0}, {0x00, 0x06, 0x00, 0x01}})) << '"' << name << '"';
  }
  EXPECT_EQ(*dns_query(DnsCheck{}, 0x1234), concat({kHeader, {0}, {0x00, 0x06, 0x00, 0x01}}));
}

TEST(DnsQuery, IdIsBigEndian) {
  auto query = dns_query(DnsCheck{}, 0xbeef);
  ASSERT_TRUE(query.ok());
  EXPECT_EQ((*query)[0], 0xbe);
  EXPECT_EQ((*query)[1], 0xef);
}

TEST(DnsQuery, EveryTypeCode) {
  const std::pair<DnsType, uint16_t> kCodes[] = {
      {DnsType::kA, 1},     {DnsType::kNs, 2},     {DnsType::kCname, 5},
      {DnsType::kSoa, 6},   {DnsType::kMx, 15},    {DnsType::kTxt, 16},
      {DnsType::kAaaa, 28}, {DnsType::kRrsig, 46}, {DnsType::kDnskey, 48},
  };
  for (const auto& [type, code] : kCodes) {
    EXPECT_EQ(dns_qtype(type), code) << config::to_string(type);
    auto query = dns_query(DnsCheck{.type = type, .name = "a"}, 1);
    ASSERT_TRUE(query.ok());
    ASSERT_EQ(query->size(), 12U + 3U + 4U);
    EXPECT_EQ((*query)[15], code >> 8);
    EXPECT_EQ((*query)[16], code & 0xff);
    EXPECT_EQ((*query)[17], 0);  // QCLASS IN
    EXPECT_EQ((*query)[18], 1);
  }
}

struct NameCase {
  const char* name;
  Bytes encoded;  // empty: an error
  const char* error = "";
};

TEST(DnsEncodeName, Table) {
  const std::string l63(63, 'x');
  const std::string l64(64, 'x');
  // 4 labels of 63 bytes: 4 * 64 + 1 = 257 bytes; with one of 61 bytes: 255.
  const std::string too_long = l63 + "." + l63 + "." + l63 + "." + l63;
  const std::string longest = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'x');
  const NameCase kCases[] = {
      {".", {0}},
      {"", {0}},
      {"a", {1, 'a', 0}},
      {"a.", {1, 'a', 0}},
      {"A.b-c", {1, 'A', 3, 'b', '-', 'c', 0}},  // case and bytes kept as written
      {"a..b", {}, "DNS name 'a..b' has an empty label"},
      {".a", {}, "DNS name '.a' has an empty label"},
      {"..", {}, "DNS name '..' has an empty label"},
      {l64.c_str(), {}, ""},
      {too_long.c_str(), {}, ""},
  };
  for (const auto& c : kCases) {
    auto encoded = dns_encode_name(c.name);
    if (c.encoded.empty()) {
      ASSERT_FALSE(encoded.ok()) << c.name;
      if (*c.error != '\0') {
        EXPECT_EQ(encoded.error().message, c.error);
      }
    } else {
      ASSERT_TRUE(encoded.ok()) << c.name << ": " << encoded.error().message;
      EXPECT_EQ(*encoded, c.encoded) << c.name;
    }
  }
  EXPECT_EQ(dns_encode_name(l64).error().message,
            "DNS name '" + l64 + "' has a label of 64 bytes (at most 63)");
  EXPECT_EQ(dns_encode_name(too_long).error().message,
            "DNS name '" + too_long + "' is 257 bytes encoded (at most 255)");
  auto ok63 = dns_encode_name(l63);
  ASSERT_TRUE(ok63.ok());
  EXPECT_EQ(ok63->size(), 65U);
  auto ok255 = dns_encode_name(longest);
  ASSERT_TRUE(ok255.ok());
  EXPECT_EQ(ok255->size(), 255U);
  EXPECT_FALSE(dns_query(DnsCheck{.name = "a..b"}, 1).ok());
}

// A reply header: ID, flags, then zero counts; `extra` bytes follow.
Bytes reply(uint16_t id, uint16_t flags, size_t extra = 0) {
  Bytes out = {static_cast<uint8_t>(id >> 8),
               static_cast<uint8_t>(id),
               static_cast<uint8_t>(flags >> 8),
               static_cast<uint8_t>(flags),
               0,
               1,
               0,
               0,
               0,
               0,
               0,
               0};
  out.resize(out.size() + extra, 0xab);
  return out;
}

Bytes shorter(Bytes datagram, size_t size) {
  datagram.resize(size);
  return datagram;
}

struct ReplyCase {
  const char* what;
  Bytes datagram;
  DnsVerdict verdict;
  const char* reason;
  uint8_t rcode = 0;
};

TEST(DnsJudgeReply, Table) {
  const ReplyCase kCases[] = {
      {"NOERROR with answers", reply(0x1234, 0x8180, 40), DnsVerdict::kPassed, ""},
      {"NOERROR, header only (NODATA passes)", reply(0x1234, 0x8180), DnsVerdict::kPassed, ""},
      {"truncated (TC) is judged like any reply", reply(0x1234, 0x8380), DnsVerdict::kPassed, ""},
      {"any opcode, AA", reply(0x1234, 0xfc00), DnsVerdict::kPassed, ""},
      {"FORMERR", reply(0x1234, 0x8181), DnsVerdict::kFailed, "RCODE 1 (FORMERR)", 1},
      {"SERVFAIL", reply(0x1234, 0x8182), DnsVerdict::kFailed, "RCODE 2 (SERVFAIL)", 2},
      {"NXDOMAIN", reply(0x1234, 0x8183), DnsVerdict::kFailed, "RCODE 3 (NXDOMAIN)", 3},
      {"NOTIMP", reply(0x1234, 0x8184), DnsVerdict::kFailed, "RCODE 4 (NOTIMP)", 4},
      {"REFUSED", reply(0x1234, 0x8185), DnsVerdict::kFailed, "RCODE 5 (REFUSED)", 5},
      {"NOTZONE", reply(0x1234, 0x818a), DnsVerdict::kFailed, "RCODE 10 (NOTZONE)", 10},
      {"unassigned RCODE", reply(0x1234, 0x818f), DnsVerdict::kFailed, "RCODE 15", 15},
      {"another ID", reply(0x1235, 0x8180), DnsVerdict::kIgnore, "ID 0x1235, expected 0x1234"},
      {"a query (QR=0)", reply(0x1234, 0x0100), DnsVerdict::kIgnore, "a query, not a response"},
      {"a query with an RCODE is still ignored", reply(0x1234, 0x0003), DnsVerdict::kIgnore,
       "a query, not a response"},
      {"empty", {}, DnsVerdict::kIgnore, "reply of 0 bytes, shorter than a DNS header"},
      {"11 bytes", shorter(reply(0x1234, 0x8180), 11), DnsVerdict::kIgnore,
       "reply of 11 bytes, shorter than a DNS header"},
  };
  for (const auto& c : kCases) {
    const DnsJudgement j = judge_dns_reply(c.datagram, 0x1234);
    EXPECT_EQ(j.verdict, c.verdict) << c.what << ": " << to_string(j.verdict);
    EXPECT_EQ(j.reason, c.reason) << c.what;
    EXPECT_EQ(j.rcode, c.rcode) << c.what;
  }
}

TEST(DnsJudgeReply, RcodeNames) {
  EXPECT_EQ(dns_rcode_name(0), "NOERROR");
  EXPECT_EQ(dns_rcode_name(6), "YXDOMAIN");
  EXPECT_EQ(dns_rcode_name(9), "NOTAUTH");
  EXPECT_EQ(dns_rcode_name(11), "");
  EXPECT_EQ(dns_rcode_name(200), "");
}

}  // namespace
}  // namespace vigil::check
