#include "api/status.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

namespace vigil::api {

using nlohmann::json;

namespace {
std::string without_protocol(const std::string& address);
}  // namespace

void DaemonStatus::merge(StatusPart part) {
  std::move(part.vrrp.begin(), part.vrrp.end(), std::back_inserter(vrrp));
  std::move(part.virtual_servers.begin(), part.virtual_servers.end(),
            std::back_inserter(virtual_servers));
  std::move(part.warnings.begin(), part.warnings.end(), std::back_inserter(warnings));
  std::move(part.kernel.begin(), part.kernel.end(), std::back_inserter(kernel));
  if (kernel.empty()) return;
  // Parts come in any order: the IPVS side's goes to the real servers once both are in.
  std::map<std::pair<std::string, std::string>, const KernelRealServer*> by_server;
  for (const auto& k : kernel)
    by_server.emplace(std::pair{k.virtual_server, k.real_server}, &k);
  for (auto& vs : virtual_servers) {
    for (auto& rs : vs.real_servers) {
      const auto found = by_server.find({vs.name, without_protocol(rs.address)});
      if (found == by_server.end()) continue;
      const KernelRealServer& k = *found->second;
      rs.kernel = k.kernel;
      if (k.admin_changed_seconds_ago &&
          (!rs.last_change_seconds_ago ||
           *k.admin_changed_seconds_ago < *rs.last_change_seconds_ago))
        rs.last_change_seconds_ago = k.admin_changed_seconds_ago;
      by_server.erase(found);
    }
  }
  // What is left waits for a later part.
  std::erase_if(kernel, [&](const KernelRealServer& k) {
    return !by_server.contains({k.virtual_server, k.real_server});
  });
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

json to_json(const OverrideStatus& o) {
  return {{"virtual_server", o.virtual_server},
          {"real_server", o.real_server},
          {"kind", o.kind},
          {"weight", o.weight},
          {"reason", o.reason},
          {"uid", o.uid},
          {"pid", o.pid},
          {"since", o.since},
          {"expires", o.expires ? json(*o.expires) : json(nullptr)},
          {"orphaned", o.orphaned}};
}

Result<OverrideStatus> override_from_json(const json& j) {
  try {
    OverrideStatus o{.virtual_server = j.at("virtual_server").get<std::string>(),
                     .real_server = j.at("real_server").get<std::string>(),
                     .kind = j.at("kind").get<std::string>(),
                     .weight = j.at("weight").get<uint32_t>(),
                     .reason = j.at("reason").get<std::string>(),
                     .uid = j.at("uid").get<uint32_t>(),
                     .pid = j.at("pid").get<int32_t>(),
                     .since = j.at("since").get<int64_t>(),
                     .orphaned = j.at("orphaned").get<bool>()};
    if (const auto& e = j.at("expires"); !e.is_null()) o.expires = e.get<int64_t>();
    return o;
  } catch (const json::exception& e) {
    return Error{fmt::format("an override is not as expected: {}", e.what())};
  }
}

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
         {"last_transition", transition_json(vi.last_transition)},
         {"version", vi.version},
         {"advert_interval_seconds", vi.advert_interval_seconds},
         {"preempt", vi.preempt},
         {"fault", vi.fault},
         {"maintenance", vi.maintenance},
         {"maintenance_reason", vi.maintenance_reason},
         {"counters",
          {{"adverts_sent", vi.adverts_sent},
           {"adverts_received", vi.adverts_received},
           {"became_master", vi.became_master},
           {"released_master", vi.released_master},
           {"rejected", vi.rejected},
           {"vip_failures", vi.vip_failures}}}});
  }
  json services = json::array();
  for (const auto& vs : s.virtual_servers) {
    json real_servers = json::array();
    for (const auto& rs : vs.real_servers) {
      json checkers = json::array();
      for (const auto& c : rs.checkers) {
        checkers.push_back(
            {{"name", c.name},
             {"up", c.up},
             {"has_run", c.has_run},
             {"probes", c.probes},
             {"latency_seconds", c.latency_seconds ? json(*c.latency_seconds) : json(nullptr)},
             {"last_error", c.last_error}});
        if (c.paused) checkers.back()["paused"] = true;
      }
      real_servers.push_back({{"address", rs.address},
                              {"alive", rs.alive},
                              {"weight", rs.weight},
                              {"checkers", std::move(checkers)}});
      if (const auto& k = rs.kernel) {
        real_servers.back()["kernel"] = {{"weight", k->weight},
                                         {"active_connections", k->active_connections},
                                         {"inactive_connections", k->inactive_connections},
                                         {"connections", k->connections},
                                         {"packets_in", k->packets_in},
                                         {"packets_out", k->packets_out},
                                         {"bytes_in", k->bytes_in},
                                         {"bytes_out", k->bytes_out}};
      }
      if (rs.last_change_seconds_ago)
        real_servers.back()["last_change_seconds_ago"] = *rs.last_change_seconds_ago;
    }
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
          {"overrides",
           [&] {
             json list = json::array();
             for (const auto& o : s.overrides)
               list.push_back(to_json(o));
             return list;
           }()},
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
      vi.version = v.at("version").get<int>();
      vi.advert_interval_seconds = v.at("advert_interval_seconds").get<double>();
      vi.preempt = v.at("preempt").get<bool>();
      vi.fault = v.at("fault").get<bool>();
      vi.maintenance = v.value("maintenance", false);
      vi.maintenance_reason = v.value("maintenance_reason", std::string());
      const auto& counters = v.at("counters");
      vi.adverts_sent = counters.at("adverts_sent").get<uint64_t>();
      vi.adverts_received = counters.at("adverts_received").get<uint64_t>();
      vi.became_master = counters.at("became_master").get<uint64_t>();
      vi.released_master = counters.at("released_master").get<uint64_t>();
      vi.rejected = counters.at("rejected").get<uint64_t>();
      vi.vip_failures = counters.at("vip_failures").get<uint64_t>();
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
        RealServerStatus rs{.address = r.at("address").get<std::string>(),
                            .alive = r.at("alive").get<bool>(),
                            .weight = r.at("weight").get<int64_t>()};
        for (const auto& c : r.value("checkers", json::array())) {
          CheckerStatus checker{.name = c.at("name").get<std::string>(),
                                .up = c.at("up").get<bool>(),
                                .has_run = c.at("has_run").get<bool>(),
                                .probes = c.at("probes").get<uint64_t>(),
                                .last_error = c.at("last_error").get<std::string>(),
                                .paused = c.value("paused", false)};
          if (const auto& l = c.at("latency_seconds"); !l.is_null())
            checker.latency_seconds = l.get<double>();
          rs.checkers.push_back(std::move(checker));
        }
        if (const auto k = r.find("kernel"); k != r.end()) {
          rs.kernel = KernelDestinationStatus{
              .weight = k->at("weight").get<int64_t>(),
              .active_connections = k->at("active_connections").get<uint64_t>(),
              .inactive_connections = k->at("inactive_connections").get<uint64_t>(),
              .connections = k->at("connections").get<uint64_t>(),
              .packets_in = k->at("packets_in").get<uint64_t>(),
              .packets_out = k->at("packets_out").get<uint64_t>(),
              .bytes_in = k->at("bytes_in").get<uint64_t>(),
              .bytes_out = k->at("bytes_out").get<uint64_t>()};
        }
        if (const auto l = r.find("last_change_seconds_ago"); l != r.end())
          rs.last_change_seconds_ago = l->get<double>();
        vs.real_servers.push_back(std::move(rs));
      }
      s.virtual_servers.push_back(std::move(vs));
    }
    for (const auto& o : j.value("overrides", json::array())) {
      auto parsed = override_from_json(o);
      if (!parsed) return parsed.error();
      s.overrides.push_back(std::move(*parsed));
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

std::string render_overrides_text(const std::vector<OverrideStatus>& overrides, int64_t now) {
  std::vector<std::vector<std::string>> rows = {
      {"VIRTUAL SERVER", "REAL SERVER", "OVERRIDE", "SINCE", "EXPIRES", "BY", "REASON"}};
  for (const auto& o : overrides) {
    std::string kind = o.kind == "weight" ? fmt::format("weight {}", o.weight) : o.kind;
    if (o.orphaned) kind += " (orphaned)";
    rows.push_back({o.virtual_server, o.real_server, kind,
                    now > 0 ? format_age(static_cast<double>(now - o.since)) + " ago"
                            : std::to_string(o.since),
                    !o.expires ? "-"
                    : now > 0  ? "in " + format_age(static_cast<double>(*o.expires - now))
                               : std::to_string(*o.expires),
                    fmt::format("uid {}", o.uid), o.reason.empty() ? "-" : o.reason});
  }
  return table(rows);
}

namespace {

// "[10.0.0.1]:tcp:80" and "[10.0.0.1]:80" both as "[10.0.0.1]:80".
std::string without_protocol(const std::string& address) {
  const size_t bracket = address.find("]:");
  const size_t last = address.rfind(':');
  if (bracket == std::string::npos || last == std::string::npos || last <= bracket + 1)
    return address;
  return address.substr(0, bracket + 1) + address.substr(last);
}

}  // namespace

bool virtual_server_matches(const std::string& name, const std::string& spelling) {
  if (name == spelling) return true;
  // "192.0.2.80:80" and "[2001:db8::1]:80" for "[192.0.2.80]:tcp:80" / "[2001:db8::1]:tcp:80".
  std::string bracketed = spelling;
  if (!spelling.empty() && spelling.front() != '[') {
    const size_t colon = spelling.rfind(':');
    if (colon == std::string::npos) return false;
    bracketed = "[" + spelling.substr(0, colon) + "]" + spelling.substr(colon);
  }
  return without_protocol(name) == bracketed;
}

std::string render_vrrp_text(const DaemonStatus& s, const std::string& only) {
  std::string out;
  for (const auto& vi : s.vrrp) {
    if (!only.empty() && vi.name != only) continue;
    if (!out.empty()) out += "\n";
    out +=
        fmt::format("{}: {}{}{}\n", vi.name, vi.state, vi.fault ? " (a tracked object failed)" : "",
                    vi.maintenance ? " (maintenance)" : "");
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"interface", vi.interface});
    rows.push_back({"virtual router id", std::to_string(vi.vrid)});
    rows.push_back({"VRRP version", std::to_string(vi.version)});
    rows.push_back(
        {"priority", fmt::format("{} (base {})", vi.effective_priority, vi.base_priority)});
    rows.push_back({"advert interval", fmt::format("{} s", vi.advert_interval_seconds)});
    rows.push_back({"preempt", vi.preempt ? "yes" : "no"});
    if (vi.maintenance) {
      rows.push_back({"maintenance",
                      vi.maintenance_reason.empty() ? "on" : "on (" + vi.maintenance_reason + ")"});
    }
    rows.push_back({"master", vi.master_address.empty() ? "-" : vi.master_address});
    if (!vi.sync_group.empty()) rows.push_back({"sync group", vi.sync_group});
    std::string vips;
    for (const auto& vip : vi.virtual_addresses)
      vips += (vips.empty() ? "" : " ") + vip;
    rows.push_back({"virtual addresses", vips.empty() ? "-" : vips});
    if (vi.last_transition) {
      const auto& t = *vi.last_transition;
      rows.push_back(
          {"last transition", fmt::format("{} ago, {} -> {} ({})", format_age(t.seconds_ago),
                                          t.from, t.to, t.reason)});
    }
    rows.push_back(
        {"adverts sent / received", fmt::format("{} / {}", vi.adverts_sent, vi.adverts_received)});
    rows.push_back({"adverts rejected", std::to_string(vi.rejected)});
    rows.push_back(
        {"became / released master", fmt::format("{} / {}", vi.became_master, vi.released_master)});
    rows.push_back({"VIP failures", std::to_string(vi.vip_failures)});
    out += table(rows);
  }
  return out;
}

std::string render_services_text(const DaemonStatus& s, const std::string& only) {
  std::string out;
  for (const auto& vs : s.virtual_servers) {
    if (!only.empty() && !virtual_server_matches(vs.name, only)) continue;
    if (!out.empty()) out += "\n";
    out += fmt::format("{}: {}/{} alive, quorum {} (weight {}/{}){}\n", vs.name, vs.alive, vs.total,
                       vs.quorum_up ? "up" : "DOWN", vs.live_weight, vs.quorum,
                       vs.sorry_server_active ? ", SORRY SERVER ACTIVE" : "");
    std::vector<std::vector<std::string>> rows = {{"REAL SERVER", "HEALTH", "WEIGHT", "OVERRIDE",
                                                   "KERNEL", "ACTIVE", "INACT", "LAST CHANGE",
                                                   "CHECKERS"}};
    for (const auto& rs : vs.real_servers) {
      std::string override_text = "-";
      for (const auto& o : s.overrides) {
        if (o.virtual_server == vs.name &&
            without_protocol(o.real_server) == without_protocol(rs.address)) {
          override_text = o.kind == "weight" ? fmt::format("weight {}", o.weight) : o.kind;
        }
      }
      std::string checks;
      for (const auto& c : rs.checkers) {
        if (!checks.empty()) checks += "; ";
        checks += c.name + (c.has_run ? (c.up ? " up" : " DOWN") : " not run yet");
        if (c.latency_seconds) checks += fmt::format(" {:.1f} ms", *c.latency_seconds * 1000);
        if (!c.up && !c.last_error.empty()) checks += " (" + c.last_error + ")";
        if (c.paused) checks += " (paused)";
      }
      rows.push_back(
          {rs.address, rs.alive ? "UP" : "DOWN", std::to_string(rs.weight), override_text,
           rs.kernel ? std::to_string(rs.kernel->weight) : "-",
           rs.kernel ? std::to_string(rs.kernel->active_connections) : "-",
           rs.kernel ? std::to_string(rs.kernel->inactive_connections) : "-",
           rs.last_change_seconds_ago ? format_age(*rs.last_change_seconds_ago) + " ago" : "-",
           checks.empty() ? "-" : checks});
    }
    out += table(rows);
  }
  return out;
}

std::string render_status_text(const DaemonStatus& s, int64_t now) {
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
      rows.push_back({vi.name, vi.maintenance ? vi.state + " (maintenance)" : vi.state, priority,
                      std::to_string(vi.vrid), vi.interface,
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
  if (!s.overrides.empty()) {
    out += "\nOverrides (local to this director: the peer does not learn them)\n" +
           render_overrides_text(s.overrides, now);
  }
  if (!s.warnings.empty()) {
    out += "\nWarnings\n";
    for (const auto& warning : s.warnings)
      out += "  - " + warning + "\n";
  }
  return out;
}

}  // namespace vigil::api
