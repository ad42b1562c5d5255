// SmtpAlertSender over a fake transport in virtual time: queue order, one connection at a time,
// smtp_connect_timeout on the connect and each reply, the queue bound, no retries.
#include "alert/sender.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "fakes/fake_scheduler.h"

namespace vigil::alert {
namespace {

class FakeTransport final : public SmtpTransport {
 public:
  struct Conn final : SmtpConnection {
    Conn(FakeTransport& t, SmtpConnection::Handler& h) : transport(t), handler(&h) {}
    ~Conn() override { transport.open = nullptr; }
    void write(std::string bytes) override { written += bytes; }
    FakeTransport& transport;
    SmtpConnection::Handler* handler;
    std::string written;
  };

  std::unique_ptr<SmtpConnection> connect(const IpAddress& address, uint16_t port,
                                          SmtpConnection::Handler& handler) override {
    EXPECT_EQ(open, nullptr) << "one connection at a time";
    ++connects;
    last_address = address;
    last_port = port;
    auto conn = std::make_unique<Conn>(*this, handler);
    open = conn.get();
    return conn;
  }

  Conn* open = nullptr;
  int connects = 0;
  IpAddress last_address;
  uint16_t last_port = 0;
};

SmtpSettings settings() {
  SmtpSettings s;
  s.server = *IpAddress::parse("192.0.2.25");
  s.port = 2525;
  s.helo_name = "lb1";
  s.from = "lvs@example.com";
  s.to = {"ops@example.com"};
  s.router_id = "LVS_1";
  s.connect_timeout = 30s;
  return s;
}

struct SenderTest : ::testing::Test {
  SenderTest()
      : sender(
            scheduler, transport,
            [] {
              return event::WallTime{0, 0};
            },
            "test") {
    sender.configure(settings());
  }

  // Plays a server that accepts everything.
  void accept_all() {
    ASSERT_NE(transport.open, nullptr);
    auto* conn = transport.open;
    conn->handler->on_connected();
    for (const char* reply :
         {"220 hi\r\n", "250 ok\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n"}) {
      ASSERT_EQ(transport.open, conn);
      conn->handler->on_data(reply);
    }
    ASSERT_EQ(transport.open, conn);
    conn->handler->on_data("221 bye\r\n");
  }

  testing::FakeScheduler scheduler;
  FakeTransport transport;
  SmtpAlertSender sender;
};

TEST_F(SenderTest, SendsOneAlertPerConnectionInOrder) {
  sender.send(Alert{"first", "b1"});
  sender.send(Alert{"second", "b2"});
  EXPECT_EQ(transport.connects, 0);  // never from inside send()
  scheduler.run_ready();
  ASSERT_EQ(transport.connects, 1);
  EXPECT_EQ(transport.last_address, *IpAddress::parse("192.0.2.25"));
  EXPECT_EQ(transport.last_port, 2525);
  auto* conn = transport.open;
  conn->handler->on_connected();
  conn->handler->on_data("220 hi\r\n");
  conn->handler->on_data("250 ok\r\n");
  conn->handler->on_data("250 ok\r\n");
  conn->handler->on_data("250 ok\r\n");
  conn->handler->on_data("354 go\r\n");
  EXPECT_NE(conn->written.find("Subject: [LVS_1] first\r\n"), std::string::npos) << conn->written;
  conn->handler->on_data("250 ok\r\n");
  conn->handler->on_data("221 bye\r\n");
  EXPECT_EQ(transport.open, nullptr);
  EXPECT_EQ(sender.counters().sent, 1U);
  scheduler.run_ready();
  ASSERT_EQ(transport.connects, 2);
  accept_all();
  EXPECT_EQ(sender.counters().sent, 2U);
  EXPECT_FALSE(sender.busy());
  EXPECT_EQ(sender.queued(), 0U);
}

TEST_F(SenderTest, ConnectTimeout) {
  sender.send(Alert{"a", "b"});
  scheduler.run_ready();
  ASSERT_NE(transport.open, nullptr);
  scheduler.advance(30s - 1us);
  EXPECT_NE(transport.open, nullptr);
  scheduler.advance(1us);
  EXPECT_EQ(transport.open, nullptr);
  EXPECT_EQ(sender.counters().failed, 1U);
  EXPECT_EQ(sender.counters().timed_out, 1U);
  // Not retried.
  scheduler.advance(3600s);
  EXPECT_EQ(transport.connects, 1);
}

// Each reply has its own smtp_connect_timeout: a server answering every 29 s is slow but fine;
// one that then stays silent for 30 s ends the attempt.
TEST_F(SenderTest, EachReplyHasTheTimeout) {
  sender.send(Alert{"a", "b"});
  scheduler.run_ready();
  auto* conn = transport.open;
  scheduler.advance(29s);
  conn->handler->on_connected();
  scheduler.advance(29s);
  conn->handler->on_data("220 hi\r\n");
  scheduler.advance(29s);
  conn->handler->on_data("250 ok\r\n");
  EXPECT_EQ(transport.open, conn);
  // A partial line does not restart the clock.
  scheduler.advance(20s);
  conn->handler->on_data("25");
  scheduler.advance(10s);
  EXPECT_EQ(transport.open, nullptr);
  EXPECT_EQ(sender.counters().timed_out, 1U);
}

TEST_F(SenderTest, ARefusalIsLoggedAndTheNextAlertGoes) {
  sender.send(Alert{"a", "b"});
  sender.send(Alert{"c", "d"});
  scheduler.run_ready();
  auto* conn = transport.open;
  conn->handler->on_connected();
  conn->handler->on_data("554 go away\r\n");
  EXPECT_EQ(transport.open, nullptr);
  EXPECT_EQ(sender.counters().failed, 1U);
  scheduler.run_ready();
  EXPECT_EQ(transport.connects, 2);
  accept_all();
  EXPECT_EQ(sender.counters().sent, 1U);
}

TEST_F(SenderTest, ConnectionErrorsEndTheAttempt) {
  sender.send(Alert{"a", "b"});
  scheduler.run_ready();
  transport.open->handler->on_closed("connect: Connection refused");
  EXPECT_EQ(transport.open, nullptr);
  EXPECT_EQ(sender.counters().failed, 1U);
  EXPECT_FALSE(scheduler.next_deadline());  // no timer left, no retry
}

TEST_F(SenderTest, TheQueueIsBounded) {
  for (int i = 0; i < 70; ++i)
    sender.send(Alert{"a" + std::to_string(i), "b"});
  // 64 wait; the first starts only when the scheduler runs.
  EXPECT_EQ(sender.counters().queued, 64U);
  EXPECT_EQ(sender.counters().dropped, 6U);
  scheduler.run_ready();
  EXPECT_EQ(sender.queued(), 63U);
  sender.send(Alert{"late", "b"});
  EXPECT_EQ(sender.queued(), 64U);
  EXPECT_EQ(sender.counters().dropped, 6U);
  // Bounded loop: each alert ends by timeout.
  for (int i = 0; i < 100 && (sender.busy() || sender.queued() > 0); ++i)
    scheduler.advance(30s);
  EXPECT_EQ(sender.counters().timed_out, 65U);
  EXPECT_EQ(transport.connects, 65);
}

TEST_F(SenderTest, UnconfiguredSendsNothing) {
  sender.configure(std::nullopt);
  sender.send(Alert{"a", "b"});
  scheduler.advance(3600s);
  EXPECT_EQ(transport.connects, 0);
  EXPECT_EQ(sender.counters().unconfigured, 1U);
}

// The sender may be destroyed with an alert in flight: the connection closes, nothing runs.
TEST(Sender, DestroyedMidAlert) {
  testing::FakeScheduler scheduler;
  FakeTransport transport;
  {
    SmtpAlertSender sender(
        scheduler, transport, [] { return event::WallTime{}; }, "test");
    sender.configure(settings());
    sender.send(Alert{"a", "b"});
    scheduler.run_ready();
    EXPECT_NE(transport.open, nullptr);
  }
  EXPECT_EQ(transport.open, nullptr);
  EXPECT_FALSE(scheduler.next_deadline());
}

}  // namespace
}  // namespace vigil::alert
