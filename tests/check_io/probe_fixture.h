// What the AsioProber tests share: one event loop running the prober's sockets and the test's
// servers (all on this thread), a FakeScheduler for the probes' timeouts (a timeout fires only
// when a test advances virtual time, so no test depends on how fast this machine is), a real
// ProcessScriptRunner for MISC_CHECK, and a bound on every wait far above what it needs.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check_io/prober.h"
#include "common/unique_fd.h"
#include "event/event_loop.h"
#include "event/script_runner.h"
#include "fakes/fake_scheduler.h"

namespace vigil::check_io {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr Duration kBound = 20s;

// connect_ip:connect_port with a connect_timeout.
inline check::ConnectionIdentity to(const std::string& address, uint16_t port,
                                    Duration timeout = 5s) {
  return {
      .connect_ip = *IpAddress::parse(address), .connect_port = port, .connect_timeout = timeout};
}

class ProbeTest : public ::testing::Test {
 protected:
  // Starts `request` and runs the loop until its result (or kBound).
  std::optional<check::ProbeResult> probe(const check::ProbeRequest& request) {
    std::optional<check::ProbeResult> result;
    prober_.start(request, [&](check::ProbeResult r) { result = std::move(r); });
    EXPECT_FALSE(result.has_value()) << "reported inside start()";
    loop_.run_until([&] { return result.has_value(); }, kBound);
    return result;
  }
  // Runs the loop until `done` (or kBound).
  bool run_until(const std::function<bool()>& done) { return loop_.run_until(done, kBound); }

  event::EventLoop loop_;
  testing::FakeScheduler time_;
  event::ProcessScriptRunner scripts_{loop_};
  AsioProber prober_{loop_, time_, scripts_};
};

inline bool succeeded(const std::optional<check::ProbeResult>& result) {
  return result && std::holds_alternative<check::ProbeSucceeded>(*result);
}
inline const check::ProbeFailed* failed(const std::optional<check::ProbeResult>& result) {
  return result ? std::get_if<check::ProbeFailed>(&*result) : nullptr;
}
inline const check::ProbeNotRun* not_run(const std::optional<check::ProbeResult>& result) {
  return result ? std::get_if<check::ProbeNotRun>(&*result) : nullptr;
}
inline std::string describe(const std::optional<check::ProbeResult>& result) {
  if (!result) return "no result";
  if (std::holds_alternative<check::ProbeSucceeded>(*result)) return "succeeded";
  if (const auto* f = std::get_if<check::ProbeFailed>(&*result))
    return "failed: " + std::string(check::to_string(f->reason)) + ": " + f->detail;
  return "not run: " + std::get<check::ProbeNotRun>(*result).detail;
}

// A TCP listener on the loop that accepts every connection and keeps it (until destroyed), noting
// where each came from and counting what it receives (it never answers).
class TcpServer {
 public:
  TcpServer(asio::io_context& io, const std::string& address)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address(address), 0)) {
    accept();
  }
  [[nodiscard]] uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] const std::vector<tcp::endpoint>& peers() const { return peers_; }
  [[nodiscard]] size_t bytes_received() const { return bytes_received_; }

 private:
  struct Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::array<char, 4096> buffer{};
  };
  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (error) return;
      peers_.push_back(socket.remote_endpoint());
      connections_.push_back(std::make_unique<Connection>(std::move(socket)));
      receive(*connections_.back());
      accept();
    });
  }
  void receive(Connection& connection) {
    connection.socket.async_read_some(
        asio::buffer(connection.buffer),
        [this, &connection](const boost::system::error_code& error, size_t n) {
          bytes_received_ += n;
          if (!error) receive(connection);
        });
  }
  tcp::acceptor acceptor_;
  std::vector<tcp::endpoint> peers_;
  std::vector<std::unique_ptr<Connection>> connections_;
  size_t bytes_received_ = 0;
};

// A port nothing listens on: a socket bound to it (and kept) without listen(), so connects to it
// are refused and no other test can take it meanwhile.
class ClosedPort {
 public:
  explicit ClosedPort(bool v6 = false) : fd_(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0)) {
    sockaddr_storage storage{};
    socklen_t length;
    if (v6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
      in6->sin6_family = AF_INET6;
      in6->sin6_addr = in6addr_loopback;
      length = sizeof(*in6);
    } else {
      auto* in = reinterpret_cast<sockaddr_in*>(&storage);
      in->sin_family = AF_INET;
      in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      length = sizeof(*in);
    }
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&storage), length), 0);
    EXPECT_EQ(getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&storage), &length), 0);
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  }
  [[nodiscard]] uint16_t port() const { return port_; }
  // Gives the port up, for a test that binds to it itself.
  void release() { fd_.reset(); }

 private:
  UniqueFd fd_;
  uint16_t port_ = 0;
};

// A listener the loop does not watch: the test accepts and talks on its connection itself, so
// that it can make a probe's socket ready while the loop has not run (a loop fallen behind).
class RawServer {
 public:
  explicit RawServer(int backlog = 16) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(::listen(fd_.get(), backlog), 0);
    EXPECT_EQ(getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
  }
  [[nodiscard]] uint16_t port() const { return port_; }
  // Waits (at most kBound) until a connection is established and queued: its client's connect
  // has completed in the kernel.
  [[nodiscard]] bool wait_connection() const {
    pollfd watched{.fd = fd_.get(), .events = POLLIN, .revents = 0};
    const auto bound = std::chrono::duration_cast<std::chrono::milliseconds>(kBound);
    return ::poll(&watched, 1, static_cast<int>(bound.count())) == 1;
  }
  // Accepts a queued connection, if there is one (never blocks).
  bool accept() {
    if (connection_.get() >= 0) return true;
    connection_ = UniqueFd(::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    return connection_.get() >= 0;
  }
  [[nodiscard]] int connection() const { return connection_.get(); }
  // What the connection has received so far (never blocks).
  const std::string& received() {
    std::array<char, 4096> buffer{};
    ssize_t n = 0;
    while (connection_.get() >= 0 &&
           (n = ::recv(connection_.get(), buffer.data(), buffer.size(), 0)) > 0)
      received_.append(buffer.data(), static_cast<size_t>(n));
    return received_;
  }
  bool send(const std::string& bytes) {
    return ::send(connection_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  void close_connection() { connection_.reset(); }

 private:
  UniqueFd fd_;
  UniqueFd connection_;
  uint16_t port_ = 0;
  std::string received_;
};

}  // namespace vigil::check_io
