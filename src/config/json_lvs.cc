// JSON dump of the LVS section: keepalived's keywords as keys, every default resolved.
#include <cstdio>

#include "config/json_sections.h"

namespace vigil::config {
namespace {

std::string_view family_name(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? "inet" : "inet6";
}

Json hex_json(const std::vector<uint8_t>& bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  char buffer[3];
  for (uint8_t b : bytes) {
    std::snprintf(buffer, sizeof buffer, "%02x", b);
    out += buffer;
  }
  return out;
}

Json script_json(const LvsScript& s) {
  Json j = command_json(s.command);
  j["user"] = s.run_as ? Json(s.run_as->user) : Json(nullptr);
  j["group"] = s.run_as ? Json(s.run_as->group) : Json(nullptr);
  return j;
}

Json forwarding_json(const Forwarding& f) {
  Json j{{"method", to_string(f.method)}};
  if (f.method == ForwardingMethod::kTunnel) {
    j["type"] = to_string(f.tunnel_type);
    j["port"] = f.tunnel_type == TunnelType::kGue ? Json(f.tunnel_port) : Json(nullptr);
    j["checksum"] = f.tunnel_checksum == TunnelChecksum::kNone ? Json(nullptr)
                                                               : Json(to_string(f.tunnel_checksum));
  }
  return j;
}

Json url_json(const HttpUrl& u) {
  Json j;
  j["path"] = u.path;
  if (u.digest) {
    j["digest"] = hex_json(std::vector<uint8_t>(u.digest->begin(), u.digest->end()));
  } else {
    j["digest"] = nullptr;
  }
  Json codes = Json::array();
  for (const auto& r : u.status_codes) {
    codes.push_back(r.first == r.last ? std::to_string(r.first)
                                      : std::to_string(r.first) + "-" + std::to_string(r.last));
  }
  j["status_code"] = codes;
  j["virtualhost"] = u.virtualhost;
  j["regex"] = u.regex.empty() ? Json(nullptr) : Json(u.regex);
  j["regex_no_match"] = u.regex_no_match;
  j["regex_options"] = u.regex_options;
  j["regex_stack"] =
      u.regex_stack_max == 0 ? Json(nullptr) : Json{u.regex_stack_start, u.regex_stack_max};
  auto number = [](uint32_t v) { return v; };
  j["regex_min_offset"] = optional_json(u.regex_min_offset, number);
  j["regex_max_offset"] = optional_json(u.regex_max_offset, number);
  return j;
}

Json checker_json(const Checker& c) {
  Json j;
  j["type"] = to_string(c.type);
  if (c.type != CheckerType::kFile) {
    if (c.type != CheckerType::kMisc) {
      j["connect_ip"] = address_json(c.connect_ip);
      j["connect_port"] = c.connect_port;
      j["bindto"] = optional_json(c.bind_ip, address_json);
      j["bind_port"] = c.bind_port == 0 ? Json(nullptr) : Json(c.bind_port);
      j["bind_if"] = c.bind_if.empty() ? Json(nullptr) : Json(c.bind_if);
      j["fwmark"] = c.fwmark;
      j["connect_timeout"] = seconds_json(c.connect_timeout);
    }
    j["retry"] = c.retry;
    j["delay_before_retry"] = seconds_json(c.delay_before_retry);
    j["warmup"] = seconds_json(c.warmup);
    j["delay_loop"] = seconds_json(c.delay_loop);
    j["alpha"] = c.alpha;
    j["log_all_failures"] = c.log_all_failures;
    j["rise"] = c.rise;
    j["interval_jitter"] = c.interval_jitter;
  }
  if (const auto* http = c.as<HttpCheck>()) {
    j["http_protocol"] = to_string(http->protocol);
    j["virtualhost"] = http->virtualhost;
    if (c.type == CheckerType::kSsl) {
      j["enable_sni"] = http->enable_sni;
      // vigil's per-checker client identity; the password only says whether one is set.
      j["client_certificate"] =
          http->client_tls ? Json(http->client_tls->certificate) : Json(nullptr);
      j["client_key"] = http->client_tls ? Json(http->client_tls->key) : Json(nullptr);
      j["client_key_password"] =
          http->client_tls && !http->client_tls->password.empty() ? Json("(set)") : Json(nullptr);
    }
    j["fast_recovery"] = http->fast_recovery;
    j["total_timeout"] =
        http->total_timeout == Duration::zero() ? Json(nullptr) : seconds_json(http->total_timeout);
    Json urls = Json::array();
    for (const auto& u : http->urls)
      urls.push_back(url_json(u));
    j["url"] = urls;
  } else if (const auto* smtp = c.as<SmtpCheck>()) {
    j["helo_name"] = smtp->helo_name;
    Json hosts = Json::array();
    for (const auto& h : smtp->hosts) {
      Json host;
      host["connect_ip"] = optional_json(h.connect_ip, address_json);
      host["connect_port"] = optional_json(h.connect_port, [](uint16_t v) { return v; });
      host["bindto"] = optional_json(h.bind_ip, address_json);
      host["bind_port"] = h.bind_port == 0 ? Json(nullptr) : Json(h.bind_port);
      host["bind_if"] = h.bind_if.empty() ? Json(nullptr) : Json(h.bind_if);
      host["fwmark"] = h.fwmark;
      host["connect_timeout"] = optional_json(h.connect_timeout, seconds_json);
      hosts.push_back(std::move(host));
    }
    j["host"] = hosts;
  } else if (const auto* dns = c.as<DnsCheck>()) {
    j["dns_type"] = to_string(dns->type);
    j["name"] = dns->name;
  } else if (const auto* udp = c.as<UdpCheck>()) {
    j["payload"] = udp->payload.empty() ? Json(nullptr) : hex_json(udp->payload);
    j["require_reply"] = udp->require_reply;
    j["reply"] = udp->reply.empty() ? Json(nullptr) : hex_json(udp->reply);
    j["reply_mask"] = udp->reply.empty() ? Json(nullptr) : hex_json(udp->reply_mask);
    j["min_reply_length"] = udp->min_reply_length;
    j["max_reply_length"] = udp->max_reply_length;
  } else if (const auto* misc = c.as<MiscCheck>()) {
    j["misc_path"] = command_json(misc->path);
    j["misc_timeout"] = optional_json(misc->timeout, seconds_json);
    j["misc_dynamic"] = misc->dynamic;
    j["user"] = misc->user ? Json(misc->user->user) : Json(nullptr);
    j["group"] = misc->user ? Json(misc->user->group) : Json(nullptr);
  } else if (const auto* file = c.as<FileCheck>()) {
    j["track_file"] = file->track_file;
    j["weight"] = file->weight;
    j["reverse"] = file->reverse;
  }
  return j;
}

Json real_server_json(const RealServer& rs) {
  Json j;
  j["address"] = address_json(rs.address);
  j["port"] = rs.port;
  j["weight"] = rs.weight;
  j["lvs_method"] = forwarding_json(rs.forwarding);
  j["uthreshold"] = rs.upper_threshold;
  j["lthreshold"] = rs.lower_threshold;
  j["inhibit_on_failure"] = rs.inhibit_on_failure;
  j["alpha"] = rs.alpha;
  j["smtp_alert"] = rs.smtp_alert;
  j["virtualhost"] = rs.virtualhost;
  j["snmp_name"] = rs.snmp_name;
  j["notify_up"] = rs.notify_up ? script_json(*rs.notify_up) : Json(nullptr);
  j["notify_down"] = rs.notify_down ? script_json(*rs.notify_down) : Json(nullptr);
  Json checkers = Json::array();
  for (const auto& c : rs.checkers)
    checkers.push_back(checker_json(c));
  j["checkers"] = checkers;
  return j;
}

Json virtual_server_json(const VirtualServer& vs) {
  Json j;
  switch (vs.kind) {
    case VirtualServerKind::kAddress:
      j["address"] = address_json(vs.address);
      j["port"] = vs.port;
      break;
    case VirtualServerKind::kFwmark:
      j["fwmark"] = vs.fwmark;
      break;
    case VirtualServerKind::kGroup:
      j["group"] = vs.group;
      break;
  }
  j["ip_family"] = family_name(vs.family);
  bool fwmark_only = vs.kind == VirtualServerKind::kFwmark;
  j["protocol"] = fwmark_only ? Json(nullptr) : Json(to_string(vs.protocol));
  j["lvs_sched"] = to_string(vs.scheduler);
  Json flags = Json::array();
  bool sh = vs.scheduler == Scheduler::kSh;
  bool mh = vs.scheduler == Scheduler::kMh;
  if (vs.sched_flag_1) flags.push_back(sh ? "sh-fallback" : mh ? "mh-fallback" : "flag-1");
  if (vs.sched_flag_2) flags.push_back(sh ? "sh-port" : mh ? "mh-port" : "flag-2");
  if (vs.sched_flag_3) flags.push_back("flag-3");
  j["scheduler_flags"] = flags;
  j["ops"] = vs.one_packet;
  j["lvs_method"] = forwarding_json(vs.forwarding);
  j["persistence_timeout"] = vs.persistence_timeout;
  j["persistence_granularity"] =
      optional_json(vs.persistence_granularity, [](uint8_t v) { return v; });
  j["persistence_engine"] =
      vs.persistence_engine.empty() ? Json(nullptr) : Json(vs.persistence_engine);
  j["ha_suspend"] = vs.ha_suspend;
  j["alpha"] = vs.alpha;
  j["omega"] = vs.omega;
  j["inhibit_on_failure"] = vs.inhibit_on_failure;
  j["smtp_alert"] = vs.smtp_alert;
  j["quorum"] = vs.quorum;
  j["hysteresis"] = vs.hysteresis;
  j["weight"] = vs.weight;
  j["virtualhost"] = vs.virtualhost;
  j["snmp_name"] = vs.snmp_name;
  j["quorum_up"] = optional_json(vs.quorum_up, script_json);
  j["quorum_down"] = optional_json(vs.quorum_down, script_json);
  j["delay_loop"] = seconds_json(vs.delay_loop);
  j["connect_timeout"] = seconds_json(vs.connect_timeout);
  j["delay_before_retry"] = optional_json(vs.delay_before_retry, seconds_json);
  j["warmup"] = optional_json(vs.warmup, seconds_json);
  j["retry"] = optional_json(vs.retry, [](uint32_t v) { return v; });
  j["sorry_server"] = optional_json(vs.sorry_server, [](const SorryServer& s) {
    return Json{{"address", address_json(s.address)},
                {"port", s.port},
                {"lvs_method", forwarding_json(s.forwarding)},
                {"inhibit", s.inhibit}};
  });
  Json servers = Json::array();
  for (const auto& rs : vs.real_servers)
    servers.push_back(real_server_json(rs));
  j["real_servers"] = servers;
  return j;
}

Json group_json(const VirtualServerGroup& g) {
  Json ranges = Json::array();
  for (const auto& r : g.ranges) {
    ranges.push_back(
        Json{{"first", address_json(r.first)}, {"last", address_json(r.last)}, {"port", r.port}});
  }
  Json fwmarks = Json::array();
  for (const auto& f : g.fwmarks) {
    fwmarks.push_back(Json{{"fwmark", f.mark},
                           {"ip_family", f.family ? Json(family_name(*f.family)) : Json(nullptr)}});
  }
  return Json{{"name", g.name}, {"addresses", ranges}, {"fwmarks", fwmarks}};
}

}  // namespace

Json lvs_to_json(const LvsSection& lvs) {
  Json j;
  Json groups = Json::array();
  for (const auto& g : lvs.groups)
    groups.push_back(group_json(g));
  j["virtual_server_group"] = groups;
  Json servers = Json::array();
  for (const auto& vs : lvs.virtual_servers)
    servers.push_back(virtual_server_json(vs));
  j["virtual_server"] = servers;
  j["SSL"] = optional_json(lvs.ssl, [](const SslConfig& s) {
    // The password is a secret: the dump says only whether one is set.
    return Json{{"password", s.password.empty() ? Json(nullptr) : Json("(set)")},
                {"ca", s.ca},
                {"certificate", s.certificate},
                {"key", s.key},
                {"verify_server", s.verify_server_certificate},
                {"session_resumption", s.session_resumption},
                {"alpn", s.alpn}};
  });
  return j;
}

}  // namespace vigil::config
