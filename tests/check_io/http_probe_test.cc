// HTTP_GET through AsioProber against an in-test server: the request bytes on the wire, the
// verdicts of check::HttpResponseReader, keepalived 2.2.7's read-to-EOF and per-read timeouts
// (check_http.c), vigil's opt-in total deadline, and bounded memory whatever the server sends.
#include <openssl/evp.h>

#include "check/http.h"
#include "check_io/http_server.h"

namespace vigil::check_io {
namespace {

using check::HttpProbe;
using check::Reason;

std::shared_ptr<const check::HttpUrlCheck> expect(const config::HttpUrl& url = {}) {
  auto made = check::HttpUrlCheck::make(url);
  EXPECT_TRUE(made.ok());
  return std::make_shared<const check::HttpUrlCheck>(std::move(*made));
}

HttpProbe http(uint16_t port, std::shared_ptr<const check::HttpUrlCheck> expectation = expect(),
               Duration timeout = 5s) {
  HttpProbe probe;
  probe.connection = to("127.0.0.1", port, timeout);
  probe.request = check::http_request(
      {.path = "/health", .address = probe.connection.connect_ip, .port = port});
  probe.expect = std::move(expectation);
  return probe;
}

check::Md5Digest md5(std::string_view bytes) {
  check::Md5Digest digest{};
  unsigned length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_md5(), nullptr);
  return digest;
}

constexpr const char* kOk = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello";

class HttpProbeTest : public ProbeTest {};

TEST_F(HttpProbeTest, SendsTheRequestBytesAndPassesOn200) {
  HttpServer server(loop_.io_context(), {.head = kOk});
  HttpProbe request = http(server.port());
  auto result = probe(request);
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_EQ(server.count(), 1U);
  EXPECT_EQ(server.served(0).request, request.request);
  EXPECT_EQ(server.served(0).request,
            "GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:" +
                std::to_string(server.port()) + "\r\n\r\n");
  EXPECT_EQ(prober_.counters().response_bytes, std::string_view(kOk).size());
  EXPECT_EQ(prober_.counters().succeeded, 1U);
}

// A loop fallen behind runs a step's timer before the handler of the socket event that ended the
// step in time. Here the loop does not run at all before each deadline: the connect completes in
// the kernel, then its timer runs (the probe goes on and writes the request); the response and
// the server's FIN arrive, then the read's timer runs (the probe waits for its read handler).
// The probe passes, with the request sent once.
TEST_F(HttpProbeTest, StepsThatEndedBeforeTheirLateTimersPass) {
  RawServer server;
  HttpProbe request = http(server.port(), expect(), 1s);
  std::optional<check::ProbeResult> result;
  prober_.start(request, [&](check::ProbeResult r) { result = std::move(r); });
  ASSERT_TRUE(server.wait_connection());
  time_.advance(1s);  // the connect's deadline
  ASSERT_FALSE(result.has_value()) << describe(result);

  ASSERT_TRUE(server.accept());
  ASSERT_TRUE(run_until([&] { return server.received().size() >= request.request.size(); }));
  loop_.io_context().poll();  // the write's handler: the probe now waits for the response
  ASSERT_TRUE(server.send(kOk));
  server.close_connection();
  time_.advance(1s);  // the read's deadline, the response unread
  EXPECT_FALSE(result.has_value()) << describe(result);

  ASSERT_TRUE(run_until([&] { return result.has_value(); }));
  EXPECT_TRUE(succeeded(result)) << describe(result);
  EXPECT_EQ(server.received(), request.request);
  EXPECT_EQ(prober_.counters().response_bytes, std::string_view(kOk).size());
  EXPECT_EQ(prober_.counters().succeeded, 1U);
  EXPECT_EQ(prober_.counters().failed, 0U);
}

TEST_F(HttpProbeTest, StatusOutsideTheSetFailsWithTheReadersReason) {
  HttpServer server(loop_.io_context(),
                    {.head = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"});
  auto result = probe(http(server.port()));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail, "status 503 not in 200-299");
}

TEST_F(HttpProbeTest, Digest) {
  HttpServer server(loop_.io_context(), {.head = kOk});
  config::HttpUrl url;
  url.digest = md5("hello");
  EXPECT_TRUE(succeeded(probe(http(server.port(), expect(url)))));

  url.digest = md5("other");
  auto result = probe(http(server.port(), expect(url)));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail.rfind("digest " + check::to_hex(md5("hello")), 0), 0U)
      << failure->detail;
}

TEST_F(HttpProbeTest, EofBeforeTheHeadersFails) {
  HttpServer server(loop_.io_context(), {.head = ""});
  auto result = probe(http(server.port()));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail.rfind("no data received", 0), 0U) << failure->detail;
}

TEST_F(HttpProbeTest, ResetWhileReadingFails) {
  HttpServer server(loop_.io_context(), {.head = "HTTP/1.0 200 OK\r\n", .reset = true});
  auto result = probe(http(server.port()));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kConnectionReset);
  EXPECT_EQ(failure->detail, "read: connection reset by peer");
}

TEST_F(HttpProbeTest, ServerKeepingTheConnectionOpenFailsOnTheReadTimeout) {
  // keepalived reads to EOF: Content-Length does not end the response.
  HttpServer server(loop_.io_context(), {.head = kOk, .keep_open = true});
  std::optional<check::ProbeResult> result;
  prober_.start(http(server.port(), expect(), 200ms),
                [&](check::ProbeResult r) { result = std::move(r); });
  ASSERT_TRUE(
      run_until([&] { return prober_.counters().response_bytes == std::string_view(kOk).size(); }));
  time_.advance(200ms - 1us);
  EXPECT_FALSE(result.has_value()) << describe(result);
  time_.advance(1us);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kTimeout);
  EXPECT_EQ(failure->detail, "read timed out after 200ms");
}

// vigil's opt-in strict framing (checker_strict_framing): a server that answers with a complete
// Content-Length or chunked response but keeps the connection open. keepalived's reading (the
// default) waits for EOF and fails on the read timeout; strict ends at the framed body and passes
// with no time passing at all.
TEST_F(HttpProbeTest, StrictFramingEndsAtTheFramedBodyWithoutWaitingForEof) {
  struct Case {
    const char* name;
    std::string head;
  };
  const Case cases[] = {
      {"Content-Length", kOk},
      {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
  };
  for (const auto& c : cases) {
    for (const bool strict : {false, true}) {
      SCOPED_TRACE(std::string(c.name) + (strict ? " (strict)" : " (default)"));
      HttpServer server(loop_.io_context(), {.head = c.head, .keep_open = true});
      const uint64_t bytes_before = prober_.counters().response_bytes;
      HttpProbe request = http(server.port(), expect(), 200ms);
      request.strict_framing = strict;
      std::optional<check::ProbeResult> result;
      prober_.start(request, [&](check::ProbeResult r) { result = std::move(r); });
      ASSERT_TRUE(
          run_until([&] { return server.count() == 1 && server.served(0).finished_writing; }));
      if (strict) {
        ASSERT_TRUE(run_until([&] { return result.has_value(); }));
        EXPECT_TRUE(succeeded(result)) << describe(result);
        EXPECT_EQ(prober_.running(), 0U);
        continue;
      }
      ASSERT_TRUE(run_until(
          [&] { return prober_.counters().response_bytes == bytes_before + c.head.size(); }));
      time_.advance(200ms - 1us);
      EXPECT_FALSE(result.has_value()) << describe(result);
      time_.advance(1us);
      const auto* failure = failed(result);
      ASSERT_NE(failure, nullptr) << describe(result);
      EXPECT_EQ(failure->reason, Reason::kTimeout);
      EXPECT_EQ(failure->detail, "read timed out after 200ms");
    }
  }
}

TEST_F(HttpProbeTest, StrictFramingFailsABodyCutShortByEof) {
  HttpServer server(loop_.io_context(),
                    {.head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"});
  HttpProbe request = http(server.port());
  auto keepalived = probe(request);
  EXPECT_TRUE(succeeded(keepalived)) << describe(keepalived);  // a mismatch is only noted
  request.strict_framing = true;
  auto result = probe(request);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail, "bad framing: body ended after 10 of 100 bytes (Content-Length)");
}

TEST_F(HttpProbeTest, EachReadHasItsOwnTimeout) {
  // keepalived's http_read_thread re-arms connect_timeout after every read: a slow drip passes.
  HttpServer server(loop_.io_context(), {.head = "HTTP/1.0 200 OK\r\n", .keep_open = true});
  std::optional<check::ProbeResult> result;
  prober_.start(http(server.port(), expect(), 1s),
                [&](check::ProbeResult r) { result = std::move(r); });
  size_t expected_bytes = 17;
  ASSERT_TRUE(run_until([&] { return prober_.counters().response_bytes == expected_bytes; }));
  for (const char* piece : {"Content-Length: 2\r\n", "\r\n", "ok"}) {
    time_.advance(900ms);
    ASSERT_FALSE(result.has_value()) << describe(result);
    server.connection(0).send(piece);
    expected_bytes += std::string_view(piece).size();
    ASSERT_TRUE(run_until([&] { return prober_.counters().response_bytes == expected_bytes; }));
  }
  time_.advance(900ms);  // 3.6 s since the first byte: no limit on the whole
  server.connection(0).close();
  ASSERT_TRUE(run_until([&] { return result.has_value(); }));
  EXPECT_TRUE(succeeded(result)) << describe(result);
}

TEST_F(HttpProbeTest, TotalDeadlineBoundsTheWholeProbe) {
  HttpServer server(loop_.io_context(), {.head = "HTTP/1.0 200 OK\r\n", .keep_open = true});
  HttpProbe request = http(server.port(), expect(), 10s);
  request.total_deadline = 2s;
  std::optional<check::ProbeResult> result;
  prober_.start(request, [&](check::ProbeResult r) { result = std::move(r); });
  ASSERT_TRUE(run_until([&] { return prober_.counters().response_bytes == 17; }));
  time_.advance(1s);
  server.connection(0).send("X: y\r\n");
  ASSERT_TRUE(run_until([&] { return prober_.counters().response_bytes == 23; }));
  EXPECT_FALSE(result.has_value());
  time_.advance(1s);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kTimeout);
  EXPECT_EQ(failure->detail, "total deadline of 2s passed");
}

TEST_F(HttpProbeTest, TenMegabyteBodyPassesThroughAFixedBuffer) {
  constexpr size_t kBody = 10 * 1024 * 1024;
  const std::string head =
      "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(kBody) + "\r\n\r\n";
  HttpServer server(loop_.io_context(), {.head = head, .body_bytes = kBody});
  config::HttpUrl url;
  url.regex = "x{100}";  // the reader's regex window must stay bounded too
  auto result = probe(http(server.port(), expect(url)));
  EXPECT_TRUE(succeeded(result)) << describe(result);
  EXPECT_EQ(prober_.counters().response_bytes, head.size() + kBody);
}

TEST_F(HttpProbeTest, EndlessHeadersFailAsSoonAsTheyAreTooLong) {
  HttpServer server(loop_.io_context(), {.head = "HTTP/1.0 200 OK\r\n", .endless = true});
  auto result = probe(http(server.port()));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail, "headers longer than 4095 bytes");
  // The probe stopped reading once the verdict was known: a chunk or two, not the stream.
  EXPECT_LE(prober_.counters().response_bytes, 2 * 4096U);
  ASSERT_TRUE(run_until([&] { return server.served(0).client_gone; }));
}

TEST_F(HttpProbeTest, CancelWhileReadingNeverReports) {
  HttpServer server(loop_.io_context(), {.head = "HTTP/1.0 200 OK\r\n", .keep_open = true});
  bool reported = false;
  auto id = prober_.start(http(server.port()), [&](check::ProbeResult) { reported = true; });
  ASSERT_TRUE(run_until([&] { return prober_.counters().response_bytes == 17; }));
  prober_.cancel(id);
  // Another probe's round trip lets the aborted read's handler run.
  HttpServer other(loop_.io_context(), {.head = kOk});
  EXPECT_TRUE(succeeded(probe(http(other.port()))));
  time_.advance(std::chrono::hours(1));
  EXPECT_FALSE(reported);
  EXPECT_EQ(prober_.running(), 0U);
}

TEST_F(HttpProbeTest, RefusedConnectFails) {
  ClosedPort closed;
  auto result_of_refused = probe(http(closed.port()));
  const auto* refused = failed(result_of_refused);
  ASSERT_NE(refused, nullptr) << describe(result_of_refused);
  EXPECT_EQ(refused->reason, Reason::kConnectionRefused);
}

}  // namespace
}  // namespace vigil::check_io
