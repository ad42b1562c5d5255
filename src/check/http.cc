#include "check/http.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace vigil::check {

// ---- request ----------------------------------------------------------------------------------

std::string http_host(const HttpRequestTarget& target) {
  for (const std::string* vhost :
       {&target.url_virtualhost, &target.checker_virtualhost, &target.real_server_virtualhost,
        &target.virtual_server_virtualhost}) {
    if (!vhost->empty()) return *vhost;
  }
  // RFC 2732: a literal IPv6 address in brackets.
  const std::string address = target.address.to_string();
  const std::string port = ":" + std::to_string(target.port);
  return target.address.is_v6() ? "[" + address + "]" + port : address + port;
}

std::string http_request(const HttpRequestTarget& target) {
  using config::HttpProtocol;
  std::string request = "GET " + target.path + " HTTP/1.";
  request += target.protocol == HttpProtocol::k1_1 ? "1" : "0";
  request += "\r\nUser-Agent: KeepAliveClient\r\n";
  if (target.protocol == HttpProtocol::k1_0C || target.protocol == HttpProtocol::k1_1) {
    request += "Connection: close\r\n";
  }
  request += "Host: " + http_host(target) + "\r\n\r\n";
  return request;
}

// ---- expectations -----------------------------------------------------------------------------

std::string to_hex(const Md5Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * digest.size());
  for (uint8_t byte : digest) {
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  }
  return out;
}

std::string format_status_codes(const std::vector<config::StatusRange>& ranges) {
  if (ranges.empty()) return "200-299";
  std::string out;
  for (const auto& range : ranges) {
    if (!out.empty()) out += ',';
    out += std::to_string(range.first);
    if (range.last != range.first) out += "-" + std::to_string(range.last);
  }
  return out;
}

struct CompiledRegex {
  pcre2_code* code = nullptr;
  size_t max_lookbehind = 0;  // bytes kept before a candidate, at most kHttpRegexWindow / 2
  CompiledRegex() = default;
  CompiledRegex(const CompiledRegex&) = delete;
  CompiledRegex& operator=(const CompiledRegex&) = delete;
  ~CompiledRegex() { pcre2_code_free(code); }
};

namespace {

// keepalived 2.2.7's regex_options names (config/parse_check.cc accepts exactly these).
std::optional<uint32_t> pcre2_option(std::string_view name) {
  static constexpr std::pair<std::string_view, uint32_t> kOptions[] = {
      {"allow_empty_class", PCRE2_ALLOW_EMPTY_CLASS},
      {"alt_bsux", PCRE2_ALT_BSUX},
      {"auto_callout", PCRE2_AUTO_CALLOUT},
      {"caseless", PCRE2_CASELESS},
      {"dollar_endonly", PCRE2_DOLLAR_ENDONLY},
      {"dotall", PCRE2_DOTALL},
      {"dupnames", PCRE2_DUPNAMES},
      {"extended", PCRE2_EXTENDED},
      {"firstline", PCRE2_FIRSTLINE},
      {"match_unset_backref", PCRE2_MATCH_UNSET_BACKREF},
      {"multiline", PCRE2_MULTILINE},
      {"never_ucp", PCRE2_NEVER_UCP},
      {"never_utf", PCRE2_NEVER_UTF},
      {"no_auto_capture", PCRE2_NO_AUTO_CAPTURE},
      {"no_auto_possess", PCRE2_NO_AUTO_POSSESS},
      {"no_dotstar_anchor", PCRE2_NO_DOTSTAR_ANCHOR},
      {"no_start_optimize", PCRE2_NO_START_OPTIMIZE},
      {"ucp", PCRE2_UCP},
      {"ungreedy", PCRE2_UNGREEDY},
      {"utf", PCRE2_UTF},
      {"never_backslash_c", PCRE2_NEVER_BACKSLASH_C},
      {"alt_circumflex", PCRE2_ALT_CIRCUMFLEX},
      {"alt_verbnames", PCRE2_ALT_VERBNAMES},
      {"use_offset_limit", PCRE2_USE_OFFSET_LIMIT},
      {"extended_more", PCRE2_EXTENDED_MORE},
  };
  for (const auto& [option_name, bit] : kOptions) {
    if (option_name == name) return bit;
  }
  return std::nullopt;
}

std::string pcre2_message(int error) {
  std::array<PCRE2_UCHAR, 256> buffer{};
  if (pcre2_get_error_message(error, buffer.data(), buffer.size()) < 0) {
    return "PCRE2 error " + std::to_string(error);
  }
  return reinterpret_cast<const char*>(buffer.data());
}

}  // namespace

Result<HttpUrlCheck> HttpUrlCheck::make(const config::HttpUrl& url) {
  HttpUrlCheck check;
  check.status_codes_ = url.status_codes;
  check.digest_ = url.digest;
  if (url.regex.empty()) return check;

  uint32_t options = 0;
  for (const auto& name : url.regex_options) {
    auto bit = pcre2_option(name);
    if (!bit) return Error{"unknown regex option '" + name + "'"};
    options |= *bit;
  }
  auto regex = std::make_shared<CompiledRegex>();
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(url.regex.data()), url.regex.size(),
                              options, &error, &error_offset, nullptr);
  if (regex->code == nullptr) {
    return Error{"regex '" + url.regex + "' at offset " + std::to_string(error_offset) + ": " +
                 pcre2_message(error)};
  }
  // keepalived JIT-compiles for hard partial matching, the only mode used; without JIT (an
  // architecture PCRE2 has none for) pcre2_match interprets, with the same results.
  (void)pcre2_jit_compile(regex->code, PCRE2_JIT_PARTIAL_HARD);
  uint32_t lookbehind = 0;
  pcre2_pattern_info(regex->code, PCRE2_INFO_MAXLOOKBEHIND, &lookbehind);
  uint32_t all_options = 0;
  pcre2_pattern_info(regex->code, PCRE2_INFO_ALLOPTIONS, &all_options);
  // The count is in characters: up to 4 bytes each in UTF mode. At least one, for \b and \B at
  // a window's start. Capped so that every scan frees window space.
  size_t bytes = std::max<size_t>(1, lookbehind) * ((all_options & PCRE2_UTF) != 0 ? 4 : 1);
  regex->max_lookbehind = std::min(bytes, kHttpRegexWindow / 2);

  check.regex_ = std::move(regex);
  check.pattern_ = url.regex;
  check.regex_no_match_ = url.regex_no_match;
  check.regex_min_offset_ = url.regex_min_offset.value_or(0);
  if (url.regex_max_offset) check.regex_max_offset_ = *url.regex_max_offset;
  check.regex_stack_start_ = url.regex_stack_start;
  check.regex_stack_max_ = url.regex_stack_max;
  return check;
}

bool HttpUrlCheck::status_ok(int status) const {
  if (status_codes_.empty()) return status >= 200 && status <= 299;
  return std::any_of(status_codes_.begin(), status_codes_.end(), [&](const auto& range) {
    return status >= range.first && status <= range.last;
  });
}

std::string_view to_string(HttpFailure failure) {
  switch (failure) {
    case HttpFailure::kNone:
      return "none";
    case HttpFailure::kNoHeaders:
      return "no headers";
    case HttpFailure::kHeadersTooLong:
      return "headers too long";
    case HttpFailure::kNoStatusLine:
      return "no status line";
    case HttpFailure::kStatus:
      return "status";
    case HttpFailure::kDigest:
      return "digest";
    case HttpFailure::kRegex:
      return "regex";
    case HttpFailure::kFraming:
      return "framing";
    case HttpFailure::kCount:
      break;
  }
  return "?";
}

// ---- header parsing (lib/html.c's rules) ------------------------------------------------------

namespace {

// extract_status_code: skip to the first ' ' (stopping at '\r'), then exactly three characters
// and a ' '. keepalived converts those three with strtoul, so " +20" or "\t20" give codes below
// 100, which fail like no status at all; here anything but three digits is no status.
std::optional<int> parse_status_code(std::string_view head) {
  size_t i = 0;
  while (i < head.size() && head[i] != ' ' && head[i] != '\r')
    ++i;
  if (i >= head.size() || head[i] != ' ') return std::nullopt;
  ++i;
  if (i + 3 >= head.size() || head[i + 3] != ' ') return std::nullopt;
  int code = 0;
  for (size_t k = i; k < i + 3; ++k) {
    if (head[k] < '0' || head[k] > '9') return std::nullopt;
    code = code * 10 + (head[k] - '0');
  }
  return code;
}

bool is_c_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

// extract_content_length: strstr for "Content-Length:" (case-sensitive, anywhere, up to the first
// NUL), then strtoul base 10 (leading white space, a sign, wrap on '-', ULONG_MAX on overflow);
// the number must be followed by '\r', '\n' or the end. SIZE_MAX (= ULONG_MAX) means "none" for
// keepalived, so an overflowing value is none too.
std::optional<uint64_t> parse_content_length(std::string_view head) {
  static constexpr std::string_view kTag = "Content-Length:";
  head = head.substr(0, head.find('\0'));
  const size_t at = head.find(kTag);
  if (at == std::string_view::npos) return std::nullopt;
  const size_t start = at + kTag.size();
  size_t i = start;
  while (i < head.size() && is_c_space(head[i]))
    ++i;
  bool negative = false;
  if (i < head.size() && (head[i] == '+' || head[i] == '-')) {
    negative = head[i] == '-';
    ++i;
  }
  const size_t digits = i;
  uint64_t value = 0;
  bool overflow = false;
  while (i < head.size() && head[i] >= '0' && head[i] <= '9') {
    const auto digit = static_cast<uint64_t>(head[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) overflow = true;
    value = value * 10 + digit;
    ++i;
  }
  size_t end = i;
  if (i == digits) {  // no conversion: strtoul's end pointer is its argument
    end = start;
    value = 0;
  }
  if (end < head.size() && head[end] != '\r' && head[end] != '\n') return std::nullopt;
  if (overflow) return std::nullopt;
  if (negative) value = 0 - value;
  if (value == UINT64_MAX) return std::nullopt;
  return value;
}

// ---- strict framing (RFC 9112) -----------------------------------------------------------------

// A header or chunk line for a reason: printable ASCII as is, other bytes as \xNN, at most 64.
std::string quoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr size_t kShown = 64;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (text.size() > kShown) out += "...";
  return out + "\"";
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A control byte RFC 9110 §5.5 does not allow in a field value (HTAB is allowed).
bool is_bad_ctl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// 1*DIGIT without overflow.
std::optional<uint64_t> parse_decimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// What the headers say about the framing.
struct StrictHead {
  std::optional<int> status;
  HttpFailure failure = HttpFailure::kNone;  // kNoStatusLine or kFraming
  std::string reason;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool no_body = false;  // 1xx, 204, 304
};

// `headers` ends with "\r\n\r\n".
StrictHead parse_strict_head(std::string_view headers) {
  StrictHead head;
  auto framing = [&head](std::string reason) {
    head.failure = HttpFailure::kFraming;
    head.reason = "bad framing: " + std::move(reason);
    return head;
  };
  size_t eol = headers.find("\r\n");
  const std::string_view status_line = headers.substr(0, eol);
  // RFC 9112 §4: HTTP-version SP status-code SP [ reason-phrase ]; "SP [reason]" may be missing.
  static constexpr std::string_view kVersion = "HTTP/1.";
  const std::string_view s = status_line;
  const bool well_formed = s.size() >= 12 && s.starts_with(kVersion) && is_digit(s[7]) &&
                           s[8] == ' ' && is_digit(s[9]) && is_digit(s[10]) && is_digit(s[11]) &&
                           (s.size() == 12 || s[12] == ' ') &&
                           std::none_of(s.begin(), s.end(), is_bad_ctl);
  if (!well_formed) {
    head.failure = HttpFailure::kNoStatusLine;
    head.reason = "bad status line: " + quoted(status_line);
    return head;
  }
  const int status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
  head.status = status;
  const bool http10 = s[7] == '0';

  bool has_transfer_encoding = false;
  std::string codings;  // every Transfer-Encoding value, comma-joined
  size_t at = eol + 2;
  while (true) {
    eol = headers.find("\r\n", at);
    const std::string_view line = headers.substr(at, eol - at);
    at = eol + 2;
    if (line.empty()) break;  // the blank line: headers end
    if (line.front() == ' ' || line.front() == '\t') {
      return framing("obsolete line folding in the headers: " + quoted(line));
    }
    const size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    if (colon == std::string_view::npos || name.empty() ||
        !std::all_of(name.begin(), name.end(), is_tchar)) {
      return framing("malformed header line " + quoted(line));
    }
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (std::any_of(value.begin(), value.end(), is_bad_ctl)) {
      return framing("control byte in header line " + quoted(line));
    }
    if (iequals(name, "content-length")) {
      // RFC 9110 §8.6: a list of identical values is that value.
      std::string_view rest = value;
      while (true) {
        const size_t comma = rest.find(',');
        const std::string_view item = trim_ows(rest.substr(0, comma));
        const auto length = parse_decimal(item);
        if (!length) return framing("invalid Content-Length " + quoted(value));
        if (head.content_length && *head.content_length != *length) {
          return framing("conflicting Content-Length values " +
                         std::to_string(*head.content_length) + " and " + std::to_string(*length));
        }
        head.content_length = length;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (iequals(name, "transfer-encoding")) {
      has_transfer_encoding = true;
      if (!codings.empty()) codings += ", ";
      codings += value;
    }
  }
  if (has_transfer_encoding) {
    if (head.content_length) return framing("both Content-Length and Transfer-Encoding");
    if (http10) return framing("Transfer-Encoding in an HTTP/1.0 response");
    // vigil asks for no transfer coding (no TE header): only chunked alone can be decoded.
    if (!iequals(trim_ows(codings), "chunked")) {
      return framing("unsupported Transfer-Encoding " + quoted(codings));
    }
    head.chunked = true;
  }
  // RFC 9112 §6.3 rule 1: whatever the headers say, these have no body.
  head.no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
  if (head.no_body) head.chunked = false;
  return head;
}

// RFC 9112 §7.1: chunk-size [ chunk-ext ], the line without its CRLF. chunk-ext is
// *( BWS ";" BWS name [ BWS "=" BWS value ] ); only its bytes are checked (no control bytes).
std::optional<uint64_t> parse_chunk_size(std::string_view line) {
  uint64_t size = 0;
  size_t i = 0;
  for (; i < line.size(); ++i) {
    const char c = line[i];
    int digit = 0;
    if (is_digit(c)) {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      break;
    }
    if (size > (UINT64_MAX >> 4)) return std::nullopt;
    size = (size << 4) | static_cast<uint64_t>(digit);
  }
  if (i == 0) return std::nullopt;
  const std::string_view rest = trim_ows(line.substr(i));
  if (!rest.empty() && rest.front() != ';') return std::nullopt;
  if (std::any_of(rest.begin(), rest.end(), is_bad_ctl)) return std::nullopt;
  return size;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct MatchDataFree {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
struct MatchContextFree {
  void operator()(pcre2_match_context* context) const { pcre2_match_context_free(context); }
};
struct JitStackFree {
  void operator()(pcre2_jit_stack* stack) const { pcre2_jit_stack_free(stack); }
};

// The regex over the response, in windows of kHttpRegexWindow bytes. Bytes are appended to the
// window; each time it is full it is matched with PCRE2_PARTIAL_HARD from scan_from:
// - a match: done (it counts when it starts at or before regex_max_offset);
// - a partial match at p: bytes before p - max_lookbehind are dropped and the next scan starts
//   at p; when there are none to drop (the candidate fills the window) the candidate is abandoned
//   and the window emptied;
// - no match: all but the last max_lookbehind bytes are dropped, the next scan starts after them.
// At EOF the rest is matched once more, still with PARTIAL_HARD: an open candidate is no match.
// The scans depend only on the bytes, never on how they were fed.
class RegexScan {
 public:
  RegexScan(const CompiledRegex& regex, uint64_t min_offset, std::optional<uint64_t> max_offset,
            uint32_t stack_start, uint32_t stack_max)
      : regex_(regex),
        min_offset_(min_offset),
        max_offset_(max_offset),
        match_data_(pcre2_match_data_create_from_pattern(regex.code, nullptr)) {
    const uint64_t lookbehind = regex.max_lookbehind;
    skip_until_ = min_offset_ > lookbehind ? min_offset_ - lookbehind : 0;
    if (stack_max != 0) {
      context_.reset(pcre2_match_context_create(nullptr));
      stack_.reset(pcre2_jit_stack_create(std::max<size_t>(stack_start, 1), stack_max, nullptr));
      if (context_ && stack_) pcre2_jit_stack_assign(context_.get(), nullptr, stack_.get());
    }
  }

  void push(const uint8_t* bytes, size_t n) {
    while (n > 0 && !done_) {
      if (window_.empty() && position_ < skip_until_) {  // before regex_min_offset
        const size_t skip = static_cast<size_t>(std::min<uint64_t>(n, skip_until_ - position_));
        position_ += skip;
        bytes += skip;
        n -= skip;
        continue;
      }
      if (window_.capacity() < kHttpRegexWindow) window_.reserve(kHttpRegexWindow);
      const size_t take = std::min(n, kHttpRegexWindow - window_.size());
      window_.insert(window_.end(), bytes, bytes + take);
      position_ += take;
      bytes += take;
      n -= take;
      if (window_.size() == kHttpRegexWindow) scan(/*at_eof=*/false);
    }
  }

  void finish() {
    if (!done_ && !window_.empty()) scan(/*at_eof=*/true);
    done_ = true;
    release();
  }

  [[nodiscard]] std::optional<uint64_t> match_offset() const { return match_offset_; }
  [[nodiscard]] bool abandoned() const { return abandoned_; }
  [[nodiscard]] size_t retained_bytes() const { return window_.capacity(); }

 private:
  [[nodiscard]] uint64_t window_start() const { return position_ - window_.size(); }

  void release() {
    window_.clear();
    window_.shrink_to_fit();
  }

  void drop_front(size_t count) {
    window_.erase(window_.begin(), window_.begin() + static_cast<std::ptrdiff_t>(count));
  }

  void scan(bool at_eof) {
    const uint64_t base = window_start();
    const uint64_t start = std::max({scan_from_, min_offset_, base});
    if (max_offset_ && start > *max_offset_) {  // no match can start in range any more
      done_ = true;
      release();
      return;
    }
    const size_t lookbehind = regex_.max_lookbehind;
    if (start >= position_) {  // nothing new to scan: keep the lookbehind bytes
      if (at_eof) return;
      drop_front(window_.size() - std::min(lookbehind, window_.size()));
      return;
    }
    const int rc = pcre2_match(regex_.code, window_.data(), window_.size(),
                               static_cast<PCRE2_SIZE>(start - base), PCRE2_PARTIAL_HARD,
                               match_data_.get(), context_.get());
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data_.get());
    if (rc >= 0) {
      const uint64_t at = base + ovector[0];
      if (!max_offset_ || at <= *max_offset_) match_offset_ = at;
      done_ = true;  // the leftmost match decides
      release();
      return;
    }
    if (at_eof) return;  // an open candidate, no match or an error: no match
    if (rc == PCRE2_ERROR_PARTIAL) {
      const size_t candidate = ovector[0];
      const size_t keep_from = candidate > lookbehind ? candidate - lookbehind : 0;
      if (keep_from == 0) {  // the candidate fills the window: abandon it
        abandoned_ = true;
        scan_from_ = position_;
        window_.clear();
        return;
      }
      drop_front(keep_from);
      scan_from_ = base + candidate;
      return;
    }
    // PCRE2_ERROR_NOMATCH, or an error (match or depth limit, bad UTF-8 with `utf`): keepalived
    // logs the error and goes on as for no match.
    drop_front(window_.size() - std::min(lookbehind, window_.size()));
    scan_from_ = position_;
  }

  const CompiledRegex& regex_;
  uint64_t min_offset_;
  std::optional<uint64_t> max_offset_;
  std::unique_ptr<pcre2_match_data, MatchDataFree> match_data_;
  std::unique_ptr<pcre2_match_context, MatchContextFree> context_;
  std::unique_ptr<pcre2_jit_stack, JitStackFree> stack_;
  std::vector<uint8_t> window_;
  uint64_t position_ = 0;    // response bytes pushed so far
  uint64_t skip_until_ = 0;  // bytes before this are never needed (min offset - lookbehind)
  uint64_t scan_from_ = 0;   // the next scan starts here
  std::optional<uint64_t> match_offset_;
  bool abandoned_ = false;
  bool done_ = false;
};

}  // namespace

// ---- reader -----------------------------------------------------------------------------------

struct HttpResponseReader::State {
  enum class Phase : uint8_t { kHeaders, kBody, kHeadersTooLong, kFinished };

  // Strict framing: how the body ends, and where the chunked decoder is.
  enum class Framing : uint8_t { kEof, kLength, kChunked, kNone };
  enum class Chunk : uint8_t { kSizeLine, kData, kDataCr, kDataLf, kTrailer, kDone };

  const HttpUrlCheck& check;
  const bool strict;
  Phase phase = Phase::kHeaders;
  std::vector<uint8_t> head;  // the response until the end of its headers
  std::optional<int> status;
  std::optional<uint64_t> content_length;
  uint64_t body_bytes = 0;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md5;
  std::optional<RegexScan> regex;
  // Strict framing only.
  HttpFailure head_failure = HttpFailure::kNone;  // bad status line or header framing
  std::string head_reason;
  std::string body_failure;  // bad body framing; empty: none (yet)
  Framing framing = Framing::kEof;
  bool complete = false;   // the framed body ended
  uint64_t remaining = 0;  // kLength: body bytes left; kChunked: the chunk's bytes left
  Chunk chunk = Chunk::kSizeLine;
  std::vector<char> chunk_line;  // the chunk-size line so far, at most kHttpMaxChunkLineBytes
  size_t trailer_bytes = 0;      // the trailer section so far
  size_t trailer_line = 0;       // bytes of the current trailer line before its CR
  bool trailer_cr = false;       // the current trailer line's CR came

  State(const HttpUrlCheck& c, HttpReaderOptions options)
      : check(c), strict(options.strict_framing) {
    if (options.compute_digest || check.digest_) {
      md5.reset(EVP_MD_CTX_new());
      if (md5 && EVP_DigestInit_ex(md5.get(), EVP_md5(), nullptr) != 1) md5.reset();
    }
    if (check.regex_) {
      regex.emplace(*check.regex_, check.regex_min_offset_, check.regex_max_offset_,
                    check.regex_stack_start_, check.regex_stack_max_);
    }
  }

  void body(const uint8_t* bytes, size_t n) {
    if (n == 0) return;
    if (md5) {
      // Hash up to Content-Length (keepalived's cut); the count goes on regardless.
      uint64_t hashed = n;
      if (content_length) {
        hashed =
            *content_length > body_bytes ? std::min<uint64_t>(n, *content_length - body_bytes) : 0;
      }
      if (hashed > 0) EVP_DigestUpdate(md5.get(), bytes, static_cast<size_t>(hashed));
    }
    body_bytes += n;
    if (regex) regex->push(bytes, n);
  }

  // ---- strict framing ----

  // Decoded body bytes: the digest and the count.
  void payload(const uint8_t* bytes, size_t n) {
    if (n == 0) return;
    if (md5) EVP_DigestUpdate(md5.get(), bytes, n);
    body_bytes += n;
  }

  [[nodiscard]] std::string_view line_text() const {
    return {chunk_line.data(), chunk_line.size()};
  }

  void fail_body(std::string reason) {
    body_failure = "bad framing: " + std::move(reason);
    chunk_line.clear();
    chunk_line.shrink_to_fit();
  }

  void strict_body(const uint8_t* bytes, size_t n) {
    if (n == 0 || !body_failure.empty() || head_failure != HttpFailure::kNone) return;
    size_t used = 0;  // raw bytes that belong to the framed body
    switch (framing) {
      case Framing::kEof:
        payload(bytes, n);
        used = n;
        break;
      case Framing::kLength: {
        used = static_cast<size_t>(std::min<uint64_t>(n, remaining));
        payload(bytes, used);
        remaining -= used;
        complete = remaining == 0;
        if (used < n) {
          fail_body("more than Content-Length bytes (" + std::to_string(*content_length) + ")");
        }
        break;
      }
      case Framing::kNone:
        fail_body("body bytes after a response without a body (status " + std::to_string(*status) +
                  ")");
        break;
      case Framing::kChunked:
        used = chunked(bytes, n);
        break;
    }
    if (regex && used > 0) regex->push(bytes, used);
  }

  // RFC 9112 §7.1's chunked-body, one state per position; returns the bytes consumed before
  // the end or an error.
  size_t chunked(const uint8_t* bytes, size_t n) {
    size_t i = 0;
    while (i < n && body_failure.empty()) {
      switch (chunk) {
        case Chunk::kSizeLine: {
          const char c = static_cast<char>(bytes[i++]);
          if (c != '\n') {
            if (chunk_line.size() >= kHttpMaxChunkLineBytes) {
              fail_body("chunk size line longer than " + std::to_string(kHttpMaxChunkLineBytes) +
                        " bytes");
              break;
            }
            chunk_line.push_back(c);
            break;
          }
          if (chunk_line.empty() || chunk_line.back() != '\r') {
            fail_body("bad chunk size line " + quoted(std::string(line_text()) + "\n"));
            break;
          }
          chunk_line.pop_back();
          const auto size = parse_chunk_size(line_text());
          if (!size) {
            fail_body("bad chunk size line " + quoted(line_text()));
            break;
          }
          chunk_line.clear();
          remaining = *size;
          chunk = remaining == 0 ? Chunk::kTrailer : Chunk::kData;
          break;
        }
        case Chunk::kData: {
          const size_t take = static_cast<size_t>(std::min<uint64_t>(n - i, remaining));
          payload(bytes + i, take);
          i += take;
          remaining -= take;
          if (remaining == 0) chunk = Chunk::kDataCr;
          break;
        }
        case Chunk::kDataCr:
        case Chunk::kDataLf: {
          const bool cr = chunk == Chunk::kDataCr;
          if (static_cast<char>(bytes[i++]) != (cr ? '\r' : '\n')) {
            fail_body("no CRLF after a chunk's data");
            break;
          }
          chunk = cr ? Chunk::kDataLf : Chunk::kSizeLine;
          break;
        }
        case Chunk::kTrailer: {
          const char c = static_cast<char>(bytes[i++]);
          if (++trailer_bytes > kHttpMaxTrailerBytes) {
            fail_body("trailers longer than " + std::to_string(kHttpMaxTrailerBytes) + " bytes");
            break;
          }
          if (c == '\n') {
            if (!trailer_cr) {
              fail_body("bare LF in the trailers");
              break;
            }
            if (trailer_line == 0) {  // the blank line: the chunked body ends
              chunk = Chunk::kDone;
              complete = true;
            }
            trailer_line = 0;
            trailer_cr = false;
          } else if (trailer_cr || (c != '\r' && is_bad_ctl(c))) {
            fail_body("bad trailer line");
          } else if (c == '\r') {
            trailer_cr = true;
          } else {
            ++trailer_line;
          }
          break;
        }
        case Chunk::kDone:
          fail_body("bytes after the last chunk");
          return i;
      }
    }
    return i;
  }

  void start_strict_body(std::string_view headers) {
    StrictHead parsed = parse_strict_head(headers);
    status = parsed.status;
    content_length = parsed.content_length;
    head_failure = parsed.failure;
    head_reason = std::move(parsed.reason);
    if (parsed.no_body) {
      framing = Framing::kNone;
      complete = true;
    } else if (parsed.chunked) {
      framing = Framing::kChunked;
    } else if (content_length) {
      framing = Framing::kLength;
      remaining = *content_length;
      complete = remaining == 0;
    }
  }

  // The reason the framed body is not complete at EOF, if it is not.
  [[nodiscard]] std::string eof_failure() const {
    if (framing == Framing::kLength && remaining > 0) {
      return "bad framing: body ended after " + std::to_string(body_bytes) + " of " +
             std::to_string(*content_length) + " bytes (Content-Length)";
    }
    if (framing == Framing::kChunked && chunk != Chunk::kDone) {
      return "bad framing: chunked body ended before its last chunk (after " +
             std::to_string(body_bytes) + " bytes of data)";
    }
    return {};
  }

  void feed_body(const uint8_t* bytes, size_t n) {
    if (strict) {
      strict_body(bytes, n);
    } else {
      body(bytes, n);
    }
  }

  void feed(const uint8_t* bytes, size_t n) {
    if (phase == Phase::kBody) {
      feed_body(bytes, n);
      return;
    }
    if (phase != Phase::kHeaders || n == 0) return;
    if (head.capacity() < kHttpMaxHeaderBytes) head.reserve(kHttpMaxHeaderBytes);
    const size_t searched = head.size() >= 3 ? head.size() - 3 : 0;
    const size_t take = std::min(n, kHttpMaxHeaderBytes - head.size());
    head.insert(head.end(), bytes, bytes + take);
    static constexpr std::string_view kEnd = "\r\n\r\n";
    const std::string_view text(reinterpret_cast<const char*>(head.data()), head.size());
    const size_t at = text.find(kEnd, searched);
    if (at == std::string_view::npos) {
      if (head.size() == kHttpMaxHeaderBytes) {
        // keepalived's buffer is full: its next read asks for 0 bytes and takes that as EOF.
        phase = Phase::kHeadersTooLong;
        head.clear();
        head.shrink_to_fit();
      }
      return;
    }
    const size_t header_end = at + kEnd.size();
    const std::string_view headers = text.substr(0, header_end);
    if (strict) {
      start_strict_body(headers);
    } else {
      status = parse_status_code(headers);
      content_length = parse_content_length(headers);
    }
    phase = Phase::kBody;
    // The regex subject starts with the status line; the digest with the first body byte.
    if (regex) regex->push(head.data(), header_end);
    feed_body(head.data() + header_end, head.size() - header_end);
    head.clear();
    head.shrink_to_fit();
    feed_body(bytes + take, n - take);
  }
};

HttpResponseReader::HttpResponseReader(const HttpUrlCheck& check, bool compute_digest)
    : HttpResponseReader(check, HttpReaderOptions{.compute_digest = compute_digest}) {}
HttpResponseReader::HttpResponseReader(const HttpUrlCheck& check, HttpReaderOptions options)
    : state_(std::make_unique<State>(check, options)) {}
HttpResponseReader::~HttpResponseReader() = default;
HttpResponseReader::HttpResponseReader(HttpResponseReader&&) noexcept = default;
HttpResponseReader& HttpResponseReader::operator=(HttpResponseReader&&) noexcept = default;

void HttpResponseReader::feed(std::span<const uint8_t> bytes) {
  state_->feed(bytes.data(), bytes.size());
}

void HttpResponseReader::feed(std::string_view bytes) {
  state_->feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

bool HttpResponseReader::verdict_known() const {
  using Phase = State::Phase;
  const State& s = *state_;
  if (s.phase == Phase::kHeadersTooLong || s.phase == Phase::kFinished) return true;
  if (s.phase != Phase::kBody) return false;
  if (!s.status || !s.check.status_ok(*s.status)) return true;
  return s.strict &&
         (s.head_failure != HttpFailure::kNone || !s.body_failure.empty() || s.complete);
}

size_t HttpResponseReader::retained_bytes() const {
  const State& s = *state_;
  return s.head.capacity() + s.chunk_line.capacity() + (s.regex ? s.regex->retained_bytes() : 0);
}

HttpResult HttpResponseReader::finish() {
  using Phase = State::Phase;
  State& s = *state_;
  HttpResult result;
  const Phase phase = s.phase;
  s.phase = Phase::kFinished;
  s.head.clear();
  s.head.shrink_to_fit();
  if (phase == Phase::kFinished) {
    result.failure = HttpFailure::kNoHeaders;
    result.reason = "finish() called twice";
    return result;
  }
  if (phase == Phase::kHeaders) {
    result.failure = HttpFailure::kNoHeaders;
    result.reason = "no data received: the response ended before its headers did";
    return result;
  }
  if (phase == Phase::kHeadersTooLong) {
    result.failure = HttpFailure::kHeadersTooLong;
    result.reason = "headers longer than " + std::to_string(kHttpMaxHeaderBytes) + " bytes";
    return result;
  }

  result.status = s.status;
  result.content_length = s.content_length;
  result.body_bytes = s.body_bytes;
  result.length_mismatch = s.content_length && *s.content_length != s.body_bytes;
  result.chunked = s.strict && s.framing == State::Framing::kChunked;
  if (s.strict && s.body_failure.empty()) s.body_failure = s.eof_failure();
  s.chunk_line.clear();
  s.chunk_line.shrink_to_fit();
  if (s.md5) {
    Md5Digest digest{};
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(s.md5.get(), digest.data(), &size) == 1 && size == digest.size()) {
      result.digest = digest;
    }
    s.md5.reset();
  }
  if (s.regex) {
    s.regex->finish();
    result.regex_match_offset = s.regex->match_offset();
    result.regex_candidate_abandoned = s.regex->abandoned();
  }

  const HttpUrlCheck& check = s.check;
  if (s.head_failure != HttpFailure::kNone) {  // strict framing: the headers
    result.failure = s.head_failure;
    result.reason = s.head_reason;
  } else if (!s.status) {
    result.failure = HttpFailure::kNoStatusLine;
    result.reason = "no status line";
  } else if (!check.status_ok(*s.status)) {
    result.failure = HttpFailure::kStatus;
    result.reason = "status " + std::to_string(*s.status) + " not in " +
                    format_status_codes(check.status_codes_);
  } else if (!s.body_failure.empty()) {  // strict framing: the body
    result.failure = HttpFailure::kFraming;
    result.reason = s.body_failure;
  } else if (check.digest_ && (!result.digest || *result.digest != *check.digest_)) {
    result.failure = HttpFailure::kDigest;
    result.reason = "digest " + (result.digest ? to_hex(*result.digest) : std::string("(none)")) +
                    " != " + to_hex(*check.digest_);
  } else if (check.regex_) {
    const bool matched = result.regex_match_offset.has_value();
    if (matched == check.regex_no_match_) {
      result.failure = HttpFailure::kRegex;
      result.reason = matched ? "regex_no_match '" + check.pattern_ + "' matched at offset " +
                                    std::to_string(*result.regex_match_offset)
                              : "regex '" + check.pattern_ + "' did not match";
    }
  }
  return result;
}

}  // namespace vigil::check
