// The socket side of TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK, UDP_CHECK and
// PING_CHECK: opening a checker's socket with its connection options (fwmark, bind_if, bindto,
// bind_port) and starting a non-blocking connect, as keepalived 2.2.7 does (core/layer4.c
// socket_bind_connect, socket_state), and turning the errno it ends with into a checker Reason. No
// Asio here: the probes watch the fd themselves.
//
// keepalived splits failures in two, and so does vigil: a local failure (socket(), setsockopt,
// bind, or connect() refusing at once for a local reason) is not the real server's fault and
// becomes ProbeNotRun (the checker reschedules, #1679); a refused, unreachable, reset or
// timed-out connection is a ProbeFailed.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <variant>

#include "check/checker.h"
#include "check/spec.h"
#include "common/ip_address.h"
#include "common/time.h"
#include "common/unique_fd.h"

namespace vigil::check_io {

// "10.0.0.1:80", "[2001:db8::1]:80".
std::string endpoint_text(const IpAddress& address, uint16_t port);

// "5s", "200ms": for "timed out after ..." details.
std::string duration_text(Duration duration);

// A socket whose connect() has started (or already completed: `connected`).
struct Connecting {
  UniqueFd fd;
  bool connected = false;
  // Transport::kIcmp: the ICMP datagram socket was refused (net.ipv4.ping_group_range excludes
  // our group) and this is a raw ICMP socket instead.
  bool raw_icmp = false;
};

// kIcmp: an unprivileged ICMP / ICMPv6 datagram socket (the kernel sets the echo id, computes
// the checksum and hands it only its own echo replies), or a raw one where the datagram socket
// is refused with EACCES.
enum class Transport : uint8_t { kTcp, kUdp, kIcmp };

// socket(SOCK_NONBLOCK | SOCK_CLOEXEC), SO_MARK (fwmark), SO_BINDTODEVICE (bind_if), bind
// (bindto and/or bind_port), then connect() to connect_ip:connect_port. A link-local IPv6
// connect_ip (or bindto) takes bind_if's index as its scope.
// Returns the socket, a ProbeNotRun for a local failure, or a ProbeFailed when connect() fails
// at once for a reason that is the path's (ENETUNREACH, ECONNREFUSED, ...). A UDP or ICMP
// socket's connect() only fixes the peer, so it is `connected` at once; an ICMP socket connects
// to connect_ip alone (port 0) and binds no port.
std::variant<Connecting, check::ProbeFailed, check::ProbeNotRun> start_connect(
    const check::ConnectionIdentity& connection, Transport transport = Transport::kTcp);

// The failure for a connect that ended with `error` (SO_ERROR after the socket became writable,
// or a read/write error later): ECONNREFUSED is refused, EHOSTUNREACH and friends unreachable,
// ETIMEDOUT a timeout, anything else a reset. `what` prefixes the detail ("read: ").
check::ProbeFailed connection_failure(int error, std::string_view what = {});

// The failure for a step that ran past its timeout: "<what> timed out after 5s".
check::ProbeFailed timeout_failure(std::string_view what, Duration timeout);

// SO_ERROR of `fd`, or errno when getsockopt itself fails.
int pending_socket_error(int fd);

}  // namespace vigil::check_io
