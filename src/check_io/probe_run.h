// Inside AsioProber: the state it shares with its running probes (Core) and the probes themselves
// (ProbeRun, one object per start(); SocketRun connects for TCP_CHECK, HTTP_GET / SSL_GET and
// SMTP_CHECK).
// Internal to src/check_io.
//
// Lifetimes: the Core's table holds each running probe; pending Asio handlers hold it too (a
// shared_ptr), so a probe cancelled with a read in flight lives until that handler has run with
// operation_aborted. Once a probe is over (finished or aborted) it touches nothing outside itself,
// which is what lets the prober go away while such handlers are still queued.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "check/probe.h"
#include "check_io/prober.h"
#include "check_io/tls.h"
#include "common/time.h"

namespace vigil::event {
class ScriptRunner;
}

namespace vigil::check_io {

class ProbeRun;

struct AsioProber::Core {
  Core(boost::asio::io_context& io_context, Scheduler& timer_scheduler,
       event::ScriptRunner& script_runner)
      : io(io_context), scheduler(timer_scheduler), scripts(script_runner) {}

  // The end of probe `id`: counted, logged, and handed to its callback (later, when it ended
  // inside start()). Dropped if the probe was cancelled meanwhile.
  void complete(check::ProbeId id, const std::string& label, check::ProbeResult result);
  void deliver(check::ProbeId id, check::ProbeResult result);

  boost::asio::io_context& io;
  Scheduler& scheduler;
  event::ScriptRunner& scripts;
  TlsContextCache tls;
  ProberCounters counters;

  struct Entry {
    std::shared_ptr<ProbeRun> run;
    check::ProbeDone done;
  };
  std::unordered_map<check::ProbeId, Entry> running;
  check::ProbeId last_id = 0;
  uint16_t icmp_sequence = 0;    // PING_CHECK: the last echo request's sequence number
  bool raw_icmp_logged = false;  // the fallback to raw ICMP sockets is logged once
  bool starting = false;         // inside start(): a result is posted, never handed over inline
  // Expires with the prober, for results posted to the io_context.
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

class ProbeRun : public std::enable_shared_from_this<ProbeRun> {
 public:
  ProbeRun(AsioProber::Core& core, check::ProbeId id, std::string label)
      : core_(core), id_(id), label_(std::move(label)) {}
  ProbeRun(const ProbeRun&) = delete;
  ProbeRun& operator=(const ProbeRun&) = delete;
  virtual ~ProbeRun() = default;

  virtual void begin() = 0;
  // Cancel: closes what the probe holds; it never reports.
  void abort() {
    if (over_) return;
    over_ = true;
    close();
  }
  [[nodiscard]] const std::string& label() const { return label_; }

 protected:
  // Closes sockets, cancels timers. Called once, when the probe is over.
  virtual void close() = 0;
  // Reports the result (once): closes, then hands it to the Core.
  void finish(check::ProbeResult result);
  [[nodiscard]] bool over() const { return over_; }

  AsioProber::Core& core_;

 private:
  check::ProbeId id_;
  std::string label_;
  bool over_ = false;
};

// What a step waits for on its socket: what the step timer looks at before it fails the step.
enum class Await {
  kConnect,   // writable with SO_ERROR 0
  kReadable,  // a read, or a TLS handshake waiting for the server's flight
  kWritable,  // a write
};

// A probe over one TCP connection: begin() connects within connect_timeout, then on_connected()
// goes on (or finishes). The step timer bounds one step at a time.
//
// A loop that has fallen behind (thousands of checkers, a stalled VM) may run a step's timer
// before the handler of the socket event that ended the step in time: the timer then looks at the
// socket itself (poll with a zero timeout, and SO_ERROR for a connect) before it fails the step.
// A connect that completed goes on at once; a socket that is readable (writable) for a read
// (write, handshake) keeps the step alive for another connect_timeout, for its handler to run.
// A socket that shows nothing fails the step as before.
class SocketRun : public ProbeRun {
 protected:
  SocketRun(AsioProber::Core& core, check::ProbeId id, std::string label,
            check::ConnectionIdentity connection)
      : ProbeRun(core, id, std::move(label)),
        connection_(std::move(connection)),
        socket_(core.io),
        step_timer_(core.scheduler) {}

  void begin() override;
  virtual void on_connected() = 0;
  void close() override;

  // The current step, waiting for `await`, must end by `deadline`, or the probe fails as
  // "<what> timed out after <connect_timeout>" (unless the socket shows the step ended: see
  // above). A connect_timeout of 0 sets no limit.
  void arm_step_until(TimePoint deadline, Await await, std::string what);
  void arm_step(Await await, std::string what) {
    arm_step_until(core_.scheduler.now() + timeout(), await, std::move(what));
  }
  [[nodiscard]] Duration timeout() const { return connection_.connect_timeout; }
  [[nodiscard]] TimePoint connect_deadline() const { return connect_deadline_; }

  check::ConnectionIdentity connection_;
  boost::asio::ip::tcp::socket socket_;

 private:
  void wait_connected();
  void on_writable(const boost::system::error_code& error);
  void connected();
  // The step timer ran out: fail the step, unless the socket shows it ended in time.
  void on_step_timeout(Await await, const std::string& what);

  Timer step_timer_;
  TimePoint connect_deadline_{};
  bool connected_ = false;  // on_connected() ran (the connect's wait may still be queued)
};

// The probes, made by AsioProber::start.
std::shared_ptr<ProbeRun> make_tcp_run(AsioProber::Core& core, check::ProbeId id,
                                       const check::TcpProbe& probe);
std::shared_ptr<ProbeRun> make_http_run(AsioProber::Core& core, check::ProbeId id,
                                        const check::HttpProbe& probe);
std::shared_ptr<ProbeRun> make_misc_run(AsioProber::Core& core, check::ProbeId id,
                                        const check::MiscProbe& probe);
std::shared_ptr<ProbeRun> make_dns_run(AsioProber::Core& core, check::ProbeId id,
                                       const check::DnsProbe& probe);
std::shared_ptr<ProbeRun> make_udp_run(AsioProber::Core& core, check::ProbeId id,
                                       const check::UdpProbe& probe);
std::shared_ptr<ProbeRun> make_smtp_run(AsioProber::Core& core, check::ProbeId id,
                                        const check::SmtpProbe& probe);
std::shared_ptr<ProbeRun> make_ping_run(AsioProber::Core& core, check::ProbeId id,
                                        const check::PingProbe& probe);

}  // namespace vigil::check_io
