#include "api/vrrp_ops.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace vigil::api {

using nlohmann::json;

uint64_t VrrpCounters::rejected_total() const {
  uint64_t total = 0;
  for (const auto& [reason, count] : rejected)
    total += count;
  return total;
}

VrrpCounters counters_since(const VrrpCounters& current, const VrrpCounters& baseline) {
  auto minus = [](uint64_t now, uint64_t then) { return now >= then ? now - then : 0; };
  VrrpCounters out{
      .adverts_received = minus(current.adverts_received, baseline.adverts_received),
      .adverts_sent = minus(current.adverts_sent, baseline.adverts_sent),
      .advert_send_failures = minus(current.advert_send_failures, baseline.advert_send_failures),
      .became_master = minus(current.became_master, baseline.became_master),
      .released_master = minus(current.released_master, baseline.released_master),
      .priority_zero_received =
          minus(current.priority_zero_received, baseline.priority_zero_received),
      .priority_zero_sent = minus(current.priority_zero_sent, baseline.priority_zero_sent),
      .own_adverts_ignored = minus(current.own_adverts_ignored, baseline.own_adverts_ignored),
      .vip_failures = minus(current.vip_failures, baseline.vip_failures),
  };
  for (const auto& [reason, count] : current.rejected) {
    uint64_t then = 0;
    for (const auto& [old_reason, old_count] : baseline.rejected) {
      if (old_reason == reason) then = old_count;
    }
    out.rejected.emplace_back(reason, minus(count, then));
  }
  return out;
}

json to_json(const std::vector<VrrpInstanceStats>& stats) {
  json instances = json::array();
  for (const auto& s : stats) {
    const auto& c = s.counters;
    json rejected = json::object();
    for (const auto& [reason, count] : c.rejected)
      rejected[reason] = count;
    instances.push_back(
        {{"name", s.name},
         {"state", s.state},
         {"maintenance", s.maintenance},
         {"cleared_seconds_ago", s.cleared_seconds_ago ? json(*s.cleared_seconds_ago) : json()},
         {"counters",
          {{"adverts_received", c.adverts_received},
           {"adverts_sent", c.adverts_sent},
           {"advert_send_failures", c.advert_send_failures},
           {"became_master", c.became_master},
           {"released_master", c.released_master},
           {"priority_zero_received", c.priority_zero_received},
           {"priority_zero_sent", c.priority_zero_sent},
           {"own_adverts_ignored", c.own_adverts_ignored},
           {"vip_failures", c.vip_failures},
           {"rejected", c.rejected_total()},
           {"rejected_by_reason", std::move(rejected)}}}});
  }
  return {{"schema", kVrrpStatsSchema}, {"instances", std::move(instances)}};
}

std::string vrrp_stats_json_text(const std::vector<VrrpInstanceStats>& stats) {
  return to_json(stats).dump(2) + "\n";
}

Result<std::vector<VrrpInstanceStats>> vrrp_stats_from_json(std::string_view text) {
  auto j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error{"vrrp stats: not a JSON object"};
  try {
    if (j.at("schema").get<std::string>() != kVrrpStatsSchema) {
      return Error{
          fmt::format("vrrp stats: schema {} is not {}", j.at("schema").dump(), kVrrpStatsSchema)};
    }
    std::vector<VrrpInstanceStats> out;
    for (const auto& i : j.at("instances")) {
      VrrpInstanceStats s{.name = i.at("name").get<std::string>(),
                          .state = i.at("state").get<std::string>(),
                          .maintenance = i.at("maintenance").get<bool>()};
      if (const auto& cleared = i.at("cleared_seconds_ago"); !cleared.is_null())
        s.cleared_seconds_ago = cleared.get<double>();
      const auto& c = i.at("counters");
      s.counters = VrrpCounters{
          .adverts_received = c.at("adverts_received").get<uint64_t>(),
          .adverts_sent = c.at("adverts_sent").get<uint64_t>(),
          .advert_send_failures = c.at("advert_send_failures").get<uint64_t>(),
          .became_master = c.at("became_master").get<uint64_t>(),
          .released_master = c.at("released_master").get<uint64_t>(),
          .priority_zero_received = c.at("priority_zero_received").get<uint64_t>(),
          .priority_zero_sent = c.at("priority_zero_sent").get<uint64_t>(),
          .own_adverts_ignored = c.at("own_adverts_ignored").get<uint64_t>(),
          .vip_failures = c.at("vip_failures").get<uint64_t>(),
      };
      for (const auto& [reason, count] : c.at("rejected_by_reason").items())
        s.counters.rejected.emplace_back(reason, count.get<uint64_t>());
      out.push_back(std::move(s));
    }
    return out;
  } catch (const json::exception& e) {
    return Error{fmt::format("vrrp stats: not as expected: {}", e.what())};
  }
}

namespace {

std::string age(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  if (s >= 86400) return fmt::format("{}d {}h", s / 86400, s % 86400 / 3600);
  if (s >= 3600) return fmt::format("{}h {}m", s / 3600, s % 3600 / 60);
  if (s >= 60) return fmt::format("{}m {}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

std::string render_vrrp_stats_text(const std::vector<VrrpInstanceStats>& stats,
                                   const std::string& only) {
  std::string out;
  for (const auto& s : stats) {
    if (!only.empty() && s.name != only) continue;
    if (!out.empty()) out += "\n";
    const auto& c = s.counters;
    out += fmt::format(
        "{}: {}{}, counters {}\n", s.name, s.state, s.maintenance ? " (maintenance)" : "",
        s.cleared_seconds_ago ? "since cleared " + age(*s.cleared_seconds_ago) + " ago"
                              : std::string("since start"));
    std::vector<std::pair<std::string, std::string>> rows = {
        {"adverts received", std::to_string(c.adverts_received)},
        {"adverts sent", std::to_string(c.adverts_sent)},
        {"advert send failures", std::to_string(c.advert_send_failures)},
        {"became master", std::to_string(c.became_master)},
        {"released master", std::to_string(c.released_master)},
        {"priority 0 received", std::to_string(c.priority_zero_received)},
        {"priority 0 sent", std::to_string(c.priority_zero_sent)},
        {"own adverts ignored", std::to_string(c.own_adverts_ignored)},
        {"VIP failures", std::to_string(c.vip_failures)},
        {"adverts rejected", std::to_string(c.rejected_total())},
    };
    for (const auto& [reason, count] : c.rejected) {
      if (count > 0) rows.emplace_back("  " + reason, std::to_string(count));
    }
    size_t width = 0;
    for (const auto& row : rows)
      width = std::max(width, row.first.size());
    for (const auto& [label, value] : rows)
      out += fmt::format("  {:<{}} {}\n", label, width, value);
  }
  return out;
}

std::string render_maintenance_change(const MaintenanceChange& change) {
  std::string out;
  const char* word = change.on ? "on" : "off";
  for (const auto& name : change.changed)
    out += fmt::format("{}: maintenance {}\n", name, word);
  for (const auto& name : change.unchanged)
    out += fmt::format("{}: maintenance already {}\n", name, word);
  return out;
}

}  // namespace vigil::api
