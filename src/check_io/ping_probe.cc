// PING_CHECK: one ICMP (IPv4) or ICMPv6 echo request to connect_ip, then its echo reply within
// connect_timeout, as keepalived 2.2.7's check_ping.c does. Where vigil goes further:
// - The reply must be ours: from the target, with our id, sequence number and payload
//   (icmp_echo.h judges each message). keepalived takes the first message its socket reads.
//   Other messages are ignored and counted (ProberCounters::ignored_icmp), never trusted.
// - An ICMP error about our request (destination unreachable, time exceeded) fails the probe at
//   once instead of waiting for the timeout.
// - bindto, bind_if and fwmark apply, as for the other checkers (keepalived parses them for
//   PING_CHECK but never applies them); connect_port and bind_port mean nothing here.
//
// The socket: an unprivileged ICMP datagram socket (SOCK_DGRAM, IPPROTO_ICMP / ICMPV6) first, as
// keepalived uses: the kernel picks the id, hands the socket only the replies to that id and
// reports ICMP errors as receive errors (IP_RECVERR). Such a socket is refused with EACCES when
// net.ipv4.ping_group_range leaves our group out, and "1 0" (nobody) is that sysctl's default in
// every new network namespace. keepalived then widens the range for the whole namespace at start
// (and narrows it again on exit). vigil does not: it falls back to a raw ICMP socket, which root
// (CAP_NET_RAW) always has. That changes no system setting that other programs see, needs no
// writable /proc/sys (read-only in many containers), cannot be undone behind vigil's back by an
// administrator or another daemon, and leaves nothing widened after a crash. The cost is that a
// raw socket sees every ICMP message to the host: a kernel filter (ICMP_FILTER / ICMP6_FILTER)
// keeps only echo replies and errors, the socket is connected to the target (the kernel then
// drops messages from other sources), and the id is random per probe; icmp_echo.h matches what is
// left. The fallback is logged once per prober.
//
// ICMP errors: both sockets set IP_RECVERR / IPV6_RECVERR, so every error about a message to the
// target (a router's host unreachable included, which a connected raw socket would otherwise
// never see) fails the receive and is queued with the start of the message it quotes; the probe
// reads the queue (MSG_ERRQUEUE) and fails only on an error quoting its own echo request
// (icmp_echo.h judge_queued_error), so another program's ping to the same target cannot fail it.
//
// Memory: one fixed receive buffer per probe, large enough for any ICMPv6 error (1280 bytes);
// a longer message is truncated, which can only make it fail to match.
// clang-format off
#include <time.h>  // before <linux/errqueue.h>, which uses struct timespec undeclared
#include <linux/errqueue.h>
// clang-format on
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/ip/icmp.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "check_io/connector.h"
#include "check_io/icmp_echo.h"
#include "check_io/probe_run.h"
#include "common/log.h"

namespace vigil::check_io {

namespace asio = boost::asio;
using check::ProbeFailed;
using check::ProbeNotRun;
using check::ProbeSucceeded;
using check::Reason;

namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("check");
  return *instance;
}

// keepalived's ICMP_BUFSIZE: the echo request's payload length.
constexpr size_t kPayloadBytes = 128;
// IPv6's minimum MTU: the largest ICMPv6 error (RFC 4443 §2.4), and more than any IPv4 one.
constexpr size_t kReceiveBytes = 1280;

// The echo request's payload: 8 random bytes, so that a late reply to an earlier probe with the
// same id and sequence never passes, then a fixed pattern.
std::vector<uint8_t> echo_payload() {
  std::random_device random;
  std::vector<uint8_t> payload(kPayloadBytes);
  for (size_t i = 0; i < 8; i += 4) {
    const uint32_t word = random();
    std::memcpy(payload.data() + i, &word, 4);
  }
  for (size_t i = 8; i < payload.size(); ++i)
    payload[i] = static_cast<uint8_t>(i);
  return payload;
}

// ICMP_FILTER and struct icmp_filter from <linux/icmp.h>, which cannot be included next to
// <net/if.h> (both define the IFF_* flags).
constexpr int kIcmpFilterOption = 1;
struct IcmpTypeFilter {
  uint32_t data;
};

// Raw sockets only: the kernel passes up echo replies and the errors icmp_echo.h judges.
void filter_raw_socket(int fd, bool v4, const std::string& label) {
  int result = 0;
  if (v4) {
    IcmpTypeFilter filter{};
    filter.data = ~((1U << ICMP_ECHOREPLY) | (1U << ICMP_DEST_UNREACH) |
                    (1U << ICMP_TIME_EXCEEDED) | (1U << ICMP_PARAMETERPROB));
    result = setsockopt(fd, SOL_RAW, kIcmpFilterOption, &filter, sizeof(filter));
  } else {
    icmp6_filter filter{};
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &filter);
    result = setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
  }
  // Only a cost: without the filter the judge ignores the extra messages.
  if (result != 0) logger().debug("[{}] ICMP filter not set: {}", label, std::strerror(errno));
}

// The id a datagram socket gave its echo requests: its local "port".
std::optional<uint16_t> datagram_echo_id(int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) return std::nullopt;
  if (local.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
}

// The errnos the kernel reports for an ICMP error (icmp_err_convert, icmpv6_err_convert): the
// error queue holds its message.
bool is_icmp_error_errno(int error) {
  switch (error) {
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENOPROTOOPT:
    case ECONNREFUSED:
    case EMSGSIZE:
    case EOPNOTSUPP:
    case EACCES:
    case EPROTO:
    case ENONET:
    case ETIMEDOUT:
      return true;
    default:
      return false;
  }
}

IpAddress address_of(const asio::ip::icmp::endpoint& endpoint) {
  const auto address = endpoint.address();
  if (address.is_v4())
    return IpAddress::from_bytes(AddressFamily::kIpv4, address.to_v4().to_bytes().data());
  return IpAddress::from_bytes(AddressFamily::kIpv6, address.to_v6().to_bytes().data());
}

class PingRun final : public ProbeRun {
 public:
  PingRun(AsioProber::Core& core, check::ProbeId id, const check::PingProbe& probe)
      : ProbeRun(core, id, "PING " + probe.connection.connect_ip.to_string()),
        connection_(probe.connection),
        socket_(core.io),
        timer_(core.scheduler) {}

  void begin() override {
    auto started = start_connect(connection_, Transport::kIcmp);
    if (auto* failed = std::get_if<ProbeFailed>(&started)) return finish(std::move(*failed));
    if (auto* not_run = std::get_if<ProbeNotRun>(&started)) return finish(std::move(*not_run));
    auto& connecting = std::get<Connecting>(started);
    const bool v4 = connection_.connect_ip.is_v4();
    raw_ = connecting.raw_icmp;
    request_ = EchoRequest{.target = connection_.connect_ip,
                           .sequence = ++core_.icmp_sequence,
                           .payload = echo_payload()};
    if (raw_) {
      ++core_.counters.raw_icmp_probes;
      if (!core_.raw_icmp_logged) {
        core_.raw_icmp_logged = true;
        logger().info(
            "[{}] ICMP datagram sockets are not permitted for group {} here "
            "(net.ipv4.ping_group_range): PING_CHECK uses raw ICMP sockets",
            label(), getegid());
      }
      request_.id = static_cast<uint16_t>(std::random_device{}());
      filter_raw_socket(connecting.fd.get(), v4, label());
    }
    // Every ICMP error about our request, not only the hard ones, reaches the receive as an
    // error, with the message queued (MSG_ERRQUEUE). A raw socket needs this as much as a
    // datagram one: being connected to the target, it never receives an error a router sends
    // from its own address as a message, and without IP_RECVERR the kernel reports only hard
    // errors (not host or network unreachable), so the probe would wait for its timeout.
    int on = 1;
    if (v4 ? setsockopt(connecting.fd.get(), IPPROTO_IP, IP_RECVERR, &on, sizeof(on))
           : setsockopt(connecting.fd.get(), IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on)))
      return finish(ProbeNotRun{.detail = "IP_RECVERR: " + std::string(std::strerror(errno))});
    const std::vector<uint8_t> bytes = echo_request_bytes(request_);
    if (::send(connecting.fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0)
      return finish(connection_failure(errno, "send: "));
    if (!raw_) {
      const auto kernel_id = datagram_echo_id(connecting.fd.get());
      if (!kernel_id)
        return finish(ProbeNotRun{.detail = "getsockname: " + std::string(std::strerror(errno))});
      request_.id = *kernel_id;
    }
    boost::system::error_code error;
    socket_.assign(v4 ? asio::ip::icmp::v4() : asio::ip::icmp::v6(), connecting.fd.get(), error);
    if (error) return finish(ProbeNotRun{.detail = "cannot watch the socket: " + error.message()});
    connecting.fd.release();  // the Asio socket owns it now
    if (connection_.connect_timeout > Duration::zero()) {
      timer_.arm_at(core_.scheduler.now() + connection_.connect_timeout,
                    [this] { finish(timeout_failure("echo reply", connection_.connect_timeout)); });
    }
    receive();
  }

 private:
  void receive() {
    socket_.async_receive_from(
        asio::buffer(buffer_), sender_,
        [self = std::static_pointer_cast<PingRun>(shared_from_this())](
            const boost::system::error_code& error, size_t length) {
          if (self->over()) return;
          if (error) return self->on_receive_error(error.value());
          self->on_message(std::span<const uint8_t>(self->buffer_.data(), length));
        });
  }

  // The receive failed: an ICMP error was reported (IP_RECVERR). The error queue says which
  // message it was about; errors about other messages are ignored (a raw socket hears of every
  // ICMP message to its target), ours fails the probe.
  void on_receive_error(int error) {
    const int fd = socket_.native_handle();
    // The queue is bounded by the socket's receive buffer; so is this loop, in case.
    for (int i = 0; i < 256; ++i) {
      std::array<uint8_t, kReceiveBytes> quoted{};
      alignas(cmsghdr) std::array<char, 512> control{};
      sockaddr_storage destination{};
      iovec data{quoted.data(), quoted.size()};
      msghdr message{};
      message.msg_name = &destination;
      message.msg_namelen = sizeof(destination);
      message.msg_iov = &data;
      message.msg_iovlen = 1;
      message.msg_control = control.data();
      message.msg_controllen = control.size();
      const ssize_t length = ::recvmsg(fd, &message, MSG_ERRQUEUE | MSG_DONTWAIT);
      if (length < 0) break;  // drained
      const sock_extended_err* queued = nullptr;
      for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
            (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))
          queued = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
      }
      if (queued == nullptr) continue;
      if (queued->ee_origin != SO_EE_ORIGIN_ICMP && queued->ee_origin != SO_EE_ORIGIN_ICMP6)
        return finish(connection_failure(static_cast<int>(queued->ee_errno), "receive: "));
      const auto* offender = SO_EE_OFFENDER(queued);
      std::optional<IpAddress> from;
      if (offender->sa_family == AF_INET) {
        from = IpAddress::from_bytes(
            AddressFamily::kIpv4, reinterpret_cast<const uint8_t*>(
                                      &reinterpret_cast<const sockaddr_in*>(offender)->sin_addr));
      } else if (offender->sa_family == AF_INET6) {
        from = IpAddress::from_bytes(
            AddressFamily::kIpv6, reinterpret_cast<const uint8_t*>(
                                      &reinterpret_cast<const sockaddr_in6*>(offender)->sin6_addr));
      }
      if (!from) continue;
      EchoJudgement judgement =
          judge_queued_error(request_, *from, queued->ee_type, queued->ee_code,
                             std::span<const uint8_t>(quoted.data(), static_cast<size_t>(length)));
      if (judgement.verdict == EchoVerdict::kError)
        return finish(ProbeFailed{.reason = Reason::kUnreachable, .detail = judgement.reason});
      ++core_.counters.ignored_icmp;
      logger().debug("[{}] queued ICMP error from {} ignored: {}", label(), from->to_string(),
                     judgement.reason);
    }
    // A receive error with nothing queued about ours: only a real socket error ends the probe.
    if (error == EAGAIN || error == EWOULDBLOCK || !is_icmp_error_errno(error))
      return finish(connection_failure(error, "receive: "));
    receive();
  }

  void on_message(std::span<const uint8_t> message) {
    // A raw IPv4 socket hands over the IP header too; ICMPv6 and datagram sockets do not.
    const bool ip_header_first = raw_ && request_.target.is_v4();
    EchoJudgement judgement =
        judge_echo_message(request_, address_of(sender_), message, ip_header_first);
    switch (judgement.verdict) {
      case EchoVerdict::kReply:
        return finish(ProbeSucceeded{});
      case EchoVerdict::kError:
        return finish(ProbeFailed{.reason = Reason::kUnreachable, .detail = judgement.reason});
      case EchoVerdict::kIgnore:
        ++core_.counters.ignored_icmp;
        logger().debug("[{}] ICMP message of {} bytes from {} ignored: {}", label(), message.size(),
                       address_of(sender_).to_string(), judgement.reason);
        return receive();
    }
  }

  void close() override {
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  check::ConnectionIdentity connection_;
  asio::ip::icmp::socket socket_;
  asio::ip::icmp::endpoint sender_;
  Timer timer_;
  bool raw_ = false;
  EchoRequest request_;
  std::array<uint8_t, kReceiveBytes> buffer_{};
};

}  // namespace

std::shared_ptr<ProbeRun> make_ping_run(AsioProber::Core& core, check::ProbeId id,
                                        const check::PingProbe& probe) {
  return std::make_shared<PingRun>(core, id, probe);
}

}  // namespace vigil::check_io
