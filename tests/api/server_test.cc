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

// ---- streaming responses ----------------------------------------------------------------------

// A handler that answers every request with a stream starting with `first`, kept in `streams`.
RequestHandler streamer(std::vector<std::shared_ptr<ResponseStream>>& streams) {
  return [&streams](const HttpRequest&, const PeerCredentials&, Responder respond) {
    auto stream = std::make_shared<ResponseStream>();
    streams.push_back(stream);
    respond(
        HttpResponse{.content_type = "application/x-ndjson", .body = "first\n", .stream = stream});
  };
}

void send_get(const UniqueFd& fd) {
  const std::string request = "GET /v1/events?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
}

// Everything until the server closes (bounded: a broken test ends, it does not hang).
Result<std::string> read_to_end(const UniqueFd& fd) {
  std::string answer;
  char buffer[65536];
  for (int round = 0; round < 100000; ++round) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{std::strerror(errno)};
    if (n == 0) return answer;
    answer.append(buffer, static_cast<size_t>(n));
  }
  return Error{"no end"};
}

std::string body_of(const std::string& answer) {
  const size_t end = answer.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : answer.substr(end + 4);
}

TEST_F(ServerTest, AStreamSendsWhatTheHandlerSendsUntilItFinishes) {
  std::vector<std::shared_ptr<ResponseStream>> streams;
  auto server = listen(streamer(streams));
  UniqueFd fd = connect_raw();
  send_get(fd);
  loop_.run_until([&] { return !streams.empty(); }, kBound);
  ASSERT_EQ(streams.size(), 1U);
  auto& stream = streams[0];
  EXPECT_TRUE(stream->open());
  EXPECT_EQ(server->open_streams(), 1U);
  EXPECT_EQ(server->counters().streams, 1U);
  EXPECT_TRUE(stream->send("second\n"));
  stream->finish("last\n");
  EXPECT_FALSE(stream->open());
  EXPECT_FALSE(stream->send("too late\n"));
  auto answer = with_client([&] { return read_to_end(fd); });
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << *answer;
  EXPECT_EQ(answer->find("Content-Length"), std::string::npos) << *answer;
  EXPECT_NE(answer->find("Connection: close"), std::string::npos) << *answer;
  EXPECT_EQ(body_of(*answer), "first\nsecond\nlast\n");
  EXPECT_EQ(server->open_connections(), 0U);
  EXPECT_EQ(server->open_streams(), 0U);
}

TEST_F(ServerTest, AStreamWhoseReaderLeavesCloses) {
  std::vector<std::shared_ptr<ResponseStream>> streams;
  auto server = listen(streamer(streams));
  {
    UniqueFd fd = connect_raw();
    send_get(fd);
    loop_.run_until([&] { return !streams.empty(); }, kBound);
  }  // the reader closes its end
  loop_.run_until([&] { return server->open_connections() == 0; }, kBound);
  EXPECT_EQ(server->open_connections(), 0U);
  EXPECT_EQ(server->open_streams(), 0U);
  ASSERT_EQ(streams.size(), 1U);
  EXPECT_FALSE(streams[0]->open());
  EXPECT_FALSE(streams[0]->send("nobody reads this\n"));
}

TEST_F(ServerTest, AReaderThatFallsBehindIsDroppedWithALastLine) {
  std::vector<std::shared_ptr<ResponseStream>> streams;
  auto server = listen(streamer(streams), ServerLimits{.stream_buffer_bytes = 64 * 1024});
  UniqueFd fd = connect_raw();
  send_get(fd);
  loop_.run_until([&] { return !streams.empty(); }, kBound);
  ASSERT_EQ(streams.size(), 1U);
  auto& stream = streams[0];
  // Nobody reads: the socket buffer fills, then the server's own buffer up to its bound.
  const std::string line = std::string(999, 'x') + "\n";
  size_t taken = 0;
  bool dropped = false;
  for (int i = 0; i < 100000 && !dropped; ++i) {
    if (stream->send(line)) {
      ++taken;
    } else {
      dropped = true;
    }
  }
  ASSERT_TRUE(dropped);
  EXPECT_EQ(server->counters().streams_dropped, 1U);
  EXPECT_FALSE(stream->open());
  EXPECT_FALSE(stream->send(line));
  stream->finish("{\"lost\":true}\n");
  // The reader wakes up: it gets every line that was taken, the last line, then the end.
  auto answer = with_client([&] { return read_to_end(fd); });
  ASSERT_TRUE(answer) << answer.error().message;
  const std::string body = body_of(*answer);
  EXPECT_EQ(body.size(), std::string("first\n").size() + taken * line.size() +
                             std::string("{\"lost\":true}\n").size());
  EXPECT_TRUE(body.ends_with(line + "{\"lost\":true}\n"));
  EXPECT_EQ(server->open_streams(), 0U);
}

TEST_F(ServerTest, ADroppedReaderThatNeverReadsIsClosedAtTheWriteDeadline) {
  std::vector<std::shared_ptr<ResponseStream>> streams;
  auto server =
      listen(streamer(streams), ServerLimits{.write_timeout = std::chrono::milliseconds(1),
                                             .stream_buffer_bytes = 16 * 1024});
  UniqueFd fd = connect_raw();
  send_get(fd);
  loop_.run_until([&] { return !streams.empty(); }, kBound);
  ASSERT_EQ(streams.size(), 1U);
  const std::string line = std::string(999, 'x') + "\n";
  for (int i = 0; i < 100000 && streams[0]->send(line); ++i) {
  }
  EXPECT_FALSE(streams[0]->open());
  loop_.run_until([&] { return server->open_connections() == 0; }, kBound);
  EXPECT_EQ(server->open_connections(), 0U);
  EXPECT_EQ(server->open_streams(), 0U);
  EXPECT_GE(server->counters().timeouts, 1U);
}

TEST_F(ServerTest, StreamsBeyondTheLimitGet503) {
  std::vector<std::shared_ptr<ResponseStream>> streams;
  auto server = listen(streamer(streams), ServerLimits{.max_streams = 1});
  UniqueFd first = connect_raw();
  send_get(first);
  loop_.run_until([&] { return streams.size() == 1; }, kBound);
  UniqueFd second = connect_raw();
  send_get(second);
  loop_.run_until([&] { return streams.size() == 2; }, kBound);
  ASSERT_EQ(streams.size(), 2U);
  EXPECT_TRUE(streams[0]->open());
  EXPECT_FALSE(streams[1]->open());  // refused: the handler learns it at once
  auto refused = with_client([&] { return read_to_end(second); });
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_EQ(refused->rfind("HTTP/1.1 503", 0), 0U) << *refused;
  EXPECT_EQ(server->counters().refused_busy, 1U);
  EXPECT_EQ(server->open_streams(), 1U);
  // The first one still streams.
  EXPECT_TRUE(streams[0]->send("more\n"));
  streams[0]->finish();
  auto answer = with_client([&] { return read_to_end(first); });
  ASSERT_TRUE(answer);
  EXPECT_EQ(body_of(*answer), "first\nmore\n");
}

TEST_F(ServerTest, TheClientReadsAStreamLineByLine) {
  std::vector<std::shared_ptr<ResponseStream>> streams;
  auto server = listen(streamer(streams));
  std::vector<std::string> lines;
  std::atomic<bool> done{false};
  Result<ParsedResponse> result = Error{"not run"};
  std::thread client([&] {
    result = stream_request(path_, {.target = "/v1/events?follow=1"},
                            [&](std::string_view line) { lines.emplace_back(line); });
    done = true;
    loop_.post([] {});
  });
  loop_.run_until([&] { return !streams.empty(); }, kBound);
  ASSERT_EQ(streams.size(), 1U);
  EXPECT_TRUE(streams[0]->send("second\nthi"));
  EXPECT_TRUE(streams[0]->send("rd\n"));
  streams[0]->finish();
  loop_.run_until([&] { return done.load(); }, kBound);
  client.join();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(lines, (std::vector<std::string>{"first", "second", "third"}));
}

// A stream that goes silent for longer than stream_idle (vigild's heartbeats stopped: it hangs,
// or the connection died without closing) is an error, not a wait for ever; without
// stream_idle the reader waits until the stream ends.
TEST_F(ServerTest, TheClientGivesUpOnASilentStreamAfterStreamIdle) {
  std::vector<std::shared_ptr<ResponseStream>> streams;
  auto server = listen(streamer(streams));
  std::vector<std::string> lines;
  std::atomic<bool> done{false};
  Result<ParsedResponse> result = Error{"not run"};
  std::thread client([&] {
    // Long enough that a loaded machine still serves the first line before it: it must fire.
    result = stream_request(path_, {.target = "/v1/events?follow=1", .stream_idle = 500ms},
                            [&](std::string_view line) { lines.emplace_back(line); });
    done = true;
    loop_.post([] {});
  });
  loop_.run_until([&] { return done.load(); }, kBound);
  client.join();
  ASSERT_EQ(streams.size(), 1U);  // never finished by the server's side
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("nothing from " + path_ + " for 500 ms"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(lines, std::vector<std::string>{"first"});
}

}  // namespace
}  // namespace vigil::api
