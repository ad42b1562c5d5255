#include "daemon/control.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "event/event_loop.h"

namespace vigil::daemon {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
  static const auto log = log::get("control");
  return log;
}

api::HttpResponse json_response(int status, const nlohmann::json& body) {
  return api::HttpResponse{.status = status, .body = body.dump(2) + "\n"};
}

// One status request: the daemon's part, then each side's as it arrives (on the main loop),
// answered when the last arrives or the deadline passes.
struct StatusGather {
  explicit StatusGather(Scheduler& scheduler) : deadline(scheduler) {}
  api::DaemonStatus status;
  size_t pending = 0;
  api::Responder respond;
  bool answered = false;
  Timer deadline;

  void answer() {
    if (answered) return;
    answered = true;
    deadline.cancel();
    respond(api::HttpResponse{.body = api::to_json_text(status)});
  }
};

}  // namespace

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
  logger()->info("[control] serving {} (admin) and {} (read-only)", raw->options_.sockets.admin,
                 raw->options_.sockets.read_only);
  return server;
}

ControlServer::ControlServer(event::EventLoop& loop, ControlOptions options)
    : loop_(loop), options_(std::move(options)) {}

ControlServer::~ControlServer() {
  *alive_ = false;
}

const api::ServerCounters& ControlServer::admin_counters() const {
  return admin_->counters();
}
const api::ServerCounters& ControlServer::read_only_counters() const {
  return read_only_->counters();
}

void ControlServer::handle(SocketKind kind, const api::HttpRequest& request,
                           const api::PeerCredentials& peer, api::Responder respond) {
  const std::string who = fmt::format("uid {} pid {}", peer.uid, peer.pid);
  // The admin socket is root's by its mode; a descriptor passed on to someone else is not.
  if (kind == SocketKind::kAdmin && peer.uid != 0) {
    respond(api::error_response(403, "the admin socket serves root only"));
    return;
  }
  const bool is_get = request.method == "GET";
  const bool is_post = request.method == "POST";
  if (request.path == "/v1/status") {
    if (!is_get) {
      respond(api::error_response(405, "/v1/status is read with GET"));
      return;
    }
    status(std::move(respond));
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
    if (!request.body.empty()) {
      auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_discarded() || !body.is_object()) {
        respond(api::error_response(400, "the body must be a JSON object"));
        return;
      }
      if (auto it = body.find("reason"); it != body.end() && it->is_string()) reason = *it;
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
  logger()->debug("[control] {}: {} {}: no such resource", who, request.method, request.path);
  respond(api::error_response(404, "no such resource: " + request.path));
}

void ControlServer::status(api::Responder respond) {
  auto gather = std::make_shared<StatusGather>(loop_.scheduler());
  gather->status = options_.daemon_status();
  gather->respond = std::move(respond);
  const std::vector<Service*> sides = options_.services();
  gather->pending = sides.size();
  if (sides.empty()) {
    gather->answer();
    return;
  }
  std::weak_ptr<StatusGather> weak = gather;
  gather->deadline.arm_after(options_.side_timeout, [weak, timeout = options_.side_timeout] {
    auto g = weak.lock();
    if (!g) return;
    g->status.warnings.push_back(fmt::format(
        "{} side(s) of vigild did not answer within {} ms: their part is missing", g->pending,
        std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
    logger()->warn("[control] status: {} side(s) did not answer in time", g->pending);
    g->answer();
  });
  for (Service* side : sides) {
    // `done` may run on the side's thread: it posts the part to the main loop.
    side->status([gather, alive = alive_, &loop = loop_](api::StatusPart part) {
      loop.post([gather, alive, part = std::move(part)]() mutable {
        if (!*alive || gather->answered) return;
        gather->status.merge(std::move(part));
        if (--gather->pending == 0) gather->answer();
      });
    });
  }
}

}  // namespace vigil::daemon
