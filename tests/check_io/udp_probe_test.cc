// DNS_CHECK and UDP_CHECK through AsioProber on loopback UDP: keepalived 2.2.7's check_dns.c and
// check_udp.c (a reply the judge accepts passes, another ID is ignored, RCODE fails, an ICMP
// port unreachable fails, silence passes UDP_CHECK without require_reply).
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <vector>

#include "check/udp.h"
#include "check_io/probe_fixture.h"

namespace vigil::check_io {
namespace {

using asio::ip::udp;
using check::DnsProbe;
using check::Reason;
using check::UdpProbe;

// A UDP server on 127.0.0.1 that records each datagram and answers it with what `answer`
// returns for it (nothing when empty).
class UdpServer {
 public:
  using Answer = std::function<std::vector<uint8_t>(const std::vector<uint8_t>&)>;
  UdpServer(asio::io_context& io, Answer answer)
      : socket_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        answer_(std::move(answer)) {
    receive();
  }
  [[nodiscard]] uint16_t port() const { return socket_.local_endpoint().port(); }
  [[nodiscard]] const std::vector<std::vector<uint8_t>>& received() const { return received_; }
  [[nodiscard]] const std::vector<udp::endpoint>& peers() const { return peers_; }

 private:
  void receive() {
    socket_.async_receive_from(
        asio::buffer(buffer_), peer_, [this](const boost::system::error_code& error, size_t n) {
          if (error) return;
          received_.emplace_back(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(n));
          peers_.push_back(peer_);
          auto reply = answer_(received_.back());
          if (!reply.empty()) socket_.send_to(asio::buffer(reply), peer_);
          receive();
        });
  }
  udp::socket socket_;
  Answer answer_;
  udp::endpoint peer_;
  std::array<uint8_t, 2048> buffer_{};
  std::vector<std::vector<uint8_t>> received_;
  std::vector<udp::endpoint> peers_;
};

// A DNS response header to `query`: its ID (plus `id_offset`), QR=1, this RCODE, no records.
std::vector<uint8_t> dns_response(const std::vector<uint8_t>& query, uint8_t rcode,
                                  uint16_t id_offset = 0) {
  const auto id = static_cast<uint16_t>(((query.at(0) << 8) | query.at(1)) + id_offset);
  return {
      static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x81, rcode, 0, 0, 0, 0, 0, 0, 0, 0};
}

class DnsProbeTest : public ProbeTest {};

TEST_F(DnsProbeTest, MatchingNoErrorReplyPasses) {
  UdpServer server(loop_.io_context(), [](const auto& query) { return dns_response(query, 0); });
  auto result = probe(DnsProbe{.connection = to("127.0.0.1", server.port()),
                               .type = config::DnsType::kA,
                               .name = "example.org"});
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_EQ(server.received().size(), 1U);
  // The query after its ID: RD, one question, "example.org" A IN.
  const std::vector<uint8_t> expected_after_id = {0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,
                                                  0,    7,    'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                                  3,    'o',  'r', 'g', 0,   0,   1,   0,   1};
  const auto& query = server.received()[0];
  ASSERT_EQ(query.size(), 2 + expected_after_id.size());
  EXPECT_EQ(std::vector<uint8_t>(query.begin() + 2, query.end()), expected_after_id);
  EXPECT_EQ(prober_.counters().succeeded, 1U);
}

TEST_F(DnsProbeTest, NxdomainFails) {
  UdpServer server(loop_.io_context(), [](const auto& query) { return dns_response(query, 3); });
  auto result = probe(DnsProbe{.connection = to("127.0.0.1", server.port())});
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_NE(failure->detail.find("NXDOMAIN"), std::string::npos) << failure->detail;
}

TEST_F(DnsProbeTest, ReplyWithAnotherIdIsIgnoredThenTimesOut) {
  UdpServer server(loop_.io_context(),
                   [](const auto& query) { return dns_response(query, 0, /*id_offset=*/1); });
  std::optional<check::ProbeResult> result;
  prober_.start(DnsProbe{.connection = to("127.0.0.1", server.port(), 2s)},
                [&](check::ProbeResult r) { result = std::move(r); });
  ASSERT_TRUE(run_until([&] { return prober_.counters().ignored_replies == 1; }));
  EXPECT_FALSE(result.has_value()) << describe(result);
  time_.advance(2s);
  ASSERT_TRUE(run_until([&] { return result.has_value(); }));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kTimeout);
  EXPECT_EQ(failure->detail, "reply timed out after 2s");
}

TEST_F(DnsProbeTest, IcmpPortUnreachableIsRefused) {
  ClosedPort closed;  // a TCP port: nothing receives UDP on it either
  auto result = probe(DnsProbe{.connection = to("127.0.0.1", closed.port())});
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kConnectionRefused);
}

class UdpProbeTest : public ProbeTest {};

UdpProbe udp_probe(uint16_t port, Duration timeout = 5s) {
  const auto& payload = check::udp_default_payload();
  return UdpProbe{.connection = to("127.0.0.1", port, timeout),
                  .payload = std::vector<uint8_t>(payload.begin(), payload.end())};
}

TEST_F(UdpProbeTest, SilencePassesWithoutRequireReply) {
  UdpServer server(loop_.io_context(), [](const auto&) { return std::vector<uint8_t>{}; });
  std::optional<check::ProbeResult> result;
  prober_.start(udp_probe(server.port(), 3s), [&](check::ProbeResult r) { result = std::move(r); });
  ASSERT_TRUE(run_until([&] { return server.received().size() == 1; }));
  const std::vector<uint8_t> expected_payload = {
      'k', 'e', 'e', 'p', 'a', 'l', 'i', 'v', 'e', 'd', ' ', 'c', 'h', 'e', 'c', 'k',
      ' ', '-', ' ', 'k', 'e', 'e', 'p', 'a', 'l', 'i', 'v', 'e', 'd', ' ', 'c', 'h'};
  EXPECT_EQ(server.received()[0], expected_payload);
  EXPECT_FALSE(result.has_value());
  time_.advance(3s);
  ASSERT_TRUE(run_until([&] { return result.has_value(); }));
  EXPECT_TRUE(succeeded(result)) << describe(result);
}

TEST_F(UdpProbeTest, SilenceFailsWithRequireReply) {
  UdpServer server(loop_.io_context(), [](const auto&) { return std::vector<uint8_t>{}; });
  auto request = udp_probe(server.port(), 3s);
  request.require_reply = true;
  std::optional<check::ProbeResult> result;
  prober_.start(request, [&](check::ProbeResult r) { result = std::move(r); });
  ASSERT_TRUE(run_until([&] { return server.received().size() == 1; }));
  time_.advance(3s);
  ASSERT_TRUE(run_until([&] { return result.has_value(); }));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kTimeout);
}

TEST_F(UdpProbeTest, IcmpPortUnreachableFails) {
  ClosedPort closed;
  auto result = probe(udp_probe(closed.port()));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kConnectionRefused);
  EXPECT_EQ(failure->detail, "receive: connection refused");
}

TEST_F(UdpProbeTest, BindtoAndBindPortAreTheSource) {
  UdpServer server(loop_.io_context(), [](const auto&) { return std::vector<uint8_t>{1}; });
  uint16_t source_port = 0;
  {  // a UDP port free on 127.0.0.2 a moment ago, given up for the probe to bind
    udp::socket probe_port(loop_.io_context(),
                           udp::endpoint(asio::ip::make_address("127.0.0.2"), 0));
    source_port = probe_port.local_endpoint().port();
  }
  auto request = udp_probe(server.port());
  request.connection.bind_ip = *IpAddress::parse("127.0.0.2");  // all of 127/8 is local
  request.connection.bind_port = source_port;
  auto result = probe(request);
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_EQ(server.peers().size(), 1U);
  EXPECT_EQ(server.peers()[0].address().to_string(), "127.0.0.2");
  EXPECT_EQ(server.peers()[0].port(), source_port);
}

TEST_F(UdpProbeTest, BindtoAloneKeepsAnEphemeralPort) {
  UdpServer server(loop_.io_context(), [](const auto&) { return std::vector<uint8_t>{1}; });
  auto request = udp_probe(server.port());
  request.connection.bind_ip = *IpAddress::parse("127.0.0.3");
  auto result = probe(request);
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_EQ(server.peers().size(), 1U);
  EXPECT_EQ(server.peers()[0].address().to_string(), "127.0.0.3");
  EXPECT_NE(server.peers()[0].port(), 0);
}

struct ReplyCase {
  const char* name;
  std::vector<uint8_t> answer;
  bool passes;
};

class UdpReplyTest : public UdpProbeTest, public ::testing::WithParamInterface<ReplyCase> {};

// Expected: "OK" then any byte (mask 0xff 0xff 0x00), 2 to 8 bytes long.
TEST_P(UdpReplyTest, RequireReplyJudgesTheFirstDatagram) {
  const ReplyCase& c = GetParam();
  UdpServer server(loop_.io_context(), [&](const auto&) { return c.answer; });
  auto request = udp_probe(server.port());
  request.payload = {'p', 'i', 'n', 'g'};
  request.require_reply = true;
  request.reply = {'O', 'K', 0};
  request.reply_mask = {0xff, 0xff, 0x00};
  request.min_reply_length = 2;
  request.max_reply_length = 8;
  auto result = probe(request);  // no virtual time passes: the datagram alone decides
  ASSERT_EQ(server.received().size(), 1U);
  EXPECT_EQ(server.received()[0], (std::vector<uint8_t>{'p', 'i', 'n', 'g'}));
  if (c.passes) {
    EXPECT_TRUE(succeeded(result)) << describe(result);
  } else {
    const auto* failure = failed(result);
    ASSERT_NE(failure, nullptr) << describe(result);
    EXPECT_EQ(failure->reason, Reason::kBadReply);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Replies, UdpReplyTest,
    ::testing::Values(ReplyCase{"Match", {'O', 'K', '!'}, true},
                      ReplyCase{"MaskedByteDiffers", {'O', 'K', '?', '.'}, true},
                      ReplyCase{"Mismatch", {'N', 'O', '!'}, false},
                      ReplyCase{"TooShort", {'O'}, false},
                      ReplyCase{"TooLong", {'O', 'K', 1, 2, 3, 4, 5, 6, 7}, false}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vigil::check_io
