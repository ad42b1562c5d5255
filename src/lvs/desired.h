// From the configuration model to the IPVS table vigil wants the kernel to hold.
//
// Pure: the daemon passes the result to datapath::reconcile() with what the kernel holds.
// Which destinations are in, and at what weight, is the checkers' verdict (check/engine.h) for
// every virtual server they reported; before their first report a virtual server is computed
// here as keepalived starts it: every real server in at its configured weight, except those
// with `alpha` and checkers, which wait for their first passing check. Operator overrides
// (lvs/overrides.h) then lower, remove or re-weight what the health let in, whichever way the
// health was decided.
#pragma once

#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "check/engine.h"
#include "config/model.h"
#include "datapath/model.h"
#include "lvs/overrides.h"

namespace vigil::lvs {

// True when the real server is alive, for virtual servers without a checker verdict; unset:
// keepalived's start-up state (alive unless `alpha` with checkers).
using RealServerHealth =
    std::function<bool(const config::VirtualServer&, const config::RealServer&)>;

// The checkers' latest verdict per virtual server (check::virtual_server_key of its block).
using HealthOverlay = std::map<check::VirtualServerKey, check::DesiredService>;

// A service vigil programs as IPVS NAT and whose forwarded traffic it source-NATs (vigil's
// FULLNAT extension): the real servers see the director as the client and need no route back.
struct FullNatService {
  datapath::ServiceKey service;
  std::vector<datapath::DestinationKey> destinations;
  bool operator==(const FullNatService&) const = default;
};

struct DesiredLvs {
  datapath::Table table;
  std::vector<FullNatService> fullnat;
};

DesiredLvs desired_lvs(const config::Config& config, const RealServerHealth& health = {},
                       const HealthOverlay& checkers = {}, const OverrideMap* overrides = nullptr);

// The IPVS services of one virtual_server block (one per service key, in service_keys() order)
// as desired_lvs() computes them, from the checkers' verdict when there is one (else from
// `health`), with `overrides` applied; its FULLNAT services are appended to `fullnat` when given.
std::vector<std::pair<datapath::ServiceKey, datapath::ServiceEntry>> desired_services(
    const config::LvsSection& lvs, const config::VirtualServer& vs,
    const check::DesiredService* verdict, const RealServerHealth& health = {},
    std::vector<FullNatService>* fullnat = nullptr, const OverrideMap* overrides = nullptr);

// True when a real server or the sorry server of `vs` is forwarded as FULLNAT.
bool uses_fullnat(const config::VirtualServer& vs);

// A real server's destination in the IPVS service `key`: its port as written, or the service's
// when written as 0 for an address service (keepalived's rule).
datapath::DestinationKey destination_key(const config::RealServer& rs,
                                         const datapath::ServiceKey& key);

// The service keys one virtual_server block stands for (one, or one per address of its group).
std::vector<datapath::ServiceKey> service_keys(const config::LvsSection& lvs,
                                               const config::VirtualServer& vs);

}  // namespace vigil::lvs
