#include "daemon/control.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "daemon/control_util.h"
#include "daemon/metrics_gather.h"
#include "event/event_loop.h"

namespace vigil::daemon {
namespace {

using control_detail::json_response;
using control_detail::logger;

}  // namespace

std::vector<api::OverrideStatus> override_statuses(const std::vector<lvs::OverrideEntry>& entries) {
  std::vector<api::OverrideStatus> out;
  out.reserve(entries.size());
  for (const auto& e : entries) {
    const lvs::Override& o = e.override_;
    out.push_back({.virtual_server = lvs::format_virtual_server(e.target.virtual_server),
                   .real_server = lvs::format_real_server(e.target.real_server),
                   .kind = std::string(lvs::to_string(o.kind)),
                   .weight = o.weight,
                   .reason = o.reason,
                   .uid = o.uid,
                   .pid = o.pid,
                   .since = o.since,
                   .expires = o.expires,
                   .orphaned = e.orphaned});
  }
  return out;
}

Result<std::unique_ptr<ControlServer>> ControlServer::start(event::EventLoop& loop,
                                                            ControlOptions options) {
  std::unique_ptr<ControlServer> server(new ControlServer(loop, std::move(options)));
  ControlServer* raw = server.get();
  auto route = [raw](SocketKind kind) {
    return [raw, kind](const api::HttpRequest& request, const api::PeerCredentials& peer,
                       api::Responder respond) {
      raw->handle(kind, request, peer, std::move(respond));
    };
  };
  auto admin = api::ControlSocketServer::listen(loop, raw->options_.sockets.admin,
                                                api::SocketAccess{.mode = 0600},
                                                route(SocketKind::kAdmin), raw->options_.limits);
  if (!admin) return admin.error();
  server->admin_ = std::move(*admin);
  auto read_only = api::ControlSocketServer::listen(
      loop, raw->options_.sockets.read_only,
      api::SocketAccess{.mode = 0660, .group = raw->options_.read_only_group},
      route(SocketKind::kReadOnly), raw->options_.limits);
  if (!read_only) return read_only.error();
  server->read_only_ = std::move(*read_only);
  if (const auto& listen = raw->options_.metrics_listen) {
    auto metrics = api::ControlSocketServer::listen_tcp(
        loop, listen->address, listen->port, route(SocketKind::kMetrics), raw->options_.limits);
    if (!metrics) return Error{"metrics listener: " + metrics.error().message};
    server->metrics_ = std::move(*metrics);
    logger()->info("[control] serving GET /metrics on {}", server->metrics_->path());
  }
  if (api::EventJournal* journal = raw->options_.events; journal != nullptr) {
    raw->followers_ = std::make_unique<api::EventFollowers>(
        loop.scheduler(), [journal] { return journal->now_unix_ms(); },
        raw->options_.events_heartbeat);
    journal->set_listener([raw](const api::Event& e) { raw->followers_->send(e); });
  }
  logger()->info("[control] serving {} (admin) and {} (read-only)", raw->options_.sockets.admin,
                 raw->options_.sockets.read_only);
  return server;
}

ControlServer::ControlServer(event::EventLoop& loop, ControlOptions options)
    : loop_(loop), options_(std::move(options)), vrrp_maintenance_(options_.vrrp_maintenance) {}

ControlServer::~ControlServer() {
  *alive_ = false;
  if (options_.events != nullptr) options_.events->set_listener({});
}

namespace {

// Where `value` stands in `names`, whose last entry ("other") stands for anything else.
template <size_t N>
size_t index_or_other(const std::array<std::string_view, N>& names, std::string_view value) {
  for (size_t i = 0; i + 1 < N; ++i)
    if (names[i] == value) return i;
  return N - 1;
}

}  // namespace

size_t ControlRequestCounts::path_index(std::string_view path) {
  return index_or_other(kPaths, path);
}

size_t ControlRequestCounts::method_index(std::string_view method) {
  return index_or_other(kMethods, method);
}

void ControlRequestCounts::count(SocketKind kind, std::string_view path, std::string_view method) {
  ++counts_[static_cast<size_t>(kind)][path_index(path)][method_index(method)];
}

uint64_t ControlRequestCounts::get(SocketKind kind, std::string_view path,
                                   std::string_view method) const {
  return counts_[static_cast<size_t>(kind)][path_index(path)][method_index(method)];
}

void ControlRequestCounts::add_to(api::MetricFamily& family) const {
  for (size_t l = 0; l < kListeners.size(); ++l) {
    for (size_t p = 0; p < kPaths.size(); ++p) {
      for (size_t m = 0; m < kMethods.size(); ++m) {
        if (counts_[l][p][m] == 0) continue;
        family.add({{"listener", std::string(kListeners[l])},
                    {"path", std::string(kPaths[p])},
                    {"method", std::string(kMethods[m])}},
                   static_cast<double>(counts_[l][p][m]));
      }
    }
  }
}

const api::ServerCounters& ControlServer::admin_counters() const {
  return admin_->counters();
}
const api::ServerCounters& ControlServer::read_only_counters() const {
  return read_only_->counters();
}

void ControlServer::handle(SocketKind kind, const api::HttpRequest& request,
                           const api::PeerCredentials& peer, api::Responder respond) {
  requests_.count(kind, request.path, request.method);
  const std::string who = fmt::format("uid {} pid {}", peer.uid, peer.pid);
  // The admin socket is root's by its mode; a descriptor passed on to someone else is not.
  if (kind == SocketKind::kAdmin && peer.uid != 0) {
    respond(api::error_response(403, "the admin socket serves root only"));
    return;
  }
  const bool is_get = request.method == "GET";
  const bool is_post = request.method == "POST";
  // The metrics listener (TCP, anyone who reaches it) answers /metrics and nothing else.
  if (request.path == "/metrics" || kind == SocketKind::kMetrics) {
    if (request.path != "/metrics") {
      respond(api::error_response(404, "no such resource: " + request.path));
    } else if (!is_get) {
      respond(api::error_response(405, "/metrics is read with GET"));
    } else {
      metrics(kind, request, std::move(respond));
    }
    return;
  }
  if (request.path == "/v1/status") {
    if (!is_get) {
      respond(api::error_response(405, "/v1/status is read with GET"));
      return;
    }
    status({}, std::move(respond));
    return;
  }
  if (request.path == "/v1/services") {
    if (!is_get) {
      respond(api::error_response(405, "/v1/services is read with GET"));
      return;
    }
    status({.real_servers = true}, std::move(respond));
    return;
  }
  if (request.path == "/v1/events") {
    if (!is_get) {
      respond(api::error_response(405, "/v1/events is read with GET"));
      return;
    }
    events(request, std::move(respond));
    return;
  }
  if (request.path == "/v1/reload") {
    if (!is_post) {
      respond(api::error_response(405, "/v1/reload is a change: POST"));
      return;
    }
    if (kind == SocketKind::kReadOnly) {
      respond(api::error_response(
          403, "the read-only socket takes no changes: use the admin socket (root)"));
      return;
    }
    std::string reason;
    bool dry_run = false;
    if (!request.body.empty()) {
      auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_discarded() || !body.is_object()) {
        respond(api::error_response(400, "the body must be a JSON object"));
        return;
      }
      if (auto it = body.find("reason"); it != body.end() && it->is_string()) reason = *it;
      if (auto it = body.find("dry_run"); it != body.end()) {
        if (!it->is_boolean()) {
          respond(api::error_response(400, "dry_run must be true or false"));
          return;
        }
        dry_run = it->get<bool>();
      }
    }
    if (dry_run) {
      logger()->info("[control] reload plan (dry run) requested by {}", who);
      plan(std::move(respond));
      return;
    }
    const std::string caller = who + (reason.empty() ? "" : ", reason: " + reason);
    logger()->info("[control] reload requested by {}", caller);
    ReloadOutcome outcome = options_.reload(caller);
    if (outcome.applied) {
      respond(json_response(200, {{"applied", true}, {"message", outcome.message}}));
    } else {
      respond(json_response(422, {{"applied", false},
                                  {"error", outcome.message},
                                  {"status", 422},
                                  {"errors", outcome.errors}}));
    }
    return;
  }
  if (handle_vrrp_ops(kind, request, peer, respond)) return;
  if (request.path == "/v1/vrrp/garp") {
    if (!is_post) {
      respond(api::error_response(405, "/v1/vrrp/garp is a change: POST"));
      return;
    }
    if (kind == SocketKind::kReadOnly) {
      respond(api::error_response(
          403, "the read-only socket takes no changes: use the admin socket (root)"));
      return;
    }
    auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object() || !body.contains("instance") ||
        !body["instance"].is_string()) {
      respond(api::error_response(400, "the body must be {\"instance\": \"VI_1\"}"));
      return;
    }
    VrrpService* vrrp = options_.vrrp ? options_.vrrp() : nullptr;
    if (vrrp == nullptr) {
      respond(api::error_response(409, "this vigild runs no VRRP instance"));
      return;
    }
    const std::string name = body["instance"].get<std::string>();
    logger()->info("[control] vrrp garp {} requested by {}", name, who);
    // Answered from the VRRP thread's outcome, handed back to this loop.
    vrrp->announce(
        name, [&loop = loop_, alive = alive_, name, respond = std::move(respond)](Status sent) {
          loop.post([alive, name, respond, sent] {
            if (!*alive) return;
            if (sent) {
              respond(json_response(200, {{"instance", name}, {"announced", true}}));
            } else {
              const bool unknown = sent.error().message.rfind("no vrrp_instance", 0) == 0;
              respond(api::error_response(unknown ? 404 : 409, sent.error().message));
            }
          });
        });
    return;
  }
  if (request.path == "/v1/log") {
    if (!is_post) {
      respond(api::error_response(405, "/v1/log is a change: POST"));
      return;
    }
    if (kind == SocketKind::kReadOnly) {
      respond(api::error_response(
          403, "the read-only socket takes no changes: use the admin socket (root)"));
      return;
    }
    respond(change_log_level(request, peer));
    return;
  }
  if (request.path == "/v1/overrides") {
    if (!is_get) {
      respond(
          api::error_response(405, "/v1/overrides is read with GET; change one with POST /v1/rs"));
      return;
    }
    LvsService* lvs = options_.lvs ? options_.lvs() : nullptr;
    nlohmann::json list = nlohmann::json::array();
    if (lvs != nullptr) {
      for (const auto& o : override_statuses(lvs->overrides()))
        list.push_back(api::to_json(o));
    }
    respond(json_response(200, {{"schema", "vigil-overrides/1"},
                                {"local_to_this_director", true},
                                {"overrides", std::move(list)}}));
    return;
  }
  if (request.path == "/v1/rs") {
    if (!is_post) {
      respond(api::error_response(405, "/v1/rs is a change: POST"));
      return;
    }
    if (kind == SocketKind::kReadOnly) {
      respond(api::error_response(
          403, "the read-only socket takes no changes: use the admin socket (root)"));
      return;
    }
    respond(change_real_server(request, peer));
    return;
  }
  logger()->debug("[control] {}: {} {}: no such resource", who, request.method, request.path);
  respond(api::error_response(404, "no such resource: " + request.path));
}

api::HttpResponse ControlServer::change_real_server(const api::HttpRequest& request,
                                                    const api::PeerCredentials& peer) {
  LvsService* lvs = options_.lvs ? options_.lvs() : nullptr;
  if (lvs == nullptr) return api::error_response(409, "this vigild runs no IPVS side (-P)");
  auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    return api::error_response(400, "the body must be a JSON object");
  auto text = [&](const char* name) {
    auto it = body.find(name);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string action = text("action");
  const std::string virtual_server = text("virtual_server");
  const std::string real_server = text("real_server");
  const std::string reason = text("reason").substr(0, lvs::kMaxReasonLength);
  const bool all_vs = body.value("all_vs", false);
  if (virtual_server.empty() && !all_vs)
    return api::error_response(400, "virtual_server is missing (or all_vs)");
  if (real_server.empty()) return api::error_response(400, "real_server is missing");
  OverrideRequest change{.reason = reason, .uid = peer.uid, .pid = peer.pid};
  const bool ready = action == "ready";
  if (!ready) {
    auto parsed = lvs::parse_override_kind(action);
    if (!parsed)
      return api::error_response(
          400, "action must be drain, maint, weight or ready, not '" + action + "'");
    change.kind = *parsed;
  }
  if (change.kind == lvs::OverrideKind::kWeight && !ready) {
    auto it = body.find("weight");
    if (it == body.end() || !it->is_number_unsigned() || it->get<uint64_t>() > INT32_MAX)
      return api::error_response(400, "weight must be a whole number from 0 to 2147483647");
    change.weight = it->get<uint32_t>();
  }
  if (auto it = body.find("for_seconds"); it != body.end()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() == 0 ||
        it->get<uint64_t>() > 10ULL * 365 * 86400)
      return api::error_response(400, "for_seconds must be a positive number of seconds");
    change.lasts = std::chrono::seconds(it->get<int64_t>());
  }
  const auto targets = lvs->resolve_targets(virtual_server, real_server, all_vs);
  if (targets.empty()) {
    return api::error_response(
        404, fmt::format("no real server {} in {}", real_server,
                         all_vs ? std::string("any virtual server") : virtual_server));
  }
  nlohmann::json changed = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& target : targets) {
    const std::string name = lvs::format_target(target);
    // How long the change took inside vigild (IPVS applied and the state file saved): the
    // drain bench (bench/ipvs_program -D) reads it from the log.
    const TimePoint began = loop_.scheduler().now();
    Status done;
    if (ready) {
      done = lvs->clear_override(target, peer.uid, peer.pid, reason);
    } else {
      change.target = target;
      auto set = lvs->set_override(change);
      if (!set) done = set.error();
    }
    if (done) {
      logger()->info(
          "[control] {} {} by uid {} pid {}{} (in {:.2f} ms)", action, name, peer.uid, peer.pid,
          reason.empty() ? "" : ", reason: " + reason,
          std::chrono::duration<double, std::milli>(loop_.scheduler().now() - began).count());
      changed.push_back(name);
    } else {
      errors.push_back(name + ": " + done.error().message);
    }
  }
  const bool ok = errors.empty();
  return json_response(ok ? 200 : 422,
                       {{"action", action},
                        {"changed", std::move(changed)},
                        {"errors", errors},
                        {"status", ok ? 200 : 422},
                        {"error", ok ? std::string() : errors[0].get<std::string>()}});
}

void ControlServer::events(const api::HttpRequest& request, api::Responder respond) {
  if (options_.events == nullptr) {
    respond(api::error_response(409, "this vigild keeps no event journal"));
    return;
  }
  uint64_t since = 0;
  if (auto it = request.query.find("since"); it != request.query.end()) {
    const std::string& text = it->second;
    if (text.empty() || text.size() > 19 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
      respond(api::error_response(400, "since must be an event's sequence number"));
      return;
    }
    since = std::stoull(text);
  }
  bool follow = false;
  if (auto it = request.query.find("follow"); it != request.query.end()) {
    if (it->second != "0" && it->second != "1") {
      respond(api::error_response(400, "follow must be 1 or 0"));
      return;
    }
    follow = it->second == "1";
  }
  std::string lines;
  for (const auto& event : options_.events->since(since))
    lines += api::to_json_line(event);
  api::HttpResponse response{.content_type = "application/x-ndjson", .body = std::move(lines)};
  if (!follow) {
    respond(std::move(response));
    return;
  }
  auto stream = std::make_shared<api::ResponseStream>();
  response.stream = stream;
  respond(std::move(response));
  // Refused (503: too many streams) or the reader left already.
  if (!stream->open()) return;
  followers_->add(std::move(stream), options_.events->last_seq());
}

void ControlServer::metrics(SocketKind kind, const api::HttpRequest& request,
                            api::Responder respond) {
  api::MetricsDetail detail =
      options_.metrics_full_detail ? api::MetricsDetail::kFull : api::MetricsDetail::kBasic;
  if (auto it = request.query.find("detail");
      it != request.query.end() && kind != SocketKind::kMetrics) {
    auto asked = api::parse_metrics_detail(it->second);
    if (!asked) {
      respond(api::error_response(400, "detail must be basic or full"));
      return;
    }
    detail = *asked;
  }
  api::MetricsPart own = options_.daemon_metrics ? options_.daemon_metrics() : api::MetricsPart{};
  auto& accepted = own.family("control_connections_accepted", "Connections accepted, by listener.",
                              api::MetricType::kCounter);
  auto& responses =
      own.family("control_responses", "Responses written in full (any status), by listener.",
                 api::MetricType::kCounter);
  auto& errors = own.family("control_errors",
                            "Connections refused when busy (503), malformed or oversize "
                            "requests, and deadlines passed, by listener.",
                            api::MetricType::kCounter);
  auto& open =
      own.family("control_connections", "Connections open, by listener.", api::MetricType::kGauge);
  requests_.add_to(own.family("control_requests",
                              "Requests read, by listener, path (the API's; any other: other) and "
                              "method (GET, POST, other); a series appears with its first request.",
                              api::MetricType::kCounter));
  // By SocketKind, as ControlRequestCounts::kListeners names them.
  const api::ControlSocketServer* const listeners[] = {admin_.get(), read_only_.get(),
                                                       metrics_.get()};
  for (size_t l = 0; l < std::size(listeners); ++l) {
    const api::ControlSocketServer* server = listeners[l];
    if (server == nullptr) continue;
    const std::string name(ControlRequestCounts::kListeners[l]);
    const api::ServerCounters& c = server->counters();
    const api::MetricLabels labels{{"listener", name}};
    accepted.add(labels, static_cast<double>(c.accepted));
    responses.add(labels, static_cast<double>(c.responses));
    const std::pair<const char*, uint64_t> reasons[] = {
        {"busy", c.refused_busy}, {"bad_request", c.bad_requests}, {"timeout", c.timeouts}};
    for (const auto& [reason, count] : reasons)
      errors.add({{"listener", name}, {"reason", reason}}, static_cast<double>(count));
    open.add(labels, static_cast<double>(server->open_connections()));
  }
  metrics_gatherer_.gather(options_.services(), detail, std::move(own), options_.side_timeout,
                           [respond = std::move(respond)](std::string text) {
                             respond(api::HttpResponse{.content_type = api::kMetricsContentType,
                                                       .body = std::move(text)});
                           });
}

api::HttpResponse ControlServer::change_log_level(const api::HttpRequest& request,
                                                  const api::PeerCredentials& peer) {
  auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object() || !body.contains("level") ||
      !body["level"].is_string())
    return api::error_response(400, "the body must be {\"level\": \"debug\", \"component\": ...}");
  const std::string name = body["level"].get<std::string>();
  static const std::map<std::string, spdlog::level::level_enum> kLevels = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
      {"off", spdlog::level::off}};
  auto level = kLevels.find(name);
  if (level == kLevels.end()) {
    return api::error_response(
        400, "level must be trace, debug, info, warn, error, critical or off, not '" + name + "'");
  }
  const std::string component = body.contains("component") && body["component"].is_string()
                                    ? body["component"].get<std::string>()
                                    : "";
  if (auto set = log::set_level(component, level->second); !set)
    return api::error_response(404, set.error().message);
  logger()->info("[control] log level {} for {} by uid {} pid {}", name,
                 component.empty() ? "every component" : component, peer.uid, peer.pid);
  return json_response(200, {{"level", name}, {"component", component}});
}

void ControlServer::plan(api::Responder respond) {
  if (!options_.read_for_plan) {
    respond(api::error_response(501, "this vigild cannot plan a reload"));
    return;
  }
  auto [header, config] = options_.read_for_plan();
  if (!config) {
    respond(api::HttpResponse{.body = api::to_json_text(header)});
    return;
  }
  plan_gatherer_.gather(
      options_.services(), options_.side_timeout,
      [config](Service& side, std::function<void(api::PlanPart)> reply) {
        side.plan_reload(config, std::move(reply));
      },
      [this, plan = std::move(header), respond = std::move(respond)](
          std::vector<api::PlanPart> parts, size_t silent) mutable {
        for (auto& part : parts)
          api::merge(plan.part, std::move(part));
        if (silent > 0) {
          // An incomplete plan is no plan: say so instead of showing part of one.
          plan.part.refusals.push_back(fmt::format(
              "{} side(s) of vigild did not answer within {} ms: the plan is incomplete", silent,
              std::chrono::duration_cast<std::chrono::milliseconds>(options_.side_timeout)
                  .count()));
          logger()->warn("[control] reload plan: {} side(s) did not answer in time", silent);
        }
        respond(api::HttpResponse{.body = api::to_json_text(plan)});
      });
}

void ControlServer::status(const api::StatusQuery& query, api::Responder respond) {
  status_gatherer_.gather(
      options_.services(), options_.side_timeout,
      [query](Service& side, std::function<void(api::StatusPart)> reply) {
        side.status(query, std::move(reply));
      },
      [this, own = options_.daemon_status(), respond = std::move(respond)](
          std::vector<api::StatusPart> parts, size_t silent) mutable {
        for (auto& part : parts)
          own.merge(std::move(part));
        if (silent > 0) {
          own.warnings.push_back(fmt::format(
              "{} side(s) of vigild did not answer within {} ms: their part is missing", silent,
              std::chrono::duration_cast<std::chrono::milliseconds>(options_.side_timeout)
                  .count()));
          logger()->warn("[control] status: {} side(s) did not answer in time", silent);
        }
        respond(api::HttpResponse{.body = api::to_json_text(own)});
      });
}

}  // namespace vigil::daemon
