// The VRRP firewall judge (firewall.h): pure, over nftables' JSON (libnftables-json(5)).
#include "doctor/firewall.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

namespace vigil::doctor::firewall {

using nlohmann::json;

std::string chain_name(const Place& place) {
  return fmt::format("{} {} {}", place.family, place.table, place.chain);
}

namespace {

// VRRP's IP protocol number (RFC 5798 §5.1.1.4, §5.1.2.4) and the TTL / hop limit every advert
// carries (§5.1.1.3, §5.1.2.3).
constexpr int64_t kVrrpProtocol = 112;
constexpr int64_t kVrrpTtl = 255;
// More ways through the ruleset than this (2^8 unjudgeable rules on one way) is not judged.
constexpr size_t kMaxWays = 256;
// Rules tried on one way before it counts as a loop (nft refuses loops, and jumps nest 16 deep).
constexpr size_t kMaxRulesTried = 100000;
constexpr size_t kMaxJumpDepth = 16;

// The hooks an advert meets on its way to a local socket, in order.
int hook_rank(const std::string& hook) {
  if (hook == "ingress") return 0;
  if (hook == "prerouting") return 1;
  if (hook == "input") return 2;
  return -1;
}

// iptables-nft's base chains: its tables with their upper-case chain names.
bool iptables_chain(const Place& place) {
  static const std::set<std::string> tables = {"filter", "raw", "mangle", "nat", "security"};
  return (place.family == "ip" || place.family == "ip6") && tables.count(place.table) &&
         (place.chain == "INPUT" || place.chain == "PREROUTING");
}

}  // namespace

struct Rule {
  Rule(uint64_t handle, json expr) noexcept : handle(handle), expr(std::move(expr)) {}
  uint64_t handle;
  json expr;
};

struct Chain {
  Place place;
  bool base = false;
  std::string hook;
  int64_t prio = 0;
  std::string policy = "accept";
  std::vector<std::string> devices;
  size_t order = 0;  // as listed
  std::vector<Rule> rules;
};

using NameKey = std::tuple<std::string, std::string, std::string>;  // family, table, name

struct Ruleset::Data {
  std::map<NameKey, Chain> chains;
  std::map<NameKey, json> sets;  // named sets and maps: their "elem" arrays
};

Ruleset::Ruleset() : data_(std::make_unique<Data>()) {}
Ruleset::~Ruleset() = default;
Ruleset::Ruleset(Ruleset&&) noexcept = default;
Ruleset& Ruleset::operator=(Ruleset&&) noexcept = default;

namespace {

// "type filter hook ingress device "eth0" priority filter; ..." or "devices = { eth0, eth1 }"
// in the chain blocks of `nft -a list ruleset`: each ingress chain's devices.
std::map<NameKey, std::vector<std::string>> listed_devices(std::string_view listing) {
  std::map<NameKey, std::vector<std::string>> out;
  static const std::regex table_line(R"(^table (\S+) (\S+) \{)");
  static const std::regex chain_line(R"(^chain (\S+) \{)");
  static const std::regex one(R"re(hook ingress device "?([^" ;]+)"?)re");
  static const std::regex many(R"(devices = \{ ([^}]*) \})");
  std::string family;
  std::string table;
  std::string chain;
  std::istringstream in{std::string(listing)};
  std::string line;
  while (std::getline(in, line)) {
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    const std::string text = line.substr(start);
    std::smatch m;
    if (std::regex_search(text, m, table_line)) {
      family = m[1];
      table = m[2];
    } else if (std::regex_search(text, m, chain_line)) {
      chain = m[1];
    } else if (std::regex_search(text, m, one)) {
      out[{family, table, chain}].push_back(m[1]);
    } else if (std::regex_search(text, m, many)) {
      std::string list = m[1];
      std::replace(list.begin(), list.end(), ',', ' ');
      std::istringstream names(list);
      std::string name;
      while (names >> name) {
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
          name = name.substr(1, name.size() - 2);
        out[{family, table, chain}].push_back(name);
      }
    }
  }
  return out;
}

}  // namespace

Result<Ruleset> Ruleset::parse(std::string_view json_text, std::string_view listing) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("nftables") ||
      !doc["nftables"].is_array())
    return Error{"not nftables JSON (no \"nftables\" array)"};
  Ruleset out;
  Data& data = *out.data_;
  size_t order = 0;
  auto string_of = [](const json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  for (const json& item : doc["nftables"]) {
    if (!item.is_object() || item.empty()) continue;
    const auto kind_it = item.begin();
    const std::string& kind = kind_it.key();
    const json& o = kind_it.value();
    if (!o.is_object()) continue;
    const std::string family = string_of(o, "family");
    const std::string table = string_of(o, "table");
    if (kind == "chain") {
      Chain chain;
      chain.place = {family, table, string_of(o, "name"), 0};
      chain.order = order++;
      if (o.contains("hook")) {
        chain.base = true;
        chain.hook = string_of(o, "hook");
        if (o.contains("prio") && o["prio"].is_number_integer())
          chain.prio = o["prio"].get<int64_t>();
        if (o.contains("policy")) chain.policy = string_of(o, "policy");
        if (auto dev = o.find("dev"); dev != o.end()) {
          if (dev->is_string()) chain.devices.push_back(dev->get<std::string>());
          if (dev->is_array()) {
            for (const json& d : *dev)
              if (d.is_string()) chain.devices.push_back(d.get<std::string>());
          }
        }
      }
      data.chains[{family, table, chain.place.chain}] = std::move(chain);
    } else if (kind == "set" || kind == "map") {
      data.sets[{family, table, string_of(o, "name")}] =
          o.contains("elem") ? o["elem"] : json::array();
    } else if (kind == "rule") {
      auto chain = data.chains.find({family, table, string_of(o, "chain")});
      if (chain == data.chains.end()) return Error{"a rule of a chain not listed before it"};
      const uint64_t handle = o.contains("handle") && o["handle"].is_number_unsigned()
                                  ? o["handle"].get<uint64_t>()
                                  : 0;
      chain->second.rules.emplace_back(handle, o.contains("expr") ? o["expr"] : json::array());
    }
  }
  if (!listing.empty()) {
    for (auto& [key, devices] : listed_devices(listing)) {
      auto chain = data.chains.find(key);
      if (chain != data.chains.end() && chain->second.devices.empty())
        chain->second.devices = std::move(devices);
    }
  }
  return out;
}

namespace {

enum class Truth : uint8_t { kNo, kYes, kUnknown };

Truth negate(Truth t) {
  switch (t) {
    case Truth::kNo:
      return Truth::kYes;
    case Truth::kYes:
      return Truth::kNo;
    case Truth::kUnknown:
      return Truth::kUnknown;
  }
  return Truth::kUnknown;
}

// A field of the advert as a rule's left-hand side reads it.
struct Field {
  enum class Kind : uint8_t {
    kAbsent,   // the packet has no such field (tcp dport of a VRRP advert): no match at all
    kUnknown,  // not something the judge knows
    kText,     // iifname, ct state, nfproto, ...
    kInterface,
    kNumber,
    kAddress,
    kAnyUnicast,  // an address the judge does not know, but knows to be unicast
  };
  Kind kind = Kind::kUnknown;
  std::string text;
  int64_t number = 0;
  IpAddress address;
  std::string why;  // kUnknown: what cannot be judged
};

std::string compact(const json& j) {
  std::string s = j.dump();
  return s.size() > 120 ? s.substr(0, 117) + "..." : s;
}

bool in_prefix(const IpAddress& address, const IpAddress& network, int64_t length) {
  if (address.family() != network.family() || length < 0 ||
      length > static_cast<int64_t>(address.size() * 8))
    return false;
  return IpPrefix{.address = network, .length = static_cast<uint8_t>(length)}.contains(address);
}

// Whether every address of the prefix is multicast (224.0.0.0/4, ff00::/8).
bool multicast_prefix(const IpAddress& network, int64_t length) {
  return network.is_multicast() && length >= (network.is_v4() ? 4 : 8);
}

std::optional<int64_t> number_of(const json& j) {
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (!s.empty() &&
        std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }))
      return std::stoll(s);
  }
  return std::nullopt;
}

// One element of a set, a map's key or a match's right-hand side against the field.
Truth element_matches(const Field& field, const json& element) {
  if (element.is_object() && element.contains("elem")) {
    const json& e = element["elem"];
    return element_matches(field, e.is_object() && e.contains("val") ? e["val"] : e);
  }
  switch (field.kind) {
    case Field::Kind::kAbsent:
      return Truth::kNo;
    case Field::Kind::kUnknown:
      return Truth::kUnknown;
    case Field::Kind::kText:
      if (!element.is_string()) return Truth::kUnknown;
      return element.get<std::string>() == field.text ? Truth::kYes : Truth::kNo;
    case Field::Kind::kInterface: {
      if (!element.is_string()) return Truth::kUnknown;
      const std::string name = element.get<std::string>();
      // "eth*": a wildcard (nft prints a literal star as "\*").
      if (!name.empty() && name.back() == '*' && (name.size() < 2 || name[name.size() - 2] != '\\'))
        return field.text.starts_with(name.substr(0, name.size() - 1)) ? Truth::kYes : Truth::kNo;
      return name == field.text ? Truth::kYes : Truth::kNo;
    }
    case Field::Kind::kNumber: {
      if (element.is_object() && element.contains("range") && element["range"].is_array() &&
          element["range"].size() == 2) {
        auto low = number_of(element["range"][0]);
        auto high = number_of(element["range"][1]);
        if (!low || !high) return Truth::kUnknown;
        return *low <= field.number && field.number <= *high ? Truth::kYes : Truth::kNo;
      }
      if (auto n = number_of(element)) return *n == field.number ? Truth::kYes : Truth::kNo;
      // A protocol's name: /etc/protocols calls 112 "vrrp"; any other name is another protocol.
      if (element.is_string() && field.number == kVrrpProtocol)
        return element.get<std::string>() == "vrrp" ? Truth::kYes : Truth::kNo;
      return Truth::kUnknown;
    }
    case Field::Kind::kAddress:
    case Field::Kind::kAnyUnicast: {
      const bool known = field.kind == Field::Kind::kAddress;
      if (element.is_string()) {
        auto a = IpAddress::parse(element.get<std::string>());
        if (!a) return Truth::kUnknown;
        if (a->family() != field.address.family()) return Truth::kNo;
        if (!known) return a->is_multicast() ? Truth::kNo : Truth::kUnknown;
        return *a == field.address ? Truth::kYes : Truth::kNo;
      }
      if (element.is_object() && element.contains("prefix")) {
        const json& p = element["prefix"];
        if (!p.is_object() || !p.contains("addr") || !p["addr"].is_string() || !p.contains("len") ||
            !p["len"].is_number_integer())
          return Truth::kUnknown;
        auto network = IpAddress::parse(p["addr"].get<std::string>());
        if (!network) return Truth::kUnknown;
        const int64_t length = p["len"].get<int64_t>();
        if (network->family() != field.address.family()) return Truth::kNo;
        if (!known) return multicast_prefix(*network, length) ? Truth::kNo : Truth::kUnknown;
        return in_prefix(field.address, *network, length) ? Truth::kYes : Truth::kNo;
      }
      if (element.is_object() && element.contains("range") && element["range"].is_array() &&
          element["range"].size() == 2 && element["range"][0].is_string() &&
          element["range"][1].is_string()) {
        auto low = IpAddress::parse(element["range"][0].get<std::string>());
        auto high = IpAddress::parse(element["range"][1].get<std::string>());
        if (!low || !high) return Truth::kUnknown;
        if (low->family() != field.address.family()) return Truth::kNo;
        if (!known)
          return low->is_multicast() && high->is_multicast() ? Truth::kNo : Truth::kUnknown;
        return *low <= field.address && field.address <= *high ? Truth::kYes : Truth::kNo;
      }
      return Truth::kUnknown;
    }
  }
  return Truth::kUnknown;
}

// Any of the elements: yes if one matches, else unknown if one might, else no.
Truth any_matches(const Field& field, const json& elements) {
  Truth out = Truth::kNo;
  for (const json& e : elements) {
    const Truth t = element_matches(field, e);
    if (t == Truth::kYes) return Truth::kYes;
    if (t == Truth::kUnknown) out = Truth::kUnknown;
  }
  return out;
}

// Where a rule stops, or not.
struct RuleEnd {
  enum class Kind : uint8_t { kNext, kAccept, kDrop, kJump, kGoto, kReturn, kUnknown };
  Kind kind = Kind::kNext;
  std::string verdict;  // "accept", "drop", "reject"
  std::string target;   // jump, goto
  std::string why;      // kUnknown
};

// A verdict as nft's JSON writes one ({"accept": null}, {"jump": {"target": "x"}}); nullopt for
// anything else.
std::optional<RuleEnd> verdict_of(const std::string& key, const json& value) {
  using K = RuleEnd::Kind;
  if (key == "accept") return RuleEnd{K::kAccept, "accept", {}, {}};
  if (key == "drop") return RuleEnd{K::kDrop, "drop", {}, {}};
  if (key == "reject") return RuleEnd{K::kDrop, "reject", {}, {}};
  if (key == "return") return RuleEnd{K::kReturn, "return", {}, {}};
  if (key == "continue") return RuleEnd{K::kNext, "continue", {}, {}};
  if (key == "jump" || key == "goto") {
    if (!value.is_object() || !value.contains("target") || !value["target"].is_string())
      return RuleEnd{K::kUnknown, key, {}, "a " + key + " without a target chain"};
    return RuleEnd{
        key == "jump" ? K::kJump : K::kGoto, key, value["target"].get<std::string>(), {}};
  }
  return std::nullopt;
}

// How nft writes what a match reads: "meta mark", "ip saddr", "ct status", "fib".
std::string label(const json& left) {
  if (!left.is_object() || left.empty()) return compact(left);
  const auto it = left.begin();
  const json& what = it.value();
  auto text = [&](const char* key) {
    return what.is_object() && what.contains(key) && what[key].is_string()
               ? what[key].get<std::string>()
               : std::string();
  };
  if (it.key() == "meta") return "meta " + text("key");
  if (it.key() == "ct") return "ct " + text("key");
  if (it.key() == "payload") {
    if (what.is_object() && what.contains("base")) return "a raw payload";
    return text("protocol") + " " + text("field");
  }
  if (it.key() == "&" || it.key() == "|" || it.key() == "^") return "a bitwise expression";
  return it.key();
}

// Statements that change nothing about the verdict (what they change, marks and sets, is read
// only by matches the judge does not evaluate).
bool harmless(const std::string& key) {
  static const std::set<std::string> keys = {"counter", "log", "mangle",  "set",
                                             "notrack", "dup", "secmark", "ct count"};
  return keys.count(key) > 0;
}

// Statements that end the packet's way in a way the judge cannot tell.
bool unknown_end(const std::string& key) {
  static const std::set<std::string> keys = {"queue",    "snat",   "dnat", "masquerade",
                                             "redirect", "tproxy", "fwd",  "synproxy"};
  return keys.count(key) > 0;
}

}  // namespace

// Follows the advert through the base chains once, with one answer for each rule it cannot
// judge (`choices`, then "does not match" for the rest).
class Walker {
 public:
  Walker(const Ruleset::Data& data, const Advert& advert, const std::vector<bool>& choices)
      : data_(data), advert_(advert), choices_(choices) {}

  struct Way {
    Outcome outcome = Outcome::kAccepted;
    std::vector<Step> steps;
    std::vector<bool> decisions;
    std::vector<std::pair<Place, std::string>> unjudged;
  };

  Way walk(const std::vector<const Chain*>& bases) {
    for (const Chain* base : bases) {
      base_ = base;
      if (base->hook == "ingress" && base->devices.empty() &&
          !decide(base->place, "an ingress chain whose device nft does not say"))
        continue;
      Step step{.base = base->place, .iptables = iptables_chain(base->place)};
      const Outcome outcome = walk_base(*base, step);
      way_.steps.push_back(step);
      if (outcome != Outcome::kAccepted) {
        way_.outcome = outcome;
        return std::move(way_);
      }
    }
    way_.outcome = Outcome::kAccepted;
    return std::move(way_);
  }

 private:
  bool decide(const Place& rule, std::string why) {
    way_.unjudged.emplace_back(rule, std::move(why));
    const size_t i = way_.decisions.size();
    const bool matches = i < choices_.size() ? choices_[i] : false;
    way_.decisions.push_back(matches);
    return matches;
  }

  Outcome unknown(const Place& rule, std::string why) {
    way_.unjudged.emplace_back(rule, std::move(why));
    return Outcome::kUnknown;
  }

  Field field(const json& left) const {
    Field f;
    f.why = "it matches on " + label(left) + ", which doctor does not evaluate";
    if (!left.is_object() || left.empty()) return f;
    const bool v4 = advert_.family == AddressFamily::kIpv4;
    const auto kind_it = left.begin();
    const std::string& kind = kind_it.key();
    const json& what = kind_it.value();
    auto text = [&](std::string value) {
      f.kind = Field::Kind::kText;
      f.text = std::move(value);
      return f;
    };
    auto number = [&](int64_t value) {
      f.kind = Field::Kind::kNumber;
      f.number = value;
      return f;
    };
    auto address = [&](const std::optional<IpAddress>& value) {
      f.kind = value ? Field::Kind::kAddress : Field::Kind::kAnyUnicast;
      f.address = value ? *value : (v4 ? IpAddress() : *IpAddress::parse("::"));
      return f;
    };
    const std::string key = what.is_object() && what.contains("key") && what["key"].is_string()
                                ? what["key"].get<std::string>()
                                : "";
    if (kind == "meta") {
      if (key == "iifname" || key == "iif") {
        f.kind = Field::Kind::kInterface;
        f.text = advert_.interface;
        return f;
      }
      if (key == "l4proto") return number(kVrrpProtocol);
      if (key == "nfproto") return text(v4 ? "ipv4" : "ipv6");
      if (key == "protocol") return text(v4 ? "ip" : "ip6");
      if (key == "pkttype") {
        const bool multicast = advert_.destination && advert_.destination->is_multicast();
        return text(multicast ? "multicast" : "host");
      }
    } else if (kind == "payload" && what.is_object() && what.contains("protocol")) {
      const std::string protocol =
          what["protocol"].is_string() ? what["protocol"].get<std::string>() : "";
      const std::string name = what.contains("field") && what["field"].is_string()
                                   ? what["field"].get<std::string>()
                                   : "";
      static const std::set<std::string> others = {"tcp",  "udp",  "udplite", "sctp",
                                                   "dccp", "icmp", "icmpv6",  "igmp",
                                                   "ah",   "esp",  "comp",    "gre"};
      if (others.count(protocol)) {
        f.kind = Field::Kind::kAbsent;
        return f;
      }
      if (protocol == "ip" || protocol == "ip6") {
        if ((protocol == "ip") != v4) {
          f.kind = Field::Kind::kAbsent;
          return f;
        }
        if (name == "saddr") return address(advert_.source);
        if (name == "daddr") return address(advert_.destination);
        if (name == "protocol" || name == "nexthdr") return number(kVrrpProtocol);
        if (name == "ttl" || name == "hoplimit") return number(kVrrpTtl);
        if (name == "version") return number(v4 ? 4 : 6);
      }
    } else if (kind == "ct" && base_->hook != "ingress") {
      // The advert's conntrack state before any reply: new (RFC 5798 adverts flow one way).
      if (key == "state") return text("new");
      if (key == "direction") return text("original");
    }
    return f;
  }

  // nullopt: the set named is not in the ruleset.
  std::optional<json> named_set(const std::string& name) const {
    auto it = data_.sets.find({base_place().family, base_place().table, name});
    if (it == data_.sets.end()) return std::nullopt;
    return it->second;
  }

  const Place& base_place() const { return current_->place; }

  // A match's truth ({"match": {"op", "left", "right"}}).
  Truth match(const json& m, std::string& why) const {
    if (!m.is_object() || !m.contains("left") || !m.contains("right")) {
      why = compact(m);
      return Truth::kUnknown;
    }
    const std::string op =
        m.contains("op") && m["op"].is_string() ? m["op"].get<std::string>() : "==";
    const Field f = field(m["left"]);
    if (f.kind == Field::Kind::kAbsent) return Truth::kNo;
    if (f.kind == Field::Kind::kUnknown) {
      why = f.why;
      return Truth::kUnknown;
    }
    if (op != "==" && op != "!=" && op != "in") {
      why = "operator " + op;
      return Truth::kUnknown;
    }
    const json& right = m["right"];
    Truth t;
    if (right.is_string() && right.get<std::string>().starts_with("@")) {
      auto set = named_set(right.get<std::string>().substr(1));
      if (!set) {
        why = "set " + right.get<std::string>() + " is not in the ruleset";
        return Truth::kUnknown;
      }
      t = any_matches(f, *set);
    } else if (right.is_object() && right.contains("set")) {
      t = right["set"].is_array() ? any_matches(f, right["set"]) : element_matches(f, right["set"]);
    } else if (right.is_array()) {
      t = any_matches(f, right);
    } else {
      t = element_matches(f, right);
    }
    if (op == "!=") t = negate(t);
    if (t == Truth::kUnknown) {
      if (f.kind != Field::Kind::kAnyUnicast)
        why = "it matches " + label(m["left"]) + " " + op + " " + compact(right);
      else if (advert_.source)
        why = "it matches on " + label(m["left"]) +
              ", and adverts may go to any address of this host (no unicast_src_ip)";
      else
        why = "it matches on " + label(m["left"]) + ", and any router on the link may send adverts";
    }
    return t;
  }

  // A verdict map: the verdict of the element the field matches, or none.
  RuleEnd vmap(const json& v, const Place& rule) {
    RuleEnd none;
    if (!v.is_object() || !v.contains("key") || !v.contains("data")) {
      return RuleEnd{RuleEnd::Kind::kUnknown, {}, {}, "vmap " + compact(v)};
    }
    const Field f = field(v["key"]);
    if (f.kind == Field::Kind::kAbsent) return none;
    json pairs;
    const json& data = v["data"];
    if (data.is_string() && data.get<std::string>().starts_with("@")) {
      auto set = named_set(data.get<std::string>().substr(1));
      if (!set)
        return RuleEnd{RuleEnd::Kind::kUnknown,
                       {},
                       {},
                       "map " + data.get<std::string>() + " is not in the ruleset"};
      pairs = *set;
    } else if (data.is_object() && data.contains("set")) {
      pairs = data["set"];
    } else {
      return RuleEnd{RuleEnd::Kind::kUnknown, {}, {}, "vmap " + compact(v)};
    }
    for (const json& pair : pairs) {
      const json& entry = pair.is_object() && pair.contains("elem") ? pair["elem"] : pair;
      if (!entry.is_array() || entry.size() != 2 || !entry[1].is_object() || entry[1].empty())
        return RuleEnd{RuleEnd::Kind::kUnknown, {}, {}, "vmap element " + compact(pair)};
      Truth t = element_matches(f, entry[0]);
      if (t == Truth::kUnknown)
        t = decide(rule, fmt::format("its verdict map on {} has {}, which doctor cannot compare",
                                     label(v["key"]), compact(entry[0])))
                ? Truth::kYes
                : Truth::kNo;
      if (t == Truth::kNo) continue;
      const auto key_it = entry[1].begin();
      const std::string& key = key_it.key();
      const json& value = key_it.value();
      if (auto end = verdict_of(key, value)) return *end;
      return RuleEnd{RuleEnd::Kind::kUnknown, {}, {}, "vmap verdict " + compact(entry[1])};
    }
    return none;
  }

  RuleEnd rule_end(const Rule& rule, const Place& place) {
    using K = RuleEnd::Kind;
    if (!rule.expr.is_array()) return RuleEnd{K::kUnknown, {}, {}, "a rule without expressions"};
    for (const json& statement : rule.expr) {
      if (!statement.is_object() || statement.empty())
        return RuleEnd{K::kUnknown, {}, {}, compact(statement)};
      const auto key_it = statement.begin();
      const std::string& key = key_it.key();
      const json& value = key_it.value();
      if (key == "match") {
        std::string why;
        const Truth t = match(value, why);
        if (t == Truth::kNo) return {};
        if (t == Truth::kUnknown && !decide(place, why)) return {};
        continue;
      }
      if (harmless(key)) continue;
      if (auto end = verdict_of(key, value)) return *end;
      if (key == "vmap") {
        RuleEnd end = vmap(value, place);
        if (end.kind == K::kNext && end.verdict.empty()) return {};
        return end;
      }
      if (key == "xt") {
        const std::string type =
            value.is_object() && value.contains("type") && value["type"].is_string()
                ? value["type"].get<std::string>()
                : "";
        const std::string name =
            value.is_object() && value.contains("name") && value["name"].is_string()
                ? value["name"].get<std::string>()
                : "";
        if (type == "target") {
          if (name == "REJECT" || name == "DROP") return RuleEnd{K::kDrop, "reject", {}, {}};
          if (name == "ACCEPT") return RuleEnd{K::kAccept, "accept", {}, {}};
          return RuleEnd{K::kUnknown, {}, {}, "its iptables target " + name + " is not judged"};
        }
        if (!decide(place,
                    "it uses the iptables match " + name + ", which doctor does not evaluate"))
          return {};
        continue;
      }
      if (unknown_end(key))
        return RuleEnd{
            K::kUnknown, {}, {}, "its verdict is " + key + ", which doctor cannot foresee"};
      // limit, quota, meter, fib as a statement...: may or may not let the advert on.
      if (!decide(place, "it uses " + key + ", which doctor does not evaluate")) return {};
    }
    return {};
  }

  Outcome walk_base(const Chain& base, Step& step) {
    struct Frame {
      const Chain* chain;
      size_t next;
    };
    std::vector<Frame> stack;
    current_ = &base;
    size_t index = 0;
    size_t tried = 0;
    auto policy = [&]() {
      step.by = base.place;
      step.verdict = "policy " + base.policy;
      if (base.policy == "accept") return Outcome::kAccepted;
      if (base.policy == "drop") return Outcome::kDropped;
      return unknown(base.place, "policy " + base.policy);
    };
    for (;;) {
      if (index >= current_->rules.size()) {
        if (stack.empty()) return policy();
        current_ = stack.back().chain;
        index = stack.back().next;
        stack.pop_back();
        continue;
      }
      if (++tried > kMaxRulesTried) return unknown(current_->place, "the chains loop");
      const Rule& rule = current_->rules[index];
      const Place place{current_->place.family, current_->place.table, current_->place.chain,
                        rule.handle};
      const RuleEnd end = rule_end(rule, place);
      switch (end.kind) {
        case RuleEnd::Kind::kNext:
          ++index;
          break;
        case RuleEnd::Kind::kAccept:
          step.by = place;
          step.verdict = end.verdict;
          return Outcome::kAccepted;
        case RuleEnd::Kind::kDrop:
          step.by = place;
          step.verdict = end.verdict;
          return Outcome::kDropped;
        case RuleEnd::Kind::kReturn:
          if (stack.empty()) return policy();
          current_ = stack.back().chain;
          index = stack.back().next;
          stack.pop_back();
          break;
        case RuleEnd::Kind::kJump:
        case RuleEnd::Kind::kGoto: {
          auto target = data_.chains.find({place.family, place.table, end.target});
          if (target == data_.chains.end())
            return unknown(place, "chain " + end.target + " is not in the ruleset");
          if (end.kind == RuleEnd::Kind::kJump) {
            if (stack.size() >= kMaxJumpDepth) return unknown(place, "jumps nest too deep");
            stack.push_back({current_, index + 1});
          }
          current_ = &target->second;
          index = 0;
          break;
        }
        case RuleEnd::Kind::kUnknown:
          return unknown(place, end.why);
      }
    }
  }

  const Ruleset::Data& data_;
  const Advert& advert_;
  const std::vector<bool>& choices_;
  const Chain* base_ = nullptr;
  const Chain* current_ = nullptr;
  Way way_;
};

bool Ruleset::empty() const {
  return std::none_of(data_->chains.begin(), data_->chains.end(),
                      [](const auto& c) { return c.second.base && hook_rank(c.second.hook) >= 0; });
}

Judgement Ruleset::judge(const Advert& advert) const {
  const bool v4 = advert.family == AddressFamily::kIpv4;
  std::vector<const Chain*> bases;
  for (const auto& [key, chain] : data_->chains) {
    if (!chain.base || hook_rank(chain.hook) < 0) continue;
    const std::string& family = chain.place.family;
    if (chain.hook == "ingress") {
      if (family != "netdev" && family != "inet") continue;
      if (!chain.devices.empty() && std::find(chain.devices.begin(), chain.devices.end(),
                                              advert.interface) == chain.devices.end())
        continue;
    } else if (family != "inet" && family != (v4 ? "ip" : "ip6")) {
      continue;
    }
    bases.push_back(&chain);
  }
  std::stable_sort(bases.begin(), bases.end(), [](const Chain* a, const Chain* b) {
    return std::make_tuple(hook_rank(a->hook), a->prio, a->order) <
           std::make_tuple(hook_rank(b->hook), b->prio, b->order);
  });

  // Every way through the rules that cannot be judged, depth first: the first way takes none of
  // them; each later one takes the next choice point the other way.
  std::vector<std::vector<bool>> pending = {{}};
  std::vector<Walker::Way> ways;
  bool too_many = false;
  while (!pending.empty()) {
    if (ways.size() >= kMaxWays) {
      too_many = true;
      break;
    }
    const std::vector<bool> choices = std::move(pending.back());
    pending.pop_back();
    Walker walker(*data_, advert, choices);
    Walker::Way way = walker.walk(bases);
    for (size_t i = way.decisions.size(); i-- > choices.size();) {
      std::vector<bool> other(way.decisions.begin(),
                              way.decisions.begin() + static_cast<ptrdiff_t>(i));
      other.push_back(true);
      pending.push_back(std::move(other));
    }
    ways.push_back(std::move(way));
  }

  Judgement out;
  const Walker::Way& first = ways.front();
  out.steps = first.steps;
  out.outcome = first.outcome;
  const bool agree = !too_many && std::all_of(ways.begin(), ways.end(), [&](const Walker::Way& w) {
    return w.outcome == first.outcome;
  });
  if (!agree || first.outcome == Outcome::kUnknown) {
    out.outcome = Outcome::kUnknown;
    std::set<Place> seen;
    for (const auto& way : ways) {
      for (const auto& [place, why] : way.unjudged) {
        if (seen.insert(place).second) out.unjudged.emplace_back(place, why);
      }
    }
  }
  return out;
}

std::map<Place, std::string> rule_texts(std::string_view listing) {
  std::map<Place, std::string> out;
  static const std::regex table_line(R"(^table (\S+) (\S+) \{)");
  static const std::regex chain_line(R"(^chain (\S+) \{)");
  static const std::regex handle_tail(R"( # handle (\d+)$)");
  static const std::regex counter_values(R"(counter packets \d+ bytes \d+)");
  std::string family;
  std::string table;
  std::string chain;
  int depth = 0;  // 1 inside a table, 2 inside a chain or set
  std::istringstream in{std::string(listing)};
  std::string line;
  while (std::getline(in, line)) {
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    const std::string text = line.substr(start);
    std::smatch m;
    if (depth == 0 && std::regex_search(text, m, table_line)) {
      family = m[1];
      table = m[2];
      depth = 1;
      continue;
    }
    if (text == "}") {
      if (depth == 2) chain.clear();
      if (depth > 0) --depth;
      continue;
    }
    if (depth == 1 && text.ends_with("{") == false &&
        text.find("{ # handle") != std::string::npos) {
      chain = std::regex_search(text, m, chain_line) ? std::string(m[1]) : std::string();
      depth = 2;
      continue;
    }
    if (depth == 1 && text.ends_with("{")) {  // a block without a handle
      chain.clear();
      depth = 2;
      continue;
    }
    if (depth == 2 && !chain.empty() && std::regex_search(text, m, handle_tail)) {
      const uint64_t handle = std::stoull(m[1]);
      std::string rule = text.substr(0, static_cast<size_t>(m.position(0)));
      rule = std::regex_replace(rule, counter_values, "counter");
      out[{family, table, chain, handle}] = rule;
    }
  }
  return out;
}

}  // namespace vigil::doctor::firewall
