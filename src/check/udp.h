// UDP_CHECK without I/O: the datagram keepalived 2.2.7 sends (core/layer4.c, check_udp.c) and its
// judgement of the reply. The I/O layer sends udp_payload() on a connected socket with
// IP_RECVERR and waits connect_timeout for one datagram or an ICMP error:
// - an ICMP error (or another receive error) fails the check;
// - a timeout passes unless require_reply is set (udp_timeout_passes());
// - a datagram is judged by judge_udp_reply().
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "config/model_lvs.h"

namespace vigil::check {

// keepalived's payload when none is configured: "keepalived check - " repeated to fill 32 bytes,
// "keepalived check - keepalived ch" (the manual calls it random; it is not).
inline constexpr size_t kUdpDefaultPayloadBytes = 32;
const std::array<uint8_t, kUdpDefaultPayloadBytes>& udp_default_payload();

// The bytes to send: the configured payload, else the default.
std::span<const uint8_t> udp_payload(const config::UdpCheck& check);

// keepalived counts a read timeout as success without require_reply (#2477).
inline bool udp_timeout_passes(const config::UdpCheck& check) {
  return !check.require_reply;
}

struct UdpJudgement {
  bool passed = false;
  // Empty when passed; otherwise "reply of 3 bytes, below min_reply_length 4",
  // "reply byte 1 is 0x41, expected 0x4X", ...
  std::string reason;
};

// A datagram that arrived on the check's socket (its full length; the I/O layer may truncate
// what it reads to max_reply_length + 1 bytes, which gives the same verdict):
// - without require_reply, any datagram passes, whatever it holds;
// - with a bare require_reply (no hex), any datagram passes too: keepalived checks the lengths
//   only when reply bytes are configured;
// - otherwise its length must lie in [min_reply_length, max_reply_length], and its first
//   min(length, reply length) bytes must equal the reply's where the mask has bits set (an X
//   nibble in the config clears its four mask bits).
UdpJudgement judge_udp_reply(const config::UdpCheck& check, std::span<const uint8_t> datagram);

}  // namespace vigil::check
