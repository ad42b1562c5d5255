// global_defs: daemon-wide settings and the defaults that VRRP instances and the LVS side inherit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "config/model_common.h"

namespace vigil::config {

// lvs_sync_daemon <INTERFACE> [[inst] <VRRP_INSTANCE>] [id <SYNC_ID>] [maxlen <LEN>] [port <PORT>]
//                 [ttl <TTL>] [group <IP ADDR>]
struct LvsSyncDaemon {
  std::string interface;
  std::string vrrp_instance;  // empty: not tied to an instance (keepalived requires one; validated)
  uint8_t sync_id = 0;        // default: the instance's virtual_router_id
  bool sync_id_set = false;
  std::optional<uint16_t> max_length;
  std::optional<uint16_t> port;  // kernel default 8848
  std::optional<uint8_t> ttl;
  std::optional<IpAddress> group;  // kernel default 224.0.0.81 / ff02::8848? (unset: kernel's)
  SourceLocation loc;
};

// lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]; unset values are left as the kernel has them.
struct LvsTimeouts {
  std::optional<uint32_t> tcp;
  std::optional<uint32_t> tcpfin;
  std::optional<uint32_t> udp;
};

struct NotifyFifo {
  std::string path;
  std::optional<Command> script;
  RunAs run_as;
};

struct GlobalDefs {
  std::string router_id;             // default: the host name (resolved by the daemon)
  std::optional<RunAs> script_user;  // default: keepalived_script if it exists, else root
  SourceLocation script_user_loc;
  bool enable_script_security = false;

  // SMTP alerts (src/alert): sent when smtp_server and notification_email are both set.
  std::vector<std::string> notification_email;
  std::string notification_email_from;
  std::optional<IpAddress> smtp_server;
  uint16_t smtp_server_port = 25;
  std::string smtp_helo_name;
  Duration smtp_connect_timeout = std::chrono::seconds(30);
  bool smtp_alert = false;
  std::optional<bool> smtp_alert_vrrp;     // default: smtp_alert
  std::optional<bool> smtp_alert_checker;  // default: smtp_alert
  // smtp_alert or smtp_alert_checker was written: real servers then default to
  // smtp_alert_checker, else to on (keepalived 2.2.7 check_data.c).
  bool smtp_alert_checker_written = false;
  bool no_email_faults = false;
  // no_checker_emails: a checker's alert only when its real server's state changes.
  bool no_checker_emails = false;
  bool checker_log_all_failures = false;
  // vigil: HTTP_GET/SSL_GET and SMTP_CHECK read RFC 9112 / RFC 5321 framing (check/http.h,
  // check/smtp.h); off: keepalived 2.2.7's reading.
  bool checker_strict_framing = false;
  // vigil: checkers whose whole spec (type, target, probe parameters, timing) is identical share
  // one probe stream (check/engine.h); off: every checker probes on its own, as keepalived.
  bool checker_share_probes = false;

  // VRRP defaults.
  uint8_t vrrp_version = 2;
  IpAddress vrrp_mcast_group4 = *IpAddress::parse("224.0.0.18");
  IpAddress vrrp_mcast_group6 = *IpAddress::parse("ff02::12");
  std::string default_interface;
  std::string vmac_prefix;  // the default VMAC name's prefix; empty: "vrrp" (keepalived)
  Duration vrrp_garp_master_delay = std::chrono::seconds(5);
  uint32_t vrrp_garp_master_repeat = 5;
  Duration vrrp_garp_master_refresh{0};  // 0: no refresh
  uint32_t vrrp_garp_master_refresh_repeat = 1;
  uint32_t vrrp_down_timer_adverts = 3;  // default of the instances' down_timer_adverts
  std::optional<Duration> vrrp_garp_lower_prio_delay;   // default: vrrp_garp_master_delay
  std::optional<uint32_t> vrrp_garp_lower_prio_repeat;  // default: vrrp_garp_master_repeat
  Duration vrrp_garp_interval{0};
  Duration vrrp_gna_interval{0};
  bool vrrp_min_garp = false;
  bool vrrp_lower_prio_no_advert = false;
  bool vrrp_higher_prio_send_advert = false;
  bool vrrp_strict = false;
  bool vrrp_check_unicast_src = false;
  bool vrrp_skip_check_adv_addr = false;
  bool vrrp_notify_priority_changes = false;
  Duration vrrp_startup_delay{0};
  bool log_unknown_vrids = false;
  std::optional<int> vrrp_priority;     // nice value -20..19
  std::optional<int> checker_priority;  // nice value -20..19
  std::optional<int> vrrp_rt_priority;  // SCHED_RR 1..99
  std::optional<int> checker_rt_priority;
  bool vrrp_no_swap = false;
  bool checker_no_swap = false;
  std::vector<int> checker_cpu_affinity;  // CPU ids (0..1023); empty: no pinning
  std::string checker_process_name;       // vigil: the check thread's name (15 characters)
  bool dynamic_interfaces = false;

  // Notification FIFOs.
  std::optional<NotifyFifo> notify_fifo;
  std::optional<NotifyFifo> vrrp_notify_fifo;
  std::optional<NotifyFifo> lvs_notify_fifo;
  bool fifo_write_vrrp_states_on_reload = false;  // every state line again after a reload

  // LVS.
  std::optional<LvsSyncDaemon> lvs_sync_daemon;
  std::optional<LvsTimeouts> lvs_timeouts;
  bool lvs_flush = false;
  bool lvs_flush_on_stop = false;
  bool lvs_flush_on_stop_vs_only = false;  // "lvs_flush_on_stop VS"

  // vigil: GET /metrics over TCP (docs/operations.md "Metrics"); unset: only on the control
  // sockets. Read at start: a reload does not move the listener.
  struct MetricsListen {
    IpAddress address = *IpAddress::parse("127.0.0.1");
    uint16_t port = 9650;
  };
  std::optional<MetricsListen> vigil_metrics_address;
  bool vigil_metrics_full_detail = false;  // vigil_metrics_detail full (default basic)

  // Processes.
  std::string instance;       // "instance NAME": pid file names, ${_INSTANCE}
  std::string net_namespace;  // run in this network namespace
  Duration child_wait_time = std::chrono::seconds(5);
  // keepalived's parent runs startup_script once before starting its children (not on a reload)
  // and shutdown_script after they end, waiting for each at most its timeout (1-1000 s, default
  // 10) before going on; their exit status is only logged.
  std::optional<NotifyScript> startup_script;
  Duration startup_script_timeout = std::chrono::seconds(10);
  std::optional<NotifyScript> shutdown_script;
  Duration shutdown_script_timeout = std::chrono::seconds(10);
};

}  // namespace vigil::config
