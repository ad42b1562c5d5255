// Checker blocks inside real_server: TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK,
// UDP_CHECK, PING_CHECK, MISC_CHECK, FILE_CHECK.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>

#include "config/parse_lvs_internal.h"

namespace vigil::config {

namespace {
constexpr std::array<std::string_view, 9> kCheckerNames = {
    "TCP_CHECK", "HTTP_GET",   "SSL_GET",    "SMTP_CHECK", "DNS_CHECK",
    "UDP_CHECK", "PING_CHECK", "MISC_CHECK", "FILE_CHECK"};
constexpr std::array<std::string_view, 3> kHttpProtocolNames = {"1.0", "1.0C", "1.1"};
constexpr std::array<std::string_view, 9> kDnsTypeNames = {"A",   "NS",   "CNAME", "SOA",   "MX",
                                                           "TXT", "AAAA", "RRSIG", "DNSKEY"};
}  // namespace

std::string_view to_string(CheckerType type) {
  return kCheckerNames[static_cast<size_t>(type)];
}
std::string_view to_string(HttpProtocol protocol) {
  return kHttpProtocolNames[static_cast<size_t>(protocol)];
}
std::string_view to_string(DnsType type) {
  return kDnsTypeNames[static_cast<size_t>(type)];
}

namespace lvs {
namespace {

using C = Checker;
constexpr int64_t kU32Max = std::numeric_limits<uint32_t>::max();

// --- Common checker keywords. -----------------------------------------------------------------

void connect_ip(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto a = ctx.address(line, 1)) {
    c.connect_ip = *a;
    c.explicit_fields |= kSetConnectIp;
  }
}

void connect_port(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto p = ctx.integer(line, 1, 1, 65535)) {
    c.connect_port = static_cast<uint16_t>(*p);
    c.explicit_fields |= kSetConnectPort;
  }
}

void bindto(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto a = ctx.address(line, 1)) c.bind_ip = *a;
}

void bind_port(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto p = ctx.integer(line, 1, 1, 65535)) c.bind_port = static_cast<uint16_t>(*p);
}

// An interface name fits IFNAMSIZ (16 with the NUL).
std::optional<std::string> interface_name(Context& ctx, const LogicalLine& line) {
  auto name = ctx.text(line);
  if (name && name->size() > 15) {
    ctx.error(line.tokens[1], "'" + line.keyword() + "': interface name '" + *name +
                                  "' is longer than 15 characters");
    return std::nullopt;
  }
  return name;
}

void bind_if(Context& ctx, const LogicalLine& line, C& c) {
  if (auto name = interface_name(ctx, line)) c.bind_if = std::move(*name);
}

void fwmark(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 0, kU32Max)) c.fwmark = static_cast<uint32_t>(*v);
}

template <auto Member, uint16_t Bit, bool AllowZero>
void checker_timer(Context& ctx, const LogicalLine& line, C& c) {
  if (auto value = timer(ctx, line, AllowZero)) {
    c.*Member = *value;
    c.explicit_fields |= Bit;
  }
}

void retry(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 0, kU32Max)) {
    c.retry = static_cast<uint32_t>(*v);
    c.explicit_fields |= kSetRetry;
  }
}

template <auto Member, uint16_t Bit>
void checker_flag(Context& ctx, const LogicalLine& line, C& c) {
  if (auto v = ctx.flag(line)) {
    c.*Member = *v;
    c.explicit_fields |= Bit;
  }
}

// The old spelling of retry (the reference's legacy spellings; published configs use it in
// every checker). keepalived 2.2.7 still applies it, though its -t fails on it: vigil applies it
// with a warning, so such configs run unchanged.
void nb_get_retry(Context& ctx, const LogicalLine& line, C& c) {
  ctx.warning(line.tokens[0], "'nb_get_retry' is the old spelling of 'retry': accepted as 'retry'");
  retry(ctx, line, c);
}

// vigil's `rise N` (1..100): consecutive successes a failed checker needs before it counts as
// up again, so a flapping server stays out; keepalived's behaviour is 1.
void rise(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 1, 100)) c.rise = static_cast<uint32_t>(*v);
}

// vigil's `interval_jitter PERCENT` (0..50): each delay_loop / delay_before_retry wait is drawn
// from [d - d*p/100, d + d*p/100], so that many checks never fire in lockstep.
void interval_jitter(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 0, 50)) c.interval_jitter = static_cast<uint32_t>(*v);
}

// Options "alpha onwards" in keepalived's manual: the only common ones MISC_CHECK takes.
const Keyword<C> kTimingKeywords[] = {
    {"alpha", checker_flag<&C::alpha, kSetAlpha>},
    {"retry", retry},
    {"nb_get_retry", nb_get_retry},
    {"delay_before_retry", checker_timer<&C::delay_before_retry, kSetDelayBeforeRetry, true>},
    {"warmup", checker_timer<&C::warmup, kSetWarmup, true>},
    {"delay_loop", checker_timer<&C::delay_loop, kSetDelayLoop, false>},
    {"log_all_failures", checker_flag<&C::log_all_failures, kSetLogAllFailures>},
    // vigil extensions (keepalived 2.2.7 rejects them as unknown keywords).
    {"rise", rise},
    {"interval_jitter", interval_jitter},
};

const Keyword<C> kConnectionKeywords[] = {
    {"connect_ip", connect_ip},
    {"connect_port", connect_port},
    {"bindto", bindto},
    {"bind_port", bind_port},
    {"bind_if", bind_if},
    {"fwmark", fwmark},
    {"connect_timeout", checker_timer<&C::connect_timeout, kSetConnectTimeout, false>},
};

std::vector<Keyword<C>> with_common(std::initializer_list<Keyword<C>> own, bool connection = true) {
  std::vector<Keyword<C>> all;
  if (connection)
    all.insert(all.end(), std::begin(kConnectionKeywords), std::end(kConnectionKeywords));
  all.insert(all.end(), std::begin(kTimingKeywords), std::end(kTimingKeywords));
  all.insert(all.end(), own.begin(), own.end());
  return all;
}

// --- Hex strings (UDP_CHECK). -----------------------------------------------------------------

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// keepalived's free-form hex: each word is read as pairs of digits, and an odd last digit is a
// byte of its own ("Ab12f 3" is AB 12 0F 03). With `wildcards`, an X nibble matches anything:
// its mask nibble is 0. A lone digit's high nibble is a 0 that must match (keepalived 2.2.7
// read_hex_str: "3" expects 0x03 exactly, a lone "X" expects 0x0-).
bool parse_hex(Context& ctx, const LogicalLine& line, size_t from, bool wildcards,
               std::vector<uint8_t>& bytes, std::vector<uint8_t>* mask) {
  for (size_t i = from; i < line.tokens.size(); ++i) {
    const std::string& word = line.tokens[i].text;
    for (size_t j = 0; j < word.size(); j += 2) {
      uint8_t value = 0;
      uint8_t nibble_mask = 0;
      size_t digits = std::min<size_t>(2, word.size() - j);
      for (size_t k = 0; k < digits; ++k) {
        char ch = word[j + k];
        value = static_cast<uint8_t>(value << 4);
        nibble_mask = static_cast<uint8_t>(nibble_mask << 4);
        if (wildcards && (ch == 'x' || ch == 'X')) continue;
        int v = hex_value(ch);
        if (v < 0) {
          ctx.error(line.tokens[i], "'" + line.keyword() + "': '" + word + "' is not a hex string" +
                                        (wildcards ? " (digits and X)" : ""));
          return false;
        }
        value = static_cast<uint8_t>(value | v);
        nibble_mask = static_cast<uint8_t>(nibble_mask | 0xf);
      }
      if (digits == 1) nibble_mask = static_cast<uint8_t>(nibble_mask | 0xf0);
      bytes.push_back(value);
      if (mask != nullptr) mask->push_back(nibble_mask);
    }
  }
  return true;
}

void payload(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1)) return;
  std::vector<uint8_t> bytes;
  if (parse_hex(ctx, line, 1, false, bytes, nullptr)) c.as<UdpCheck>()->payload = std::move(bytes);
}

void require_reply(Context& ctx, const LogicalLine& line, C& c) {
  auto& udp = *c.as<UdpCheck>();
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> mask;
  if (!parse_hex(ctx, line, 1, true, bytes, &mask)) return;
  udp.require_reply = true;
  udp.reply = std::move(bytes);
  udp.reply_mask = std::move(mask);
}

template <auto Member>
void reply_length(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 0, 65535)) {
    auto& udp = *c.as<UdpCheck>();  // only UDP_CHECK blocks have this keyword
    udp.*Member = static_cast<uint16_t>(*v);
  }
}

// --- HTTP_GET / SSL_GET. ----------------------------------------------------------------------

void path(Context& ctx, const LogicalLine& line, HttpUrl& url) {
  if (auto v = ctx.text(line)) url.path = std::move(*v);
}

void digest(Context& ctx, const LogicalLine& line, HttpUrl& url) {
  if (!ctx.arg_count(line, 1, 1)) return;
  const std::string& text = line.tokens[1].text;
  if (text.size() != 32) {
    ctx.error(line.tokens[1], "'digest': an MD5 digest is 32 hex digits, '" + text + "' has " +
                                  std::to_string(text.size()));
    return;
  }
  std::array<uint8_t, 16> bytes{};
  for (size_t i = 0; i < 32; i += 2) {
    int high = hex_value(text[i]);
    int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) {
      ctx.error(line.tokens[1], "'digest': '" + text + "' is not hexadecimal (at character " +
                                    std::to_string(i + (high < 0 ? 1 : 2)) + ")");
      return;
    }
    bytes[i / 2] = static_cast<uint8_t>(high << 4 | low);
  }
  url.digest = bytes;
}

// "status_code 200 301-302 400-499": codes 100..599.
void status_code(Context& ctx, const LogicalLine& line, HttpUrl& url) {
  if (!ctx.arg_count(line, 1)) return;
  std::vector<StatusRange> ranges;
  for (size_t i = 1; i < line.tokens.size(); ++i) {
    const std::string& text = line.tokens[i].text;
    auto dash = text.find('-');
    auto number = [](std::string_view s) -> int {
      if (s.size() != 3) return -1;
      int v = 0;
      for (char ch : s) {
        if (ch < '0' || ch > '9') return -1;
        v = v * 10 + (ch - '0');
      }
      return v;
    };
    int first = number(std::string_view(text).substr(0, dash));
    int last = dash == std::string::npos ? first : number(std::string_view(text).substr(dash + 1));
    if (first < 100 || last > 599 || last < first) {
      ctx.error(line.tokens[i],
                "'status_code': '" + text + "' is not a status code or range within 100-599");
      return;
    }
    ranges.push_back({static_cast<uint16_t>(first), static_cast<uint16_t>(last)});
  }
  url.status_codes.insert(url.status_codes.end(), ranges.begin(), ranges.end());
}

void url_virtualhost(Context& ctx, const LogicalLine& line, HttpUrl& url) {
  if (auto v = ctx.text(line)) url.virtualhost = std::move(*v);
}

void regex(Context& ctx, const LogicalLine& line, HttpUrl& url) {
  if (auto v = ctx.text(line)) {
    if (v->empty()) {
      ctx.error(line.tokens[1], "'regex' is empty");
      return;
    }
    url.regex = std::move(*v);
    url.regex_loc = line.tokens[1].loc;
  }
}

void regex_no_match(Context& ctx, const LogicalLine& line, HttpUrl& url) {
  if (ctx.arg_count(line, 0, 0)) url.regex_no_match = true;
}

void regex_options(Context& ctx, const LogicalLine& line, HttpUrl& url) {
  if (!ctx.arg_count(line, 1)) return;
  // The PCRE2 compile options keepalived 2.2.7 accepts.
  static constexpr std::array<std::string_view, 25> kOptions = {
      "allow_empty_class", "alt_bsux",
      "auto_callout",      "caseless",
      "dollar_endonly",    "dotall",
      "dupnames",          "extended",
      "firstline",         "match_unset_backref",
      "multiline",         "never_ucp",
      "never_utf",         "no_auto_capture",
      "no_auto_possess",   "no_dotstar_anchor",
      "no_start_optimize", "ucp",
      "ungreedy",          "utf",
      "never_backslash_c", "alt_circumflex",
      "alt_verbnames",     "use_offset_limit",
      "extended_more"};
  for (size_t i = 1; i < line.tokens.size(); ++i) {
    // extended_more is PCRE2 10.30+, not in keepalived 2.2.7's list.
    auto choice = name_choice(ctx, line, i, "regex option",
                              std::span<const std::string_view>(kOptions.data(), 24));
    if (!choice) return;
    url.regex_options.emplace_back(kOptions[*choice]);
  }
}

void regex_stack(Context& ctx, const LogicalLine& line, HttpUrl& url) {
  if (!ctx.arg_count(line, 2, 2)) return;
  auto start = ctx.integer(line, 1, 1, kU32Max);
  auto max = ctx.integer(line, 2, 1, kU32Max);
  if (!start || !max) return;
  if (*start > *max) {
    ctx.error(line.tokens[1], "'regex_stack': start " + line.tokens[1].text +
                                  " exceeds the maximum " + line.tokens[2].text);
    return;
  }
  url.regex_stack_start = static_cast<uint32_t>(*start);
  url.regex_stack_max = static_cast<uint32_t>(*max);
}

template <auto Member>
void regex_offset(Context& ctx, const LogicalLine& line, HttpUrl& url) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 0, kU32Max)) url.*Member = static_cast<uint32_t>(*v);
}

const Keyword<HttpUrl> kUrl[] = {
    {"path", path},
    {"digest", digest},
    {"status_code", status_code},
    {"virtualhost", url_virtualhost},
    {"regex", regex},
    {"regex_no_match", regex_no_match},
    {"regex_options", regex_options},
    {"regex_stack", regex_stack},
    {"regex_min_offset", regex_offset<&HttpUrl::regex_min_offset>},
    {"regex_max_offset", regex_offset<&HttpUrl::regex_max_offset>},
};

void url(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  HttpUrl u;
  u.loc = line.loc();
  if (!ctx.block(line, kUrl, u)) return;
  // A url with errors is kept (the parse fails anyway) so that no "no url" error follows.
  if (u.path.empty()) ctx.error(line.tokens[0], "'url' has no 'path'");
  if (u.regex.empty() && (u.regex_no_match || !u.regex_options.empty() || u.regex_stack_max != 0 ||
                          u.regex_min_offset || u.regex_max_offset)) {
    ctx.error(line.tokens[0], "'url' has regex parameters but no 'regex'");
  }
  if (u.regex_min_offset && u.regex_max_offset && *u.regex_min_offset > *u.regex_max_offset) {
    ctx.error(line.tokens[0], "'url': regex_min_offset " + std::to_string(*u.regex_min_offset) +
                                  " exceeds regex_max_offset " +
                                  std::to_string(*u.regex_max_offset));
  }
  if (u.status_codes.empty()) u.status_codes.push_back({200, 299});
  c.as<HttpCheck>()->urls.push_back(std::move(u));
}

void http_protocol(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 1)) return;
  // keepalived also takes "1.0c".
  std::string text = line.tokens[1].text == "1.0c" ? "1.0C" : line.tokens[1].text;
  for (size_t i = 0; i < kHttpProtocolNames.size(); ++i) {
    if (kHttpProtocolNames[i] == text) {
      c.as<HttpCheck>()->protocol = static_cast<HttpProtocol>(i);
      return;
    }
  }
  ctx.error(line.tokens[1], "'http_protocol': unknown version '" + line.tokens[1].text +
                                "' (expected one of 1.0, 1.0C, 1.1)");
}

void http_virtualhost(Context& ctx, const LogicalLine& line, C& c) {
  if (auto v = ctx.text(line)) c.as<HttpCheck>()->virtualhost = std::move(*v);
}

void enable_sni(Context& ctx, const LogicalLine& line, C& c) {
  if (auto v = ctx.flag(line)) c.as<HttpCheck>()->enable_sni = *v;
}

void fast_recovery(Context& ctx, const LogicalLine& line, C& c) {
  if (auto v = ctx.flag(line)) c.as<HttpCheck>()->fast_recovery = *v;
}

// --- SMTP_CHECK. ------------------------------------------------------------------------------

void helo_name(Context& ctx, const LogicalLine& line, C& c) {
  if (auto v = ctx.text(line)) c.as<SmtpCheck>()->helo_name = std::move(*v);
}

void host_connect_ip(Context& ctx, const LogicalLine& line, SmtpHost& h) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto a = ctx.address(line, 1)) h.connect_ip = *a;
}
void host_connect_port(Context& ctx, const LogicalLine& line, SmtpHost& h) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto p = ctx.integer(line, 1, 1, 65535)) h.connect_port = static_cast<uint16_t>(*p);
}
void host_bindto(Context& ctx, const LogicalLine& line, SmtpHost& h) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto a = ctx.address(line, 1)) h.bind_ip = *a;
}
void host_bind_port(Context& ctx, const LogicalLine& line, SmtpHost& h) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto p = ctx.integer(line, 1, 1, 65535)) h.bind_port = static_cast<uint16_t>(*p);
}
void host_bind_if(Context& ctx, const LogicalLine& line, SmtpHost& h) {
  if (auto name = interface_name(ctx, line)) h.bind_if = std::move(*name);
}
void host_fwmark(Context& ctx, const LogicalLine& line, SmtpHost& h) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 0, kU32Max)) h.fwmark = static_cast<uint32_t>(*v);
}
void host_connect_timeout(Context& ctx, const LogicalLine& line, SmtpHost& h) {
  if (auto v = timer(ctx, line, false)) h.connect_timeout = *v;
}

const Keyword<SmtpHost> kSmtpHost[] = {
    {"connect_ip", host_connect_ip},
    {"connect_port", host_connect_port},
    {"bindto", host_bindto},
    {"bind_port", host_bind_port},
    {"bind_if", host_bind_if},
    {"fwmark", host_fwmark},
    {"connect_timeout", host_connect_timeout},
    // keepalived takes the checker's timing keywords here and ignores them.
    {"retry"},
    {"delay_before_retry"},
    {"warmup"},
    {"delay_loop"},
    {"alpha"},
    {"log_all_failures"},
};

void smtp_host(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  SmtpHost host;
  host.loc = line.loc();
  if (ctx.block(line, kSmtpHost, host)) c.as<SmtpCheck>()->hosts.push_back(std::move(host));
}

// --- DNS_CHECK. -------------------------------------------------------------------------------

void dns_type(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto choice = name_choice(ctx, line, 1, "DNS query type", kDnsTypeNames, true)) {
    c.as<DnsCheck>()->type = static_cast<DnsType>(*choice);
  }
}

// keepalived 2.2.7 refuses a name with an empty label (".a", "a..b"; "." alone is the root).
// It sends labels over 63 bytes and names over 255 encoded bytes as they are, which no server
// can read, so they are accepted here with a warning: the check cannot pass.
void dns_name(Context& ctx, const LogicalLine& line, C& c) {
  auto v = ctx.text(line);
  if (!v) return;
  const std::string& name = *v;
  if (name != ".") {
    size_t encoded = 1;  // the root label
    size_t start = 0;
    while (start < name.size()) {
      size_t dot = std::min(name.find('.', start), name.size());
      size_t length = dot - start;
      if (length == 0) {
        ctx.error(line.tokens[1], "DNS_CHECK name '" + name + "' has an empty label");
        return;
      }
      if (length > 63) {
        ctx.warning(line.tokens[1], "DNS_CHECK name '" + name + "' has a label of " +
                                        std::to_string(length) +
                                        " bytes (at most 63): the check cannot pass");
      }
      encoded += 1 + length;
      start = dot + 1;
    }
    if (encoded > 255) {
      ctx.warning(line.tokens[1], "DNS_CHECK name '" + name + "' is " + std::to_string(encoded) +
                                      " bytes encoded (at most 255): the check cannot pass");
    }
  }
  c.as<DnsCheck>()->name = name;
}

// --- MISC_CHECK. ------------------------------------------------------------------------------

void misc_path(Context& ctx, const LogicalLine& line, C& c) {
  if (auto cmd = ctx.command(line)) c.as<MiscCheck>()->path = std::move(*cmd);
}

// keepalived accepts 0 and treats it as unset (the virtual server's delay_loop).
void misc_timeout(Context& ctx, const LogicalLine& line, C& c) {
  if (auto v = timer(ctx, line, true)) {
    c.as<MiscCheck>()->timeout = *v == Duration{0} ? std::nullopt : std::optional<Duration>(*v);
  }
}

void misc_dynamic(Context& ctx, const LogicalLine& line, C& c) {
  if (auto v = ctx.flag(line)) c.as<MiscCheck>()->dynamic = *v;
}

void misc_user(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 2)) return;
  c.as<MiscCheck>()->user =
      RunAs{line.tokens[1].text, line.tokens.size() > 2 ? line.tokens[2].text : ""};
}

// --- FILE_CHECK. ------------------------------------------------------------------------------

void track_file(Context& ctx, const LogicalLine& line, C& c) {
  if (auto v = ctx.text(line)) {
    auto& file = *c.as<FileCheck>();
    file.track_file = std::move(*v);
    file.track_file_loc = line.tokens[1].loc;
  }
}

void file_weight(Context& ctx, const LogicalLine& line, C& c) {
  if (!ctx.arg_count(line, 1, 2)) return;
  auto v = ctx.integer(line, 1, -int64_t{2147483647}, 2147483647);
  if (!v) return;
  auto& file = *c.as<FileCheck>();
  if (line.tokens.size() > 2) {
    if (line.tokens[2].text != "reverse") {
      ctx.error(line.tokens[2], "'weight': expected 'reverse', got '" + line.tokens[2].text + "'");
      return;
    }
    file.reverse = true;
  }
  file.weight = static_cast<int32_t>(*v);
  file.weight_set = true;
}

// vigil's `total_timeout SECONDS` (HTTP_GET / SSL_GET): one bound on the whole check. keepalived
// bounds the connect and each read on its own, so a server dripping a byte at a time holds a
// check for minutes (keepalived #1822).
void http_total_timeout(Context& ctx, const LogicalLine& line, C& c) {
  if (auto v = timer(ctx, line, false)) c.as<HttpCheck>()->total_timeout = *v;
}

// vigil's SSL_GET client identity (`client_certificate FILE`, `client_key FILE`,
// `client_key_password PW`): overrides the global SSL block's certificate, key and password for
// this checker. The files must be readable at load (check::check_tls_identities then loads them).
template <std::string ClientTls::*Member, SourceLocation ClientTls::*Loc, bool kFile>
void client_tls(Context& ctx, const LogicalLine& line, C& c) {
  auto v = ctx.text(line);
  if (!v) return;
  if constexpr (kFile) {
    if (v->empty() || ::access(v->c_str(), R_OK) != 0) {
      const int error = v->empty() ? ENOENT : errno;
      // Recorded anyway, so that the pairing check below does not report it again.
      ctx.error(line.tokens[1],
                "'" + line.tokens[0].text + "': cannot read '" + *v + "': " + std::strerror(error));
    }
  }
  auto& http = *c.as<HttpCheck>();
  if (!http.client_tls) http.client_tls.emplace();
  (*http.client_tls).*Member = std::move(*v);
  (*http.client_tls).*Loc = line.tokens[0].loc;
}

// The client identity is a certificate with its key: one without the other, or a password with
// no key, is refused at the keyword that is there.
void check_client_tls(Context& ctx, const HttpCheck& http) {
  if (!http.client_tls) return;
  const ClientTls& tls = *http.client_tls;
  if (!tls.key.empty() && tls.certificate.empty()) {
    ctx.error(tls.key_loc, "SSL_GET: 'client_key' without 'client_certificate'");
  } else if (!tls.certificate.empty() && tls.key.empty()) {
    ctx.error(tls.certificate_loc, "SSL_GET: 'client_certificate' without 'client_key'");
  } else if (tls.certificate.empty() && !tls.password.empty()) {
    ctx.error(tls.password_loc, "SSL_GET: 'client_key_password' without 'client_key'");
  }
}

// --- The checker blocks. ----------------------------------------------------------------------

std::span<const Keyword<C>> keywords_for(CheckerType type) {
  static const std::vector<Keyword<C>> kPlain = with_common({});
  static const std::vector<Keyword<C>> kHttp = with_common({
      {"http_protocol", http_protocol},
      {"virtualhost", http_virtualhost},
      {"fast_recovery", fast_recovery},
      {"enable_sni", enable_sni},
      {"url", url},
      {"total_timeout", http_total_timeout},  // vigil extension
  });
  static const std::vector<Keyword<C>> kSsl = with_common({
      {"http_protocol", http_protocol},
      {"virtualhost", http_virtualhost},
      {"fast_recovery", fast_recovery},
      {"enable_sni", enable_sni},
      {"url", url},
      {"total_timeout", http_total_timeout},  // vigil extensions from here
      {"client_certificate",
       client_tls<&ClientTls::certificate, &ClientTls::certificate_loc, true>},
      {"client_key", client_tls<&ClientTls::key, &ClientTls::key_loc, true>},
      {"client_key_password", client_tls<&ClientTls::password, &ClientTls::password_loc, false>},
  });
  static const std::vector<Keyword<C>> kSmtp = with_common({
      {"helo_name", helo_name},
      {"host", smtp_host},
  });
  static const std::vector<Keyword<C>> kDns = with_common({
      {"type", dns_type},
      {"name", dns_name},
  });
  static const std::vector<Keyword<C>> kUdp = with_common({
      {"payload", payload},
      {"require_reply", require_reply},
      {"min_reply_length", reply_length<&UdpCheck::min_reply_length>},
      {"max_reply_length", reply_length<&UdpCheck::max_reply_length>},
  });
  static const std::vector<Keyword<C>> kMisc = with_common(
      {
          {"misc_path", misc_path},
          {"misc_timeout", misc_timeout},
          {"misc_dynamic", misc_dynamic},
          {"user", misc_user},
      },
      false);
  static const Keyword<C> kFile[] = {
      {"track_file", track_file},
      {"weight", file_weight},
  };
  switch (type) {
    case CheckerType::kHttp:
      return kHttp;
    case CheckerType::kSsl:
      return kSsl;
    case CheckerType::kSmtp:
      return kSmtp;
    case CheckerType::kDns:
      return kDns;
    case CheckerType::kUdp:
      return kUdp;
    case CheckerType::kMisc:
      return kMisc;
    case CheckerType::kFile:
      return kFile;
    case CheckerType::kTcp:
    case CheckerType::kPing:
      break;
  }
  return kPlain;
}

template <CheckerType Type>
void checker_block(Context& ctx, const LogicalLine& line, RealServer& rs) {
  if (!ctx.arg_count(line, 0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  Checker& c = rs.checkers.emplace_back();
  c.type = Type;
  c.loc = line.loc();
  switch (Type) {
    case CheckerType::kHttp:
    case CheckerType::kSsl:
      c.kind = Box<HttpCheck>(HttpCheck{});
      break;
    case CheckerType::kSmtp:
      c.kind = Box<SmtpCheck>(SmtpCheck{});
      break;
    case CheckerType::kDns:
      c.kind = Box<DnsCheck>(DnsCheck{});
      break;
    case CheckerType::kUdp:
      c.kind = Box<UdpCheck>(UdpCheck{});
      break;
    case CheckerType::kMisc:
      c.kind = Box<MiscCheck>(MiscCheck{});
      break;
    case CheckerType::kFile:
      c.kind = Box<FileCheck>(FileCheck{});
      break;
    case CheckerType::kTcp:
    case CheckerType::kPing:
      break;
  }
  if (!ctx.block(line, keywords_for(Type), c)) return;
  std::string name(to_string(Type));
  if (const auto* http = c.as<HttpCheck>(); http != nullptr && http->urls.empty()) {
    ctx.error(line.tokens[0], name + " has no 'url' block");
  }
  if (const auto* http = c.as<HttpCheck>()) check_client_tls(ctx, *http);
  if (const auto* misc = c.as<MiscCheck>(); misc != nullptr && misc->path.argv.empty()) {
    ctx.error(line.tokens[0], "MISC_CHECK has no 'misc_path'");
  }
  if (const auto* file = c.as<FileCheck>(); file != nullptr && file->track_file.empty()) {
    ctx.error(line.tokens[0], "FILE_CHECK has no 'track_file'");
  }
  if (const auto* udp = c.as<UdpCheck>();
      udp != nullptr && udp->min_reply_length > udp->max_reply_length) {
    ctx.error(line.tokens[0],
              "UDP_CHECK: min_reply_length " + std::to_string(udp->min_reply_length) +
                  " exceeds max_reply_length " + std::to_string(udp->max_reply_length));
  }
}

const Keyword<RealServer> kCheckers[] = {
    {"TCP_CHECK", checker_block<CheckerType::kTcp>},
    {"HTTP_GET", checker_block<CheckerType::kHttp>},
    {"SSL_GET", checker_block<CheckerType::kSsl>},
    {"SMTP_CHECK", checker_block<CheckerType::kSmtp>},
    {"DNS_CHECK", checker_block<CheckerType::kDns>},
    {"UDP_CHECK", checker_block<CheckerType::kUdp>},
    {"PING_CHECK", checker_block<CheckerType::kPing>},
    {"MISC_CHECK", checker_block<CheckerType::kMisc>},
    {"FILE_CHECK", checker_block<CheckerType::kFile>},
};

uint32_t default_retry(CheckerType type) {
  switch (type) {
    case CheckerType::kDns:
      return 3;
    case CheckerType::kMisc:
      return 0;
    default:
      return 1;
  }
}

}  // namespace

std::span<const Keyword<RealServer>> checker_keywords() {
  return kCheckers;
}

void finish_checkers(const GlobalDefs& global, const std::vector<const TrackFile*>& track_files,
                     const VirtualServer& vs, RealServer& rs, Context& ctx) {
  for (auto& c : rs.checkers) {
    const uint16_t set = c.explicit_fields;
    if ((set & kSetConnectIp) == 0) c.connect_ip = rs.address;
    if ((set & kSetConnectPort) == 0) c.connect_port = rs.port;
    if ((set & kSetConnectTimeout) == 0) c.connect_timeout = rs.connect_timeout;
    if ((set & kSetDelayLoop) == 0) c.delay_loop = rs.delay_loop;
    if ((set & kSetAlpha) == 0) c.alpha = rs.alpha;
    if ((set & kSetLogAllFailures) == 0) c.log_all_failures = global.checker_log_all_failures;
    if ((set & kSetRetry) == 0) c.retry = rs.retry.value_or(default_retry(c.type));
    if ((set & kSetDelayBeforeRetry) == 0) {
      // keepalived's manual: delay_loop for DNS_CHECK, 3 s for HTTP_GET/SSL_GET, else 1 s.
      Duration type_default = c.type == CheckerType::kDns ? c.delay_loop
                              : c.type == CheckerType::kHttp || c.type == CheckerType::kSsl
                                  ? Duration{std::chrono::seconds(3)}
                                  : Duration{std::chrono::seconds(1)};
      c.delay_before_retry = rs.delay_before_retry.value_or(type_default);
    }
    if ((set & kSetWarmup) == 0) c.warmup = rs.warmup.value_or(c.delay_loop);

    if (c.bind_ip && c.bind_ip->family() != c.connect_ip.family()) {
      ctx.error(c.loc, describe(rs) + ": " + std::string(to_string(c.type)) + ": bindto " +
                           c.bind_ip->to_string() + " is not of the family of connect_ip " +
                           c.connect_ip.to_string());
    }
    if (auto* http = c.as<HttpCheck>()) {
      if (http->virtualhost.empty()) http->virtualhost = rs.virtualhost;
      for (auto& u : http->urls) {
        if (u.virtualhost.empty()) u.virtualhost = http->virtualhost;
      }
    }
    if (auto* file = c.as<FileCheck>(); file != nullptr && !file->track_file.empty()) {
      const auto it = std::lower_bound(
          track_files.begin(), track_files.end(), file->track_file,
          [](const TrackFile* def, const std::string& name) { return def->name < name; });
      if (it == track_files.end() || (*it)->name != file->track_file) {
        ctx.error(file->track_file_loc,
                  describe(rs) + ": FILE_CHECK: no track_file named '" + file->track_file + "'");
      } else if (!file->weight_set) {
        // keepalived 2.2.7 check_file.c: no `weight` line takes the track_file's weight and
        // reverse flag.
        file->weight = (*it)->weight;
        file->reverse = (*it)->weight_reverse;
      }
    }
    // keepalived 2.2.7 check_misc.c: an unset (or 0) misc_timeout is the *virtual server's*
    // delay_loop, whatever the real server or the checker set.
    if (auto* misc = c.as<MiscCheck>(); misc != nullptr && !misc->timeout) {
      misc->timeout = vs.delay_loop;
    }
    if (auto* smtp = c.as<SmtpCheck>()) {
      for (auto& host : smtp->hosts) {
        if (!host.connect_ip) host.connect_ip = c.connect_ip;
        if (!host.connect_port) host.connect_port = c.connect_port;
        if (!host.connect_timeout) host.connect_timeout = c.connect_timeout;
        if (!host.bind_ip) host.bind_ip = c.bind_ip;
        if (host.bind_port == 0) host.bind_port = c.bind_port;
        if (host.bind_if.empty()) host.bind_if = c.bind_if;
        if (host.fwmark == 0) host.fwmark = c.fwmark;
      }
    }
  }
}

}  // namespace lvs
}  // namespace vigil::config
