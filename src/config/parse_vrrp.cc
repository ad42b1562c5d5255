// vrrp_script, track_file, vrrp_sync_group, vrrp_instance: phase one (reading the blocks).
// Checks that need the whole file (defaults, families, versions, cross-references) are in
// finish_vrrp (parse_vrrp_finish.cc).
#include <array>
#include <charconv>

#include "config/parse_vrrp_util.h"
#include "config/sections.h"

namespace vigil::config {
namespace {

using vrrp_parse::Item;
using vrrp_parse::parse_scope;
using vrrp_parse::script_keyword;

constexpr std::string_view kind_of(const VrrpScript*) {
  return "vrrp_script";
}
constexpr std::string_view kind_of(const TrackFile*) {
  return "track_file";
}
constexpr std::string_view kind_of(const VrrpSyncGroup*) {
  return "vrrp_sync_group";
}
constexpr std::string_view kind_of(const VrrpInstance*) {
  return "vrrp_instance";
}

template <class T>
Item item_of(Context& ctx, const LogicalLine& line, const T& target) {
  return Item(ctx, line, kind_of(&target), target.name);
}

// --- Generic setters whose messages name the object. ------------------------------------------

template <auto Member>
void flag(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  if (auto value = item_of(ctx, line, target).flag()) target.*Member = *value;
}

// A keyword without arguments that sets a member to Value.
template <auto Member, bool Value>
void bare(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  if (item_of(ctx, line, target).count(0, 0)) target.*Member = Value;
}

template <auto Member, int64_t Min, int64_t Max>
void integer(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  Item item = item_of(ctx, line, target);
  if (!item.count(1, 1)) return;
  if (auto value = item.integer(1, Min, Max)) {
    target.*Member = static_cast<member_value_t<Member>>(*value);
  }
}

// Whole seconds (keepalived reads these keywords as integers).
template <auto Member, int64_t Min, int64_t Max>
void whole_seconds(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  Item item = item_of(ctx, line, target);
  if (!item.count(1, 1)) return;
  if (auto value = item.integer(1, Min, Max)) target.*Member = std::chrono::seconds(*value);
}

template <auto Member, int64_t MinMicros, int64_t MaxMicros>
void seconds(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  Item item = item_of(ctx, line, target);
  if (!item.count(1, 1)) return;
  if (auto value = item.seconds(1, Duration{MinMicros}, Duration{MaxMicros})) {
    target.*Member = *value;
  }
}

template <auto Member>
void text(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  Item item = item_of(ctx, line, target);
  if (item.count(1, 1)) target.*Member = item.text(1);
}

// notify_master, notify_backup, ... on an instance or a sync group.
template <std::optional<NotifyScript> VrrpNotify::*Field, class T>
void notify_script(Context& ctx, const LogicalLine& line, T& target) {
  Item item = item_of(ctx, line, target);
  auto script = script_keyword(item, /*allow_user=*/true);
  if (!script) return;
  auto& slot = target.notify.*Field;
  if (slot) {
    item.error(0, "'" + item.keyword() + "' is given twice (keepalived ignores the second)");
    return;
  }
  slot = std::move(*script);
}

template <std::optional<bool> VrrpNotify::*Field, class T>
void notify_flag(Context& ctx, const LogicalLine& line, T& target) {
  if (auto value = item_of(ctx, line, target).flag()) target.notify.*Field = *value;
}

// A keepalived keyword that 2.2.7 reports as a configuration error (deprecated); vigil rejects
// it too so that `vigild -t` agrees with `keepalived -t`.
template <class T>
void deprecated(Context& ctx, const LogicalLine& line, const T& target, std::string_view advice) {
  item_of(ctx, line, target)
      .error(0, "'" + line.keyword() +
                    "' is deprecated and keepalived 2.2.7 rejects it: " + std::string(advice));
  ctx.skip_block_if_present();
}

// --- track_interface / track_script / track_file blocks. ---------------------------------------

enum class TrackKind : uint8_t { kInterface, kScript, kFile };

// One entry: NAME [weight N [reverse|noreverse]]. keepalived's limits: ±253 for interfaces and
// scripts, ±254 for files; `noreverse` is not accepted for interfaces.
template <class T>
void track_entry(Context& ctx, const LogicalLine& entry, T& target, const std::string& block,
                 TrackKind kind) {
  Item item = item_of(ctx, entry, target);
  TrackRef ref{.name = entry.tokens[0].text, .loc = entry.loc()};
  std::string what = block + " " + ref.name;
  size_t n = entry.tokens.size();
  size_t i = 1;
  if (i < n) {
    if (item.text(i) != "weight") {
      item.error(i, what + ": unexpected '" + item.text(i) +
                        "' (expected: NAME [weight N [reverse" +
                        (kind == TrackKind::kInterface ? "" : "|noreverse") + "]])");
      return;
    }
    if (i + 1 >= n) {
      item.error(i, what + ": 'weight' needs a number");
      return;
    }
    item.set_subject(what + " weight");
    int64_t limit = kind == TrackKind::kFile ? 254 : 253;
    auto weight = item.integer(i + 1, -limit, limit);
    if (!weight) return;
    ref.weight = static_cast<int>(*weight);
    i += 2;
    if (i < n) {
      if (item.text(i) == "reverse") {
        ref.reverse = true;
      } else if (item.text(i) != "noreverse" || kind == TrackKind::kInterface) {
        item.error(i, what + ": unexpected '" + item.text(i) + "' after the weight (expected " +
                          (kind == TrackKind::kInterface ? "'reverse'" : "reverse|noreverse") +
                          ")");
        return;
      }
      ++i;
    }
    if (i < n) {
      item.error(i, what + ": unexpected '" + item.text(i) + "'");
      return;
    }
  }
  auto& list = kind == TrackKind::kInterface ? target.track.interfaces
               : kind == TrackKind::kScript  ? target.track.scripts
                                             : target.track.files;
  list.push_back(std::move(ref));
}

template <TrackKind Kind, class T>
void track_block(Context& ctx, const LogicalLine& line, T& target) {
  if (!item_of(ctx, line, target).count(0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  ctx.value_block(line, [&](const LogicalLine& entry) {
    track_entry(ctx, entry, target, line.keyword(), Kind);
  });
}

// --- vrrp_script. ---------------------------------------------------------------------------

void script_command(Context& ctx, const LogicalLine& line, VrrpScript& s) {
  if (auto script = script_keyword(item_of(ctx, line, s), /*allow_user=*/false)) {
    s.script = std::move(script->command);
  }
}

// weight N [reverse]
void script_weight(Context& ctx, const LogicalLine& line, VrrpScript& s) {
  Item item = item_of(ctx, line, s);
  if (!item.count(1, 2)) return;
  auto weight = item.integer(1, -253, 253);
  if (!weight) return;
  if (item.args() == 2 && item.text(2) != "reverse") {
    item.error(2, "weight: unexpected '" + item.text(2) + "' (expected 'reverse')");
    return;
  }
  s.weight = static_cast<int>(*weight);
  s.weight_reverse = item.args() == 2;
}

// user USERNAME [GROUPNAME]
void script_user(Context& ctx, const LogicalLine& line, VrrpScript& s) {
  Item item = item_of(ctx, line, s);
  if (!item.count(1, 2)) return;
  s.user = RunAs{item.text(1), item.args() == 2 ? item.text(2) : ""};
}

constexpr int64_t kMaxScriptSeconds = 4294;  // keepalived's limit (2^32 microseconds)
constexpr int64_t kMaxCount = 2147483647;

const Keyword<VrrpScript> kScriptKeywords[] = {
    {"script", script_command},
    {"interval", whole_seconds<&VrrpScript::interval, 1, kMaxScriptSeconds>},
    {"timeout", whole_seconds<&VrrpScript::timeout, 1, kMaxScriptSeconds>},
    {"weight", script_weight},
    {"rise", integer<&VrrpScript::rise, 1, kMaxCount>},
    {"fall", integer<&VrrpScript::fall, 1, kMaxCount>},
    {"user", script_user},
    {"init_fail", bare<&VrrpScript::init_fail, true>},
};

// A named top-level block: exactly one name, then "{ ... }". Returns false (block skipped) if
// the name is missing.
bool named_block_header(Context& ctx, const LogicalLine& line) {
  if (line.tokens.size() == 2) return true;
  ctx.error(line.tokens[line.tokens.size() > 2 ? 2 : 0],
            "'" + line.keyword() + "' takes exactly one name, got " +
                std::to_string(line.tokens.size() - 1) + " words");
  ctx.skip_block_if_present();
  return false;
}

void vrrp_script(Context& ctx, const LogicalLine& line, Config& config) {
  if (!named_block_header(ctx, line)) return;
  VrrpScript s{.name = line.tokens[1].text, .loc = line.tokens[1].loc};
  if (!ctx.block(line, kScriptKeywords, s)) return;
  if (s.script.argv.empty()) {
    ctx.error(s.loc, "vrrp_script " + s.name + ": no 'script' given");
  }
  config.vrrp.scripts.push_back(std::move(s));
}

// --- track_file. ----------------------------------------------------------------------------

// weight N [reverse]
void file_weight(Context& ctx, const LogicalLine& line, TrackFile& f) {
  Item item = item_of(ctx, line, f);
  if (!item.count(1, 2)) return;
  auto weight = item.integer(1, -254, 254);
  if (!weight) return;
  if (item.args() == 2 && item.text(2) != "reverse") {
    item.error(2, "weight: unexpected '" + item.text(2) + "' (expected 'reverse')");
    return;
  }
  f.weight = static_cast<int>(*weight);
  f.weight_reverse = item.args() == 2;
}

// init_file [VALUE] [overwrite]
void file_init(Context& ctx, const LogicalLine& line, TrackFile& f) {
  Item item = item_of(ctx, line, f);
  if (!item.count(0, 2)) return;
  int64_t value = 0;
  bool overwrite = false;
  for (size_t i = 1; i <= item.args(); ++i) {
    const std::string& word = item.text(i);
    if (word == "overwrite" && !overwrite) {
      overwrite = true;
      continue;
    }
    auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), value);
    if (i == 1 && ec == std::errc() && end == word.data() + word.size()) continue;
    item.error(i, "init_file: unexpected '" + word + "' (expected: init_file [VALUE] [overwrite])");
    return;
  }
  f.init_value = value;
  f.init_overwrite = overwrite;
}

const Keyword<TrackFile> kTrackFileKeywords[] = {
    {"file", text<&TrackFile::path>},
    {"weight", file_weight},
    {"init_file", file_init},
};

void track_file(Context& ctx, const LogicalLine& line, Config& config) {
  if (!named_block_header(ctx, line)) return;
  TrackFile f{.name = line.tokens[1].text, .loc = line.tokens[1].loc};
  if (!ctx.block(line, kTrackFileKeywords, f)) return;
  if (f.path.empty()) ctx.error(f.loc, "track_file " + f.name + ": no 'file' given");
  config.vrrp.track_files.push_back(std::move(f));
}

// --- vrrp_sync_group. -----------------------------------------------------------------------

// group { VI_1 VI_2 }: keepalived takes every word of every line as an instance name.
void group_members(Context& ctx, const LogicalLine& line, VrrpSyncGroup& g) {
  Item item = item_of(ctx, line, g);
  if (item.args() > 0) {
    item.error(1, "the instance names go in a block: group { " + item.text(1) + " ... }");
    g.had_invalid_lines = true;
    ctx.skip_block_if_present();
    return;
  }
  if (!g.members.empty()) {
    item.error(0, "'group' is given twice (keepalived ignores the second)");
    ctx.skip_block_if_present();
    return;
  }
  ctx.value_block(line, [&](const LogicalLine& entry) {
    for (const auto& token : entry.tokens)
      g.members.push_back({token.text, token.loc});
  });
}

const Keyword<VrrpSyncGroup> kSyncGroupKeywords[] = {
    {"group", group_members},
    {"track_interface", track_block<TrackKind::kInterface, VrrpSyncGroup>},
    {"track_script", track_block<TrackKind::kScript, VrrpSyncGroup>},
    {"track_file", track_block<TrackKind::kFile, VrrpSyncGroup>},
    {"notify_master", notify_script<&VrrpNotify::master, VrrpSyncGroup>},
    {"notify_backup", notify_script<&VrrpNotify::backup, VrrpSyncGroup>},
    {"notify_fault", notify_script<&VrrpNotify::fault, VrrpSyncGroup>},
    {"notify_stop", notify_script<&VrrpNotify::stop, VrrpSyncGroup>},
    {"notify", notify_script<&VrrpNotify::any, VrrpSyncGroup>},
    {"smtp_alert", notify_flag<&VrrpNotify::smtp_alert, VrrpSyncGroup>},
    {"notify_priority_changes", notify_flag<&VrrpNotify::notify_priority_changes, VrrpSyncGroup>},
    {"sync_group_tracking_weight", bare<&VrrpSyncGroup::sync_group_tracking_weight, true>},
    {"global_tracking",
     [](Context& ctx, const LogicalLine& line, VrrpSyncGroup& g) {
       deprecated(ctx, line, g, "use track_interface, track_script and track_file on the group");
     }},
    // keepalived keywords vigil does not implement yet.
    {"track_process"},
    {"track_bfd"},
};

void vrrp_sync_group(Context& ctx, const LogicalLine& line, Config& config) {
  if (!named_block_header(ctx, line)) return;
  VrrpSyncGroup g{.name = line.tokens[1].text, .loc = line.tokens[1].loc};
  if (!ctx.block(line, kSyncGroupKeywords, g)) return;
  config.vrrp.sync_groups.push_back(std::move(g));
}

// --- garp_group. ----------------------------------------------------------------------------

// keepalived reads a garp_group interval as a signed 32-bit count of microseconds.
constexpr int64_t kMaxGarpGroupMicros = 2147483647;

template <std::optional<Duration> GarpGroup::*Member>
void garp_group_interval(Context& ctx, const LogicalLine& line, GarpGroup& group) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto value = ctx.seconds(line, 1, Duration{0}, Duration{kMaxGarpGroupMicros})) {
    group.*Member = *value;
  }
}

void garp_group_interface(Context& ctx, const LogicalLine& line, GarpGroup& group) {
  if (!ctx.arg_count(line, 1, 1)) return;
  group.interfaces.push_back({line.tokens[1].text, line.tokens[1].loc});
}

// interfaces { eth0 eth1 }: every word of every line names an interface.
void garp_group_interfaces(Context& ctx, const LogicalLine& line, GarpGroup& group) {
  if (!ctx.arg_count(line, 0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  size_t listed = 0;
  const bool had_block = ctx.value_block(line, [&](const LogicalLine& entry) {
    for (const auto& token : entry.tokens) {
      group.interfaces.push_back({token.text, token.loc});
      ++listed;
    }
  });
  if (had_block && listed == 0) ctx.error(line.tokens[0], "garp_group: empty 'interfaces' block");
}

const Keyword<GarpGroup> kGarpGroupKeywords[] = {
    {"garp_interval", garp_group_interval<&GarpGroup::garp_interval>},
    {"gna_interval", garp_group_interval<&GarpGroup::gna_interval>},
    {"interface", garp_group_interface},
    {"interfaces", garp_group_interfaces},
};

void garp_group(Context& ctx, const LogicalLine& line, Config& config) {
  if (!ctx.arg_count(line, 0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  GarpGroup group{.loc = line.tokens[0].loc};
  if (!ctx.block(line, kGarpGroupKeywords, group)) return;
  if (!group.garp_interval && !group.gna_interval) {
    // keepalived reports this and drops the group.
    ctx.error(group.loc, "garp_group: neither garp_interval nor gna_interval is set");
    return;
  }
  if (group.interfaces.empty()) {
    ctx.warning(group.loc, "garp_group: no interface or interfaces given: it applies to nothing");
  }
  config.vrrp.garp_groups.push_back(std::move(group));
}

// --- vrrp_instance. -------------------------------------------------------------------------

using I = VrrpInstance;

void state(Context& ctx, const LogicalLine& line, I& vi) {
  Item item = item_of(ctx, line, vi);
  if (!item.count(1, 1)) return;
  // keepalived compares case-sensitively.
  if (item.text(1) != "MASTER" && item.text(1) != "BACKUP") {
    item.error(1, "state '" + item.text(1) + "' is not MASTER or BACKUP");
    return;
  }
  auto wanted = item.text(1) == "MASTER" ? VrrpInitialState::kMaster : VrrpInitialState::kBackup;
  if (vi.at.state.line != 0 && vi.state == VrrpInitialState::kMaster &&
      wanted == VrrpInitialState::kBackup) {
    item.error(1, "state MASTER was given earlier; keepalived ignores the later BACKUP");
    return;
  }
  vi.state = wanted;
  vi.at.state = line.loc();
}

// A keyword whose location a phase-two check needs: records it, then runs the setter.
template <SourceLocation VrrpInstanceLocations::*Where, Handler<I> Setter>
void located(Context& ctx, const LogicalLine& line, I& vi) {
  size_t errors = ctx.diagnostics().error_count();
  Setter(ctx, line, vi);
  if (ctx.diagnostics().error_count() == errors) {
    vi.at.*Where = line.tokens.size() > 1 ? line.tokens[1].loc : line.loc();
  }
}

// unicast_src_ip, unicast_peer and old_unicast_checksum make sense only with unicast peers.
void note_unicast_keyword(const LogicalLine& line, I& vi) {
  if (vi.at.unicast_keyword.line == 0) vi.at.unicast_keyword = line.loc();
}

void source_address(Context& ctx, const LogicalLine& line, I& vi) {
  Item item = item_of(ctx, line, vi);
  if (!item.count(1, 1)) return;
  auto address = item.address(1);
  if (!address) return;
  vi.source_address = *address;
  vi.at.source_address = item.token(1).loc;
  if (line.keyword() == "unicast_src_ip") note_unicast_keyword(line, vi);
}

void mcast_dst_ip(Context& ctx, const LogicalLine& line, I& vi) {
  Item item = item_of(ctx, line, vi);
  if (!item.count(1, 1)) return;
  auto address = item.address(1);
  if (!address) return;
  if (!address->is_multicast()) {
    item.error(1, "mcast_dst_ip " + item.text(1) + " is not a multicast address");
    return;
  }
  vi.mcast_dst_ip = *address;
  vi.at.mcast_dst_ip = item.token(1).loc;
}

// ADDR [min_ttl N] [max_ttl N]
void unicast_peer_entry(Context& ctx, const LogicalLine& entry, I& vi) {
  Item item = item_of(ctx, entry, vi);
  item.set_subject("unicast_peer");
  auto address = item.address(0);
  if (!address) return;
  UnicastPeer peer{.address = *address, .loc = entry.loc()};
  for (size_t i = 1; i < entry.tokens.size(); i += 2) {
    const std::string& option = item.text(i);
    if (option != "min_ttl" && option != "max_ttl") {
      if (IpAddress::parse(option)) {
        item.error(i, "unicast_peer: one address per line; '" + option +
                          "' is a second address on this line");
      } else {
        item.error(i, "unicast_peer " + item.text(0) + ": unknown option '" + option +
                          "' (expected min_ttl N, max_ttl N)");
      }
      return;
    }
    if (i + 1 >= entry.tokens.size()) {
      item.error(i, "unicast_peer " + item.text(0) + ": '" + option + "' needs a value");
      return;
    }
    item.set_subject("unicast_peer " + item.text(0) + " " + option);
    auto ttl = item.integer(i + 1, 0, 255);
    if (!ttl) return;
    (option == "min_ttl" ? peer.min_ttl : peer.max_ttl) = static_cast<uint8_t>(*ttl);
  }
  if (peer.min_ttl && peer.max_ttl && *peer.min_ttl > *peer.max_ttl) {
    item.error(0, "unicast_peer " + item.text(0) + ": min_ttl " + std::to_string(*peer.min_ttl) +
                      " is above max_ttl " + std::to_string(*peer.max_ttl) +
                      ": every advert would be dropped");
    return;
  }
  vi.unicast_peers.push_back(peer);
}

void unicast_peer(Context& ctx, const LogicalLine& line, I& vi) {
  if (!item_of(ctx, line, vi).count(0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  note_unicast_keyword(line, vi);
  size_t errors = ctx.diagnostics().error_count();
  ctx.value_block(line, [&](const LogicalLine& entry) { unicast_peer_entry(ctx, entry, vi); });
  if (ctx.diagnostics().error_count() != errors) vi.had_invalid_lines = true;
}

// old_unicast_checksum [never]: the v3 checksum without the IPv4 pseudo-header.
void old_unicast_checksum(Context& ctx, const LogicalLine& line, I& vi) {
  Item item = item_of(ctx, line, vi);
  if (!item.count(0, 1)) return;
  if (item.args() == 1 && item.text(1) != "never") {
    item.error(1, "old_unicast_checksum: unexpected '" + item.text(1) + "' (expected 'never')");
    return;
  }
  vi.v3_checksum_as_v2 = item.args() == 0;
  note_unicast_keyword(line, vi);
}

// --- virtual_ipaddress. ---

constexpr std::string_view kAddressOptions[] = {
    "brd",        "dev",           "scope",    "label",    "peer",          "home",     "-nodad",
    "mngtmpaddr", "noprefixroute", "autojoin", "no_track", "preferred_lft", "use_vmac",
};

// ADDR[/PREFIX] [options]; `block` is the keyword of the value block, for messages.
std::optional<VirtualAddress> virtual_address(Item& item, const std::string& block) {
  const std::string& first = item.text(0);
  auto slash = first.find('/');
  auto address = IpAddress::parse(std::string_view(first).substr(0, slash));
  if (!address) {
    item.error(0, block + ": '" + first + "' is not an IP address");
    return std::nullopt;
  }
  VirtualAddress vip;
  vip.loc = item.token(0).loc;
  vip.prefix.address = *address;
  int max_length = address->is_v4() ? 32 : 128;
  vip.prefix.length = static_cast<uint8_t>(max_length);
  if (slash != std::string::npos) {
    std::string_view digits = std::string_view(first).substr(slash + 1);
    int length = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || length < 0 ||
        length > max_length) {
      item.error(0, block + ": prefix length '" + std::string(digits) + "' of " + first +
                        " is out of range [0, " + std::to_string(max_length) + "]");
      return std::nullopt;
    }
    vip.prefix.length = static_cast<uint8_t>(length);
  }
  size_t n = item.line().tokens.size();
  for (size_t i = 1; i < n; ++i) {
    const std::string& option = item.text(i);
    bool has_value = i + 1 < n;
    auto needs_value = [&]() {
      if (has_value) return true;
      item.error(i, block + " " + first + ": '" + option + "' needs a value");
      return false;
    };
    if (option == "brd" || option == "peer") {
      if (!needs_value()) return std::nullopt;
      auto other = IpAddress::parse(item.text(++i));
      if (option == "brd" && !address->is_v4()) {
        item.error(i - 1, block + " " + first + ": brd is for IPv4 addresses only");
        return std::nullopt;
      }
      if (!other || other->family() != address->family()) {
        item.error(i, block + " " + first + ": " + option + " '" + item.text(i) + "' is not an " +
                          (address->is_v4() ? "IPv4" : "IPv6") + " address");
        return std::nullopt;
      }
      (option == "brd" ? vip.broadcast : vip.peer) = *other;
    } else if (option == "dev" || option == "label") {
      if (!needs_value()) return std::nullopt;
      (option == "dev" ? vip.dev : vip.label) = item.text(++i);
    } else if (option == "scope") {
      if (!needs_value()) return std::nullopt;
      if (!parse_scope(item.text(++i), vip.scope)) {
        item.error(i, block + " " + first + ": unknown scope '" + item.text(i) +
                          "' (expected global, site, link, host, nowhere or 0-255)");
        return std::nullopt;
      }
    } else if (option == "preferred_lft") {
      if (!needs_value()) return std::nullopt;
      const std::string& value = item.text(++i);
      uint32_t lifetime = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), lifetime);
      if (value == "forever") {
        vip.preferred_lft = kLifetimeForever;
      } else if (ec == std::errc() && end == value.data() + value.size()) {
        vip.preferred_lft = lifetime;
      } else {
        item.error(i, block + " " + first + ": preferred_lft '" + value +
                          "' is not a number of seconds or 'forever'");
        return std::nullopt;
      }
    } else if (option == "home") {
      vip.home = true;
    } else if (option == "-nodad") {
      vip.nodad = true;
    } else if (option == "mngtmpaddr") {
      vip.mngtmpaddr = true;
    } else if (option == "noprefixroute") {
      vip.noprefixroute = true;
    } else if (option == "autojoin") {
      vip.autojoin = true;
    } else if (option == "no_track") {
      vip.no_track = true;
    } else if (option == "use_vmac") {
      vip.use_vmac = true;
    } else if (IpPrefix::parse(option) || IpAddress::parse(option)) {
      item.error(i, block + ": one address per line; '" + option +
                        "' is a second address on the line of " + first);
      return std::nullopt;
    } else {
      std::string message = block + " " + first + ": unknown option '" + option + "'";
      auto suggestion = did_you_mean(option, kAddressOptions);
      if (!suggestion.empty()) message += "; did you mean '" + std::string(suggestion) + "'?";
      item.error(i, message);
      return std::nullopt;
    }
  }
  return vip;
}

template <std::vector<VirtualAddress> I::*List>
void virtual_addresses(Context& ctx, const LogicalLine& line, I& vi) {
  if (!item_of(ctx, line, vi).count(0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  ctx.value_block(line, [&](const LogicalLine& entry) {
    Item item = item_of(ctx, entry, vi);
    if (auto vip = virtual_address(item, line.keyword())) {
      if (vip->use_vmac) {
        item.warning(0, line.keyword() + " " + item.text(0) +
                            ": 'use_vmac' on an address is a keepalived feature vigil does not "
                            "implement yet: the address goes on its interface");
      }
      (vi.*List).push_back(*vip);
    } else {
      vi.had_invalid_lines = true;
    }
  });
}

// --- virtual_routes / virtual_rules (parse_vrrp_routes.cc reads the lines). ---

template <class Entry, auto List, std::optional<Entry> (*Read)(Item&, std::string_view)>
void routing_block(Context& ctx, const LogicalLine& line, I& vi) {
  if (!item_of(ctx, line, vi).count(0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  ctx.value_block(line, [&](const LogicalLine& entry) {
    Item item = item_of(ctx, entry, vi);
    if (auto parsed = Read(item, line.keyword())) (vi.*List).push_back(std::move(*parsed));
  });
}

// --- authentication { auth_type PASS|AH; auth_pass SECRET }. ---

void auth_type(Context& ctx, const LogicalLine& line, I& vi) {
  Item item = item_of(ctx, line, vi);
  if (!item.count(1, 1)) return;
  if (item.text(1) == "PASS") {
    vi.auth_type = VrrpAuthType::kPass;
  } else if (item.text(1) == "AH") {
    vi.auth_type = VrrpAuthType::kAh;
  } else {
    item.error(1, "auth_type '" + item.text(1) + "' is not PASS or AH");
  }
}

constexpr size_t kMaxAuthPass = 8;  // RFC 2338 §5.3.10: 8 octets of authentication data

void auth_pass(Context& ctx, const LogicalLine& line, I& vi) {
  Item item = item_of(ctx, line, vi);
  if (!item.count(1, 1)) return;
  vi.auth_pass = item.text(1);
  if (vi.auth_pass.size() > kMaxAuthPass) {
    // keepalived truncates, and reports it as a configuration error (keepalived -t exits 5).
    vi.auth_pass.resize(kMaxAuthPass);
    item.error(1, "auth_pass is longer than 8 characters (keepalived would use only '" +
                      vi.auth_pass + "')");
  }
}

const Keyword<I> kAuthenticationKeywords[] = {
    {"auth_type", auth_type},
    {"auth_pass", auth_pass},
};

void authentication(Context& ctx, const LogicalLine& line, I& vi) {
  if (!item_of(ctx, line, vi).count(0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  vi.at.authentication = line.loc();
  ctx.block(line, kAuthenticationKeywords, vi);
}

// --- Remaining instance keywords. ---

// notify_deleted [SCRIPT [username [groupname]]]
void notify_deleted(Context& ctx, const LogicalLine& line, I& vi) {
  Item item = item_of(ctx, line, vi);
  vi.notify_deleted = true;
  if (item.args() == 0) return;
  if (auto script = script_keyword(item, /*allow_user=*/true)) {
    vi.notify_deleted_script = std::move(*script);
  }
}

void notify_master_rx_lower_pri(Context& ctx, const LogicalLine& line, I& vi) {
  if (auto script = script_keyword(item_of(ctx, line, vi), /*allow_user=*/true)) {
    vi.notify_master_rx_lower_pri = std::move(*script);
  }
}

// use_vmac [IFNAME] [MAC]. A word with ':' is a MAC (interface names cannot hold one), which
// vigil does not implement yet: the RFC 5798 virtual MAC is used, with a warning.
void use_vmac(Context& ctx, const LogicalLine& line, I& vi) {
  Item item = item_of(ctx, line, vi);
  if (!item.count(0, 2)) return;
  vi.use_vmac = true;
  for (size_t i = 1; i <= item.args(); ++i) {
    const std::string& word = item.text(i);
    if (word.find(':') != std::string::npos) {
      item.warning(i, word +
                          ": a VMAC address of one's own is a keepalived feature vigil "
                          "does not implement yet; the RFC 5798 virtual MAC is used");
      continue;
    }
    // keepalived's dev_name_valid: at most 15 bytes, no '/' and no white space; keepalived
    // reports the name and uses its default one.
    if (word.size() > 15 || word.find('/') != std::string::npos) {
      item.error(i, "VMAC interface name '" + word + "' too long or invalid characters");
      continue;
    }
    vi.vmac_interface = word;
  }
}

void vmac_xmit_base(Context& ctx, const LogicalLine& line, I& vi) {
  if (!item_of(ctx, line, vi).count(0, 0)) return;
  vi.vmac_xmit_base = true;
}

constexpr int64_t kMaxGarpSeconds = 4294;  // keepalived's limit for the garp delays

const Keyword<I> kInstanceKeywords[] = {
    {"state", state},
    {"interface", located<&VrrpInstanceLocations::interface, text<&I::interface>>},
    {"virtual_router_id",
     located<&VrrpInstanceLocations::virtual_router_id, integer<&I::virtual_router_id, 1, 255>>},
    {"priority", located<&VrrpInstanceLocations::priority, integer<&I::priority, 1, 255>>},
    // The range keepalived reads; the per-version limits are checked by finish_vrrp.
    {"advert_int",
     located<&VrrpInstanceLocations::advert_int, seconds<&I::advert_int, 10'000, 255 * kSecond>>},
    {"version", located<&VrrpInstanceLocations::version, integer<&I::version, 2, 3>>},
    {"nopreempt", located<&VrrpInstanceLocations::nopreempt, bare<&I::nopreempt, true>>},
    {"preempt", bare<&I::nopreempt, false>},
    {"preempt_delay",
     located<&VrrpInstanceLocations::preempt_delay, seconds<&I::preempt_delay, 0, 1000 * kSecond>>},
    {"authentication", authentication},
    {"mcast_src_ip", source_address},
    {"unicast_src_ip", source_address},
    {"mcast_dst_ip", mcast_dst_ip},
    {"unicast_peer", unicast_peer},
    {"unicast_ttl", located<&VrrpInstanceLocations::unicast_ttl, integer<&I::unicast_ttl, 0, 255>>},
    {"unicast_fault_no_peer", bare<&I::unicast_fault_no_peer, true>},
    {"old_unicast_checksum", old_unicast_checksum},
    // vigil's name for the same setting (the reference's keyword; keepalived 2.2.7 lacks it).
    {"v3_checksum_as_v2", flag<&I::v3_checksum_as_v2>},
    {"track_src_ip", bare<&I::track_src_ip, true>},
    {"native_ipv6", bare<&I::native_ipv6, true>},
    {"virtual_ipaddress", virtual_addresses<&I::virtual_addresses>},
    {"virtual_ipaddress_excluded", virtual_addresses<&I::excluded_addresses>},
    {"virtual_routes", routing_block<VirtualRoute, &I::virtual_routes, vrrp_parse::virtual_route>},
    {"virtual_rules", routing_block<VirtualRule, &I::virtual_rules, vrrp_parse::virtual_rule>},
    {"track_interface", track_block<TrackKind::kInterface, I>},
    {"track_script", track_block<TrackKind::kScript, I>},
    {"track_file", track_block<TrackKind::kFile, I>},
    {"dont_track_primary", bare<&I::dont_track_primary, true>},
    {"notify_master", notify_script<&VrrpNotify::master, I>},
    {"notify_backup", notify_script<&VrrpNotify::backup, I>},
    {"notify_fault", notify_script<&VrrpNotify::fault, I>},
    {"notify_stop", notify_script<&VrrpNotify::stop, I>},
    {"notify", notify_script<&VrrpNotify::any, I>},
    {"notify_master_rx_lower_pri", notify_master_rx_lower_pri},
    {"notify_deleted", notify_deleted},
    {"notify_priority_changes", notify_flag<&VrrpNotify::notify_priority_changes, I>},
    {"smtp_alert", notify_flag<&VrrpNotify::smtp_alert, I>},
    {"garp_master_delay", whole_seconds<&I::garp_master_delay, 0, kMaxGarpSeconds>},
    {"garp_master_repeat", integer<&I::garp_master_repeat, 1, kMaxCount>},
    {"garp_master_refresh", whole_seconds<&I::garp_master_refresh, 0, kMaxCount>},
    {"garp_master_refresh_repeat", integer<&I::garp_master_refresh_repeat, 1, kMaxCount>},
    {"garp_lower_prio_delay", whole_seconds<&I::garp_lower_prio_delay, 0, kMaxGarpSeconds>},
    {"garp_lower_prio_repeat", integer<&I::garp_lower_prio_repeat, 0, kMaxCount>},
    {"lower_prio_no_advert", flag<&I::lower_prio_no_advert>},
    {"higher_prio_send_advert", flag<&I::higher_prio_send_advert>},
    {"accept", located<&VrrpInstanceLocations::accept, bare<&I::accept, true>>},
    {"no_accept", bare<&I::accept, false>},
    {"skip_check_adv_addr", recorded_only<flag<&I::skip_check_adv_addr>>},
    {"check_unicast_src", flag<&I::check_unicast_src>},
    {"strict_mode", flag<&I::strict_mode>},
    {"down_timer_adverts", integer<&I::down_timer_adverts, 1, 100>},
    {"promote_secondaries", bare<&I::promote_secondaries, true>},
    {"debug", integer<&I::debug, 0, 4>},
    {"use_vmac", use_vmac},
    {"vmac_xmit_base", vmac_xmit_base},
    {"linkbeat_use_polling",
     [](Context& ctx, const LogicalLine& line, I& vi) {
       deprecated(ctx, line, vi, "use a linkbeat_interfaces block");
     }},
    {"lvs_sync_daemon_interface",
     [](Context& ctx, const LogicalLine& line, I& vi) {
       deprecated(ctx, line, vi, "use lvs_sync_daemon in global_defs");
     }},
    // keepalived keywords vigil does not implement yet.
    {"use_vmac_addr"},
    {"use_ipvlan"},
    {"vrf"},
    {"garp_extra_if"},
    {"garp_extra_if_vmac"},
    {"track_process"},
    {"track_bfd"},
    {"kernel_rx_buf_size"},
};

void vrrp_instance(Context& ctx, const LogicalLine& line, Config& config) {
  if (!named_block_header(ctx, line)) return;
  VrrpInstance vi{.name = line.tokens[1].text, .loc = line.tokens[1].loc};
  if (!ctx.block(line, kInstanceKeywords, vi)) return;
  config.vrrp.instances.push_back(std::move(vi));
}

// --- static_ipaddress, static_routes, static_rules (top-level value blocks). ---

// One line of a top-level block: messages start with the block's keyword.
Item top_level_item(Context& ctx, const LogicalLine& line) {
  return Item(ctx, line, "", "");
}

void static_addresses(Context& ctx, const LogicalLine& line, Config& config) {
  if (!top_level_item(ctx, line).count(0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  ctx.value_block(line, [&](const LogicalLine& entry) {
    Item item = top_level_item(ctx, entry);
    auto address = virtual_address(item, line.keyword());
    if (!address) return;
    // keepalived 2.2.7: "Unknown configuration entry 'use_vmac' for ip address" (an error).
    if (address->use_vmac) {
      for (size_t i = 1; i < entry.tokens.size(); ++i) {
        if (entry.tokens[i].text == "use_vmac")
          item.error(i, line.keyword() + " " + item.text(0) +
                            ": use_vmac is for virtual_ipaddress, not static addresses");
      }
      return;
    }
    config.vrrp.static_addresses.push_back(std::move(*address));
  });
}

template <class Entry, auto List, std::optional<Entry> (*Read)(Item&, std::string_view)>
void static_block(Context& ctx, const LogicalLine& line, Config& config) {
  if (!top_level_item(ctx, line).count(0, 0)) {
    ctx.skip_block_if_present();
    return;
  }
  ctx.value_block(line, [&](const LogicalLine& entry) {
    Item item = top_level_item(ctx, entry);
    if (auto parsed = Read(item, line.keyword())) (config.vrrp.*List).push_back(std::move(*parsed));
  });
}

const Keyword<Config> kTopLevel[] = {
    {"vrrp_script", vrrp_script},
    {"track_file", track_file},
    {"vrrp_track_file", track_file},
    {"vrrp_sync_group", vrrp_sync_group},
    {"vrrp_instance", vrrp_instance},
    {"garp_group", garp_group},
    {"static_ipaddress", static_addresses},
    {"static_routes",
     static_block<VirtualRoute, &VrrpSection::static_routes, vrrp_parse::virtual_route>},
    {"static_rules",
     static_block<VirtualRule, &VrrpSection::static_rules, vrrp_parse::virtual_rule>},
};

}  // namespace

std::span<const Keyword<Config>> vrrp_top_level_keywords() {
  return kTopLevel;
}

}  // namespace vigil::config
