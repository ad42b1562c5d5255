// TCP_CHECK through AsioProber on loopback: keepalived 2.2.7's check_tcp.c (connected means up,
// refused and timed out fail, local failures are not run) and the connection options.
#include <sys/socket.h>
#include <unistd.h>

#include "check_io/probe_fixture.h"

namespace vigil::check_io {
namespace {

using check::Reason;
using check::TcpProbe;

class TcpProbeTest : public ProbeTest {};

TEST_F(TcpProbeTest, ConnectedIsSuccess) {
  TcpServer server(loop_.io_context(), "127.0.0.1");
  auto result = probe(TcpProbe{to("127.0.0.1", server.port())});
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_TRUE(run_until([&] { return server.peers().size() == 1; }));
  EXPECT_EQ(prober_.counters().started, 1U);
  EXPECT_EQ(prober_.counters().succeeded, 1U);
  EXPECT_EQ(prober_.running(), 0U);
}

TEST_F(TcpProbeTest, Ipv6Loopback) {
  std::unique_ptr<TcpServer> server;
  try {
    server = std::make_unique<TcpServer>(loop_.io_context(), "::1");
  } catch (const boost::system::system_error&) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  auto result = probe(TcpProbe{to("::1", server->port())});
  EXPECT_TRUE(succeeded(result)) << describe(result);
}

TEST_F(TcpProbeTest, RefusedFails) {
  ClosedPort closed;
  auto result = probe(TcpProbe{to("127.0.0.1", closed.port())});
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kConnectionRefused);
  EXPECT_EQ(failure->detail, "connection refused");
  EXPECT_EQ(prober_.counters().failed, 1U);
}

TEST_F(TcpProbeTest, BindtoAndBindPortAreTheSource) {
  TcpServer server(loop_.io_context(), "127.0.0.1");
  ClosedPort source_port;
  source_port.release();
  auto connection = to("127.0.0.1", server.port());
  connection.bind_ip = *IpAddress::parse("127.0.0.2");  // all of 127/8 is local on Linux
  connection.bind_port = source_port.port();
  auto result = probe(TcpProbe{connection});
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_TRUE(run_until([&] { return server.peers().size() == 1; }));
  EXPECT_EQ(server.peers()[0].address().to_string(), "127.0.0.2");
  EXPECT_EQ(server.peers()[0].port(), source_port.port());
}

TEST_F(TcpProbeTest, BindtoAloneKeepsAnEphemeralPort) {
  TcpServer server(loop_.io_context(), "127.0.0.1");
  auto connection = to("127.0.0.1", server.port());
  connection.bind_ip = *IpAddress::parse("127.0.0.3");
  EXPECT_TRUE(succeeded(probe(TcpProbe{connection})));
  ASSERT_TRUE(run_until([&] { return server.peers().size() == 1; }));
  EXPECT_EQ(server.peers()[0].address().to_string(), "127.0.0.3");
  EXPECT_NE(server.peers()[0].port(), 0);
}

TEST_F(TcpProbeTest, CancelledProbeNeverReports) {
  TcpServer server(loop_.io_context(), "127.0.0.1");
  bool cancelled_reported = false;
  auto id = prober_.start(TcpProbe{to("127.0.0.1", server.port())},
                          [&](check::ProbeResult) { cancelled_reported = true; });
  prober_.cancel(id);
  prober_.cancel(id);       // again: ignored
  prober_.cancel(id + 99);  // unknown: ignored
  EXPECT_EQ(prober_.running(), 0U);
  // A later probe's whole round trip gives the cancelled one every chance to report.
  EXPECT_TRUE(succeeded(probe(TcpProbe{to("127.0.0.1", server.port())})));
  time_.advance(std::chrono::hours(1));  // its connect timer is gone too
  EXPECT_FALSE(cancelled_reported);
  EXPECT_EQ(prober_.counters().cancelled, 1U);
  EXPECT_EQ(prober_.counters().succeeded, 1U);
}

TEST_F(TcpProbeTest, LocalFailureIsNotRunAndNotInline) {
  auto connection = to("127.0.0.1", 80);
  connection.bind_if = "vigil-nonesuch0";
  auto result = probe(TcpProbe{connection});  // checks that start() did not report
  const auto* skipped = not_run(result);
  ASSERT_NE(skipped, nullptr) << describe(result);
  EXPECT_EQ(skipped->detail.rfind("bind_if vigil-nonesuch0: ", 0), 0U) << skipped->detail;
  EXPECT_EQ(prober_.counters().not_run, 1U);
}

TEST_F(TcpProbeTest, TimesOutWhileTheServerDropsTheSyn) {
  // A listener whose accept queue is full drops new SYNs (net.ipv4.tcp_abort_on_overflow 0), so
  // the connect stays pending until the checker's timer ends it.
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(listener.get(), 0), 0);
  ASSERT_EQ(getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::vector<UniqueFd> fillers;
  for (int i = 0; i < 2; ++i) {
    fillers.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ::connect(fillers.back().get(), reinterpret_cast<sockaddr*>(&address), length);
  }
  const uint16_t port = ntohs(address.sin_port);

  std::optional<check::ProbeResult> result;
  prober_.start(TcpProbe{to("127.0.0.1", port, 3s)},
                [&](check::ProbeResult r) { result = std::move(r); });
  // Another probe's round trip lets the loop see anything the blocked one could have seen.
  TcpServer canary(loop_.io_context(), "127.0.0.1");
  ASSERT_TRUE(succeeded(probe(TcpProbe{to("127.0.0.1", canary.port())})));
  ASSERT_FALSE(result.has_value()) << describe(result);
  EXPECT_EQ(prober_.running(), 1U);

  time_.advance(3s - 1us);
  EXPECT_FALSE(result.has_value());
  time_.advance(1us);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kTimeout);
  EXPECT_EQ(failure->detail, "connect timed out after 3s");
  EXPECT_EQ(prober_.running(), 0U);
}

TEST_F(TcpProbeTest, DestroyedProberReportsNothing) {
  TcpServer server(loop_.io_context(), "127.0.0.1");
  bool reported = false;
  auto prober = std::make_unique<AsioProber>(loop_, time_, scripts_);
  prober->start(TcpProbe{to("127.0.0.1", server.port())},
                [&](check::ProbeResult) { reported = true; });
  prober.reset();
  // The aborted wait still runs on the loop, after the prober has gone.
  EXPECT_TRUE(succeeded(probe(TcpProbe{to("127.0.0.1", server.port())})));
  time_.advance(std::chrono::hours(1));
  EXPECT_FALSE(reported);
}

// A loop fallen behind (thousands of checkers) may run the connect's timer before the handler of
// the socket's writable event: the connect completed in time, and the probe passes. Here the
// loop never runs before the deadline: the kernel completes the connect (the listener has it
// queued), then virtual time reaches connect_timeout.
TEST_F(TcpProbeTest, ConnectCompletedBeforeALateTimerPasses) {
  RawServer server;
  std::optional<check::ProbeResult> result;
  prober_.start(TcpProbe{to("127.0.0.1", server.port(), 1s)},
                [&](check::ProbeResult r) { result = std::move(r); });
  ASSERT_TRUE(server.wait_connection());
  EXPECT_FALSE(result.has_value()) << describe(result);
  time_.advance(1s);
  EXPECT_TRUE(succeeded(result)) << describe(result);
  // The writable event still queued on the loop reports nothing more.
  loop_.io_context().poll();
  EXPECT_EQ(prober_.counters().succeeded, 1U);
  EXPECT_EQ(prober_.counters().failed, 0U);
  EXPECT_EQ(prober_.running(), 0U);
}

// A connect that has not completed at its deadline still fails: a listener with a full accept
// queue (backlog 0, one connection queued and never accepted) makes Linux drop the probe's SYN,
// so its connect stays in progress.
TEST_F(TcpProbeTest, ConnectStillInProgressAtTheTimerFails) {
  RawServer server(0);
  UniqueFd filler(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(server.port());
  ASSERT_EQ(::connect(filler.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_TRUE(server.wait_connection());  // the queue is full now

  std::optional<check::ProbeResult> result;
  prober_.start(TcpProbe{to("127.0.0.1", server.port(), 1s)},
                [&](check::ProbeResult r) { result = std::move(r); });
  loop_.io_context().poll();  // whatever the loop has, it runs: the connect is not complete
  EXPECT_FALSE(result.has_value()) << describe(result);
  time_.advance(1s - 1us);
  EXPECT_FALSE(result.has_value()) << describe(result);
  time_.advance(1us);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kTimeout);
  EXPECT_EQ(failure->detail, "connect timed out after 1s");
}

class TcpProbeAsRootTest : public TcpProbeTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "SO_BINDTODEVICE and SO_MARK need root";
  }
};

TEST_F(TcpProbeAsRootTest, BindIfAndFwmarkApply) {
  TcpServer server(loop_.io_context(), "127.0.0.1");
  auto connection = to("127.0.0.1", server.port());
  connection.bind_if = "lo";
  connection.fwmark = 7;
  auto result = probe(TcpProbe{connection});
  EXPECT_TRUE(succeeded(result)) << describe(result);
}

}  // namespace
}  // namespace vigil::check_io
