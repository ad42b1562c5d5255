// What one probe is asked to do, and the seam between the checker engine (which decides when)
// and the I/O layer (src/check_io: sockets, TLS, scripts on the check thread's loop). Plain
// values, so a request or a result can later cross into a checker child process.
//
// A Prober runs one probe per start() and reports it exactly once through the callback, on the
// loop thread and never inline, unless cancel() came first (then never). It never decides up or
// down over several probes: that is the checker state machine's job (checker.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "check/checker.h"
#include "check/http.h"
#include "check/spec.h"
#include "common/run_as.h"
#include "common/time.h"
#include "config/model_lvs.h"

namespace vigil::check {

// The client side of SSL_GET: keepalived's global SSL block plus vigil's opt-in TLS settings.
// The I/O layer builds one client context per distinct value and shares it.
struct TlsClientSettings {
  std::string ca;           // file of trusted CAs (loaded; used only with verify)
  std::string certificate;  // client certificate (PEM)
  std::string key;          // its key (PEM); `password` decrypts it
  std::string password;
  // vigil's opt-in: verify the server's chain against `ca` (the system store when empty) and its
  // name against the probe's verify_name. keepalived never verifies.
  bool verify = false;
  // vigil's opt-in: resume TLS sessions between probes of the same target.
  bool resume_sessions = false;
  std::vector<std::string> alpn;  // vigil's opt-in ALPN protocol list; empty: none offered
  bool operator==(const TlsClientSettings&) const = default;
};

struct TcpProbe {
  ConnectionIdentity connection;
};

// One url of an HTTP_GET / SSL_GET: connect, (TLS handshake,) send the request, read to EOF,
// judge with `expect`.
struct HttpProbe {
  ConnectionIdentity connection;
  std::string request;  // http_request() bytes
  std::shared_ptr<const HttpUrlCheck> expect;
  // SSL_GET only.
  std::optional<TlsClientSettings> tls;
  std::string sni;          // empty: no SNI (enable_sni off or no name)
  std::string verify_name;  // with tls->verify: the host name the certificate must carry
  // vigil's opt-in total deadline for the whole probe; 0: keepalived's per-step
  // connect_timeout only (connect, and then each read separately).
  Duration total_deadline{0};
  // vigil's opt-in RFC 9112 framing (global_defs checker_strict_framing, check/http.h): the
  // response ends at its Content-Length or last chunk, not at EOF; false: keepalived's reading.
  bool strict_framing = false;
};

struct MiscProbe {
  std::string name;  // for log lines: "[MISC /usr/local/bin/check.sh]"
  std::vector<std::string> argv;
  Duration timeout{0};  // misc_timeout, else the virtual server's delay_loop
  std::optional<RunAs> run_as;
  bool dynamic = false;  // misc_dynamic: exit 2..255 passes too
};

// DNS_CHECK: the query (check/dns.h, a random ID per probe) on a connected UDP socket; a reply
// the judge accepts within connect_timeout passes.
struct DnsProbe {
  ConnectionIdentity connection;
  config::DnsType type = config::DnsType::kSoa;
  std::string name = ".";
};

// UDP_CHECK: `payload` on a connected UDP socket, then one datagram or an ICMP error within
// connect_timeout (check/udp.h judges it with the fields below).
struct UdpProbe {
  ConnectionIdentity connection;
  std::vector<uint8_t> payload;  // never empty: keepalived's default when none is configured
  bool require_reply = false;
  std::vector<uint8_t> reply;       // expected prefix; empty: any datagram passes
  std::vector<uint8_t> reply_mask;  // a 0 bit ignores that bit of `reply`
  uint16_t min_reply_length = 0;
  uint16_t max_reply_length = 255;
};

// SMTP_CHECK: connect, then check/smtp.h's dialogue (greeting 220, "HELO helo_name", 250,
// "QUIT", any line), each read within connect_timeout. One connection per checker: the engine
// makes each `host {}` block a checker of its own, as keepalived 2.2.7 does.
struct SmtpProbe {
  ConnectionIdentity connection;
  std::string helo_name = "smtpchecker.keepalived.org";
  // vigil's opt-in RFC 5321 reply framing (global_defs checker_strict_framing, check/smtp.h);
  // false: keepalived's reading.
  bool strict_framing = false;
};

// PING_CHECK: one ICMP / ICMPv6 echo request to connect_ip; the matching echo reply within
// connect_timeout passes. connect_port and bind_port have no meaning here.
struct PingProbe {
  ConnectionIdentity connection;
};

using ProbeRequest =
    std::variant<TcpProbe, HttpProbe, MiscProbe, DnsProbe, UdpProbe, SmtpProbe, PingProbe>;

// ProbeSucceeded, ProbeFailed or ProbeNotRun (checker.h), fed to Checker::handle as is.
using ProbeResult = std::variant<ProbeSucceeded, ProbeFailed, ProbeNotRun>;
using ProbeDone = std::function<void(ProbeResult)>;

using ProbeId = uint64_t;

class Prober {
 public:
  virtual ~Prober() = default;
  // Starts `request`; `done` runs later on the loop thread exactly once, unless cancel(id) is
  // called first. Never calls `done` inline.
  virtual ProbeId start(const ProbeRequest& request, ProbeDone done) = 0;
  // Abandons a probe: its sockets close (a script's process group is killed) and `done` never
  // runs. Unknown or finished ids are ignored.
  virtual void cancel(ProbeId id) = 0;
};

}  // namespace vigil::check
