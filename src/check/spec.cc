#include "check/spec.h"

#include <fmt/format.h>

#include "config/model.h"

namespace vigil::check {
namespace {

std::string_view short_name(CheckerType type) {
  switch (type) {
    case CheckerType::kTcp:
      return "TCP";
    case CheckerType::kHttp:
      return "HTTP";
    case CheckerType::kSsl:
      return "SSL";
    case CheckerType::kSmtp:
      return "SMTP";
    case CheckerType::kDns:
      return "DNS";
    case CheckerType::kUdp:
      return "UDP";
    case CheckerType::kPing:
      return "PING";
    case CheckerType::kMisc:
      return "MISC";
    case CheckerType::kFile:
      return "FILE";
  }
  return "?";
}

std::string_view protocol_name(config::LvsProtocol protocol) {
  switch (protocol) {
    case config::LvsProtocol::kTcp:
      return "tcp";
    case config::LvsProtocol::kUdp:
      return "udp";
    case config::LvsProtocol::kSctp:
      return "sctp";
  }
  return "?";
}

}  // namespace

bool matches(const CheckerIdentity& old_checker, const CheckerIdentity& new_checker) {
  // checkers.md §1.4: FILE_CHECK has no compare(); a new one never takes an old one's state.
  if (new_checker.type == CheckerType::kFile) return false;
  return old_checker == new_checker;
}

std::string format_real_server(const RealServerKey& key, const std::string& protocol) {
  return fmt::format("[{}]:{}:{}", key.address.to_string(), protocol, key.port);
}

ConnectionIdentity connection_of(const config::Checker& c) {
  return {
      .connect_ip = c.connect_ip,
      .connect_port = c.connect_port,
      .bind_ip = c.bind_ip,
      .bind_port = c.bind_port,
      .bind_if = c.bind_if,
      .connect_timeout = c.connect_timeout,
      .fwmark = c.fwmark,
  };
}

CheckerSpec translate(const config::Checker& c, const config::RealServer& rs) {
  CheckerSpec spec{
      .identity = {.type = c.type},
      .delay_loop = c.delay_loop,
      .delay_before_retry = c.delay_before_retry,
      .warmup = c.warmup,
      .retry = c.retry,
      .alpha = c.alpha,
      .log_all_failures = c.log_all_failures,
      .real_server_weight = rs.weight,
      .rise = c.rise,
      .interval_jitter_percent = c.interval_jitter,
  };
  CheckerIdentity& id = spec.identity;
  if (c.type != CheckerType::kMisc && c.type != CheckerType::kFile)
    id.connection = connection_of(c);
  if (const auto* http = c.as<config::HttpCheck>()) {
    HttpIdentity h{.virtualhost = http->virtualhost};
    h.urls.reserve(http->urls.size());
    for (const auto& u : http->urls) {
      h.urls.push_back({.path = u.path,
                        .digest = u.digest,
                        .status_codes = u.status_codes,
                        .virtualhost = u.virtualhost,
                        .regex = u.regex,
                        .regex_no_match = u.regex_no_match,
                        .regex_options = u.regex_options,
                        .regex_min_offset = u.regex_min_offset,
                        .regex_max_offset = u.regex_max_offset});
    }
    id.detail = std::move(h);
    spec.fast_recovery = http->fast_recovery;
  } else if (const auto* smtp = c.as<config::SmtpCheck>()) {
    id.detail = SmtpIdentity{.helo_name = smtp->helo_name};
  } else if (const auto* dns = c.as<config::DnsCheck>()) {
    id.detail = DnsIdentity{.type = dns->type, .name = dns->name};
  } else if (const auto* misc = c.as<config::MiscCheck>()) {
    id.detail = MiscIdentity{.argv = misc->path.argv, .dynamic = misc->dynamic};
  } else if (const auto* file = c.as<config::FileCheck>()) {
    spec.file_weight = file->weight;
    spec.file_reverse = file->reverse;
  }
  switch (c.type) {
    case CheckerType::kMisc:
      spec.label =
          fmt::format("MISC {} {}", host_port(rs.address, rs.port),
                      c.as<config::MiscCheck>() != nullptr ? c.as<config::MiscCheck>()->path.text
                                                           : std::string());
      break;
    case CheckerType::kFile:
      spec.label =
          fmt::format("FILE {} {}", host_port(rs.address, rs.port),
                      c.as<config::FileCheck>() != nullptr ? c.as<config::FileCheck>()->track_file
                                                           : std::string());
      break;
    default:
      spec.label =
          fmt::format("{} {}", short_name(c.type), host_port(c.connect_ip, c.connect_port));
      break;
  }
  return spec;
}

VirtualServerSpec translate(const config::VirtualServer& vs) {
  VirtualServerSpec spec{
      .key = {.kind = vs.kind,
              .family = vs.family,
              .protocol = vs.kind == config::VirtualServerKind::kFwmark ? config::LvsProtocol::kTcp
                                                                        : vs.protocol,
              .address = vs.kind == config::VirtualServerKind::kAddress ? vs.address : IpAddress{},
              .port = vs.kind == config::VirtualServerKind::kFwmark ? uint16_t{0} : vs.port,
              .fwmark = vs.kind == config::VirtualServerKind::kFwmark ? vs.fwmark : 0,
              .group = vs.kind == config::VirtualServerKind::kGroup ? vs.group : std::string()},
      .quorum = vs.quorum,
      .hysteresis = vs.hysteresis,
      .omega = vs.omega,
      .quorum_up = vs.quorum_up,
      .quorum_down = vs.quorum_down,
  };
  // [unverified] keepalived's service_type of a fwmark service prints as "none".
  spec.protocol_name = vs.kind == config::VirtualServerKind::kFwmark
                           ? std::string("none")
                           : std::string(protocol_name(vs.protocol));
  switch (vs.kind) {
    case config::VirtualServerKind::kGroup:
      spec.label = fmt::format("[{}]:{}", vs.group, vs.port);
      break;
    case config::VirtualServerKind::kFwmark:
      spec.label = fmt::format("FWM {}", vs.fwmark);
      break;
    case config::VirtualServerKind::kAddress:
      spec.label = format_real_server({vs.address, vs.port}, spec.protocol_name);
      break;
  }
  if (vs.sorry_server) {
    spec.sorry_server = SorryServerSpec{
        .key = {vs.sorry_server->address, vs.sorry_server->port},
        .inhibit = vs.sorry_server->inhibit,
    };
  }
  spec.real_servers.reserve(vs.real_servers.size());
  for (const auto& rs : vs.real_servers) {
    RealServerSpec r{
        .key = {rs.address, rs.port},
        .weight = rs.weight,
        .inhibit_on_failure = rs.inhibit_on_failure,
        .alpha = rs.alpha,
        .notify_up = rs.notify_up,
        .notify_down = rs.notify_down,
    };
    r.checkers.reserve(rs.checkers.size());
    for (const auto& c : rs.checkers)
      r.checkers.push_back(translate(c, rs));
    spec.real_servers.push_back(std::move(r));
  }
  return spec;
}

std::vector<VirtualServerSpec> translate(const config::Config& config) {
  std::vector<VirtualServerSpec> out;
  out.reserve(config.lvs.virtual_servers.size());
  for (const auto& vs : config.lvs.virtual_servers)
    out.push_back(translate(vs));
  // rs_init_notifies is not in vigil's global model yet: keepalived's default (off) holds.
  return out;
}

std::vector<std::string> reduce_quorum(VirtualServerSpec& vs) {
  std::vector<std::string> warnings;
  int64_t weight_sum = 0;
  for (const auto& rs : vs.real_servers)
    weight_sum += rs.weight;
  if (vs.quorum > weight_sum) {
    warnings.push_back(fmt::format(
        "quorum {} for {} exceeds total weight of real servers {}, reducing quorum to {}",
        vs.quorum, vs.label, weight_sum, weight_sum));
    vs.quorum = static_cast<uint32_t>(weight_sum);
  }
  if (vs.hysteresis >= vs.quorum && vs.hysteresis > 0) {
    const uint32_t reduced = vs.quorum == 0 ? 0 : vs.quorum - 1;
    warnings.push_back(
        fmt::format("virtual server {}: hysteresis {} >= quorum {}; setting "
                    "hysteresis to {}",
                    vs.label, vs.hysteresis, vs.quorum, reduced));
    vs.hysteresis = reduced;
  }
  return warnings;
}

}  // namespace vigil::check
