// VRRP advertisement codec: VRRPv2 (RFC 3768 §5) over IPv4, VRRPv3 (RFC 5798 §5) over IPv4 and
// IPv6. Pure functions over bytes: the decoder is handed the IP-layer facts (addresses, TTL or hop
// limit) and returns either the advertisement or why it was rejected; it never throws and never
// reads past the buffer, whatever the input.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/ip_address.h"
#include "common/time.h"

namespace vigil::vrrp {

inline constexpr uint8_t kIpProtocolVrrp = 112;   // RFC 5798 §5.2.4
inline constexpr uint8_t kRequiredTtl = 255;      // RFC 5798 §5.1.1.3, §5.1.2.3
inline constexpr uint8_t kAdvertisementType = 1;  // RFC 5798 §5.2.2
inline constexpr size_t kMaxAddresses = 255;      // the count field is one byte
inline constexpr size_t kHeaderSize = 8;          // fixed part before the addresses
inline constexpr size_t kV2AuthDataSize = 8;      // RFC 3768 §5.3.10
inline constexpr size_t kIpv4HeaderSize = 20;     // without options

// The 224.0.0.18 / ff02::12 multicast groups (RFC 5798 §5.1.1.2, §5.1.2.2).
IpAddress multicast_group(AddressFamily family);

// RFC 3768 §5.3.6 (type 1 and 2 are "reserved" there; keepalived keeps RFC 2338's simple text
// password for type 1). IP Authentication Header (type 2) is not supported.
enum class AuthType : uint8_t { kNone = 0, kSimplePassword = 1, kIpAuthHeader = 2 };

struct Advert {
  uint8_t version = 3;  // 2 or 3
  uint8_t vrid = 1;
  uint8_t priority = 100;
  // v2: Adver Int in whole seconds; v3: Max Adver Int in centiseconds (12 bits, up to 40.95 s).
  // Held as a Duration; the encoder asserts it is representable.
  Duration advert_interval = std::chrono::seconds(1);
  std::vector<IpAddress> addresses;  // all of the packet's family
  // VRRPv2 only; for kSimplePassword the password, NUL padded to 8 bytes.
  AuthType auth_type = AuthType::kNone;
  std::array<uint8_t, kV2AuthDataSize> auth_data{};

  bool operator==(const Advert&) const = default;
};

// Pads or truncates a password to the 8-byte authentication data field (keepalived truncates
// `auth_pass` to 8 characters the same way).
std::array<uint8_t, kV2AuthDataSize> password_auth_data(std::string_view password);

// Why a received packet was dropped. Keep kCount last; to_string() names each.
enum class RejectReason : uint8_t {
  kTruncated,               // shorter than its headers or than the IP total length says
  kBadIpHeader,             // not IPv4, bad header length, or not IP protocol 112
  kBadTtl,                  // TTL / hop limit is not 255 (RFC 5798 §7.1), or outside a unicast
                            // peer's min_ttl / max_ttl
  kBadVersion,              // not 2 or 3, v2 over IPv6, or not the version configured for the VRID
  kBadType,                 // not ADVERTISEMENT (1)
  kUnknownVrid,             // no virtual router with this VRID here
  kAddressCountMismatch,    // Count IPvX Addrs disagrees with the packet length
  kBadChecksum,             //
  kAuthTypeMismatch,        // v2: Auth Type differs from ours (RFC 3768 §7.1)
  kAuthMismatch,            // v2: simple password differs
  kAdvertIntervalMismatch,  // v2: Adver Int differs from ours (RFC 3768 §7.1)
  kZeroAdvertInterval,      // v3: Max Adver Int of 0 would make Master_Down_Interval ~0
  kNotAUnicastPeer,         // unicast mode with check_unicast_src: the sender is not a peer
  kCount,
};
inline constexpr size_t kRejectReasonCount = static_cast<size_t>(RejectReason::kCount);

std::string_view to_string(RejectReason reason);

// One counter per reject reason.
class RejectCounters {
 public:
  void count(RejectReason reason) { ++counts_[static_cast<size_t>(reason)]; }
  [[nodiscard]] uint64_t operator[](RejectReason reason) const {
    return counts_[static_cast<size_t>(reason)];
  }
  [[nodiscard]] uint64_t total() const;

 private:
  std::array<uint64_t, kRejectReasonCount> counts_{};
};

// One `unicast_peer`: where unicast adverts go, and (keepalived's min_ttl / max_ttl) the TTL its
// own adverts may arrive with.
struct UnicastPeer {
  IpAddress address;
  uint8_t min_ttl = 0;
  uint8_t max_ttl = 255;
  bool operator==(const UnicastPeer&) const = default;
};

// What the receiver expects of adverts for one VRID: the parts of the instance config that the
// RFC's receive checks (RFC 3768 §7.1, RFC 5798 §7.1) compare against.
struct ReceivePolicy {
  uint8_t version = 3;
  // v2 only: adverts with another interval are dropped.
  Duration advert_interval = std::chrono::seconds(1);
  AuthType auth_type = AuthType::kNone;
  std::array<uint8_t, kV2AuthDataSize> auth_data{};
  // v3 over IPv4: also accept a checksum computed without the pseudo-header, as keepalived's
  // `v3_checksum_as_v2` peers send it.
  bool v3_checksum_as_v2 = false;
  // Unicast mode. As in keepalived, adverts for a unicast instance skip the RFC's TTL-255 check
  // (they may have crossed routers); with check_unicast_src only `unicast_peers` may send, each
  // within its TTL range.
  bool unicast = false;
  bool check_unicast_src = false;
  std::vector<UnicastPeer> unicast_peers;
};

// Finds the policy for a VRID on the receiving socket, or nullptr when the VRID is unknown.
using VridLookup = std::function<const ReceivePolicy*(uint8_t vrid)>;

// The IP-layer facts the decoder checks.
struct IpFacts {
  IpAddress source;
  IpAddress destination;
  uint8_t ttl = 0;  // TTL (IPv4) or hop limit (IPv6, from IPV6_HOPLIMIT ancillary data)
};

struct ReceivedAdvert {
  IpFacts ip;
  Advert advert;
};

// Either an accepted advert or the reason it was rejected.
class DecodeResult {
 public:
  DecodeResult(ReceivedAdvert advert) : state_(std::move(advert)) {}  // NOLINT
  DecodeResult(RejectReason reason) : state_(reason) {}               // NOLINT

  [[nodiscard]] bool ok() const { return std::holds_alternative<ReceivedAdvert>(state_); }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] const ReceivedAdvert& value() const { return std::get<ReceivedAdvert>(state_); }
  [[nodiscard]] const Advert& advert() const { return value().advert; }
  [[nodiscard]] RejectReason reason() const { return std::get<RejectReason>(state_); }

 private:
  std::variant<ReceivedAdvert, RejectReason> state_;
};

// Decodes the VRRP message `payload` (starting at the Version field) given the IP facts.
DecodeResult decode(const IpFacts& ip, std::span<const uint8_t> payload, const VridLookup& lookup);

// Decodes an IPv4 datagram as an IPPROTO_VRRP raw socket delivers it: IPv4 header (options
// allowed) followed by the VRRP message.
DecodeResult decode_ipv4(std::span<const uint8_t> datagram, const VridLookup& lookup);

// Decodes a VRRP message from an IPv6 raw socket (the kernel strips the IPv6 header): the
// addresses come from recvmsg and the hop limit from IPV6_HOPLIMIT ancillary data.
DecodeResult decode_ipv6(const IpAddress& source, const IpAddress& destination, uint8_t hop_limit,
                         std::span<const uint8_t> payload, const VridLookup& lookup);

struct EncodeOptions {
  IpAddress source;                // for the v3 pseudo-header
  IpAddress destination;           // multicast group or unicast peer, for the v3 pseudo-header
  bool v3_checksum_as_v2 = false;  // v3 over IPv4: checksum without the pseudo-header
};

// Encodes `advert` to the bytes of a VRRP message, checksum filled in. Asserts that the advert is
// encodable (version 2/3, interval representable, at most 255 addresses of the right family).
std::vector<uint8_t> encode(const Advert& advert, const EncodeOptions& options);

// Builds a 20-byte IPv4 header (TTL 255, protocol 112, DF clear, checksum filled in) for an
// IP_HDRINCL socket. `identification` is the IP ID field.
std::array<uint8_t, kIpv4HeaderSize> build_ipv4_header(const IpAddress& source,
                                                       const IpAddress& destination,
                                                       size_t payload_size,
                                                       uint16_t identification = 0);

// Writes `value` at `p` in network byte order.
void write16(uint8_t* p, uint16_t value);

// The Internet checksum (RFC 1071) of `bytes`, continuing from a partial sum `initial`.
uint16_t internet_checksum(std::span<const uint8_t> bytes, uint32_t initial = 0);

// The one's complement sum of the RFC 5798 §5.2.8 pseudo-header (RFC 8200 §8.1 for IPv6,
// src/dst/zero/protocol/length for IPv4), to be passed as `initial` to internet_checksum().
// `protocol` is the upper-layer protocol: VRRP, or ICMPv6 (58) for neighbour discovery.
uint32_t pseudo_header_sum(const IpAddress& source, const IpAddress& destination, size_t length,
                           uint8_t protocol = kIpProtocolVrrp);

}  // namespace vigil::vrrp
