// SMTP_CHECK's dialogue, as keepalived 2.2.7 check_smtp.c holds it (shared/reference/checkers.md
// §1.2), and vigil's opt-in RFC 5321 reply reading. Each case is a script of server bytes; the
// same script fed whole and byte by byte must give the same bytes sent and the same verdict.
#include "check/smtp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::check {
namespace {

struct Run {
  std::string sent;
  SmtpOutcome outcome = SmtpOutcome::kNeedMore;
  std::string reason;
};

enum class Mode : uint8_t { kKeepalived, kRfc5321, kStrict };

// Feeds `server` in pieces of `chunk` bytes (0: whole), then a close when `close` is set.
Run run(const std::string& server, size_t chunk, bool close, Mode mode = Mode::kKeepalived) {
  SmtpDialogue dialogue(SmtpDialogueOptions{.helo_name = "checker.example",
                                            .rfc5321_replies = mode == Mode::kRfc5321,
                                            .strict_framing = mode == Mode::kStrict});
  Run out;
  const size_t step = chunk == 0 ? std::max<size_t>(server.size(), 1) : chunk;
  for (size_t at = 0; at < server.size(); at += step) {
    SmtpStep s = dialogue.feed(std::string_view(server).substr(at, step));
    out.sent += s.send;
    out.outcome = s.outcome;
    out.reason = s.reason;
  }
  if (close) {
    SmtpStep s = dialogue.closed();
    EXPECT_TRUE(s.send.empty());
    out.outcome = s.outcome;
    out.reason = s.reason;
  }
  EXPECT_LE(dialogue.retained_bytes(), kSmtpMaxLineBytes);
  return out;
}

constexpr const char* kHelo = "HELO checker.example\r\n";
const std::string kHeloQuit = std::string(kHelo) + "QUIT\r\n";

struct Case {
  const char* what;
  std::string server;
  bool close;  // the server closes after its bytes
  std::string sent;
  SmtpOutcome outcome;
  std::string reason;
};

void check_cases(const std::vector<Case>& cases, Mode mode) {
  for (const auto& c : cases) {
    for (size_t chunk : {size_t{0}, size_t{1}, size_t{7}}) {
      const Run r = run(c.server, chunk, c.close, mode);
      EXPECT_EQ(r.sent, c.sent) << c.what << " (chunk " << chunk << ")";
      EXPECT_EQ(r.outcome, c.outcome) << c.what << " (chunk " << chunk << ")";
      EXPECT_EQ(r.reason, c.reason) << c.what << " (chunk " << chunk << ")";
    }
  }
}

void check_cases(const std::vector<Case>& cases, bool rfc) {
  check_cases(cases, rfc ? Mode::kRfc5321 : Mode::kKeepalived);
}

TEST(SmtpDialogue, KeepalivedReplies) {
  const std::string long_line(510, 'x');
  check_cases(
      {
          {"the usual dialogue", "220 mx.example ESMTP\r\n250 mx.example\r\n221 bye\r\n", true,
           kHeloQuit, SmtpOutcome::kPassed, ""},
          {"passes at the QUIT reply's line end, before any close", "220 a\r\n250 b\r\n221\n",
           false, kHeloQuit, SmtpOutcome::kPassed, ""},
          {"any QUIT reply line, even an error", "220 a\r\n250 b\r\n500 what\r\n", false, kHeloQuit,
           SmtpOutcome::kPassed, ""},
          {"an empty QUIT reply line", "220 a\r\n250 b\r\n\n", false, kHeloQuit,
           SmtpOutcome::kPassed, ""},
          {"bare status with LF", "220\n250\n\n", false, kHeloQuit, SmtpOutcome::kPassed, ""},
          {"waiting for the greeting", "220 mx", false, "", SmtpOutcome::kNeedMore, ""},
          {"waiting for the HELO reply", "220 mx\r\n", false, kHelo, SmtpOutcome::kNeedMore, ""},
          {"waiting for the QUIT reply", "220 mx\r\n250 ok\r\n221 by", false, kHeloQuit,
           SmtpOutcome::kNeedMore, ""},
          {"bare status with CRLF: the CR follows the digits", "220\r\n", false, "",
           SmtpOutcome::kFailed, R"(greeting is not 220: "220\x0d")"},
          {"multi-line greeting fails on its first line", "220-mx.example\r\n220 ready\r\n", false,
           "", SmtpOutcome::kFailed, R"(greeting is not 220: "220-mx.example\x0d")"},
          {"another greeting code", "421 busy\r\n", false, "", SmtpOutcome::kFailed,
           R"(greeting is not 220: "421 busy\x0d")"},
          {"four digits", "2200 x\r\n", false, "", SmtpOutcome::kFailed,
           R"(greeting is not 220: "2200 x\x0d")"},
          {"a leading blank", " 220 x\n", false, "", SmtpOutcome::kFailed,
           R"(greeting is not 220: " 220 x")"},
          {"a sign", "+220 x\n", false, "", SmtpOutcome::kFailed,
           R"(greeting is not 220: "+220 x")"},
          {"HELO refused", "220 a\r\n550 no\r\n", false, kHelo, SmtpOutcome::kFailed,
           R"(HELO reply is not 250: "550 no\x0d")"},
          {"multi-line HELO reply", "220 a\r\n250-mx\r\n250 ok\r\n", false, kHelo,
           SmtpOutcome::kFailed, R"(HELO reply is not 250: "250-mx\x0d")"},
          {"closed before the greeting", "", true, "", SmtpOutcome::kFailed,
           "connection closed before the greeting"},
          {"closed in the greeting", "220 mx", true, "", SmtpOutcome::kFailed,
           "connection closed before the greeting"},
          {"closed before the HELO reply", "220 a\r\n", true, kHelo, SmtpOutcome::kFailed,
           "connection closed before the HELO reply"},
          {"QUIT answered by a close", "220 a\r\n250 b\r\n", true, kHeloQuit, SmtpOutcome::kFailed,
           "connection closed after QUIT without a reply"},
          {"QUIT reply without its line end", "220 a\r\n250 b\r\n221 bye", true, kHeloQuit,
           SmtpOutcome::kFailed, "connection closed after QUIT without a reply"},
          {"a NUL byte", std::string("220 a\0b\r\n", 9), false, "", SmtpOutcome::kFailed,
           "NUL byte in a reply line"},
          {"bytes after the verdict are ignored", "421 x\n220 a\n", false, "", SmtpOutcome::kFailed,
           R"(greeting is not 220: "421 x")"},
          {"the longest greeting line (510 bytes and LF)", "220 " + long_line.substr(4) + "\n",
           false, kHelo, SmtpOutcome::kNeedMore, ""},
          {"a greeting line over 511 bytes", "220 " + long_line.substr(3) + "\n", false, "",
           SmtpOutcome::kFailed,
           "reply line longer than 511 bytes: \"220 " + std::string(60, 'x') + "...\""},
          {"a long QUIT reply is fine", "220 a\n250 b\n221 " + std::string(5000, 'y') + "\n", false,
           kHeloQuit, SmtpOutcome::kPassed, ""},
      },
      false);
}

TEST(SmtpDialogue, Rfc5321RepliesOptIn) {
  check_cases(
      {
          {"multi-line greeting and HELO reply",
           "220-mx.example ESMTP\r\n220-no UCE\r\n220 ready\r\n250-mx\r\n250-PIPELINING\r\n"
           "250 8BITMIME\r\n221 bye\r\n",
           false, kHeloQuit, SmtpOutcome::kPassed, ""},
          {"bare status with CRLF", "220\r\n250\r\n221\r\n", false, kHeloQuit, SmtpOutcome::kPassed,
           ""},
          {"waiting for the rest of a multi-line greeting", "220-mx\r\n", false, "",
           SmtpOutcome::kNeedMore, ""},
          {"codes change inside a reply", "220-mx\r\n250 ok\r\n", false, "", SmtpOutcome::kFailed,
           R"(multi-line reply mixes 220 and 250: "250 ok")"},
          {"a multi-line refusal", "554-no\r\n554 go away\r\n", false, "", SmtpOutcome::kFailed,
           R"(greeting is not 220: "554 go away")"},
          {"no status", "hello\r\n", false, "", SmtpOutcome::kFailed,
           R"(greeting is not 220: "hello")"},
          {"closed inside a multi-line greeting", "220-mx\r\n", true, "", SmtpOutcome::kFailed,
           "connection closed before the greeting"},
      },
      true);
}

// vigil's opt-in strict framing (checker_strict_framing): each script read both ways, the default
// pinning keepalived 2.2.7's verdict.
struct FramingCase {
  const char* what;
  std::string server;
  bool close;
  std::string default_sent;
  SmtpOutcome default_outcome;
  std::string default_reason;
  std::string strict_sent;
  SmtpOutcome strict_outcome;
  std::string strict_reason;
};

TEST(SmtpDialogue, StrictFramingAgainstTheDefault) {
  using enum SmtpOutcome;
  const std::vector<FramingCase> cases = {
      {"the usual dialogue", "220 mx ESMTP\r\n250 mx\r\n221 bye\r\n", false, kHeloQuit, kPassed, "",
       kHeloQuit, kPassed, ""},
      {"multi-line greeting: strict reads it to its last line",
       "220-mx.example\r\n220 ready\r\n250 ok\r\n221 bye\r\n", false, "", kFailed,
       R"(greeting is not 220: "220-mx.example\x0d")", kHeloQuit, kPassed, ""},
      {"multi-line HELO reply", "220 a\r\n250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n221 b\r\n",
       false, kHelo, kFailed, R"(HELO reply is not 250: "250-mx\x0d")", kHeloQuit, kPassed, ""},
      {"strict does not answer before the last line", "220-mx\r\n", false, "", kFailed,
       R"(greeting is not 220: "220-mx\x0d")", "", kNeedMore, ""},
      {"codes change inside a reply", "220-mx\r\n250 ok\r\n", false, "", kFailed,
       R"(greeting is not 220: "220-mx\x0d")", "", kFailed,
       R"(multi-line reply mixes 220 and 250: "250 ok")"},
      {"a multi-line refusal", "554-no\r\n554 go away\r\n", false, "", kFailed,
       R"(greeting is not 220: "554-no\x0d")", "", kFailed,
       R"(greeting is not 220: "554 go away")"},
      {"a line without a status", "hello\r\n", false, "", kFailed,
       R"(greeting is not 220: "hello\x0d")", "", kFailed, R"(bad reply line: "hello")"},
      {"a bad line inside a multi-line reply", "220-mx\r\nhello\r\n220 ok\r\n", false, "", kFailed,
       R"(greeting is not 220: "220-mx\x0d")", "", kFailed, R"(bad reply line: "hello")"},
      {"bare status with CRLF", "220\r\n250\r\n221\r\n", false, "", kFailed,
       R"(greeting is not 220: "220\x0d")", kHeloQuit, kPassed, ""},
      {"bare LF line ends", "220 a\n250 b\n221 c\n", false, kHeloQuit, kPassed, "", "", kFailed,
       R"(bad reply line: "220 a\x0a")"},
      {"an empty QUIT reply line", "220 a\r\n250 b\r\n\r\n", false, kHeloQuit, kPassed, "",
       kHeloQuit, kFailed, R"(bad reply line: "")"},
      {"a QUIT reply that is not a reply", "220 a\r\n250 b\r\nbye\r\n", false, kHeloQuit, kPassed,
       "", kHeloQuit, kFailed, R"(bad reply line: "bye")"},
      {"any QUIT reply code", "220 a\r\n250 b\r\n500 what\r\n", false, kHeloQuit, kPassed, "",
       kHeloQuit, kPassed, ""},
      {"a multi-line QUIT reply, closed before its last line", "220 a\r\n250 b\r\n221-bye\r\n",
       true, kHeloQuit, kPassed, "", kHeloQuit, kFailed,
       "connection closed after QUIT without a reply"},
      {"a long QUIT reply line", "220 a\r\n250 b\r\n221 " + std::string(600, 'y') + "\r\n", false,
       kHeloQuit, kPassed, "", kHeloQuit, kFailed,
       "reply line longer than 511 bytes: \"221 " + std::string(60, 'y') + "...\""},
      {"a sign before the code", "+220 x\r\n", false, "", kFailed,
       R"(greeting is not 220: "+220 x\x0d")", "", kFailed, R"(bad reply line: "+220 x")"},
      {"four digits", "2200 x\r\n", false, "", kFailed, R"(greeting is not 220: "2200 x\x0d")", "",
       kFailed, R"(bad reply line: "2200 x")"},
      {"a NUL byte", std::string("220 a\0b\r\n", 9), false, "", kFailed, "NUL byte in a reply line",
       "", kFailed, "NUL byte in a reply line"},
      {"closed inside a multi-line greeting", "220-mx\r\n", true, "", kFailed,
       R"(greeting is not 220: "220-mx\x0d")", "", kFailed,
       "connection closed before the greeting"},
  };
  for (const auto& c : cases) {
    for (const bool strict : {false, true}) {
      for (size_t chunk : {size_t{0}, size_t{1}, size_t{7}}) {
        const auto r = run(c.server, chunk, c.close, strict ? Mode::kStrict : Mode::kKeepalived);
        const std::string what = std::string(c.what) + (strict ? " (strict" : " (default") +
                                 ", chunk " + std::to_string(chunk) + ")";
        EXPECT_EQ(r.sent, strict ? c.strict_sent : c.default_sent) << what;
        EXPECT_EQ(r.outcome, strict ? c.strict_outcome : c.default_outcome) << what;
        EXPECT_EQ(r.reason, strict ? c.strict_reason : c.default_reason) << what;
      }
    }
  }
}

TEST(SmtpDialogue, DefaultHeloNameIsKeepalivedsAndPipelinedRepliesAreKept) {
  SmtpDialogue dialogue(SmtpDialogueOptions{});
  // All three replies in one read, before vigil sent anything: both commands go out and the
  // dialogue passes (keepalived drops the bytes after the greeting's line and times out).
  SmtpStep s = dialogue.feed("220 a\r\n250 b\r\n221 c\r\n");
  EXPECT_EQ(s.send, "HELO smtpchecker.keepalived.org\r\nQUIT\r\n");
  EXPECT_EQ(s.outcome, SmtpOutcome::kPassed);
  EXPECT_EQ(dialogue.outcome(), SmtpOutcome::kPassed);
  // A close after the verdict changes nothing.
  EXPECT_EQ(dialogue.closed().outcome, SmtpOutcome::kPassed);
  EXPECT_TRUE(dialogue.reason().empty());
}

TEST(SmtpDialogue, OutcomeNames) {
  EXPECT_EQ(to_string(SmtpOutcome::kNeedMore), "need more");
  EXPECT_EQ(to_string(SmtpOutcome::kPassed), "passed");
  EXPECT_EQ(to_string(SmtpOutcome::kFailed), "failed");
}

}  // namespace
}  // namespace vigil::check
