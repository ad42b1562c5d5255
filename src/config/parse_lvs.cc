// virtual_server_group, virtual_server, real_server, sorry_server and the SSL block.
// Checkers are in parse_check.cc.
//
// keepalived 2.2.7 logs and "corrects" many LVS mistakes, and its config test (-t) fails on
// them; vigil reports each one as an error with the same meaning, so that `vigild -t` and
// `keepalived -t` agree on which files are good.
#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include "config/parse_lvs_internal.h"
#include "config/sections.h"

namespace vigil::config {

namespace {

constexpr std::array<std::string_view, 3> kProtocolNames = {"TCP", "UDP", "SCTP"};
constexpr std::array<std::string_view, 14> kSchedulerNames = {
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf", "twos"};
constexpr std::array<std::string_view, 4> kMethodNames = {"NAT", "DR", "TUN", "FULLNAT"};
constexpr std::array<std::string_view, 3> kTunnelTypeNames = {"ipip", "gue", "gre"};
constexpr std::array<std::string_view, 4> kChecksumNames = {"", "nocsum", "csum", "remcsum"};

}  // namespace

std::string_view to_string(LvsProtocol protocol) {
  return kProtocolNames[static_cast<size_t>(protocol)];
}
std::string_view to_string(Scheduler scheduler) {
  return kSchedulerNames[static_cast<size_t>(scheduler)];
}
std::string_view to_string(ForwardingMethod method) {
  return kMethodNames[static_cast<size_t>(method)];
}
std::string_view to_string(TunnelType type) {
  return kTunnelTypeNames[static_cast<size_t>(type)];
}
std::string_view to_string(TunnelChecksum checksum) {
  return kChecksumNames[static_cast<size_t>(checksum)];
}

namespace lvs {
namespace {

bool equal_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string port_suffix(uint16_t port) {
  return port == 0 ? std::string() : " " + std::to_string(port);
}

}  // namespace

std::optional<size_t> name_choice(Context& ctx, const LogicalLine& line, size_t index,
                                  std::string_view what, std::span<const std::string_view> names,
                                  bool ignore_case) {
  if (index >= line.tokens.size()) {
    ctx.error(line.tokens[0], "'" + line.keyword() + "' needs " + std::string(what));
    return std::nullopt;
  }
  const Token& token = line.tokens[index];
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) continue;
    if (ignore_case ? equal_ignore_case(names[i], token.text) : names[i] == token.text) return i;
  }
  std::string message =
      "'" + line.keyword() + "': unknown " + std::string(what) + " '" + token.text + "'";
  if (auto suggestion = did_you_mean(token.text, names); !suggestion.empty()) {
    message += "; did you mean '" + std::string(suggestion) + "'?";
  }
  std::string list;
  for (auto name : names) {
    if (name.empty()) continue;
    if (!list.empty()) list += ", ";
    list += name;
  }
  ctx.error(token, message + " (expected one of " + list + ")");
  return std::nullopt;
}

std::optional<LvsScript> script(Context& ctx, const LogicalLine& line) {
  if (!ctx.arg_count(line, 1, 3)) return std::nullopt;
  LvsScript result;
  result.command.loc = line.tokens[1].loc;
  result.command.text = line.tokens[1].text;
  if (!split_command_line(result.command.text, result.command.argv) ||
      result.command.argv.empty()) {
    ctx.error(line.tokens[1],
              "'" + line.keyword() + "': cannot split command line (unterminated quote?)");
    return std::nullopt;
  }
  if (line.tokens.size() > 2) {
    result.run_as = RunAs{line.tokens[2].text, line.tokens.size() > 3 ? line.tokens[3].text : ""};
  }
  return result;
}

std::optional<Duration> timer(Context& ctx, const LogicalLine& line, bool allow_zero) {
  if (!ctx.arg_count(line, 1, 1)) return std::nullopt;
  // connect_timeout is kept by keepalived in a 32-bit count of microseconds.
  int64_t max = line.keyword() == "connect_timeout" ? int64_t{4294967295} : kMaxTimer;
  return ctx.seconds(line, 1, Duration{allow_zero ? 0 : 1}, Duration{max});
}

std::optional<Forwarding> forwarding(Context& ctx, const LogicalLine& line) {
  if (!ctx.arg_count(line, 1)) return std::nullopt;
  auto method = name_choice(ctx, line, 1, "forwarding method", kMethodNames);
  if (!method) return std::nullopt;
  Forwarding result;
  result.method = static_cast<ForwardingMethod>(*method);
  if (result.method != ForwardingMethod::kTunnel) {
    if (!ctx.arg_count(line, 1, 1)) return std::nullopt;
    return result;
  }
  size_t i = 2;
  if (i < line.tokens.size()) {
    if (line.tokens[i].text != "type" || i + 1 >= line.tokens.size()) {
      ctx.error(line.tokens[i], "'" + line.keyword() + "': expected 'type ipip|gue port N|gre'");
      return std::nullopt;
    }
    auto type = name_choice(ctx, line, i + 1, "tunnel type", kTunnelTypeNames);
    if (!type) return std::nullopt;
    result.tunnel_type = static_cast<TunnelType>(*type);
    i += 2;
    if (result.tunnel_type == TunnelType::kGue) {
      if (i + 1 >= line.tokens.size() || line.tokens[i].text != "port") {
        ctx.error(line.tokens[i - 1], "'" + line.keyword() + "': a gue tunnel needs 'port N'");
        return std::nullopt;
      }
      auto port = ctx.integer(line, i + 1, 1, 65535);
      if (!port) return std::nullopt;
      result.tunnel_port = static_cast<uint16_t>(*port);
      i += 2;
    }
    if (i < line.tokens.size()) {
      auto checksum = name_choice(ctx, line, i, "tunnel checksum option", kChecksumNames);
      if (!checksum) return std::nullopt;
      result.tunnel_checksum = static_cast<TunnelChecksum>(*checksum);
      if (result.tunnel_type == TunnelType::kIpip) {
        ctx.error(line.tokens[i], "'" + line.keyword() + "': ipip tunnels have no checksum option");
        return std::nullopt;
      }
      if (result.tunnel_type == TunnelType::kGre &&
          result.tunnel_checksum == TunnelChecksum::kRemCsum) {
        ctx.error(line.tokens[i],
                  "'" + line.keyword() + "': gre tunnels do not support remote checksum");
        return std::nullopt;
      }
      ++i;
    }
    if (i < line.tokens.size()) {
      ctx.error(line.tokens[i],
                "'" + line.keyword() + "': unexpected '" + line.tokens[i].text + "'");
      return std::nullopt;
    }
  }
  return result;
}

std::string describe(const VirtualServer& vs) {
  switch (vs.kind) {
    case VirtualServerKind::kAddress:
      return "virtual_server " + vs.address.to_string() + port_suffix(vs.port);
    case VirtualServerKind::kFwmark:
      return "virtual_server fwmark " + std::to_string(vs.fwmark);
    case VirtualServerKind::kGroup:
      return "virtual_server group " + vs.group;
  }
  return "virtual_server";
}

std::string describe(const RealServer& rs) {
  return "real_server " + rs.address.to_string() + port_suffix(rs.port);
}

namespace {

using VS = VirtualServer;
using RS = RealServer;

// "IP [PORT]" from index 1; false (with an error) if malformed.
bool address_and_port(Context& ctx, const LogicalLine& line, size_t index, IpAddress& address,
                      uint16_t& port) {
  if (!ctx.arg_count(line, index, index + 1)) return false;
  auto parsed = ctx.address(line, index);
  if (!parsed) return false;
  address = *parsed;
  if (line.tokens.size() > index + 1) {
    auto p = ctx.port(line, index + 1);
    if (!p) return false;
    port = *p;
  }
  return true;
}

// --- virtual_server keywords. ---------------------------------------------------------------

void ip_family(Context& ctx, const LogicalLine& line, VS& vs) {
  if (!ctx.arg_count(line, 1, 1)) return;
  constexpr std::array<std::string_view, 2> kFamilies = {"inet", "inet6"};
  auto choice = name_choice(ctx, line, 1, "address family", kFamilies);
  if (!choice) return;
  auto family = *choice == 0 ? AddressFamily::kIpv4 : AddressFamily::kIpv6;
  if ((vs.kind == VirtualServerKind::kAddress || vs.family_set) && vs.family != family) {
    ctx.error(line.tokens[1], describe(vs) + ": ip_family " + line.tokens[1].text +
                                  " conflicts with the virtual server's address");
    return;
  }
  vs.family = family;
  vs.family_set = true;
}

template <auto Member, bool AllowZero>
void vs_timer(Context& ctx, const LogicalLine& line, VS& vs) {
  if (auto value = timer(ctx, line, AllowZero)) vs.*Member = *value;
}

void vs_retry(Context& ctx, const LogicalLine& line, VS& vs) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 1, std::numeric_limits<uint32_t>::max())) {
    vs.retry = static_cast<uint32_t>(*v);
  }
}

void lvs_sched(Context& ctx, const LogicalLine& line, VS& vs) {
  vs.scheduler_set = true;  // even if invalid: one error, not a second "no lvs_sched"
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto choice = name_choice(ctx, line, 1, "scheduler", kSchedulerNames)) {
    vs.scheduler = static_cast<Scheduler>(*choice);
  }
}

// flag-1..3, sh-port, sh-fallback, mh-port, mh-fallback, ops.
void scheduler_flag(Context& ctx, const LogicalLine& line, VS& vs) {
  if (!ctx.arg_count(line, 0, 0)) return;
  const std::string& word = line.keyword();
  if (word == "ops") {
    vs.one_packet = true;
    return;
  }
  if (word == "flag-1") {
    vs.sched_flag_1 = true;
    return;
  }
  if (word == "flag-2") {
    vs.sched_flag_2 = true;
    return;
  }
  if (word == "flag-3") {
    vs.sched_flag_3 = true;
    return;
  }
  // As in keepalived, the scheduler must be chosen before its flags.
  auto needed = word.starts_with("sh-") ? Scheduler::kSh : Scheduler::kMh;
  if (!vs.scheduler_set || vs.scheduler != needed) {
    ctx.error(line.tokens[0], "'" + word + "' only applies to the " +
                                  std::string(to_string(needed)) + " scheduler ('lvs_sched " +
                                  std::string(to_string(needed)) + "' must come before it)");
    return;
  }
  if (word.ends_with("-fallback")) {
    vs.sched_flag_1 = true;
  } else {
    vs.sched_flag_2 = true;
  }
}

void hashed(Context& ctx, const LogicalLine& line, VS& /*vs*/) {
  ctx.error(line.tokens[0],
            "'hashed' has no effect (the kernel manages IP_VS_SVC_F_HASHED) and keepalived "
            "rejects it");
}

void vs_forwarding(Context& ctx, const LogicalLine& line, VS& vs) {
  vs.forwarding_set = true;  // even if invalid: one error, not a second "no lvs_method"
  if (auto value = forwarding(ctx, line)) {
    vs.forwarding = *value;
  }
}

void persistence_timeout(Context& ctx, const LogicalLine& line, VS& vs) {
  if (!ctx.arg_count(line, 0, 1)) return;
  if (line.tokens.size() == 1) {
    vs.persistence_timeout = 360;  // IPVS_SVC_PERSISTENT_TIMEOUT
    return;
  }
  // keepalived's bound: 31 days.
  if (auto v = ctx.integer(line, 1, 1, 2678400)) vs.persistence_timeout = static_cast<uint32_t>(*v);
}

// An IPv4 netmask (contiguous) or an IPv6 prefix length, as a prefix length.
void persistence_granularity(Context& ctx, const LogicalLine& line, VS& vs) {
  if (!ctx.arg_count(line, 1, 1)) return;
  const Token& token = line.tokens[1];
  bool known_family = vs.kind == VirtualServerKind::kAddress || vs.family_set;
  AddressFamily family = vs.kind == VirtualServerKind::kAddress ? vs.address.family() : vs.family;
  bool v4 =
      known_family ? family == AddressFamily::kIpv4 : token.text.find('.') != std::string::npos;
  if (!v4) {
    if (auto v = ctx.integer(line, 1, 1, 128)) {
      vs.persistence_granularity = static_cast<uint8_t>(*v);
      if (!known_family) {
        vs.family = AddressFamily::kIpv6;
        vs.family_set = true;
      }
    }
    return;
  }
  auto mask = IpAddress::parse(token.text);
  if (!mask || !mask->is_v4()) {
    ctx.error(token, "'persistence_granularity': '" + token.text + "' is not an IPv4 netmask");
    return;
  }
  uint32_t bits = mask->v4_host_order();
  uint32_t inverted = ~bits;
  if (bits == 0 || (inverted & (inverted + 1)) != 0) {
    ctx.error(token, "'persistence_granularity': netmask " + token.text + " is not contiguous");
    return;
  }
  uint8_t length = 0;
  while (length < 32 && (bits & (0x80000000U >> length)) != 0)
    ++length;
  vs.persistence_granularity = length;
  if (!known_family) {
    vs.family = AddressFamily::kIpv4;
    vs.family_set = true;
  }
}

void protocol(Context& ctx, const LogicalLine& line, VS& vs) {
  vs.protocol_set = true;  // even if invalid: one error, not a second "no protocol"
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto choice = name_choice(ctx, line, 1, "protocol", kProtocolNames, true)) {
    vs.protocol = static_cast<LvsProtocol>(*choice);
  }
}

void vs_smtp_alert(Context& ctx, const LogicalLine& line, VS& vs) {
  if (auto v = ctx.flag(line)) {
    vs.smtp_alert = *v;
    vs.smtp_alert_set = true;
  }
}

template <auto Member>
void vs_script(Context& ctx, const LogicalLine& line, VS& vs) {
  if (auto s = script(ctx, line)) vs.*Member = std::move(*s);
}

void sorry_server(Context& ctx, const LogicalLine& line, VS& vs) {
  SorryServer sorry;
  sorry.loc = line.loc();
  if (!address_and_port(ctx, line, 1, sorry.address, sorry.port)) return;
  vs.sorry_server = sorry;
}

void sorry_server_inhibit(Context& ctx, const LogicalLine& line, VS& vs) {
  auto value = ctx.flag(line);
  if (!value) return;
  if (!vs.sorry_server) {
    ctx.error(line.tokens[0], "'sorry_server_inhibit' must follow 'sorry_server'");
    return;
  }
  vs.sorry_server->inhibit = *value;
}

void sorry_server_lvs_method(Context& ctx, const LogicalLine& line, VS& vs) {
  auto value = forwarding(ctx, line);
  if (!value) return;
  if (!vs.sorry_server) {
    ctx.error(line.tokens[0], "'sorry_server_lvs_method' must follow 'sorry_server'");
    return;
  }
  vs.sorry_server->forwarding = *value;
  vs.sorry_server->forwarding_set = true;
}

constexpr size_t kTypicalPool = 16;

// --- real_server keywords. ------------------------------------------------------------------

template <auto Member, uint16_t Bit, bool AllowZero>
void rs_timer(Context& ctx, const LogicalLine& line, RS& rs) {
  if (auto value = timer(ctx, line, AllowZero)) {
    rs.*Member = *value;
    rs.explicit_fields |= Bit;
  }
}

void rs_retry(Context& ctx, const LogicalLine& line, RS& rs) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 1, std::numeric_limits<uint32_t>::max())) {
    rs.retry = static_cast<uint32_t>(*v);
  }
}

template <auto Member, uint16_t Bit>
void rs_flag(Context& ctx, const LogicalLine& line, RS& rs) {
  if (auto v = ctx.flag(line)) {
    rs.*Member = *v;
    rs.explicit_fields |= Bit;
  }
}

void rs_weight(Context& ctx, const LogicalLine& line, RS& rs) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 0, std::numeric_limits<int32_t>::max())) {
    rs.weight = static_cast<uint32_t>(*v);
    rs.explicit_fields |= kSetWeight;
  }
}

void rs_forwarding(Context& ctx, const LogicalLine& line, RS& rs) {
  rs.explicit_fields |= kSetForwarding;  // even if invalid: no second "no lvs_method" error
  if (auto value = forwarding(ctx, line)) rs.forwarding = *value;
}

template <auto Member>
void rs_threshold(Context& ctx, const LogicalLine& line, RS& rs) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 0, std::numeric_limits<uint32_t>::max())) {
    rs.*Member = static_cast<uint32_t>(*v);
  }
}

template <auto Member>
void rs_script(Context& ctx, const LogicalLine& line, RS& rs) {
  if (auto s = script(ctx, line)) rs.*Member = Box<LvsScript>(std::move(*s));
}

void rs_virtualhost(Context& ctx, const LogicalLine& line, RS& rs) {
  if (auto v = ctx.text(line)) {
    rs.virtualhost = std::move(*v);
    rs.explicit_fields |= kSetVirtualhost;
  }
}

const Keyword<RS> kRealServerOwn[] = {
    {"weight", rs_weight},
    {"lvs_method", rs_forwarding},
    {"uthreshold", rs_threshold<&RS::upper_threshold>},
    {"lthreshold", rs_threshold<&RS::lower_threshold>},
    {"notify_up", rs_script<&RS::notify_up>},
    {"notify_down", rs_script<&RS::notify_down>},
    {"smtp_alert", rs_flag<&RS::smtp_alert, kSetSmtpAlert>},
    {"virtualhost", rs_virtualhost},
    {"snmp_name", set_text<&RS::snmp_name>},
    {"alpha", rs_flag<&RS::alpha, kSetAlpha>},
    {"inhibit_on_failure", rs_flag<&RS::inhibit_on_failure, kSetInhibit>},
    {"connect_timeout", rs_timer<&RS::connect_timeout, kSetConnectTimeout, false>},
    {"delay_loop", rs_timer<&RS::delay_loop, kSetDelayLoop, false>},
    {"delay_before_retry", rs_timer<&RS::delay_before_retry, kSetDelayBeforeRetry, true>},
    {"warmup", rs_timer<&RS::warmup, kSetWarmup, true>},
    {"retry", rs_retry},
    {"BFD_CHECK"},
};

std::span<const Keyword<RS>> real_server_keywords() {
  static const std::vector<Keyword<RS>> all = [] {
    std::vector<Keyword<RS>> v(std::begin(kRealServerOwn), std::end(kRealServerOwn));
    auto checkers = checker_keywords();
    v.insert(v.end(), checkers.begin(), checkers.end());
    return v;
  }();
  return all;
}

void real_server(Context& ctx, const LogicalLine& line, VS& vs) {
  // Room for a typical pool at once instead of growing 1, 2, 4, 8, 16 (each growth moves every
  // real server); virtual_server() gives back what a small pool does not use.
  if (vs.real_servers.capacity() == 0) vs.real_servers.reserve(kTypicalPool);
  RS& rs = vs.real_servers.emplace_back();
  rs.loc = line.loc();
  bool ok = address_and_port(ctx, line, 1, rs.address, rs.port);
  ctx.block(line, real_server_keywords(), rs);
  if (!ok) vs.real_servers.pop_back();
}

template <auto Member, int64_t Min, int64_t Max>
void vs_integer(Context& ctx, const LogicalLine& line, VS& vs) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, Min, Max)) vs.*Member = static_cast<uint32_t>(*v);
}

constexpr int64_t kU32Max = std::numeric_limits<uint32_t>::max();
constexpr int64_t kI32Max = std::numeric_limits<int32_t>::max();

const Keyword<VS> kVirtualServer[] = {
    {"ip_family", ip_family},
    {"delay_loop", vs_timer<&VS::delay_loop, false>},
    {"connect_timeout", vs_timer<&VS::connect_timeout, false>},
    {"delay_before_retry", vs_timer<&VS::delay_before_retry, true>},
    {"warmup", vs_timer<&VS::warmup, true>},
    {"retry", vs_retry},
    {"inhibit_on_failure", set_flag<&VS::inhibit_on_failure>},
    {"lvs_sched", lvs_sched},
    {"lb_algo", lvs_sched},
    {"hashed", hashed},
    {"ops", scheduler_flag},
    {"flag-1", scheduler_flag},
    {"flag-2", scheduler_flag},
    {"flag-3", scheduler_flag},
    {"sh-port", scheduler_flag},
    {"sh-fallback", scheduler_flag},
    {"mh-port", scheduler_flag},
    {"mh-fallback", scheduler_flag},
    {"lvs_method", vs_forwarding},
    {"lb_kind", vs_forwarding},
    {"persistence_engine", set_text<&VS::persistence_engine>},
    {"persistence_timeout", persistence_timeout},
    {"persistence_granularity", persistence_granularity},
    {"protocol", protocol},
    {"ha_suspend", set_flag<&VS::ha_suspend>},
    {"smtp_alert", vs_smtp_alert},
    {"virtualhost", set_text<&VS::virtualhost>},
    {"snmp_name", set_text<&VS::snmp_name>},
    {"alpha", set_flag<&VS::alpha>},
    {"omega", set_flag<&VS::omega>},
    {"quorum", vs_integer<&VS::quorum, 1, kU32Max>},
    {"hysteresis", vs_integer<&VS::hysteresis, 0, kU32Max>},
    {"weight", vs_integer<&VS::weight, 0, kI32Max>},
    {"quorum_up", vs_script<&VS::quorum_up>},
    {"quorum_down", vs_script<&VS::quorum_down>},
    {"sorry_server", sorry_server},
    {"sorry_server_inhibit", sorry_server_inhibit},
    {"sorry_server_lvs_method", sorry_server_lvs_method},
    {"real_server", real_server},
};

// --- top level. -----------------------------------------------------------------------------

void virtual_server(Context& ctx, const LogicalLine& line, Config& config) {
  VS& vs = config.lvs.virtual_servers.emplace_back();
  vs.loc = line.loc();
  bool ok = false;
  if (line.tokens.size() > 1 && line.tokens[1].text == "group") {
    if (ctx.arg_count(line, 2, 2)) {
      vs.kind = VirtualServerKind::kGroup;
      vs.group = line.tokens[2].text;
      vs.group_loc = line.tokens[2].loc;
      ok = true;
    }
  } else if (line.tokens.size() > 1 && line.tokens[1].text == "fwmark") {
    if (ctx.arg_count(line, 2, 2)) {
      if (auto mark = ctx.integer(line, 2, 1, kU32Max)) {
        vs.kind = VirtualServerKind::kFwmark;
        vs.fwmark = static_cast<uint32_t>(*mark);
        ok = true;
      }
    }
  } else if (line.tokens.size() == 1) {
    ctx.error(line.tokens[0], "'virtual_server' needs IP [PORT], 'fwmark N' or 'group NAME'");
  } else {
    ok = address_and_port(ctx, line, 1, vs.address, vs.port);
    vs.family = vs.address.family();
  }
  ctx.block(line, kVirtualServer, vs);
  if (vs.real_servers.capacity() - vs.real_servers.size() >= kTypicalPool / 2) {
    vs.real_servers.shrink_to_fit();
  }
  if (!ok) config.lvs.virtual_servers.pop_back();
}

// One entry line of a virtual_server_group: "IP [PORT]", "RANGE [PORT]" or "fwmark N [inet|inet6]".
void group_entry(Context& ctx, const LogicalLine& line, VirtualServerGroup& group) {
  if (line.keyword() == "fwmark") {
    if (!ctx.arg_count(line, 1, 2)) return;
    auto mark = ctx.integer(line, 1, 1, kU32Max);
    if (!mark) return;
    VsgFwmark entry{static_cast<uint32_t>(*mark), std::nullopt, line.loc()};
    if (line.tokens.size() > 2) {
      constexpr std::array<std::string_view, 2> kFamilies = {"inet", "inet6"};
      auto family = name_choice(ctx, line, 2, "address family", kFamilies);
      if (!family) return;
      entry.family = *family == 0 ? AddressFamily::kIpv4 : AddressFamily::kIpv6;
    }
    group.fwmarks.push_back(entry);
    return;
  }
  if (line.tokens.size() > 2) {
    ctx.error(line.tokens[2], "virtual_server_group " + group.name +
                                  ": one 'IP|RANGE [PORT]' per line, unexpected '" +
                                  line.tokens[2].text + "'");
    return;
  }
  VsgAddressRange entry;
  entry.loc = line.loc();
  if (line.tokens.size() > 1) {
    auto port = ctx.port(line, 1);
    if (!port) return;
    entry.port = *port;
  }
  const Token& token = line.tokens[0];
  std::string_view text = token.text;
  auto bad = [&](const std::string& why) {
    ctx.error(token, "virtual_server_group " + group.name + ": '" + token.text + "' " + why);
  };
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto prefix = IpPrefix::parse(text);
    if (!prefix) return bad("is not an IP address, range or prefix");
    // The whole prefix, from its network address to its last address.
    std::array<uint8_t, 16> first{};
    std::array<uint8_t, 16> last{};
    size_t size = prefix->address.size();
    for (size_t i = 0; i < size; ++i) {
      size_t bit = i * 8;
      uint8_t keep = prefix->length >= bit + 8 ? 0xff
                     : prefix->length <= bit
                         ? 0
                         : static_cast<uint8_t>(0xff << (8 - (prefix->length - bit)));
      first[i] = prefix->address.bytes()[i] & keep;
      last[i] = first[i] | static_cast<uint8_t>(~keep);
    }
    entry.first = IpAddress::from_bytes(prefix->address.family(), first.data());
    entry.last = IpAddress::from_bytes(prefix->address.family(), last.data());
  } else if (auto dash = text.find('-'); dash != std::string_view::npos) {
    auto first = IpAddress::parse(text.substr(0, dash));
    if (!first) return bad("is not an IP address range");
    std::string_view end = text.substr(dash + 1);
    bool full = first->is_v4() ? end.find('.') != std::string_view::npos
                               : end.find(':') != std::string_view::npos;
    std::optional<IpAddress> last;
    if (full) {
      last = IpAddress::parse(end);
      if (!last || last->family() != first->family()) return bad("is not an IP address range");
    } else {
      // The last octet (IPv4, decimal) or hextet (IPv6, hexadecimal) of the range's end.
      unsigned value = 0;
      int base = first->is_v4() ? 10 : 16;
      auto [ptr, ec] = std::from_chars(end.data(), end.data() + end.size(), value, base);
      unsigned max = first->is_v4() ? 255 : 0xffff;
      if (end.empty() || ec != std::errc() || ptr != end.data() + end.size() || value > max) {
        return bad("is not an IP address range");
      }
      std::array<uint8_t, 16> bytes{};
      std::copy_n(first->bytes(), first->size(), bytes.begin());
      if (first->is_v4()) {
        bytes[3] = static_cast<uint8_t>(value);
      } else {
        bytes[14] = static_cast<uint8_t>(value >> 8);
        bytes[15] = static_cast<uint8_t>(value);
      }
      last = IpAddress::from_bytes(first->family(), bytes.data());
    }
    if (!(*first < *last)) return bad("is not a range: its end is not above its start");
    entry.first = *first;
    entry.last = *last;
  } else {
    auto address = IpAddress::parse(text);
    if (!address) return bad("is not an IP address, range or prefix");
    entry.first = entry.last = *address;
  }
  group.ranges.push_back(entry);
}

void virtual_server_group(Context& ctx, const LogicalLine& line, Config& config) {
  if (!ctx.arg_count(line, 1, 1)) {
    ctx.skip_block_if_present();
    return;
  }
  VirtualServerGroup group;
  group.name = line.tokens[1].text;
  group.loc = line.loc();
  if (!ctx.value_block(line, [&](const LogicalLine& item) { group_entry(ctx, item, group); })) {
    return;
  }
  config.lvs.groups.push_back(std::move(group));
}

// "alpn PROTO...": ALPN protocol names (RFC 7301 §3.1: 1 to 255 bytes each), offered in order.
void ssl_alpn(Context& ctx, const LogicalLine& line, SslConfig& ssl) {
  if (!ctx.arg_count(line, 1)) return;
  std::vector<std::string> names;
  for (size_t i = 1; i < line.tokens.size(); ++i) {
    const std::string& name = line.tokens[i].text;
    if (name.empty() || name.size() > 255) {
      ctx.error(line.tokens[i], "'alpn': a protocol name is 1 to 255 bytes long");
      return;
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      ctx.warning(line.tokens[i], "'alpn': '" + name + "' is listed twice");
      continue;
    }
    names.push_back(name);
  }
  ssl.alpn = std::move(names);
}

// The SSL block's `password`, `ca`, `certificate` and `key`, with the keyword's location: the
// files are loaded (and errors reported there) by check::check_tls_identities.
template <std::string SslConfig::*Member, SourceLocation SslConfig::*Loc>
void ssl_text(Context& ctx, const LogicalLine& line, SslConfig& ssl) {
  if (auto value = ctx.text(line)) {
    ssl.*Member = std::move(*value);
    ssl.*Loc = line.tokens[0].loc;
  }
}

void ssl_block(Context& ctx, const LogicalLine& line, Config& config) {
  if (!ctx.arg_count(line, 0, 0)) return;
  static const Keyword<SslConfig> kSsl[] = {
      {"password", ssl_text<&SslConfig::password, &SslConfig::password_loc>},
      {"ca", ssl_text<&SslConfig::ca, &SslConfig::ca_loc>},
      {"certificate", ssl_text<&SslConfig::certificate, &SslConfig::certificate_loc>},
      {"key", ssl_text<&SslConfig::key, &SslConfig::key_loc>},
      // vigil extensions (keepalived 2.2.7 rejects them as unknown keywords).
      {"verify_server", set_flag<&SslConfig::verify_server_certificate>},
      {"session_resumption", set_flag<&SslConfig::session_resumption>},
      {"alpn", ssl_alpn},
  };
  // As in keepalived, a second SSL block replaces the first.
  SslConfig ssl;
  ssl.loc = line.loc();
  if (ctx.block(line, kSsl, ssl)) config.lvs.ssl = std::move(ssl);
}

const Keyword<Config> kTopLevel[] = {
    {"virtual_server_group", virtual_server_group},
    {"virtual_server", virtual_server},
    {"SSL", ssl_block},
};

}  // namespace
}  // namespace lvs

std::span<const Keyword<Config>> lvs_top_level_keywords() {
  return lvs::kTopLevel;
}

}  // namespace vigil::config
