#include "lab/model.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>

namespace vigil::lab {
namespace {

constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1
constexpr size_t kMaxBody = 65536;        // a body the lab's server sends in one write

LabInstance lab_instance(const config::VrrpInstance& in, uint32_t global_down_timer) {
  LabInstance out;
  out.name = in.name;
  out.virtual_router_id = in.virtual_router_id;
  out.interface = in.interface;
  out.priority = in.priority.value_or(100);
  out.advert_int = std::chrono::duration<double>(in.advert_int).count();
  out.version = in.version.value_or(2);
  out.nopreempt = in.nopreempt;
  out.preempt_delay = std::chrono::duration<double>(in.preempt_delay).count();
  out.initial_master = in.state == config::VrrpInitialState::kMaster;
  out.down_timer_adverts = in.down_timer_adverts.value_or(global_down_timer);
  for (const auto& vip : in.virtual_addresses)
    out.vips.push_back(vip.prefix.address.to_string());
  out.unicast_src = in.source_address;
  if (!in.unicast_peers.empty()) out.unicast_src = in.source_address;
  for (const auto& peer : in.unicast_peers)
    out.unicast_peers.push_back(peer.address);
  return out;
}

// The interfaces a director's VRRP uses: each instance's interface and each VIP's dev.
std::vector<std::string> interfaces_of(const config::Config& config) {
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(name);
  };
  for (const auto& instance : config.vrrp.instances) {
    add(instance.interface);
    for (const auto& vip : instance.virtual_addresses)
      add(vip.dev);
  }
  return names;
}

// The network of `address` with `length` bits.
IpAddress network_of(const IpAddress& address, uint8_t length) {
  uint8_t bytes[16] = {};
  std::copy(address.bytes(), address.bytes() + address.size(), bytes);
  for (size_t bit = length; bit < address.size() * 8; ++bit)
    bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  return IpAddress::from_bytes(address.family(), bytes);
}

// Host number `host` (the last byte) in the network of `base`.
IpAddress host_in(const IpAddress& base, uint8_t host) {
  uint8_t bytes[16] = {};
  std::copy(base.bytes(), base.bytes() + base.size(), bytes);
  bytes[base.size() - 1] = host;
  return IpAddress::from_bytes(base.family(), bytes);
}

bool same_network(const IpAddress& a, const IpAddress& b, uint8_t length) {
  return a.family() == b.family() && network_of(a, length) == network_of(b, length);
}

}  // namespace

std::string advert_loss_rules(const LabModel& model, int director) {
  std::string rules =
      "table inet vigil_lab_loss {\n"
      "  chain out {\n"
      "    type filter hook output priority -300;\n";
  for (const LabInstance& i : model.directors[director].instances) {
    std::string family;
    if (!i.vips.empty())
      family = i.vips.front().find(':') != std::string::npos ? " meta nfproto ipv6"
                                                             : " meta nfproto ipv4";
    // @th,8,8: the advert's second byte, the virtual router id (RFC 5798 §5.2.3). Each rule's
    // numgen counts only the packets that reach it.
    rules += fmt::format(
        "    oifname \"{}\"{} meta l4proto 112 @th,8,8 {} numgen inc mod 2 0 counter drop\n",
        i.interface, family, i.virtual_router_id);
  }
  rules += "  }\n}\n";
  return rules;
}

double master_down_interval(const LabInstance& instance) {
  const double skew = (256.0 - instance.priority) * instance.advert_int / 256.0;
  return instance.down_timer_adverts * instance.advert_int + skew;
}

std::optional<Intent> intended_master(const LabModel& model, size_t instance) {
  const LabInstance& a = model.directors[0].instances.at(instance);
  const LabInstance& b = model.directors[1].instances.at(instance);
  const std::string& ida = model.directors[0].id;
  const std::string& idb = model.directors[1].id;
  if (a.initial_master != b.initial_master) {
    const int d = a.initial_master ? 0 : 1;
    return Intent{d, fmt::format("state MASTER; {} is state BACKUP", d == 0 ? idb : ida)};
  }
  if (a.priority == b.priority) return std::nullopt;
  const int d = a.priority > b.priority ? 0 : 1;
  return Intent{d, fmt::format("the higher priority, {} > {}", d == 0 ? a.priority : b.priority,
                               d == 0 ? b.priority : a.priority)};
}

ReturnRule return_rule(const LabModel& model, size_t instance, int returning) {
  const int holding = 1 - returning;
  const LabInstance& r = model.directors[returning].instances.at(instance);
  const LabInstance& h = model.directors[holding].instances.at(instance);
  const std::string& rid = model.directors[returning].id;
  const std::string& hid = model.directors[holding].id;
  const bool vrrp_lets_it = r.priority > h.priority && !r.nopreempt;
  const auto intent = intended_master(model, instance);
  ReturnRule rule;
  if (intent && intent->director == holding) {
    rule.takeover = false;
    rule.conflict = vrrp_lets_it;
    if (vrrp_lets_it)
      rule.why = fmt::format(
          "{} is the intended master of {} ({}), but {} has the higher priority ({} > {}) and no "
          "nopreempt, so it takes {} over whenever it runs: give {} nopreempt or a priority "
          "below {}'s",
          hid, r.name, intent->why, rid, r.priority, h.priority, r.name, rid, hid);
    else
      rule.why = fmt::format("{} is the intended master of {} ({})", hid, r.name, intent->why);
    return rule;
  }
  rule.takeover = vrrp_lets_it;
  if (vrrp_lets_it)
    rule.why = fmt::format("{} has the higher priority ({} > {}) and no nopreempt", rid, r.priority,
                           h.priority);
  else if (r.nopreempt)
    rule.why = fmt::format("{} has nopreempt", rid);
  else
    rule.why =
        fmt::format("{}'s priority {} is not above {}'s {}", rid, r.priority, hid, h.priority);
  return rule;
}

std::vector<std::string> config_ids_in(std::string_view text) {
  std::vector<std::string> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    if (i < line.size() && line[i] == '@') {
      ++i;
      if (i < line.size() && line[i] == '^') ++i;
      size_t start = i;
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])))
        ++i;
      std::string id(line.substr(start, i - start));
      if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    pos = end + 1;
  }
  return ids;
}

ModelResult build_model(const DirectorInput& first, const DirectorInput& second,
                        const ContentReader& content) {
  const DirectorInput* inputs[2] = {&first, &second};
  LabModel model;
  for (int d = 0; d < 2; ++d) {
    const DirectorInput& in = *inputs[d];
    const config::Config& config = *in.config;
    if (config.vrrp.instances.empty())
      return fmt::format(
          "{} (config id {}) has no vrrp_instance: the lab rehearses VRRP failover and has "
          "nothing to fail over",
          in.path, in.id);
    if (!config.global.net_namespace.empty())
      return fmt::format(
          "{} (config id {}) sets net_namespace {}: the lab runs each director in a namespace "
          "of its own; remove net_namespace for the lab",
          in.path, in.id, config.global.net_namespace);
    for (const auto& instance : config.vrrp.instances) {
      if (instance.use_vmac)
        return fmt::format(
            "{} (config id {}): vrrp_instance {} uses use_vmac, which the lab cannot model yet",
            in.path, in.id, instance.name);
    }
    for (const auto& name : interfaces_of(config)) {
      if (name.size() > kMaxInterfaceName || name == "lo")
        return fmt::format("{} (config id {}): the lab cannot create an interface named {}",
                           in.path, in.id, name);
    }
    model.directors[d].id = in.id;
    model.directors[d].config_path = in.path;
  }
  // Instances pair by name, in the first director's order.
  const auto& a = first.config->vrrp.instances;
  const auto& b = second.config->vrrp.instances;
  for (const auto& instance : a) {
    auto peer = std::find_if(b.begin(), b.end(),
                             [&](const auto& other) { return other.name == instance.name; });
    if (peer == b.end())
      return fmt::format(
          "vrrp_instance {} exists on {} only: the lab pairs the two directors' instances by "
          "name",
          instance.name, first.id);
    if (peer->interface != instance.interface)
      return fmt::format(
          "vrrp_instance {} uses interface {} on {} and {} on {}: the lab puts one segment "
          "behind each interface name",
          instance.name, instance.interface, first.id, peer->interface, second.id);
    model.directors[0].instances.push_back(
        lab_instance(instance, first.config->global.vrrp_down_timer_adverts));
    model.directors[1].instances.push_back(
        lab_instance(*peer, second.config->global.vrrp_down_timer_adverts));
  }
  for (const auto& instance : b) {
    if (std::none_of(a.begin(), a.end(), [&](const auto& o) { return o.name == instance.name; }))
      return fmt::format(
          "vrrp_instance {} exists on {} only: the lab pairs the two directors' instances by "
          "name",
          instance.name, second.id);
  }
  double longest_advert = 0;
  for (int d = 0; d < 2; ++d) {
    for (const auto& instance : model.directors[d].instances) {
      longest_advert = std::max(longest_advert, instance.advert_int);
      for (const auto& vip : instance.vips) {
        if (std::find(model.vips.begin(), model.vips.end(), vip) == model.vips.end())
          model.vips.push_back(vip);
      }
    }
  }

  model.advert_int = longest_advert;

  // Segments: one per interface name either director uses.
  std::vector<std::string> names = interfaces_of(*first.config);
  for (const auto& name : interfaces_of(*second.config)) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  for (const auto& name : names) {
    LabSegment segment;
    segment.interface = name;
    std::set<IpAddress> taken;  // VIPs and configured addresses: never given to a node
    std::vector<IpAddress> vip_addresses;
    // Each director's own address from unicast: its unicast_src_ip, else what the other
    // director lists as a peer (other than the other's own source).
    std::optional<IpAddress> configured[2];
    for (int d = 0; d < 2; ++d) {
      const config::Config& config = *inputs[d]->config;
      for (const auto& instance : config.vrrp.instances) {
        for (const auto& vip : instance.virtual_addresses) {
          const std::string& dev = vip.dev.empty() ? instance.interface : vip.dev;
          if (dev != name) continue;
          taken.insert(vip.prefix.address);
          std::string text = vip.prefix.address.to_string();
          if (std::find(segment.vips.begin(), segment.vips.end(), text) == segment.vips.end()) {
            segment.vips.push_back(text);
            vip_addresses.push_back(vip.prefix.address);
          }
        }
        if (instance.interface != name) continue;
        if (instance.source_address) {
          taken.insert(*instance.source_address);
          if (!configured[d]) configured[d] = instance.source_address;
        }
        for (const auto& peer : instance.unicast_peers)
          taken.insert(peer.address);
      }
    }
    for (int d = 0; d < 2; ++d) {
      if (configured[d]) continue;
      const config::Config& other = *inputs[1 - d]->config;
      for (const auto& instance : other.vrrp.instances) {
        if (instance.interface != name) continue;
        for (const auto& peer : instance.unicast_peers) {
          if (configured[1 - d] && peer.address == *configured[1 - d]) continue;
          configured[d] = peer.address;
          break;
        }
        if (configured[d]) break;
      }
      bool unicast = false;
      for (const auto& instance : inputs[d]->config->vrrp.instances)
        unicast = unicast || (instance.interface == name && !instance.unicast_peers.empty());
      if (unicast && !configured[d])
        return fmt::format(
            "{} (config id {}) uses unicast_peer on {} but the lab cannot tell its own address "
            "there: give unicast_src_ip",
            inputs[d]->path, inputs[d]->id, name);
    }
    // Families the segment carries: those of its VIPs and configured addresses; IPv4 when none
    // (VRRPv2 and v3 over IPv4 need an IPv4 source address).
    for (AddressFamily family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
      const uint8_t length = family == AddressFamily::kIpv4 ? 24 : 64;
      std::optional<IpAddress> base;
      for (int d = 0; d < 2 && !base; ++d) {
        if (configured[d] && configured[d]->family() == family) base = configured[d];
      }
      for (const auto& vip : vip_addresses) {
        if (!base && vip.family() == family) base = vip;
      }
      if (!base && family == AddressFamily::kIpv4 && segment.vips.empty() && !configured[0] &&
          !configured[1])
        base = IpAddress::parse("198.51.100.0");
      if (!base) continue;
      const IpAddress net = network_of(*base, length);
      // Free host numbers from the top of the range down (.250, .249, ...).
      uint8_t next = 250;
      auto free_host = [&]() -> std::optional<IpAddress> {
        for (; next > 1; --next) {
          IpAddress candidate = host_in(net, next);
          if (!taken.contains(candidate)) {
            taken.insert(candidate);
            --next;
            return candidate;
          }
        }
        return std::nullopt;
      };
      for (int d = 0; d < 2; ++d) {
        std::optional<IpAddress> address;
        if (configured[d] && configured[d]->family() == family &&
            same_network(*configured[d], net, length))
          address = configured[d];
        else
          address = free_host();
        if (!address)
          return fmt::format("no free address for the lab on {} in {}/{}", name, net.to_string(),
                             length);
        segment.director_addresses[d].push_back(IpPrefix{*address, length});
      }
      auto client = free_host();
      if (!client)
        return fmt::format("no free address for the lab's client on {} in {}/{}", name,
                           net.to_string(), length);
      segment.client_addresses.push_back(IpPrefix{*client, length});
    }
    model.segments.push_back(std::move(segment));
  }
  model.virtual_servers = playable_virtual_servers(*first.config, model.unplayable, content);
  return model;
}

namespace {

std::array<uint8_t, 16> md5_of(std::string_view data) {
  std::array<uint8_t, 16> out{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_md5(), nullptr);
  return out;
}

std::string hex(const std::array<uint8_t, 16>& bytes) {
  std::string out;
  for (uint8_t b : bytes)
    out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

std::optional<std::string> udp_check_reply(const config::UdpCheck& check) {
  // The configured reply where its mask has bits (an X nibble is 0), padded with zeros to
  // min_reply_length; without one, any datagram does.
  std::string reply = check.reply.empty() ? std::string("vigil-lab\n") : std::string();
  for (size_t i = 0; i < check.reply.size(); ++i) {
    const uint8_t mask = i < check.reply_mask.size() ? check.reply_mask[i] : 0xff;
    reply.push_back(static_cast<char>(check.reply[i] & mask));
  }
  if (reply.size() < check.min_reply_length) reply.resize(check.min_reply_length, '\0');
  if (!check.reply.empty() && reply.size() > check.max_reply_length) return std::nullopt;
  return reply;
}

std::optional<uint16_t> status_every_url_accepts(const config::HttpCheck& http) {
  // keepalived's default: any 2xx (status_code unset).
  auto accepts = [](const config::HttpUrl& url, int code) {
    if (url.status_codes.empty()) return code >= 200 && code <= 299;
    for (const auto& range : url.status_codes) {
      if (range.first <= code && code <= range.last) return true;
    }
    return false;
  };
  auto every_url = [&](int code) {
    return std::all_of(http.urls.begin(), http.urls.end(),
                       [&](const config::HttpUrl& url) { return accepts(url, code); });
  };
  // 200 first (the usual answer), then the lowest code every url accepts.
  if (every_url(200)) return 200;
  for (int code = 100; code <= 599; ++code) {
    if (every_url(code)) return static_cast<uint16_t>(code);
  }
  return std::nullopt;
}

std::vector<LabVirtualServer> playable_virtual_servers(const config::Config& config,
                                                       std::vector<std::string>& unplayable,
                                                       const ContentReader& content) {
  std::vector<LabVirtualServer> out;
  auto seconds = [](Duration d) { return std::chrono::duration<double>(d).count(); };
  for (const auto& vs : config.lvs.virtual_servers) {
    const std::string where = fmt::format("virtual_server at line {}", vs.loc.line);
    const bool udp = vs.protocol == config::LvsProtocol::kUdp;
    if (vs.kind != config::VirtualServerKind::kAddress || !vs.address.is_v4() ||
        (vs.protocol != config::LvsProtocol::kTcp && !udp)) {
      unplayable.push_back(
          where + ": the lab plays real servers of IPv4 TCP and UDP address services only");
      continue;
    }
    const char* proto = udp ? "udp" : "tcp";
    LabVirtualServer lab_vs;
    lab_vs.key = fmt::format("[{}]:{}:{}", vs.address.to_string(), proto, vs.port);
    std::string why_not;
    for (const auto& rs : vs.real_servers) {
      const uint16_t port = rs.port != 0 ? rs.port : vs.port;
      const std::string name = fmt::format("real server {}:{}", rs.address.to_string(), port);
      if (!rs.address.is_v4()) {
        why_not = name + " is not IPv4";
        break;
      }
      if (rs.checkers.size() != 1) {
        why_not =
            fmt::format("{} has {} checkers (the lab plays exactly one)", name, rs.checkers.size());
        break;
      }
      const config::Checker& c = rs.checkers.front();
      LabRealServer lab_rs{.address = rs.address.to_string(),
                           .port = port,
                           .key = fmt::format("[{}]:{}:{}", rs.address.to_string(), proto, port),
                           .checker = "TCP_CHECK",
                           .check_port = c.connect_port != 0 ? c.connect_port : port,
                           .starts_up = !(c.alpha || rs.alpha || vs.alpha)};
      lab_rs.udp = udp;
      IpAddress connect_ip = c.connect_ip;
      const bool udp_checker =
          c.type == config::CheckerType::kDns || c.type == config::CheckerType::kUdp;
      if (udp != udp_checker) {
        why_not = udp ? name + ": on a UDP service the lab plays DNS_CHECK and UDP_CHECK only"
                      : name + ": the lab plays DNS_CHECK and UDP_CHECK on UDP services only";
        break;
      }
      if (c.type == config::CheckerType::kDns) {
        lab_rs.checker = "DNS_CHECK";
      } else if (c.type == config::CheckerType::kUdp) {
        lab_rs.checker = "UDP_CHECK";
        const auto* check = c.as<config::UdpCheck>();
        const auto reply = check ? udp_check_reply(*check) : std::optional<std::string>();
        if (!reply) {
          why_not = name + ": its UDP_CHECK's reply lengths admit no reply";
          break;
        }
        lab_rs.udp_reply = *reply;
      } else if (c.type == config::CheckerType::kHttp || c.type == config::CheckerType::kSsl) {
        const bool ssl = c.type == config::CheckerType::kSsl;
        lab_rs.checker = ssl ? "SSL_GET" : "HTTP_GET";
        lab_rs.tls = ssl;
        if (ssl && config.lvs.ssl &&
            (config.lvs.ssl->verify_server() || !config.lvs.ssl->alpn.empty())) {
          why_not = name +
                    ": its SSL_GET verifies the server's certificate or wants ALPN, which the "
                    "lab's self-signed server does not give";
          break;
        }
        const auto* http = c.as<config::HttpCheck>();
        if (http == nullptr) {
          why_not = name + ": its checker has no url";
          break;
        }
        for (const auto& url : http->urls) {
          if (!url.regex.empty()) {
            why_not =
                fmt::format("{}: its {} url {} wants a regex", name, lab_rs.checker, url.path);
            break;
          }
          if (!url.digest) continue;
          if (!content) {
            why_not = fmt::format(
                "{}: its {} url {} wants a digest: give the lab the content with --rs-root DIR",
                name, lab_rs.checker, url.path);
            break;
          }
          auto body = content(url.path);
          if (!body) {
            why_not = fmt::format("{}: its {} url {} wants a digest and --rs-root has no {}", name,
                                  lab_rs.checker, url.path, url.path);
            break;
          }
          if (body->size() > kMaxBody) {
            why_not = fmt::format("{}: --rs-root's {} is over {} bytes, more than the lab serves",
                                  name, url.path, kMaxBody);
            break;
          }
          if (md5_of(*body) != *url.digest) {
            why_not = fmt::format("{}: its {} url {} wants digest {}, --rs-root's {} has {}", name,
                                  lab_rs.checker, url.path, hex(*url.digest), url.path,
                                  hex(md5_of(*body)));
            break;
          }
          lab_rs.bodies[url.path] = std::move(*body);
        }
        if (!why_not.empty()) break;
        const auto status = status_every_url_accepts(*http);
        if (!status) {
          why_not = fmt::format("{}: its {} urls accept no status in common", name, lab_rs.checker);
          break;
        }
        lab_rs.http_status = *status;
      } else if (c.type == config::CheckerType::kSmtp) {
        lab_rs.checker = "SMTP_CHECK";
        const auto* smtp = c.as<config::SmtpCheck>();
        if (smtp != nullptr && smtp->hosts.size() > 1) {
          why_not = fmt::format("{}: its SMTP_CHECK has {} hosts (the lab plays one)", name,
                                smtp->hosts.size());
          break;
        }
        if (smtp != nullptr && smtp->hosts.size() == 1) {
          const auto& host = smtp->hosts.front();
          if (host.connect_ip) connect_ip = *host.connect_ip;
          if (host.connect_port) lab_rs.check_port = *host.connect_port;
        }
      } else if (c.type != config::CheckerType::kTcp) {
        why_not = name +
                  ": the lab plays TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK and "
                  "UDP_CHECK only";
        break;
      }
      if (lab_rs.check_port == 0) lab_rs.check_port = port;
      if (!connect_ip.is_unspecified() && connect_ip != rs.address) {
        why_not = name + ": its checker connects to another address";
        break;
      }
      // Defaults as keepalived's: the checker's, else the real server's, else the VS's.
      auto pick = [&](Duration checker, Duration real, Duration virt) {
        return seconds(checker.count() != 0 ? checker : real.count() != 0 ? real : virt);
      };
      const double delay_loop = pick(c.delay_loop, rs.delay_loop, vs.delay_loop);
      const double timeout = pick(c.connect_timeout, rs.connect_timeout, vs.connect_timeout);
      const double retry_delay = c.delay_before_retry.count() != 0
                                     ? seconds(c.delay_before_retry)
                                     : (lab_rs.checker == "TCP_CHECK" ? 1.0 : 3.0);
      const uint32_t retry = c.retry != 0 ? c.retry : rs.retry.value_or(vs.retry.value_or(1));
      const double warmup = c.warmup.count() != 0 ? seconds(c.warmup) : delay_loop;
      lab_vs.check_cycle = std::max(
          lab_vs.check_cycle, warmup + (retry + 1) * timeout + retry * retry_delay + delay_loop);
      lab_vs.real_servers.push_back(std::move(lab_rs));
    }
    if (why_not.empty() && lab_vs.real_servers.empty()) why_not = "it has no real server";
    if (!why_not.empty()) {
      unplayable.push_back(where + " (" + lab_vs.key + "): " + why_not);
      continue;
    }
    out.push_back(std::move(lab_vs));
  }
  return out;
}

}  // namespace vigil::lab
