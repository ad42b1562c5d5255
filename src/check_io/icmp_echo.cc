// PING_CHECK's echo request and reply judge; see icmp_echo.h.
#include "check_io/icmp_echo.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace vigil::check_io {

namespace {

// RFC 792 and RFC 4443 message types.
constexpr uint8_t kV4EchoReply = 0;
constexpr uint8_t kV4Unreachable = 3;
constexpr uint8_t kV4Echo = 8;
constexpr uint8_t kV4TimeExceeded = 11;
constexpr uint8_t kV4ParameterProblem = 12;
constexpr uint8_t kV6Unreachable = 1;
constexpr uint8_t kV6PacketTooBig = 2;
constexpr uint8_t kV6TimeExceeded = 3;
constexpr uint8_t kV6ParameterProblem = 4;
constexpr uint8_t kV6Echo = 128;
constexpr uint8_t kV6EchoReply = 129;

constexpr uint8_t kProtocolIcmp = 1;
constexpr uint8_t kProtocolIcmpV6 = 58;
constexpr size_t kIpv4MinHeaderBytes = 20;
constexpr size_t kIpv6HeaderBytes = 40;

uint16_t read16(std::span<const uint8_t> bytes, size_t at) {
  return static_cast<uint16_t>((bytes[at] << 8) | bytes[at + 1]);
}

bool same_address(std::span<const uint8_t> bytes, const IpAddress& address) {
  return bytes.size() == address.size() && std::equal(bytes.begin(), bytes.end(), address.bytes());
}

EchoJudgement ignore(std::string reason) {
  return {.verdict = EchoVerdict::kIgnore, .reason = std::move(reason)};
}

// The header length of the IPv4 packet at the start of `bytes`, or 0 if it is not one.
size_t ipv4_header_length(std::span<const uint8_t> bytes) {
  if (bytes.size() < kIpv4MinHeaderBytes || (bytes[0] >> 4) != 4) return 0;
  const size_t length = size_t{bytes[0] & 0x0fU} * 4;
  if (length < kIpv4MinHeaderBytes || length > bytes.size()) return 0;
  return length;
}

std::string error_name(bool v4, uint8_t type, uint8_t code) {
  if (v4) {
    if (type == kV4TimeExceeded) return "time exceeded";
    if (type == kV4ParameterProblem) return "parameter problem";
    switch (code) {
      case 0:
        return "destination unreachable (network unreachable)";
      case 1:
        return "destination unreachable (host unreachable)";
      case 2:
        return "destination unreachable (protocol unreachable)";
      case 3:
        return "destination unreachable (port unreachable)";
      case 4:
        return "destination unreachable (fragmentation needed)";
      case 9:
      case 10:
      case 13:
        return "destination unreachable (administratively prohibited)";
      default:
        return fmt::format("destination unreachable (code {})", code);
    }
  }
  if (type == kV6PacketTooBig) return "packet too big";
  if (type == kV6TimeExceeded) return "time exceeded";
  if (type == kV6ParameterProblem) return "parameter problem";
  switch (code) {
    case 0:
      return "destination unreachable (no route)";
    case 1:
      return "destination unreachable (administratively prohibited)";
    case 3:
      return "destination unreachable (address unreachable)";
    case 4:
      return "destination unreachable (port unreachable)";
    case 6:
      return "destination unreachable (reject route)";
    default:
      return fmt::format("destination unreachable (code {})", code);
  }
}

bool is_error(bool v4, uint8_t type) {
  if (v4) return type == kV4Unreachable || type == kV4TimeExceeded || type == kV4ParameterProblem;
  return type == kV6Unreachable || type == kV6PacketTooBig || type == kV6TimeExceeded ||
         type == kV6ParameterProblem;
}

// The ICMP error (type, code) from `source` quoting `quoted_icmp`: ours if that is our echo
// request.
EchoJudgement judge_quoted(const EchoRequest& request, const IpAddress& source, uint8_t type,
                           uint8_t code, std::span<const uint8_t> quoted_icmp) {
  const bool v4 = request.target.is_v4();
  if (quoted_icmp.size() < kIcmpHeaderBytes) return ignore("ICMP error quoting too little");
  if (quoted_icmp[0] != (v4 ? kV4Echo : kV6Echo) || read16(quoted_icmp, 4) != request.id ||
      read16(quoted_icmp, 6) != request.sequence)
    return ignore("ICMP error about another message");
  return {.verdict = EchoVerdict::kError,
          .reason = error_name(v4, type, code) + " from " + source.to_string()};
}

// An ICMP error quotes the start of the packet it is about (RFC 792: the IP header and 8 bytes;
// RFC 4443 §2.4: as much as fits): ours is an echo request to the target with our id and sequence.
EchoJudgement judge_error(const EchoRequest& request, const IpAddress& source,
                          std::span<const uint8_t> icmp) {
  const bool v4 = request.target.is_v4();
  std::span<const uint8_t> quoted = icmp.subspan(kIcmpHeaderBytes);
  std::span<const uint8_t> quoted_icmp;
  if (v4) {
    const size_t header = ipv4_header_length(quoted);
    if (header == 0) return ignore("ICMP error quoting no IPv4 header");
    if (quoted[9] != kProtocolIcmp) return ignore("ICMP error about another protocol");
    if (!same_address(quoted.subspan(16, 4), request.target))
      return ignore("ICMP error about another destination");
    quoted_icmp = quoted.subspan(header);
  } else {
    if (quoted.size() < kIpv6HeaderBytes || (quoted[0] >> 4) != 6)
      return ignore("ICMPv6 error quoting no IPv6 header");
    if (quoted[6] != kProtocolIcmpV6) return ignore("ICMPv6 error about another protocol");
    if (!same_address(quoted.subspan(24, 16), request.target))
      return ignore("ICMPv6 error about another destination");
    quoted_icmp = quoted.subspan(kIpv6HeaderBytes);
  }
  return judge_quoted(request, source, icmp[0], icmp[1], quoted_icmp);
}

}  // namespace

uint16_t internet_checksum(std::span<const uint8_t> bytes) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2)
    sum += static_cast<uint32_t>((bytes[i] << 8) | bytes[i + 1]);
  if (bytes.size() % 2 != 0) sum += static_cast<uint32_t>(bytes.back() << 8);
  while ((sum >> 16) != 0)
    sum = (sum & 0xffffU) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> echo_request_bytes(const EchoRequest& request) {
  const bool v4 = request.target.is_v4();
  std::vector<uint8_t> out(kIcmpHeaderBytes + request.payload.size());
  out[0] = v4 ? kV4Echo : kV6Echo;
  out[4] = static_cast<uint8_t>(request.id >> 8);
  out[5] = static_cast<uint8_t>(request.id);
  out[6] = static_cast<uint8_t>(request.sequence >> 8);
  out[7] = static_cast<uint8_t>(request.sequence);
  std::copy(request.payload.begin(), request.payload.end(), out.begin() + kIcmpHeaderBytes);
  if (v4) {
    const uint16_t checksum = internet_checksum(out);
    out[2] = static_cast<uint8_t>(checksum >> 8);
    out[3] = static_cast<uint8_t>(checksum);
  }
  return out;
}

EchoJudgement judge_echo_message(const EchoRequest& request, const IpAddress& source,
                                 std::span<const uint8_t> message, bool ip_header_first) {
  const bool v4 = request.target.is_v4();
  if (source.family() != request.target.family()) return ignore("from another address family");
  std::span<const uint8_t> icmp = message;
  if (ip_header_first && v4) {
    const size_t header = ipv4_header_length(message);
    if (header == 0) return ignore("not an IPv4 packet");
    if (message[9] != kProtocolIcmp) return ignore("not ICMP");
    icmp = message.subspan(header);
  }
  if (icmp.size() < kIcmpHeaderBytes)
    return ignore(fmt::format("{} bytes, shorter than an ICMP header", icmp.size()));
  const uint8_t type = icmp[0];
  if (type == (v4 ? kV4EchoReply : kV6EchoReply)) {
    if (source != request.target) return ignore("echo reply from " + source.to_string());
    if (read16(icmp, 4) != request.id || read16(icmp, 6) != request.sequence)
      return ignore(
          fmt::format("echo reply id {} sequence {}, not ours", read16(icmp, 4), read16(icmp, 6)));
    const auto payload = icmp.subspan(kIcmpHeaderBytes);
    if (!std::equal(payload.begin(), payload.end(), request.payload.begin(), request.payload.end()))
      return ignore(fmt::format("echo reply with another payload ({} bytes)", payload.size()));
    return {.verdict = EchoVerdict::kReply};
  }
  if (is_error(v4, type)) return judge_error(request, source, icmp);
  return ignore(fmt::format("ICMP{} type {}", v4 ? "" : "v6", type));
}

EchoJudgement judge_queued_error(const EchoRequest& request, const IpAddress& offender,
                                 uint8_t type, uint8_t code, std::span<const uint8_t> quoted_icmp) {
  const bool v4 = request.target.is_v4();
  if (offender.family() != request.target.family()) return ignore("from another address family");
  if (!is_error(v4, type))
    return ignore(fmt::format("queued ICMP{} type {}", v4 ? "" : "v6", type));
  return judge_quoted(request, offender, type, code, quoted_icmp);
}

}  // namespace vigil::check_io
