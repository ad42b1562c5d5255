// SMTP alerts as keepalived 2.2.7 writes them (core/smtp.c smtp_alert, include/smtp.h): the
// Subject and body of each kind of alert, the settings from global_defs, and the bytes of the
// DATA phase (headers, body, end of data). Pure: no I/O, no clock (the Date is passed in).
//
// keepalived's texts, which vigil keeps word for word so that mail filters written for
// keepalived keep working:
// - real server (a checker's verdict, check_*.c):  "[router_id] Realserver [10.0.0.1]:tcp:80 of
//   virtual server [10.0.0.100]:tcp:80 - DOWN", body "=> TCP CHECK failed on service <=";
// - virtual server quorum (ipwrapper.c do_vs_notifies): "[router_id] Virtualserver
//   [10.0.0.100]:tcp:80 - UP", body "=> Gained quorum 1+0=1 <= 2 <=";
// - VRRP instance (vrrp_notify.c vrrp_smtp_notifier): "[router_id] VRRP Instance VI_1 - Entering
//   MASTER state", body "=> VRRP Instance is now owning VRRP VIPs <=";
// - VRRP sync group (vrrp_sync_smtp_notifier): "[router_id] VRRP Group G1 - Entering MASTER
//   state", body "=> All VRRP group instances are now in MASTER state <=".
// The message (SMTP_HEADERS_CMD, SMTP_BODY_CMD, SMTP_SEND_CMD):
//   Date: Sat, 05 Dec 2026 07:36:10 +0000\r\n
//   From: <notification_email_from>\r\n
//   Subject: <subject>\r\n
//   X-Mailer: Keepalived\r\n
//   To: a@example.com, b@example.com\r\n
//   \r\n
//   <body>\r\n
//   \r\n.\r\n
//
// Where vigil differs from keepalived, always:
// - Header injection: a CR, LF or other control byte in anything that goes into a header (a
//   router_id, an instance or group name, an address) becomes a space, so no value can start a
//   header or end the headers (keepalived copies the bytes as they are).
// - The body's lines end in CRLF and a line that starts with '.' is dot-stuffed (RFC 5321
//   §4.5.2); keepalived sends the body as it is, so a body line "." would end its message early.
// - X-Mailer stays "Keepalived", keepalived's value, on purpose (filters match on it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/time.h"
#include "event/wall_clock.h"

namespace vigil::config {
struct GlobalDefs;
}

namespace vigil::alert {

// keepalived's MAX_HEADERS_LENGTH - 1 and MAX_BODY_LENGTH - 1: longer subjects and bodies are
// cut (snprintf / strncpy into fixed buffers).
inline constexpr size_t kMaxSubjectBytes = 255;
inline constexpr size_t kMaxBodyBytes = 511;

// One alert: its Subject without the "[router_id] " prefix (the sender adds it) and its body.
struct Alert {
  std::string subject;
  std::string body;
  bool operator==(const Alert&) const = default;
};

// Where and how alerts are sent (global_defs).
struct SmtpSettings {
  IpAddress server;
  uint16_t port = 25;
  std::string helo_name;           // smtp_helo_name; default: the local host name
  std::string from;                // notification_email_from; default: user@host
  std::vector<std::string> to;     // notification_email
  std::string router_id;           // the Subject's "[router_id] "; default: the local host name
  Duration connect_timeout = 30s;  // smtp_connect_timeout: the connect, and each reply
  bool operator==(const SmtpSettings&) const = default;
};

// What keepalived's defaults are made of (global_data.c): the local host name (uname's nodename)
// and the name of the user vigild runs as.
// keepalived's unknown_name: this host's name when it does not resolve.
inline constexpr const char* kUnknownHostName = "[unknown]";

struct LocalIdentity {
  std::string host_name;  // canonical (resolved) name, else kUnknownHostName
  std::string user_name;
};

// This host's name and vigild's user (uname, getpwuid_r: NSS may be asked). At load.
[[nodiscard]] LocalIdentity local_identity();

// keepalived's defaults (global_data.c init_global_data): router_id is the local host name;
// with an smtp_server, smtp_helo_name defaults to it and notification_email_from to
// "<user>@<host>" (both only when the host name is known). None when no alert can be sent:
// smtp_server unset or no notification_email (core/smtp.c smtp_alert returns at once).
[[nodiscard]] std::optional<SmtpSettings> settings_from(const config::GlobalDefs& global,
                                                        const LocalIdentity& local);

// Why settings_from() gives none: "no smtp_server", "no notification_email"; empty when it
// gives settings. For the one info line at load when smtp_alert is on but nothing can be sent.
[[nodiscard]] std::string why_not_sent(const config::GlobalDefs& global);

// ---- the alerts -------------------------------------------------------------------------------

// A real server's alert: `real_server` and `virtual_server` are keepalived's FMT_RS / FMT_VS
// ("[10.0.0.1]:tcp:80"); `body` the checker's words ("=> TCP CHECK failed on service <=").
[[nodiscard]] Alert real_server_alert(std::string_view real_server, std::string_view virtual_server,
                                      bool up, std::string_view body);
// A virtual server's quorum alert (ipwrapper.c do_vs_notifies).
[[nodiscard]] Alert virtual_server_alert(std::string_view virtual_server, bool up,
                                         std::string_view body);

// The states a VRRP alert reports (vrrp_notify.c): kStop is keepalived's VRRP_STATE_STOP (the
// instance stops), kDeleted an instance a reload removed.
enum class VrrpAlertState : uint8_t { kMaster, kBackup, kFault, kStop, kDeleted };
std::string_view to_string(VrrpAlertState state);

[[nodiscard]] Alert vrrp_instance_alert(std::string_view instance, VrrpAlertState state);
// keepalived sends no sync-group alert for a deletion: none for kDeleted.
[[nodiscard]] std::optional<Alert> vrrp_group_alert(std::string_view group, VrrpAlertState state);

// ---- the message ------------------------------------------------------------------------------

// RFC 5322 §3.3 date-time in the zone of `time` (keepalived: strftime "%a, %d %b %Y %H:%M:%S
// %z" of localtime): "Sat, 05 Dec 2026 07:36:10 +0100".
[[nodiscard]] std::string rfc5322_date(const event::WallTime& time);

// `value` fit for one header line or SMTP command: every control byte (CR, LF, NUL, TAB, DEL,
// ...) becomes a space.
[[nodiscard]] std::string one_line(std::string_view value);

// The subject as sent: "[router_id] subject" (just the subject when router_id is empty), made
// one line and cut to kMaxSubjectBytes.
[[nodiscard]] std::string full_subject(const SmtpSettings& settings, const Alert& alert);

// The To header's value: the addresses joined by ", " (keepalived's build_to_header_rcpt_addrs).
[[nodiscard]] std::string to_header(const std::vector<std::string>& to);

// Everything sent after the server's 354: headers, the body (cut to kMaxBodyBytes, CRLF line
// ends, dot-stuffed) and the end of data "\r\n.\r\n".
[[nodiscard]] std::string message_data(const SmtpSettings& settings, const Alert& alert,
                                       const event::WallTime& date);

}  // namespace vigil::alert
