#include "config/json_sections.h"

namespace vigil::config {
namespace {

Json run_as_json(const RunAs& r) {
  return Json{{"user", r.user}, {"group", r.group}};
}

Json fifo_json(const NotifyFifo& f) {
  return Json{{"path", f.path},
              {"script", optional_json(f.script, command_json)},
              {"run_as", run_as_json(f.run_as)}};
}

Json lifecycle_script_json(const std::optional<NotifyScript>& script) {
  if (!script) return nullptr;
  Json j = command_json(script->command);
  j["run_as"] = script->run_as ? run_as_json(*script->run_as) : Json(nullptr);
  return j;
}

}  // namespace

Json global_to_json(const GlobalDefs& g) {
  Json j;
  j["router_id"] = g.router_id;
  j["script_user"] = optional_json(g.script_user, run_as_json);
  j["enable_script_security"] = g.enable_script_security;
  j["notification_email"] = g.notification_email;
  j["notification_email_from"] = g.notification_email_from;
  j["smtp_server"] = optional_json(g.smtp_server, address_json);
  j["smtp_server_port"] = g.smtp_server_port;
  j["smtp_helo_name"] = g.smtp_helo_name;
  j["smtp_connect_timeout"] = seconds_json(g.smtp_connect_timeout);
  j["smtp_alert"] = g.smtp_alert;
  j["smtp_alert_vrrp"] = g.smtp_alert_vrrp.value_or(g.smtp_alert);
  j["smtp_alert_checker"] = g.smtp_alert_checker.value_or(g.smtp_alert);
  j["no_email_faults"] = g.no_email_faults;
  j["checker_log_all_failures"] = g.checker_log_all_failures;
  j["checker_strict_framing"] = g.checker_strict_framing;
  j["checker_share_probes"] = g.checker_share_probes;
  j["no_checker_emails"] = g.no_checker_emails;
  j["vrrp_version"] = g.vrrp_version;
  j["vrrp_mcast_group4"] = address_json(g.vrrp_mcast_group4);
  j["vrrp_mcast_group6"] = address_json(g.vrrp_mcast_group6);
  j["default_interface"] = g.default_interface;
  j["vmac_prefix"] = g.vmac_prefix;
  j["vrrp_garp_master_delay"] = seconds_json(g.vrrp_garp_master_delay);
  j["vrrp_garp_master_repeat"] = g.vrrp_garp_master_repeat;
  j["vrrp_garp_master_refresh"] = seconds_json(g.vrrp_garp_master_refresh);
  j["vrrp_garp_master_refresh_repeat"] = g.vrrp_garp_master_refresh_repeat;
  j["vrrp_down_timer_adverts"] = g.vrrp_down_timer_adverts;
  j["vrrp_garp_lower_prio_delay"] = optional_json(g.vrrp_garp_lower_prio_delay, seconds_json);
  j["vrrp_garp_lower_prio_repeat"] =
      g.vrrp_garp_lower_prio_repeat.value_or(g.vrrp_garp_master_repeat);
  j["vrrp_garp_interval"] = seconds_json(g.vrrp_garp_interval);
  j["vrrp_gna_interval"] = seconds_json(g.vrrp_gna_interval);
  j["vrrp_min_garp"] = g.vrrp_min_garp;
  j["vrrp_lower_prio_no_advert"] = g.vrrp_lower_prio_no_advert;
  j["vrrp_higher_prio_send_advert"] = g.vrrp_higher_prio_send_advert;
  j["vrrp_strict"] = g.vrrp_strict;
  j["vrrp_check_unicast_src"] = g.vrrp_check_unicast_src;
  j["vrrp_skip_check_adv_addr"] = g.vrrp_skip_check_adv_addr;
  j["vrrp_notify_priority_changes"] = g.vrrp_notify_priority_changes;
  j["vrrp_startup_delay"] = seconds_json(g.vrrp_startup_delay);
  j["log_unknown_vrids"] = g.log_unknown_vrids;
  j["vrrp_priority"] = optional_json(g.vrrp_priority, [](int v) { return v; });
  j["checker_priority"] = optional_json(g.checker_priority, [](int v) { return v; });
  j["vrrp_rt_priority"] = optional_json(g.vrrp_rt_priority, [](int v) { return v; });
  j["checker_rt_priority"] = optional_json(g.checker_rt_priority, [](int v) { return v; });
  j["vrrp_no_swap"] = g.vrrp_no_swap;
  j["checker_no_swap"] = g.checker_no_swap;
  j["dynamic_interfaces"] = g.dynamic_interfaces;
  j["notify_fifo"] = optional_json(g.notify_fifo, fifo_json);
  j["vrrp_notify_fifo"] = optional_json(g.vrrp_notify_fifo, fifo_json);
  j["lvs_notify_fifo"] = optional_json(g.lvs_notify_fifo, fifo_json);
  j["fifo_write_vrrp_states_on_reload"] = g.fifo_write_vrrp_states_on_reload;
  j["lvs_sync_daemon"] = optional_json(g.lvs_sync_daemon, [](const LvsSyncDaemon& s) {
    Json o{{"interface", s.interface}, {"vrrp_instance", s.vrrp_instance}};
    o["sync_id"] = s.sync_id_set ? Json(s.sync_id) : Json(nullptr);
    o["maxlen"] = optional_json(s.max_length, [](uint16_t v) { return v; });
    o["port"] = optional_json(s.port, [](uint16_t v) { return v; });
    o["ttl"] = optional_json(s.ttl, [](uint8_t v) { return v; });
    o["group"] = optional_json(s.group, address_json);
    return o;
  });
  j["lvs_timeouts"] = optional_json(g.lvs_timeouts, [](const LvsTimeouts& t) {
    auto num = [](uint32_t v) { return v; };
    return Json{{"tcp", optional_json(t.tcp, num)},
                {"tcpfin", optional_json(t.tcpfin, num)},
                {"udp", optional_json(t.udp, num)}};
  });
  j["lvs_flush"] = g.lvs_flush;
  j["lvs_flush_on_stop"] = g.lvs_flush_on_stop_vs_only ? Json("VS") : Json(g.lvs_flush_on_stop);
  j["vigil_metrics_address"] =
      optional_json(g.vigil_metrics_address, [](const GlobalDefs::MetricsListen& m) {
        return Json{{"address", address_json(m.address)}, {"port", m.port}};
      });
  j["vigil_metrics_detail"] = g.vigil_metrics_full_detail ? "full" : "basic";
  j["instance"] = g.instance;
  j["net_namespace"] = g.net_namespace;
  j["child_wait_time"] = seconds_json(g.child_wait_time);
  j["startup_script"] = lifecycle_script_json(g.startup_script);
  j["startup_script_timeout"] = seconds_json(g.startup_script_timeout);
  j["shutdown_script"] = lifecycle_script_json(g.shutdown_script);
  j["shutdown_script_timeout"] = seconds_json(g.shutdown_script_timeout);
  return j;
}

}  // namespace vigil::config
