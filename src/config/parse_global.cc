// global_defs, and the top-level blocks of keepalived that vigil accepts without implementing.
#include <array>

#include "config/parse_vrrp_util.h"
#include "config/sections.h"

namespace vigil::config {
namespace {

using G = GlobalDefs;

void script_user(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 1, 2)) return;
  g.script_user = RunAs{line.tokens[1].text, line.tokens.size() > 2 ? line.tokens[2].text : ""};
  g.script_user_loc = line.loc();
}

void notification_email(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 0, 0)) return;
  ctx.value_block(line, [&](const LogicalLine& item) {
    if (item.tokens.size() > 1) {
      ctx.error(item.tokens[1], "one email address per line in 'notification_email'");
    }
    g.notification_email.push_back(item.tokens[0].text);
  });
}

void smtp_server(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 1, 2)) return;
  auto address = ctx.address(line, 1);
  if (!address) return;
  g.smtp_server = *address;
  if (line.tokens.size() > 2) {
    if (auto port = ctx.port(line, 2)) g.smtp_server_port = *port;
  }
}

// smtp_alert and smtp_alert_checker: also recorded as written, for the real servers' default.
template <auto Member>
void smtp_alert_flag(Context& ctx, const LogicalLine& line, G& g) {
  set_flag<Member>(ctx, line, g);
  g.smtp_alert_checker_written = true;
}

template <auto Member>
void mcast_group(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 1, 1)) return;
  auto address = ctx.address(line, 1);
  if (!address) return;
  bool want_v4 = Member == &G::vrrp_mcast_group4;
  if (address->is_v4() != want_v4 || !address->is_multicast()) {
    ctx.error(line.tokens[1], "'" + line.keyword() + "': " + line.tokens[1].text +
                                  " is not an IPv" + (want_v4 ? "4" : "6") + " multicast address");
    return;
  }
  g.*Member = *address;
}

void dynamic_interfaces(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 0, 1)) return;
  if (line.tokens.size() > 1 && line.tokens[1].text != "allow_if_changes") {
    ctx.error(line.tokens[1], "'dynamic_interfaces': expected 'allow_if_changes'");
    return;
  }
  g.dynamic_interfaces = true;
}

// FIFO_NAME [username [groupname]]
template <auto Member>
void fifo(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 1, 3)) return;
  auto& target = (g.*Member).has_value() ? *(g.*Member) : (g.*Member).emplace();
  target.path = line.tokens[1].text;
  target.run_as = RunAs{line.tokens.size() > 2 ? line.tokens[2].text : "",
                        line.tokens.size() > 3 ? line.tokens[3].text : ""};
}

// STRING|QUOTED_STRING [username [groupname]]: the script is the first token only.
template <auto Member>
void fifo_script(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 1, 3)) return;
  Command cmd;
  cmd.loc = line.tokens[1].loc;
  cmd.text = line.tokens[1].text;
  if (!split_command_line(cmd.text, cmd.argv) || cmd.argv.empty()) {
    ctx.error(line.tokens[1], "'" + line.keyword() + "': cannot split command line");
    return;
  }
  auto& target = (g.*Member).has_value() ? *(g.*Member) : (g.*Member).emplace();
  target.script = std::move(cmd);
  if (line.tokens.size() > 2) {
    target.run_as = RunAs{line.tokens[2].text, line.tokens.size() > 3 ? line.tokens[3].text : ""};
  }
}

void lvs_sync_daemon(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 1)) return;
  LvsSyncDaemon sync;
  sync.loc = line.loc();
  sync.interface = line.tokens[1].text;
  bool ok = true;
  for (size_t i = 2; i < line.tokens.size(); ++i) {
    const std::string& option = line.tokens[i].text;
    bool has_value = i + 1 < line.tokens.size();
    if (option == "id" && has_value) {
      if (auto v = ctx.integer(line, ++i, 0, 255)) {
        sync.sync_id = static_cast<uint8_t>(*v);
        sync.sync_id_set = true;
      } else {
        ok = false;
      }
    } else if (option == "maxlen" && has_value) {
      if (auto v = ctx.integer(line, ++i, 1, 65535 - 20 - 8)) {
        sync.max_length = static_cast<uint16_t>(*v);
      } else {
        ok = false;
      }
    } else if (option == "port" && has_value) {
      if (auto v = ctx.integer(line, ++i, 1, 65535)) {
        sync.port = static_cast<uint16_t>(*v);
      } else {
        ok = false;
      }
    } else if (option == "ttl" && has_value) {
      if (auto v = ctx.integer(line, ++i, 1, 255)) {
        sync.ttl = static_cast<uint8_t>(*v);
      } else {
        ok = false;
      }
    } else if (option == "group" && has_value) {
      if (auto v = ctx.address(line, ++i); v && v->is_multicast()) {
        sync.group = *v;
      } else {
        if (v) ctx.error(line.tokens[i], "'lvs_sync_daemon': group must be a multicast address");
        ok = false;
      }
    } else if (option == "inst" && has_value) {
      sync.vrrp_instance = line.tokens[++i].text;
    } else if (i == 2 && option != "id" && option != "maxlen" && option != "port" &&
               option != "ttl" && option != "group" && option != "inst") {
      sync.vrrp_instance = option;  // the [inst] keyword is optional
    } else {
      ctx.error(line.tokens[i],
                "'lvs_sync_daemon': unexpected '" + option +
                    "' (options: inst NAME, id N, maxlen N, port N, ttl N, group IP)");
      ok = false;
    }
  }
  if (ok) g.lvs_sync_daemon = std::move(sync);
}

void lvs_timeouts(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 2)) return;
  LvsTimeouts timeouts;
  bool ok = true;
  for (size_t i = 1; i < line.tokens.size(); i += 2) {
    const std::string& which = line.tokens[i].text;
    std::optional<uint32_t>* slot = which == "tcp"      ? &timeouts.tcp
                                    : which == "tcpfin" ? &timeouts.tcpfin
                                    : which == "udp"    ? &timeouts.udp
                                                        : nullptr;
    if (slot == nullptr || i + 1 >= line.tokens.size()) {
      ctx.error(line.tokens[i], "'lvs_timeouts': expected 'tcp SECS', 'tcpfin SECS' or 'udp SECS'");
      ok = false;
      break;
    }
    // The kernel keeps these in jiffies in an int: at most INT_MAX / HZ seconds.
    if (auto v = ctx.integer(line, i + 1, 1, int64_t{86400} * 31)) {
      *slot = static_cast<uint32_t>(*v);
    } else {
      ok = false;
    }
  }
  if (ok) g.lvs_timeouts = timeouts;
}

void lvs_flush_on_stop(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 0, 1)) return;
  if (line.tokens.size() > 1 && line.tokens[1].text != "VS") {
    ctx.error(line.tokens[1], "'lvs_flush_on_stop': expected nothing or 'VS'");
    return;
  }
  g.lvs_flush_on_stop = true;
  g.lvs_flush_on_stop_vs_only = line.tokens.size() > 1;
}

void nice_value(Context& ctx, const LogicalLine& line, std::optional<int>& slot) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, -20, 19)) slot = static_cast<int>(*v);
}

// checker_cpu_affinity CPU [CPU]...: keepalived refuses a CPU the host does not have online; a
// configuration is judged the same on every host here (0..1023, CPU_SETSIZE), and a CPU this host
// lacks is reported when the check thread starts.
void cpu_affinity(Context& ctx, const LogicalLine& line, std::vector<int>& cpus) {
  if (!ctx.arg_count(line, 1)) return;
  std::vector<int> read;
  for (size_t i = 1; i < line.tokens.size(); ++i) {
    auto cpu = ctx.integer(line, i, 0, 1023);
    if (!cpu) return;  // keepalived keeps no CPU of a line with a bad one
    read.push_back(static_cast<int>(*cpu));
  }
  cpus = std::move(read);
}

// vigil_metrics_address [ADDRESS [PORT]]: GET /metrics over TCP; 127.0.0.1 9650 by default.
void metrics_address(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 0, 2)) return;
  G::MetricsListen listen;
  if (line.tokens.size() > 1) {
    auto address = ctx.address(line, 1);
    if (!address) return;
    listen.address = *address;
  }
  if (line.tokens.size() > 2) {
    auto port = ctx.integer(line, 2, 1, 65535);
    if (!port) return;
    listen.port = static_cast<uint16_t>(*port);
  }
  g.vigil_metrics_address = listen;
}

// vigil_metrics_detail basic|full
void metrics_detail(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 1, 1)) return;
  const std::string& word = line.tokens[1].text;
  if (word != "basic" && word != "full") {
    ctx.error(line.tokens[1],
              "'vigil_metrics_detail': expected 'basic' or 'full', not '" + word + "'");
    return;
  }
  g.vigil_metrics_full_detail = word == "full";
}

// checker_process_name NAME: a task name holds 15 characters; keepalived cuts a longer one too.
void process_name(Context& ctx, const LogicalLine& line, std::string& name) {
  if (!ctx.arg_count(line, 1, 1)) return;
  name = line.tokens[1].text;
  if (name.size() > 15) {
    name.resize(15);
    ctx.warning(line.tokens[1], "'" + line.keyword() + "': a task name holds 15 characters: '" +
                                    name + "' is used");
  }
}

// include_check [[+|-]readable|match|wildcard_match|brace_match ...]: no option means all;
// a leading '+' or '-' adds or removes the checks after it (keepalived's syntax).
void include_check(Context& ctx, const LogicalLine& line, G& /*g*/) {
  IncludeChecks all{true, true, true, true};
  if (line.tokens.size() == 1) {
    ctx.reader().set_include_checks(all);
    return;
  }
  IncludeChecks checks;
  bool relative = false;
  bool adding = true;
  for (size_t i = 1; i < line.tokens.size(); ++i) {
    std::string_view word = line.tokens[i].text;
    if (!word.empty() && (word.front() == '+' || word.front() == '-')) {
      if (!relative) checks = ctx.reader().include_checks();
      relative = true;
      adding = word.front() == '+';
      word.remove_prefix(1);
    }
    bool* flag = word == "readable"         ? &checks.readable
                 : word == "match"          ? &checks.match
                 : word == "wildcard_match" ? &checks.wildcard_match
                 : word == "brace_match"    ? &checks.brace_match
                                            : nullptr;
    if (flag == nullptr) {
      ctx.error(line.tokens[i], "'include_check': unknown check '" + std::string(word) +
                                    "' (readable, match, wildcard_match, brace_match)");
      return;
    }
    *flag = adding;
  }
  ctx.reader().set_include_checks(checks);
}

// startup_script / shutdown_script SCRIPT [username [groupname]] (config/model_global.h).
template <std::optional<NotifyScript> G::*Field>
void lifecycle_script(Context& ctx, const LogicalLine& line, G& g) {
  vrrp_parse::Item item(ctx, line, "global_defs", "");
  auto script = vrrp_parse::script_keyword(item, /*allow_user=*/true);
  if (!script) return;
  if (g.*Field) {
    item.error(
        0, "'" + item.keyword() + "' is given twice (keepalived: \"script already specified\")");
    return;
  }
  g.*Field = std::move(*script);
}

// Whole seconds in [1, 1000], as keepalived reads them.
template <Duration G::*Field>
void lifecycle_script_timeout(Context& ctx, const LogicalLine& line, G& g) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto value = ctx.integer(line, 1, 1, 1000)) g.*Field = std::chrono::seconds(*value);
}

void random_seed(Context& ctx, const LogicalLine& line, G& /*g*/) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto v = ctx.integer(line, 1, 0, UINT32_MAX)) {
    ctx.reader().set_random_seed(static_cast<uint32_t>(*v));
  }
}

// vrrp_min_garp: one announcement on becoming master and no second set, for switches that need
// no more. As in keepalived it replaces only the values still at their defaults when it is read
// (so a repeat or delay set before or after it wins); unlike keepalived it leaves
// vrrp_garp_master_refresh_repeat alone (keepalived sets it to 0, which would make a later
// vrrp_garp_master_refresh send nothing).
void min_garp(Context& ctx, const LogicalLine& line, G& g) {
  auto on = ctx.flag(line);
  if (!on) return;
  g.vrrp_min_garp = *on;
  if (!*on) return;
  if (g.vrrp_garp_master_repeat == G{}.vrrp_garp_master_repeat) g.vrrp_garp_master_repeat = 1;
  if (g.vrrp_garp_master_delay == G{}.vrrp_garp_master_delay)
    g.vrrp_garp_master_delay = Duration{0};
}

constexpr int64_t kDay = 86400 * kSecond;
constexpr int64_t kMaxUint32Micros = 4294967295;

// keepalived reads its process-wide settings (net_namespace, instance, ...) before the rest of
// the file, at the top level only: inside global_defs `keepalived -t` calls them unknown and
// refuses the file, so vigil refuses them there too, saying where they go.
void outside_global_defs(Context& ctx, const LogicalLine& line, G& /*g*/) {
  ctx.error(line.tokens[0], "'" + std::string(line.tokens[0].text) +
                                "' goes at the top level of the file, outside global_defs "
                                "(keepalived does not read it inside)");
}

const Keyword<G> kGlobalDefs[] = {
    {"router_id", set_text<&G::router_id>},
    {"script_user", script_user},
    {"enable_script_security", set_flag<&G::enable_script_security>},
    {"notification_email", notification_email},
    {"notification_email_from", set_text<&G::notification_email_from>},
    {"smtp_server", smtp_server},
    {"smtp_helo_name", set_text<&G::smtp_helo_name>},
    {"smtp_connect_timeout", set_seconds<&G::smtp_connect_timeout, kSecond, 3600 * kSecond>},
    {"smtp_alert", smtp_alert_flag<&G::smtp_alert>},
    {"smtp_alert_vrrp", set_flag<&G::smtp_alert_vrrp>},
    {"smtp_alert_checker", smtp_alert_flag<&G::smtp_alert_checker>},
    {"no_checker_emails", set_flag<&G::no_checker_emails>},
    {"no_email_faults", set_flag<&G::no_email_faults>},
    {"checker_log_all_failures", set_flag<&G::checker_log_all_failures>},
    // vigil extension (keepalived 2.2.7 rejects it as an unknown keyword).
    {"checker_strict_framing", set_flag<&G::checker_strict_framing>},
    // vigil extension (keepalived 2.2.7 rejects it as an unknown keyword).
    {"checker_share_probes", set_flag<&G::checker_share_probes>},
    // vigil extensions: the metrics' TCP listener (docs/operations.md "Metrics").
    {"vigil_metrics_address", metrics_address},
    {"vigil_metrics_detail", metrics_detail},
    {"vrrp_version", set_integer<&G::vrrp_version, 2, 3>},
    {"vrrp_mcast_group4", mcast_group<&G::vrrp_mcast_group4>},
    {"vrrp_mcast_group6", mcast_group<&G::vrrp_mcast_group6>},
    {"default_interface", set_text<&G::default_interface>},
    {"vrrp_garp_master_delay", set_seconds<&G::vrrp_garp_master_delay, 0, kDay>},
    {"vrrp_garp_master_repeat", set_integer<&G::vrrp_garp_master_repeat, 1, 10000>},
    {"vrrp_garp_master_refresh", set_seconds<&G::vrrp_garp_master_refresh, 0, kDay>},
    {"vrrp_garp_master_refresh_repeat", set_integer<&G::vrrp_garp_master_refresh_repeat, 1, 10000>},
    {"vrrp_garp_lower_prio_delay", set_seconds<&G::vrrp_garp_lower_prio_delay, 0, kDay>},
    {"vrrp_garp_lower_prio_repeat", set_integer<&G::vrrp_garp_lower_prio_repeat, 1, 10000>},
    // keepalived's range: one microsecond to 2^32 - 1 microseconds.
    {"vrrp_garp_interval", set_seconds<&G::vrrp_garp_interval, 1, kMaxUint32Micros>},
    {"vrrp_gna_interval", set_seconds<&G::vrrp_gna_interval, 1, kMaxUint32Micros>},
    {"vrrp_min_garp", min_garp},
    {"vrrp_lower_prio_no_advert", set_flag<&G::vrrp_lower_prio_no_advert>},
    {"vrrp_higher_prio_send_advert", set_flag<&G::vrrp_higher_prio_send_advert>},
    {"vrrp_strict", set_flag<&G::vrrp_strict>},
    {"vrrp_check_unicast_src", set_flag<&G::vrrp_check_unicast_src>},
    {"vrrp_skip_check_adv_addr", recorded_only<set_flag<&G::vrrp_skip_check_adv_addr>>},
    {"vrrp_notify_priority_changes", set_flag<&G::vrrp_notify_priority_changes>},
    // keepalived's range: 1 ms to 2^32 - 1 microseconds.
    {"vrrp_startup_delay", set_seconds<&G::vrrp_startup_delay, 1000, kMaxUint32Micros>},
    {"log_unknown_vrids", set_flag<&G::log_unknown_vrids>},
    {"vrrp_priority",
     [](Context& c, const LogicalLine& l, G& g) { nice_value(c, l, g.vrrp_priority); }},
    {"checker_priority",
     [](Context& c, const LogicalLine& l, G& g) { nice_value(c, l, g.checker_priority); }},
    {"vrrp_rt_priority", set_integer<&G::vrrp_rt_priority, 1, 99>},
    {"checker_rt_priority", set_integer<&G::checker_rt_priority, 1, 99>},
    {"vrrp_no_swap", set_flag<&G::vrrp_no_swap>},
    {"checker_no_swap", set_flag<&G::checker_no_swap>},
    {"checker_cpu_affinity",
     [](Context& c, const LogicalLine& l, G& g) { cpu_affinity(c, l, g.checker_cpu_affinity); }},
    {"checker_process_name",
     [](Context& c, const LogicalLine& l, G& g) { process_name(c, l, g.checker_process_name); }},
    {"dynamic_interfaces", dynamic_interfaces},
    {"notify_fifo", fifo<&G::notify_fifo>},
    {"notify_fifo_script", fifo_script<&G::notify_fifo>},
    {"vrrp_notify_fifo", fifo<&G::vrrp_notify_fifo>},
    {"vrrp_notify_fifo_script", fifo_script<&G::vrrp_notify_fifo>},
    {"fifo_write_vrrp_states_on_reload", set_flag<&G::fifo_write_vrrp_states_on_reload>},
    {"lvs_notify_fifo", fifo<&G::lvs_notify_fifo>},
    {"lvs_notify_fifo_script", fifo_script<&G::lvs_notify_fifo>},
    {"lvs_sync_daemon", lvs_sync_daemon},
    {"lvs_timeouts", lvs_timeouts},
    {"lvs_flush", set_flag<&G::lvs_flush>},
    {"lvs_flush_on_stop", lvs_flush_on_stop},
    {"instance", outside_global_defs},
    {"net_namespace", outside_global_defs},
    {"child_wait_time", outside_global_defs},
    {"net_namespace_ipvs", outside_global_defs},
    {"namespace_with_ipsets", outside_global_defs},
    {"use_pid_dir", outside_global_defs},
    {"linkbeat_use_polling", outside_global_defs},
    {"include_check", include_check},
    {"random_seed", random_seed},
    {"startup_script", lifecycle_script<&G::startup_script>},
    {"startup_script_timeout", lifecycle_script_timeout<&G::startup_script_timeout>},
    {"shutdown_script", lifecycle_script<&G::shutdown_script>},
    {"shutdown_script_timeout", lifecycle_script_timeout<&G::shutdown_script_timeout>},
    // keepalived keywords accepted without effect (warned about).
    {"tmp_config_directory"},
    {"config_save_dir"},
    {"process_names"},
    {"process_name"},
    {"vrrp_process_name"},
    {"bfd_process_name"},
    {"vrrp_down_timer_adverts", set_integer<&G::vrrp_down_timer_adverts, 1, 100>},
    {"vrrp_garp_extra_if"},
    {"nftables"},
    {"nftables_priority"},
    {"nftables_counters"},
    {"nftables_ifindex"},
    {"nftables_ipvs"},
    {"nftables_ipvs_priority"},
    {"nftables_ipvs_start_fwmark"},
    {"vrrp_iptables"},
    {"vrrp_ipsets"},
    {"disable_local_igmp"},
    {"max_auto_priority"},
    {"min_auto_priority_delay"},
    {"bfd_priority"},
    {"bfd_no_swap"},
    {"vrrp_cpu_affinity"},
    {"bfd_cpu_affinity"},
    {"bfd_rt_priority"},
    {"vrrp_rlimit_rttime"},
    {"checker_rlimit_rttime"},
    {"bfd_rlimit_rttime"},
    {"snmp_socket"},
    {"enable_snmp_vrrp"},
    {"enable_snmp_checker"},
    {"enable_snmp_rfc"},
    {"enable_snmp_rfcv2"},
    {"enable_snmp_rfcv3"},
    {"enable_snmp_keepalived"},
    {"enable_traps"},
    {"enable_dbus"},
    {"dbus_service_name"},
    {"vrrp_netlink_cmd_rcv_bufs"},
    {"vrrp_netlink_cmd_rcv_bufs_force"},
    {"vrrp_netlink_monitor_rcv_bufs"},
    {"vrrp_netlink_monitor_rcv_bufs_force"},
    {"lvs_netlink_cmd_rcv_bufs"},
    {"lvs_netlink_cmd_rcv_bufs_force"},
    {"lvs_netlink_monitor_rcv_bufs"},
    {"lvs_netlink_monitor_rcv_bufs_force"},
    {"process_monitor_rcv_bufs"},
    {"process_monitor_rcv_bufs_force"},
    {"vrrp_rx_bufs_policy"},
    {"vrrp_rx_bufs_multiplier"},
    {"rs_init_notifies"},
    {"umask"},
    {"vmac_prefix", set_text<&G::vmac_prefix>},
    {"vmac_addr_prefix"},
    {"reload_check_config"},
    {"reload_file"},
    {"reload_repeat"},
    {"reload_time_file"},
    {"data_use_instance"},
};

void global_defs(Context& ctx, const LogicalLine& line, Config& config) {
  if (!ctx.arg_count(line, 0, 0)) return;
  ctx.block(line, kGlobalDefs, config.global);
}

// A global_defs handler for a keyword that stands at the top level.
template <auto Handler>
void at_top_level(Context& ctx, const LogicalLine& line, Config& config) {
  Handler(ctx, line, config.global);
}

const Keyword<Config> kTopLevel[] = {
    {"global_defs", global_defs},
    // keepalived's process-wide settings: top level only (see outside_global_defs).
    {"net_namespace", at_top_level<set_text<&G::net_namespace>>},
    {"instance", at_top_level<set_text<&G::instance>>},
    {"child_wait_time", at_top_level<set_seconds<&G::child_wait_time, 0, 3600 * kSecond>>},
    {"net_namespace_ipvs"},
    {"namespace_with_ipsets"},
    {"use_pid_dir"},
    {"linkbeat_use_polling"},
    // keepalived top-level blocks that vigil does not implement yet.
    {"linkbeat_interfaces"},
    {"static_track_group"},
    {"vrrp_track_process"},
    {"track_process"},
    {"bfd_instance"},
};

}  // namespace

std::span<const Keyword<Config>> global_top_level_keywords() {
  return kTopLevel;
}

void finish_global(Config& config, Context& /*ctx*/) {
  auto& g = config.global;
  if (!g.smtp_alert_vrrp) g.smtp_alert_vrrp = g.smtp_alert;
  if (!g.smtp_alert_checker) g.smtp_alert_checker = g.smtp_alert;
  if (!g.vrrp_garp_lower_prio_delay) g.vrrp_garp_lower_prio_delay = g.vrrp_garp_master_delay;
  if (!g.vrrp_garp_lower_prio_repeat) g.vrrp_garp_lower_prio_repeat = g.vrrp_garp_master_repeat;
}

}  // namespace vigil::config
