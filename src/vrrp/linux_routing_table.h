// NetlinkRoutingTable: the RoutingTable of a Linux host. Routes and rules are added and removed
// with rtnetlink (libnl-route-3), waiting for the kernel's acknowledgement (the kernel handles
// the request inside the send call, as for addresses).
#pragma once

#include <memory>

#include "common/result.h"
#include "vrrp/routing.h"

struct nl_sock;

namespace vigil::vrrp {

class NetlinkRoutingTable final : public RoutingTable {
 public:
  static Result<std::unique_ptr<NetlinkRoutingTable>> open();
  ~NetlinkRoutingTable() override;
  NetlinkRoutingTable(const NetlinkRoutingTable&) = delete;
  NetlinkRoutingTable& operator=(const NetlinkRoutingTable&) = delete;

  // A route is removed with the attributes it was added with (table, metric, tos, scope,
  // protocol, device, gateway), so another route to the same prefix stays. Present entries count
  // as added, absent ones as removed.
  Status apply(const RoutingChange& change) override;

 private:
  explicit NetlinkRoutingTable(nl_sock* sock) : sock_(sock) {}
  Status change_route(const Route& route, bool add);
  Status change_rule(const Rule& rule, bool add);

  nl_sock* sock_;
};

}  // namespace vigil::vrrp
