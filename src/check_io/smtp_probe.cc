// SMTP_CHECK: connect (the connector's set-up, as TCP_CHECK), then hold check::SmtpDialogue's
// conversation: every chunk read goes to the dialogue, whatever it asks to send is written, and
// its verdict ends the probe. As keepalived 2.2.7's check_smtp.c:
// - connect_timeout bounds the connect, then each write and each read on its own (a server that
//   answers each line just in time can take longer than one connect_timeout in all);
// - a read timeout fails ("read timed out after 5s"), and so does a close or a read error before
//   the QUIT reply;
// - the dialogue's own failures (a greeting that is not 220, a HELO reply that is not 250, an
//   over-long or NUL-bearing line) are bad replies with the dialogue's reason.
// Memory: one fixed read buffer per probe and the dialogue's bounded line.
#include <array>
#include <boost/asio/write.hpp>
#include <span>
#include <string>

#include "check/smtp.h"
#include "check_io/connector.h"
#include "check_io/probe_run.h"

namespace vigil::check_io {

namespace asio = boost::asio;
using check::ProbeFailed;
using check::ProbeSucceeded;
using check::Reason;

namespace {

// keepalived's SMTP_BUFF_MAX: it reads at most this much at a time.
constexpr size_t kReadChunk = 512;

class SmtpRun final : public SocketRun {
 public:
  SmtpRun(AsioProber::Core& core, check::ProbeId id, const check::SmtpProbe& probe)
      : SocketRun(
            core, id,
            "SMTP " + endpoint_text(probe.connection.connect_ip, probe.connection.connect_port),
            probe.connection),
        dialogue_(check::SmtpDialogueOptions{.helo_name = probe.helo_name,
                                             .strict_framing = probe.strict_framing}) {}

 private:
  std::shared_ptr<SmtpRun> self() { return std::static_pointer_cast<SmtpRun>(shared_from_this()); }

  // smtp_engine_thread's SMTP_START: the greeting is the first read.
  void on_connected() override { read(); }

  void read() {
    arm_step(Await::kReadable, "read");
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = self()](const boost::system::error_code& error, size_t bytes) {
                              self->on_read(error, bytes);
                            });
  }

  void on_read(const boost::system::error_code& error, size_t bytes) {
    if (over()) return;
    if (bytes > 0)
      return on_step(dialogue_.feed(std::span<const uint8_t>(buffer_.data(), bytes)), false);
    if (error && error != asio::error::eof)
      return finish(connection_failure(error.value(), "read: "));
    // The server closed: the dialogue says whether that was after the QUIT reply.
    on_step(dialogue_.closed(), true);
  }

  void on_step(check::SmtpStep step, bool server_closed) {
    switch (step.outcome) {
      case check::SmtpOutcome::kPassed:
        return finish(ProbeSucceeded{});
      case check::SmtpOutcome::kFailed:
        // A close is the connection's failure; anything the server said is a bad reply.
        return finish(ProbeFailed{
            .reason = server_closed ? Reason::kConnectionReset : Reason::kBadReply,
            .detail = std::move(step.reason),
        });
      case check::SmtpOutcome::kNeedMore:
        break;
    }
    if (step.send.empty()) return read();
    pending_ = std::move(step.send);
    arm_step(Await::kWritable, "write");
    asio::async_write(socket_, asio::buffer(pending_),
                      [self = self()](const boost::system::error_code& error, size_t) {
                        self->on_written(error);
                      });
  }

  void on_written(const boost::system::error_code& error) {
    if (over()) return;
    if (error) return finish(connection_failure(error.value(), "write: "));
    read();
  }

  check::SmtpDialogue dialogue_;
  std::string pending_;  // the command being written
  std::array<uint8_t, kReadChunk> buffer_{};
};

}  // namespace

std::shared_ptr<ProbeRun> make_smtp_run(AsioProber::Core& core, check::ProbeId id,
                                        const check::SmtpProbe& probe) {
  return std::make_shared<SmtpRun>(core, id, probe);
}

}  // namespace vigil::check_io
