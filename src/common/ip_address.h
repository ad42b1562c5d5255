// IPv4/IPv6 addresses and prefixes as plain values (parse at the edge, pass typed values inward).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

enum class AddressFamily : uint8_t { kIpv4 = 4, kIpv6 = 6 };

class IpAddress {
 public:
  IpAddress() = default;  // 0.0.0.0

  // Accepts dotted quad IPv4 or any RFC 4291 text form of IPv6 (no zone, no prefix).
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint32_t host_order);
  static IpAddress from_bytes(AddressFamily family, const uint8_t* bytes);

  [[nodiscard]] AddressFamily family() const { return family_; }
  [[nodiscard]] bool is_v4() const { return family_ == AddressFamily::kIpv4; }
  [[nodiscard]] bool is_v6() const { return family_ == AddressFamily::kIpv6; }
  [[nodiscard]] size_t size() const { return is_v4() ? 4 : 16; }
  // Network byte order; the first size() bytes are meaningful.
  [[nodiscard]] const uint8_t* bytes() const { return bytes_.data(); }
  [[nodiscard]] uint32_t v4_host_order() const;
  [[nodiscard]] bool is_unspecified() const;
  [[nodiscard]] bool is_multicast() const;
  [[nodiscard]] bool is_link_local() const;
  [[nodiscard]] std::string to_string() const;

  // Orders IPv4 before IPv6, then by address bytes (numeric order).
  auto operator<=>(const IpAddress&) const = default;

 private:
  AddressFamily family_ = AddressFamily::kIpv4;
  std::array<uint8_t, 16> bytes_{};
};

struct IpPrefix {
  IpAddress address;
  uint8_t length = 32;

  // "10.0.0.1/24", "fe80::1/64"; without "/len" the full host length is used.
  static std::optional<IpPrefix> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
  // Whether `address` is in this network (the first `length` bits equal; never across
  // families).
  [[nodiscard]] bool contains(const IpAddress& other) const;
  auto operator<=>(const IpPrefix&) const = default;
};

std::string to_string(AddressFamily family);

// "10.0.0.1:80", "[2001:db8::1]:80".
std::string host_port(const IpAddress& address, uint16_t port);

}  // namespace vigil
