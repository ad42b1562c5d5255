// In-test HTTP and HTTPS servers on the prober's loop: each connection records the exact request
// bytes (up to the blank line), then writes a scripted reply (a canned response, a body of any
// size written 64 KB at a time, or header lines without end) and closes, resets or stays open
// for the test to send more. The HTTPS server also notes what the client offered (SNI, ALPN, a
// client certificate) and whether the session was resumed.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check_io/probe_fixture.h"

namespace vigil::check_io {

namespace ssl = boost::asio::ssl;

struct Reply {
  std::string head;          // written first (status line, headers, maybe a body)
  size_t body_bytes = 0;     // then this many 'x' bytes
  bool endless = false;      // then "X-Filler: ..." header lines until the client goes
  bool keep_open = false;    // then stay open: the test may send() and close()
  bool reset = false;        // then close with an RST (SO_LINGER 0) instead of a FIN
  bool close_notify = true;  // HTTPS: end with a TLS close_notify before the FIN
};

// What one connection saw.
struct Served {
  std::string request;
  bool request_complete = false;
  size_t bytes_written = 0;
  bool finished_writing = false;
  bool client_gone = false;  // a write failed: the client closed
  // HTTPS only.
  std::string sni;
  std::string alpn_offer;  // the client's list, in wire form
  bool resumed = false;
  std::string client_certificate_cn;
};

template <class Stream>
class ServerConnection : public std::enable_shared_from_this<ServerConnection<Stream>> {
 public:
  ServerConnection(Stream stream, Reply reply, std::shared_ptr<Served> served)
      : stream_(std::move(stream)), reply_(std::move(reply)), served_(std::move(served)) {}

  void start() {
    boost::asio::async_read_until(
        stream_, boost::asio::dynamic_buffer(input_), "\r\n\r\n",
        [self = this->shared_from_this()](const boost::system::error_code& error, size_t) {
          if (error) return;
          self->served_->request = self->input_;
          self->served_->request_complete = true;
          self->queue(self->reply_.head);
          self->body_left_ = self->reply_.body_bytes;
          self->pump();
        });
  }
  void send(std::string bytes) {
    queue(std::move(bytes));
    pump();
  }
  void close() {
    boost::system::error_code ignored;
    lowest_layer().close(ignored);
  }
  Stream& stream() { return stream_; }
  [[nodiscard]] const Served& served() const { return *served_; }

 private:
  auto& lowest_layer() { return stream_.lowest_layer(); }
  void queue(std::string bytes) {
    if (!bytes.empty()) pending_.push_back(std::move(bytes));
  }
  // Writes one chunk at a time: what is queued, then the body, then endless headers.
  void pump() {
    if (writing_) return;
    if (pending_.empty()) {
      constexpr size_t kChunk = 64 * 1024;
      if (body_left_ > 0) {
        size_t n = std::min(body_left_, kChunk);
        body_left_ -= n;
        pending_.push_back(std::string(n, 'x'));
      } else if (reply_.endless) {
        std::string lines;
        while (lines.size() < kChunk)
          lines += "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        pending_.push_back(std::move(lines));
      } else {
        return end_of_reply();
      }
    }
    writing_ = true;
    boost::asio::async_write(
        stream_, boost::asio::buffer(pending_.front()),
        [self = this->shared_from_this()](const boost::system::error_code& error, size_t n) {
          self->writing_ = false;
          self->served_->bytes_written += n;
          if (error) {
            self->served_->client_gone = true;
            return;
          }
          self->pending_.pop_front();
          self->pump();
        });
  }
  void end_of_reply() {
    if (served_->finished_writing) return;
    served_->finished_writing = true;
    if (reply_.keep_open) return;
    if (reply_.reset) {
      linger no_linger{.l_onoff = 1, .l_linger = 0};
      setsockopt(lowest_layer().native_handle(), SOL_SOCKET, SO_LINGER, &no_linger,
                 sizeof(no_linger));
      return close();
    }
    if constexpr (!std::is_same_v<Stream, tcp::socket>) {
      if (reply_.close_notify) {
        stream_.async_shutdown(
            [self = this->shared_from_this()](const boost::system::error_code&) { self->close(); });
        return;
      }
    }
    close();
  }

  Stream stream_;
  Reply reply_;
  std::shared_ptr<Served> served_;
  std::string input_;
  std::deque<std::string> pending_;
  size_t body_left_ = 0;
  bool writing_ = false;
};

class HttpServer {
 public:
  using Connection = ServerConnection<tcp::socket>;

  HttpServer(asio::io_context& io, Reply reply, const std::string& address = "127.0.0.1")
      : acceptor_(io, tcp::endpoint(asio::ip::make_address(address), 0)), reply_(std::move(reply)) {
    accept();
  }
  [[nodiscard]] uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] size_t count() const { return connections_.size(); }
  Connection& connection(size_t index) { return *connections_.at(index); }
  [[nodiscard]] const Served& served(size_t index) const {
    return connections_.at(index)->served();
  }

 private:
  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (error) return;
      socket.set_option(tcp::no_delay(true));  // no 40 ms delayed-ACK stalls between writes
      auto connection =
          std::make_shared<Connection>(std::move(socket), reply_, std::make_shared<Served>());
      connections_.push_back(connection);
      connection->start();
      accept();
    });
  }
  tcp::acceptor acceptor_;
  Reply reply_;
  std::vector<std::shared_ptr<Connection>> connections_;
};

class HttpsServer {
 public:
  using Connection = ServerConnection<ssl::stream<tcp::socket>>;

  // Serves with `certificate` and `key`; asks for (and accepts any) client certificate.
  HttpsServer(asio::io_context& io, X509* certificate, EVP_PKEY* key, Reply reply)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        context_(ssl::context::tls_server),
        reply_(std::move(reply)) {
    SSL_CTX* ctx = context_.native_handle();
    EXPECT_EQ(SSL_CTX_use_certificate(ctx, certificate), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx, key), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    static const unsigned char kContext[] = "vigil-test";
    SSL_CTX_set_session_id_context(ctx, kContext, sizeof(kContext) - 1);
    SSL_CTX_set_alpn_select_cb(
        ctx,
        [](SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
           unsigned in_length, void* arg) {
          static_cast<HttpsServer*>(arg)->last_alpn_offer_.assign(reinterpret_cast<const char*>(in),
                                                                  in_length);
          *out = in + 1;  // the first offered
          *out_length = in[0];
          return SSL_TLSEXT_ERR_OK;
        },
        this);
    accept();
  }
  [[nodiscard]] uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] size_t count() const { return connections_.size(); }
  [[nodiscard]] const Served& served(size_t index) const { return *served_.at(index); }
  Connection& connection(size_t index) { return *connections_.at(index); }
  [[nodiscard]] size_t handshakes() const { return handshakes_; }
  // From now on a client without a certificate fails the handshake (any certificate is taken).
  void require_client_certificate() {
    SSL_CTX_set_verify(context_.native_handle(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       [](int, X509_STORE_CTX*) { return 1; });
  }

 private:
  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (error) return;
      socket.set_option(tcp::no_delay(true));  // no 40 ms delayed-ACK stalls between writes
      auto served = std::make_shared<Served>();
      served_.push_back(served);
      auto connection = std::make_shared<Connection>(
          ssl::stream<tcp::socket>(std::move(socket), context_), reply_, served);
      connections_.push_back(connection);
      connection->stream().async_handshake(
          ssl::stream_base::server,
          [this, connection, served](const boost::system::error_code& error) {
            if (error) return;
            ++handshakes_;
            SSL* ssl = connection->stream().native_handle();
            if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name))
              served->sni = name;
            served->alpn_offer = last_alpn_offer_;
            last_alpn_offer_.clear();
            served->resumed = SSL_session_reused(ssl) == 1;
            if (X509* peer = SSL_get0_peer_certificate(ssl)) {
              char cn[256] = {};
              X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
                                        sizeof(cn));
              served->client_certificate_cn = cn;
            }
            connection->start();
          });
      accept();
    });
  }
  tcp::acceptor acceptor_;
  ssl::context context_;
  Reply reply_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::vector<std::shared_ptr<Served>> served_;
  std::string last_alpn_offer_;
  size_t handshakes_ = 0;
};

}  // namespace vigil::check_io
