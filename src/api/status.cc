#include "api/status.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace vigil::api {

using nlohmann::json;

void DaemonStatus::merge(StatusPart part) {
  std::move(part.vrrp.begin(), part.vrrp.end(), std::back_inserter(vrrp));
  std::move(part.virtual_servers.begin(), part.virtual_servers.end(),
            std::back_inserter(virtual_servers));
  std::move(part.warnings.begin(), part.warnings.end(), std::back_inserter(warnings));
}

Assessment assess(const DaemonStatus& status) {
  Assessment out;
  auto degrade = [&](std::string reason) {
    out.healthy = false;
    out.reasons.push_back(std::move(reason));
  };
  for (const auto& vi : status.vrrp) {
    if (vi.state == "FAULT" || vi.state == "INIT")
      degrade(fmt::format("vrrp_instance {} is {}", vi.name, vi.state));
  }
  for (const auto& vs : status.virtual_servers) {
    if (!vs.quorum_up) {
      degrade(fmt::format("virtual server {} lost its quorum ({} alive of {}){}", vs.name, vs.alive,
                          vs.total, vs.sorry_server_active ? ": the sorry server serves" : ""));
    } else if (vs.alive < vs.total) {
      degrade(fmt::format("virtual server {}: {} of {} real servers alive", vs.name, vs.alive,
                          vs.total));
    }
  }
  if (status.last_reload && !status.last_reload->ok)
    degrade("the last reload was refused: " + status.last_reload->message);
  return out;
}

namespace {

json transition_json(const std::optional<TransitionStatus>& t) {
  if (!t) return nullptr;
  return {{"from", t->from}, {"to", t->to}, {"reason", t->reason}, {"seconds_ago", t->seconds_ago}};
}

}  // namespace

json to_json(const DaemonStatus& s) {
  json vrrp = json::array();
  for (const auto& vi : s.vrrp) {
    vrrp.push_back(
        {{"name", vi.name},
         {"state", vi.state},
         {"interface", vi.interface},
         {"vrid", vi.vrid},
         {"priority", {{"base", vi.base_priority}, {"effective", vi.effective_priority}}},
         {"master_address", vi.master_address},
         {"sync_group", vi.sync_group},
         {"virtual_addresses", vi.virtual_addresses},
         {"last_transition", transition_json(vi.last_transition)}});
  }
  json services = json::array();
  for (const auto& vs : s.virtual_servers) {
    json real_servers = json::array();
    for (const auto& rs : vs.real_servers)
      real_servers.push_back({{"address", rs.address}, {"alive", rs.alive}, {"weight", rs.weight}});
    services.push_back({{"name", vs.name},
                        {"alive", vs.alive},
                        {"total", vs.total},
                        {"quorum_up", vs.quorum_up},
                        {"live_weight", vs.live_weight},
                        {"quorum", vs.quorum},
                        {"sorry_server_active", vs.sorry_server_active},
                        {"real_servers", std::move(real_servers)}});
  }
  json reload = nullptr;
  if (s.last_reload) {
    reload = {{"count", s.last_reload->count},
              {"ok", s.last_reload->ok},
              {"seconds_ago", s.last_reload->seconds_ago},
              {"message", s.last_reload->message}};
  }
  const Assessment health = assess(s);
  return {{"schema", kStatusSchema},
          {"version", s.version},
          {"pid", s.pid},
          {"uptime_seconds", s.uptime_seconds},
          {"config", {{"file", s.config_file}, {"hash", s.config_hash}}},
          {"net_namespace", s.net_namespace},
          {"instance", s.instance},
          {"last_reload", std::move(reload)},
          {"health", {{"healthy", health.healthy}, {"reasons", health.reasons}}},
          {"vrrp", std::move(vrrp)},
          {"virtual_servers", std::move(services)},
          {"warnings", s.warnings}};
}

std::string to_json_text(const DaemonStatus& status) {
  return to_json(status).dump(2) + "\n";
}

Result<DaemonStatus> status_from_json(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error{"the daemon's answer is not a JSON object"};
  const auto schema = j.value("schema", std::string());
  if (schema != kStatusSchema)
    return Error{
        fmt::format("unknown status schema '{}' (this vigilctl reads {})", schema, kStatusSchema)};
  try {
    DaemonStatus s;
    s.version = j.at("version").get<std::string>();
    s.pid = j.at("pid").get<int64_t>();
    s.uptime_seconds = j.at("uptime_seconds").get<double>();
    s.config_file = j.at("config").at("file").get<std::string>();
    s.config_hash = j.at("config").at("hash").get<std::string>();
    s.net_namespace = j.value("net_namespace", std::string());
    s.instance = j.value("instance", std::string());
    if (const auto& r = j.at("last_reload"); !r.is_null()) {
      s.last_reload = ReloadStatus{.count = r.at("count").get<uint64_t>(),
                                   .ok = r.at("ok").get<bool>(),
                                   .seconds_ago = r.at("seconds_ago").get<double>(),
                                   .message = r.at("message").get<std::string>()};
    }
    for (const auto& v : j.at("vrrp")) {
      VrrpInstanceStatus vi{
          .name = v.at("name").get<std::string>(),
          .state = v.at("state").get<std::string>(),
          .interface = v.at("interface").get<std::string>(),
          .vrid = v.at("vrid").get<int>(),
          .base_priority = v.at("priority").at("base").get<int>(),
          .effective_priority = v.at("priority").at("effective").get<int>(),
          .master_address = v.at("master_address").get<std::string>(),
          .sync_group = v.at("sync_group").get<std::string>(),
          .virtual_addresses = v.at("virtual_addresses").get<std::vector<std::string>>(),
      };
      if (const auto& t = v.at("last_transition"); !t.is_null()) {
        vi.last_transition = TransitionStatus{.from = t.at("from").get<std::string>(),
                                              .to = t.at("to").get<std::string>(),
                                              .reason = t.at("reason").get<std::string>(),
                                              .seconds_ago = t.at("seconds_ago").get<double>()};
      }
      s.vrrp.push_back(std::move(vi));
    }
    for (const auto& v : j.at("virtual_servers")) {
      VirtualServerStatus vs{.name = v.at("name").get<std::string>(),
                             .alive = v.at("alive").get<size_t>(),
                             .total = v.at("total").get<size_t>(),
                             .quorum_up = v.at("quorum_up").get<bool>(),
                             .live_weight = v.at("live_weight").get<int64_t>(),
                             .quorum = v.at("quorum").get<int64_t>(),
                             .sorry_server_active = v.at("sorry_server_active").get<bool>()};
      for (const auto& r : v.at("real_servers")) {
        vs.real_servers.push_back({.address = r.at("address").get<std::string>(),
                                   .alive = r.at("alive").get<bool>(),
                                   .weight = r.at("weight").get<int64_t>()});
      }
      s.virtual_servers.push_back(std::move(vs));
    }
    s.warnings = j.at("warnings").get<std::vector<std::string>>();
    return s;
  } catch (const json::exception& e) {
    return Error{fmt::format("the daemon's status is not as expected: {}", e.what())};
  }
}

std::string format_age(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, std::floor(seconds)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m {}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
}

namespace {

// Columns padded to their widest cell; the last one is not padded.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = " ";
    for (size_t i = 0; i < row.size(); ++i) {
      line += " " + row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size(), ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string render_status_text(const DaemonStatus& s) {
  std::string out =
      fmt::format("vigild {} (pid {}), up {}", s.version, s.pid, format_age(s.uptime_seconds));
  if (!s.instance.empty()) out += ", instance " + s.instance;
  if (!s.net_namespace.empty()) out += ", network namespace " + s.net_namespace;
  out += "\n";
  out += fmt::format("Config: {} (sha256 {})", s.config_file, s.config_hash.substr(0, 12));
  if (s.last_reload) {
    out += fmt::format("; last reload {} ago: {}", format_age(s.last_reload->seconds_ago),
                       s.last_reload->ok ? "applied" : "REFUSED (" + s.last_reload->message + ")");
  } else {
    out += "; not reloaded since start";
  }
  out += "\n";
  const Assessment health = assess(s);
  out += health.healthy ? "Health: healthy\n" : "Health: DEGRADED\n";
  for (const auto& reason : health.reasons)
    out += "  - " + reason + "\n";

  if (!s.vrrp.empty()) {
    std::vector<std::vector<std::string>> rows = {
        {"INSTANCE", "STATE", "PRIO", "VRID", "INTERFACE", "MASTER", "LAST TRANSITION"}};
    for (const auto& vi : s.vrrp) {
      std::string last = "-";
      if (vi.last_transition) {
        const auto& t = *vi.last_transition;
        last =
            fmt::format("{} ago, {} -> {} ({})", format_age(t.seconds_ago), t.from, t.to, t.reason);
      }
      std::string priority = std::to_string(vi.effective_priority);
      if (vi.effective_priority != vi.base_priority)
        priority += "/" + std::to_string(vi.base_priority);
      rows.push_back({vi.name, vi.state, priority, std::to_string(vi.vrid), vi.interface,
                      vi.master_address.empty() ? "-" : vi.master_address, last});
    }
    out += "\nVRRP instances (PRIO: effective/base when tracking moved it)\n" + table(rows);
  }
  if (!s.virtual_servers.empty()) {
    std::vector<std::vector<std::string>> rows = {
        {"VIRTUAL SERVER", "ALIVE", "WEIGHT/QUORUM", "QUORUM", "SORRY SERVER"}};
    for (const auto& vs : s.virtual_servers) {
      rows.push_back({vs.name, fmt::format("{}/{}", vs.alive, vs.total),
                      fmt::format("{}/{}", vs.live_weight, vs.quorum), vs.quorum_up ? "up" : "DOWN",
                      vs.sorry_server_active ? "ACTIVE" : "-"});
    }
    out += "\nVirtual servers\n" + table(rows);
  }
  if (!s.warnings.empty()) {
    out += "\nWarnings\n";
    for (const auto& warning : s.warnings)
      out += "  - " + warning + "\n";
  }
  return out;
}

}  // namespace vigil::api
