// PING_CHECK's pure packet code (check_io/icmp_echo.h): the echo request's bytes (RFC 792, RFC
// 4443 §4.1) and the judge of each received message, table-driven for IPv4 (datagram and raw
// sockets, the latter with the IPv4 header first) and IPv6. Only our echo reply passes; an ICMP
// error that quotes our request fails; everything else is ignored.
#include "check_io/icmp_echo.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::check_io {
namespace {

using Bytes = std::vector<uint8_t>;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

EchoRequest request_to(const char* target) {
  return EchoRequest{
      .target = ip(target), .id = 0x1234, .sequence = 0x0102, .payload = {'v', 'i', 'g', 'i', 'l'}};
}

// An ICMP message: type, code, checksum 0, then id and sequence (or the 4 "unused" bytes of an
// error), then `rest`.
Bytes icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t sequence, const Bytes& rest) {
  Bytes out = {type,
               code,
               0,
               0,
               static_cast<uint8_t>(id >> 8),
               static_cast<uint8_t>(id),
               static_cast<uint8_t>(sequence >> 8),
               static_cast<uint8_t>(sequence)};
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

// A 20-byte IPv4 header (protocol, source, destination) in front of `payload`.
Bytes ipv4(uint8_t protocol, const IpAddress& source, const IpAddress& destination,
           const Bytes& payload) {
  Bytes out = {0x45, 0, 0, 0, 0, 0, 0, 0, 64, protocol, 0, 0};
  out.insert(out.end(), source.bytes(), source.bytes() + 4);
  out.insert(out.end(), destination.bytes(), destination.bytes() + 4);
  const size_t total = out.size() + payload.size();
  out[2] = static_cast<uint8_t>(total >> 8);
  out[3] = static_cast<uint8_t>(total);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// A 40-byte IPv6 header (next header, source, destination) in front of `payload`.
Bytes ipv6(uint8_t next_header, const IpAddress& source, const IpAddress& destination,
           const Bytes& payload) {
  Bytes out = {0x60,
               0,
               0,
               0,
               static_cast<uint8_t>(payload.size() >> 8),
               static_cast<uint8_t>(payload.size()),
               next_header,
               64};
  out.insert(out.end(), source.bytes(), source.bytes() + 16);
  out.insert(out.end(), destination.bytes(), destination.bytes() + 16);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

constexpr uint8_t kProtocolIcmp = 1;
constexpr uint8_t kProtocolUdp = 17;
constexpr uint8_t kProtocolIcmpV6 = 58;

TEST(EchoRequestBytes, Ipv4EchoWithAValidChecksum) {
  const EchoRequest request = request_to("192.0.2.1");
  const Bytes bytes = echo_request_bytes(request);
  ASSERT_EQ(bytes.size(), kIcmpHeaderBytes + 5);
  EXPECT_EQ(bytes[0], 8);  // echo
  EXPECT_EQ(bytes[1], 0);
  EXPECT_EQ(Bytes(bytes.begin() + 4, bytes.begin() + 8), (Bytes{0x12, 0x34, 0x01, 0x02}));
  EXPECT_EQ(Bytes(bytes.begin() + 8, bytes.end()), request.payload);
  EXPECT_NE(bytes[2] | bytes[3], 0);
  EXPECT_EQ(internet_checksum(bytes), 0);  // a message with its checksum sums to 0
}

TEST(EchoRequestBytes, Ipv6EchoLeavesTheChecksumToTheKernel) {
  const EchoRequest request = request_to("2001:db8::1");
  const Bytes bytes = echo_request_bytes(request);
  ASSERT_EQ(bytes.size(), kIcmpHeaderBytes + 5);
  EXPECT_EQ(bytes[0], 128);  // echo request
  EXPECT_EQ(bytes[1], 0);
  EXPECT_EQ(bytes[2], 0);
  EXPECT_EQ(bytes[3], 0);
  EXPECT_EQ(Bytes(bytes.begin() + 4, bytes.begin() + 8), (Bytes{0x12, 0x34, 0x01, 0x02}));
  EXPECT_EQ(Bytes(bytes.begin() + 8, bytes.end()), request.payload);
}

TEST(EchoRequestBytes, EmptyPayload) {
  EchoRequest request = request_to("192.0.2.1");
  request.payload.clear();
  const Bytes bytes = echo_request_bytes(request);
  EXPECT_EQ(bytes.size(), kIcmpHeaderBytes);
  EXPECT_EQ(internet_checksum(bytes), 0);
}

TEST(InternetChecksum, Rfc1071Example) {
  // RFC 1071 §3: these bytes sum to 0xddf2 (one's complement), so the checksum is 0x220d.
  EXPECT_EQ(internet_checksum(Bytes{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}), 0x220d);
  // An odd length pads with a zero byte.
  EXPECT_EQ(internet_checksum(Bytes{0x00, 0x01, 0xf2}),
            internet_checksum(Bytes{0x00, 0x01, 0xf2, 0}));
  EXPECT_EQ(internet_checksum(Bytes{}), 0xffff);
  // Carries fold back in.
  EXPECT_EQ(internet_checksum(Bytes{0xff, 0xff, 0x00, 0x01}), 0xfffe);
}

struct JudgeCase {
  std::string what;
  std::string source;
  Bytes message;
  EchoVerdict verdict;
  std::string reason;  // checked for kError only
};

void check_cases(const EchoRequest& request, const std::vector<JudgeCase>& cases,
                 bool ip_header_first) {
  for (const auto& c : cases) {
    const EchoJudgement judgement =
        judge_echo_message(request, ip(c.source.c_str()), c.message, ip_header_first);
    EXPECT_EQ(judgement.verdict, c.verdict) << c.what << ": " << judgement.reason;
    if (c.verdict == EchoVerdict::kError) {
      EXPECT_EQ(judgement.reason, c.reason) << c.what;
    }
    if (c.verdict == EchoVerdict::kIgnore) {
      EXPECT_FALSE(judgement.reason.empty()) << c.what;
    }
  }
}

const IpAddress kV4Target = ip("192.0.2.1");
const IpAddress kV4Self = ip("198.51.100.7");
const IpAddress kV4Other = ip("192.0.2.99");

// The v4 cases, as the ICMP message alone (a datagram socket; the raw socket's are these with an
// IPv4 header in front).
std::vector<JudgeCase> v4_cases() {
  const Bytes payload = {'v', 'i', 'g', 'i', 'l'};
  const Bytes ours = ipv4(kProtocolIcmp, kV4Self, kV4Target, icmp(8, 0, 0x1234, 0x0102, payload));
  const Bytes others_id =
      ipv4(kProtocolIcmp, kV4Self, kV4Target, icmp(8, 0, 0x1235, 0x0102, payload));
  const Bytes others_sequence =
      ipv4(kProtocolIcmp, kV4Self, kV4Target, icmp(8, 0, 0x1234, 0x0103, payload));
  const Bytes to_another = ipv4(kProtocolIcmp, kV4Self, kV4Other, icmp(8, 0, 0x1234, 0x0102, {}));
  const Bytes a_reply_quoted =
      ipv4(kProtocolIcmp, kV4Self, kV4Target, icmp(0, 0, 0x1234, 0x0102, {}));
  const Bytes udp = ipv4(kProtocolUdp, kV4Self, kV4Target, Bytes(8, 0));
  // RFC 792: the quote is the IP header and the first 8 bytes of its data.
  const Bytes ours_minimal(ours.begin(), ours.begin() + 28);
  const Bytes ours_cut(ours.begin(), ours.begin() + 27);
  return {
      {"our echo reply", "192.0.2.1", icmp(0, 0, 0x1234, 0x0102, payload), EchoVerdict::kReply, ""},
      {"another id", "192.0.2.1", icmp(0, 0, 0x1235, 0x0102, payload), EchoVerdict::kIgnore, ""},
      {"another sequence", "192.0.2.1", icmp(0, 0, 0x1234, 0x0103, payload), EchoVerdict::kIgnore,
       ""},
      {"another payload", "192.0.2.1", icmp(0, 0, 0x1234, 0x0102, {'v', 'i', 'g', 'i', 'L'}),
       EchoVerdict::kIgnore, ""},
      {"a shorter payload", "192.0.2.1", icmp(0, 0, 0x1234, 0x0102, {'v', 'i', 'g', 'i'}),
       EchoVerdict::kIgnore, ""},
      {"a longer payload", "192.0.2.1", icmp(0, 0, 0x1234, 0x0102, {'v', 'i', 'g', 'i', 'l', 0}),
       EchoVerdict::kIgnore, ""},
      {"from another source", "192.0.2.99", icmp(0, 0, 0x1234, 0x0102, payload),
       EchoVerdict::kIgnore, ""},
      {"our own request", "192.0.2.1", icmp(8, 0, 0x1234, 0x0102, payload), EchoVerdict::kIgnore,
       ""},
      {"7 bytes", "192.0.2.1", Bytes{0, 0, 0, 0, 0x12, 0x34, 0x01}, EchoVerdict::kIgnore, ""},
      {"nothing", "192.0.2.1", Bytes{}, EchoVerdict::kIgnore, ""},
      {"a redirect", "192.0.2.1", icmp(5, 1, 0, 0, ours), EchoVerdict::kIgnore, ""},
      {"host unreachable about ours", "192.0.2.254", icmp(3, 1, 0, 0, ours), EchoVerdict::kError,
       "destination unreachable (host unreachable) from 192.0.2.254"},
      {"network unreachable about ours, minimal quote", "192.0.2.254",
       icmp(3, 0, 0, 0, ours_minimal), EchoVerdict::kError,
       "destination unreachable (network unreachable) from 192.0.2.254"},
      {"administratively prohibited about ours", "192.0.2.254", icmp(3, 13, 0, 0, ours),
       EchoVerdict::kError,
       "destination unreachable (administratively prohibited) from 192.0.2.254"},
      {"an unusual unreachable code", "192.0.2.254", icmp(3, 7, 0, 0, ours), EchoVerdict::kError,
       "destination unreachable (code 7) from 192.0.2.254"},
      {"time exceeded about ours", "192.0.2.254", icmp(11, 0, 0, 0, ours), EchoVerdict::kError,
       "time exceeded from 192.0.2.254"},
      {"parameter problem about ours", "192.0.2.1", icmp(12, 0, 0, 0, ours), EchoVerdict::kError,
       "parameter problem from 192.0.2.1"},
      {"unreachable about another id", "192.0.2.254", icmp(3, 1, 0, 0, others_id),
       EchoVerdict::kIgnore, ""},
      {"unreachable about another sequence", "192.0.2.254", icmp(3, 1, 0, 0, others_sequence),
       EchoVerdict::kIgnore, ""},
      {"time exceeded about another id", "192.0.2.254", icmp(11, 0, 0, 0, others_id),
       EchoVerdict::kIgnore, ""},
      {"unreachable about a request to another host", "192.0.2.254", icmp(3, 1, 0, 0, to_another),
       EchoVerdict::kIgnore, ""},
      {"unreachable about an echo reply", "192.0.2.254", icmp(3, 1, 0, 0, a_reply_quoted),
       EchoVerdict::kIgnore, ""},
      {"unreachable about UDP", "192.0.2.254", icmp(3, 3, 0, 0, udp), EchoVerdict::kIgnore, ""},
      {"unreachable quoting too little", "192.0.2.254", icmp(3, 1, 0, 0, ours_cut),
       EchoVerdict::kIgnore, ""},
      {"unreachable quoting nothing", "192.0.2.254", icmp(3, 1, 0, 0, {}), EchoVerdict::kIgnore,
       ""},
      {"unreachable quoting an IPv6 header", "192.0.2.254",
       icmp(3, 1, 0, 0, ipv6(kProtocolIcmpV6, ip("2001:db8::7"), ip("2001:db8::1"), Bytes(8, 0))),
       EchoVerdict::kIgnore, ""},
      {"from an IPv6 source", "2001:db8::1", icmp(0, 0, 0x1234, 0x0102, payload),
       EchoVerdict::kIgnore, ""},
  };
}

TEST(JudgeEchoMessage, Ipv4DatagramSocket) {
  check_cases(request_to("192.0.2.1"), v4_cases(), /*ip_header_first=*/false);
}

TEST(JudgeEchoMessage, Ipv4RawSocketSeesTheIpHeaderFirst) {
  std::vector<JudgeCase> cases;
  for (auto c : v4_cases()) {
    c.message = ipv4(kProtocolIcmp, ip(c.source.c_str()).is_v4() ? ip(c.source.c_str()) : kV4Other,
                     kV4Self, c.message);
    c.what += " (raw)";
    cases.push_back(std::move(c));
  }
  const Bytes payload = {'v', 'i', 'g', 'i', 'l'};
  const Bytes reply = icmp(0, 0, 0x1234, 0x0102, payload);
  Bytes with_options = ipv4(kProtocolIcmp, kV4Target, kV4Self, Bytes(4, 1));  // IHL 6
  with_options[0] = 0x46;
  with_options.insert(with_options.end(), reply.begin(), reply.end());
  Bytes bad_ihl = ipv4(kProtocolIcmp, kV4Target, kV4Self, reply);
  bad_ihl[0] = 0x44;  // 16 bytes: shorter than any IPv4 header
  Bytes long_ihl = ipv4(kProtocolIcmp, kV4Target, kV4Self, {});
  long_ihl[0] = 0x4f;  // 60 bytes, more than the packet
  cases.insert(
      cases.end(),
      {
          {"IPv4 options before the reply", "192.0.2.1", with_options, EchoVerdict::kReply, ""},
          {"not ICMP", "192.0.2.1", ipv4(kProtocolUdp, kV4Target, kV4Self, reply),
           EchoVerdict::kIgnore, ""},
          {"an IPv6 header", "192.0.2.1",
           ipv6(kProtocolIcmpV6, ip("2001:db8::1"), ip("2001:db8::7"), reply), EchoVerdict::kIgnore,
           ""},
          {"a header length under 20", "192.0.2.1", bad_ihl, EchoVerdict::kIgnore, ""},
          {"a header length past the end", "192.0.2.1", long_ihl, EchoVerdict::kIgnore, ""},
          {"an IPv4 header alone", "192.0.2.1", ipv4(kProtocolIcmp, kV4Target, kV4Self, {}),
           EchoVerdict::kIgnore, ""},
          {"a short IPv4 header", "192.0.2.1", Bytes{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1},
           EchoVerdict::kIgnore, ""},
      });
  check_cases(request_to("192.0.2.1"), cases, /*ip_header_first=*/true);
}

TEST(JudgeEchoMessage, Ipv6) {
  const IpAddress target = ip("2001:db8::1");
  const IpAddress self = ip("2001:db8:1::7");
  const Bytes payload = {'v', 'i', 'g', 'i', 'l'};
  const Bytes ours = ipv6(kProtocolIcmpV6, self, target, icmp(128, 0, 0x1234, 0x0102, payload));
  const Bytes others_id =
      ipv6(kProtocolIcmpV6, self, target, icmp(128, 0, 0x1235, 0x0102, payload));
  const Bytes others_sequence =
      ipv6(kProtocolIcmpV6, self, target, icmp(128, 0, 0x1234, 0x0103, payload));
  const Bytes to_another =
      ipv6(kProtocolIcmpV6, self, ip("2001:db8::99"), icmp(128, 0, 0x1234, 0x0102, payload));
  const Bytes udp = ipv6(17, self, target, Bytes(8, 0));
  const Bytes ours_cut(ours.begin(), ours.begin() + 47);
  const std::vector<JudgeCase> cases = {
      {"our echo reply", "2001:db8::1", icmp(129, 0, 0x1234, 0x0102, payload), EchoVerdict::kReply,
       ""},
      {"another id", "2001:db8::1", icmp(129, 0, 0x1235, 0x0102, payload), EchoVerdict::kIgnore,
       ""},
      {"another sequence", "2001:db8::1", icmp(129, 0, 0x1234, 0x0103, payload),
       EchoVerdict::kIgnore, ""},
      {"another payload", "2001:db8::1", icmp(129, 0, 0x1234, 0x0102, {'V', 'i', 'g', 'i', 'l'}),
       EchoVerdict::kIgnore, ""},
      {"a truncated payload", "2001:db8::1", icmp(129, 0, 0x1234, 0x0102, {'v'}),
       EchoVerdict::kIgnore, ""},
      {"from another source", "2001:db8::2", icmp(129, 0, 0x1234, 0x0102, payload),
       EchoVerdict::kIgnore, ""},
      {"from an IPv4 source", "192.0.2.1", icmp(129, 0, 0x1234, 0x0102, payload),
       EchoVerdict::kIgnore, ""},
      {"an ICMP (v4) echo reply type", "2001:db8::1", icmp(0, 0, 0x1234, 0x0102, payload),
       EchoVerdict::kIgnore, ""},
      {"our own request", "2001:db8::1", icmp(128, 0, 0x1234, 0x0102, payload),
       EchoVerdict::kIgnore, ""},
      {"7 bytes", "2001:db8::1", Bytes{129, 0, 0, 0, 0x12, 0x34, 0x01}, EchoVerdict::kIgnore, ""},
      {"a neighbour advertisement", "2001:db8::1", icmp(136, 0, 0, 0, Bytes(16, 0)),
       EchoVerdict::kIgnore, ""},
      {"no route about ours", "2001:db8::fe", icmp(1, 0, 0, 0, ours), EchoVerdict::kError,
       "destination unreachable (no route) from 2001:db8::fe"},
      {"address unreachable about ours", "2001:db8::fe", icmp(1, 3, 0, 0, ours),
       EchoVerdict::kError, "destination unreachable (address unreachable) from 2001:db8::fe"},
      {"administratively prohibited about ours", "2001:db8::fe", icmp(1, 1, 0, 0, ours),
       EchoVerdict::kError,
       "destination unreachable (administratively prohibited) from 2001:db8::fe"},
      {"reject route about ours", "2001:db8::fe", icmp(1, 6, 0, 0, ours), EchoVerdict::kError,
       "destination unreachable (reject route) from 2001:db8::fe"},
      {"packet too big about ours", "2001:db8::fe", icmp(2, 0, 0, 1280, ours), EchoVerdict::kError,
       "packet too big from 2001:db8::fe"},
      {"time exceeded about ours", "2001:db8::fe", icmp(3, 0, 0, 0, ours), EchoVerdict::kError,
       "time exceeded from 2001:db8::fe"},
      {"parameter problem about ours", "2001:db8::fe", icmp(4, 0, 0, 0, ours), EchoVerdict::kError,
       "parameter problem from 2001:db8::fe"},
      {"unreachable about another id", "2001:db8::fe", icmp(1, 3, 0, 0, others_id),
       EchoVerdict::kIgnore, ""},
      {"unreachable about another sequence", "2001:db8::fe", icmp(1, 3, 0, 0, others_sequence),
       EchoVerdict::kIgnore, ""},
      {"time exceeded about another id", "2001:db8::fe", icmp(3, 0, 0, 0, others_id),
       EchoVerdict::kIgnore, ""},
      {"unreachable about a request to another host", "2001:db8::fe", icmp(1, 3, 0, 0, to_another),
       EchoVerdict::kIgnore, ""},
      {"unreachable about UDP", "2001:db8::fe", icmp(1, 4, 0, 0, udp), EchoVerdict::kIgnore, ""},
      {"unreachable quoting too little", "2001:db8::fe", icmp(1, 3, 0, 0, ours_cut),
       EchoVerdict::kIgnore, ""},
      {"unreachable quoting an IPv4 header", "2001:db8::fe",
       icmp(1, 3, 0, 0, ipv4(kProtocolIcmp, kV4Self, kV4Target, icmp(8, 0, 0x1234, 0x0102, {}))),
       EchoVerdict::kIgnore, ""},
  };
  check_cases(request_to("2001:db8::1"), cases, /*ip_header_first=*/false);
  // An IPv6 raw socket hands over the ICMPv6 message alone: the flag changes nothing.
  check_cases(request_to("2001:db8::1"), cases, /*ip_header_first=*/true);
}

TEST(JudgeQueuedError, OnlyAnErrorQuotingOurRequestFails) {
  const EchoRequest v4 = request_to("192.0.2.1");
  const EchoRequest v6 = request_to("2001:db8::1");
  const Bytes payload = {'v', 'i', 'g', 'i', 'l'};
  struct Case {
    const char* what;
    const EchoRequest& request;
    const char* offender;
    uint8_t type;
    uint8_t code;
    Bytes quoted;
    EchoVerdict verdict;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"v4 host unreachable about ours", v4, "10.9.0.254", 3, 1,
       icmp(8, 0, 0x1234, 0x0102, payload), EchoVerdict::kError,
       "destination unreachable (host unreachable) from 10.9.0.254"},
      {"v4 time exceeded about ours, header only", v4, "10.9.0.254", 11, 0,
       icmp(8, 0, 0x1234, 0x0102, {}), EchoVerdict::kError, "time exceeded from 10.9.0.254"},
      {"v4 about another id", v4, "10.9.0.254", 3, 1, icmp(8, 0, 0x4321, 0x0102, payload),
       EchoVerdict::kIgnore, ""},
      {"v4 about another sequence", v4, "10.9.0.254", 3, 1, icmp(8, 0, 0x1234, 0x0101, payload),
       EchoVerdict::kIgnore, ""},
      {"v4 about a reply", v4, "10.9.0.254", 3, 1, icmp(0, 0, 0x1234, 0x0102, payload),
       EchoVerdict::kIgnore, ""},
      {"v4 quoting 7 bytes", v4, "10.9.0.254", 3, 1, Bytes{8, 0, 0, 0, 0x12, 0x34, 0x01},
       EchoVerdict::kIgnore, ""},
      {"v4 a type that is no error", v4, "10.9.0.254", 5, 0, icmp(8, 0, 0x1234, 0x0102, payload),
       EchoVerdict::kIgnore, ""},
      {"v4 from an IPv6 offender", v4, "2001:db8::fe", 3, 1, icmp(8, 0, 0x1234, 0x0102, payload),
       EchoVerdict::kIgnore, ""},
      {"v6 no route about ours", v6, "2001:db8:9::fe", 1, 0, icmp(128, 0, 0x1234, 0x0102, payload),
       EchoVerdict::kError, "destination unreachable (no route) from 2001:db8:9::fe"},
      {"v6 about another id", v6, "2001:db8:9::fe", 1, 0, icmp(128, 0, 0x1235, 0x0102, payload),
       EchoVerdict::kIgnore, ""},
      {"v6 about an ICMP (v4) echo", v6, "2001:db8:9::fe", 1, 0,
       icmp(8, 0, 0x1234, 0x0102, payload), EchoVerdict::kIgnore, ""},
  };
  for (const auto& c : cases) {
    const auto judgement = judge_queued_error(c.request, ip(c.offender), c.type, c.code, c.quoted);
    EXPECT_EQ(judgement.verdict, c.verdict) << c.what << ": " << judgement.reason;
    if (c.verdict == EchoVerdict::kError) {
      EXPECT_EQ(judgement.reason, c.reason) << c.what;
    }
  }
}

TEST(JudgeEchoMessage, RequestBytesLoopedBackAreNotAReply) {
  for (const char* target : {"192.0.2.1", "2001:db8::1"}) {
    const EchoRequest request = request_to(target);
    const auto judgement =
        judge_echo_message(request, request.target, echo_request_bytes(request), false);
    EXPECT_EQ(judgement.verdict, EchoVerdict::kIgnore) << target;
  }
}

}  // namespace
}  // namespace vigil::check_io
