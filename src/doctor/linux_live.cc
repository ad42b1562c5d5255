// LinuxHost::live_state: a running vigild's services, over its read-only socket (GET
// /v1/services), as vigilctl services reads them. No vigild answering is not an error: the live
// checks are then left out.
#include "api/client.h"
#include "api/status.h"
#include "doctor/doctor.h"

namespace vigil::doctor {

std::optional<LiveState> LinuxHost::live_state(const config::GlobalDefs& global) const {
  // Where vigild, started the same way for this configuration, put it.
  const std::string net_namespace =
      global.net_namespace.empty() ? api::current_named_namespace() : global.net_namespace;
  const std::string socket = api::socket_paths(net_namespace, global.instance).read_only;
  auto response = api::send_request(
      socket, {.method = "GET", .target = "/v1/services", .timeout = std::chrono::seconds(5)});
  if (!response || response->status != 200) return std::nullopt;
  auto status = api::status_from_json(response->body);
  if (!status) return std::nullopt;
  LiveState live{.socket = socket, .services = {}};
  for (const auto& vs : status->virtual_servers) {
    LiveService service{.name = vs.name, .real_servers = {}};
    for (const auto& rs : vs.real_servers) {
      if (!rs.kernel) continue;  // not in IPVS
      service.real_servers.push_back({.address = rs.address,
                                      .kernel_weight = rs.kernel->weight,
                                      .connections = rs.kernel->connections});
    }
    live.services.push_back(std::move(service));
  }
  return live;
}

}  // namespace vigil::doctor
