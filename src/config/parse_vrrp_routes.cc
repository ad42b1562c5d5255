// virtual_routes and virtual_rules lines (keepalived 2.2.7's grammar, the `ip route` / `ip rule`
// words). Options keepalived knows but vigil does not implement are errors naming the option, so
// a route is never installed without part of what the file asks for.
#include <charconv>
#include <string_view>

#include "config/parse_vrrp_util.h"

namespace vigil::config::vrrp_parse {
namespace {

// keepalived's route options that vigil does not implement (multipath, metrics, encapsulation).
constexpr std::string_view kUnsupportedRouteOptions[] = {
    "from",
    "as",
    "encap",
    "expires",
    "mtu",
    "hoplimit",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "ttl-propagate",
    "fastopen_no_cookie",
    "or",
    "nexthop",
    "track_group",
    "vrf",
};
constexpr std::string_view kRouteOptions[] = {
    "inet",      "inet6",       "to",       "src",        "via",    "dev",      "oif",
    "table",     "metric",      "priority", "preference", "scope",  "protocol", "tos",
    "dsfield",   "onlink",      "add",      "prepend",    "append", "no_track", "unicast",
    "blackhole", "unreachable", "prohibit", "throw",
};
constexpr std::string_view kUnsupportedRuleOptions[] = {
    "not",       "realms",           "suppress_prefixlength",
    "sup_pl",    "suppress_ifgroup", "sup_group",
    "tunnel-id", "uidrange",         "l3mdev",
    "protocol",  "ipproto",          "sport",
    "dport",     "track_group",
};
constexpr std::string_view kRuleOptions[] = {
    "inet",     "inet6", "from",      "to",          "table",    "lookup",   "preference", "order",
    "priority", "dev",   "iif",       "oif",         "fwmark",   "tos",      "dsfield",    "goto",
    "nop",      "type",  "blackhole", "unreachable", "prohibit", "no_track",
};

template <size_t N>
bool listed(std::string_view word, const std::string_view (&words)[N]) {
  for (auto candidate : words) {
    if (candidate == word) return true;
  }
  return false;
}

// An unsigned number as keepalived reads these options (strtoul base 0: decimal or 0x hex).
std::optional<uint64_t> unsigned_number(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string family_name(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? "IPv4" : "IPv6";
}

// The words of one line, read left to right with messages that name the block and the line's
// first word.
class LineReader {
 public:
  LineReader(Item& item, std::string_view block) : item_(item), block_(block) {}

  [[nodiscard]] size_t size() const { return item_.line().tokens.size(); }
  [[nodiscard]] const std::string& word(size_t i) const { return item_.text(i); }
  void error(size_t i, const std::string& message) const {
    item_.error(i, std::string(block_) + ": " + message);
  }
  void warning(size_t i, const std::string& message) const {
    item_.warning(i, std::string(block_) + ": " + message);
  }

  // The value after option i; reports a missing one.
  const std::string* value(size_t& i) const {
    if (i + 1 >= size()) {
      error(i, "'" + word(i) + "' needs a value");
      return nullptr;
    }
    return &word(++i);
  }

  std::optional<uint64_t> number(size_t& i, uint64_t min, uint64_t max) const {
    const std::string* text = value(i);
    if (text == nullptr) return std::nullopt;
    auto n = unsigned_number(*text);
    if (!n || *n < min || *n > max) {
      error(i, word(i - 1) + " '" + *text + "' is not a number in [" + std::to_string(min) + ", " +
                   std::to_string(max) + "]");
      return std::nullopt;
    }
    return n;
  }

  // A routing table: a number 1-4294967295 or main, local, default.
  std::optional<uint32_t> table(size_t& i) const {
    const std::string* text = value(i);
    if (text == nullptr) return std::nullopt;
    if (*text == "main") return kTableMain;
    if (*text == "local") return kTableLocal;
    if (*text == "default") return kTableDefault;
    auto n = unsigned_number(*text);
    if (!n || *n == 0 || *n > UINT32_MAX) {
      error(i, "table '" + *text +
                   "' is not a table number in [1, 4294967295] or main, local, default "
                   "(vigil does not read /etc/iproute2/rt_tables)");
      return std::nullopt;
    }
    return static_cast<uint32_t>(*n);
  }

  // Sets the line's family from `address`, or reports a mix.
  bool same_family(size_t i, AddressFamily address, std::optional<AddressFamily>& family) const {
    if (!family) {
      family = address;
      return true;
    }
    if (*family == address) return true;
    error(i, "'" + word(i) + "' is " + family_name(address) + " but the line is " +
                 family_name(*family) + " (keepalived cannot mix families either)");
    return false;
  }

  // PREFIX, a bare address (full length) or default/all/any (length 0, family resolved later).
  bool prefix(size_t i, std::optional<IpPrefix>& out, bool& any,
              std::optional<AddressFamily>& family) const {
    const std::string& text = word(i);
    if (text == "default" || text == "all" || text == "any") {
      any = true;
      return true;
    }
    auto parsed = IpPrefix::parse(text);
    if (!parsed) {
      error(i, "'" + text + "' is not an IP address or prefix");
      return false;
    }
    if (!same_family(i, parsed->address.family(), family)) return false;
    if (!host_bits_clear(*parsed)) {
      error(i, "'" + text + "' has bits set after the prefix length (the kernel refuses it)");
      return false;
    }
    out = *parsed;
    return true;
  }

  void unknown(size_t i, std::span<const std::string_view> unsupported,
               std::span<const std::string_view> known) const {
    const std::string& option = word(i);
    for (auto word : unsupported) {
      if (word == option) {
        error(i, "'" + option +
                     "' is a keepalived option vigil does not implement; see docs/config.md");
        return;
      }
    }
    std::string message = "unknown option '" + option + "'";
    auto suggestion = did_you_mean(option, known);
    if (!suggestion.empty()) message += "; did you mean '" + std::string(suggestion) + "'?";
    error(i, message);
  }

 private:
  static bool host_bits_clear(const IpPrefix& prefix) {
    const uint8_t* bytes = prefix.address.bytes();
    for (size_t bit = prefix.length; bit < prefix.address.size() * 8; ++bit) {
      if ((bytes[bit / 8] >> (7 - bit % 8)) & 1) return false;
    }
    return true;
  }

  Item& item_;
  std::string_view block_;
};

IpPrefix any_prefix(AddressFamily family) {
  const uint8_t zeros[16] = {};
  return IpPrefix{.address = IpAddress::from_bytes(family, zeros), .length = 0};
}

std::optional<RouteType> route_type(std::string_view word) {
  if (word == "unicast") return RouteType::kUnicast;
  if (word == "blackhole") return RouteType::kBlackhole;
  if (word == "unreachable") return RouteType::kUnreachable;
  if (word == "prohibit") return RouteType::kProhibit;
  if (word == "throw") return RouteType::kThrow;
  return std::nullopt;
}

}  // namespace

std::optional<VirtualRoute> virtual_route(Item& item, std::string_view block) {
  const LineReader in(item, block);
  VirtualRoute route;
  route.loc = item.token(0).loc;
  std::optional<AddressFamily> family;
  std::optional<IpPrefix> destination;
  bool any_destination = false;
  bool protocol_set = false;
  size_t protocol_at = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string& word = in.word(i);
    if (word == "inet" || word == "inet6") {
      if (!in.same_family(i, word == "inet" ? AddressFamily::kIpv4 : AddressFamily::kIpv6, family))
        return std::nullopt;
    } else if (word == "gw") {
      // keepalived 2.2.7 reports it as a configuration error (and reads it as via).
      in.error(i, "'gw' is deprecated in keepalived (a configuration error there): use via");
      return std::nullopt;
    } else if (word == "src" || word == "via") {
      const std::string* text = in.value(i);
      if (text == nullptr) return std::nullopt;
      auto address = IpAddress::parse(*text);
      if (!address) {
        in.error(i, word + " '" + *text + "' is not an IP address");
        return std::nullopt;
      }
      if (!in.same_family(i, address->family(), family)) return std::nullopt;
      (word == "src" ? route.preferred_source : route.gateway) = *address;
    } else if (word == "dev" || word == "oif") {
      const std::string* text = in.value(i);
      if (text == nullptr) return std::nullopt;
      route.dev = *text;
    } else if (word == "table") {
      auto table = in.table(i);
      if (!table) return std::nullopt;
      route.table = *table;
    } else if (word == "metric" || word == "priority" || word == "preference") {
      auto metric = in.number(i, 0, UINT32_MAX);
      if (!metric) return std::nullopt;
      route.metric = static_cast<uint32_t>(*metric);
    } else if (word == "scope") {
      const std::string* text = in.value(i);
      if (text == nullptr) return std::nullopt;
      uint8_t scope = 0;
      if (!parse_scope(*text, scope)) {
        in.error(i, "unknown scope '" + *text +
                        "' (expected global, site, link, host, nowhere or 0-255)");
        return std::nullopt;
      }
      route.scope = scope;
    } else if (word == "protocol") {
      auto protocol = in.number(i, 0, 255);
      if (!protocol) return std::nullopt;
      route.protocol = static_cast<uint8_t>(*protocol);
      protocol_set = true;
      protocol_at = i;
    } else if (word == "tos" || word == "dsfield") {
      auto tos = in.number(i, 0, 255);
      if (!tos) return std::nullopt;
      route.tos = static_cast<uint8_t>(*tos);
    } else if (word == "onlink") {
      route.onlink = true;
    } else if (word == "add") {
      route.add_mode = RouteAddMode::kAdd;
    } else if (word == "prepend") {
      route.add_mode = RouteAddMode::kPrepend;
    } else if (word == "append") {
      route.add_mode = RouteAddMode::kAppend;
    } else if (word == "no_track") {
      route.no_track = true;
    } else if (listed(word, kUnsupportedRouteOptions)) {
      in.unknown(i, kUnsupportedRouteOptions, kRouteOptions);
      return std::nullopt;
    } else {
      // keepalived: [to] [TYPE] DESTINATION
      if (word == "to" && i + 1 < in.size()) ++i;
      if (auto type = route_type(in.word(i))) {
        route.type = *type;
        if (i + 1 >= in.size()) {
          in.error(i, "'" + in.word(i) + "' needs a destination");
          return std::nullopt;
        }
        ++i;
      }
      const std::string& text = in.word(i);
      const bool looks_like_destination =
          text == "default" || text == "all" || text == "any" || IpPrefix::parse(text).has_value();
      if (!looks_like_destination) {
        in.unknown(i, {}, kRouteOptions);
        return std::nullopt;
      }
      if (destination || any_destination) {
        in.error(i, "a second destination '" + text + "' (one route per line)");
        return std::nullopt;
      }
      if (!in.prefix(i, destination, any_destination, family)) return std::nullopt;
    }
  }
  if (!destination && !any_destination) {
    in.error(0, "the route has no destination");
    return std::nullopt;
  }
  const AddressFamily resolved = family.value_or(AddressFamily::kIpv4);
  route.destination = destination ? *destination : any_prefix(resolved);
  if (route.type != RouteType::kUnicast && (route.gateway || !route.dev.empty())) {
    in.error(0, "a blackhole, unreachable, prohibit or throw route takes no via or dev");
    return std::nullopt;
  }
  // keepalived 2.2.7 reports both as configuration errors (keepalived -t exits 5), then runs
  // the route untracked / with protocol keepalived.
  if (!route.no_track && protocol_set && route.protocol != kProtocolKeepalived) {
    in.error(protocol_at,
             "a tracked route must have protocol keepalived (18); add no_track to "
             "install it with protocol " +
                 std::to_string(route.protocol));
    return std::nullopt;
  }
  if (!route.no_track && route.dev.empty()) {
    in.error(0, "route " + route.destination.to_string() +
                    " has no dev, so it cannot be tracked (keepalived reports it and does not "
                    "track it): add dev or no_track");
    return std::nullopt;
  }
  return route;
}

std::optional<VirtualRule> virtual_rule(Item& item, std::string_view block) {
  const LineReader in(item, block);
  VirtualRule rule;
  rule.loc = item.token(0).loc;
  std::optional<AddressFamily> family;
  bool any = false;
  bool action_set = false;
  auto set_action = [&](size_t i, RuleAction action) {
    if (action_set) {
      in.error(i, "more than one of table, goto, nop, blackhole, unreachable, prohibit");
      return false;
    }
    action_set = true;
    rule.action = action;
    return true;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string& word = in.word(i);
    if (word == "inet" || word == "inet6") {
      if (!in.same_family(i, word == "inet" ? AddressFamily::kIpv4 : AddressFamily::kIpv6, family))
        return std::nullopt;
    } else if (word == "from" || word == "to") {
      if (in.value(i) == nullptr) return std::nullopt;
      std::optional<IpPrefix> prefix;
      if (!in.prefix(i, prefix, any, family)) return std::nullopt;
      (word == "from" ? rule.from : rule.to) = prefix;
    } else if (word == "table" || word == "lookup") {
      auto table = in.table(i);
      if (!table || !set_action(i, RuleAction::kTable)) return std::nullopt;
      rule.table = *table;
    } else if (word == "preference" || word == "order" || word == "priority") {
      auto priority = in.number(i, 0, UINT32_MAX);
      if (!priority) return std::nullopt;
      rule.priority = static_cast<uint32_t>(*priority);
    } else if (word == "dev" || word == "iif" || word == "oif") {
      const std::string* text = in.value(i);
      if (text == nullptr) return std::nullopt;
      (word == "oif" ? rule.oif : rule.iif) = *text;
    } else if (word == "fwmark") {
      const std::string* text = in.value(i);
      if (text == nullptr) return std::nullopt;
      const std::string_view spec = *text;
      const auto slash = spec.find('/');
      auto mark = unsigned_number(spec.substr(0, slash));
      std::optional<uint64_t> mask;
      if (slash != std::string_view::npos) mask = unsigned_number(spec.substr(slash + 1));
      if (!mark || *mark > UINT32_MAX ||
          (slash != std::string_view::npos && (!mask || *mask > UINT32_MAX))) {
        in.error(i, "fwmark '" + *text + "' is not MARK or MARK/MASK (32-bit numbers)");
        return std::nullopt;
      }
      rule.fwmark = static_cast<uint32_t>(*mark);
      if (mask) rule.fwmask = static_cast<uint32_t>(*mask);
    } else if (word == "tos" || word == "dsfield") {
      auto tos = in.number(i, 0, 255);
      if (!tos) return std::nullopt;
      rule.tos = static_cast<uint8_t>(*tos);
    } else if (word == "goto") {
      auto target = in.number(i, 0, UINT32_MAX);
      if (!target || !set_action(i, RuleAction::kGoto)) return std::nullopt;
      rule.goto_target = static_cast<uint32_t>(*target);
    } else if (word == "nop") {
      if (!set_action(i, RuleAction::kNop)) return std::nullopt;
    } else if (word == "type" || word == "blackhole" || word == "unreachable" ||
               word == "prohibit") {
      const std::string* text = word == "type" ? in.value(i) : &word;
      if (text == nullptr) return std::nullopt;
      RuleAction action = RuleAction::kBlackhole;
      if (*text == "unreachable") {
        action = RuleAction::kUnreachable;
      } else if (*text == "prohibit") {
        action = RuleAction::kProhibit;
      } else if (*text != "blackhole") {
        in.error(i, "rule type '" + *text + "' is not blackhole, unreachable or prohibit");
        return std::nullopt;
      }
      if (!set_action(i, action)) return std::nullopt;
    } else if (word == "no_track") {
      rule.no_track = true;
    } else if (word == "pref") {
      // `ip rule` takes it; keepalived 2.2.7 does not ("Unknown rule option pref").
      in.error(i,
               "unknown option 'pref' (ip rule's word; keepalived reads preference, order "
               "or priority)");
      return std::nullopt;
    } else {
      in.unknown(i, kUnsupportedRuleOptions, kRuleOptions);
      return std::nullopt;
    }
  }
  rule.family = family.value_or(AddressFamily::kIpv4);
  if (!action_set) {
    in.error(0, "the rule has no action (table, goto, nop, blackhole, unreachable, prohibit)");
    return std::nullopt;
  }
  if (!rule.priority) {
    // keepalived 2.2.7 numbers such rules 16384, 16383, ... and reports a configuration error.
    in.error(0,
             "the rule has no preference (keepalived would number it from 16384 down and "
             "report it): add preference N");
    return std::nullopt;
  }
  if (rule.action == RuleAction::kGoto && (!rule.priority || *rule.priority >= rule.goto_target)) {
    in.error(0, "a goto rule needs a preference below its target (keepalived's rule)");
    return std::nullopt;
  }
  return rule;
}

}  // namespace vigil::config::vrrp_parse
