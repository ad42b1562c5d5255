// PING_CHECK's packets without I/O: the ICMP (RFC 792) / ICMPv6 (RFC 4443 §4) echo request it
// sends, and the judge of each message its socket receives. Pure, so every hostile byte pattern
// can be tested without a socket; ping_probe.cc only moves the bytes.
//
// A message is our reply only if it is an echo reply from the target with our id, our sequence
// number and our payload byte for byte. An ICMP error (destination unreachable, time exceeded,
// parameter problem) that quotes our echo request (to the target, our id and sequence) fails the
// probe. Everything else (our own request looped back, another prober's replies, truncated or
// malformed messages) is ignored, with the reason, for the caller to count.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"

namespace vigil::check_io {

// The ICMP header: type, code, checksum, id, sequence.
inline constexpr size_t kIcmpHeaderBytes = 8;

struct EchoRequest {
  IpAddress target;  // its family picks ICMP or ICMPv6
  uint16_t id = 0;   // a datagram socket replaces it with its own (read back after sending)
  uint16_t sequence = 0;
  std::vector<uint8_t> payload;
};

// The request's ICMP message. The IPv4 checksum is computed (a raw socket sends it as is; a
// datagram socket recomputes it); the ICMPv6 one is left 0, as the kernel always fills it in.
[[nodiscard]] std::vector<uint8_t> echo_request_bytes(const EchoRequest& request);

// RFC 1071 Internet checksum of `bytes`.
[[nodiscard]] uint16_t internet_checksum(std::span<const uint8_t> bytes);

enum class EchoVerdict : uint8_t {
  kReply,   // our echo reply: the probe passes
  kError,   // an ICMP error about our request: the probe fails
  kIgnore,  // not about our request
};

struct EchoJudgement {
  EchoVerdict verdict = EchoVerdict::kIgnore;
  // kError: "destination unreachable (host unreachable) from 192.0.2.254";
  // kIgnore: why, for a debug line.
  std::string reason;
};

// Judges one received message from `source`. `ip_header_first`: the message starts with its IPv4
// header (a raw IPv4 socket); ICMPv6 and datagram sockets hand over the ICMP message alone.
[[nodiscard]] EchoJudgement judge_echo_message(const EchoRequest& request, const IpAddress& source,
                                               std::span<const uint8_t> message,
                                               bool ip_header_first);

// Judges one ICMP error the kernel queued on the socket (IP_RECVERR / IPV6_RECVERR, read with
// MSG_ERRQUEUE): its type and code, the address that sent it (`offender`) and the start of the
// message it quotes, which the kernel hands over from its ICMP header on (for us, an echo
// request). kError when that is our request (our id and sequence), kIgnore otherwise: a raw socket
// is told about errors for every ICMP message to its target, other programs' pings included.
[[nodiscard]] EchoJudgement judge_queued_error(const EchoRequest& request,
                                               const IpAddress& offender, uint8_t type,
                                               uint8_t code, std::span<const uint8_t> quoted_icmp);

}  // namespace vigil::check_io
