// DNS_CHECK without I/O: the query keepalived 2.2.7 sends (check_dns.c) and its judgement of a
// reply. The I/O layer sends dns_query() on a connected UDP socket, feeds every datagram that
// arrives to judge_dns_reply() until one is not kIgnore or connect_timeout passes (a timeout is
// a failure), as keepalived does. There is no TCP fallback: a truncated (TC) reply is judged like
// any other.
//
// The query: a 12-byte header (the ID given, flags RD=1 and nothing else, QDCOUNT 1, other counts
// 0) and one question: the name as labels, QTYPE from the config, QCLASS IN. Name "." or "" is the
// root; a trailing dot changes nothing.
//
// A reply is judged on its header only (RFC 1035 §4.1.1), as keepalived does:
// - shorter than the 12-byte header: ignored, keep waiting;
// - another ID: ignored (a late reply to an earlier query, or spoofing);
// - QR=0 (a query, not a response): ignored;
// - RCODE != 0: failed, with the RCODE's name (NXDOMAIN, SERVFAIL, REFUSED, ...);
// - otherwise passed: the answer count, the question section and the TC bit are not looked at,
//   so a NODATA reply passes.
// keepalived 2.2.7 compares the length with sizeof a pointer (8 bytes on 64-bit hosts) rather
// than with the header's size, so it judges 8- to 11-byte datagrams by their first four bytes;
// vigil ignores them as too short for a DNS message.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/model_lvs.h"

namespace vigil::check {

inline constexpr size_t kDnsHeaderBytes = 12;
inline constexpr size_t kDnsMaxLabelBytes = 63;  // RFC 1035 §2.3.4
inline constexpr size_t kDnsMaxNameBytes = 255;  // encoded, with the root label

// The QTYPE code: A 1, NS 2, CNAME 5, SOA 6, MX 15, TXT 16, AAAA 28, RRSIG 46, DNSKEY 48.
uint16_t dns_qtype(config::DnsType type);

// The name as length-prefixed labels ending with the root label. Fails on an empty label
// (".a", "a..b"), a label over 63 bytes or an encoding over 255 bytes. Bytes other than '.' are
// copied as they are (no escapes), as keepalived does.
Result<std::vector<uint8_t>> dns_encode_name(std::string_view name);

// The query datagram for `check` with this ID (the caller draws it at random per query).
Result<std::vector<uint8_t>> dns_query(const config::DnsCheck& check, uint16_t id);

enum class DnsVerdict : uint8_t {
  kPassed,
  kIgnore,  // not the reply to this query: keep waiting
  kFailed,
};
std::string_view to_string(DnsVerdict verdict);

struct DnsJudgement {
  DnsVerdict verdict = DnsVerdict::kIgnore;
  // Empty when passed; otherwise why: "ID 0x1235, expected 0x1234", "RCODE 3 (NXDOMAIN)", ...
  std::string reason;
  uint8_t rcode = 0;  // the reply's RCODE, when it got that far
};

// Judges one datagram received on the query's socket.
DnsJudgement judge_dns_reply(std::span<const uint8_t> reply, uint16_t query_id);

// "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
// "NXRRSET", "NOTAUTH", "NOTZONE"; "" for the unassigned values 11-15.
std::string_view dns_rcode_name(uint8_t rcode);

}  // namespace vigil::check
