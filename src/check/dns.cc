// DNS_CHECK query bytes and reply judgement; see dns.h.
#include "check/dns.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace vigil::check {

namespace {

void put16(std::vector<uint8_t>& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value & 0xff));
}

constexpr uint16_t kFlagRecursionDesired = 0x0100;
constexpr uint16_t kFlagResponse = 0x8000;
constexpr uint16_t kClassIn = 1;

std::string hex16(uint16_t value) {
  std::array<char, 8> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "0x%04x", value);
  return buffer.data();
}

}  // namespace

uint16_t dns_qtype(config::DnsType type) {
  using config::DnsType;
  switch (type) {
    case DnsType::kA:
      return 1;
    case DnsType::kNs:
      return 2;
    case DnsType::kCname:
      return 5;
    case DnsType::kSoa:
      return 6;
    case DnsType::kMx:
      return 15;
    case DnsType::kTxt:
      return 16;
    case DnsType::kAaaa:
      return 28;
    case DnsType::kRrsig:
      return 46;
    case DnsType::kDnskey:
      return 48;
  }
  return 0;
}

Result<std::vector<uint8_t>> dns_encode_name(std::string_view name) {
  std::vector<uint8_t> out;
  if (name != ".") {
    size_t start = 0;
    while (start < name.size()) {
      const size_t dot = std::min(name.find('.', start), name.size());
      const size_t length = dot - start;
      if (length == 0) return Error{"DNS name '" + std::string(name) + "' has an empty label"};
      if (length > kDnsMaxLabelBytes) {
        return Error{"DNS name '" + std::string(name) + "' has a label of " +
                     std::to_string(length) + " bytes (at most 63)"};
      }
      out.push_back(static_cast<uint8_t>(length));
      out.insert(out.end(), name.begin() + static_cast<ptrdiff_t>(start),
                 name.begin() + static_cast<ptrdiff_t>(dot));
      start = dot + 1;
    }
  }
  out.push_back(0);  // the root
  if (out.size() > kDnsMaxNameBytes) {
    return Error{"DNS name '" + std::string(name) + "' is " + std::to_string(out.size()) +
                 " bytes encoded (at most 255)"};
  }
  return out;
}

Result<std::vector<uint8_t>> dns_query(const config::DnsCheck& check, uint16_t id) {
  auto name = dns_encode_name(check.name);
  if (!name.ok()) return name.error();
  std::vector<uint8_t> out;
  out.reserve(kDnsHeaderBytes + name->size() + 4);
  put16(out, id);
  put16(out, kFlagRecursionDesired);
  put16(out, 1);  // QDCOUNT
  put16(out, 0);  // ANCOUNT
  put16(out, 0);  // NSCOUNT
  put16(out, 0);  // ARCOUNT
  out.insert(out.end(), name->begin(), name->end());
  put16(out, dns_qtype(check.type));
  put16(out, kClassIn);
  return out;
}

std::string_view to_string(DnsVerdict verdict) {
  switch (verdict) {
    case DnsVerdict::kPassed:
      return "passed";
    case DnsVerdict::kIgnore:
      return "ignore";
    case DnsVerdict::kFailed:
      return "failed";
  }
  return "?";
}

std::string_view dns_rcode_name(uint8_t rcode) {
  // RFC 1035 §4.1.1 and RFC 2136 §2.2 (the 4-bit header RCODEs).
  static constexpr std::array<std::string_view, 16> kNames = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
      "NXRRSET", "NOTAUTH", "NOTZONE",  "",         "",       "",        "",         ""};
  return rcode < kNames.size() ? kNames[rcode] : "";
}

DnsJudgement judge_dns_reply(std::span<const uint8_t> reply, uint16_t query_id) {
  if (reply.size() < kDnsHeaderBytes) {
    return {DnsVerdict::kIgnore,
            "reply of " + std::to_string(reply.size()) + " bytes, shorter than a DNS header", 0};
  }
  const auto id = static_cast<uint16_t>((reply[0] << 8) | reply[1]);
  if (id != query_id) {
    return {DnsVerdict::kIgnore, "ID " + hex16(id) + ", expected " + hex16(query_id), 0};
  }
  const auto flags = static_cast<uint16_t>((reply[2] << 8) | reply[3]);
  if ((flags & kFlagResponse) == 0) return {DnsVerdict::kIgnore, "a query, not a response", 0};
  const auto rcode = static_cast<uint8_t>(flags & 0x000f);
  if (rcode != 0) {
    std::string reason = "RCODE " + std::to_string(rcode);
    if (auto name = dns_rcode_name(rcode); !name.empty()) reason += " (" + std::string(name) + ")";
    return {DnsVerdict::kFailed, std::move(reason), rcode};
  }
  return {DnsVerdict::kPassed, "", 0};
}

}  // namespace vigil::check
