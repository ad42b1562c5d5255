// libnl addresses owned by a unique_ptr, for the VRRP side's libnl-route shells (virtual
// addresses, routes and rules).
#pragma once

#include <netlink/addr.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>

#include "common/ip_address.h"

namespace vigil::vrrp {

struct NlAddrDeleter {
  void operator()(nl_addr* addr) const { nl_addr_put(addr); }
};
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrDeleter>;

// `address` as a libnl address with `prefix_length` (null when libnl cannot allocate).
inline NlAddrPtr to_nl_addr(const IpAddress& address, uint8_t prefix_length) {
  NlAddrPtr out(
      nl_addr_build(address.is_v4() ? AF_INET : AF_INET6, address.bytes(), address.size()));
  if (out) nl_addr_set_prefixlen(out.get(), prefix_length);
  return out;
}

// `address` as a host address (/32, /128).
inline NlAddrPtr to_nl_addr(const IpAddress& address) {
  return to_nl_addr(address, static_cast<uint8_t>(address.size() * 8));
}

}  // namespace vigil::vrrp
