#include "check/engine.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "check/reload.h"
#include "check/udp.h"
#include "common/log.h"
#include "common/overloaded.h"
#include "config/model.h"

namespace vigil::check {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("check");
  return *instance;
}

const std::string& first_non_empty(std::initializer_list<const std::string*> names) {
  static const std::string kNone;
  for (const auto* name : names)
    if (!name->empty()) return *name;
  return kNone;
}

Result<std::vector<ProbeRequest>> http_requests(const config::Config& config,
                                                const config::VirtualServer& vs,
                                                const config::RealServer& rs,
                                                const config::Checker& c,
                                                const config::HttpCheck& http) {
  std::vector<ProbeRequest> out;
  out.reserve(http.urls.size());
  for (const auto& url : http.urls) {
    auto expect = HttpUrlCheck::make(url);
    if (!expect) return Error{fmt::format("url {}: {}", url.path, expect.error().message)};
    const HttpRequestTarget target{
        .path = url.path,
        .protocol = http.protocol,
        .url_virtualhost = url.virtualhost,
        .checker_virtualhost = http.virtualhost,
        .real_server_virtualhost = rs.virtualhost,
        .virtual_server_virtualhost = vs.virtualhost,
        .address = c.connect_ip,
        .port = c.connect_port,
    };
    HttpProbe probe{
        .connection = connection_of(c),
        .request = http_request(target),
        .expect = std::make_shared<const HttpUrlCheck>(std::move(*expect)),
        .total_deadline = http.total_timeout,
        .strict_framing = config.global.checker_strict_framing,
    };
    if (c.type == CheckerType::kSsl) {
      TlsClientSettings tls;
      if (const auto& ssl = config.lvs.ssl) {
        tls.ca = ssl->ca;
        tls.certificate = ssl->certificate;
        tls.key = ssl->key;
        tls.password = ssl->password;
        tls.verify = ssl->verify_server();
        tls.resume_sessions = ssl->session_resumption;
        tls.alpn = ssl->alpn;
      }
      // vigil's per-checker client identity replaces the global one.
      if (http.client_tls) {
        tls.certificate = http.client_tls->certificate;
        tls.key = http.client_tls->key;
        tls.password = http.client_tls->password;
      }
      probe.tls = std::move(tls);
      // checkers.md "TLS": SNI comes from the url, the checker or the virtual server's
      // virtualhost, never the real server's.
      if (http.enable_sni)
        probe.sni = first_non_empty({&url.virtualhost, &http.virtualhost, &vs.virtualhost});
      const std::string& vhost =
          first_non_empty({&url.virtualhost, &http.virtualhost, &rs.virtualhost, &vs.virtualhost});
      probe.verify_name = vhost.empty() ? c.connect_ip.to_string() : vhost;
    }
    out.emplace_back(std::move(probe));
  }
  return out;
}

// keepalived 2.2.7 smtp_check_end_handler: an SMTP_CHECK block that sets a connection option
// itself keeps that connection and each `host {}` block becomes one more checker after it;
// without one, the first host takes the checker's place.
bool sets_connection(const config::Checker& c) {
  constexpr uint16_t kConnectionFields =
      config::kSetConnectIp | config::kSetConnectPort | config::kSetConnectTimeout;
  return (c.explicit_fields & kConnectionFields) != 0 || c.bind_ip || c.bind_port != 0 ||
         !c.bind_if.empty() || c.fwmark != 0;
}

// The checker of one `host {}` block: the SMTP_CHECK with the host's connection (the parser
// already filled what the host left out) and no hosts of its own.
config::Checker host_checker(const config::Checker& c, const config::SmtpHost& host) {
  config::Checker out = c;
  out.connect_ip = host.connect_ip.value_or(c.connect_ip);
  out.connect_port = host.connect_port.value_or(c.connect_port);
  out.bind_ip = host.bind_ip;
  out.bind_port = host.bind_port;
  out.bind_if = host.bind_if;
  out.fwmark = host.fwmark;
  out.connect_timeout = host.connect_timeout.value_or(c.connect_timeout);
  out.as<config::SmtpCheck>()->hosts.clear();
  return out;
}

bool has_smtp_hosts(const config::Checker& c) {
  const auto* smtp = c.as<config::SmtpCheck>();
  return smtp != nullptr && !smtp->hosts.empty();
}

// The virtual server with one SMTP_CHECK per connection, in keepalived's order (the checker, then
// its hosts), so that each host is a checker of its own (its own state, retries and reload
// identity) and config and spec checkers stay one to one. Null when none of its SMTP_CHECKs has
// hosts. Per virtual server, so that only those blocks are copied, not the whole configuration.
std::unique_ptr<const config::VirtualServer> one_checker_per_smtp_host(
    const config::VirtualServer& vs) {
  bool any = false;
  for (const auto& rs : vs.real_servers)
    for (const auto& c : rs.checkers)
      any = any || has_smtp_hosts(c);
  if (!any) return nullptr;
  auto out = std::make_unique<config::VirtualServer>(vs);
  for (auto& rs : out->real_servers) {
    std::vector<config::Checker> checkers;
    checkers.reserve(rs.checkers.size());
    for (auto& c : rs.checkers) {
      if (!has_smtp_hosts(c)) {
        checkers.push_back(std::move(c));
        continue;
      }
      const std::vector<config::SmtpHost> hosts = c.as<config::SmtpCheck>()->hosts;
      size_t next = 0;
      if (sets_connection(c)) {
        checkers.push_back(c);
        checkers.back().as<config::SmtpCheck>()->hosts.clear();
      } else {
        checkers.push_back(host_checker(c, hosts[next++]));
      }
      for (; next < hosts.size(); ++next)
        checkers.push_back(host_checker(c, hosts[next]));
    }
    rs.checkers = std::move(checkers);
  }
  return out;
}

// FILE_CHECK's tracked path (its track_file block's `file`); empty for the other types.
std::string tracked_file(const config::Config& config, const config::Checker& c) {
  const auto* file = c.as<config::FileCheck>();
  if (c.type != CheckerType::kFile || file == nullptr) return {};
  for (const auto& def : config.vrrp.track_files)
    if (def.name == file->track_file) return def.path;
  // The parser refuses a FILE_CHECK naming no track_file (finish_checkers).
  assert(false && "FILE_CHECK names an unknown track_file");
  return {};
}

// TCP_CHECK / PING_CHECK: the probe is the spec's connection, so none is kept per checker (393
// bytes each with 4,000 checkers: docs/performance.md).
ProbeRequest deferred_request(const CheckerSpec& spec) {
  assert(spec.identity.connection);
  if (spec.identity.type == CheckerType::kPing) return PingProbe{*spec.identity.connection};
  assert(spec.identity.type == CheckerType::kTcp);
  return TcpProbe{*spec.identity.connection};
}

// checker_share_probes: the probe requests of two checkers ask for exactly the same probes. An
// HTTP_GET / SSL_GET's judge (`expect`) is compared through the configured urls by the caller.
bool same_request(const ProbeRequest& a, const ProbeRequest& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      Overloaded{
          [&](const TcpProbe& x) { return x.connection == std::get<TcpProbe>(b).connection; },
          [&](const HttpProbe& x) {
            const auto& y = std::get<HttpProbe>(b);
            return x.connection == y.connection && x.request == y.request && x.tls == y.tls &&
                   x.sni == y.sni && x.verify_name == y.verify_name &&
                   x.total_deadline == y.total_deadline && x.strict_framing == y.strict_framing;
          },
          [&](const MiscProbe& x) {
            const auto& y = std::get<MiscProbe>(b);
            return x.argv == y.argv && x.timeout == y.timeout && x.run_as == y.run_as &&
                   x.dynamic == y.dynamic;
          },
          [&](const DnsProbe& x) {
            const auto& y = std::get<DnsProbe>(b);
            return x.connection == y.connection && x.type == y.type && x.name == y.name;
          },
          [&](const UdpProbe& x) {
            const auto& y = std::get<UdpProbe>(b);
            return x.connection == y.connection && x.payload == y.payload &&
                   x.require_reply == y.require_reply && x.reply == y.reply &&
                   x.reply_mask == y.reply_mask && x.min_reply_length == y.min_reply_length &&
                   x.max_reply_length == y.max_reply_length;
          },
          [&](const SmtpProbe& x) {
            const auto& y = std::get<SmtpProbe>(b);
            return x.connection == y.connection && x.helo_name == y.helo_name &&
                   x.strict_framing == y.strict_framing;
          },
          [&](const PingProbe& x) { return x.connection == std::get<PingProbe>(b).connection; },
      },
      a);
}

bool same_requests(const std::vector<ProbeRequest>& a, const std::vector<ProbeRequest>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same_request(a[i], b[i])) return false;
  return true;
}

// The spec as it decides a checker's behaviour: the configured weight of its real server counts
// only for MISC_CHECK misc_dynamic (its weight is derived from it).
CheckerSpec behaviour(const CheckerSpec& spec) {
  CheckerSpec out = spec;
  const auto* misc = std::get_if<MiscIdentity>(&out.identity.detail);
  if (misc == nullptr || !misc->dynamic) out.real_server_weight = 0;
  return out;
}

// A reload may keep a running checker of spec `running` for the new spec `wanted` (same real
// server): equal specs, but for the real server's configured weight, which only MISC_CHECK
// misc_dynamic reads. `wanted` is only borrowed (put back as it was).
bool same_behaviour(const CheckerSpec& running, CheckerSpec& wanted) {
  const auto* misc = std::get_if<MiscIdentity>(&wanted.identity.detail);
  if (misc != nullptr && misc->dynamic) return running == wanted;
  const int64_t weight = std::exchange(wanted.real_server_weight, running.real_server_weight);
  const bool same = running == wanted;
  wanted.real_server_weight = weight;
  return same;
}

// VirtualServerVerdicts::start() with the checker states `verdicts` has: would it give the quorum
// and sorry server state `verdicts` has? (start() begins from "nothing alive" and evaluates the
// quorum once: keep the two in step.) The real servers' alive flags follow their checkers in
// both.
bool start_keeps_quorum(const VirtualServerVerdicts& verdicts) {
  const VirtualServerSpec& spec = verdicts.spec();
  bool up = spec.quorum + spec.hysteresis == 0;
  bool sorry = false;
  const int64_t weight_sum = verdicts.live_weight();
  const int64_t hysteresis = spec.hysteresis;
  const int64_t threshold = int64_t{spec.quorum} + (up ? -hysteresis : hysteresis);
  if (!up && weight_sum >= threshold) {
    up = true;
  } else if ((up && (weight_sum == 0 || weight_sum < threshold)) || (!up && spec.sorry_server)) {
    up = false;
    sorry = spec.sorry_server.has_value();
  }
  return up == verdicts.quorum_up() && sorry == verdicts.sorry_active();
}

}  // namespace

VirtualServerKey virtual_server_key(const config::VirtualServer& vs) {
  config::VirtualServer bare;
  bare.kind = vs.kind;
  bare.family = vs.family;
  bare.protocol = vs.protocol;
  bare.address = vs.address;
  bare.port = vs.port;
  bare.fwmark = vs.fwmark;
  bare.group = vs.group;
  return translate(bare).key;
}

Result<std::vector<ProbeRequest>> probe_requests(const config::Config& config,
                                                 const config::VirtualServer& vs,
                                                 size_t real_server, size_t checker,
                                                 const RunAsResolver& resolve) {
  const config::RealServer& rs = vs.real_servers.at(real_server);
  const config::Checker& c = rs.checkers.at(checker);
  switch (c.type) {
    case CheckerType::kTcp:
      return std::vector<ProbeRequest>{TcpProbe{connection_of(c)}};
    case CheckerType::kHttp:
    case CheckerType::kSsl:
      if (const auto* http = c.as<config::HttpCheck>())
        return http_requests(config, vs, rs, c, *http);
      break;
    case CheckerType::kMisc:
      if (const auto* misc = c.as<config::MiscCheck>()) {
        MiscProbe probe{
            .name = misc->path.text,
            .argv = misc->path.argv,
            // checkers.md "MISC_CHECK in detail": unset, the virtual server's delay_loop.
            .timeout = misc->timeout.value_or(vs.delay_loop),
            .dynamic = misc->dynamic,
        };
        const auto& user = misc->user ? misc->user : config.global.script_user;
        if (user && resolve) {
          // A user that no longer resolves never falls back to root: the checker is left out,
          // as keepalived removes a MISC_CHECK whose user it cannot resolve.
          probe.run_as = resolve(*user);
          if (!probe.run_as) return std::vector<ProbeRequest>{};
        }
        return std::vector<ProbeRequest>{std::move(probe)};
      }
      break;
    case CheckerType::kDns:
      if (const auto* dns = c.as<config::DnsCheck>())
        return std::vector<ProbeRequest>{
            DnsProbe{.connection = connection_of(c), .type = dns->type, .name = dns->name}};
      break;
    case CheckerType::kSmtp:
      if (const auto* smtp = c.as<config::SmtpCheck>()) {
        // load() gives every `host {}` block a checker of its own first; one left here is the
        // checker's only connection when the block sets none itself (as keepalived takes it).
        const config::Checker connection =
            smtp->hosts.empty() || sets_connection(c) ? c : host_checker(c, smtp->hosts.front());
        return std::vector<ProbeRequest>{
            SmtpProbe{.connection = connection_of(connection),
                      .helo_name = smtp->helo_name,
                      .strict_framing = config.global.checker_strict_framing}};
      }
      break;
    case CheckerType::kPing:
      return std::vector<ProbeRequest>{PingProbe{connection_of(c)}};
    case CheckerType::kUdp:
      if (const auto* udp = c.as<config::UdpCheck>()) {
        const auto payload = udp_payload(*udp);  // keepalived's default when none is configured
        return std::vector<ProbeRequest>{UdpProbe{
            .connection = connection_of(c),
            .payload = std::vector<uint8_t>(payload.begin(), payload.end()),
            .require_reply = udp->require_reply,
            .reply = udp->reply,
            .reply_mask = udp->reply_mask,
            .min_reply_length = udp->min_reply_length,
            .max_reply_length = udp->max_reply_length,
        }};
      }
      break;
    default:
      break;
  }
  return std::vector<ProbeRequest>{};
}

// ---- engine state -------------------------------------------------------------------------------

struct CheckEngine::Slot {
  // `spec` is in the service's verdicts, which outlive the slot (a reload that keeps the slot
  // points it at the new service's spec).
  Slot(Scheduler& scheduler, const CheckerSpec& spec, RandomDuration random)
      : machine(spec, std::move(random)), timer(scheduler) {}

  // One per target; empty for TCP_CHECK, PING_CHECK (deferred_request()) and FILE_CHECK.
  [[nodiscard]] const std::vector<ProbeRequest>& requests() const {
    static const std::vector<ProbeRequest> kNone;
    return probe ? probe->requests : kNone;
  }
  // FILE_CHECK: the tracked file; empty for every other type.
  [[nodiscard]] const std::string& file_path() const {
    static const std::string kNone;
    return probe ? probe->file : kNone;
  }
  // HTTP_GET / SSL_GET: as configured (what expect judges).
  [[nodiscard]] const std::vector<config::HttpUrl>& urls() const {
    static const std::vector<config::HttpUrl> kNone;
    return probe ? probe->urls : kNone;
  }

  // The last failed probe's text; empty before the first failure.
  [[nodiscard]] std::string_view error() const {
    return last_error ? std::string_view{*last_error} : std::string_view{};
  }
  void set_error(std::string_view detail) {
    if (last_error) {
      last_error->assign(detail);
    } else {
      last_error = std::make_unique<std::string>(detail);
    }
  }
  [[nodiscard]] std::optional<Duration> latency() const {
    return has_latency ? std::optional<Duration>{last_latency} : std::nullopt;
  }
  void set_latency(Duration latency) {
    last_latency = latency;
    has_latency = true;
  }
  [[nodiscard]] std::optional<TimePoint> completed() const {
    return has_completed ? std::optional<TimePoint>{last_completed} : std::nullopt;
  }

  // One per checker, so laid out without padding (docs/performance.md): 8-byte fields first.
  Checker machine;
  // What load() built for it; null when that is nothing (TCP_CHECK, PING_CHECK), so that the
  // most common checkers pay one pointer for it.
  std::unique_ptr<const BuiltChecker> probe;
  Timer timer;
  ProbeId running = 0;            // a probe of its own, when `probing`
  Group* group = nullptr;         // checker_share_probes: its group of identical checkers
  SharedProbe* shared = nullptr;  // the group's probe it takes part in
  Service* service = nullptr;
  TimePoint started{};
  TimePoint last_completed{};  // when has_completed: its last probe succeeded or failed
  uint64_t probes = 0;
  Duration last_latency{0};  // when has_latency
  // Made at the first failure: a checker that always passes pays one pointer, not a string.
  std::unique_ptr<std::string> last_error;
  // The target of the probe its timer is armed for (in the slot, so that the timer's callback
  // captures two pointers and std::function holds it without an allocation).
  uint32_t armed_target = 0;
  uint32_t real_server = 0;
  uint32_t index = 0;  // among the real server's running checkers
  bool kept = false;   // during a reload: chosen to stay as it is
  bool probing = false;
  bool has_latency = false;
  bool has_completed = false;
  bool paused = false;  // set_paused(): no probe runs until it is resumed
};

struct CheckEngine::Service {
  explicit Service(VirtualServerSpec spec) : verdicts(std::move(spec)) {}

  VirtualServerVerdicts verdicts;
  AlertPolicy alerts;  // what verdicts was given (a reload compares it)
  // The configuration block whose translate() equals the spec (the one it was built from, or a
  // later one a reload found to translate to the same): a reload that finds the same block again
  // (config::same_ignoring_locations) needs no translate() to know the spec is unchanged.
  const config::VirtualServer* block = nullptr;  // in CheckEngine::config_, or split_block
  // The block with one SMTP_CHECK per host (one_checker_per_smtp_host), when its SMTP_CHECKs have
  // `host {}` blocks: `block` points to it.
  std::unique_ptr<const config::VirtualServer> split_block;
  // [real server][checker], in the (filtered) spec's order.
  std::vector<std::vector<std::unique_ptr<Slot>>> slots;
  std::optional<DesiredService> sent;
  // Per real server: when its alive flag last changed (service_status()).
  std::vector<std::optional<TimePoint>> alive_changed;
  NotifyActions pending;
  bool dirty = false;
  bool touched = false;  // in CheckEngine::touched_: flush() looks at it
  size_t order = 0;      // its place in services_: flush() reports in configuration order
};

// checker_share_probes: one probe of a group, and the members waiting for its result.
struct CheckEngine::SharedProbe {
  ProbeId id = 0;
  uint32_t target = 0;
  TimePoint started{};
  std::vector<Slot*> members;
};

struct CheckEngine::Group {
  // The members' random draws: member m's n-th draw is the group's n-th (drawn by whichever
  // member asks first), so members in the same state schedule their probes at the same instants.
  struct Draws {
    RandomDuration source;
    std::deque<std::pair<Duration, Duration>> memo;  // (max, value), from draw number `base`
    uint64_t base = 0;
    std::vector<uint64_t> cursors;  // per member: its next draw number

    Duration draw(size_t member, Duration max) {
      uint64_t& n = cursors[member];
      n = std::max(n, base);  // a member that fell behind the memo draws on
      const size_t i = static_cast<size_t>(n - base);
      ++n;
      if (i == memo.size()) memo.emplace_back(max, source(max));
      // A member whose state made it ask for another range draws on its own.
      const Duration value = memo[i].first == max ? memo[i].second : source(max);
      const uint64_t low = *std::min_element(cursors.begin(), cursors.end());
      while (!memo.empty() && (base < low || memo.size() > kMemo)) {
        memo.pop_front();
        ++base;
      }
      return value;
    }
    static constexpr size_t kMemo = 64;
  };

  Draws draws;
  size_t members = 0;
  std::vector<std::unique_ptr<SharedProbe>> running;
};

// The SMTP alerts of one virtual server: its smtp_alert (quorum), each real server's (checkers),
// no_checker_emails; the config holds them resolved (keepalived 2.2.7 check_data.c). Nothing when
// no alert can be sent (no smtp_server or no notification_email: core/smtp.c smtp_alert).
static AlertPolicy alert_policy(const config::Config& config, const config::VirtualServer& vs) {
  AlertPolicy policy;
  const auto& global = config.global;
  if (!global.smtp_server || global.notification_email.empty()) return policy;
  policy.virtual_server = vs.smtp_alert;
  policy.no_checker_emails = global.no_checker_emails;
  for (const auto& rs : vs.real_servers)
    policy.real_servers.push_back(rs.smtp_alert);
  return policy;
}

CheckEngine::CheckEngine(Scheduler& scheduler, Prober& prober, RandomDuration random,
                         EngineSinks sinks, RunAsResolver resolve, FileReader read_file)
    : scheduler_(scheduler),
      prober_(prober),
      random_(std::move(random)),
      sinks_(std::move(sinks)),
      resolve_(std::move(resolve)),
      read_file_(std::move(read_file)) {}

CheckEngine::~CheckEngine() {
  tear_down(services_);
  groups_.clear();
}

Result<HealthBatch> CheckEngine::load(const config::Config& config) {
  return load(std::make_shared<const config::Config>(config));
}

Result<HealthBatch> CheckEngine::load(std::shared_ptr<const config::Config> configured) {
  const config::Config& config = *configured;
  const bool share = config.global.checker_share_probes;
  const size_t count = config.lvs.virtual_servers.size();
  // The blocks the checkers come from: the configured one, or its copy with one SMTP_CHECK per
  // host.
  std::vector<std::unique_ptr<const config::VirtualServer>> split(count);
  for (size_t v = 0; v < count; ++v)
    split[v] = one_checker_per_smtp_host(config.lvs.virtual_servers[v]);
  auto block_of = [&](size_t v) -> const config::VirtualServer& {
    return split[v] ? *split[v] : config.lvs.virtual_servers[v];
  };
  // Build everything first: a probe that cannot be built leaves the running engine untouched.
  // Checkers without a probe are dropped from the spec. TCP_CHECK and PING_CHECK probes follow
  // from the spec's connection alone: never kept, built when they fire (deferred_request()).
  // A reload: keepalived's match (reload.h) against the running services, by key. Each running
  // service is kept for one virtual server at most (the parser refuses a virtual server defined
  // twice; a second one here starts all its checkers).
  constexpr size_t kNone = SIZE_MAX;
  std::vector<size_t> old_of(count, kNone);    // index in services_
  std::vector<bool> shared_old(count, false);  // a second virtual server of the same key
  std::vector<bool> removed_services(services_.size(), loaded_);
  std::vector<AlertPolicy> alerts(count);
  for (size_t v = 0; v < count; ++v)
    alerts[v] = alert_policy(config, block_of(v));
  const bool grouped = share || !groups_.empty();
  // Virtual servers whose block is the running service's (wherever it now is in the files) and
  // that stay as they are: neither translated nor built.
  std::vector<bool> same_block(count, false);
  if (loaded_) {
    std::map<VirtualServerKey, size_t> by_key;
    for (size_t i = 0; i < services_.size(); ++i)
      by_key.emplace(services_[i]->verdicts.spec().key, i);
    std::vector<bool> claimed(services_.size(), false);
    for (size_t v = 0; v < count; ++v) {
      const auto& vs = block_of(v);
      const auto found = by_key.find(virtual_server_key(vs));
      if (found == by_key.end()) continue;
      const bool first_match = !claimed[found->second];
      claimed[found->second] = true;
      old_of[v] = found->second;
      if (!first_match) shared_old[v] = true;
      removed_services[found->second] = false;
      same_block[v] = incremental_ && first_match && !grouped &&
                      untouched_block(*services_[found->second], vs, config, alerts[v]);
    }
  }

  std::vector<VirtualServerSpec> specs;
  specs.reserve(count);
  std::vector<Built> built(count);
  size_t skipped = 0;
  for (size_t v = 0; v < count; ++v) {
    const auto& vs = block_of(v);
    if (same_block[v]) {
      specs.emplace_back();  // kept whole: its spec is the running one's
      continue;
    }
    VirtualServerSpec& spec = specs.emplace_back(translate(vs));
    Built& b = built[v];
    b.first.reserve(spec.real_servers.size() + 1);
    for (size_t r = 0; r < spec.real_servers.size(); ++r) {
      b.first.push_back(b.checkers.size());
      auto& checkers = spec.real_servers[r].checkers;
      size_t kept = 0;  // checkers[0, kept) stay
      for (size_t c = 0; c < checkers.size(); ++c) {
        BuiltChecker one;
        const config::Checker& source = vs.real_servers[r].checkers[c];
        if (auto path = tracked_file(config, source); !path.empty()) {
          if (!read_file_) {
            ++skipped;
            continue;
          }
          one.file = std::move(path);
        } else if (source.type == CheckerType::kTcp || source.type == CheckerType::kPing) {
          one.deferred = true;
        } else {
          auto requests = probe_requests(config, vs, r, c, resolve_);
          if (!requests) {
            return Error{
                fmt::format("{} real server {}: {}", spec.label,
                            format_real_server(spec.real_servers[r].key, spec.protocol_name),
                            requests.error().message)};
          }
          if (requests->empty()) {
            ++skipped;
            logger().warn(
                "[{}] not run: vigil has no {} probe yet; the real server counts it as up",
                checkers[c].label, config::to_string(checkers[c].identity.type));
            continue;
          }
          one.requests = std::move(*requests);
          if (const auto* http = source.as<config::HttpCheck>()) one.urls = http->urls;
        }
        if (kept != c) checkers[kept] = std::move(checkers[c]);
        ++kept;
        b.checkers.push_back(std::move(one));
      }
      checkers.resize(kept);
    }
    b.first.push_back(b.checkers.size());
  }

  // An untouched running service (the same spec, alerts and probes, every checker in a state a
  // new one would have too, the quorum start() would give) stays as it is and needs no plan.
  std::vector<bool> untouched(count, false);
  std::vector<std::optional<VirtualServerPlan>> plans(count);
  std::vector<const std::vector<RealServerKey>*> removed_servers(services_.size(), nullptr);
  if (loaded_) {
    RunningVirtualServer running;
    for (size_t v = 0; v < count; ++v) {
      if (old_of[v] == kNone) {
        plans[v] = plan_virtual_server(nullptr, specs[v]);
        continue;
      }
      const Service& old = *services_[old_of[v]];
      if (same_block[v]) {
        untouched[v] = true;
        continue;
      }
      if (incremental_ && !shared_old[v] && !grouped &&
          untouched_service(old, specs[v], built[v], alerts[v])) {
        untouched[v] = true;
        continue;
      }
      describe_running(old, running);
      plans[v] = plan_virtual_server(&running, specs[v]);
      if (!plans[v]->removed_real_servers.empty())
        removed_servers[old_of[v]] = &plans[v]->removed_real_servers;
    }
  }
  // What the reload removes leaves with keepalived's notifies (clear_diff_services), before the
  // new configuration's.
  std::vector<std::pair<VirtualServerSpec, NotifyActions>> removal_notifies;
  if (loaded_) removal_notifies = remove_for_reload(removed_servers, removed_services, config);
  std::vector<std::unique_ptr<Group>> groups;
  const auto membership = share ? form_groups(specs, built, groups)
                                : std::vector<std::vector<std::vector<Membership>>>{};
  auto member_of = [&membership](size_t v, size_t r, size_t c) {
    return membership.empty() ? Membership{} : membership[v][r][c];
  };

  // The running checkers of the other matched services that stay as they are (same real
  // server, same spec and probes, a state the new checker would have too, the same probe
  // group), moved into the new service with their timer and their probe in flight.
  std::vector<std::unique_ptr<Service>> old_services = std::move(services_);
  services_.clear();
  struct Kept {
    Slot* slot = nullptr;
    size_t real_server = 0;  // its place in the running service
    size_t index = 0;
  };
  std::vector<std::vector<std::vector<Kept>>> keep(count);
  for (size_t v = 0; v < count; ++v) {
    if (!incremental_ || !plans[v] || old_of[v] == kNone || shared_old[v]) continue;
    const VirtualServerPlan& vp = *plans[v];
    // A virtual server that loses real servers starts all its checkers again (as before).
    if (!vp.removed_real_servers.empty()) continue;
    Service* old = old_services[old_of[v]].get();
    const auto& old_servers = old->verdicts.spec().real_servers;
    keep[v].resize(specs[v].real_servers.size());
    for (size_t r = 0; r < specs[v].real_servers.size(); ++r) {
      const RealServerPlan& rp = vp.real_servers[r];
      if (!rp.existed) continue;
      // Its place in the running service: usually the same.
      size_t old_r = r;
      if (old_r >= old_servers.size() || old_servers[old_r].key != rp.key) {
        old_r = static_cast<size_t>(
            std::find_if(old_servers.begin(), old_servers.end(),
                         [&rp](const RealServerSpec& rs) { return rs.key == rp.key; }) -
            old_servers.begin());
      }
      auto& wanted = specs[v].real_servers[r].checkers;
      keep[v][r].assign(wanted.size(), Kept{});
      for (size_t c = 0; c < wanted.size(); ++c) {
        const CheckerPlan& cp = rp.checkers[c];
        const auto* kept = std::get_if<ReloadKept>(&cp.first_event);
        if (!cp.kept_from || kept == nullptr) continue;
        Slot* slot = old->slots[old_r][*cp.kept_from].get();
        const BuiltChecker& one = built[v].at(r, c);
        if (slot->kept || !slot->file_path().empty() || !one.file.empty()) continue;
        if (!same_behaviour(slot->machine.spec(), wanted[c])) continue;
        if (!one.deferred &&
            (!same_requests(slot->requests(), one.requests) || slot->urls() != one.urls))
          continue;
        if (!slot->machine.reload_keeps_state(*kept)) continue;
        slot->kept = true;
        keep[v][r][c] = Kept{.slot = slot, .real_server = old_r, .index = *cp.kept_from};
      }
    }
  }
  // checker_share_probes: a kept checker keeps its group only when the group keeps exactly its
  // members (then the running group stays, with its draws and its probes in flight); every
  // member of a group that changes starts again in the new group, as all of them did before.
  struct Tally {
    Group* old = nullptr;
    size_t kept = 0;
    bool mixed = false;
  };
  std::map<Group*, Tally> tallies;  // by new group
  for (size_t v = 0; v < keep.size(); ++v) {
    for (size_t r = 0; r < keep[v].size(); ++r) {
      for (size_t c = 0; c < keep[v][r].size(); ++c) {
        Kept& kept = keep[v][r][c];
        const Membership member = member_of(v, r, c);
        if (kept.slot == nullptr) continue;
        if (member.group == nullptr) {
          if (kept.slot->group != nullptr) {
            kept.slot->kept = false;
            kept = Kept{};
          }
          continue;
        }
        Tally& tally = tallies[member.group];
        if (kept.slot->group == nullptr ||
            (tally.old != nullptr && tally.old != kept.slot->group)) {
          tally.mixed = true;
        } else {
          tally.old = kept.slot->group;
          ++tally.kept;
        }
      }
    }
  }
  std::set<Group*> kept_groups;  // new groups whose members all stay in their running group
  for (const auto& [group, tally] : tallies) {
    if (!tally.mixed && tally.old != nullptr && tally.kept == group->members &&
        tally.old->members == group->members)
      kept_groups.insert(group);
  }
  if (!tallies.empty()) {
    for (size_t v = 0; v < keep.size(); ++v) {
      for (size_t r = 0; r < keep[v].size(); ++r) {
        for (size_t c = 0; c < keep[v][r].size(); ++c) {
          Kept& kept = keep[v][r][c];
          const Membership member = member_of(v, r, c);
          if (kept.slot == nullptr || member.group == nullptr ||
              kept_groups.count(member.group) != 0)
            continue;
          kept.slot->kept = false;
          kept = Kept{};
        }
      }
    }
  }
  // The new groups whose members all stay give way to the running ones.
  for (auto& group : groups) {
    if (kept_groups.count(group.get()) == 0) continue;
    const Tally& tally = tallies.at(group.get());
    for (auto& running : groups_) {
      if (running.get() == tally.old) {
        group = std::move(running);
        break;
      }
    }
  }
  std::vector<std::unique_ptr<Group>> old_groups = std::move(groups_);
  groups_ = std::move(groups);
  skipped_ = skipped;
  touched_.clear();
  if (sinks_.notify) {
    for (auto& [spec, actions] : removal_notifies)
      sinks_.notify(spec, std::move(actions));
  }

  const TimePoint now = scheduler_.now();
  HealthBatch batch;
  batch.reserve(count);
  services_.reserve(count);
  for (size_t v = 0; v < count; ++v) {
    const bool existed = old_of[v] != kNone;
    Service* old = existed ? old_services[old_of[v]].get() : nullptr;
    if (untouched[v]) {
      std::unique_ptr<Service> service = std::move(old_services[old_of[v]]);
      service->touched = false;
      service->order = services_.size();
      service->sent = service->verdicts.desired();
      service->dirty = false;
      // Its spec equals this block's translate(): the next reload may skip it.
      service->block = &block_of(v);
      service->split_block = std::move(split[v]);
      batch.push_back({service->verdicts.spec().key, *service->sent});
      services_.push_back(std::move(service));
      continue;
    }
    auto service = std::make_unique<Service>(std::move(specs[v]));
    service->block = &block_of(v);
    service->split_block = std::move(split[v]);
    service->verdicts.set_alerts(alerts[v]);
    service->alerts = std::move(alerts[v]);
    const VirtualServerSpec& spec = service->verdicts.spec();
    std::vector<RealServerView> views(spec.real_servers.size());
    // The first event's actions, applied once the verdict has started.
    std::vector<std::pair<Slot*, Actions>> first_actions;
    service->slots.resize(spec.real_servers.size());
    for (size_t r = 0; r < spec.real_servers.size(); ++r) {
      const auto& rs_spec = spec.real_servers[r];
      service->slots[r].reserve(rs_spec.checkers.size());
      views[r].checkers.reserve(rs_spec.checkers.size());
      for (size_t c = 0; c < rs_spec.checkers.size(); ++c) {
        std::unique_ptr<Slot> slot;
        const Kept kept = r < keep[v].size() && !keep[v][r].empty() ? keep[v][r][c] : Kept{};
        if (kept.slot != nullptr) {
          // Taken out of the running service (which is torn down below without it).
          slot = std::move(old->slots[kept.real_server][kept.index]);
          assert(slot.get() == kept.slot);
          slot->kept = false;
          // Its spec was in the running service, which is torn down below.
          slot->machine.set_spec(rs_spec.checkers[c]);
        } else {
          const Membership member = member_of(v, r, c);
          // The engine's source, through a capture small enough for std::function to hold inline:
          // a copy of random_ may allocate once per checker.
          RandomDuration random = [this](Duration max) { return random_(max); };
          if (member.group != nullptr) {
            random = [group = member.group, index = member.member](Duration max) {
              return group->draws.draw(index, max);
            };
          }
          slot = std::make_unique<Slot>(scheduler_, rs_spec.checkers[c], std::move(random));
          slot->group = member.group;
          BuiltChecker& one = built[v].at(r, c);
          if (!one.deferred) slot->probe = std::make_unique<const BuiltChecker>(std::move(one));
        }
        slot->service = service.get();
        slot->real_server = static_cast<uint32_t>(r);
        slot->index = static_cast<uint32_t>(c);
        if (kept.slot == nullptr) {
          Event first = Start{};
          if (plans[v]) {
            std::visit([&first](const auto& e) { first = e; },
                       plans[v]->real_servers[r].checkers[c].first_event);
          }
          Actions actions = slot->machine.handle(first, now);
          if (!slot->file_path().empty()) {
            // checkers.md §1.2: FILE_CHECK's state is known at start, from the file's value (an
            // unreadable number counts as 0 at start, as keepalived's initial last_status).
            const int64_t value = read_file_(slot->file_path()).value_or(0);
            Actions more = slot->machine.handle(FileValue{value}, now);
            actions.insert(actions.end(), more.begin(), more.end());
          }
          first_actions.emplace_back(slot.get(), std::move(actions));
        }
        views[r].checkers.push_back(
            {.up = slot->machine.up(), .dynamic_weight = slot->machine.dynamic_weight()});
        service->slots[r].push_back(std::move(slot));
      }
    }
    // A kept virtual server carries its quorum state, and its sorry server's when that is the
    // same server (ipwrapper.c clear_diff_services, clear_diff_s_srv): only a change of quorum is
    // announced, not the start again.
    if (existed) {
      const VirtualServerVerdicts& running = old->verdicts;
      const bool same_sorry = running.spec().sorry_server && spec.sorry_server &&
                              running.spec().sorry_server->key == spec.sorry_server->key;
      service->pending = service->verdicts.start_kept(views, running.quorum_up(),
                                                      same_sorry && running.sorry_active());
    } else {
      service->pending = service->verdicts.start(views);
    }
    service->order = services_.size();
    if (!service->pending.empty()) touch(*service);
    Service& ref = *service;
    services_.push_back(std::move(service));
    for (auto& [slot, actions] : first_actions)
      apply(*slot, std::move(actions));
    ref.sent = ref.verdicts.desired();
    ref.dirty = false;
    batch.push_back({ref.verdicts.spec().key, *ref.sent});
  }
  // What the reload did not keep stops (its groups last until its members have left them).
  tear_down(old_services);
  old_groups.clear();
  config_ = std::move(configured);  // every service's block now points into it (or split_block)
  loaded_ = true;
  if (!paused_.empty()) {
    // The checkers it started on paused real servers pause at once (kept ones already are).
    for (auto& service : services_)
      for (size_t r = 0; r < service->slots.size(); ++r)
        for (auto& slot : service->slots[r])
          update_paused(*service, r, *slot);
  }
  if (sinks_.health) sinks_.health(batch);
  flush();
  return batch;
}

bool CheckEngine::reload_pessimistic(const Service& old, size_t r) {
  bool any_failed = false;
  bool any_has_run = false;
  for (const auto& slot : old.slots[r]) {
    any_failed = any_failed || (slot->machine.has_run() && !slot->machine.up());
    any_has_run = any_has_run || slot->machine.has_run();
  }
  return any_failed || (!old.verdicts.alive(r) && !any_has_run);
}

bool CheckEngine::untouched_service(const Service& old, const VirtualServerSpec& spec,
                                    const Built& built, const AlertPolicy& alerts) const {
  if (!(old.alerts == alerts) || !(old.verdicts.spec() == spec)) return false;
  if (!start_keeps_quorum(old.verdicts)) return false;
  for (size_t r = 0; r < old.slots.size(); ++r) {
    const auto& checkers = spec.real_servers[r].checkers;
    const bool pessimistic = reload_pessimistic(old, r);
    for (size_t c = 0; c < checkers.size(); ++c) {
      const Slot& slot = *old.slots[r][c];
      const BuiltChecker& one = built.at(r, c);
      if (!slot.file_path().empty() || !one.file.empty()) return false;
      if (!one.deferred &&
          (!same_requests(slot.requests(), one.requests) || slot.urls() != one.urls))
        return false;
      // migrate_checkers takes the first old checker that matches: this one.
      for (size_t j = 0; j < c; ++j)
        if (matches(checkers[j].identity, checkers[c].identity)) return false;
      if (!slot.machine.reload_keeps_state(
              ReloadKept{.old = slot.machine.carried(), .pessimistic = pessimistic}))
        return false;
    }
  }
  return true;
}

bool CheckEngine::untouched_block(const Service& old, const config::VirtualServer& vs,
                                  const config::Config& config, const AlertPolicy& alerts) const {
  // The same block translates to the running spec: what untouched_service() checks then, but
  // for the spec comparison.
  if (!config::same_ignoring_locations(*old.block, vs)) return false;
  if (!(old.alerts == alerts) || !start_keeps_quorum(old.verdicts)) return false;
  const VirtualServerSpec& spec = old.verdicts.spec();
  for (size_t r = 0; r < old.slots.size(); ++r) {
    const auto& configured = vs.real_servers[r].checkers;
    // A checker left out at either load (no probe): the spec's checkers are not the block's.
    if (old.slots[r].size() != configured.size()) return false;
    const auto& checkers = spec.real_servers[r].checkers;
    const bool pessimistic = reload_pessimistic(old, r);
    for (size_t c = 0; c < checkers.size(); ++c) {
      const Slot& slot = *old.slots[r][c];
      const config::Checker& source = configured[c];
      if (!slot.file_path().empty() || source.type == CheckerType::kFile) return false;
      // Probes built from more than the block (the global SSL block, script users resolved
      // now, checker_strict_framing) are built again and compared, as load() does.
      if (source.type != CheckerType::kTcp && source.type != CheckerType::kPing) {
        auto requests = probe_requests(config, vs, r, c, resolve_);
        if (!requests || requests->empty() || !same_requests(slot.requests(), *requests))
          return false;
        const auto* http = source.as<config::HttpCheck>();
        if (http != nullptr ? slot.urls() != http->urls : !slot.urls().empty()) return false;
      }
      for (size_t j = 0; j < c; ++j)
        if (matches(checkers[j].identity, checkers[c].identity)) return false;
      if (!slot.machine.reload_keeps_state(
              ReloadKept{.old = slot.machine.carried(), .pessimistic = pessimistic}))
        return false;
    }
  }
  return true;
}

void CheckEngine::stop() {
  for (auto& service : services_) {
    if (!service->verdicts.spec().omega) continue;
    NotifyActions actions = service->verdicts.stop();
    if (sinks_.notify && !actions.empty())
      sinks_.notify(service->verdicts.spec(), std::move(actions));
  }
  tear_down(services_);
  groups_.clear();
  touched_.clear();
  loaded_ = false;
}

void CheckEngine::set_paused(PausedServers paused) {
  paused_ = std::move(paused);
  for (auto& service : services_)
    for (size_t r = 0; r < service->slots.size(); ++r)
      for (auto& slot : service->slots[r])
        update_paused(*service, r, *slot);
  flush();
}

void CheckEngine::update_paused(Service& service, size_t real_server, Slot& slot) {
  const VirtualServerSpec& spec = service.verdicts.spec();
  const bool wanted = paused_.contains(ServerRef{spec.key, spec.real_servers[real_server].key});
  if (wanted == slot.paused) return;
  slot.paused = wanted;
  if (wanted) {
    // Its state stays as it is: no result may arrive while paused.
    slot.timer.cancel();
    leave(slot);
    logger().info("[{}] checks paused (maintenance)", slot.machine.spec().label);
    return;
  }
  logger().info("[{}] checks resumed", slot.machine.spec().label);
  if (!slot.file_path().empty()) {
    // FILE_CHECK: the file may have changed meanwhile.
    if (const auto value = read_file_ ? read_file_(slot.file_path()) : std::nullopt)
      dispatch(slot, FileValue{*value});
    return;
  }
  // The next check at once, on the target it was due to probe.
  slot.timer.arm_at(scheduler_.now(), [this, &slot] {
    fire(slot, slot.armed_target);
    flush();
  });
}

std::set<std::string> CheckEngine::tracked_files() const {
  std::set<std::string> out;
  for (const auto& service : services_)
    for (const auto& slots : service->slots)
      for (const auto& slot : slots)
        if (!slot->file_path().empty()) out.insert(slot->file_path());
  return out;
}

void CheckEngine::file_changed(const std::string& path) {
  if (!read_file_) return;
  std::optional<std::optional<int64_t>> value;  // read once for all the checkers tracking it
  for (auto& service : services_) {
    for (auto& slots : service->slots) {
      for (auto& slot : slots) {
        if (slot->file_path() != path || slot->paused) continue;
        if (!value) {
          value = read_file_(path);
          if (!*value) {
            logger().info("[FILE {}] not a number in range: ignored, the last value stays", path);
          }
        }
        if (!*value) return;
        dispatch(*slot, FileValue{**value});
      }
    }
  }
  flush();
}

std::vector<std::pair<VirtualServerSpec, NotifyActions>> CheckEngine::remove_for_reload(
    const std::vector<const std::vector<RealServerKey>*>& removed_servers,
    const std::vector<bool>& removed_services, const config::Config& config) {
  std::vector<std::pair<VirtualServerSpec, NotifyActions>> out;
  const bool flush = config.global.lvs_flush_on_stop || config.global.lvs_flush_on_stop_vs_only;
  // In the running configuration's order, its real servers in theirs (keepalived walks the old
  // lists).
  for (size_t i = 0; i < services_.size(); ++i) {
    VirtualServerVerdicts& verdicts = services_[i]->verdicts;
    const VirtualServerSpec& spec = verdicts.spec();
    NotifyActions actions;
    if (removed_services[i]) {
      actions = verdicts.remove(flush);
    } else if (removed_servers[i] != nullptr) {
      for (size_t r = 0; r < spec.real_servers.size(); ++r) {
        const auto& gone = *removed_servers[i];
        if (std::find(gone.begin(), gone.end(), spec.real_servers[r].key) == gone.end()) continue;
        logger().info("[{}] service {} no longer exists", spec.label,
                      format_real_server(spec.real_servers[r].key, spec.protocol_name));
        NotifyActions more = verdicts.remove_real_server(r);
        actions.insert(actions.end(), more.begin(), more.end());
      }
      // clear_diff_rs ends with update_vs_notifies: the servers left may have lost the quorum.
      NotifyActions lost = verdicts.update_vs_notifies();
      actions.insert(actions.end(), lost.begin(), lost.end());
    }
    if (!actions.empty()) out.emplace_back(spec, std::move(actions));
  }
  return out;
}

void CheckEngine::tear_down(std::vector<std::unique_ptr<Service>>& services) {
  for (auto& service : services) {
    if (!service) continue;  // kept whole by a reload
    for (auto& slots : service->slots) {
      for (auto& slot : slots) {
        if (!slot) continue;  // kept by a reload
        slot->timer.cancel();
        leave(*slot);
      }
    }
  }
  services.clear();
}

std::vector<std::vector<std::vector<CheckEngine::Membership>>> CheckEngine::form_groups(
    const std::vector<VirtualServerSpec>& specs, const std::vector<Built>& built,
    std::vector<std::unique_ptr<Group>>& groups) const {
  struct Candidate {
    CheckerSpec spec;  // behaviour()
    const std::vector<ProbeRequest>* requests;
    const std::vector<config::HttpUrl>* urls;
    std::vector<Membership*> members;
  };
  std::vector<std::vector<std::vector<Membership>>> out(specs.size());
  // By label ("TCP 10.0.0.1:80": type and target), then compared in full.
  std::unordered_map<std::string, std::vector<Candidate>> by_label;
  for (size_t v = 0; v < specs.size(); ++v) {
    out[v].resize(specs[v].real_servers.size());
    for (size_t r = 0; r < specs[v].real_servers.size(); ++r) {
      const auto& checkers = specs[v].real_servers[r].checkers;
      out[v][r].resize(checkers.size());
      for (size_t c = 0; c < checkers.size(); ++c) {
        const BuiltChecker& one = built[v].at(r, c);
        const auto& reqs = one.requests;  // empty when deferred: the spec holds the probe
        if (!one.file.empty()) continue;  // FILE_CHECK: no probes to share
        CheckerSpec spec = behaviour(checkers[c]);
        auto& bucket = by_label[spec.label];
        auto same = std::find_if(bucket.begin(), bucket.end(), [&](const Candidate& k) {
          return k.spec == spec && same_requests(*k.requests, reqs) && *k.urls == one.urls;
        });
        if (same == bucket.end()) {
          bucket.push_back({std::move(spec), &reqs, &one.urls, {}});
          same = std::prev(bucket.end());
        }
        same->members.push_back(&out[v][r][c]);
      }
    }
  }
  for (auto& [label, bucket] : by_label) {
    for (auto& candidate : bucket) {
      if (candidate.members.size() < 2) continue;
      auto group = std::make_unique<Group>();
      group->draws.source = random_;
      group->members = candidate.members.size();
      group->draws.cursors.assign(group->members, 0);
      for (size_t m = 0; m < candidate.members.size(); ++m)
        *candidate.members[m] = Membership{.group = group.get(), .member = m};
      logger().info("[{}] {} identical checkers share one probe stream (checker_share_probes)",
                    label, group->members);
      groups.push_back(std::move(group));
    }
  }
  return out;
}

void CheckEngine::touch(Service& service) {
  if (service.touched) return;
  service.touched = true;
  touched_.push_back(&service);
}

void CheckEngine::dispatch(Slot& slot, const Event& event) {
  apply(slot, slot.machine.handle(event, scheduler_.now()));
}

void CheckEngine::apply(Slot& slot, Actions actions) {
  Service& service = *slot.service;
  for (const Action& action : actions) {
    std::visit(
        Overloaded{
            [&](const ProbeAt& at) {
              slot.armed_target = at.target;
              slot.timer.arm_at(at.at, [this, &slot] {
                timings_.slip.record(scheduler_.now() - slot.timer.deadline(),
                                     CheckTimings::kSlipBounds);
                fire(slot, slot.armed_target);
                flush();
              });
            },
            [&](const CancelProbe&) {
              slot.timer.cancel();
              leave(slot);
            },
            [&](const Report& report) {
              if (report.changed && sinks_.checker_changed) {
                const VirtualServerSpec& vs = service.verdicts.spec();
                sinks_.checker_changed(
                    CheckerChange{.virtual_server = vs,
                                  .real_server = vs.real_servers[slot.real_server],
                                  .checker = slot.machine.spec(),
                                  .up = report.up,
                                  .reason = report.reason,
                                  .detail = report.up ? std::string_view{} : slot.error()});
              }
              const bool was_alive = service.verdicts.alive(slot.real_server);
              auto notifies =
                  service.verdicts.on_report(slot.real_server, slot.index, report,
                                             report.up ? std::string_view{} : slot.error());
              note_alive_change(service, slot.real_server, was_alive);
              service.pending.insert(service.pending.end(), notifies.begin(), notifies.end());
              service.dirty = true;
              touch(service);
            },
            [&](const WeightChanged& changed) {
              const bool was_alive = service.verdicts.alive(slot.real_server);
              auto notifies =
                  service.verdicts.on_weight(slot.real_server, slot.index, changed.weight);
              note_alive_change(service, slot.real_server, was_alive);
              service.pending.insert(service.pending.end(), notifies.begin(), notifies.end());
              service.dirty = true;
              touch(service);
            },
        },
        action);
  }
}

void CheckEngine::note_alive_change(Service& service, size_t real_server, bool was_alive) {
  if (service.verdicts.alive(real_server) == was_alive) return;
  if (service.alive_changed.size() <= real_server)
    service.alive_changed.resize(service.verdicts.spec().real_servers.size());
  service.alive_changed[real_server] = scheduler_.now();
}

void CheckEngine::fire(Slot& slot, uint32_t target) {
  if (slot.paused) return;  // resuming fires it again
  const std::vector<ProbeRequest>& requests = slot.requests();
  if (target >= requests.size()) target = 0;
  // TCP_CHECK / PING_CHECK keep no request: it is built from the spec's connection each time
  // (the others are not copied).
  std::optional<ProbeRequest> deferred;
  if (requests.empty()) deferred = deferred_request(slot.machine.spec());
  const ProbeRequest& request = deferred ? *deferred : requests[target];
  leave(slot);
  ++slot.probes;
  if (slot.group != nullptr) {
    // checker_share_probes: the group's probe of this target in flight serves this member too.
    for (auto& probe : slot.group->running) {
      if (probe->target != target) continue;
      probe->members.push_back(&slot);
      slot.shared = probe.get();
      slot.started = probe->started;
      apply(slot, slot.machine.handle(ProbeStarted{}, probe->started));
      return;
    }
  }
  dispatch(slot, ProbeStarted{});
  slot.started = scheduler_.now();
  if (slot.group != nullptr) {
    Group& group = *slot.group;
    auto probe = std::make_unique<SharedProbe>();
    probe->target = target;
    probe->started = slot.started;
    probe->members.push_back(&slot);
    SharedProbe* raw = probe.get();
    slot.shared = raw;
    group.running.push_back(std::move(probe));
    // The prober never calls back inline: the id is set before any result arrives.
    raw->id = prober_.start(request, [this, &group, raw](ProbeResult result) {
      deliver(group, raw, std::move(result));
    });
    return;
  }
  slot.probing = true;
  slot.running = prober_.start(request, [this, &slot](ProbeResult result) {
    slot.probing = false;
    slot.set_latency(scheduler_.now() - slot.started);
    if (!std::holds_alternative<ProbeNotRun>(result)) note_completed(slot, scheduler_.now());
    std::visit(Overloaded{
                   [&](const ProbeSucceeded&) {},
                   [&](const ProbeFailed& failed) { slot.set_error(failed.detail); },
                   [&](const ProbeNotRun& not_run) { slot.set_error(not_run.detail); },
               },
               result);
    std::visit([&](auto&& r) { dispatch(slot, Event{std::forward<decltype(r)>(r)}); },
               std::move(result));
    flush();
  });
}

void CheckEngine::note_completed(Slot& slot, TimePoint now) {
  slot.last_completed = now;
  slot.has_completed = true;
  timings_.duration[static_cast<size_t>(slot.machine.spec().identity.type)].record(
      now - slot.started, CheckTimings::kDurationBounds);
}

void CheckEngine::leave(Slot& slot) {
  if (slot.probing) prober_.cancel(slot.running);
  slot.probing = false;
  SharedProbe* probe = std::exchange(slot.shared, nullptr);
  if (probe == nullptr) return;
  std::erase(probe->members, &slot);
  if (!probe->members.empty()) return;
  prober_.cancel(probe->id);
  std::erase_if(slot.group->running, [probe](const auto& p) { return p.get() == probe; });
}

void CheckEngine::deliver(Group& group, SharedProbe* probe, ProbeResult result) {
  const auto it = std::find_if(group.running.begin(), group.running.end(),
                               [probe](const auto& p) { return p.get() == probe; });
  assert(it != group.running.end());
  const std::unique_ptr<SharedProbe> done = std::move(*it);
  group.running.erase(it);
  const TimePoint now = scheduler_.now();
  std::string error;
  std::visit(Overloaded{
                 [&](const ProbeSucceeded&) {},
                 [&](const ProbeFailed& failed) { error = failed.detail; },
                 [&](const ProbeNotRun& not_run) { error = not_run.detail; },
             },
             result);
  for (Slot* member : done->members) {
    member->shared = nullptr;
    member->set_latency(now - member->started);
    if (!std::holds_alternative<ProbeNotRun>(result)) note_completed(*member, now);
    if (!std::holds_alternative<ProbeSucceeded>(result)) member->set_error(error);
  }
  // The same event for every member, in the order they joined.
  for (Slot* member : done->members)
    std::visit([&](const auto& r) { dispatch(*member, Event{r}); }, result);
  flush();
}

void CheckEngine::flush() {
  if (touched_.empty()) return;
  // Only the services an event touched since the last flush (a walk over every service after
  // each probe result cost 35% of the check thread with 2,313 virtual servers: bench/checkers).
  std::vector<Service*> touched;
  touched.swap(touched_);
  if (touched.size() > 1) {
    std::sort(touched.begin(), touched.end(),
              [](const Service* a, const Service* b) { return a->order < b->order; });
  }
  HealthBatch batch;
  for (Service* service : touched) {
    service->touched = false;
    if (service->dirty) {
      service->dirty = false;
      DesiredService desired = service->verdicts.desired();
      if (!service->sent || *service->sent != desired) {
        batch.push_back({service->verdicts.spec().key, desired});
        service->sent = std::move(desired);
      }
    }
    if (!service->pending.empty()) {
      NotifyActions pending = std::move(service->pending);
      service->pending.clear();
      if (sinks_.notify) sinks_.notify(service->verdicts.spec(), std::move(pending));
    }
  }
  if (!batch.empty() && sinks_.health) sinks_.health(std::move(batch));
}

std::vector<CheckEngine::CheckerStatus> CheckEngine::status() const {
  std::vector<CheckerStatus> out;
  for (const auto& service : services_) {
    const VirtualServerSpec& spec = service->verdicts.spec();
    for (size_t r = 0; r < service->slots.size(); ++r) {
      for (const auto& slot : service->slots[r]) {
        CheckerStatus s{
            .label = slot->machine.spec().label,
            .virtual_server = spec.label,
            .real_server = spec.real_servers[r].key,
            .up = slot->machine.up(),
            .has_run = slot->machine.has_run(),
            .dynamic_weight = slot->machine.dynamic_weight(),
            .next_probe = slot->machine.next_probe(),
            .probes = slot->probes,
            .probes_not_run = slot->machine.probes_not_run(),
            .last_latency = slot->latency(),
            .last_completed = slot->completed(),
            .type = slot->machine.spec().identity.type,
            .last_error = std::string(slot->error()),
            .shared_with = slot->group != nullptr ? slot->group->members - 1 : 0,
            .paused = slot->paused,
        };
        for (size_t i = 0; i < kReasonCount; ++i)
          s.failures[i] = slot->machine.failures(static_cast<Reason>(i));
        out.push_back(std::move(s));
      }
    }
  }
  return out;
}

std::vector<CheckEngine::ServiceStatus> CheckEngine::service_status() const {
  std::vector<ServiceStatus> out;
  out.reserve(services_.size());
  for (const auto& service : services_) {
    const VirtualServerVerdicts& v = service->verdicts;
    const VirtualServerSpec& spec = v.spec();
    ServiceStatus s{.label = spec.label,
                    .protocol_name = spec.protocol_name,
                    .quorum_up = v.quorum_up(),
                    .sorry_active = v.sorry_active(),
                    .live_weight = v.live_weight(),
                    .quorum = spec.quorum};
    s.real_servers.reserve(spec.real_servers.size());
    for (size_t r = 0; r < spec.real_servers.size(); ++r)
      s.real_servers.push_back({.key = spec.real_servers[r].key,
                                .alive = v.alive(r),
                                .weight = v.effective_weight(r),
                                .changed_at = r < service->alive_changed.size()
                                                  ? service->alive_changed[r]
                                                  : std::nullopt});
    out.push_back(std::move(s));
  }
  return out;
}

// A running service as plan_reload() (reload.h) takes it; `into` is reused between calls.
void CheckEngine::describe_running(const Service& service, RunningVirtualServer& into) {
  into.key = service.verdicts.spec().key;
  into.real_servers.resize(service.slots.size());
  for (size_t r = 0; r < service.slots.size(); ++r) {
    RunningRealServer& rr = into.real_servers[r];
    rr.key = service.verdicts.spec().real_servers[r].key;
    rr.alive = service.verdicts.alive(r);
    rr.checkers.clear();
    for (const auto& slot : service.slots[r])
      rr.checkers.push_back({slot->machine.spec().identity, slot->machine.carried()});
  }
}

CheckEngine::ReloadPreview CheckEngine::preview_reload(const config::Config& config) const {
  ReloadPreview preview;
  for (const auto& service : services_) {
    describe_running(*service, preview.running.emplace_back());
    preview.running_labels.push_back(service->verdicts.spec().label);
  }
  for (const auto& vs : config.lvs.virtual_servers) {
    const auto split = one_checker_per_smtp_host(vs);
    preview.specs.push_back(translate(split ? *split : vs));
  }
  preview.plan = plan_reload(preview.running, preview.specs);
  return preview;
}

size_t CheckEngine::checker_count() const {
  size_t count = 0;
  for (const auto& service : services_)
    for (const auto& slots : service->slots)
      count += slots.size();
  return count;
}

}  // namespace vigil::check
