// UDP_CHECK payload and reply judgement; see udp.h.
#include "check/udp.h"

#include <algorithm>
#include <string_view>

namespace vigil::check {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// "0x4X": the expected byte with its masked-out nibbles as X.
std::string expected_byte(uint8_t value, uint8_t mask) {
  std::string out = "0x";
  out += (mask & 0xf0) != 0 ? kHex[value >> 4] : 'X';
  out += (mask & 0x0f) != 0 ? kHex[value & 0xf] : 'X';
  return out;
}

std::string byte_hex(uint8_t value) {
  return std::string("0x") + kHex[value >> 4] + kHex[value & 0xf];
}

}  // namespace

const std::array<uint8_t, kUdpDefaultPayloadBytes>& udp_default_payload() {
  static const auto kPayload = [] {
    constexpr std::string_view kFiller = "keepalived check - ";
    std::array<uint8_t, kUdpDefaultPayloadBytes> out{};
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<uint8_t>(kFiller[i % kFiller.size()]);
    return out;
  }();
  return kPayload;
}

std::span<const uint8_t> udp_payload(const config::UdpCheck& check) {
  if (!check.payload.empty()) return check.payload;
  return udp_default_payload();
}

UdpJudgement judge_udp_reply(const config::UdpCheck& check, std::span<const uint8_t> datagram) {
  if (!check.require_reply || check.reply.empty()) return {true, ""};
  const size_t length = datagram.size();
  if (length < check.min_reply_length) {
    return {false, "reply of " + std::to_string(length) + " bytes, below min_reply_length " +
                       std::to_string(check.min_reply_length)};
  }
  if (length > check.max_reply_length) {
    return {false, "reply of " + std::to_string(length) + " bytes, above max_reply_length " +
                       std::to_string(check.max_reply_length)};
  }
  const size_t compared = std::min(length, check.reply.size());
  for (size_t i = 0; i < compared; ++i) {
    const uint8_t mask = i < check.reply_mask.size() ? check.reply_mask[i] : 0xff;
    if (((datagram[i] ^ check.reply[i]) & mask) != 0) {
      return {false, "reply byte " + std::to_string(i) + " is " + byte_hex(datagram[i]) +
                         ", expected " + expected_byte(check.reply[i], mask)};
    }
  }
  return {true, ""};
}

}  // namespace vigil::check
