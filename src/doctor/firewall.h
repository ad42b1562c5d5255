// vigilctl doctor's firewall check: what the host's nftables ruleset does with the VRRP adverts
// an instance must receive, judged in pure code from `nft -j list ruleset` (iptables-nft rules
// are nftables rules and appear there too; iptables-legacy rules do not).
//
// An advert (RFC 3768 §5.1 / RFC 5798 §5: IP protocol 112, TTL / hop limit 255) from a unicast
// peer, or from any router on the link to the instance's multicast group (224.0.0.18, ff02::12),
// is followed through every base chain it meets on its way to a local socket: the ingress hook
// (netdev and inet chains bound to the instance's interface), then prerouting and input (ip and
// inet for IPv4, ip6 and inet for IPv6), each hook's chains by priority. In each chain its rules
// are tried in order, following jump / goto / return, anonymous and named sets and verdict
// maps, and the chain's policy at its end. An accept ends that base chain only (the next one
// still sees the packet); a drop or reject anywhere ends its way.
//
// The advert's facts: protocol 112 (ip protocol, ip6 nexthdr, meta l4proto), its addresses,
// its input interface (iifname, iif), meta nfproto / protocol / pkttype, and ct state new (the
// first advert of a flow always is: a drop of new adverts drops them all). Counters, logs,
// comments, marks and set updates do not decide anything. Whatever else a rule matches on
// (fib, marks, limits, xt matches, ports of other protocols are fine: they never match 112), and
// a sender's address where the instance does not know it (multicast), cannot be judged: the
// judge then follows both ways, the rule matching and not, and only when they disagree says
// that it cannot judge, naming the rule. It never guesses.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"

namespace vigil::doctor::firewall {

// One advert on its way in.
struct Advert {
  AddressFamily family = AddressFamily::kIpv4;
  std::optional<IpAddress> source;       // unset: any router on the link (multicast)
  std::optional<IpAddress> destination;  // unset: one of this host's unicast addresses
  std::string interface;
};

// A base chain, or a rule in a chain (handle 0: the chain's policy).
struct Place {
  std::string family;  // "ip", "ip6", "inet", "netdev"
  std::string table;
  std::string chain;
  uint64_t handle = 0;
  auto operator<=>(const Place&) const = default;
};
// "inet filter input" (no handle).
std::string chain_name(const Place& place);

enum class Outcome : uint8_t { kAccepted, kDropped, kUnknown };

// What one base chain did with the advert.
struct Step {
  Place base;             // the base chain (handle 0)
  Place by;               // the rule that decided (handle 0: the policy)
  std::string verdict;    // "accept", "drop", "reject", "policy accept", "policy drop"
  bool iptables = false;  // the base chain belongs to iptables-nft (INPUT of table ip filter)
};

struct Judgement {
  Outcome outcome = Outcome::kAccepted;
  // The way the advert went when every rule that cannot be judged does not match: each base
  // chain it crossed; for kDropped the last step is the drop.
  std::vector<Step> steps;
  // kUnknown: the rules that could not be judged (in the order met) and why, and what the
  // advert's fate depends on.
  std::vector<std::pair<Place, std::string>> unjudged;
};

// The parsed ruleset.
class Ruleset {
 public:
  // From `nft -j list ruleset`'s output. nft 1.0.6 leaves an ingress chain's devices out of
  // its JSON: they are read from `listing` (`nft -a list ruleset`) when given; an ingress chain
  // whose devices are known from neither may or may not concern the advert.
  static Result<Ruleset> parse(std::string_view json_text, std::string_view listing = {});
  Ruleset();
  ~Ruleset();
  Ruleset(Ruleset&&) noexcept;
  Ruleset& operator=(Ruleset&&) noexcept;

  [[nodiscard]] Judgement judge(const Advert& advert) const;
  [[nodiscard]] bool empty() const;  // no base chain on the hooks an advert crosses

 private:
  struct Data;
  std::unique_ptr<Data> data_;
  friend class Walker;
};

// Each rule's text as `nft -a list ruleset` prints it (counters' values left out:
// "meta l4proto vrrp counter drop"), by its place.
std::map<Place, std::string> rule_texts(std::string_view listing);

}  // namespace vigil::doctor::firewall
