#include "alert/message.h"

#include <fmt/format.h>

#include <array>

#include "config/model_global.h"

namespace vigil::alert {
namespace {

std::string cut(std::string text, size_t max) {
  if (text.size() > max) text.resize(max);
  return text;
}

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

// keepalived 2.2.7 vrrp_notify.c vrrp_smtp_notifier / vrrp_sync_smtp_notifier.
struct VrrpTexts {
  std::string_view subject;
  std::string_view instance_body;
  std::string_view group_body;  // empty: no group alert
};
VrrpTexts vrrp_texts(VrrpAlertState state) {
  switch (state) {
    case VrrpAlertState::kMaster:
      return {"Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <=",
              "=> All VRRP group instances are now in MASTER state <="};
    case VrrpAlertState::kBackup:
      return {"Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <=",
              "=> All VRRP group instances are now in BACKUP state <="};
    case VrrpAlertState::kFault:
      return {"Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <=",
              "=> All VRRP group instances are now in FAULT state <="};
    case VrrpAlertState::kStop:
      return {"Stopping",
              "=> VRRP Instance stopping <=", "=> All VRRP group instances are now stopping <="};
    case VrrpAlertState::kDeleted:
      return {"Deleted", "=> VRRP Deleted at reload <=", ""};
  }
  return {"", "", ""};
}

// Days since 1970-01-01 to a civil date (proleptic Gregorian).
struct CivilDate {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};
CivilDate civil_from_days(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace

std::optional<SmtpSettings> settings_from(const config::GlobalDefs& global,
                                          const LocalIdentity& local) {
  if (!global.smtp_server || global.notification_email.empty()) return std::nullopt;
  SmtpSettings s;
  s.server = *global.smtp_server;
  s.port = global.smtp_server_port;
  s.connect_timeout = global.smtp_connect_timeout;
  s.to = global.notification_email;
  s.router_id = global.router_id.empty() ? local.host_name : global.router_id;
  // global_data.c: an unresolved name is the router_id, never the HELO name or the sender.
  const bool resolved = !local.host_name.empty() && local.host_name != kUnknownHostName;
  s.helo_name = global.smtp_helo_name;
  if (s.helo_name.empty() && resolved) s.helo_name = local.host_name;
  s.from = global.notification_email_from;
  if (s.from.empty() && resolved && !local.user_name.empty())
    s.from = local.user_name + "@" + local.host_name;
  // core/smtp.c helo_cmd: "localhost" when there is no name at all.
  if (s.helo_name.empty()) s.helo_name = "localhost";
  return s;
}

std::string why_not_sent(const config::GlobalDefs& global) {
  if (!global.smtp_server) return "no smtp_server";
  if (global.notification_email.empty()) return "no notification_email";
  return {};
}

Alert real_server_alert(std::string_view real_server, std::string_view virtual_server, bool up,
                        std::string_view body) {
  return Alert{fmt::format("Realserver {} of virtual server {} - {}", real_server, virtual_server,
                           up ? "UP" : "DOWN"),
               std::string(body)};
}

Alert virtual_server_alert(std::string_view virtual_server, bool up, std::string_view body) {
  return Alert{fmt::format("Virtualserver {} - {}", virtual_server, up ? "UP" : "DOWN"),
               std::string(body)};
}

std::string_view to_string(VrrpAlertState state) {
  switch (state) {
    case VrrpAlertState::kMaster:
      return "MASTER";
    case VrrpAlertState::kBackup:
      return "BACKUP";
    case VrrpAlertState::kFault:
      return "FAULT";
    case VrrpAlertState::kStop:
      return "STOP";
    case VrrpAlertState::kDeleted:
      return "DELETED";
  }
  return "?";
}

Alert vrrp_instance_alert(std::string_view instance, VrrpAlertState state) {
  const VrrpTexts t = vrrp_texts(state);
  return Alert{fmt::format("VRRP Instance {} - {}", instance, t.subject),
               std::string(t.instance_body)};
}

std::optional<Alert> vrrp_group_alert(std::string_view group, VrrpAlertState state) {
  const VrrpTexts t = vrrp_texts(state);
  if (t.group_body.empty()) return std::nullopt;
  return Alert{fmt::format("VRRP Group {} - {}", group, t.subject), std::string(t.group_body)};
}

std::string rfc5322_date(const event::WallTime& time) {
  static constexpr std::array<const char*, 7> kDays = {"Thu", "Fri", "Sat", "Sun",
                                                       "Mon", "Tue", "Wed"};  // 1970-01-01: Thu
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int64_t local = time.unix_seconds + time.utc_offset_seconds;
  const int64_t days = floor_div(local, 86400);
  const int64_t second_of_day = local - days * 86400;
  const CivilDate date = civil_from_days(days);
  const auto weekday = static_cast<size_t>(((days % 7) + 7) % 7);
  const int32_t offset = time.utc_offset_seconds;
  const int32_t offset_minutes = (offset < 0 ? -offset : offset) / 60;
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} {}{:02}{:02}", kDays[weekday], date.day,
                     kMonths[date.month - 1], date.year, second_of_day / 3600,
                     (second_of_day / 60) % 60, second_of_day % 60, offset < 0 ? '-' : '+',
                     offset_minutes / 60, offset_minutes % 60);
}

std::string one_line(std::string_view value) {
  std::string out(value);
  for (char& c : out)
    if (is_control(static_cast<unsigned char>(c))) c = ' ';
  return out;
}

std::string full_subject(const SmtpSettings& settings, const Alert& alert) {
  std::string subject =
      settings.router_id.empty() ? alert.subject : "[" + settings.router_id + "] " + alert.subject;
  return one_line(cut(std::move(subject), kMaxSubjectBytes));
}

std::string to_header(const std::vector<std::string>& to) {
  std::string out;
  for (const auto& address : to) {
    if (!out.empty()) out += ", ";
    out += one_line(address);
  }
  return out;
}

std::string message_data(const SmtpSettings& settings, const Alert& alert,
                         const event::WallTime& date) {
  std::string out =
      fmt::format("Date: {}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n",
                  rfc5322_date(date), one_line(settings.from), full_subject(settings, alert),
                  to_header(settings.to));
  // The body: CR, LF and CRLF all end a line; each line goes out with CRLF, dot-stuffed (RFC
  // 5321 §4.5.2); other control bytes but TAB become spaces.
  const std::string body = cut(alert.body, kMaxBodyBytes);
  bool line_start = true;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
      out += "\r\n";
      line_start = true;
      continue;
    }
    if (line_start && c == '.') out += '.';
    line_start = false;
    out += (c != '\t' && is_control(static_cast<unsigned char>(c))) ? ' ' : c;
  }
  // SMTP_BODY_CMD's "\r\n", then SMTP_SEND_CMD "\r\n.\r\n".
  out += "\r\n\r\n.\r\n";
  return out;
}

}  // namespace vigil::alert
