// AsioProber: the probe I/O of vigil's health checkers, check::Prober on one event loop.
// TCP_CHECK connects; HTTP_GET / SSL_GET connect, (handshake with OpenSSL,) send the request and
// read to EOF through check::HttpResponseReader; MISC_CHECK runs its script through an injected
// event::ScriptRunner; DNS_CHECK and UDP_CHECK send one datagram on a connected UDP socket and
// wait connect_timeout for the reply (or an ICMP error); SMTP_CHECK connects and holds
// check::SmtpDialogue's conversation; PING_CHECK sends one ICMP / ICMPv6 echo request and waits
// connect_timeout for its reply (or an ICMP error). keepalived 2.2.7's semantics
// (shared/reference/checkers.md §1.2), with vigil's TLS opt-ins (verification, session resumption,
// ALPN) and the opt-in total deadline.
//
// Threading: everything (start, cancel, callbacks, counters) on the loop's thread. Timeouts run
// on the injected Scheduler (the loop's in production, a FakeScheduler in tests); the sockets on
// the loop's io_context. Lifetimes: the loop, the scheduler and the script runner outlive the
// prober; destroying the prober cancels every probe (no callback runs afterwards).
//
// Timeouts (keepalived's, check_http.c / check_ssl.c): connect_timeout bounds the connect (and,
// for SSL_GET, the TLS handshake with what is left of it), then the request write, then each
// read separately for HTTP_GET (a slow drip can take far longer, #1822); SSL_GET's reads share
// one connect_timeout from the first response bytes. HttpProbe::total_deadline, when set, also
// bounds the whole probe. SMTP_CHECK (check_smtp.c): connect_timeout bounds the connect, each
// write and each read separately.
#pragma once

#include <cstdint>
#include <memory>

#include "check/probe.h"

namespace vigil::event {
class EventLoop;
class ScriptRunner;
}  // namespace vigil::event

namespace vigil::check_io {

struct ProberCounters {
  uint64_t started = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t not_run = 0;
  uint64_t cancelled = 0;
  uint64_t tls_handshakes = 0;   // completed
  uint64_t tls_resumed = 0;      // of those, resumed sessions
  uint64_t response_bytes = 0;   // HTTP response bytes read (after TLS)
  uint64_t ignored_replies = 0;  // DNS datagrams that were not the reply (short, other ID, QR=0)
  uint64_t ignored_icmp = 0;     // ICMP messages that were not about our echo request
  uint64_t raw_icmp_probes = 0;  // PING_CHECK probes on a raw socket (datagram one refused)
};

class AsioProber final : public check::Prober {
 public:
  // `scheduler` times the steps (normally loop.scheduler()); `scripts` runs MISC_CHECK.
  AsioProber(event::EventLoop& loop, Scheduler& scheduler, event::ScriptRunner& scripts);
  AsioProber(const AsioProber&) = delete;
  AsioProber& operator=(const AsioProber&) = delete;
  ~AsioProber() override;

  check::ProbeId start(const check::ProbeRequest& request, check::ProbeDone done) override;
  // Sockets close at once. A MISC_CHECK script is not killed: event::ScriptRunner cannot end
  // one script, so it runs on until it exits or its timeout kills it; its result is dropped.
  void cancel(check::ProbeId id) override;

  [[nodiscard]] const ProberCounters& counters() const;
  // Probes started and not yet reported or cancelled.
  [[nodiscard]] size_t running() const;
  // Client TLS contexts held (one per distinct TlsClientSettings in use).
  [[nodiscard]] size_t tls_contexts() const;

  struct Core;

 private:
  std::unique_ptr<Core> core_;
};

}  // namespace vigil::check_io
