// An instance's virtual_routes and virtual_rules: what they are in rtnetlink's terms, when they
// are added and removed (pure: each function returns the changes in the order to apply them),
// and the RoutingTable role that applies one change (rtnetlink in the daemon, a fake in tests).
//
// keepalived 2.2.7's order: becoming MASTER adds the addresses, then the routes, then the rules;
// leaving MASTER (BACKUP, FAULT, stop) removes the rules, then the routes, then the addresses.
// VipsWithRouting ties them to the addresses so that the Instance's AddVips / RemoveVips
// actions move them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "vrrp/host.h"

namespace vigil::vrrp {

inline constexpr uint8_t kRouteProtocolKeepalived = 18;  // RTPROT_KEEPALIVED

// One route as rtnetlink takes it (RTM_NEWROUTE / RTM_DELROUTE).
struct Route {
  IpPrefix destination;
  uint8_t type = 1;                           // RTN_UNICAST, RTN_BLACKHOLE (6), ...
  std::optional<IpAddress> preferred_source;  // RTA_PREFSRC (`src`)
  std::optional<IpAddress> gateway;           // RTA_GATEWAY (`via`)
  std::string device;                         // RTA_OIF by name; empty: none
  uint32_t table = 254;                       // RT_TABLE_MAIN
  std::optional<uint32_t> metric;             // RTA_PRIORITY
  std::optional<uint8_t> scope;               // unset: universe on add, any on delete
  uint8_t protocol = kRouteProtocolKeepalived;
  uint8_t tos = 0;
  bool onlink = false;
  // On add, when a matching route exists: prepend (the default, NLM_F_CREATE), fail (`add`,
  // NLM_F_EXCL) or append (NLM_F_APPEND).
  enum class Mode : uint8_t { kPrepend, kExclusive, kAppend } mode = Mode::kPrepend;
  bool operator==(const Route&) const = default;
};

// One policy routing rule (RTM_NEWRULE / RTM_DELRULE).
struct Rule {
  AddressFamily family = AddressFamily::kIpv4;
  std::optional<IpPrefix> from;
  std::optional<IpPrefix> to;
  uint8_t action = 1;  // FR_ACT_TO_TBL, FR_ACT_GOTO (2), FR_ACT_NOP (3), blackhole (6), ...
  uint32_t table = 0;
  uint32_t goto_target = 0;
  uint32_t priority = 0;
  std::string iif;
  std::string oif;
  std::optional<uint32_t> fwmark;
  std::optional<uint32_t> fwmask;
  uint8_t tos = 0;
  // FRA_PROTOCOL keepalived (18) for a tracked rule, as keepalived marks them; none otherwise.
  std::optional<uint8_t> protocol;
  bool operator==(const Rule&) const = default;
};

// `ip route` / `ip rule` style text, for logs and messages.
std::string to_string(const Route& route);
std::string to_string(const Rule& rule);

struct RoutingChange {
  enum class Op : uint8_t { kAdd, kRemove };
  Op op = Op::kAdd;
  std::variant<Route, Rule> entry;
  bool operator==(const RoutingChange&) const = default;
};
using RoutingChanges = std::vector<RoutingChange>;
std::string to_string(const RoutingChange& change);

// An instance's virtual_routes and virtual_rules, in configuration order.
struct InstanceRouting {
  std::vector<Route> routes;
  std::vector<Rule> rules;
  [[nodiscard]] bool empty() const { return routes.empty() && rules.empty(); }
  bool operator==(const InstanceRouting&) const = default;
};

// Becoming MASTER: every route, then every rule (a rule may send traffic to a table the routes
// fill).
RoutingChanges routing_on_master(const InstanceRouting& routing);
// Leaving MASTER (BACKUP, FAULT, stop, removed by a reload): every rule, then every route.
RoutingChanges routing_on_leaving_master(const InstanceRouting& routing);
// A reload that changes a MASTER's routes or rules: the rules, then the routes, that `after` no
// longer has are removed. The instance then resumes as MASTER with `after`, which adds every
// entry again, as keepalived re-adds them all (the kernel removes a route whose source address
// went away without telling anyone). Not MASTER: nothing to do.
RoutingChanges routing_dropped_by_reload(const InstanceRouting& before,
                                         const InstanceRouting& after);

// The host role: one change at a time. Adding an entry that is present and removing one that is
// absent succeed.
class RoutingTable {
 public:
  virtual ~RoutingTable() = default;
  virtual Status apply(const RoutingChange& change) = 0;
};

// Applies every change; one failure never stops the others. Returns the first failure, naming how
// many more there were; `failed` (if given) counts each failed change.
Status apply_changes(RoutingTable& table, const RoutingChanges& changes,
                     uint64_t* failed = nullptr);

// A VipManager in front of another that moves the instance's routes and rules with its
// addresses: after the addresses are added, before they are removed. `routing` is the
// instance's; set_routing() changes it (a reload), without touching the kernel.
class VipsWithRouting final : public VipManager {
 public:
  // A failure is returned (the Instance logs it with its name and counts it as a VIP failure).
  VipsWithRouting(VipManager& inner, RoutingTable& table, InstanceRouting routing)
      : inner_(inner), table_(table), routing_(std::move(routing)) {}

  Status add_addresses(const std::string& interface,
                       const std::vector<VirtualAddress>& addresses) override;
  Status remove_addresses(const std::string& interface,
                          const std::vector<VirtualAddress>& addresses) override;
  Status announce(const std::string& interface, const std::vector<VirtualAddress>& addresses,
                  int count, const std::shared_ptr<AnnounceTally>& tally) override {
    return inner_.announce(interface, addresses, count, tally);
  }

  [[nodiscard]] const InstanceRouting& routing() const { return routing_; }
  void set_routing(InstanceRouting routing) { routing_ = std::move(routing); }
  // Routes and rules that could not be added or removed (each change counts once).
  [[nodiscard]] uint64_t failures() const { return failures_; }

 private:
  VipManager& inner_;
  RoutingTable& table_;
  InstanceRouting routing_;
  uint64_t failures_ = 0;
};

}  // namespace vigil::vrrp
