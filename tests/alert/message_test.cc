// The alert texts and message bytes, against keepalived 2.2.7's (core/smtp.c, include/smtp.h,
// vrrp_notify.c, ipwrapper.c).
#include "alert/message.h"

#include <gtest/gtest.h>

#include "config/model_global.h"

namespace vigil::alert {
namespace {

SmtpSettings settings() {
  SmtpSettings s;
  s.server = *IpAddress::parse("192.0.2.25");
  s.helo_name = "lb1";
  s.from = "lvs@example.com";
  s.to = {"ops@example.com", "oncall@example.com"};
  s.router_id = "LVS_1";
  return s;
}

// 2026-12-05 07:36:10 UTC, a Saturday.
constexpr int64_t kSaturday = 1796456170;

TEST(AlertText, SubjectsAndBodiesAreKeepalivedsWords) {
  struct Case {
    Alert alert;
    std::string subject;
    std::string body;
  };
  const Case cases[] = {
      {real_server_alert("[10.0.0.1]:tcp:80", "[10.0.0.100]:tcp:80", false,
                         "=> TCP CHECK failed on service <="),
       "Realserver [10.0.0.1]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN",
       "=> TCP CHECK failed on service <="},
      {real_server_alert("[10.0.0.1]:tcp:80", "FWM 7", true, "=> CHECK succeed on service <="),
       "Realserver [10.0.0.1]:tcp:80 of virtual server FWM 7 - UP",
       "=> CHECK succeed on service <="},
      {virtual_server_alert("[10.0.0.100]:tcp:80", true, "=> Gained quorum 1+0=1 <= 2 <="),
       "Virtualserver [10.0.0.100]:tcp:80 - UP", "=> Gained quorum 1+0=1 <= 2 <="},
      {virtual_server_alert("[10.0.0.100]:tcp:80", false, "=> Lost quorum 3+1=2 <= 1 <="),
       "Virtualserver [10.0.0.100]:tcp:80 - DOWN", "=> Lost quorum 3+1=2 <= 1 <="},
      {vrrp_instance_alert("VI_1", VrrpAlertState::kMaster),
       "VRRP Instance VI_1 - Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="},
      {vrrp_instance_alert("VI_1", VrrpAlertState::kBackup),
       "VRRP Instance VI_1 - Entering BACKUP state",
       "=> VRRP Instance is no longer owning VRRP VIPs <="},
      {vrrp_instance_alert("VI_1", VrrpAlertState::kFault),
       "VRRP Instance VI_1 - Entering FAULT state",
       "=> VRRP Instance is no longer owning VRRP VIPs <="},
      {vrrp_instance_alert("VI_1", VrrpAlertState::kStop), "VRRP Instance VI_1 - Stopping",
       "=> VRRP Instance stopping <="},
      {vrrp_instance_alert("VI_1", VrrpAlertState::kDeleted), "VRRP Instance VI_1 - Deleted",
       "=> VRRP Deleted at reload <="},
      {*vrrp_group_alert("G1", VrrpAlertState::kMaster), "VRRP Group G1 - Entering MASTER state",
       "=> All VRRP group instances are now in MASTER state <="},
      {*vrrp_group_alert("G1", VrrpAlertState::kBackup), "VRRP Group G1 - Entering BACKUP state",
       "=> All VRRP group instances are now in BACKUP state <="},
      {*vrrp_group_alert("G1", VrrpAlertState::kFault), "VRRP Group G1 - Entering FAULT state",
       "=> All VRRP group instances are now in FAULT state <="},
      {*vrrp_group_alert("G1", VrrpAlertState::kStop), "VRRP Group G1 - Stopping",
       "=> All VRRP group instances are now stopping <="},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.alert.subject, c.subject);
    EXPECT_EQ(c.alert.body, c.body);
  }
  EXPECT_FALSE(vrrp_group_alert("G1", VrrpAlertState::kDeleted));
}

TEST(AlertText, Rfc5322Date) {
  struct Case {
    event::WallTime time;
    const char* text;
  };
  const Case cases[] = {
      {{kSaturday, 0}, "Sat, 05 Dec 2026 07:36:10 +0000"},
      {{kSaturday, 3600}, "Sat, 05 Dec 2026 08:36:10 +0100"},
      {{kSaturday, -(9 * 3600 + 30 * 60)}, "Fri, 04 Dec 2026 22:06:10 -0930"},
      {{0, 0}, "Thu, 01 Jan 1970 00:00:00 +0000"},
      {{951782400, 0}, "Tue, 29 Feb 2000 00:00:00 +0000"},
      {{-1, 0}, "Wed, 31 Dec 1969 23:59:59 +0000"},
      {{4102444799, 0}, "Thu, 31 Dec 2099 23:59:59 +0000"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(rfc5322_date(c.time), c.text) << c.time.unix_seconds;
}

TEST(AlertMessage, KeepalivedsHeadersAndBody) {
  const Alert alert = vrrp_instance_alert("VI_1", VrrpAlertState::kMaster);
  EXPECT_EQ(message_data(settings(), alert, {kSaturday, 0}),
            "Date: Sat, 05 Dec 2026 07:36:10 +0000\r\n"
            "From: lvs@example.com\r\n"
            "Subject: [LVS_1] VRRP Instance VI_1 - Entering MASTER state\r\n"
            "X-Mailer: Keepalived\r\n"
            "To: ops@example.com, oncall@example.com\r\n"
            "\r\n"
            "=> VRRP Instance is now owning VRRP VIPs <=\r\n"
            "\r\n.\r\n");
}

TEST(AlertMessage, NoRouterIdMeansTheBareSubject) {
  SmtpSettings s = settings();
  s.router_id.clear();
  EXPECT_EQ(full_subject(s, Alert{"X", ""}), "X");
}

// A CR or LF in any header value must not start a header of its own.
TEST(AlertMessage, HeaderInjectionIsDefused) {
  SmtpSettings s = settings();
  s.router_id = "LVS\r\nBcc: victim@example.com";
  s.from = "a@example.com\nX-Evil: 1";
  s.to = {"ops@example.com\r\nBcc: x@example.com"};
  const std::string data =
      message_data(s, vrrp_instance_alert("VI\r\n\r\nbody", VrrpAlertState::kMaster), {0, 0});
  const std::string headers = data.substr(0, data.find("\r\n\r\n") + 2);
  size_t lines = 0;
  for (size_t at = headers.find("\r\n"); at != std::string::npos; at = headers.find("\r\n", at + 2))
    ++lines;
  EXPECT_EQ(lines, 5U) << headers;  // Date, From, Subject, X-Mailer, To
  EXPECT_EQ(headers.find("\nBcc"), std::string::npos);
  EXPECT_EQ(headers.find("\nX-Evil"), std::string::npos);
  EXPECT_NE(headers.find("Subject: [LVS  Bcc: victim@example.com] VRRP Instance VI    body - "),
            std::string::npos)
      << headers;
  EXPECT_EQ(one_line(std::string("a\0b\tc\x7f", 6)), "a b c ");
}

TEST(AlertMessage, BodyIsDotStuffedWithCrlfLines) {
  const std::string data =
      message_data(settings(), Alert{"s", ".one\n..two\r\nthree\r.\n"}, {0, 0});
  const std::string body = data.substr(data.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, "..one\r\n...two\r\nthree\r\n..\r\n\r\n\r\n.\r\n");
}

TEST(AlertMessage, SubjectAndBodyAreCutAsKeepalived) {
  const std::string long_text(2000, 'x');
  SmtpSettings s = settings();
  EXPECT_EQ(full_subject(s, Alert{long_text, ""}).size(), kMaxSubjectBytes);
  const std::string data = message_data(s, Alert{"s", long_text}, {0, 0});
  const std::string body = data.substr(data.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, std::string(kMaxBodyBytes, 'x') + "\r\n\r\n.\r\n");
}

TEST(AlertSettings, KeepalivedsDefaults) {
  config::GlobalDefs g;
  const LocalIdentity local{.host_name = "lb1.example.com", .user_name = "root"};
  EXPECT_FALSE(settings_from(g, local));  // no server
  g.smtp_server = IpAddress::parse("192.0.2.25");
  EXPECT_FALSE(settings_from(g, local));  // no notification_email
  g.notification_email = {"ops@example.com"};
  auto s = settings_from(g, local);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 25);
  EXPECT_EQ(s->helo_name, "lb1.example.com");
  EXPECT_EQ(s->from, "root@lb1.example.com");
  EXPECT_EQ(s->router_id, "lb1.example.com");
  EXPECT_EQ(s->connect_timeout, 30s);
  EXPECT_EQ(s->to, std::vector<std::string>{"ops@example.com"});

  g.smtp_helo_name = "helo.example.com";
  g.notification_email_from = "lvs@example.com";
  g.router_id = "LVS_1";
  g.smtp_server_port = 2525;
  s = settings_from(g, local);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->helo_name, "helo.example.com");
  EXPECT_EQ(s->from, "lvs@example.com");
  EXPECT_EQ(s->router_id, "LVS_1");
  EXPECT_EQ(s->port, 2525);

  // No host name: HELO localhost (core/smtp.c helo_cmd), no default From.
  g = config::GlobalDefs{};
  g.smtp_server = IpAddress::parse("192.0.2.25");
  g.notification_email = {"ops@example.com"};
  s = settings_from(g, LocalIdentity{});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->helo_name, "localhost");
  EXPECT_EQ(s->from, "");

  // A host name that does not resolve (keepalived's "[unknown]"): the router_id only.
  s = settings_from(g, LocalIdentity{.host_name = kUnknownHostName, .user_name = "root"});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->router_id, "[unknown]");
  EXPECT_EQ(s->helo_name, "localhost");
  EXPECT_EQ(s->from, "");
}

}  // namespace
}  // namespace vigil::alert
