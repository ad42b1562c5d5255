// The doctor's firewall rule (doctor.h): whether each vrrp_instance's adverts get through the
// host's nftables ruleset, judged by firewall.h's pure walk. Pure.
#include <fmt/format.h>

#include <algorithm>

#include "doctor/doctor.h"
#include "doctor/firewall.h"

namespace vigil::doctor {

namespace {

using firewall::Advert;
using firewall::Judgement;
using firewall::Outcome;
using firewall::Place;

constexpr const char* kCheck = "vrrp.firewall";

// RFC 5798 §5.1.1.2 / §5.1.2.2: the groups adverts go to unless mcast_dst_ip says otherwise.
IpAddress default_group(AddressFamily family) {
  return *IpAddress::parse(family == AddressFamily::kIpv4 ? "224.0.0.18" : "ff02::12");
}

struct Expected {
  Advert advert;
  std::string who;  // "adverts from 192.0.2.2", "adverts from any router to 224.0.0.18"
};

// The adverts the instance must receive: from each unicast peer (to its own source address when
// it has one), or from any router on the link to its group.
std::vector<Expected> expected_adverts(const config::VrrpInstance& instance) {
  std::vector<Expected> out;
  if (!instance.unicast_peers.empty()) {
    for (const auto& peer : instance.unicast_peers) {
      Advert advert{
          .family = peer.address.family(), .source = peer.address, .interface = instance.interface};
      if (instance.source_address && instance.source_address->family() == peer.address.family())
        advert.destination = instance.source_address;
      out.push_back({advert, fmt::format("adverts from {} on {}", peer.address.to_string(),
                                         instance.interface)});
    }
    return out;
  }
  const IpAddress group =
      instance.mcast_dst_ip && instance.mcast_dst_ip->family() == instance.family
          ? *instance.mcast_dst_ip
          : default_group(instance.family);
  out.push_back(
      {Advert{.family = instance.family, .destination = group, .interface = instance.interface},
       fmt::format("adverts to {} on {}", group.to_string(), instance.interface)});
  return out;
}

class FirewallDiagnoser {
 public:
  FirewallDiagnoser(const config::SourceFiles& files, const FirewallRuleset& ruleset)
      : files_(files), texts_(firewall::rule_texts(ruleset.listing)) {}

  std::string rule(const Place& place) const {
    auto it = texts_.find(place);
    const std::string text =
        it == texts_.end() ? std::string() : fmt::format(" \"{}\"", it->second);
    return fmt::format("{} rule handle {}{}", firewall::chain_name(place), place.handle, text);
  }

  // "inet filter input rule handle 12 "meta l4proto vrrp accept"" / "the policy drop of inet
  // filter input"; a rule in a chain jumped to says where it was reached from.
  std::string decided(const firewall::Step& step) const {
    if (step.by.handle == 0)
      return fmt::format("the {} of {}", step.verdict, firewall::chain_name(step.base));
    std::string out = rule(step.by);
    if (step.by.chain != step.base.chain || step.by.table != step.base.table)
      out += fmt::format(" (reached from {})", firewall::chain_name(step.base));
    return out;
  }

  // The rule that lets the advert in, at the top of the base chain that dropped it.
  static std::string fix(const Expected& expected, const firewall::Step& step) {
    const Advert& a = expected.advert;
    const bool v4 = a.family == AddressFamily::kIpv4;
    if (step.iptables) {
      std::string match = fmt::format("-i {}", a.interface);
      if (a.source) match += fmt::format(" -s {}", a.source->to_string());
      if (a.destination && a.destination->is_multicast())
        match += fmt::format(" -d {}", a.destination->to_string());
      return fmt::format("{} -t {} -I {} {} -p vrrp -j ACCEPT", v4 ? "iptables" : "ip6tables",
                         step.base.table, step.base.chain, match);
    }
    const char* ip = v4 ? "ip" : "ip6";
    std::string match = fmt::format("iifname \"{}\"", a.interface);
    if (a.source) match += fmt::format(" {} saddr {}", ip, a.source->to_string());
    if (a.destination && a.destination->is_multicast())
      match += fmt::format(" {} daddr {}", ip, a.destination->to_string());
    return fmt::format("nft insert rule {} {} meta l4proto vrrp accept",
                       firewall::chain_name(step.base), match);
  }

  Finding judge(const config::VrrpInstance& instance, const firewall::Ruleset& rules) const {
    Finding f{.check = kCheck,
              .subject = "vrrp_instance " + instance.name,
              .location = instance.loc.line == 0 ? std::string() : files_.format(instance.loc)};
    std::vector<std::string> ok;
    std::vector<std::string> dropped;
    std::vector<std::string> unjudged;
    std::vector<std::string> fixes;
    std::string unjudged_fix;
    for (const Expected& expected : expected_adverts(instance)) {
      const Judgement j = rules.judge(expected.advert);
      switch (j.outcome) {
        case Outcome::kAccepted: {
          std::vector<std::string> by;
          for (const auto& step : j.steps)
            by.push_back(decided(step));
          ok.push_back(by.empty() ? fmt::format("{}: no chain on their way in", expected.who)
                                  : fmt::format("{} are accepted by {}", expected.who,
                                                fmt::join(by, ", then ")));
          break;
        }
        case Outcome::kDropped:
          dropped.push_back(
              fmt::format("{} are dropped by {}", expected.who, decided(j.steps.back())));
          fixes.push_back(fix(expected, j.steps.back()));
          break;
        case Outcome::kUnknown: {
          std::vector<std::string> rules_named;
          for (const auto& [place, why] : j.unjudged) {
            rules_named.push_back(
                place.handle == 0
                    ? fmt::format("cannot judge {} ({})", firewall::chain_name(place), why)
                    : fmt::format("cannot judge {} ({})", rule(place), why));
          }
          unjudged.push_back(fmt::format("{}: {}", expected.who, fmt::join(rules_named, "; ")));
          if (unjudged_fix.empty() && !j.steps.empty())
            unjudged_fix = fix(expected, j.steps.back());
          break;
        }
      }
    }
    if (!dropped.empty()) {
      f.level = Level::kFail;
      f.found = fmt::format("{}", fmt::join(dropped, "; "));
      f.why = instance.unicast_peers.empty()
                  ? "the instance never hears the other routers: a BACKUP becomes MASTER too and "
                    "both hold the VIPs (split brain)"
                  : "the instance never hears its peer: a BACKUP becomes MASTER too and both "
                    "hold the VIPs (split brain)";
      f.fix = fmt::format("{}", fmt::join(fixes, "; "));
    } else if (!unjudged.empty()) {
      f.level = Level::kWarn;
      f.found = fmt::format("{}", fmt::join(unjudged, "; "));
      f.why =
          "whether the adverts get through depends on rules doctor cannot evaluate: check "
          "that they accept IP protocol 112 (vrrp) on this interface";
      f.fix = unjudged_fix.empty()
                  ? std::string("nft -a list ruleset (the rules named)")
                  : fmt::format(
                        "nft -a list ruleset (the rules named); to be sure, accept VRRP "
                        "first: {}",
                        unjudged_fix);
    } else {
      f.found = fmt::format("{}", fmt::join(ok, "; "));
      f.why = "the firewall lets the adverts reach vigild";
    }
    return f;
  }

 private:
  const config::SourceFiles& files_;
  std::map<Place, std::string> texts_;
};

}  // namespace

std::vector<Finding> diagnose_firewall(const config::Config& config,
                                       const config::SourceFiles& files, const Facts& facts) {
  std::vector<Finding> out;
  if (!facts.firewall || config.vrrp.instances.empty()) return out;
  const auto& first = config.vrrp.instances.front();
  const std::string subject = "vrrp_instance " + first.name +
                              (config.vrrp.instances.size() > 1
                                   ? fmt::format(" (and {} more)", config.vrrp.instances.size() - 1)
                                   : std::string());
  auto cannot = [&](std::string found) {
    out.push_back({.check = kCheck,
                   .level = Level::kWarn,
                   .subject = subject,
                   .location = first.loc.line == 0 ? std::string() : files.format(first.loc),
                   .found = std::move(found),
                   .why = "the firewall's treatment of VRRP adverts was not judged",
                   .fix = "run vigilctl doctor as root with nftables installed (apt install "
                          "nftables), or check by hand that IP protocol 112 (vrrp) is accepted"});
    return out;
  };
  if (!facts.firewall->error.empty()) return cannot(facts.firewall->error);
  auto rules = firewall::Ruleset::parse(facts.firewall->json, facts.firewall->listing);
  if (!rules) return cannot("nft -j list ruleset: " + rules.error().message);
  const FirewallDiagnoser diagnoser(files, *facts.firewall);
  for (const auto& instance : config.vrrp.instances) {
    if (instance.interface.empty()) continue;
    out.push_back(diagnoser.judge(instance, *rules));
  }
  return out;
}

}  // namespace vigil::doctor
