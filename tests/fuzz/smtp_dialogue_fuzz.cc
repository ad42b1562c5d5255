// libFuzzer target: check::SmtpDialogue on arbitrary server bytes. The first input byte picks the
// options (bit 0: rfc5321_replies, bit 2: strict_framing) and whether the server closes at the
// end (bit 1), the second
// the chunk size; the rest is what the server sends. Each input is fed twice, whole and in
// chunks: the bytes sent and the verdict must agree, the commands must be HELO then QUIT in that
// order, a reason must be given exactly on failure, and the dialogue's memory must stay bounded.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "check/smtp.h"

namespace {

using vigil::check::SmtpDialogue;
using vigil::check::SmtpDialogueOptions;
using vigil::check::SmtpOutcome;
using vigil::check::SmtpStep;

struct Run {
  std::string sent;
  SmtpStep last;
};

Run run(std::string_view server, size_t chunk, bool rfc, bool strict, bool close) {
  SmtpDialogue dialogue(
      SmtpDialogueOptions{.helo_name = "fuzz", .rfc5321_replies = rfc, .strict_framing = strict});
  Run out;
  for (size_t at = 0; at < server.size(); at += chunk) {
    out.last = dialogue.feed(server.substr(at, chunk));
    out.sent += out.last.send;
    if (dialogue.retained_bytes() > vigil::check::kSmtpMaxLineBytes) std::abort();
  }
  if (close) {
    out.last = dialogue.closed();
    if (!out.last.send.empty()) std::abort();
  } else if (server.empty()) {
    out.last = dialogue.feed(std::string_view());
  }
  if (out.last.outcome != dialogue.outcome() || out.last.reason != dialogue.reason()) {
    std::abort();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool rfc = (data[0] & 1) != 0;
  const bool close = (data[0] & 2) != 0;
  const bool strict = (data[0] & 4) != 0;
  const size_t chunk = 1 + data[1] % 61;
  const std::string_view server(reinterpret_cast<const char*>(data + 2), size - 2);

  const Run whole = run(server, std::max<size_t>(server.size(), 1), rfc, strict, close);
  const Run pieces = run(server, chunk, rfc, strict, close);
  if (whole.sent != pieces.sent || whole.last.outcome != pieces.last.outcome ||
      whole.last.reason != pieces.last.reason) {
    std::abort();
  }
  const std::string_view commands = "HELO fuzz\r\nQUIT\r\n";
  if (!commands.starts_with(whole.sent)) std::abort();
  if (!(whole.sent.empty() || whole.sent.size() == 11 || whole.sent.size() == commands.size())) {
    std::abort();
  }
  if (whole.last.outcome == SmtpOutcome::kPassed && whole.sent != commands) std::abort();
  if ((whole.last.outcome == SmtpOutcome::kFailed) == whole.last.reason.empty()) std::abort();
  if (close && whole.last.outcome == SmtpOutcome::kNeedMore) std::abort();
  return 0;
}
