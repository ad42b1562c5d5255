// The control routes of `vigilctl vrrp stats` and `vigilctl vrrp maintenance`
// (docs/operations.md): answered from the VRRP thread's outcome, handed back to the main loop;
// a maintenance change is saved in the state file there.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "daemon/control.h"
#include "daemon/control_util.h"
#include "event/event_loop.h"

namespace vigil::daemon {
namespace {

using control_detail::json_response;
using control_detail::logger;

int error_status(const Error& error) {
  return error.message.rfind("no vrrp_instance", 0) == 0 ? 404 : 409;
}

}  // namespace

bool ControlServer::handle_vrrp_ops(SocketKind kind, const api::HttpRequest& request,
                                    const api::PeerCredentials& peer, api::Responder& respond) {
  const bool stats_read = request.path == "/v1/vrrp/stats";
  const bool stats_clear = request.path == "/v1/vrrp/stats/clear";
  const bool maintenance = request.path == "/v1/vrrp/maintenance";
  if (!stats_read && !stats_clear && !maintenance) return false;
  if (stats_read && request.method != "GET") {
    respond(api::error_response(405,
                                "/v1/vrrp/stats is read with GET; clear with POST "
                                "/v1/vrrp/stats/clear"));
    return true;
  }
  if (!stats_read) {
    if (request.method != "POST") {
      respond(api::error_response(405, request.path + " is a change: POST"));
      return true;
    }
    if (kind == SocketKind::kReadOnly) {
      respond(api::error_response(
          403, "the read-only socket takes no changes: use the admin socket (root)"));
      return true;
    }
  }
  nlohmann::json body = nlohmann::json::object();
  if (!stats_read && !request.body.empty()) {
    body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      respond(api::error_response(400, "the body must be a JSON object"));
      return true;
    }
  }
  auto text = [&](const char* name) {
    auto it = body.find(name);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  VrrpService* vrrp = options_.vrrp ? options_.vrrp() : nullptr;
  auto without_vrrp = [&] {
    if (vrrp != nullptr) return false;
    respond(api::error_response(409, "this vigild runs no VRRP instance"));
    return true;
  };
  const std::string who = fmt::format("uid {} pid {}", peer.uid, peer.pid);
  auto reply_on_loop = [&loop = loop_, alive = alive_](api::Responder respond,
                                                       std::function<api::HttpResponse()> make) {
    loop.post([alive, respond = std::move(respond), make = std::move(make)] {
      if (*alive) respond(make());
    });
  };

  if (!maintenance) {
    if (without_vrrp()) return true;
    std::optional<std::string> clear;
    if (stats_clear) {
      clear = text("instance");
      logger()->info("[control] vrrp stats cleared for {} by {}",
                     clear->empty() ? std::string("every instance") : *clear, who);
    }
    vrrp->stats(std::move(clear), [reply_on_loop, respond = std::move(respond)](
                                      Result<std::vector<api::VrrpInstanceStats>> stats) mutable {
      reply_on_loop(std::move(respond), [stats = std::move(stats)] {
        if (!stats) {
          return api::error_response(error_status(stats.error()), stats.error().message);
        }
        return json_response(200, api::to_json(*stats));
      });
    });
    return true;
  }

  MaintenanceRequest change{.instance = text("instance"),
                            .all = body.value("all", false),
                            .reason = text("reason").substr(0, lvs::kMaxReasonLength)};
  auto on = body.find("on");
  if (on == body.end() || !on->is_boolean() || (change.instance.empty() != change.all)) {
    respond(api::error_response(
        400,
        "the body must be {\"on\": true|false, \"instance\": \"VI_1\" or \"all\": true, "
        "\"reason\": ...}"));
    return true;
  }
  change.on = on->get<bool>();
  if (without_vrrp()) return true;
  const std::string target = change.all ? std::string("every instance") : change.instance;
  logger()->info("[control] vrrp maintenance {} {} requested by {}{}", change.on ? "on" : "off",
                 target, who, change.reason.empty() ? "" : ", reason: " + change.reason);
  vrrp->set_maintenance(
      std::move(change), [this, reply_on_loop, peer, respond = std::move(respond)](
                             Result<MaintenanceOutcome> outcome) mutable {
        // On the VRRP thread: the outcome goes to the main loop, which saves it.
        reply_on_loop(std::move(respond), [this, peer, outcome = std::move(outcome)] {
          if (!outcome) {
            return api::error_response(error_status(outcome.error()), outcome.error().message);
          }
          const auto& c = outcome->change;
          lvs::VrrpMaintenanceMap next = vrrp_maintenance_;
          const int64_t now =
              (options_.wall_clock ? options_.wall_clock() : event::wall_clock_now()).unix_seconds;
          for (const auto& name : c.changed) {
            if (c.on) {
              next[name] = lvs::VrrpMaintenance{
                  .reason = outcome->reason, .uid = peer.uid, .pid = peer.pid, .since = now};
            } else {
              next.erase(name);
            }
            logger()->info("[control] vrrp maintenance {} {} by uid {} pid {}", c.on ? "on" : "off",
                           name, peer.uid, peer.pid);
          }
          std::string error;
          if (!c.changed.empty() && options_.save_vrrp_maintenance) {
            if (auto saved = options_.save_vrrp_maintenance(next); !saved) {
              error = "applied, but not saved (a restart forgets it): " + saved.error().message;
              logger()->warn("[control] vrrp maintenance: {}", error);
            }
          }
          vrrp_maintenance_ = std::move(next);
          const int status = error.empty() ? 200 : 500;
          return json_response(status, {{"on", c.on},
                                        {"changed", c.changed},
                                        {"unchanged", c.unchanged},
                                        {"status", status},
                                        {"error", error}});
        });
      });
  return true;
}

}  // namespace vigil::daemon
