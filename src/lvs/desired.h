// From the configuration model to the IPVS table vigil wants the kernel to hold.
//
// Pure: the daemon passes the result to datapath::reconcile() with what the kernel holds.
// Real server health comes in as a function; until the checkers exist every real server counts
// as up, as keepalived treats a real server without checkers.
#pragma once

#include <functional>
#include <vector>

#include "config/model.h"
#include "datapath/model.h"

namespace vigil::lvs {

// True when the real server is alive (its checkers say so, or it has none).
using RealServerHealth =
    std::function<bool(const config::VirtualServer&, const config::RealServer&)>;

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

DesiredLvs desired_lvs(const config::Config& config, const RealServerHealth& health = {});

// The service keys one virtual_server block stands for (one, or one per address of its group).
std::vector<datapath::ServiceKey> service_keys(const config::LvsSection& lvs,
                                               const config::VirtualServer& vs);

}  // namespace vigil::lvs
