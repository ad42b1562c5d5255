#include "vrrp/packet.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <optional>

namespace vigil::vrrp {
namespace {

constexpr Duration kCentisecond = std::chrono::milliseconds(10);
[[maybe_unused]] constexpr uint16_t kMaxV3IntervalCentiseconds =
    0x0fff;  // 12-bit field, RFC 5798 §5.2.7
constexpr size_t kIpv6AddressSize = 16;

// Offsets in the VRRP header (RFC 3768 §5.1, RFC 5798 §5.1).
constexpr size_t kOffsetVersionType = 0;
constexpr size_t kOffsetVrid = 1;
constexpr size_t kOffsetPriority = 2;
constexpr size_t kOffsetCount = 3;
constexpr size_t kOffsetV2AuthType = 4;
constexpr size_t kOffsetV2AdverInt = 5;
constexpr size_t kOffsetV3MaxAdverInt = 4;  // 4 reserved bits, then 12 bits
constexpr size_t kOffsetChecksum = 6;

uint16_t read16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t add_words(std::span<const uint8_t> bytes, uint32_t sum) {
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2)
    sum += read16(&bytes[i]);
  if (i < bytes.size()) sum += static_cast<uint32_t>(bytes[i]) << 8;  // odd byte, zero padded
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

bool checksum_ok(std::span<const uint8_t> message, uint32_t initial) {
  return internet_checksum(message, initial) == 0;
}

}  // namespace

void write16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
}

IpAddress multicast_group(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? *IpAddress::parse("224.0.0.18")
                                        : *IpAddress::parse("ff02::12");
}

std::array<uint8_t, kV2AuthDataSize> password_auth_data(std::string_view password) {
  std::array<uint8_t, kV2AuthDataSize> data{};
  std::memcpy(data.data(), password.data(), std::min(password.size(), data.size()));
  return data;
}

std::string_view to_string(RejectReason reason) {
  switch (reason) {
    case RejectReason::kTruncated:
      return "truncated";
    case RejectReason::kBadIpHeader:
      return "bad IP header";
    case RejectReason::kBadTtl:
      return "TTL/hop limit not 255";
    case RejectReason::kBadVersion:
      return "bad version";
    case RejectReason::kBadType:
      return "bad type";
    case RejectReason::kUnknownVrid:
      return "unknown VRID";
    case RejectReason::kAddressCountMismatch:
      return "address count does not match length";
    case RejectReason::kBadChecksum:
      return "bad checksum";
    case RejectReason::kAuthTypeMismatch:
      return "authentication type mismatch";
    case RejectReason::kAuthMismatch:
      return "authentication mismatch";
    case RejectReason::kAdvertIntervalMismatch:
      return "advert interval mismatch";
    case RejectReason::kZeroAdvertInterval:
      return "zero advert interval";
    case RejectReason::kNotAUnicastPeer:
      return "sender not a unicast peer";
    case RejectReason::kCount:
      break;
  }
  return "unknown";
}

uint64_t RejectCounters::total() const {
  uint64_t sum = 0;
  for (auto count : counts_)
    sum += count;
  return sum;
}

uint16_t internet_checksum(std::span<const uint8_t> bytes, uint32_t initial) {
  return static_cast<uint16_t>(~fold(add_words(bytes, fold(initial))));
}

uint32_t pseudo_header_sum(const IpAddress& source, const IpAddress& destination, size_t length,
                           uint8_t protocol) {
  assert(source.family() == destination.family());
  uint32_t sum = add_words({source.bytes(), source.size()}, 0);
  sum = add_words({destination.bytes(), destination.size()}, sum);
  if (source.is_v4()) {
    // RFC 768-style: zero, protocol, 16-bit length.
    sum += protocol;
    sum += static_cast<uint32_t>(length & 0xffff);
  } else {
    // RFC 8200 §8.1 (RFC 2460 §8.1 before it): 32-bit upper-layer length, three zero bytes,
    // next header.
    sum += static_cast<uint32_t>(length >> 16) + static_cast<uint32_t>(length & 0xffff);
    sum += protocol;
  }
  return fold(sum);
}

// RFC 5798 §7.1: TTL 255. keepalived's unicast mode skips that check, since unicast adverts may
// cross routers; with check_unicast_src the sender must be a unicast_peer, and its adverts must
// arrive within the peer's min_ttl / max_ttl.
std::optional<RejectReason> check_sender(const IpFacts& ip, const ReceivePolicy& policy) {
  if (!policy.unicast) {
    if (ip.ttl != kRequiredTtl) return RejectReason::kBadTtl;
    return std::nullopt;
  }
  if (!policy.check_unicast_src) return std::nullopt;
  const auto peer = std::find_if(policy.unicast_peers.begin(), policy.unicast_peers.end(),
                                 [&](const UnicastPeer& p) { return p.address == ip.source; });
  if (peer == policy.unicast_peers.end()) return RejectReason::kNotAUnicastPeer;
  if (ip.ttl < peer->min_ttl || ip.ttl > peer->max_ttl) return RejectReason::kBadTtl;
  return std::nullopt;
}

DecodeResult decode(const IpFacts& ip, std::span<const uint8_t> payload, const VridLookup& lookup) {
  // RFC 5798 §7.1 / RFC 3768 §7.1 receive checks, cheapest first.
  if (ip.source.family() != ip.destination.family()) return RejectReason::kBadIpHeader;
  // Sent to the group: the RFC's TTL check, before anything else. A unicast advert's TTL depends
  // on the instance's mode (check_sender below).
  if (ip.destination.is_multicast() && ip.ttl != kRequiredTtl) return RejectReason::kBadTtl;
  if (payload.size() < kHeaderSize) return RejectReason::kTruncated;

  const uint8_t version = payload[kOffsetVersionType] >> 4;
  const uint8_t type = payload[kOffsetVersionType] & 0x0f;
  if (version != 2 && version != 3) return RejectReason::kBadVersion;
  if (version == 2 && !ip.source.is_v4()) return RejectReason::kBadVersion;
  if (type != kAdvertisementType) return RejectReason::kBadType;

  const uint8_t vrid = payload[kOffsetVrid];
  const ReceivePolicy* policy = lookup ? lookup(vrid) : nullptr;
  if (policy == nullptr) return RejectReason::kUnknownVrid;
  if (policy->version != version) return RejectReason::kBadVersion;
  if (auto reason = check_sender(ip, *policy)) return *reason;

  const size_t count = payload[kOffsetCount];
  const size_t address_size = ip.source.is_v4() ? 4 : kIpv6AddressSize;
  const size_t expected = kHeaderSize + count * address_size + (version == 2 ? kV2AuthDataSize : 0);
  // Shorter (cut inside the address list) or longer: the count cannot be trusted either way.
  if (payload.size() != expected) return RejectReason::kAddressCountMismatch;

  // RFC 3768 §5.3.8: v2 sums the VRRP message alone. RFC 5798 §5.2.8: v3 adds the pseudo-header;
  // keepalived's v3_checksum_as_v2 peers leave it out over IPv4.
  if (version == 2) {
    if (!checksum_ok(payload, 0)) return RejectReason::kBadChecksum;
  } else {
    const bool with_pseudo =
        checksum_ok(payload, pseudo_header_sum(ip.source, ip.destination, payload.size()));
    const bool as_v2 = ip.source.is_v4() && policy->v3_checksum_as_v2 && checksum_ok(payload, 0);
    if (!with_pseudo && !as_v2) return RejectReason::kBadChecksum;
  }

  Advert advert;
  advert.version = version;
  advert.vrid = vrid;
  advert.priority = payload[kOffsetPriority];
  advert.addresses.reserve(count);
  const AddressFamily family = ip.source.family();
  for (size_t i = 0; i < count; ++i)
    advert.addresses.push_back(
        IpAddress::from_bytes(family, &payload[kHeaderSize + i * address_size]));

  if (version == 2) {
    advert.auth_type = static_cast<AuthType>(payload[kOffsetV2AuthType]);
    std::memcpy(advert.auth_data.data(), &payload[kHeaderSize + count * address_size],
                kV2AuthDataSize);
    advert.advert_interval = std::chrono::seconds(payload[kOffsetV2AdverInt]);
    if (advert.auth_type != policy->auth_type) return RejectReason::kAuthTypeMismatch;
    if (advert.auth_type == AuthType::kSimplePassword && advert.auth_data != policy->auth_data)
      return RejectReason::kAuthMismatch;
    if (advert.advert_interval != policy->advert_interval)
      return RejectReason::kAdvertIntervalMismatch;
  } else {
    // The top 4 bits are reserved: ignored on reception (RFC 5798 §5.2.6).
    const uint16_t centiseconds = read16(&payload[kOffsetV3MaxAdverInt]) & 0x0fff;
    if (centiseconds == 0) return RejectReason::kZeroAdvertInterval;
    advert.advert_interval = centiseconds * kCentisecond;
  }
  return ReceivedAdvert{ip, std::move(advert)};
}

DecodeResult decode_ipv4(std::span<const uint8_t> datagram, const VridLookup& lookup) {
  if (datagram.size() < kIpv4HeaderSize) return RejectReason::kTruncated;
  if ((datagram[0] >> 4) != 4) return RejectReason::kBadIpHeader;
  const size_t header_size = static_cast<size_t>(datagram[0] & 0x0f) * 4;
  if (header_size < kIpv4HeaderSize) return RejectReason::kBadIpHeader;
  if (datagram[9] != kIpProtocolVrrp) return RejectReason::kBadIpHeader;
  const size_t total_length = read16(&datagram[2]);
  if (total_length < header_size) return RejectReason::kBadIpHeader;
  if (datagram.size() < total_length) return RejectReason::kTruncated;
  IpFacts ip{
      .source = IpAddress::from_bytes(AddressFamily::kIpv4, &datagram[12]),
      .destination = IpAddress::from_bytes(AddressFamily::kIpv4, &datagram[16]),
      .ttl = datagram[8],
  };
  // Bytes past the IP total length (link-layer padding) are not part of the message.
  return decode(ip, datagram.subspan(header_size, total_length - header_size), lookup);
}

DecodeResult decode_ipv6(const IpAddress& source, const IpAddress& destination, uint8_t hop_limit,
                         std::span<const uint8_t> payload, const VridLookup& lookup) {
  if (!source.is_v6() || !destination.is_v6()) return RejectReason::kBadIpHeader;
  return decode(IpFacts{.source = source, .destination = destination, .ttl = hop_limit}, payload,
                lookup);
}

std::vector<uint8_t> encode(const Advert& advert, const EncodeOptions& options) {
  assert(advert.version == 2 || advert.version == 3);
  assert(advert.addresses.size() <= kMaxAddresses);
  const AddressFamily family = options.source.family();
  assert(advert.version == 3 || family == AddressFamily::kIpv4);
  const size_t address_size = family == AddressFamily::kIpv4 ? 4 : kIpv6AddressSize;
  const size_t size = kHeaderSize + advert.addresses.size() * address_size +
                      (advert.version == 2 ? kV2AuthDataSize : 0);

  std::vector<uint8_t> out(size, 0);
  out[kOffsetVersionType] = static_cast<uint8_t>((advert.version << 4) | kAdvertisementType);
  out[kOffsetVrid] = advert.vrid;
  out[kOffsetPriority] = advert.priority;
  out[kOffsetCount] = static_cast<uint8_t>(advert.addresses.size());
  if (advert.version == 2) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(advert.advert_interval);
    assert(seconds == advert.advert_interval && seconds.count() >= 0 && seconds.count() <= 255);
    out[kOffsetV2AuthType] = static_cast<uint8_t>(advert.auth_type);
    out[kOffsetV2AdverInt] = static_cast<uint8_t>(seconds.count());
  } else {
    const auto centiseconds = advert.advert_interval / kCentisecond;
    assert(centiseconds * kCentisecond == advert.advert_interval);
    assert(centiseconds >= 0 && centiseconds <= kMaxV3IntervalCentiseconds);
    write16(&out[kOffsetV3MaxAdverInt], static_cast<uint16_t>(centiseconds));
  }
  for (size_t i = 0; i < advert.addresses.size(); ++i) {
    assert(advert.addresses[i].family() == family);
    std::memcpy(&out[kHeaderSize + i * address_size], advert.addresses[i].bytes(), address_size);
  }
  if (advert.version == 2) {
    std::memcpy(&out[size - kV2AuthDataSize], advert.auth_data.data(), kV2AuthDataSize);
  }

  uint32_t initial = 0;
  if (advert.version == 3 && !(family == AddressFamily::kIpv4 && options.v3_checksum_as_v2))
    initial = pseudo_header_sum(options.source, options.destination, size);
  write16(&out[kOffsetChecksum], internet_checksum(out, initial));
  return out;
}

std::array<uint8_t, kIpv4HeaderSize> build_ipv4_header(const IpAddress& source,
                                                       const IpAddress& destination,
                                                       size_t payload_size,
                                                       uint16_t identification) {
  assert(source.is_v4() && destination.is_v4());
  assert(payload_size + kIpv4HeaderSize <= 0xffff);
  std::array<uint8_t, kIpv4HeaderSize> header{};
  header[0] = 0x45;  // version 4, 5 words
  header[1] = 0xc0;  // DSCP CS6 (network control) like other routing protocols
  write16(&header[2], static_cast<uint16_t>(kIpv4HeaderSize + payload_size));
  write16(&header[4], identification);
  header[8] = kRequiredTtl;
  header[9] = kIpProtocolVrrp;
  std::memcpy(&header[12], source.bytes(), 4);
  std::memcpy(&header[16], destination.bytes(), 4);
  write16(&header[10], internet_checksum(header));
  return header;
}

}  // namespace vigil::vrrp
