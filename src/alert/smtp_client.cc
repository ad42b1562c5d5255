#include "alert/smtp_client.h"

#include <fmt/format.h>

#include <utility>

#include "alert/message.h"

namespace vigil::alert {
namespace {

bool digit(char c, char max) {
  return c >= '0' && c <= max;
}

// RFC 5321 §4.2: "2yz".."5yz"; vigil takes the second digit 0..5 and the third 0..9.
int reply_code(std::string_view line) {
  if (line.size() < 3) return -1;
  if (line[0] < '2' || line[0] > '5' || !digit(line[1], '5') || !digit(line[2], '9')) return -1;
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return -1;
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

std::string quoted(std::string_view line) {
  return "\"" + one_line(line) + "\"";
}

}  // namespace

std::string_view to_string(SmtpClientOutcome outcome) {
  switch (outcome) {
    case SmtpClientOutcome::kNeedMore:
      return "need-more";
    case SmtpClientOutcome::kSent:
      return "sent";
    case SmtpClientOutcome::kFailed:
      return "failed";
  }
  return "?";
}

SmtpClientDialogue::SmtpClientDialogue(SmtpClientOptions options) : options_(std::move(options)) {}

std::string_view SmtpClientDialogue::waiting_for() const {
  switch (stage_) {
    case Stage::kGreeting:
      return "greeting";
    case Stage::kHelo:
      return "HELO reply";
    case Stage::kMail:
      return "MAIL FROM reply";
    case Stage::kRcpt:
      return "RCPT TO reply";
    case Stage::kData:
      return "DATA reply";
    case Stage::kBody:
      return "reply to the message";
    case Stage::kQuit:
      return "QUIT reply";
    case Stage::kDone:
      return "done";
  }
  return "?";
}

std::string SmtpClientDialogue::command_name() const {
  switch (stage_) {
    case Stage::kGreeting:
      return "greeting";
    case Stage::kHelo:
      return "HELO";
    case Stage::kMail:
      return "MAIL FROM:<" + one_line(options_.from) + ">";
    case Stage::kRcpt:
      return "RCPT TO:<" + one_line(options_.to[next_rcpt_ - 1]) + ">";
    case Stage::kData:
      return "DATA";
    case Stage::kBody:
      return "the message";
    case Stage::kQuit:
      return "QUIT";
    case Stage::kDone:
      break;
  }
  return "?";
}

SmtpClientStep SmtpClientDialogue::feed(std::span<const uint8_t> bytes) {
  return feed(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

SmtpClientStep SmtpClientDialogue::feed(std::string_view bytes) {
  SmtpClientStep step;
  for (const char c : bytes) {
    if (outcome_ != SmtpClientOutcome::kNeedMore) break;
    if (c == '\n') {
      std::string line = std::move(line_);
      line_.clear();
      if (!line.empty() && line.back() == '\r') line.pop_back();
      on_line(line, step);
      continue;
    }
    if (c == '\0') {
      fail(fmt::format("SMTP server {}: bad {}: a NUL byte in a reply line", options_.server,
                       waiting_for()),
           step, true);
      break;
    }
    // The line with its LF must fit in kMaxReplyLineBytes.
    if (line_.size() + 1 >= kMaxReplyLineBytes) {
      fail(fmt::format("SMTP server {}: bad {}: a reply line longer than {} bytes", options_.server,
                       waiting_for(), kMaxReplyLineBytes),
           step, true);
      break;
    }
    line_ += c;
  }
  if (outcome_ != SmtpClientOutcome::kNeedMore) {
    line_.clear();
    line_.shrink_to_fit();
  }
  step.outcome = outcome_;
  return step;
}

SmtpClientStep SmtpClientDialogue::closed() {
  SmtpClientStep step;
  if (outcome_ == SmtpClientOutcome::kNeedMore) {
    if (stage_ == Stage::kQuit) {
      sent(step);  // the message was accepted; the QUIT reply does not matter
    } else {
      fail(fmt::format("SMTP server {} closed the connection while vigil waited for the {}",
                       options_.server, waiting_for()),
           step, false);
    }
  }
  step.outcome = outcome_;
  return step;
}

void SmtpClientDialogue::on_line(std::string_view line, SmtpClientStep& step) {
  const int code = reply_code(line);
  if (code < 0) {
    fail(fmt::format("SMTP server {}: bad {}: not an SMTP reply: {}", options_.server,
                     waiting_for(), quoted(line)),
         step, true);
    return;
  }
  if (continued_code_ >= 0 && code != continued_code_) {
    fail(fmt::format("SMTP server {}: bad {}: a multi-line reply changes its code from {} to {}",
                     options_.server, waiting_for(), continued_code_, code),
         step, true);
    return;
  }
  if (++reply_lines_ > kMaxReplyLines) {
    fail(fmt::format("SMTP server {}: bad {}: more than {} lines in one reply", options_.server,
                     waiting_for(), kMaxReplyLines),
         step, true);
    return;
  }
  if (line.size() > 3 && line[3] == '-') {
    continued_code_ = code;
    return;
  }
  continued_code_ = -1;
  reply_lines_ = 0;
  on_reply(code, line, step);
}

void SmtpClientDialogue::on_reply(int code, std::string_view line, SmtpClientStep& step) {
  if (stage_ == Stage::kQuit) {
    sent(step);  // 221 is expected; after an accepted message any reply will do
    return;
  }
  static constexpr int kExpected[] = {220, 250, 250, 250, 354, 250};
  const int expected = kExpected[static_cast<size_t>(stage_)];
  if (code != expected) {
    fail(stage_ == Stage::kGreeting
             ? fmt::format("SMTP server {}: greeting is not 220: {}", options_.server, quoted(line))
             : fmt::format("SMTP server {}: {} refused ({} expected): {}", options_.server,
                           command_name(), expected, quoted(line)),
         step, true);
    return;
  }
  switch (stage_) {
    case Stage::kGreeting:
      step.send += "HELO " + one_line(options_.helo_name) + "\r\n";
      stage_ = Stage::kHelo;
      break;
    case Stage::kHelo:
      step.send += "MAIL FROM:<" + one_line(options_.from) + ">\r\n";
      stage_ = Stage::kMail;
      break;
    case Stage::kMail:
    case Stage::kRcpt:
      // rfc821 §3.1: one RCPT per recipient, then DATA.
      if (next_rcpt_ < options_.to.size()) {
        step.send += "RCPT TO:<" + one_line(options_.to[next_rcpt_++]) + ">\r\n";
        stage_ = Stage::kRcpt;
      } else {
        step.send += "DATA\r\n";
        stage_ = Stage::kData;
      }
      break;
    case Stage::kData:
      step.send += options_.data;
      stage_ = Stage::kBody;
      break;
    case Stage::kBody:
      step.send += "QUIT\r\n";
      stage_ = Stage::kQuit;
      break;
    case Stage::kQuit:
    case Stage::kDone:
      break;
  }
}

void SmtpClientDialogue::fail(std::string error, SmtpClientStep& step, bool send_quit) {
  if (send_quit && stage_ != Stage::kQuit) step.send += "QUIT\r\n";
  stage_ = Stage::kDone;
  outcome_ = SmtpClientOutcome::kFailed;
  step.error = std::move(error);
}

void SmtpClientDialogue::sent(SmtpClientStep& step) {
  stage_ = Stage::kDone;
  outcome_ = SmtpClientOutcome::kSent;
  (void)step;
}

}  // namespace vigil::alert
