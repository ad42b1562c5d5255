// The client side of one SMTP alert, as bytes in and bytes out (keepalived 2.2.7 core/smtp.c's
// SMTP_FSM): greeting 220 -> "HELO <name>" 250 -> "MAIL FROM:<from>" 250 -> "RCPT TO:<to>" 250
// for each address -> "DATA" 354 -> the message (alert/message.h) 250 -> "QUIT" 221. The I/O
// layer connects, calls feed() with each chunk it reads and writes whatever a step asks;
// closed() when the server closes (or the read fails). A read timeout is the I/O layer's.
//
// Every reply is untrusted (RFC 5321 §4.2):
// - a line ends at LF; a CR before it is dropped. A line longer than kMaxReplyLineBytes (with
//   its line end) or holding a NUL byte is a bad reply;
// - a reply line is three digits 2xx..5xx followed by '-' (more lines follow), a space or the
//   line's end; anything else is a bad reply; the lines of one reply must share their code
//   and a reply has at most kMaxReplyLines lines;
// - only a reply's last line is judged, against the code the step expects.
// A bad reply or an unexpected code ends the session: the step says why, naming the server
// (`SMTP server 10.0.0.1:25: RCPT TO:<a@b> refused: "550 no such user"`), and asks to send
// "QUIT" as keepalived does before the I/O layer closes. Once the message was accepted (250 after
// the data), the QUIT reply may be anything, or the close may come first: the alert is sent.
// keepalived differs: it takes a line end to be CRLF only and the first three bytes of any line
// as its code; it sends QUIT and waits for 221 after a refusal.
//
// Memory is bounded: at most kMaxReplyLineBytes of a partial line are kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::alert {

// RFC 5321 §4.5.3.1.5: a reply line is at most 512 bytes with its CRLF.
inline constexpr size_t kMaxReplyLineBytes = 512;
// Lines of one multi-line reply vigil reads before calling it a bad reply.
inline constexpr size_t kMaxReplyLines = 64;

struct SmtpClientOptions {
  std::string server;  // "10.0.0.1:25": named in every error
  std::string helo_name;
  std::string from;
  std::vector<std::string> to;  // at least one
  std::string data;             // message_data(): headers, body, "\r\n.\r\n"
};

enum class SmtpClientOutcome : uint8_t {
  kNeedMore,  // waiting for the server
  kSent,      // the server accepted the message
  kFailed,
};
std::string_view to_string(SmtpClientOutcome outcome);

struct SmtpClientStep {
  std::string send;  // write these bytes now (may be empty)
  SmtpClientOutcome outcome = SmtpClientOutcome::kNeedMore;
  std::string error;  // kFailed: why, naming the server
};

class SmtpClientDialogue {
 public:
  explicit SmtpClientDialogue(SmtpClientOptions options);

  SmtpClientStep feed(std::string_view bytes);
  SmtpClientStep feed(std::span<const uint8_t> bytes);
  // The server closed the connection (or the read failed).
  SmtpClientStep closed();

  [[nodiscard]] SmtpClientOutcome outcome() const { return outcome_; }
  // What the dialogue waits for now: "greeting", "HELO reply", ...; "done" once over.
  [[nodiscard]] std::string_view waiting_for() const;
  // Bytes of a partial reply line held now.
  [[nodiscard]] size_t buffered_bytes() const { return line_.size(); }

 private:
  enum class Stage : uint8_t { kGreeting, kHelo, kMail, kRcpt, kData, kBody, kQuit, kDone };

  void on_line(std::string_view line, SmtpClientStep& step);
  void on_reply(int code, std::string_view line, SmtpClientStep& step);
  void fail(std::string error, SmtpClientStep& step, bool send_quit);
  void sent(SmtpClientStep& step);
  [[nodiscard]] std::string command_name() const;

  SmtpClientOptions options_;
  Stage stage_ = Stage::kGreeting;
  SmtpClientOutcome outcome_ = SmtpClientOutcome::kNeedMore;
  size_t next_rcpt_ = 0;
  std::string line_;         // the partial line, without its LF
  int continued_code_ = -1;  // the code of an open multi-line reply
  size_t reply_lines_ = 0;   // lines of the current reply so far
};

}  // namespace vigil::alert
