#include "vrrp/linux_routing_table.h"

#include <fmt/format.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>

#include "common/log.h"
#include "common/overloaded.h"
#include "vrrp/linux_netdev.h"
#include "vrrp/linux_nl_addr.h"

namespace vigil::vrrp {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("vrrp");
  return *instance;
}

struct RouteDeleter {
  void operator()(rtnl_route* route) const { rtnl_route_put(route); }
};
struct RuleDeleter {
  void operator()(rtnl_rule* rule) const { rtnl_rule_put(rule); }
};

int family_of(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? AF_INET : AF_INET6;
}

}  // namespace

Result<std::unique_ptr<NetlinkRoutingTable>> NetlinkRoutingTable::open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return Error{"nl_socket_alloc failed"};
  if (int err = nl_connect(sock, NETLINK_ROUTE); err < 0) {
    nl_socket_free(sock);
    return Error{fmt::format("rtnetlink connect: {}", nl_geterror(err))};
  }
  return std::unique_ptr<NetlinkRoutingTable>(new NetlinkRoutingTable(sock));
}

NetlinkRoutingTable::~NetlinkRoutingTable() {
  nl_socket_free(sock_);
}

Status NetlinkRoutingTable::apply(const RoutingChange& change) {
  const bool add = change.op == RoutingChange::Op::kAdd;
  return std::visit(Overloaded{
                        [&](const Route& route) { return change_route(route, add); },
                        [&](const Rule& rule) { return change_rule(rule, add); },
                    },
                    change.entry);
}

Status NetlinkRoutingTable::change_route(const Route& route, bool add) {
  auto fail = [&](std::string_view why) {
    return Status(
        Error{fmt::format("route {} {}: {}", add ? "add" : "del", to_string(route), why)});
  };
  std::unique_ptr<rtnl_route, RouteDeleter> request(rtnl_route_alloc());
  NlAddrPtr destination = to_nl_addr(route.destination.address, route.destination.length);
  if (!request || !destination) return fail("out of memory");
  rtnl_route_set_family(request.get(), family_of(route.destination.address.family()));
  if (int err = rtnl_route_set_dst(request.get(), destination.get()); err < 0)
    return fail(nl_geterror(err));
  rtnl_route_set_table(request.get(), route.table);
  rtnl_route_set_type(request.get(), route.type);
  rtnl_route_set_protocol(request.get(), route.protocol);
  // The same scope on add and delete (libnl would guess one for "any"): universe unless set.
  rtnl_route_set_scope(request.get(), route.scope.value_or(RT_SCOPE_UNIVERSE));
  rtnl_route_set_tos(request.get(), route.tos);
  if (route.metric) rtnl_route_set_priority(request.get(), *route.metric);
  if (route.onlink) rtnl_route_set_flags(request.get(), RTNH_F_ONLINK);
  if (route.preferred_source) {
    NlAddrPtr source = to_nl_addr(*route.preferred_source);
    if (int err = rtnl_route_set_pref_src(request.get(), source.get()); err < 0)
      return fail(nl_geterror(err));
  }
  if (route.gateway || !route.device.empty()) {
    rtnl_nexthop* hop = rtnl_route_nh_alloc();
    if (hop == nullptr) return fail("out of memory");
    if (!route.device.empty()) {
      auto ifindex = interface_index(route.device);
      if (!ifindex) {
        rtnl_route_nh_free(hop);
        return fail(ifindex.error().message);
      }
      rtnl_route_nh_set_ifindex(hop, *ifindex);
    }
    if (route.gateway) {
      NlAddrPtr gateway = to_nl_addr(*route.gateway);
      rtnl_route_nh_set_gateway(hop, gateway.get());
    }
    if (route.onlink) rtnl_route_nh_set_flags(hop, RTNH_F_ONLINK);
    rtnl_route_add_nexthop(request.get(), hop);  // the route owns it now
  }
  if (add) {
    int flags = 0;
    if (route.mode == Route::Mode::kExclusive) flags = NLM_F_EXCL;
    if (route.mode == Route::Mode::kAppend) flags = NLM_F_APPEND;
    const int err = rtnl_route_add(sock_, request.get(), flags);
    if (err == -NLE_EXIST) {
      logger().debug("route {} already present", to_string(route));
      return {};
    }
    if (err < 0) return fail(nl_geterror(err));
    return {};
  }
  const int err = rtnl_route_delete(sock_, request.get(), 0);
  if (err == -NLE_OBJ_NOTFOUND) {
    logger().debug("route {} already absent", to_string(route));
    return {};
  }
  if (err < 0) return fail(nl_geterror(err));
  return {};
}

Status NetlinkRoutingTable::change_rule(const Rule& rule, bool add) {
  auto fail = [&](std::string_view why) {
    return Status(Error{fmt::format("rule {} {}: {}", add ? "add" : "del", to_string(rule), why)});
  };
  std::unique_ptr<rtnl_rule, RuleDeleter> request(rtnl_rule_alloc());
  if (!request) return fail("out of memory");
  rtnl_rule_set_family(request.get(), family_of(rule.family));
  rtnl_rule_set_prio(request.get(), rule.priority);
  rtnl_rule_set_action(request.get(), rule.action);
  if (rule.action == FR_ACT_TO_TBL) rtnl_rule_set_table(request.get(), rule.table);
  if (rule.action == FR_ACT_GOTO) rtnl_rule_set_goto(request.get(), rule.goto_target);
  if (rule.from) {
    NlAddrPtr from = to_nl_addr(rule.from->address, rule.from->length);
    if (int err = rtnl_rule_set_src(request.get(), from.get()); err < 0)
      return fail(nl_geterror(err));
  }
  if (rule.to) {
    NlAddrPtr to = to_nl_addr(rule.to->address, rule.to->length);
    if (int err = rtnl_rule_set_dst(request.get(), to.get()); err < 0)
      return fail(nl_geterror(err));
  }
  if (!rule.iif.empty()) {
    if (int err = rtnl_rule_set_iif(request.get(), rule.iif.c_str()); err < 0)
      return fail(nl_geterror(err));
  }
  if (!rule.oif.empty()) {
    if (int err = rtnl_rule_set_oif(request.get(), rule.oif.c_str()); err < 0)
      return fail(nl_geterror(err));
  }
  if (rule.fwmark) rtnl_rule_set_mark(request.get(), *rule.fwmark);
  if (rule.fwmask) rtnl_rule_set_mask(request.get(), *rule.fwmask);
  if (rule.tos != 0) rtnl_rule_set_dsfield(request.get(), rule.tos);
  if (rule.protocol) {
    if (int err = rtnl_rule_set_protocol(request.get(), *rule.protocol); err < 0)
      return fail(nl_geterror(err));
  }
  if (add) {
    const int err = rtnl_rule_add(sock_, request.get(), NLM_F_EXCL);
    if (err == -NLE_EXIST) {
      logger().debug("rule {} already present", to_string(rule));
      return {};
    }
    if (err < 0) return fail(nl_geterror(err));
    return {};
  }
  const int err = rtnl_rule_delete(sock_, request.get(), 0);
  if (err == -NLE_OBJ_NOTFOUND) {
    logger().debug("rule {} already absent", to_string(rule));
    return {};
  }
  if (err < 0) return fail(nl_geterror(err));
  return {};
}

}  // namespace vigil::vrrp
