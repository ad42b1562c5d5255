// Checker sockets: options, bind and the start of a non-blocking connect (see connector.h).
#include "check_io/connector.h"

#include <fmt/format.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace vigil::check_io {

using check::ProbeFailed;
using check::ProbeNotRun;
using check::Reason;

namespace {

// strerror with a lowercase first letter, to read well inside a sentence.
std::string error_text(int error) {
  std::string text = std::strerror(error);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

ProbeNotRun local_failure(std::string_view what, int error) {
  return ProbeNotRun{.detail = fmt::format("{}: {}", what, error_text(error))};
}

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  [[nodiscard]] const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

SocketAddress socket_address(const IpAddress& address, uint16_t port, uint32_t scope_id) {
  SocketAddress result;
  if (address.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&result.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, address.bytes(), 4);
    result.length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, address.bytes(), 16);
    in6->sin6_scope_id = address.is_link_local() ? scope_id : 0;
    result.length = sizeof(sockaddr_in6);
  }
  return result;
}

// keepalived's socket_bind_connect: these errors from connect() itself are the path's, so the
// check fails; any other is local and the check is only rescheduled.
bool immediate_failure_is_the_paths(int error) {
  switch (error) {
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ECONNREFUSED:
    case EHOSTDOWN:
    case ENETDOWN:
    case ECONNRESET:
    case ECONNABORTED:
    case ETIMEDOUT:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string endpoint_text(const IpAddress& address, uint16_t port) {
  return host_port(address, port);
}

std::string duration_text(Duration duration) {
  using std::chrono::duration_cast;
  if (duration % std::chrono::seconds(1) == Duration::zero())
    return fmt::format("{}s", duration_cast<std::chrono::seconds>(duration).count());
  if (duration % std::chrono::milliseconds(1) == Duration::zero())
    return fmt::format("{}ms", duration_cast<std::chrono::milliseconds>(duration).count());
  return fmt::format("{}us", duration.count());
}

std::variant<Connecting, ProbeFailed, ProbeNotRun> start_connect(
    const check::ConnectionIdentity& connection, Transport transport) {
  const IpAddress& destination = connection.connect_ip;
  if (connection.bind_ip && connection.bind_ip->family() != destination.family())
    return ProbeNotRun{.detail = "bindto and connect_ip are of different address families"};

  // The interface's index scopes a link-local destination (or source); SO_BINDTODEVICE alone
  // would do for the kernel, but connect() wants the scope in the address.
  uint32_t scope_id = 0;
  bool needs_scope =
      destination.is_link_local() || (connection.bind_ip && connection.bind_ip->is_link_local());
  if (destination.is_v6() && needs_scope) {
    if (connection.bind_if.empty())
      return ProbeNotRun{.detail = "a link-local IPv6 address needs bind_if"};
    scope_id = if_nametoindex(connection.bind_if.c_str());
    if (scope_id == 0) return local_failure("bind_if " + connection.bind_if, errno);
  }

  const int family = destination.is_v4() ? AF_INET : AF_INET6;
  const bool icmp = transport == Transport::kIcmp;
  const int icmp_protocol =
      destination.is_v4() ? static_cast<int>(IPPROTO_ICMP) : static_cast<int>(IPPROTO_ICMPV6);
  constexpr int kFlags = SOCK_NONBLOCK | SOCK_CLOEXEC;
  bool raw_icmp = false;
  UniqueFd fd;
  switch (transport) {
    case Transport::kTcp:
      fd = UniqueFd(::socket(family, SOCK_STREAM | kFlags, IPPROTO_TCP));
      break;
    case Transport::kUdp:
      fd = UniqueFd(::socket(family, SOCK_DGRAM | kFlags, IPPROTO_UDP));
      break;
    case Transport::kIcmp:
      fd = UniqueFd(::socket(family, SOCK_DGRAM | kFlags, icmp_protocol));
      if (!fd.valid() && errno == EACCES) {
        // ping_group_range leaves our group out (its default, "1 0", in every new network
        // namespace): a raw socket needs CAP_NET_RAW instead, and changes no system setting.
        fd = UniqueFd(::socket(family, SOCK_RAW | kFlags, icmp_protocol));
        raw_icmp = true;
      }
      break;
  }
  if (!fd.valid()) return local_failure(raw_icmp ? "raw ICMP socket" : "socket", errno);

  if (connection.fwmark != 0) {
    uint32_t mark = connection.fwmark;
    if (setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0)
      return local_failure(fmt::format("fwmark {}", mark), errno);
  }
  if (!connection.bind_if.empty()) {
    if (connection.bind_if.size() >= IFNAMSIZ)
      return ProbeNotRun{.detail = "bind_if " + connection.bind_if + ": name too long"};
    if (setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, connection.bind_if.c_str(),
                   static_cast<socklen_t>(connection.bind_if.size() + 1)) != 0)
      return local_failure("bind_if " + connection.bind_if, errno);
  }
  const uint16_t bind_port = icmp ? uint16_t{0} : connection.bind_port;
  const uint16_t connect_port = icmp ? uint16_t{0} : connection.connect_port;
  if (connection.bind_ip || bind_port != 0) {
    // bind_port alone binds the wildcard address of connect_ip's family.
    IpAddress source =
        connection.bind_ip.value_or(destination.is_v4() ? IpAddress{} : *IpAddress::parse("::"));
    if (bind_port == 0 && !icmp) {
      // An address without a port: let connect() pick the port, so that thousands of checkers
      // bound to one address do not exhaust the ephemeral ports at bind time.
      int on = 1;
      setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
    }
    SocketAddress local = socket_address(source, bind_port, scope_id);
    if (::bind(fd.get(), local.get(), local.length) != 0)
      return local_failure("bind " + endpoint_text(source, bind_port), errno);
  }

  SocketAddress remote = socket_address(destination, connect_port, scope_id);
  if (::connect(fd.get(), remote.get(), remote.length) == 0)
    return Connecting{.fd = std::move(fd), .connected = true, .raw_icmp = raw_icmp};
  const int error = errno;
  if (error == EINPROGRESS) return Connecting{.fd = std::move(fd), .connected = false};
  if (immediate_failure_is_the_paths(error)) return connection_failure(error);
  return local_failure("connect", error);
}

ProbeFailed connection_failure(int error, std::string_view what) {
  Reason reason = Reason::kConnectionReset;
  switch (error) {
    case ECONNREFUSED:
      reason = Reason::kConnectionRefused;
      break;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
      reason = Reason::kUnreachable;
      break;
    case ETIMEDOUT:
      reason = Reason::kTimeout;
      break;
    default:
      break;
  }
  return ProbeFailed{.reason = reason, .detail = fmt::format("{}{}", what, error_text(error))};
}

ProbeFailed timeout_failure(std::string_view what, Duration timeout) {
  return ProbeFailed{.reason = Reason::kTimeout,
                     .detail = fmt::format("{} timed out after {}", what, duration_text(timeout))};
}

int pending_socket_error(int fd) {
  int error = 0;
  socklen_t length = sizeof(error);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
  return error;
}

}  // namespace vigil::check_io
