// SmtpClientDialogue: keepalived 2.2.7 core/smtp.c's SMTP_FSM, with untrusted replies.
#include "alert/smtp_client.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::alert {
namespace {

SmtpClientOptions options() {
  return SmtpClientOptions{.server = "192.0.2.25:25",
                           .helo_name = "lb1",
                           .from = "lvs@example.com",
                           .to = {"a@example.com", "b@example.com"},
                           .data = "Subject: x\r\n\r\nbody\r\n\r\n.\r\n"};
}

// The conversation that succeeds, reply by reply: what the client sends after each.
struct Exchange {
  std::string reply;
  std::string sent;
};
const std::vector<Exchange>& happy() {
  static const std::vector<Exchange> steps = {
      {"220 mx ESMTP ready\r\n", "HELO lb1\r\n"},
      {"250 mx\r\n", "MAIL FROM:<lvs@example.com>\r\n"},
      {"250 ok\r\n", "RCPT TO:<a@example.com>\r\n"},
      {"250 ok\r\n", "RCPT TO:<b@example.com>\r\n"},
      {"250 ok\r\n", "DATA\r\n"},
      {"354 go ahead\r\n", "Subject: x\r\n\r\nbody\r\n\r\n.\r\n"},
      {"250 queued\r\n", "QUIT\r\n"},
      {"221 bye\r\n", ""},
  };
  return steps;
}

TEST(SmtpClient, TheWholeDialogue) {
  SmtpClientDialogue d(options());
  for (size_t i = 0; i < happy().size(); ++i) {
    SmtpClientStep step = d.feed(happy()[i].reply);
    EXPECT_EQ(step.send, happy()[i].sent) << i;
    EXPECT_EQ(step.outcome,
              i + 1 == happy().size() ? SmtpClientOutcome::kSent : SmtpClientOutcome::kNeedMore)
        << i << " " << step.error;
  }
}

TEST(SmtpClient, OneByteAtATimeGivesTheSameConversation) {
  SmtpClientDialogue d(options());
  std::string sent;
  for (const auto& e : happy())
    for (char c : e.reply)
      sent += d.feed(std::string_view(&c, 1)).send;
  std::string expected;
  for (const auto& e : happy())
    expected += e.sent;
  EXPECT_EQ(sent, expected);
  EXPECT_EQ(d.outcome(), SmtpClientOutcome::kSent);
}

TEST(SmtpClient, MultiLineRepliesAndBareLf) {
  SmtpClientDialogue d(options());
  EXPECT_EQ(d.feed("220-mx.example.com ESMTP\r\n220-no UCE\r\n").send, "");
  EXPECT_EQ(d.feed("220 ready\r\n").send, "HELO lb1\r\n");
  EXPECT_EQ(d.feed("250-mx\n250-PIPELINING\n250 8BITMIME\n").send,
            "MAIL FROM:<lvs@example.com>\r\n");
  EXPECT_EQ(d.feed("250\r\n").send, "RCPT TO:<a@example.com>\r\n");  // a bare code
}

// After the message was accepted, the QUIT reply does not matter and a close is fine.
TEST(SmtpClient, AfterAcceptanceAnyQuitReplyOrACloseIsSent) {
  for (const char* end : {"221 bye\r\n", "500 what\r\n", ""}) {
    SmtpClientDialogue d(options());
    for (size_t i = 0; i + 1 < happy().size(); ++i)
      d.feed(happy()[i].reply);
    SmtpClientStep step = *end ? d.feed(end) : d.closed();
    EXPECT_EQ(step.outcome, SmtpClientOutcome::kSent) << end;
  }
}

// Every reply the dialogue waits for, answered wrongly: a failure naming the server and the
// command, with QUIT sent as keepalived does.
TEST(SmtpClient, EveryRefusalEndsTheSession) {
  struct Case {
    size_t step;  // the reply that is wrong (index into happy())
    std::string reply;
    std::string error;
  };
  const std::vector<Case> cases = {
      {0, "421 busy\r\n", "SMTP server 192.0.2.25:25: greeting is not 220: \"421 busy\""},
      {1, "501 bad helo\r\n",
       "SMTP server 192.0.2.25:25: HELO refused (250 expected): \"501 bad helo\""},
      {2, "550 sender\r\n",
       "SMTP server 192.0.2.25:25: MAIL FROM:<lvs@example.com> refused (250 expected): \"550 "
       "sender\""},
      {3, "550 no such user\r\n",
       "SMTP server 192.0.2.25:25: RCPT TO:<a@example.com> refused (250 expected): \"550 no such "
       "user\""},
      {4, "552 full\r\n",
       "SMTP server 192.0.2.25:25: RCPT TO:<b@example.com> refused (250 expected): \"552 full\""},
      {5, "250 ok\r\n", "SMTP server 192.0.2.25:25: DATA refused (354 expected): \"250 ok\""},
      {6, "554 spam\r\n",
       "SMTP server 192.0.2.25:25: the message refused (250 expected): \"554 spam\""},
  };
  for (const auto& c : cases) {
    SmtpClientDialogue d(options());
    for (size_t i = 0; i < c.step; ++i)
      d.feed(happy()[i].reply);
    SmtpClientStep step = d.feed(c.reply);
    EXPECT_EQ(step.outcome, SmtpClientOutcome::kFailed) << c.step;
    EXPECT_EQ(step.error, c.error);
    EXPECT_EQ(step.send, "QUIT\r\n");
    // Nothing more happens.
    EXPECT_EQ(d.feed("250 ok\r\n").send, "");
    EXPECT_EQ(d.closed().outcome, SmtpClientOutcome::kFailed);
  }
}

TEST(SmtpClient, MalformedRepliesAreBadReplies) {
  struct Case {
    std::string reply;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"hello\r\n", "SMTP server 192.0.2.25:25: bad greeting: not an SMTP reply: \"hello\""},
      {"22\r\n", "SMTP server 192.0.2.25:25: bad greeting: not an SMTP reply: \"22\""},
      {"220x\r\n", "SMTP server 192.0.2.25:25: bad greeting: not an SMTP reply: \"220x\""},
      {"620 six\r\n", "SMTP server 192.0.2.25:25: bad greeting: not an SMTP reply: \"620 six\""},
      {"2a0 x\r\n", "SMTP server 192.0.2.25:25: bad greeting: not an SMTP reply: \"2a0 x\""},
      {"\r\n", "SMTP server 192.0.2.25:25: bad greeting: not an SMTP reply: \"\""},
      {"220\x1b[31m\r\n",
       "SMTP server 192.0.2.25:25: bad greeting: not an SMTP reply: \"220 [31m\""},
      {"220-a\r\n250 b\r\n",
       "SMTP server 192.0.2.25:25: bad greeting: a multi-line reply changes its code from 220 to "
       "250"},
      {std::string("220 a\0b\r\n", 9),
       "SMTP server 192.0.2.25:25: bad greeting: a NUL byte in a reply line"},
      {"220 " + std::string(600, 'x'),
       "SMTP server 192.0.2.25:25: bad greeting: a reply line longer than 512 bytes"},
  };
  for (const auto& c : cases) {
    SmtpClientDialogue d(options());
    SmtpClientStep step = d.feed(c.reply);
    EXPECT_EQ(step.outcome, SmtpClientOutcome::kFailed) << c.reply;
    EXPECT_EQ(step.error, c.error);
    EXPECT_EQ(d.buffered_bytes(), 0U);
  }
}

TEST(SmtpClient, LineLengthBoundIsExact) {
  // 510 bytes + CRLF = 512: fits.
  SmtpClientDialogue fits(options());
  EXPECT_EQ(fits.feed("220 " + std::string(506, 'x') + "\r\n").send, "HELO lb1\r\n");
  // 511 bytes + CRLF = 513: too long, noticed before the line end arrives.
  SmtpClientDialogue over(options());
  EXPECT_EQ(over.feed("220 " + std::string(507, 'x') + "\r").outcome, SmtpClientOutcome::kFailed);
}

TEST(SmtpClient, TooManyReplyLines) {
  SmtpClientDialogue d(options());
  std::string reply;
  for (size_t i = 0; i < kMaxReplyLines; ++i)
    reply += "220-more\r\n";
  EXPECT_EQ(d.feed(reply).outcome, SmtpClientOutcome::kNeedMore);
  SmtpClientStep step = d.feed("220 last\r\n");
  EXPECT_EQ(step.outcome, SmtpClientOutcome::kFailed);
  EXPECT_EQ(step.error, "SMTP server 192.0.2.25:25: bad greeting: more than 64 lines in one reply");
}

TEST(SmtpClient, ACloseBeforeAcceptanceFails) {
  for (size_t at = 0; at + 1 < happy().size(); ++at) {
    SmtpClientDialogue d(options());
    for (size_t i = 0; i < at; ++i)
      d.feed(happy()[i].reply);
    const std::string waiting(d.waiting_for());
    SmtpClientStep step = d.closed();
    EXPECT_EQ(step.outcome, SmtpClientOutcome::kFailed);
    EXPECT_EQ(step.send, "");
    EXPECT_EQ(step.error,
              "SMTP server 192.0.2.25:25 closed the connection while vigil waited for "
              "the " +
                  waiting);
  }
}

// Addresses and HELO name with CR/LF cannot add commands.
TEST(SmtpClient, CommandInjectionIsDefused) {
  SmtpClientOptions o = options();
  o.helo_name = "lb1\r\nRSET";
  o.from = "a@b\r\nRCPT TO:<evil@x>";
  o.to = {"c@d\nDATA"};
  SmtpClientDialogue d(o);
  EXPECT_EQ(d.feed("220 x\r\n").send, "HELO lb1  RSET\r\n");
  EXPECT_EQ(d.feed("250 x\r\n").send, "MAIL FROM:<a@b  RCPT TO:<evil@x>>\r\n");
  EXPECT_EQ(d.feed("250 x\r\n").send, "RCPT TO:<c@d DATA>\r\n");
}

// Bytes that arrive early (pipelined by a broken server) start the next reply.
TEST(SmtpClient, EarlyBytesAreKept) {
  SmtpClientDialogue d(options());
  SmtpClientStep step = d.feed("220 x\r\n250 y\r\n");
  EXPECT_EQ(step.send, "HELO lb1\r\nMAIL FROM:<lvs@example.com>\r\n");
}

}  // namespace
}  // namespace vigil::alert
