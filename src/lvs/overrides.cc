#include "lvs/overrides.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <libconfig.h++>

#include "lvs/libconfig_setting.h"

namespace vigil::lvs {
using config::VirtualServerKind;

std::string_view protocol_label(config::LvsProtocol protocol) {
  switch (protocol) {
    case config::LvsProtocol::kTcp:
      return "tcp";
    case config::LvsProtocol::kUdp:
      return "udp";
    case config::LvsProtocol::kSctp:
      return "sctp";
  }
  return "?";
}

namespace {

bool names_real_server(std::string_view text, const config::RealServer& rs, bool only_port) {
  if (text == format_real_server({rs.address, rs.port}) || text == host_port(rs.address, rs.port))
    return true;
  return only_port && text == rs.address.to_string();
}

}  // namespace

std::vector<std::string> virtual_server_names(const check::VirtualServerKey& key) {
  switch (key.kind) {
    case VirtualServerKind::kAddress:
      return {format_virtual_server(key), host_port(key.address, key.port)};
    case VirtualServerKind::kFwmark:
      return {format_virtual_server(key), fmt::format("fwmark:{}", key.fwmark)};
    case VirtualServerKind::kGroup:
      // A group's service has no port of its own (its entries have theirs): its name alone,
      // or "group NAME" as the configuration writes it.
      return {format_virtual_server(key), fmt::format("{}:{}", key.group, key.port), key.group,
              "group " + key.group};
  }
  return {};
}

std::string_view to_string(OverrideKind kind) {
  switch (kind) {
    case OverrideKind::kDrain:
      return "drain";
    case OverrideKind::kMaint:
      return "maint";
    case OverrideKind::kWeight:
      return "weight";
  }
  return "?";
}

std::optional<OverrideKind> parse_override_kind(std::string_view text) {
  for (auto kind : {OverrideKind::kDrain, OverrideKind::kMaint, OverrideKind::kWeight})
    if (text == to_string(kind)) return kind;
  return std::nullopt;
}

std::string_view to_string(DropReason reason) {
  switch (reason) {
    case DropReason::kExpired:
      return "expired";
    case DropReason::kConfiguredWeightChanged:
      return "the configured weight changed since it was set";
  }
  return "?";
}

std::string format_virtual_server(const check::VirtualServerKey& key) {
  switch (key.kind) {
    case VirtualServerKind::kAddress:
      return fmt::format("[{}]:{}:{}", key.address.to_string(), protocol_label(key.protocol),
                         key.port);
    case VirtualServerKind::kFwmark:
      return fmt::format("FWM {}", key.fwmark);
    case VirtualServerKind::kGroup:
      return fmt::format("[{}]:{}", key.group, key.port);
  }
  return "?";
}

std::string format_real_server(const check::RealServerKey& key) {
  return fmt::format("[{}]:{}", key.address.to_string(), key.port);
}

std::string format_target(const OverrideTarget& target) {
  return format_virtual_server(target.virtual_server) + " " +
         format_real_server(target.real_server);
}

namespace {

// The configured blocks by check key (the first block with a key is the one programmed), so
// that looking up many overrides costs one pass over the configuration.
using BlockIndex = std::map<check::VirtualServerKey, const config::VirtualServer*>;

BlockIndex index_blocks(const config::Config& config) {
  BlockIndex index;
  for (const auto& vs : config.lvs.virtual_servers)
    index.try_emplace(check::virtual_server_key(vs), &vs);
  return index;
}

TargetInConfig find_in(const BlockIndex& index, const OverrideTarget& target) {
  const auto block = index.find(target.virtual_server);
  if (block == index.end()) return {};
  for (const auto& rs : block->second->real_servers) {
    if (rs.address == target.real_server.address && rs.port == target.real_server.port)
      return {block->second, &rs};
  }
  return {block->second, nullptr};
}

}  // namespace

TargetInConfig find_target(const config::Config& config, const OverrideTarget& target) {
  for (const auto& vs : config.lvs.virtual_servers) {
    if (check::virtual_server_key(vs) != target.virtual_server) continue;
    for (const auto& rs : vs.real_servers) {
      if (rs.address == target.real_server.address && rs.port == target.real_server.port)
        return {&vs, &rs};
    }
    return {&vs, nullptr};  // the first block with the key is the one programmed
  }
  return {};
}

std::vector<OverrideTarget> resolve_targets(const config::Config& config,
                                            std::string_view virtual_server,
                                            std::string_view real_server,
                                            bool all_virtual_servers) {
  std::vector<OverrideTarget> targets;
  for (const auto& vs : config.lvs.virtual_servers) {
    const auto key = check::virtual_server_key(vs);
    if (!all_virtual_servers) {
      const auto names = virtual_server_names(key);
      if (std::ranges::find(names, virtual_server) == names.end()) continue;
    }
    for (const auto& rs : vs.real_servers) {
      const bool only_port = std::ranges::count_if(vs.real_servers, [&](const auto& other) {
                               return other.address == rs.address;
                             }) == 1;
      if (!names_real_server(real_server, rs, only_port)) continue;
      OverrideTarget target{key, {rs.address, rs.port}};
      if (std::ranges::find(targets, target) == targets.end()) targets.push_back(target);
    }
  }
  return targets;
}

Result<Override> make_override(const config::Config& config, const OverrideTarget& target,
                               Override wanted) {
  const auto found = find_target(config, target);
  if (found.virtual_server == nullptr)
    return Error{"no virtual server " + format_virtual_server(target.virtual_server)};
  if (found.real_server == nullptr) {
    return Error{"virtual server " + format_virtual_server(target.virtual_server) +
                 " has no real server " + format_real_server(target.real_server)};
  }
  if (wanted.kind == OverrideKind::kWeight) {
    if (wanted.weight > static_cast<uint32_t>(INT32_MAX))
      return Error{"weight " + std::to_string(wanted.weight) + " out of range (0.." +
                   std::to_string(INT32_MAX) + ")"};
    wanted.configured_weight = found.real_server->weight;
  } else {
    wanted.weight = 0;
    wanted.configured_weight = 0;
  }
  if (wanted.expires && *wanted.expires <= wanted.since)
    return Error{"an override must last at least one second"};
  if (wanted.reason.size() > kMaxReasonLength) wanted.reason.resize(kMaxReasonLength);
  return wanted;
}

std::vector<DroppedOverride> prune_overrides(OverrideMap& overrides, const config::Config& config,
                                             int64_t now) {
  std::vector<DroppedOverride> dropped;
  if (overrides.empty()) return dropped;
  const BlockIndex index = index_blocks(config);
  for (auto it = overrides.begin(); it != overrides.end();) {
    const auto& [target, override_] = *it;
    std::optional<DropReason> reason;
    if (override_.expires && *override_.expires <= now) {
      reason = DropReason::kExpired;
    } else if (override_.kind == OverrideKind::kWeight) {
      const auto found = find_in(index, target);
      if (found.real_server != nullptr && found.real_server->weight != override_.configured_weight)
        reason = DropReason::kConfiguredWeightChanged;
    }
    if (!reason) {
      ++it;
      continue;
    }
    dropped.push_back({target, override_, *reason});
    it = overrides.erase(it);
  }
  return dropped;
}

std::optional<int64_t> next_expiry(const OverrideMap& overrides) {
  std::optional<int64_t> next;
  for (const auto& [target, override_] : overrides) {
    if (override_.expires && (!next || *override_.expires < *next)) next = override_.expires;
  }
  return next;
}

std::set<OverrideTarget> paused_checks(const OverrideMap& overrides) {
  std::set<OverrideTarget> paused;
  for (const auto& [target, override_] : overrides)
    if (override_.kind == OverrideKind::kMaint) paused.insert(target);
  return paused;
}

std::vector<OverrideEntry> list_overrides(const OverrideMap& overrides,
                                          const config::Config* config) {
  std::vector<OverrideEntry> entries;
  entries.reserve(overrides.size());
  const BlockIndex index =
      config != nullptr && !overrides.empty() ? index_blocks(*config) : BlockIndex{};
  for (const auto& [target, override_] : overrides) {
    const bool present = find_in(index, target).real_server != nullptr;
    entries.push_back({target, override_, !present});
  }
  return entries;
}

DestinationState apply_override(DestinationState health, const Override* override_) {
  if (override_ == nullptr) return health;
  switch (override_->kind) {
    case OverrideKind::kDrain:
      // Out stays out: a drain never brings a DOWN server back, even at weight 0.
      if (health.in) health.weight = 0;
      return health;
    case OverrideKind::kMaint:
      return {};
    case OverrideKind::kWeight:
      // Only a healthy server carrying traffic takes the weight; one the health holds at 0
      // (inhibit_on_failure, a dynamic weight of 0) stays at 0, one out stays out.
      if (health.in && health.weight > 0) health.weight = override_->weight;
      return health;
  }
  return health;
}

// ---- the state file ---------------------------------------------------------------------------

namespace {

std::string_view kind_name(VirtualServerKind kind) {
  switch (kind) {
    case VirtualServerKind::kAddress:
      return "address";
    case VirtualServerKind::kFwmark:
      return "fwmark";
    case VirtualServerKind::kGroup:
      return "group";
  }
  return "?";
}

std::string_view protocol_name(config::LvsProtocol protocol) {
  switch (protocol) {
    case config::LvsProtocol::kTcp:
      return "TCP";
    case config::LvsProtocol::kUdp:
      return "UDP";
    case config::LvsProtocol::kSctp:
      return "SCTP";
  }
  return "?";
}

bool lookup_integer(const libconfig::Setting& group, const char* name, long long& value,
                    long long min, long long max) {
  return lvs::lookup_integer(group, name, value) && value >= min && value <= max;
}

std::string at(const std::string& name, const libconfig::Setting& setting, const std::string& why) {
  return name + ":" + std::to_string(setting.getSourceLine()) + ": " + why;
}

Result<check::VirtualServerKey> parse_virtual_server(const libconfig::Setting& group,
                                                     const std::string& name) {
  if (!group.isGroup()) return Error{at(name, group, "virtual_server must be a { ... } group")};
  check::VirtualServerKey key;
  std::string kind;
  std::string family;
  std::string protocol;
  std::string address;
  long long port = 0;
  long long fwmark = 0;
  if (!group.lookupValue("kind", kind) || !group.lookupValue("family", family) ||
      !group.lookupValue("protocol", protocol) || !group.lookupValue("address", address) ||
      !lookup_integer(group, "port", port, 0, 65535) ||
      !lookup_integer(group, "fwmark", fwmark, 0, 0xffffffffLL) ||
      !group.lookupValue("group", key.group)) {
    return Error{at(name, group,
                    "virtual_server needs kind, family, protocol, address, port, fwmark and "
                    "group, each of its type and in range")};
  }
  if (kind == "address") {
    key.kind = VirtualServerKind::kAddress;
  } else if (kind == "fwmark") {
    key.kind = VirtualServerKind::kFwmark;
  } else if (kind == "group") {
    key.kind = VirtualServerKind::kGroup;
  } else {
    return Error{at(name, group, "unknown virtual_server kind '" + kind + "'")};
  }
  if (family == "inet") {
    key.family = AddressFamily::kIpv4;
  } else if (family == "inet6") {
    key.family = AddressFamily::kIpv6;
  } else {
    return Error{at(name, group, "unknown family '" + family + "'")};
  }
  if (protocol == "TCP") {
    key.protocol = config::LvsProtocol::kTcp;
  } else if (protocol == "UDP") {
    key.protocol = config::LvsProtocol::kUdp;
  } else if (protocol == "SCTP") {
    key.protocol = config::LvsProtocol::kSctp;
  } else {
    return Error{at(name, group, "unknown protocol '" + protocol + "'")};
  }
  auto parsed = IpAddress::parse(address);
  if (!parsed) return Error{at(name, group, "bad address '" + address + "'")};
  key.address = *parsed;
  key.port = static_cast<uint16_t>(port);
  key.fwmark = static_cast<uint32_t>(fwmark);
  return key;
}

Result<check::RealServerKey> parse_real_server(const libconfig::Setting& group,
                                               const std::string& name) {
  if (!group.isGroup()) return Error{at(name, group, "real_server must be a { ... } group")};
  std::string address;
  long long port = 0;
  if (!group.lookupValue("address", address) || !lookup_integer(group, "port", port, 0, 65535))
    return Error{at(name, group, "real_server needs an address and a port (0..65535)")};
  auto parsed = IpAddress::parse(address);
  if (!parsed) return Error{at(name, group, "bad address '" + address + "'")};
  return check::RealServerKey{*parsed, static_cast<uint16_t>(port)};
}

Result<std::pair<OverrideTarget, Override>> parse_entry(const libconfig::Setting& entry,
                                                        const std::string& name) {
  if (!entry.isGroup()) return Error{at(name, entry, "an override must be a { ... } group")};
  if (!entry.exists("virtual_server") || !entry.exists("real_server"))
    return Error{at(name, entry, "an override needs virtual_server and real_server")};
  auto vs = parse_virtual_server(entry["virtual_server"], name);
  if (!vs) return vs.error();
  auto rs = parse_real_server(entry["real_server"], name);
  if (!rs) return rs.error();
  Override o;
  std::string kind;
  if (!entry.lookupValue("kind", kind)) return Error{at(name, entry, "an override needs a kind")};
  const auto parsed_kind = parse_override_kind(kind);
  if (!parsed_kind) return Error{at(name, entry, "unknown override kind '" + kind + "'")};
  o.kind = *parsed_kind;
  long long weight = 0;
  long long configured_weight = 0;
  long long uid = 0;
  long long pid = 0;
  long long since = 0;
  if (!lookup_integer(entry, "weight", weight, 0, INT32_MAX) ||
      !lookup_integer(entry, "configured_weight", configured_weight, 0, UINT32_MAX) ||
      !lookup_integer(entry, "uid", uid, 0, UINT32_MAX) ||
      !lookup_integer(entry, "pid", pid, 0, INT32_MAX) ||
      !lookup_integer(entry, "since", since, 0, LLONG_MAX) ||
      !entry.lookupValue("reason", o.reason)) {
    return Error{at(name, entry,
                    "an override needs weight, configured_weight, uid, pid, since and reason, "
                    "each of its type and in range")};
  }
  if (o.reason.size() > kMaxReasonLength)
    return Error{at(name, entry, "reason longer than " + std::to_string(kMaxReasonLength))};
  o.weight = static_cast<uint32_t>(weight);
  o.configured_weight = static_cast<uint32_t>(configured_weight);
  o.uid = static_cast<uint32_t>(uid);
  o.pid = static_cast<int32_t>(pid);
  o.since = since;
  if (entry.exists("expires")) {
    long long expires = 0;
    if (!lookup_integer(entry, "expires", expires, 0, LLONG_MAX))
      return Error{at(name, entry["expires"], "expires must be a time in seconds")};
    o.expires = expires;
  }
  return std::pair{OverrideTarget{*vs, *rs}, std::move(o)};
}

}  // namespace

std::string format_override_file(const OverrideMap& overrides) {
  return format_state_file(StateFile{.overrides = overrides});
}

Result<OverrideMap> parse_override_file(const std::string& text, const std::string& name) {
  auto parsed = parse_state_file(text, name);
  if (!parsed) return parsed.error();
  return std::move(parsed->overrides);
}

std::string format_state_file(const StateFile& state) {
  const OverrideMap& overrides = state.overrides;
  libconfig::Config config;
  auto& root = config.getRoot();
  root.add("version", libconfig::Setting::TypeInt) = kOverrideFileVersion;
  auto& list = root.add("overrides", libconfig::Setting::TypeList);
  for (const auto& [target, o] : overrides) {
    auto& entry = list.add(libconfig::Setting::TypeGroup);
    const auto& vs_key = target.virtual_server;
    auto& vs = entry.add("virtual_server", libconfig::Setting::TypeGroup);
    vs.add("kind", libconfig::Setting::TypeString) = std::string(kind_name(vs_key.kind));
    vs.add("family", libconfig::Setting::TypeString) =
        vs_key.family == AddressFamily::kIpv4 ? "inet" : "inet6";
    vs.add("protocol", libconfig::Setting::TypeString) =
        std::string(protocol_name(vs_key.protocol));
    vs.add("address", libconfig::Setting::TypeString) = vs_key.address.to_string();
    vs.add("port", libconfig::Setting::TypeInt) = static_cast<int>(vs_key.port);
    vs.add("fwmark", libconfig::Setting::TypeInt64) = static_cast<long long>(vs_key.fwmark);
    vs.add("group", libconfig::Setting::TypeString) = vs_key.group;
    auto& rs = entry.add("real_server", libconfig::Setting::TypeGroup);
    rs.add("address", libconfig::Setting::TypeString) = target.real_server.address.to_string();
    rs.add("port", libconfig::Setting::TypeInt) = static_cast<int>(target.real_server.port);
    entry.add("kind", libconfig::Setting::TypeString) = std::string(to_string(o.kind));
    entry.add("weight", libconfig::Setting::TypeInt64) = static_cast<long long>(o.weight);
    entry.add("configured_weight", libconfig::Setting::TypeInt64) =
        static_cast<long long>(o.configured_weight);
    entry.add("reason", libconfig::Setting::TypeString) = o.reason;
    entry.add("uid", libconfig::Setting::TypeInt64) = static_cast<long long>(o.uid);
    entry.add("pid", libconfig::Setting::TypeInt64) = static_cast<long long>(o.pid);
    entry.add("since", libconfig::Setting::TypeInt64) = static_cast<long long>(o.since);
    if (o.expires)
      entry.add("expires", libconfig::Setting::TypeInt64) = static_cast<long long>(*o.expires);
  }
  if (!state.vrrp_maintenance.empty()) {
    auto& maintenance = root.add("vrrp_maintenance", libconfig::Setting::TypeList);
    for (const auto& [instance, m] : state.vrrp_maintenance) {
      auto& entry = maintenance.add(libconfig::Setting::TypeGroup);
      entry.add("instance", libconfig::Setting::TypeString) = instance;
      entry.add("reason", libconfig::Setting::TypeString) = m.reason;
      entry.add("uid", libconfig::Setting::TypeInt64) = static_cast<long long>(m.uid);
      entry.add("pid", libconfig::Setting::TypeInt64) = static_cast<long long>(m.pid);
      entry.add("since", libconfig::Setting::TypeInt64) = static_cast<long long>(m.since);
    }
  }
  char* buffer = nullptr;
  size_t size = 0;
  FILE* stream = open_memstream(&buffer, &size);
  if (stream == nullptr) return {};
  config.write(stream);
  std::fclose(stream);
  std::string text =
      "# vigild: drains, maintenance and weight overrides of real servers, and VRRP instances in "
      "maintenance (written by vigild; change them with vigilctl rs / vigilctl vrrp "
      "maintenance)\n";
  text.append(buffer, size);
  std::free(buffer);  // NOLINT(cppcoreguidelines-no-malloc): open_memstream's buffer
  return text;
}

Result<StateFile> parse_state_file(const std::string& text, const std::string& name) {
  if (text.size() > kMaxOverrideFileSize)
    return Error{name + ": larger than " + std::to_string(kMaxOverrideFileSize) + " bytes"};
  libconfig::Config config;
  try {
    config.readString(text);
  } catch (const libconfig::ParseException& e) {
    return Error{name + ":" + std::to_string(e.getLine()) + ": " + e.getError()};
  }
  try {
    const auto& root = config.getRoot();
    long long version = 0;
    if (!lookup_integer(root, "version", version))
      return Error{name + ": no version (not a vigil state file)"};
    if (version != kOverrideFileVersion) {
      return Error{at(name, root["version"],
                      "version " + std::to_string(version) + " is not one this vigild reads (" +
                          std::to_string(kOverrideFileVersion) + ")")};
    }
    if (!root.exists("overrides") || !root["overrides"].isList())
      return Error{name + ": no overrides list"};
    const auto& list = root["overrides"];
    if (static_cast<size_t>(list.getLength()) > kMaxOverrides)
      return Error{at(name, list, "more than " + std::to_string(kMaxOverrides) + " overrides")};
    StateFile state;
    OverrideMap& overrides = state.overrides;
    for (int i = 0; i < list.getLength(); ++i) {
      auto entry = parse_entry(list[i], name);
      if (!entry) return entry.error();
      if (!overrides.emplace(entry->first, std::move(entry->second)).second)
        return Error{at(name, list[i], "a second override of " + format_target(entry->first))};
    }
    if (root.exists("vrrp_maintenance")) {
      const auto& maintenance = root["vrrp_maintenance"];
      if (!maintenance.isList())
        return Error{at(name, maintenance, "vrrp_maintenance must be a ( ... ) list")};
      if (static_cast<size_t>(maintenance.getLength()) > kMaxVrrpMaintenance) {
        return Error{
            at(name, maintenance, "more than " + std::to_string(kMaxVrrpMaintenance) + " entries")};
      }
      for (int i = 0; i < maintenance.getLength(); ++i) {
        const auto& entry = maintenance[i];
        std::string instance;
        VrrpMaintenance m;
        long long uid = 0;
        long long pid = 0;
        long long since = 0;
        if (!entry.isGroup() || !entry.lookupValue("instance", instance) || instance.empty() ||
            !entry.lookupValue("reason", m.reason) ||
            !lookup_integer(entry, "uid", uid, 0, UINT32_MAX) ||
            !lookup_integer(entry, "pid", pid, 0, INT32_MAX) ||
            !lookup_integer(entry, "since", since, 0, LLONG_MAX)) {
          return Error{at(name, entry,
                          "a vrrp_maintenance entry needs instance, reason, uid, pid and since, "
                          "each of its type and in range")};
        }
        if (m.reason.size() > kMaxReasonLength)
          return Error{at(name, entry, "reason longer than " + std::to_string(kMaxReasonLength))};
        m.uid = static_cast<uint32_t>(uid);
        m.pid = static_cast<int32_t>(pid);
        m.since = since;
        if (!state.vrrp_maintenance.emplace(instance, std::move(m)).second)
          return Error{at(name, entry, "a second vrrp_maintenance entry for " + instance)};
      }
    }
    return state;
  } catch (const libconfig::ConfigException& e) {
    return Error{name + ": " + e.what()};
  }
}

}  // namespace vigil::lvs
