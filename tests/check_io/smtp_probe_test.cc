// SMTP_CHECK through AsioProber against a scripted server on loopback (port 0): keepalived 2.2.7's
// check_smtp.c dialogue (greeting 220, "HELO <helo_name>\r\n", 250, "QUIT\r\n", any line), the
// bytes the client sends recorded exactly, and its failures (bad greeting, bad HELO reply, a close
// before the QUIT reply, a server that stays silent until connect_timeout on virtual time).
#include <boost/asio/write.hpp>
#include <optional>
#include <string>
#include <vector>

#include "check_io/probe_fixture.h"

namespace vigil::check_io {
namespace {

using check::Reason;
using check::SmtpProbe;

// What the server does: send `greeting` on accept (nothing when empty), then answer each complete
// line the client sends with the next reply in order: its bytes, or a close (nullopt). With no
// reply left it says nothing more. It records every byte the client sent and notices the client's
// close.
struct Script {
  std::string greeting;
  std::vector<std::optional<std::string>> replies;
};

class SmtpServer {
 public:
  SmtpServer(asio::io_context& io, Script script, const std::string& address = "127.0.0.1")
      : acceptor_(io, tcp::endpoint(asio::ip::make_address(address), 0)),
        script_(std::move(script)) {
    acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (error) return;
      socket_.emplace(std::move(socket));
      accepted_ = true;
      if (!script_.greeting.empty()) send(script_.greeting);
      receive();
    });
  }
  [[nodiscard]] uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] bool accepted() const { return accepted_; }
  // The client closed (EOF or reset) or the server did.
  [[nodiscard]] bool done() const { return done_; }
  [[nodiscard]] const std::string& received() const { return received_; }
  // Sends `bytes` now, whatever the script says.
  void say(const std::string& bytes) { send(bytes); }

 private:
  void send(const std::string& bytes) {
    auto owned = std::make_shared<std::string>(bytes);
    asio::async_write(*socket_, asio::buffer(*owned),
                      [owned](const boost::system::error_code&, size_t) {});
  }
  void receive() {
    socket_->async_read_some(asio::buffer(buffer_),
                             [this](const boost::system::error_code& error, size_t n) {
                               if (error) {
                                 done_ = true;
                                 return;
                               }
                               received_.append(buffer_.data(), n);
                               if (!answer()) return;
                               receive();
                             });
  }
  // Answers each new complete line; false once the server has closed.
  bool answer() {
    size_t end = 0;
    while ((end = received_.find('\n', answered_upto_)) != std::string::npos) {
      answered_upto_ = end + 1;
      if (next_reply_ >= script_.replies.size()) continue;
      const auto& reply = script_.replies[next_reply_++];
      if (!reply) {
        boost::system::error_code ignored;
        socket_->shutdown(tcp::socket::shutdown_both, ignored);
        socket_->close(ignored);
        done_ = true;
        return false;
      }
      send(*reply);
    }
    return true;
  }

  tcp::acceptor acceptor_;
  Script script_;
  std::optional<tcp::socket> socket_;
  std::array<char, 4096> buffer_{};
  std::string received_;
  size_t answered_upto_ = 0;
  size_t next_reply_ = 0;
  bool accepted_ = false;
  bool done_ = false;
};

SmtpProbe smtp_probe(uint16_t port, Duration timeout = 5s, const char* address = "127.0.0.1") {
  return SmtpProbe{.connection = to(address, port, timeout), .helo_name = "checker.example"};
}

constexpr const char* kHeloQuit = "HELO checker.example\r\nQUIT\r\n";

class SmtpProbeTest : public ProbeTest {
 protected:
  // Probes `server` and waits until it has seen the client go.
  std::optional<check::ProbeResult> probe_and_wait(SmtpServer& server, Duration timeout = 5s) {
    auto result = probe(smtp_probe(server.port(), timeout));
    EXPECT_TRUE(run_until([&] { return server.done(); })) << "the client never closed";
    return result;
  }
};

TEST_F(SmtpProbeTest, TheUsualDialoguePasses) {
  SmtpServer server(loop_.io_context(), {.greeting = "220 mx.example ESMTP\r\n",
                                         .replies = {"250 mx.example\r\n", "221 2.0.0 bye\r\n"}});
  auto result = probe_and_wait(server);
  EXPECT_TRUE(succeeded(result)) << describe(result);
  // keepalived 2.2.7 check_smtp.c: "HELO %s\r\n", then "QUIT\r\n", nothing else.
  EXPECT_EQ(server.received(), kHeloQuit);
  EXPECT_EQ(prober_.counters().succeeded, 1U);
  EXPECT_EQ(prober_.running(), 0U);
}

TEST_F(SmtpProbeTest, TheDefaultHeloNameIsKeepaliveds) {
  SmtpServer server(loop_.io_context(),
                    {.greeting = "220 mx\r\n", .replies = {"250 ok\r\n", "221 bye\r\n"}});
  auto result = probe(SmtpProbe{.connection = to("127.0.0.1", server.port())});
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_TRUE(run_until([&] { return server.done(); }));
  EXPECT_EQ(server.received(), "HELO smtpchecker.keepalived.org\r\nQUIT\r\n");
}

TEST_F(SmtpProbeTest, Ipv6Loopback) {
  std::unique_ptr<SmtpServer> server;
  try {
    server = std::make_unique<SmtpServer>(
        loop_.io_context(), Script{.greeting = "220 mx\r\n", .replies = {"250 ok\r\n", "221\r\n"}},
        "::1");
  } catch (const boost::system::system_error&) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  auto result = probe(smtp_probe(server->port(), 5s, "::1"));
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_TRUE(run_until([&] { return server->done(); }));
  EXPECT_EQ(server->received(), kHeloQuit);
}

TEST_F(SmtpProbeTest, AnyQuitReplyLinePasses) {
  SmtpServer server(loop_.io_context(),
                    {.greeting = "220 mx\r\n", .replies = {"250 ok\r\n", "500 what?\r\n"}});
  auto result = probe_and_wait(server);
  EXPECT_TRUE(succeeded(result)) << describe(result);
  EXPECT_EQ(server.received(), kHeloQuit);
}

TEST_F(SmtpProbeTest, AGreetingInPiecesIsReadOn) {
  SmtpServer server(loop_.io_context(),
                    {.greeting = "220 mx.example", .replies = {"250 ok\r\n", "221 bye\r\n"}});
  std::optional<check::ProbeResult> result;
  prober_.start(smtp_probe(server.port()), [&](check::ProbeResult r) { result = std::move(r); });
  ASSERT_TRUE(run_until([&] { return server.accepted(); }));
  TcpServer canary(loop_.io_context(), "127.0.0.1");
  ASSERT_TRUE(succeeded(probe(check::TcpProbe{to("127.0.0.1", canary.port())})));
  EXPECT_FALSE(result.has_value()) << describe(result);
  EXPECT_EQ(server.received(), "");
  server.say(" ESMTP\r\n");
  ASSERT_TRUE(run_until([&] { return result.has_value() && server.done(); }));
  EXPECT_TRUE(succeeded(result)) << describe(result);
  EXPECT_EQ(server.received(), kHeloQuit);
}

TEST_F(SmtpProbeTest, A554GreetingIsABadReply) {
  SmtpServer server(loop_.io_context(), {.greeting = "554 no service here\r\n", .replies = {}});
  auto result = probe_and_wait(server);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail, R"(greeting is not 220: "554 no service here\x0d")");
  EXPECT_EQ(server.received(), "");  // no HELO after a bad greeting
  EXPECT_EQ(prober_.counters().failed, 1U);
}

TEST_F(SmtpProbeTest, AHeloReplyThatIsNot250IsABadReply) {
  SmtpServer server(loop_.io_context(),
                    {.greeting = "220 mx\r\n", .replies = {"550 go away\r\n", "221 bye\r\n"}});
  auto result = probe_and_wait(server);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail, R"(HELO reply is not 250: "550 go away\x0d")");
  EXPECT_EQ(server.received(), "HELO checker.example\r\n");  // no QUIT after a bad HELO reply
}

TEST_F(SmtpProbeTest, AMultiLineGreetingFailsOnItsFirstLineAsKeepalived) {
  // keepalived 2.2.7 smtp_get_status: the status must be followed by a space or the line's end,
  // so "220-" is not 220 (vigil's rfc5321_replies would accept it; SMTP_CHECK does not use it).
  SmtpServer server(loop_.io_context(), {.greeting = "220-mx.example ESMTP\r\n220 ready\r\n",
                                         .replies = {"250 ok\r\n", "221 bye\r\n"}});
  auto result = probe_and_wait(server);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail, R"(greeting is not 220: "220-mx.example ESMTP\x0d")");
  EXPECT_EQ(server.received(), "");
}

TEST_F(SmtpProbeTest, ACloseBeforeTheQuitReplyFails) {
  SmtpServer server(loop_.io_context(),
                    {.greeting = "220 mx\r\n", .replies = {"250 ok\r\n", std::nullopt}});
  auto result = probe_and_wait(server);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kConnectionReset);
  EXPECT_EQ(failure->detail, "connection closed after QUIT without a reply");
  EXPECT_EQ(server.received(), kHeloQuit);
}

TEST_F(SmtpProbeTest, ACloseBeforeTheHeloReplyFails) {
  SmtpServer server(loop_.io_context(), {.greeting = "220 mx\r\n", .replies = {std::nullopt}});
  auto result = probe_and_wait(server);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kConnectionReset);
  EXPECT_EQ(failure->detail, "connection closed before the HELO reply");
}

TEST_F(SmtpProbeTest, RefusedFails) {
  ClosedPort closed;
  auto result = probe(smtp_probe(closed.port()));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kConnectionRefused);
}

class SmtpTimeoutTest : public SmtpProbeTest {
 protected:
  // Starts a probe at `server` with a 3s connect_timeout and returns once the server has seen
  // `sent` from the client and the loop has had a round trip more to see anything else.
  void start_and_settle(SmtpServer& server, const std::string& sent) {
    prober_.start(smtp_probe(server.port(), 3s),
                  [&](check::ProbeResult r) { result_ = std::move(r); });
    ASSERT_TRUE(run_until([&] { return server.accepted() && server.received() == sent; }));
    // Another probe's whole round trip lets the loop deliver anything the first could see.
    TcpServer canary(loop_.io_context(), "127.0.0.1");
    ASSERT_TRUE(succeeded(probe(check::TcpProbe{to("127.0.0.1", canary.port())})));
    ASSERT_FALSE(result_.has_value()) << describe(result_);
    EXPECT_EQ(prober_.running(), 1U);
  }
  void expect_read_timeout_at_3s() {
    time_.advance(3s - 1us);
    EXPECT_FALSE(result_.has_value()) << describe(result_);
    time_.advance(1us);
    const auto* failure = failed(result_);
    ASSERT_NE(failure, nullptr) << describe(result_);
    EXPECT_EQ(failure->reason, Reason::kTimeout);
    EXPECT_EQ(failure->detail, "read timed out after 3s");
    EXPECT_EQ(prober_.running(), 0U);
  }
  std::optional<check::ProbeResult> result_;
};

TEST_F(SmtpTimeoutTest, ASilentServerFailsAtConnectTimeout) {
  SmtpServer server(loop_.io_context(), {.greeting = "", .replies = {}});
  start_and_settle(server, "");
  expect_read_timeout_at_3s();
}

TEST_F(SmtpTimeoutTest, NoHeloReplyFailsAtConnectTimeout) {
  SmtpServer server(loop_.io_context(), {.greeting = "220 mx\r\n", .replies = {}});
  start_and_settle(server, "HELO checker.example\r\n");
  expect_read_timeout_at_3s();
}

TEST_F(SmtpTimeoutTest, NoQuitReplyFailsAtConnectTimeout) {
  SmtpServer server(loop_.io_context(), {.greeting = "220 mx\r\n", .replies = {"250 ok\r\n"}});
  start_and_settle(server, kHeloQuit);
  expect_read_timeout_at_3s();
}

TEST_F(SmtpTimeoutTest, EachReadHasItsOwnConnectTimeout) {
  // keepalived 2.2.7 check_smtp.c arms connection_to for every read: 2s of silence before the
  // HELO reply and 2s more before the QUIT reply make 4s in all, past the 3s connect_timeout,
  // and the probe still passes.
  SmtpServer server(loop_.io_context(), {.greeting = "220 mx\r\n", .replies = {}});
  start_and_settle(server, "HELO checker.example\r\n");
  time_.advance(2s);
  EXPECT_FALSE(result_.has_value()) << describe(result_);
  server.say("250 ok\r\n");
  ASSERT_TRUE(run_until([&] { return server.received() == kHeloQuit; }));
  time_.advance(2s);
  EXPECT_FALSE(result_.has_value()) << describe(result_);
  server.say("221 bye\r\n");
  ASSERT_TRUE(run_until([&] { return result_.has_value(); }));
  EXPECT_TRUE(succeeded(result_)) << describe(result_);
}

}  // namespace
}  // namespace vigil::check_io
