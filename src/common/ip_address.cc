#include "common/ip_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace vigil {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; the longest IPv6 text form is 45 characters.
  char buffer[64];
  if (text.empty() || text.size() >= sizeof buffer) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress address;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buffer, address.bytes_.data()) != 1) return std::nullopt;
    address.family_ = AddressFamily::kIpv4;
  } else {
    if (inet_pton(AF_INET6, buffer, address.bytes_.data()) != 1) return std::nullopt;
    address.family_ = AddressFamily::kIpv6;
  }
  return address;
}

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress address;
  address.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
  address.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
  address.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
  address.bytes_[3] = static_cast<uint8_t>(host_order);
  return address;
}

IpAddress IpAddress::from_bytes(AddressFamily family, const uint8_t* bytes) {
  IpAddress address;
  address.family_ = family;
  std::memcpy(address.bytes_.data(), bytes, family == AddressFamily::kIpv4 ? 4 : 16);
  return address;
}

uint32_t IpAddress::v4_host_order() const {
  return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) |
         uint32_t{bytes_[3]};
}

bool IpAddress::is_unspecified() const {
  for (size_t i = 0; i < size(); ++i) {
    if (bytes_[i] != 0) return false;
  }
  return true;
}

bool IpAddress::is_multicast() const {
  return is_v4() ? (bytes_[0] & 0xf0) == 0xe0 : bytes_[0] == 0xff;
}

bool IpAddress::is_link_local() const {
  return is_v4() ? (bytes_[0] == 169 && bytes_[1] == 254)
                 : (bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80);
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof buffer);
  return buffer;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  auto slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  IpPrefix prefix{*address, static_cast<uint8_t>(address->is_v4() ? 32 : 128)};
  if (slash == std::string_view::npos) return prefix;
  auto digits = text.substr(slash + 1);
  unsigned length = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      length > (address->is_v4() ? 32U : 128U)) {
    return std::nullopt;
  }
  prefix.length = static_cast<uint8_t>(length);
  return prefix;
}

std::string IpPrefix::to_string() const {
  return address.to_string() + "/" + std::to_string(length);
}

bool IpPrefix::contains(const IpAddress& other) const {
  if (address.family() != other.family()) return false;
  const uint8_t* a = address.bytes();
  const uint8_t* b = other.bytes();
  for (unsigned bit = 0; bit < length && bit < address.size() * 8; ++bit) {
    const auto mask = static_cast<uint8_t>(0x80U >> (bit % 8));
    if ((a[bit / 8] & mask) != (b[bit / 8] & mask)) return false;
  }
  return true;
}

std::string host_port(const IpAddress& address, uint16_t port) {
  return address.is_v6() ? "[" + address.to_string() + "]:" + std::to_string(port)
                         : address.to_string() + ":" + std::to_string(port);
}

std::string to_string(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? "inet" : "inet6";
}

}  // namespace vigil
