#include "api/server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "api/client.h"
#include "common/unique_fd.h"
#include "event/event_loop.h"

namespace vigil::api {
namespace {

using namespace std::chrono_literals;
constexpr Duration kBound = 10s;  // a safety net for a broken test, never a timing assertion

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vigil-api-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/vigild.sock";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `client` on a thread while the loop serves; returns its result.
  template <class F>
  auto with_client(F client) {
    std::atomic<bool> done{false};
    decltype(client()) result = Error{"not run"};
    std::thread thread([&] {
      result = client();
      done = true;
      loop_.post([] {});  // wakes the loop to see `done`
    });
    loop_.run_until([&] { return done.load(); }, kBound);
    thread.join();
    return result;
  }

  std::unique_ptr<ControlSocketServer> listen(RequestHandler handler, ServerLimits limits = {},
                                              SocketAccess access = {}) {
    auto server = ControlSocketServer::listen(loop_, path_, access, std::move(handler), limits);
    EXPECT_TRUE(server) << (server ? "" : server.error().message);
    return server ? std::move(*server) : nullptr;
  }

  UniqueFd connect_raw() const {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    return fd;
  }

  event::EventLoop loop_{"test"};
  std::string dir_;
  std::string path_;
};

RequestHandler echo() {
  return [](const HttpRequest& request, const PeerCredentials& peer, Responder respond) {
    respond(HttpResponse{.body = request.method + " " + request.path + " uid=" +
                                 std::to_string(peer.uid) + " pid=" + std::to_string(peer.pid)});
  };
}

TEST_F(ServerTest, AnswersWithTheCallersCredentials) {
  auto server = listen(echo());
  ASSERT_TRUE(server);
  auto response = with_client([&] { return send_request(path_, {.target = "/v1/x?y=1"}); });
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body,
            "GET /v1/x uid=" + std::to_string(::getuid()) + " pid=" + std::to_string(::getpid()));
  EXPECT_EQ(server->counters().responses, 1U);
  EXPECT_EQ(server->open_connections(), 0U);
}

TEST_F(ServerTest, AHandlerMayAnswerLater) {
  Responder later;
  auto server = listen([&](const HttpRequest&, const PeerCredentials&, Responder respond) {
    later = std::move(respond);
    loop_.scheduler().call_after(1ms, [&] { later(HttpResponse{.status = 202, .body = "ok"}); });
  });
  auto response = with_client([&] { return send_request(path_, {.method = "POST"}); });
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 202);
  later(HttpResponse{.body = "twice"});  // ignored: the connection is gone
}

TEST_F(ServerTest, GarbageGetsAnErrorAndTheServerGoesOn) {
  auto server = listen(echo());
  auto garbage = with_client([&]() -> Result<std::string> {
    UniqueFd fd = connect_raw();
    const std::string junk = "\x01\x02 this is not http\r\n\r\n";
    (void)::send(fd.get(), junk.data(), junk.size(), MSG_NOSIGNAL);
    std::string answer;
    char buffer[512];
    ssize_t n;
    while ((n = ::recv(fd.get(), buffer, sizeof(buffer), 0)) > 0)
      answer.append(buffer, static_cast<size_t>(n));
    return answer;
  });
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->rfind("HTTP/1.1 400 Bad Request", 0), 0U) << *garbage;
  EXPECT_EQ(server->counters().bad_requests, 1U);
  auto response = with_client([&] { return send_request(path_, {}); });
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(ServerTest, ASlowRequestTimesOut) {
  auto server = listen(echo(), ServerLimits{.read_timeout = 20ms});
  auto answer = with_client([&]() -> Result<std::string> {
    UniqueFd fd = connect_raw();
    (void)::send(fd.get(), "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL);  // and nothing more
    std::string text;
    char buffer[512];
    ssize_t n;
    while ((n = ::recv(fd.get(), buffer, sizeof(buffer), 0)) > 0)
      text.append(buffer, static_cast<size_t>(n));
    return text;
  });
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->rfind("HTTP/1.1 408 Request Timeout", 0), 0U) << *answer;
  EXPECT_EQ(server->counters().timeouts, 1U);
  EXPECT_EQ(server->open_connections(), 0U);
}

TEST_F(ServerTest, AHandlerThatNeverAnswersGets504) {
  std::vector<Responder> kept;
  auto server = listen([&](const HttpRequest&, const PeerCredentials&,
                           Responder respond) { kept.push_back(std::move(respond)); },
                       ServerLimits{.handler_timeout = 20ms});
  auto response = with_client([&] { return send_request(path_, {}); });
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 504);
}

TEST_F(ServerTest, ConnectionsOverTheLimitGet503) {
  auto server = listen(echo(), ServerLimits{.max_connections = 1});
  UniqueFd holder = connect_raw();  // never sends: holds the only slot
  loop_.run_until([&] { return server->open_connections() == 1; }, kBound);
  auto response = with_client([&] { return send_request(path_, {}); });
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(server->counters().refused_busy, 1U);
}

TEST_F(ServerTest, TheSocketHasItsModeAndGoesAway) {
  {
    auto server = listen(echo(), {}, SocketAccess{.mode = 0660, .group = ::getegid()});
    ASSERT_TRUE(server);
    struct stat st {};
    ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0660U);
    EXPECT_EQ(st.st_gid, ::getegid());
    // No temporary name is left next to it.
    size_t entries = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      (void)entry;
      ++entries;
    }
    EXPECT_EQ(entries, 1U);
  }
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path_)));
}

TEST_F(ServerTest, ASecondServerOnTheSameSocketIsRefused) {
  auto first = listen(echo());
  ASSERT_TRUE(first);
  auto second = ControlSocketServer::listen(loop_, path_, {}, echo());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("another vigild answers there (pid " +
                                        std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.error().message;
}

TEST_F(ServerTest, AStaleSocketOrASymlinkIsReplaced) {
  {
    UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  }  // closed without listening: a socket file nobody answers on
  auto server = listen(echo());
  ASSERT_TRUE(server);
  server.reset();
  const std::string target = dir_ + "/target";
  ASSERT_EQ(::symlink(target.c_str(), path_.c_str()), 0);
  server = listen(echo());
  ASSERT_TRUE(server);
  EXPECT_FALSE(std::filesystem::exists(target));  // the link was replaced, not followed
}

TEST(SocketPaths, FollowTheRunFileSuffix) {
  EXPECT_EQ(socket_paths("", "").admin, "/run/vigil/vigild.sock");
  EXPECT_EQ(socket_paths("", "").read_only, "/run/vigil/vigild.ro.sock");
  EXPECT_EQ(socket_paths("d1", "web").admin, "/run/vigil/vigild_web_d1.sock");
  EXPECT_EQ(socket_paths("d1", "", "/x").read_only, "/x/vigild_d1.ro.sock");
}

TEST(Client, SaysWhyItCannotConnect) {
  auto response = send_request("/nonexistent/vigild.sock", {});
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().message.find("cannot connect to /nonexistent/vigild.sock"),
            std::string::npos);
}

// The metrics listener: the same server on TCP (port 0: a free one), no socket file, callers
// without credentials (uid -1).
TEST_F(ServerTest, ServesOnTcpWithoutCredentials) {
  auto server = ControlSocketServer::listen_tcp(loop_, *IpAddress::parse("127.0.0.1"), 0, echo());
  ASSERT_TRUE(server) << server.error().message;
  const uint16_t port = (*server)->port();
  ASSERT_NE(port, 0);
  EXPECT_EQ((*server)->path(), "127.0.0.1:" + std::to_string(port));
  auto reply = with_client([&]() -> Result<std::string> {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
      return Error{std::strerror(errno)};
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0)
      return Error{std::strerror(errno)};
    std::string answer;
    char buffer[4096];
    for (int round = 0; round < 100; ++round) {  // until the server closes
      const ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      answer.append(buffer, static_cast<size_t>(n));
    }
    return answer;
  });
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->rfind("HTTP/1.1 200", 0), 0U) << *reply;
  EXPECT_NE(reply->find("GET /metrics uid=4294967295 pid=0"), std::string::npos) << *reply;
  EXPECT_EQ((*server)->counters().responses, 1U);
}

TEST_F(ServerTest, ATcpAddressInUseIsRefused) {
  auto first = ControlSocketServer::listen_tcp(loop_, *IpAddress::parse("127.0.0.1"), 0, echo());
  ASSERT_TRUE(first) << first.error().message;
  auto second = ControlSocketServer::listen_tcp(loop_, *IpAddress::parse("127.0.0.1"),
                                                (*first)->port(), echo());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("cannot bind 127.0.0.1:"), std::string::npos)
      << second.error().message;
}

}  // namespace
}  // namespace vigil::api
