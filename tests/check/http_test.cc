// HTTP_GET / SSL_GET request bytes and response verdicts, as keepalived 2.2.7 (check_http.c,
// lib/html.c) produces them; shared/reference/checkers.md "HTTP_GET and SSL_GET in detail".
#include "check/http.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace vigil::check {
namespace {

using config::HttpProtocol;

// ---- request ----------------------------------------------------------------------------------

struct RequestCase {
  const char* name;
  HttpRequestTarget target;
  std::string expected;
};

HttpRequestTarget target(std::string path, HttpProtocol protocol, std::string url_vhost,
                         std::string checker_vhost, std::string rs_vhost, std::string vs_vhost,
                         const char* address = "10.0.0.1", uint16_t port = 80) {
  return {std::move(path),
          protocol,
          std::move(url_vhost),
          std::move(checker_vhost),
          std::move(rs_vhost),
          std::move(vs_vhost),
          *IpAddress::parse(address),
          port};
}

TEST(HttpRequest, BytesPerProtocolAndHostPrecedence) {
  // The first three rows were also captured from Debian's genhash 2.2.7 (same request code as the
  // checker) by a local server: see GenhashParity below for the commands.
  const RequestCase cases[] = {
      {"1.0, no vhost", target("/health", HttpProtocol::k1_0, "", "", "", "", "127.0.0.1", 18080),
       "GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:18080\r\n\r\n"},
      {"1.0C", target("/health", HttpProtocol::k1_0C, "", "", "", "", "127.0.0.1", 18080),
       "GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n"
       "Host: 127.0.0.1:18080\r\n\r\n"},
      {"1.1 with checker vhost",
       target("/health", HttpProtocol::k1_1, "", "www.example.com", "", ""),
       "GET /health HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n"
       "Host: www.example.com\r\n\r\n"},
      {"IPv6 literal in brackets",
       target("/a?b=c", HttpProtocol::k1_0, "", "", "", "", "::1", 18081),
       "GET /a?b=c HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: [::1]:18081\r\n\r\n"},
      {"url vhost wins", target("/", HttpProtocol::k1_0, "url", "chk", "rs", "vs"),
       "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: url\r\n\r\n"},
      {"checker vhost next", target("/", HttpProtocol::k1_0, "", "chk", "rs", "vs"),
       "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: chk\r\n\r\n"},
      {"real server vhost next", target("/", HttpProtocol::k1_0, "", "", "rs", "vs"),
       "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: rs\r\n\r\n"},
      {"virtual server vhost last", target("/", HttpProtocol::k1_0, "", "", "", "vs"),
       "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: vs\r\n\r\n"},
      {"a vhost gets no port, even on IPv6",
       target("/x", HttpProtocol::k1_1, "", "", "", "vs.example", "2001:db8::5", 8443),
       "GET /x HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n"
       "Host: vs.example\r\n\r\n"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(http_request(c.target), c.expected) << c.name;
  }
}

// ---- helpers ----------------------------------------------------------------------------------

config::HttpUrl url_with(std::vector<config::StatusRange> status = {}) {
  config::HttpUrl url;
  url.path = "/";
  url.status_codes = std::move(status);
  return url;
}

HttpUrlCheck make_check(const config::HttpUrl& url) {
  auto check = HttpUrlCheck::make(url);
  EXPECT_TRUE(check.ok()) << (check.ok() ? "" : check.error().message);
  return std::move(check).value();
}

Md5Digest digest_of(std::string_view hex) {
  Md5Digest d{};
  for (size_t i = 0; i < d.size(); ++i) {
    d[i] = static_cast<uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  }
  return d;
}

HttpResult read_pieces(const HttpUrlCheck& check, const std::vector<std::string_view>& pieces,
                       HttpReaderOptions options) {
  HttpResponseReader reader(check, options);
  for (auto piece : pieces)
    reader.feed(piece);
  return reader.finish();
}

HttpResult read_pieces(const HttpUrlCheck& check, const std::vector<std::string_view>& pieces,
                       bool compute_digest = true) {
  return read_pieces(check, pieces, HttpReaderOptions{.compute_digest = compute_digest});
}

HttpResult read_all(const HttpUrlCheck& check, std::string_view response,
                    bool compute_digest = true) {
  return read_pieces(check, {response}, compute_digest);
}

// Everything a result says, for comparing runs.
std::string describe(const HttpResult& r) {
  std::string out = std::string(to_string(r.failure)) + "|" + r.reason + "|";
  out += r.status ? std::to_string(*r.status) : "-";
  out += "|" + (r.content_length ? std::to_string(*r.content_length) : std::string("-"));
  out += "|" + std::to_string(r.body_bytes) + "|" + (r.length_mismatch ? "mismatch" : "");
  out += "|" + (r.digest ? to_hex(*r.digest) : std::string("-"));
  out += "|" + (r.regex_match_offset ? std::to_string(*r.regex_match_offset) : std::string("-"));
  out += r.regex_candidate_abandoned ? "|abandoned" : "";
  out += r.chunked ? "|chunked" : "";
  return out;
}

// The response split at every boundary into two pieces, into three pieces at every pair of
// boundaries (responses up to 300 bytes), and one byte at a time: every run must agree with
// the whole response fed at once.
void expect_split_invariant(const HttpUrlCheck& check, std::string_view response,
                            const std::string& name, bool strict = false) {
  const HttpReaderOptions options{.compute_digest = true, .strict_framing = strict};
  const std::string whole = describe(read_pieces(check, {response}, options));
  for (size_t i = 0; i <= response.size(); ++i) {
    ASSERT_EQ(describe(read_pieces(check, {response.substr(0, i), response.substr(i)}, options)),
              whole)
        << name << ": split at " << i;
  }
  if (response.size() <= 300) {
    for (size_t i = 0; i <= response.size(); ++i) {
      for (size_t j = i; j <= response.size(); ++j) {
        ASSERT_EQ(describe(read_pieces(
                      check, {response.substr(0, i), response.substr(i, j - i), response.substr(j)},
                      options)),
                  whole)
            << name << ": split at " << i << " and " << j;
      }
    }
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < response.size(); ++i)
    bytes.push_back(response.substr(i, 1));
  ASSERT_EQ(describe(read_pieces(check, bytes, options)), whole) << name << ": byte by byte";
}

std::string header_block_of_size(size_t size) {
  // "HTTP/1.0 200 OK\r\n" (17) + "X-Pad: " (7) + pad + "\r\n\r\n" (4)
  return "HTTP/1.0 200 OK\r\nX-Pad: " + std::string(size - 28, 'x') + "\r\n\r\n";
}

// ---- digest parity with genhash ----------------------------------------------------------------

// Expected digests computed once by Debian's genhash 2.2.7 (keepalived 2.2.7's checker code)
// against a local server that sends a fixed response in pieces 50 ms apart, then closes:
//
//   # serve.py PORT COUNT PIECE...: on 127.0.0.1 (::1 for the IPv6 row), per connection read the
//   # request up to "\r\n\r\n", print it, send each PIECE (backslash escapes decoded), close.
//   python3 serve.py 18080 1 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n' 'hello world\n'
//   & genhash -s 127.0.0.1 -p 18080 -u /health      -> 6f5902ac237024bdd0c176cb93063dc4
//   ...'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'
//      '6\r\n world\r\n0\r\n\r\n'                  -> fc3946cc674492e3e09d9e45c4c09023
//   ...'HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhel' 'lo world'
//                                                  -> 5d41402abc4b2a76b9719d911017c592 (= "hello")
//   ...'HTTP/1.0 200 OK\r\ncontent-length: 5\r\n\r\nhello world'
//                                                  -> 5eb63bbbe01eeed093cb22bb8f5acdc3 (all 11)
//   ...'HTTP/1.0 200 OK\r\nX-Content-Length: 3\r\n\r\nhello'
//                                                  -> 46356afe55fa3cea9cbe73ad442cad47 (= "hel")
//   ...'HTTP/1.0 200 OK\r\nContent-Length: 20\r\n\r\nhello'
//                                                  -> 5d41402abc4b2a76b9719d911017c592
//   ...'HTTP/1.0 200 OK\r\n\r\n'                   -> d41d8cd98f00b204e9800998ecf8427e
//   ...<header block of 4095 bytes> 'body'         -> 841a2d689ad86bd1611447453c22c6fc
//   ...<header block of 4096 bytes> 'body'         -> "no data received from remote webserver"
//   genhash -s ::1 -p 18081 -u '/a?b=c', 'HTTP/1.0 200 OK\r\n\r\nok'
//                                                  -> 444bcb3a3fcf8389296c49467f27e1d6
//   genhash -P 1.0c ... and -P 1.1 -V www.example.com ... sent the request rows of
//   HttpRequest.BytesPerProtocolAndHostPrecedence.
struct GenhashCase {
  const char* name;
  std::string response;
  const char* digest;  // nullptr: genhash said "no data received"
};

TEST(HttpResponse, GenhashParity) {
  const GenhashCase cases[] = {
      {"plain", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world\n",
       "6f5902ac237024bdd0c176cb93063dc4"},
      {"chunked hashed raw",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
       "world\r\n0\r\n\r\n",
       "fc3946cc674492e3e09d9e45c4c09023"},
      {"Content-Length cut", "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello world",
       "5d41402abc4b2a76b9719d911017c592"},
      {"content-length not honoured", "HTTP/1.0 200 OK\r\ncontent-length: 5\r\n\r\nhello world",
       "5eb63bbbe01eeed093cb22bb8f5acdc3"},
      {"X-Content-Length honoured (substring)",
       "HTTP/1.0 200 OK\r\nX-Content-Length: 3\r\n\r\nhello", "46356afe55fa3cea9cbe73ad442cad47"},
      {"short body", "HTTP/1.0 200 OK\r\nContent-Length: 20\r\n\r\nhello",
       "5d41402abc4b2a76b9719d911017c592"},
      {"empty body", "HTTP/1.0 200 OK\r\n\r\n", "d41d8cd98f00b204e9800998ecf8427e"},
      {"headers of 4095 bytes", header_block_of_size(4095) + "body",
       "841a2d689ad86bd1611447453c22c6fc"},
      {"headers of 4096 bytes", header_block_of_size(4096) + "body", nullptr},
      {"ipv6 server", "HTTP/1.0 200 OK\r\n\r\nok", "444bcb3a3fcf8389296c49467f27e1d6"},
  };
  const HttpUrlCheck check = make_check(url_with());
  for (const auto& c : cases) {
    const HttpResult result = read_all(check, c.response);
    if (c.digest == nullptr) {
      EXPECT_EQ(result.failure, HttpFailure::kHeadersTooLong) << c.name;
      EXPECT_FALSE(result.digest) << c.name;
    } else {
      ASSERT_TRUE(result.digest) << c.name;
      EXPECT_EQ(to_hex(*result.digest), c.digest) << c.name;
      EXPECT_TRUE(result.passed()) << c.name << ": " << result.reason;
    }
    expect_split_invariant(check, c.response, c.name);
  }
}

TEST(HttpResponse, DigestComparedWhenConfigured) {
  auto url = url_with();
  url.digest = digest_of("6f5902ac237024bdd0c176cb93063dc4");
  const HttpUrlCheck check = make_check(url);
  const std::string good = "HTTP/1.0 200 OK\r\n\r\nhello world\n";
  EXPECT_TRUE(read_all(check, good, /*compute_digest=*/false).passed());
  const HttpResult bad = read_all(check, "HTTP/1.0 200 OK\r\n\r\nhello world!", false);
  EXPECT_EQ(bad.failure, HttpFailure::kDigest);
  EXPECT_EQ(bad.reason,
            "digest fc3ff98e8c6a0d3087d515c0473f8677 != 6f5902ac237024bdd0c176cb93063dc4");
  // Without a configured digest and without asking, none is computed.
  EXPECT_FALSE(read_all(make_check(url_with()), good, false).digest);
}

TEST(HttpResponse, ContentLengthMismatchIsOnlyNoted) {
  const HttpUrlCheck check = make_check(url_with());
  struct Case {
    std::string response;
    std::optional<uint64_t> length;
    uint64_t body;
    bool mismatch;
  };
  const Case cases[] = {
      {"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", 5, 5, false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello world", 5, 11, true},
      {"HTTP/1.0 200 OK\r\nContent-Length: 20\r\n\r\nhello", 20, 5, true},
      {"HTTP/1.0 200 OK\r\ncontent-length: 5\r\n\r\nhello world", std::nullopt, 11, false},
      // strtoul: leading blanks and a '+' are taken; trailing junk makes it none.
      {"HTTP/1.0 200 OK\r\nContent-Length:   +3\r\n\r\nabc", 3, 3, false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 3x\r\n\r\nabcdef", std::nullopt, 6, false},
      // No digits before the end of line: strtoul converts nothing and its end is the '\r'.
      {"HTTP/1.0 200 OK\r\nContent-Length:\r\n\r\nabc", 0, 3, true},
      // Overflow: ULONG_MAX, which keepalived takes as "none".
      {"HTTP/1.0 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nabc", std::nullopt, 3,
       false},
      // The first occurrence counts; a NUL byte ends the search.
      {"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 2, 3, true},
      {std::string("HTTP/1.0 200 OK\r\nX: \0\r\nContent-Length: 2\r\n\r\nabc", 47), std::nullopt, 3,
       false},
  };
  for (const auto& c : cases) {
    const HttpResult r = read_all(check, c.response);
    EXPECT_TRUE(r.passed()) << c.response << ": " << r.reason;
    EXPECT_EQ(r.content_length, c.length) << c.response;
    EXPECT_EQ(r.body_bytes, c.body) << c.response;
    EXPECT_EQ(r.length_mismatch, c.mismatch) << c.response;
  }
  // The cut: only the first Content-Length bytes are hashed, and 0 hashes nothing.
  EXPECT_EQ(to_hex(*read_all(check, cases[6].response).digest), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(to_hex(*read_all(check, cases[8].response).digest),
            to_hex(*read_all(check, "HTTP/1.0 200 OK\r\n\r\nab").digest));
}

// ---- headers and status
// --------------------------------------------------------------------------

TEST(HttpResponse, HeaderBound) {
  const HttpUrlCheck check = make_check(url_with());
  EXPECT_TRUE(read_all(check, header_block_of_size(4094)).passed());
  EXPECT_TRUE(read_all(check, header_block_of_size(4095)).passed());
  const HttpResult over = read_all(check, header_block_of_size(4096) + "body");
  EXPECT_EQ(over.failure, HttpFailure::kHeadersTooLong);
  EXPECT_EQ(over.reason, "headers longer than 4095 bytes");

  // Known as soon as byte 4095 arrives without the end; nothing more is kept or read.
  HttpResponseReader reader(check);
  reader.feed(std::string(4094, 'a'));
  EXPECT_FALSE(reader.verdict_known());
  reader.feed("b");
  EXPECT_TRUE(reader.verdict_known());
  EXPECT_EQ(reader.retained_bytes(), 0U);
  reader.feed(std::string(100000, 'c'));
  EXPECT_EQ(reader.retained_bytes(), 0U);
  EXPECT_EQ(reader.finish().failure, HttpFailure::kHeadersTooLong);
}

TEST(HttpResponse, StatusLines) {
  struct Case {
    std::string response;
    HttpFailure failure;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"HTTP/1.1 200 OK\r\n\r\n", HttpFailure::kNone, ""},
      {"HTTP/1.1 299 \r\n\r\n", HttpFailure::kNone, ""},
      {"HTTP/1.1 503 Service Unavailable\r\n\r\n", HttpFailure::kStatus,
       "status 503 not in 200-299"},
      {"HTTP/1.1 199 X\r\n\r\n", HttpFailure::kStatus, "status 199 not in 200-299"},
      {"HTTP/1.0 600 X\r\n\r\n", HttpFailure::kStatus, "status 600 not in 200-299"},
      {"HTTP/1.0 000 X\r\n\r\n", HttpFailure::kStatus, "status 0 not in 200-299"},
      // keepalived needs a space after the code.
      {"HTTP/1.1 200\r\n\r\n", HttpFailure::kNoStatusLine, "no status line"},
      {"HTTP/1.1 20 OK\r\n\r\n", HttpFailure::kNoStatusLine, "no status line"},
      {"HTTP/1.1 2000 OK\r\n\r\n", HttpFailure::kNoStatusLine, "no status line"},
      {"HTTP/1.1 2x0 OK\r\n\r\n", HttpFailure::kNoStatusLine, "no status line"},
      {"HTTP/1.1  200 OK\r\n\r\n", HttpFailure::kNoStatusLine, "no status line"},
      {"HTTP/1.1 +20 OK\r\n\r\n", HttpFailure::kNoStatusLine, "no status line"},
      // The first space must come before the first CR.
      {"HTTP/1.1\r\nX: 200 OK\r\n\r\n", HttpFailure::kNoStatusLine, "no status line"},
      {"\r\n\r\n", HttpFailure::kNoStatusLine, "no status line"},
      // Anything before the first space will do, as in keepalived.
      {"garbage 204 x\r\n\r\n", HttpFailure::kNone, ""},
      // EOF before the end of the headers.
      {"", HttpFailure::kNoHeaders, "no data received: the response ended before its headers did"},
      {"HTTP/1.1 200 OK\r\n", HttpFailure::kNoHeaders,
       "no data received: the response ended before its headers did"},
      {"HTTP/1.1 200 OK\n\n<html>", HttpFailure::kNoHeaders,
       "no data received: the response ended before its headers did"},
  };
  const HttpUrlCheck check = make_check(url_with());
  for (const auto& c : cases) {
    const HttpResult r = read_all(check, c.response);
    EXPECT_EQ(r.failure, c.failure) << c.response;
    EXPECT_EQ(r.reason, c.reason) << c.response;
    expect_split_invariant(check, c.response, c.response);
  }
}

TEST(HttpResponse, StatusCodeSets) {
  const HttpUrlCheck check = make_check(url_with({{200, 200}, {301, 302}}));
  EXPECT_TRUE(read_all(check, "HTTP/1.1 200 OK\r\n\r\n").passed());
  EXPECT_TRUE(read_all(check, "HTTP/1.1 302 Found\r\n\r\n").passed());
  const HttpResult r = read_all(check, "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(r.reason, "status 204 not in 200,301-302");
  // A failing status is known at the end of the headers (keepalived still reads to EOF).
  HttpResponseReader failing(check);
  failing.feed("HTTP/1.1 503 Busy\r\n\r\n");
  EXPECT_TRUE(failing.verdict_known());
  HttpResponseReader passing(check);
  passing.feed("HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_FALSE(passing.verdict_known());
  // The status is checked before the digest.
  auto url = url_with();
  url.digest = digest_of("00000000000000000000000000000000");
  EXPECT_EQ(read_all(make_check(url), "HTTP/1.1 404 X\r\n\r\n").failure, HttpFailure::kStatus);
}

TEST(HttpResponse, GarbageNeverCrashesAndGivesOneVerdict) {
  const HttpUrlCheck check = make_check(url_with());
  std::mt19937 rng(12);  // NOLINT(cert-msc51-cpp): a fixed seed, for a reproducible test
  for (int round = 0; round < 200; ++round) {
    std::string bytes(rng() % 6000, '\0');
    for (auto& ch : bytes)
      ch = static_cast<char>(rng() % 8 == 0 ? "\r\n \0"[rng() % 4] : rng());
    HttpResponseReader reader(check);
    for (size_t at = 0; at < bytes.size();) {
      const size_t n = std::min<size_t>(bytes.size() - at, 1 + rng() % 700);
      reader.feed(std::string_view(bytes).substr(at, n));
      at += n;
      ASSERT_LE(reader.retained_bytes(), 2 * 4096U);
    }
    const HttpResult r = reader.finish();
    EXPECT_EQ(r.passed(), r.reason.empty());
  }
}

// ---- strict framing (vigil's opt-in) ------------------------------------------------------------

// One response read both ways. The default column pins keepalived 2.2.7's verdict (what the reader
// gave before strict framing existed); the strict column is RFC 9112's. A digest of nullptr is
// not compared; strict_known: verdict_known() after the whole response, before EOF.
struct FramingCase {
  const char* name;
  std::string response;
  HttpFailure default_failure;
  std::string default_reason;
  const char* default_digest;
  HttpFailure strict_failure;
  std::string strict_reason;
  const char* strict_digest;
  bool strict_known;
};

constexpr const char* kMd5Hello = "5d41402abc4b2a76b9719d911017c592";
constexpr const char* kMd5HelloWorld = "5eb63bbbe01eeed093cb22bb8f5acdc3";
constexpr const char* kMd5Empty = "d41d8cd98f00b204e9800998ecf8427e";
constexpr HttpFailure kOk = HttpFailure::kNone;
constexpr HttpFailure kFraming = HttpFailure::kFraming;

TEST(HttpResponseStrictFraming, BothModesTable) {
  const std::string h11 = "HTTP/1.1 200 OK\r\n";
  const std::string chunked = h11 + "Transfer-Encoding: chunked\r\n\r\n";
  const std::vector<FramingCase> cases = {
      {"Content-Length exact", h11 + "Content-Length: 5\r\n\r\nhello", kOk, "", kMd5Hello, kOk, "",
       kMd5Hello, true},
      {"Content-Length 0", h11 + "Content-Length: 0\r\n\r\n", kOk, "", kMd5Empty, kOk, "",
       kMd5Empty, true},
      {"body shorter than Content-Length", h11 + "Content-Length: 100\r\n\r\n0123456789", kOk, "",
       "781e5e245d69b566979b86e28d23f2c7", kFraming,
       "bad framing: body ended after 10 of 100 bytes (Content-Length)", nullptr, false},
      {"body longer than Content-Length", h11 + "Content-Length: 5\r\n\r\nhello world", kOk, "",
       kMd5Hello, kFraming, "bad framing: more than Content-Length bytes (5)", nullptr, true},
      {"lower-case content-length", h11 + "content-length: 5\r\n\r\nhello world", kOk, "",
       kMd5HelloWorld, kFraming, "bad framing: more than Content-Length bytes (5)", nullptr, true},
      {"lower-case content-length, exact", h11 + "content-length: 5\r\n\r\nhello", kOk, "",
       kMd5Hello, kOk, "", kMd5Hello, true},
      {"X-Content-Length is another header", h11 + "X-Content-Length: 3\r\n\r\nhello", kOk, "",
       "46356afe55fa3cea9cbe73ad442cad47", kOk, "", kMd5Hello, false},
      {"conflicting Content-Length", h11 + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
       kOk, "", kMd5Hello, kFraming, "bad framing: conflicting Content-Length values 5 and 6",
       nullptr, true},
      {"duplicate identical Content-Length",
       h11 + "Content-Length: 5\r\ncontent-length: 5\r\n\r\nhello", kOk, "", kMd5Hello, kOk, "",
       kMd5Hello, true},
      {"Content-Length list of one value", h11 + "Content-Length: 5, 5\r\n\r\nhello", kOk, "",
       kMd5Hello, kOk, "", kMd5Hello, true},
      {"Content-Length list of two values", h11 + "Content-Length: 5,6\r\n\r\nhello", kOk, "",
       kMd5Hello, kFraming, "bad framing: conflicting Content-Length values 5 and 6", nullptr,
       true},
      {"invalid Content-Length", h11 + "Content-Length: 3x\r\n\r\nabc", kOk, "", nullptr, kFraming,
       "bad framing: invalid Content-Length \"3x\"", nullptr, true},
      {"Content-Length and chunked",
       h11 + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", kOk,
       "", "7fe2a3cc5a04b36a2d61fa184bee68f3", kFraming,
       "bad framing: both Content-Length and Transfer-Encoding", nullptr, true},
      // The genhash row: keepalived hashes the chunk framing, strict hashes "hello world".
      {"chunked", chunked + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", kOk, "",
       "fc3946cc674492e3e09d9e45c4c09023", kOk, "", kMd5HelloWorld, true},
      {"chunked: upper-case hex, extensions, trailers, coding name in capitals",
       h11 + "Transfer-Encoding: Chunked\r\n\r\nA;name=value ; x\r\n0123456789\r\n"
             "0\r\nX-Trailer: yes\r\n\r\n",
       kOk, "", nullptr, kOk, "", "781e5e245d69b566979b86e28d23f2c7", true},
      {"chunked: bad chunk size line", chunked + "zz\r\nhello\r\n0\r\n\r\n", kOk, "", nullptr,
       kFraming, "bad framing: bad chunk size line \"zz\"", nullptr, true},
      {"chunked: bare LF after the size", chunked + "5\nhello\r\n0\r\n\r\n", kOk, "", nullptr,
       kFraming, "bad framing: bad chunk size line \"5\\x0a\"", nullptr, true},
      {"chunked: size overflows 64 bits", chunked + "1ffffffffffffffff\r\n", kOk, "", nullptr,
       kFraming, "bad framing: bad chunk size line \"1ffffffffffffffff\"", nullptr, true},
      {"chunked: size line too long", chunked + "5;" + std::string(2000, 'x') + "\r\n", kOk, "",
       nullptr, kFraming, "bad framing: chunk size line longer than 1024 bytes", nullptr, true},
      {"chunked: no CRLF after the data", chunked + "5\r\nhelloX0\r\n\r\n", kOk, "", nullptr,
       kFraming, "bad framing: no CRLF after a chunk's data", nullptr, true},
      {"chunked: ends inside a chunk", chunked + "5\r\nhel", kOk, "", nullptr, kFraming,
       "bad framing: chunked body ended before its last chunk (after 3 bytes of data)", nullptr,
       false},
      {"chunked: ends before the last chunk's blank line", chunked + "5\r\nhello\r\n0\r\n", kOk, "",
       nullptr, kFraming,
       "bad framing: chunked body ended before its last chunk (after 5 bytes of data)", nullptr,
       false},
      {"chunked: bytes after the last chunk", chunked + "0\r\n\r\nextra", kOk, "", nullptr,
       kFraming, "bad framing: bytes after the last chunk", nullptr, true},
      {"chunked: trailers too long", chunked + "0\r\nX: " + std::string(5000, 't') + "\r\n\r\n",
       kOk, "", nullptr, kFraming, "bad framing: trailers longer than 4095 bytes", nullptr, true},
      {"unsupported transfer coding", h11 + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       kOk, "", nullptr, kFraming, "bad framing: unsupported Transfer-Encoding \"gzip, chunked\"",
       nullptr, true},
      {"Transfer-Encoding in HTTP/1.0",
       "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", kOk, "", nullptr, kFraming,
       "bad framing: Transfer-Encoding in an HTTP/1.0 response", nullptr, true},
      {"neither: the body ends at EOF", "HTTP/1.0 200 OK\r\n\r\nhello", kOk, "", kMd5Hello, kOk, "",
       kMd5Hello, false},
      {"status without reason phrase", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
       HttpFailure::kNoStatusLine, "no status line", nullptr, kOk, "",
       "444bcb3a3fcf8389296c49467f27e1d6", true},
      {"status with SP and an empty reason", "HTTP/1.1 200 \r\n\r\nok", kOk, "", nullptr, kOk, "",
       "444bcb3a3fcf8389296c49467f27e1d6", false},
      {"not an HTTP/1.x status line", "garbage 204 x\r\n\r\n", kOk, "", nullptr,
       HttpFailure::kNoStatusLine, "bad status line: \"garbage 204 x\"", nullptr, true},
      {"HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n", kOk, "", nullptr, HttpFailure::kNoStatusLine,
       "bad status line: \"HTTP/2 200 OK\"", nullptr, true},
      {"204 has no body", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", kOk, "",
       kMd5Empty, kOk, "", kMd5Empty, true},
      {"bytes after a 204", "HTTP/1.1 204 No Content\r\n\r\nhello", kOk, "", kMd5Hello, kFraming,
       "bad framing: body bytes after a response without a body (status 204)", nullptr, true},
      {"white space before the colon", h11 + "Content-Length : 5\r\n\r\nhello", kOk, "", kMd5Hello,
       kFraming, "bad framing: malformed header line \"Content-Length : 5\"", nullptr, true},
      {"header line without a colon", h11 + "Bad header\r\n\r\nhello", kOk, "", kMd5Hello, kFraming,
       "bad framing: malformed header line \"Bad header\"", nullptr, true},
      {"obsolete line folding", h11 + "X: a\r\n b\r\n\r\n", kOk, "", nullptr, kFraming,
       "bad framing: obsolete line folding in the headers: \" b\"", nullptr, true},
      {"a bare LF inside the headers", h11 + "X: a\nY: b\r\n\r\n", kOk, "", nullptr, kFraming,
       "bad framing: control byte in header line \"X: a\\x0aY: b\"", nullptr, true},
      // The status is judged before the body's framing, in both modes.
      {"failing status beats a short body", "HTTP/1.1 503 Busy\r\nContent-Length: 100\r\n\r\nab",
       HttpFailure::kStatus, "status 503 not in 200-299", nullptr, HttpFailure::kStatus,
       "status 503 not in 200-299", nullptr, true},
      {"EOF before the headers end", h11 + "Content-Length: 5\r\n", HttpFailure::kNoHeaders,
       "no data received: the response ended before its headers did", nullptr,
       HttpFailure::kNoHeaders, "no data received: the response ended before its headers did",
       nullptr, false},
  };
  const HttpUrlCheck check = make_check(url_with());
  for (const auto& c : cases) {
    for (const bool strict : {false, true}) {
      const HttpReaderOptions options{.compute_digest = true, .strict_framing = strict};
      const HttpResult r = read_pieces(check, {c.response}, options);
      const std::string what = std::string(c.name) + (strict ? " (strict)" : " (default)");
      EXPECT_EQ(r.failure, strict ? c.strict_failure : c.default_failure) << what;
      EXPECT_EQ(r.reason, strict ? c.strict_reason : c.default_reason) << what;
      EXPECT_EQ(r.passed(), r.reason.empty()) << what;
      if (const char* digest = strict ? c.strict_digest : c.default_digest) {
        ASSERT_TRUE(r.digest) << what;
        EXPECT_EQ(to_hex(*r.digest), digest) << what;
      }
      expect_split_invariant(check, c.response, what, strict);
    }
    HttpResponseReader strict_reader(check, HttpReaderOptions{.strict_framing = true});
    strict_reader.feed(c.response);
    EXPECT_EQ(strict_reader.verdict_known(), c.strict_known) << c.name;
  }
}

TEST(HttpResponseStrictFraming, KnownAtTheFramedEndAndNotBefore) {
  const HttpUrlCheck check = make_check(url_with());
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  HttpResponseReader strict(check, HttpReaderOptions{.strict_framing = true});
  HttpResponseReader keepalived(check);
  for (size_t i = 0; i < response.size(); ++i) {
    EXPECT_FALSE(strict.verdict_known()) << i;
    strict.feed(response.substr(i, 1));
    keepalived.feed(response.substr(i, 1));
  }
  EXPECT_TRUE(strict.verdict_known());
  EXPECT_FALSE(keepalived.verdict_known());  // keepalived reads to EOF
  EXPECT_TRUE(strict.finish().passed());
  EXPECT_TRUE(keepalived.finish().passed());
}

TEST(HttpResponseStrictFraming, ChunkedTenMegabytesCostBoundedMemory) {
  auto url = url_with();
  url.regex = "the end";
  const HttpUrlCheck check = make_check(url);
  HttpResponseReader reader(check,
                            HttpReaderOptions{.compute_digest = true, .strict_framing = true});
  reader.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string block = "10000\r\n" + std::string(65536, 'z') + "\r\n";
  size_t peak = reader.retained_bytes();
  for (int i = 0; i < 160; ++i) {  // 10 MiB of data
    reader.feed(block);
    peak = std::max(peak, reader.retained_bytes());
  }
  reader.feed("7\r\nthe end\r\n0\r\n\r\n");
  EXPECT_TRUE(reader.verdict_known());
  const HttpResult r = reader.finish();
  EXPECT_TRUE(r.passed()) << r.reason;
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.body_bytes, 160U * 65536U + 7U);
  EXPECT_LE(peak, kHttpMaxHeaderBytes + kHttpRegexWindow + 64);
  EXPECT_EQ(reader.retained_bytes(), 0U);
}

TEST(HttpResponseStrictFraming, FailureNames) {
  EXPECT_EQ(to_string(HttpFailure::kFraming), "framing");
  for (size_t i = 0; i < static_cast<size_t>(HttpFailure::kCount); ++i) {
    EXPECT_NE(to_string(static_cast<HttpFailure>(i)), "?") << i;
  }
}

TEST(HttpResponseStrictFraming, GarbageNeverCrashesAndGivesOneVerdict) {
  const HttpUrlCheck check = make_check(url_with());
  std::mt19937 rng(34);  // NOLINT(cert-msc51-cpp): a fixed seed, for a reproducible test
  const std::string heads[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                               "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n", ""};
  for (int round = 0; round < 300; ++round) {
    std::string bytes = heads[round % 3];
    const size_t size = rng() % 3000;
    for (size_t i = 0; i < size; ++i)
      bytes += static_cast<char>(rng() % 4 == 0 ? "\r\n;0aF"[rng() % 6] : rng());
    const HttpReaderOptions options{.compute_digest = true, .strict_framing = true};
    HttpResponseReader reader(check, options);
    for (size_t at = 0; at < bytes.size();) {
      const size_t n = std::min<size_t>(bytes.size() - at, 1 + rng() % 700);
      reader.feed(std::string_view(bytes).substr(at, n));
      at += n;
      ASSERT_LE(reader.retained_bytes(), 2 * 4096U);
    }
    const HttpResult r = reader.finish();
    EXPECT_EQ(r.passed(), r.reason.empty());
    EXPECT_EQ(describe(r), describe(read_pieces(check, {bytes}, options)));
  }
}

// ---- memory -------------------------------------------------------------------------------------

TEST(HttpResponse, TenMegabyteBodyCostsBoundedMemory) {
  auto url = url_with();
  url.regex = "the end";
  url.digest = digest_of("00000000000000000000000000000000");
  const HttpUrlCheck check = make_check(url);
  HttpResponseReader reader(check, true);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
  reader.feed(head);
  const std::string block(65536, 'z');
  size_t peak = reader.retained_bytes();
  for (int i = 0; i < 160; ++i) {  // 10 MiB
    reader.feed(block);
    peak = std::max(peak, reader.retained_bytes());
  }
  reader.feed("the end");
  peak = std::max(peak, reader.retained_bytes());
  const HttpResult r = reader.finish();
  EXPECT_LE(peak, kHttpMaxHeaderBytes + kHttpRegexWindow + 64);
  EXPECT_EQ(r.body_bytes, 160U * 65536U + 7U);
  ASSERT_TRUE(r.regex_match_offset);
  EXPECT_EQ(*r.regex_match_offset, head.size() + 160U * 65536U);
  EXPECT_EQ(r.failure, HttpFailure::kDigest);  // the digest comes first
  EXPECT_EQ(reader.retained_bytes(), 0U);
}

// ---- regex --------------------------------------------------------------------------------------

struct RegexCase {
  const char* name;
  std::string regex;
  bool no_match = false;
  std::optional<uint32_t> min_offset;
  std::optional<uint32_t> max_offset;
  std::vector<std::string> options;
  std::string response;
  bool passes;
  std::optional<uint64_t> offset;  // where it matched, from the response's first byte
};

TEST(HttpResponse, RegexAndOffsets) {
  const std::string head = "HTTP/1.0 200 OK\r\nServer: test\r\n\r\n";  // 34 bytes
  const std::string long_body = std::string(5000, '.') + "<ok>" + std::string(3000, '.');
  const size_t ok_at = head.size() + 5000;
  const std::vector<RegexCase> cases = {
      {"match", "alive", false, {}, {}, {}, head + "I am alive\n", true, head.size() + 5},
      {"no match", "alive", false, {}, {}, {}, head + "I am dead\n", false, {}},
      {"regex_no_match passes", "dead", true, {}, {}, {}, head + "I am alive\n", true, {}},
      {"regex_no_match fails",
       "alive",
       true,
       {},
       {},
       {},
       head + "I am alive\n",
       false,
       head.size() + 5},
      {"the headers are in the subject", "Server: (\\w+)", false, {}, {}, {}, head + "x", true, 17},
      {"caseless option", "ALIVE", false, {}, {}, {"caseless"}, head + "alive", true, head.size()},
      {"options are honoured: no caseless", "ALIVE", false, {}, {}, {}, head + "alive", false, {}},
      {"min_offset skips an earlier match",
       "ok",
       false,
       head.size() + 3,
       {},
       {},
       head + "ok ok",
       true,
       head.size() + 3},
      {"min_offset past the only match",
       "ok",
       false,
       head.size() + 1,
       {},
       {},
       head + "ok",
       false,
       {}},
      {"max_offset is inclusive",
       "ok",
       false,
       {},
       head.size() + 2,
       {},
       head + "..ok",
       true,
       head.size() + 2},
      {"max_offset before the match",
       "ok",
       false,
       {},
       head.size() + 1,
       {},
       head + "..ok",
       false,
       {}},
      {"min and max equal",
       "ok",
       false,
       head.size() + 2,
       head.size() + 2,
       {},
       head + "okok",
       true,
       head.size() + 2},
      {"match far into the body", "<ok>", false, {}, {}, {}, head + long_body, true, ok_at},
      {"min_offset far into the body", "<ok>", false, ok_at, {}, {}, head + long_body, true, ok_at},
      {"min_offset just past it", "<ok>", false, ok_at + 1, {}, {}, head + long_body, false, {}},
      {"max_offset far into the body",
       "<ok>",
       false,
       {},
       ok_at - 1,
       {},
       head + long_body,
       false,
       {}},
      {"lookbehind across any boundary",
       "(?<=alive )and well",
       false,
       {},
       {},
       {},
       head + std::string(4050, '-') + "alive and well",
       true,
       head.size() + 4056},
      {"match spanning the window edge",
       "abcdefgh",
       false,
       {},
       {},
       {},
       head + std::string(4095 - head.size() - 4, '-') + "abcdefgh",
       true,
       4091},
      // keepalived never runs a final non-partial match: a candidate open at EOF is no match.
      {"open candidate at EOF", "ok\\s*$", false, {}, {}, {}, head + "ok\n", false, {}},
      {"closed before EOF", "ok\\s*;", false, {}, {}, {}, head + "ok ;\n", true, head.size()},
      // A candidate longer than the window is abandoned; matching resumes after it.
      {"candidate longer than the window",
       "<a>[^<]*</a>",
       false,
       {},
       {},
       {},
       head + "<a>" + std::string(5000, 'x') + "</a>",
       false,
       {}},
      {"later match after an abandoned one",
       "<a>[^<]*</a>",
       false,
       {},
       {},
       {},
       head + "<a>" + std::string(5000, 'x') + "</a>" + std::string(4000, '.') + "<a>y</a>",
       true,
       head.size() + 5007 + 4000},
      {"no headers, no regex verdict", "x", true, {}, {}, {}, "HTTP/1.0 200 OK\r\n", false, {}},
  };
  for (const auto& c : cases) {
    auto url = url_with();
    url.regex = c.regex;
    url.regex_no_match = c.no_match;
    url.regex_min_offset = c.min_offset;
    url.regex_max_offset = c.max_offset;
    url.regex_options = c.options;
    const HttpUrlCheck check = make_check(url);
    const HttpResult r = read_all(check, c.response, false);
    EXPECT_EQ(r.passed(), c.passes) << c.name << ": " << r.reason;
    EXPECT_EQ(r.regex_match_offset, c.offset) << c.name;
    expect_split_invariant(check, c.response, c.name);
  }
}

TEST(HttpResponse, RegexReasons) {
  auto url = url_with();
  url.regex = "alive";
  EXPECT_EQ(read_all(make_check(url), "HTTP/1.0 200 OK\r\n\r\ndead").reason,
            "regex 'alive' did not match");
  url.regex_no_match = true;
  EXPECT_EQ(read_all(make_check(url), "HTTP/1.0 200 OK\r\n\r\nalive").reason,
            "regex_no_match 'alive' matched at offset 19");
  url.regex = "a(";
  auto bad = HttpUrlCheck::make(url);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "regex 'a(' at offset 2: missing closing parenthesis");
}

}  // namespace
}  // namespace vigil::check
