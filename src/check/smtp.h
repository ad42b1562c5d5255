// SMTP_CHECK's dialogue without I/O, as keepalived 2.2.7 check_smtp.c holds it: read the greeting
// (220), send "HELO <helo_name>\r\n", read the reply (250), send "QUIT\r\n", read any line. The I/O
// layer connects, then calls feed() with each chunk it reads and sends what each step asks, and
// calls closed() when the server closes the connection (or the read fails). A read timeout is the
// I/O layer's failure. One SmtpDialogue per connection (per SMTP_CHECK `host`).
//
// keepalived's reply rules (the default):
// - A line ends at '\n'; the '\r' before it stays part of the line.
// - The status is the line's first three bytes as a number, followed by a space or the line's
//   end: "220 mx ready" and "220" (a bare LF) pass, "220\r" does not, and a multi-line greeting
//   "220-mx\r\n220 ready" fails on its first line.
// - The QUIT reply may be any line, even an empty one or an error; a close instead of a line
//   fails.
// With rfc5321_replies (vigil's opt-in, off by default) replies are read as RFC 5321 §4.2 writes
// them: a trailing CR is dropped, "ddd-text" lines continue a reply (all with the same code) until
// a "ddd text" or bare "ddd" line ends it, and only the final line is judged.
//
// With strict_framing (vigil's opt-in, global_defs `checker_strict_framing`; off by default) every
// reply, the QUIT reply too, is read as RFC 5321 §4.2 frames it:
// - each line must be "3DIGIT [SP text]" or "3DIGIT - [text]" ended by CRLF; any other line (no
//   status, a bare LF, "220\r" junk) fails at once: `bad reply line: "hello"`;
// - a multi-line reply ("250-first\r\n250 last\r\n") is read to its last line before the
//   dialogue answers or judges it, and every line's code must be the first line's ("multi-line
//   reply mixes 220 and 250: ...");
// - the QUIT reply must be such a reply too (any code), at most kSmtpMaxLineBytes per line.
// Compared with the default (keepalived's) reading: there a multi-line greeting or HELO reply
// fails on its first line ("220-mx" is not "220"), "220\r\n" fails while "220\n" passes, and the
// QUIT reply may be any line, even an empty one or a bare LF. strict_framing reads what
// rfc5321_replies reads, and also fails malformed lines by themselves, requires CRLF and frames the
// QUIT reply.
//
// Where vigil differs from keepalived, always:
// - A NUL byte in a reply line fails the check at once (keepalived stops looking for the line's
//   end at the NUL and waits for its read timeout or 511 more bytes).
// - A greeting or HELO reply line longer than 511 bytes with its '\n' (keepalived's buffer) fails
//   the check (keepalived empties its buffer and judges whatever follows, which is never a
//   status line in practice). The QUIT reply may be of any length, as in keepalived.
// - Bytes that arrive after a reply line but before vigil sent its next command are kept as the
//   start of the next reply (keepalived drops them when they came in the same read), so the
//   verdict does not depend on how the server's bytes were split into reads.
//
// Memory is bounded: at most kSmtpMaxLineBytes of one line are kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vigil::check {

// keepalived's SMTP_BUFF_MAX - 1: a reply line, with its '\n', must fit in this many bytes.
inline constexpr size_t kSmtpMaxLineBytes = 511;

struct SmtpDialogueOptions {
  std::string helo_name = "smtpchecker.keepalived.org";
  bool rfc5321_replies = false;  // vigil's opt-in: multi-line replies, CRLF line ends
  bool strict_framing = false;   // vigil's opt-in: rfc5321_replies, and malformed lines fail
};

enum class SmtpOutcome : uint8_t {
  kNeedMore,  // waiting for the server: read on
  kPassed,
  kFailed,
};
std::string_view to_string(SmtpOutcome outcome);

struct SmtpStep {
  std::string send;  // bytes to write to the server now, in order (may be empty)
  SmtpOutcome outcome = SmtpOutcome::kNeedMore;
  std::string reason;  // why it failed: `greeting is not 220: "421 busy"`; empty otherwise
};

class SmtpDialogue {
 public:
  explicit SmtpDialogue(SmtpDialogueOptions options);

  // The next bytes from the server. Once the outcome is known, further bytes are ignored.
  SmtpStep feed(std::span<const uint8_t> bytes);
  SmtpStep feed(std::string_view bytes);

  // The server closed the connection (or the read failed): a failure unless the QUIT reply came.
  SmtpStep closed();

  [[nodiscard]] SmtpOutcome outcome() const { return outcome_; }
  [[nodiscard]] const std::string& reason() const { return reason_; }

  // Bytes held now (the partial line's capacity): at most kSmtpMaxLineBytes (allocator rounding
  // aside).
  [[nodiscard]] size_t retained_bytes() const { return line_.capacity(); }

 private:
  enum class Stage : uint8_t { kGreeting, kHeloReply, kQuitReply, kDone };

  void on_line(std::string_view line, std::string& send);
  void judge_reply(int code, std::string_view line, std::string& send);
  void fail(std::string reason);
  SmtpStep step(std::string send) const;

  SmtpDialogueOptions options_;
  Stage stage_ = Stage::kGreeting;
  SmtpOutcome outcome_ = SmtpOutcome::kNeedMore;
  std::string reason_;
  std::string line_;         // the partial line, without its '\n'
  int continued_code_ = -1;  // rfc5321_replies / strict_framing: an open multi-line reply's code
};

}  // namespace vigil::check
