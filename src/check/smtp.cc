// SMTP_CHECK's dialogue as a pure state object; see smtp.h.
#include "check/smtp.h"

#include <array>
#include <cstdio>
#include <utility>

namespace vigil::check {

namespace {

// The line for a log message: printable ASCII as is, other bytes as \xNN, at most 64 bytes.
std::string quoted(std::string_view line) {
  constexpr size_t kShown = 64;
  std::string out = "\"";
  for (size_t i = 0; i < line.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      std::array<char, 5> hex{};
      std::snprintf(hex.data(), hex.size(), "\\x%02x", c);
      out += hex.data();
    }
  }
  if (line.size() > kShown) out += "...";
  return out + "\"";
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int three_digits(std::string_view line) {
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

}  // namespace

std::string_view to_string(SmtpOutcome outcome) {
  switch (outcome) {
    case SmtpOutcome::kNeedMore:
      return "need more";
    case SmtpOutcome::kPassed:
      return "passed";
    case SmtpOutcome::kFailed:
      return "failed";
  }
  return "?";
}

SmtpDialogue::SmtpDialogue(SmtpDialogueOptions options) : options_(std::move(options)) {}

SmtpStep SmtpDialogue::feed(std::string_view bytes) {
  return feed(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

SmtpStep SmtpDialogue::feed(std::span<const uint8_t> bytes) {
  std::string send;
  for (uint8_t byte : bytes) {
    if (stage_ == Stage::kDone) break;
    if (byte == '\n') {
      on_line(line_, send);
      line_.clear();  // keeps its capacity for the next line
      continue;
    }
    if (byte == 0) {
      fail("NUL byte in a reply line");
      break;
    }
    // The QUIT reply's content does not matter: only its end is looked for (strict framing
    // checks its form too).
    if (stage_ == Stage::kQuitReply && !options_.strict_framing) continue;
    if (line_.size() + 1 >= kSmtpMaxLineBytes) {
      fail("reply line longer than " + std::to_string(kSmtpMaxLineBytes) +
           " bytes: " + quoted(line_));
      break;
    }
    if (line_.capacity() < kSmtpMaxLineBytes) line_.reserve(kSmtpMaxLineBytes);
    line_ += static_cast<char>(byte);
  }
  return step(std::move(send));
}

SmtpStep SmtpDialogue::closed() {
  switch (stage_) {
    case Stage::kGreeting:
      fail("connection closed before the greeting");
      break;
    case Stage::kHeloReply:
      fail("connection closed before the HELO reply");
      break;
    case Stage::kQuitReply:
      fail("connection closed after QUIT without a reply");
      break;
    case Stage::kDone:
      break;
  }
  return step({});
}

void SmtpDialogue::on_line(std::string_view line, std::string& send) {
  if (options_.strict_framing) {
    // RFC 5321 §4.2: Reply-code [ SP textstring ] CRLF ends a reply, Reply-code "-" [ textstring ]
    // CRLF continues it; §2.3.8: lines end with CRLF.
    const bool crlf = !line.empty() && line.back() == '\r';
    if (crlf) line.remove_suffix(1);
    const bool well_formed = crlf && line.size() >= 3 && is_digit(line[0]) && is_digit(line[1]) &&
                             is_digit(line[2]) &&
                             (line.size() == 3 || line[3] == ' ' || line[3] == '-');
    if (!well_formed)
      return fail("bad reply line: " + quoted(crlf ? line : std::string(line) + "\n"));
    const int code = three_digits(line);
    if (continued_code_ >= 0 && code != continued_code_) {
      return fail("multi-line reply mixes " + std::to_string(continued_code_) + " and " +
                  std::to_string(code) + ": " + quoted(line));
    }
    if (line.size() > 3 && line[3] == '-') {
      continued_code_ = code;
      return;
    }
    continued_code_ = -1;
    if (stage_ == Stage::kQuitReply) {
      stage_ = Stage::kDone;
      outcome_ = SmtpOutcome::kPassed;
      return;
    }
    return judge_reply(code, line, send);
  }
  if (stage_ == Stage::kQuitReply) {
    stage_ = Stage::kDone;
    outcome_ = SmtpOutcome::kPassed;
    return;
  }
  if (!options_.rfc5321_replies) {
    // keepalived: strtoul over the line must consume exactly three bytes, followed by the end
    // or a space; only "220"/"250" can pass, so a sign or leading blank never does.
    const bool has_status = line.size() >= 3 && is_digit(line[0]) && is_digit(line[1]) &&
                            is_digit(line[2]) && (line.size() == 3 || line[3] == ' ');
    judge_reply(has_status ? three_digits(line) : -1, line, send);
    return;
  }
  // RFC 5321 §4.2: "ddd" [SP text] ends a reply, "ddd-text" continues it; CRLF ends a line.
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const bool well_formed = line.size() >= 3 && is_digit(line[0]) && is_digit(line[1]) &&
                           is_digit(line[2]) &&
                           (line.size() == 3 || line[3] == ' ' || line[3] == '-');
  if (!well_formed) {
    judge_reply(-1, line, send);
    return;
  }
  const int code = three_digits(line);
  if (continued_code_ >= 0 && code != continued_code_) {
    fail("multi-line reply mixes " + std::to_string(continued_code_) + " and " +
         std::to_string(code) + ": " + quoted(line));
    return;
  }
  if (line.size() > 3 && line[3] == '-') {
    continued_code_ = code;
    return;
  }
  continued_code_ = -1;
  judge_reply(code, line, send);
}

void SmtpDialogue::judge_reply(int code, std::string_view line, std::string& send) {
  if (stage_ == Stage::kGreeting) {
    if (code != 220) return fail("greeting is not 220: " + quoted(line));
    send += "HELO " + options_.helo_name + "\r\n";
    stage_ = Stage::kHeloReply;
  } else if (stage_ == Stage::kHeloReply) {
    if (code != 250) return fail("HELO reply is not 250: " + quoted(line));
    send += "QUIT\r\n";
    stage_ = Stage::kQuitReply;
  }
}

void SmtpDialogue::fail(std::string reason) {
  stage_ = Stage::kDone;
  outcome_ = SmtpOutcome::kFailed;
  reason_ = std::move(reason);
  line_.clear();
  line_.shrink_to_fit();
}

SmtpStep SmtpDialogue::step(std::string send) const {
  return {std::move(send), outcome_, reason_};
}

}  // namespace vigil::check
