// HTTP_GET / SSL_GET without I/O: the request bytes keepalived 2.2.7 sends, and an incremental
// reader that judges the response as keepalived does (shared/reference/checkers.md, "HTTP_GET and
// SSL_GET in detail"). The I/O layer sends http_request(), then calls feed() with each chunk it
// reads (TLS already removed) and finish() at EOF; keepalived reads to EOF, so should it.
//
// The response rules (keepalived 2.2.7 check_http.c and lib/html.c):
// - The headers end at the first "\r\n\r\n", which must lie within the first 4095 bytes; else the
//   check fails ("no data received" in keepalived), as it does when EOF comes first.
// - The status is the three digits after the first space of the response (before any '\r'), and
//   a space must follow them: "HTTP/1.1 200\r\n" has no status for keepalived.
// - The digest is the MD5 of the raw bytes after the headers (chunked framing hashed, never
//   decoded), cut at the value of the first "Content-Length:" in the headers: a case-sensitive
//   substring search, so "content-length:" is not honoured and "X-Content-Length:" is. A length
//   that differs from the bytes received is only noted.
// - The verdict: status in the url's status_code set, then the digest (when configured), then the
//   regex must match (or, with regex_no_match, must not).
//
// Memory is bounded whatever the server sends: at most 4095 header bytes and, with a regex, a
// window of at most kHttpRegexWindow bytes (see RegexScan in http.cc); nothing else is kept.
//
// Regexes (PCRE2, compiled once per url by HttpUrlCheck::make) are matched as keepalived matches
// them, with PCRE2_PARTIAL_HARD across pieces of the response, but the pieces are cut at fixed
// window boundaries rather than where reads happened to end, so the verdict is the same for every
// way the response is split into chunks. Deliberate differences from keepalived, which depend on
// TCP segmentation there:
// - The subject is the whole response (status line, headers and body) and offsets count from its
//   first byte. That is what keepalived does when the read that completes the headers also holds
//   body bytes (a small response sent in one write); when that read ends exactly at the header
//   end, keepalived drops the headers from the subject and counts offsets from the body.
// - A candidate match that, with its lookbehind, would need more than the window is abandoned and
//   matching resumes after it (keepalived: "Regex partial match preserve too large -
//   discarding", at its 4096-byte read buffer). After a window without any candidate, the last
//   max-lookbehind bytes are kept for the next one (keepalived keeps none).
// - A candidate still open at EOF is no match, as in keepalived (it never runs a final
//   non-partial match): "ok\s*$" never matches a body ending in "ok\n".
// - Content-Length is looked for in the header bytes only (keepalived searches its whole first
//   read buffer, body bytes included, up to the first NUL byte).
//
// Strict framing (vigil's opt-in, global_defs `checker_strict_framing`; off by default, when
// everything above holds unchanged). The response is read as RFC 9112 frames it:
// - The headers still end at the first "\r\n\r\n" within 4095 bytes. The status line must be
//   "HTTP/1.<digit> SP 3DIGIT SP reason" (RFC 9112 §4); "HTTP/1.1 200" without the SP and reason
//   is accepted too. Anything else fails as kNoStatusLine ("bad status line: ...").
// - Each header line must be "token: value" (no white space before the colon, no obs-fold, no
//   control bytes in the value); names are case-insensitive. Content-Length is 1*DIGIT (a list of
//   identical values, RFC 9110 §8.6, is one value); Transfer-Encoding must be exactly "chunked".
//   Differing Content-Length values, both Content-Length and Transfer-Encoding (RFC 9112 §6.3
//   calls it a smuggling sign), any other transfer coding, or Transfer-Encoding in an HTTP/1.0
//   response fail as kFraming ("bad framing: ...").
// - The body ends after Content-Length bytes; or at the chunked encoding's last chunk and
//   trailers (RFC 9112 §7.1: hex chunk-size, optional extensions, each chunk-size line at most
//   kHttpMaxChunkLineBytes, the trailer section at most kHttpMaxTrailerBytes, CRLF everywhere);
//   or, with neither, at EOF. 1xx, 204 and 304 responses have no body (RFC 9112 §6.3 rule 1).
//   EOF before that end, a malformed chunk, or any byte after that end fails as kFraming
//   ("bad framing: body ended after 10 of 100 bytes (Content-Length)", "bad framing: bad chunk
//   size line \"zz\"", "bad framing: more than Content-Length bytes (100)").
// - verdict_known() turns true as soon as the framed body is complete (or a framing error is
//   found), so the I/O layer stops reading there instead of waiting for EOF: a server that
//   ignores "Connection: close" passes instead of failing on the read timeout. Bytes that arrived
//   in the same read after the end are still seen, and fail.
// - The digest is the MD5 of the decoded body (exactly Content-Length bytes; the chunks' data
//   without the chunk framing), not keepalived's raw bytes after the headers: a url's `digest`
//   computed by genhash for a chunked response differs between the two modes. body_bytes counts
//   the decoded body.
// - The regex subject is unchanged: the raw response (headers and body as received, chunk framing
//   included), up to the framed end.
// - Verdict order: bad status line or header framing, then status, then body framing, then
//   digest, then regex. A failing status is still known at the end of the headers.
// Memory stays bounded: the header buffer (freed at the end of the headers) or at most one
// chunk-size line, plus the regex window; the body is never kept.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "config/model_lvs.h"

namespace vigil::check {

// keepalived's MAX_BUFFER_LENGTH - 1: the headers must end within this many bytes.
inline constexpr size_t kHttpMaxHeaderBytes = 4095;
// The regex window: the longest candidate match (with its lookbehind) followed across chunks.
inline constexpr size_t kHttpRegexWindow = 4095;
// Strict framing: the longest chunk-size line (with its extensions and CR, without the LF), and
// the longest trailer section (with its CRLFs).
inline constexpr size_t kHttpMaxChunkLineBytes = 1024;
inline constexpr size_t kHttpMaxTrailerBytes = 4095;

// ---- request ----------------------------------------------------------------------------------

struct HttpRequestTarget {
  std::string path;
  config::HttpProtocol protocol = config::HttpProtocol::k1_0;
  // The Host header is the first non-empty of these; otherwise address:port ([v6]:port).
  std::string url_virtualhost;
  std::string checker_virtualhost;
  std::string real_server_virtualhost;
  std::string virtual_server_virtualhost;
  IpAddress address;  // the checker's connect_ip
  uint16_t port = 0;  // the checker's connect_port
};

// The Host header's value.
std::string http_host(const HttpRequestTarget& target);

// "GET <path> HTTP/1.<0|1>\r\nUser-Agent: KeepAliveClient\r\n[Connection: close\r\n]Host:
// <h>\r\n\r\n" (HTTP/1.1 only for 1.1; Connection: close for 1.0C and 1.1).
std::string http_request(const HttpRequestTarget& target);

// ---- expectations -----------------------------------------------------------------------------

using Md5Digest = std::array<uint8_t, 16>;

// 32 lowercase hex digits, as genhash prints a digest.
std::string to_hex(const Md5Digest& digest);

// "200-299", "200,301-302".
std::string format_status_codes(const std::vector<config::StatusRange>& ranges);

struct CompiledRegex;  // PCRE2 code; defined in http.cc

// What one url expects of its response, with the regex compiled. Shareable by any number of
// readers on one thread (each reader has its own match data).
class HttpUrlCheck {
 public:
  // Fails on a pattern PCRE2 rejects ("regex 'a(' at offset 2: missing closing parenthesis").
  static Result<HttpUrlCheck> make(const config::HttpUrl& url);

  [[nodiscard]] const std::vector<config::StatusRange>& status_codes() const {
    return status_codes_;
  }
  [[nodiscard]] const std::optional<Md5Digest>& digest() const { return digest_; }
  [[nodiscard]] bool has_regex() const { return regex_ != nullptr; }
  [[nodiscard]] bool status_ok(int status) const;

 private:
  friend class HttpResponseReader;
  std::vector<config::StatusRange> status_codes_;  // empty: 200-299
  std::optional<Md5Digest> digest_;
  std::shared_ptr<const CompiledRegex> regex_;
  std::string pattern_;
  bool regex_no_match_ = false;
  uint64_t regex_min_offset_ = 0;             // first offset a match may start at
  std::optional<uint64_t> regex_max_offset_;  // last offset a match may start at (inclusive)
  uint32_t regex_stack_start_ = 0;            // JIT stack; 0: PCRE2's default
  uint32_t regex_stack_max_ = 0;
};

// ---- result -----------------------------------------------------------------------------------

enum class HttpFailure : uint8_t {
  kNone,
  kNoHeaders,       // EOF before the end of the headers (keepalived: "no data received")
  kHeadersTooLong,  // no header end within 4095 bytes (keepalived: "no data received")
  kNoStatusLine,    // no "… SP ddd SP" before the first CR
  kStatus,          // status not in the url's status_code set
  kDigest,          // MD5 differs from the url's digest
  kRegex,           // regex did not match (or, with regex_no_match, did)
  kFraming,         // strict framing only: bad Content-Length / Transfer-Encoding / header line,
                    // a malformed chunk, a body cut short by EOF or longer than its framing
  kCount,
};
std::string_view to_string(HttpFailure failure);

struct HttpResult {
  HttpFailure failure = HttpFailure::kNone;
  // Empty when passed; otherwise "status 503 not in 200-299", "digest <hex> != <hex>",
  // "headers longer than 4095 bytes", "no status line", ...
  std::string reason;
  std::optional<int> status;               // none: no status line (or no headers)
  std::optional<uint64_t> content_length;  // the Content-Length: value, when there is one
  uint64_t body_bytes = 0;                 // bytes after the headers (strict: of the decoded body)
  bool length_mismatch = false;            // Content-Length given and != body_bytes (noted only;
                                           // strict: a kFraming failure)
  bool chunked = false;                    // strict: the body came in the chunked encoding
  std::optional<Md5Digest> digest;         // computed when the url has one or it was asked for
  std::optional<uint64_t> regex_match_offset;  // where the regex matched, from the response start
  bool regex_candidate_abandoned = false;      // a candidate exceeded kHttpRegexWindow

  [[nodiscard]] bool passed() const { return failure == HttpFailure::kNone; }
};

// ---- reader -----------------------------------------------------------------------------------

struct HttpReaderOptions {
  bool compute_digest = false;  // compute the MD5 even when the url has no digest (genhash)
  bool strict_framing = false;  // vigil's opt-in RFC 9112 framing (see the top of this file)
};

class HttpResponseReader {
 public:
  // `check` must outlive the reader. With compute_digest the MD5 is computed even when the url
  // has no digest (genhash).
  explicit HttpResponseReader(const HttpUrlCheck& check, bool compute_digest = false);
  HttpResponseReader(const HttpUrlCheck& check, HttpReaderOptions options);
  ~HttpResponseReader();
  HttpResponseReader(const HttpResponseReader&) = delete;
  HttpResponseReader& operator=(const HttpResponseReader&) = delete;
  HttpResponseReader(HttpResponseReader&&) noexcept;
  HttpResponseReader& operator=(HttpResponseReader&&) noexcept;

  // The next bytes of the response. Ignored after finish() or once the headers are too long.
  void feed(std::span<const uint8_t> bytes);
  void feed(std::string_view bytes);

  // EOF: the verdict. Call once.
  HttpResult finish();

  // True once the verdict cannot change any more (headers too long, a failing status): the I/O
  // layer may stop reading. keepalived also stops reading when the headers are too long. With
  // strict framing also once the framed body is complete or its framing is bad; bytes fed after
  // that still count (as excess bytes), but the I/O layer reads no more.
  [[nodiscard]] bool verdict_known() const;

  // Bytes of buffers the reader holds now (capacities, not sizes); bounded by
  // kHttpMaxHeaderBytes + kHttpRegexWindow plus allocator rounding.
  [[nodiscard]] size_t retained_bytes() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vigil::check
