// HTTP_GET / SSL_GET, one url: connect, (TLS handshake,) send the request bytes, read to EOF
// through check::HttpResponseReader, as keepalived 2.2.7 does (check_http.c, check_ssl.c).
//
// What ends a probe, and how:
// - connect: refused / unreachable / reset, or connect_timeout;
// - TLS handshake: within what is left of the connect's connect_timeout (keepalived registers
//   the handshake's reads and writes with the connect timer's remainder); a certificate that
//   fails vigil's opt-in verification is a bad reply;
// - the request: written within connect_timeout; an error fails the probe;
// - the response: HTTP_GET waits connect_timeout for each read; SSL_GET's reads share one
//   connect_timeout from the first response bytes (keepalived's ssl_read_thread re-registers with
//   the remainder). EOF ends the response and the reader judges it; so does a verdict known
//   early (headers too long, a failing status) and, with vigil's opt-in strict_framing, the end
//   of the framed body (Content-Length bytes, the last chunk) or a framing error: the probe then
//   stops reading without waiting for EOF, so a server that ignores "Connection: close" passes
//   instead of failing on the read timeout. A plain read error fails the probe; a TLS read error
//   ends the response as EOF would (keepalived's ssl_read_thread judges what it has).
// - total_deadline (vigil's opt-in) bounds all of it.
// Memory: one fixed 4 KB read buffer per probe (keepalived reads 4 KB at a time) and the reader's
// own bounded state; the response is never kept.
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <span>

#include "check_io/connector.h"
#include "check_io/probe_run.h"
#include "check_io/tls.h"

namespace vigil::check_io {

namespace asio = boost::asio;
using check::ProbeFailed;
using check::ProbeNotRun;
using check::ProbeSucceeded;
using check::Reason;

namespace {

// keepalived's MAX_BUFFER_LENGTH.
constexpr size_t kReadChunk = 4096;

class HttpRun final : public SocketRun {
 public:
  HttpRun(AsioProber::Core& core, check::ProbeId id, const check::HttpProbe& probe)
      : SocketRun(core, id,
                  (probe.tls ? "SSL_GET " : "HTTP_GET ") +
                      endpoint_text(probe.connection.connect_ip, probe.connection.connect_port),
                  probe.connection),
        probe_(probe),
        total_timer_(core.scheduler) {}

  void begin() override {
    if (!probe_.expect) return finish(ProbeNotRun{.detail = "no expectation for the response"});
    reader_.emplace(*probe_.expect,
                    check::HttpReaderOptions{.strict_framing = probe_.strict_framing});
    if (probe_.tls) {
      auto context = core_.tls.get(*probe_.tls);
      if (!context) return finish(ProbeNotRun{.detail = "TLS: " + context.error().message});
      tls_context_ = *context;
      // Sessions are offered again only to the same target under the same names.
      session_key_ = endpoint_text(connection_.connect_ip, connection_.connect_port) +
                     " sni=" + probe_.sni + " name=" + probe_.verify_name;
    }
    if (probe_.total_deadline > Duration::zero()) {
      total_timer_.arm_after(probe_.total_deadline, [this] {
        finish(ProbeFailed{
            .reason = Reason::kTimeout,
            .detail = "total deadline of " + duration_text(probe_.total_deadline) + " passed"});
      });
    }
    SocketRun::begin();
  }

 private:
  using TlsStream = asio::ssl::stream<asio::ip::tcp::socket&>;

  std::shared_ptr<HttpRun> self() { return std::static_pointer_cast<HttpRun>(shared_from_this()); }

  void on_connected() override {
    if (!tls_context_) return write_request();
    tls_.emplace(socket_, tls_context_->context());
    if (Status prepared = tls_context_->prepare(tls_->native_handle(), &session_key_, probe_.sni,
                                                probe_.verify_name);
        !prepared) {
      return finish(ProbeNotRun{.detail = "TLS: " + prepared.error().message});
    }
    arm_step_until(connect_deadline(), Await::kReadable, "TLS handshake");
    tls_->async_handshake(
        asio::ssl::stream_base::client,
        [self = self()](const boost::system::error_code& error) { self->on_handshake(error); });
  }

  void on_handshake(const boost::system::error_code& error) {
    if (over()) return;
    if (error) return finish(handshake_failure(error));
    ++core_.counters.tls_handshakes;
    if (SSL_session_reused(tls_->native_handle()) == 1) ++core_.counters.tls_resumed;
    write_request();
  }

  ProbeFailed handshake_failure(const boost::system::error_code& error) {
    SSL* ssl = tls_->native_handle();
    const long verified = SSL_get_verify_result(ssl);
    if (probe_.tls->verify && verified != X509_V_OK) {
      return ProbeFailed{.reason = Reason::kBadReply,
                         .detail = std::string("certificate verify failed: ") +
                                   X509_verify_cert_error_string(verified)};
    }
    if (error.category() == asio::error::get_ssl_category()) {
      return ProbeFailed{.reason = Reason::kBadReply,
                         .detail = "TLS handshake failed: " + error.message()};
    }
    if (error == asio::error::eof || error == asio::ssl::error::stream_truncated) {
      return ProbeFailed{.reason = Reason::kConnectionReset,
                         .detail = "TLS handshake: connection closed by the server"};
    }
    return connection_failure(error.value(), "TLS handshake: ");
  }

  void write_request() {
    arm_step(Await::kWritable, "write");
    auto written = [self = self()](const boost::system::error_code& error, size_t) {
      self->on_written(error);
    };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(probe_.request), std::move(written));
    } else {
      asio::async_write(socket_, asio::buffer(probe_.request), std::move(written));
    }
  }

  void on_written(const boost::system::error_code& error) {
    if (over()) return;
    if (error) {
      if (error.category() == asio::error::get_system_category())
        return finish(connection_failure(error.value(), "write: "));
      return finish(
          ProbeFailed{.reason = Reason::kConnectionReset, .detail = "write: " + error.message()});
    }
    arm_step(Await::kReadable, "read");
    read_some();
  }

  void read_some() {
    auto read = [self = self()](const boost::system::error_code& error, size_t bytes) {
      self->on_read(error, bytes);
    };
    if (tls_) {
      tls_->async_read_some(asio::buffer(buffer_), std::move(read));
    } else {
      socket_.async_read_some(asio::buffer(buffer_), std::move(read));
    }
  }

  void on_read(const boost::system::error_code& error, size_t bytes) {
    if (over()) return;
    if (bytes > 0) {
      core_.counters.response_bytes += bytes;
      reader_->feed(std::span<const uint8_t>(buffer_.data(), bytes));
      if (reader_->verdict_known()) return judge();
      // HTTP_GET: each read has its own connect_timeout; SSL_GET: one from the first bytes.
      if (!tls_ || !reading_started_) arm_step(Await::kReadable, "read");
      reading_started_ = true;
    }
    if (!error) return read_some();
    if (error == asio::error::eof || tls_) return judge();
    finish(connection_failure(error.value(), "read: "));
  }

  void judge() {
    check::HttpResult result = reader_->finish();
    if (tls_) {
      // keepalived's quiet shutdown: no close_notify is sent, yet OpenSSL counts the session as
      // cleanly ended and keeps it resumable.
      SSL_set_quiet_shutdown(tls_->native_handle(), 1);
      SSL_shutdown(tls_->native_handle());
    }
    if (result.passed()) return finish(ProbeSucceeded{});
    finish(ProbeFailed{.reason = Reason::kBadReply, .detail = result.reason});
  }

  void close() override {
    total_timer_.cancel();
    SocketRun::close();
  }

  check::HttpProbe probe_;
  Timer total_timer_;
  std::optional<check::HttpResponseReader> reader_;
  std::shared_ptr<TlsClientContext> tls_context_;
  std::string session_key_;  // before tls_: the SSL object points at it
  std::optional<TlsStream> tls_;
  bool reading_started_ = false;
  std::array<uint8_t, kReadChunk> buffer_{};
};

}  // namespace

std::shared_ptr<ProbeRun> make_http_run(AsioProber::Core& core, check::ProbeId id,
                                        const check::HttpProbe& probe) {
  return std::make_shared<HttpRun>(core, id, probe);
}

}  // namespace vigil::check_io
