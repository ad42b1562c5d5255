#include "lab/servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "lab/shell.h"

namespace vigil::lab {
namespace {

constexpr size_t kMaxConnections = 256;  // a checker holds one at a time; more is a runaway

std::string http_reply(const LabRealServer& server, std::string_view request) {
  // The path of "GET /path HTTP/1.x": the body configured for it (--rs-root), else none.
  std::string_view path = request.substr(0, request.find("\r\n"));
  const size_t space = path.find(' ');
  path = space == std::string_view::npos ? std::string_view() : path.substr(space + 1);
  path = path.substr(0, path.find(' '));
  const auto body = server.bodies.find(std::string(path));
  const std::string_view content =
      body == server.bodies.end() ? std::string_view() : std::string_view(body->second);
  return "HTTP/1.0 " + std::to_string(server.http_status) +
         (server.http_status == 200 ? " OK" : " Lab") +
         "\r\nContent-Length: " + std::to_string(content.size()) + "\r\nConnection: close\r\n\r\n" +
         std::string(content);
}

constexpr std::string_view kSmtpBanner = "220 vigil-lab ESMTP\r\n";

// The SMTP server's answer to one command line: 250 to HELO / EHLO and anything else, 221 to
// QUIT (then the connection closes).
std::string smtp_reply(std::string_view line, bool& quit) {
  auto starts = [&](std::string_view verb) {
    if (line.size() < verb.size()) return false;
    for (size_t i = 0; i < verb.size(); ++i) {
      if (std::toupper(static_cast<unsigned char>(line[i])) != verb[i]) return false;
    }
    return true;
  };
  if (starts("QUIT")) {
    quit = true;
    return "221 vigil-lab closing\r\n";
  }
  return "250 vigil-lab\r\n";
}

// A TLS server context with a fresh self-signed P-256 certificate (CN vigil-lab, valid a day):
// SSL_GET does not verify the server unless verify_server is set, and the lab does not play
// those.
SSL_CTX* self_signed_context() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  bool ok = key != nullptr && cert != nullptr && ctx != nullptr;
  if (ok) {
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("vigil-lab"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    ok = X509_sign(cert, key, EVP_sha256()) > 0 && SSL_CTX_use_certificate(ctx, cert) == 1 &&
         SSL_CTX_use_PrivateKey(ctx, key) == 1;
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) {
    SSL_CTX_free(ctx);
    throw LabError("cannot make the TLS real servers' self-signed certificate (OpenSSL)");
  }
  return ctx;
}

}  // namespace

RealServers::~RealServers() {
  stop();
}

std::optional<std::string> dns_reply(std::string_view query) {
  constexpr size_t kHeader = 12;
  if (query.size() < kHeader || query.size() > 512) return std::nullopt;
  if ((static_cast<uint8_t>(query[2]) & 0x80) != 0) return std::nullopt;  // a response: no
  std::string reply(query);
  // RFC 1035 §4.1.1: QR set, opcode, AA = 0, TC = 0 and RD kept; RA set, RCODE 0 (NOERROR); the
  // question stays, no answer, authority or additional record.
  reply[2] = static_cast<char>((static_cast<uint8_t>(query[2]) & 0x79) | 0x80);
  reply[3] = static_cast<char>(0x80);
  for (size_t i = 6; i < kHeader; ++i)
    reply[i] = 0;
  // Whatever follows the first question (an EDNS OPT record in the additional section) goes.
  size_t at = kHeader;
  while (at < reply.size() && reply[at] != 0) {
    const auto label = static_cast<uint8_t>(reply[at]);
    if (label > 63) return std::nullopt;  // a compression pointer has no place in a query
    at += 1 + label;
  }
  at += 1 + 4;  // the root label, QTYPE, QCLASS
  if (at > reply.size()) return std::nullopt;
  reply.resize(at);
  return reply;
}

int RealServers::listen_on(const LabRealServer& server) const {
  const int fd =
      socket_in_namespace(ns_, AF_INET, (server.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);
  if (fd < 0) throw LabError(std::string("real server socket: ") + std::strerror(errno));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server.port);
  inet_pton(AF_INET, server.address.c_str(), &address.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      (!server.udp && listen(fd, 64) != 0)) {
    const int saved = errno;
    close(fd);
    throw LabError("real server " + server.address + ":" + std::to_string(server.port) + ": " +
                   std::strerror(saved));
  }
  return fd;
}

void RealServers::start(const std::string& ns, std::vector<LabRealServer> servers) {
  ns_ = ns;
  servers_ = std::move(servers);
  if (std::any_of(servers_.begin(), servers_.end(), [](const auto& s) { return s.tls; }))
    tls_ = self_signed_context();
  {
    std::lock_guard lock(mutex_);
    for (const auto& server : servers_)
      listeners_.push_back(listen_on(server));
  }
  thread_ = std::thread([this] { serve(); });
}

void RealServers::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  for (int& fd : listeners_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  for (auto& c : conns_)
    close_connection(c);
  conns_.clear();
  SSL_CTX_free(tls_);
  tls_ = nullptr;
}

void RealServers::close_connection(Conn& conn) {
  SSL_free(conn.tls);
  conn.tls = nullptr;
  close(conn.fd);
}

void RealServers::set_up(size_t index, bool up) {
  std::lock_guard lock(mutex_);
  if (index >= listeners_.size()) return;
  if (up && listeners_[index] < 0) {
    listeners_[index] = listen_on(servers_[index]);
  } else if (!up && listeners_[index] >= 0) {
    close(listeners_[index]);
    listeners_[index] = -1;
    // Its open connections go with it, as with a stopped server process.
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (it->server == index) {
        close_connection(*it);
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void RealServers::serve() {
  // Until stop(): each pass waits at most 20 ms.
  while (!stopping_.load()) {
    std::vector<pollfd> fds;
    {
      std::lock_guard lock(mutex_);
      for (int fd : listeners_) {
        if (fd >= 0) fds.push_back({fd, POLLIN, 0});
      }
      for (const auto& c : conns_)
        fds.push_back({c.fd, POLLIN, 0});
    }
    if (fds.empty()) {
      sleep_for(0.02);
      continue;
    }
    if (poll(fds.data(), fds.size(), 20) <= 0) continue;
    std::lock_guard lock(mutex_);
    for (size_t k = 0; k < listeners_.size(); ++k) {
      const int fd = listeners_[k];
      if (fd < 0) continue;
      if (servers_[k].udp) {
        // DNS / UDP_CHECK: each datagram answered at once. Bounded: 64 datagrams per pass.
        for (int i = 0; i < 64; ++i) {
          char query[600];
          sockaddr_in from{};
          socklen_t from_len = sizeof from;
          const ssize_t n =
              recvfrom(fd, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
          if (n < 0) break;
          const std::string_view datagram(query, static_cast<size_t>(n));
          auto reply = servers_[k].checker == "UDP_CHECK"
                           ? std::optional<std::string>(servers_[k].udp_reply)
                           : dns_reply(datagram);
          if (reply)
            (void)!sendto(fd, reply->data(), reply->size(), 0, reinterpret_cast<sockaddr*>(&from),
                          from_len);
        }
        continue;
      }
      // Bounded: the backlog is 64.
      for (int i = 0; i < 64; ++i) {
        const int conn = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (conn < 0) break;
        if (conns_.size() >= kMaxConnections) {
          close(conn);
          continue;
        }
        if (servers_[k].checker == "SMTP_CHECK")
          (void)!send(conn, kSmtpBanner.data(), kSmtpBanner.size(), MSG_NOSIGNAL);
        Conn c{.fd = conn, .server = k};
        if (servers_[k].tls) {
          c.tls = SSL_new(tls_);
          if (c.tls == nullptr || SSL_set_fd(c.tls, conn) != 1) {
            close_connection(c);
            continue;
          }
          SSL_set_accept_state(c.tls);
        }
        conns_.push_back(c);
      }
    }
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (serve_connection(*it)) {
        close_connection(*it);
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

bool RealServers::serve_connection(Conn& conn) {
  char buffer[2048];
  ssize_t n = 0;
  if (conn.tls != nullptr) {
    if (!conn.handshaken) {
      const int r = SSL_do_handshake(conn.tls);
      if (r != 1) {
        const int error = SSL_get_error(conn.tls, r);
        return error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE;
      }
      conn.handshaken = true;
    }
    n = SSL_read(conn.tls, buffer, sizeof buffer);
    if (n <= 0) {
      const int error = SSL_get_error(conn.tls, static_cast<int>(n));
      return error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE;
    }
  } else {
    n = read(conn.fd, buffer, sizeof buffer);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
    if (n < 0) return false;
  }
  conn.request.append(buffer, static_cast<size_t>(n));
  const LabRealServer& server = servers_[conn.server];
  bool done = false;
  if (server.checker == "SMTP_CHECK") {
    // One reply per command line.
    for (size_t eol = conn.request.find("\r\n"); eol != std::string::npos && !done;
         eol = conn.request.find("\r\n")) {
      bool quit = false;
      const std::string reply = smtp_reply(std::string_view(conn.request).substr(0, eol), quit);
      (void)!send(conn.fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      conn.request.erase(0, eol + 2);
      done = quit;
    }
  } else if (conn.request.find("\r\n\r\n") != std::string::npos) {
    // An HTTP request ends with an empty line; whatever else came (a TCP_CHECK sends nothing)
    // waits for the peer to close.
    const std::string reply = http_reply(server, conn.request);
    if (conn.tls != nullptr) {
      (void)SSL_write(conn.tls, reply.data(), static_cast<int>(reply.size()));
      (void)SSL_shutdown(conn.tls);
    } else {
      (void)!send(conn.fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    }
    done = true;
  }
  return done || conn.request.size() > 65536;
}

}  // namespace vigil::lab
