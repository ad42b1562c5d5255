// DNS_CHECK and UDP_CHECK: one datagram on a connected UDP socket (the connector's set-up, so
// bindto, bind_port, bind_if and fwmark apply as for TCP), then the reply or an ICMP error within
// connect_timeout, as keepalived 2.2.7 does (check_dns.c, check_udp.c, core/layer4.c). The
// decisions are check/dns.h's and check/udp.h's; this file only moves the bytes.
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/ip/udp.hpp>
#include <cerrno>
#include <cstring>
#include <random>
#include <span>
#include <utility>
#include <variant>
#include <vector>

#include "check/dns.h"
#include "check/udp.h"
#include "check_io/connector.h"
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

// Sends one datagram, then hands every datagram that arrives to on_datagram() until the probe is
// over; a receive error (the ICMP error a connected socket reports) fails it, and so does the
// timeout unless on_timeout() says otherwise.
class DatagramRun : public ProbeRun {
 protected:
  DatagramRun(AsioProber::Core& core, check::ProbeId id, std::string label,
              check::ConnectionIdentity connection, size_t receive_bytes)
      : ProbeRun(core, id, std::move(label)),
        connection_(std::move(connection)),
        socket_(core.io),
        timer_(core.scheduler),
        buffer_(receive_bytes) {}

  // The datagram to send; a ProbeNotRun when there is none to build.
  virtual std::variant<std::vector<uint8_t>, ProbeNotRun> request() = 0;
  virtual void on_datagram(std::span<const uint8_t> datagram) = 0;
  virtual void on_timeout() = 0;

  void begin() override {
    auto bytes = request();
    if (auto* not_run = std::get_if<ProbeNotRun>(&bytes)) return finish(std::move(*not_run));
    auto started = start_connect(connection_, Transport::kUdp);
    if (auto* failed = std::get_if<ProbeFailed>(&started)) return finish(std::move(*failed));
    if (auto* not_run = std::get_if<ProbeNotRun>(&started)) return finish(std::move(*not_run));
    auto& connecting = std::get<Connecting>(started);
    const bool v4 = connection_.connect_ip.is_v4();
    // keepalived sets IP_RECVERR so that every ICMP error, not only a hard one, reaches recv().
    int on = 1;
    if (v4 ? setsockopt(connecting.fd.get(), IPPROTO_IP, IP_RECVERR, &on, sizeof(on))
           : setsockopt(connecting.fd.get(), IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on)))
      return finish(ProbeNotRun{.detail = "IP_RECVERR: " + std::string(std::strerror(errno))});
    const auto& datagram = std::get<std::vector<uint8_t>>(bytes);
    if (::send(connecting.fd.get(), datagram.data(), datagram.size(), MSG_NOSIGNAL) < 0)
      return finish(connection_failure(errno, "send: "));
    boost::system::error_code error;
    socket_.assign(v4 ? asio::ip::udp::v4() : asio::ip::udp::v6(), connecting.fd.get(), error);
    if (error) return finish(ProbeNotRun{.detail = "cannot watch the socket: " + error.message()});
    connecting.fd.release();  // the Asio socket owns it now
    if (timeout() > Duration::zero())
      timer_.arm_at(core_.scheduler.now() + timeout(), [this] { on_timeout(); });
    receive();
  }

  void receive() {
    socket_.async_receive(
        asio::buffer(buffer_), [self = std::static_pointer_cast<DatagramRun>(shared_from_this())](
                                   const boost::system::error_code& error, size_t length) {
          if (self->over()) return;
          if (error) return self->finish(connection_failure(error.value(), "receive: "));
          self->on_datagram(std::span<const uint8_t>(self->buffer_.data(), length));
        });
  }

  void close() override {
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  [[nodiscard]] Duration timeout() const { return connection_.connect_timeout; }

  check::ConnectionIdentity connection_;

 private:
  asio::ip::udp::socket socket_;
  Timer timer_;
  std::vector<uint8_t> buffer_;
};

// keepalived's check_dns.c: a random ID per query; datagrams that are not the reply are ignored
// until one is or connect_timeout passes.
class DnsRun final : public DatagramRun {
 public:
  DnsRun(AsioProber::Core& core, check::ProbeId id, const check::DnsProbe& probe)
      : DatagramRun(
            core, id,
            "DNS " + endpoint_text(probe.connection.connect_ip, probe.connection.connect_port),
            probe.connection, kReceiveBytes),
        check_{.type = probe.type, .name = probe.name} {}

 private:
  // The header is all that is judged; a longer datagram is truncated, which changes nothing.
  static constexpr size_t kReceiveBytes = 512;

  std::variant<std::vector<uint8_t>, ProbeNotRun> request() override {
    query_id_ = static_cast<uint16_t>(std::random_device{}());
    auto query = check::dns_query(check_, query_id_);
    if (!query) return ProbeNotRun{.detail = "query: " + query.error().message};
    return std::move(*query);
  }

  void on_datagram(std::span<const uint8_t> datagram) override {
    check::DnsJudgement judgement = check::judge_dns_reply(datagram, query_id_);
    switch (judgement.verdict) {
      case check::DnsVerdict::kPassed:
        return finish(ProbeSucceeded{});
      case check::DnsVerdict::kFailed:
        return finish(ProbeFailed{.reason = Reason::kBadReply, .detail = judgement.reason});
      case check::DnsVerdict::kIgnore:
        ++core_.counters.ignored_replies;
        logger().debug("[{}] datagram of {} bytes ignored: {}", label(), datagram.size(),
                       judgement.reason);
        return receive();
    }
  }

  void on_timeout() override { finish(timeout_failure("reply", timeout())); }

  config::DnsCheck check_;
  uint16_t query_id_ = 0;
};

// keepalived's check_udp.c: the first datagram decides (a mismatch fails at once); silence
// passes unless require_reply.
class UdpRun final : public DatagramRun {
 public:
  UdpRun(AsioProber::Core& core, check::ProbeId id, const check::UdpProbe& probe)
      : DatagramRun(
            core, id,
            "UDP " + endpoint_text(probe.connection.connect_ip, probe.connection.connect_port),
            // max_reply_length + 1 bytes tell an over-long reply apart (check/udp.h).
            probe.connection, size_t{probe.max_reply_length} + 1),
        payload_(probe.payload),
        check_{.require_reply = probe.require_reply,
               .reply = probe.reply,
               .reply_mask = probe.reply_mask,
               .min_reply_length = probe.min_reply_length,
               .max_reply_length = probe.max_reply_length} {}

 private:
  std::variant<std::vector<uint8_t>, ProbeNotRun> request() override { return payload_; }

  void on_datagram(std::span<const uint8_t> datagram) override {
    check::UdpJudgement judgement = check::judge_udp_reply(check_, datagram);
    if (judgement.passed) return finish(ProbeSucceeded{});
    finish(ProbeFailed{.reason = Reason::kBadReply, .detail = judgement.reason});
  }

  void on_timeout() override {
    if (check::udp_timeout_passes(check_)) return finish(ProbeSucceeded{});
    finish(timeout_failure("reply", timeout()));
  }

  std::vector<uint8_t> payload_;
  config::UdpCheck check_;
};

}  // namespace

std::shared_ptr<ProbeRun> make_dns_run(AsioProber::Core& core, check::ProbeId id,
                                       const check::DnsProbe& probe) {
  return std::make_shared<DnsRun>(core, id, probe);
}

std::shared_ptr<ProbeRun> make_udp_run(AsioProber::Core& core, check::ProbeId id,
                                       const check::UdpProbe& probe) {
  return std::make_shared<UdpRun>(core, id, probe);
}

}  // namespace vigil::check_io
