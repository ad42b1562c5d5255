// The real servers the lab plays for rs-fail / rs-recover: one TCP listener per real server in
// the client namespace (the addresses are on its lo), answering HTTP requests with the status
// its HTTP_GET (or, over TLS, SSL_GET) accepts and an empty body, or speaking SMTP to an
// SMTP_CHECK; a DNS_CHECK's server is a UDP socket answering each query. A server taken down has
// its listener and connections closed, so its port refuses connections, as when the server process
// stops.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "lab/model.h"

namespace vigil::lab {

// The lab's DNS server's answer to a query datagram: the query with QR and RA set, RCODE 0
// (NOERROR), its question and no record; nothing for what is not a query (too short, a
// response, a malformed question). Pure.
std::optional<std::string> dns_reply(std::string_view query);

class RealServers {
 public:
  RealServers() = default;
  ~RealServers();
  RealServers(const RealServers&) = delete;
  RealServers& operator=(const RealServers&) = delete;

  // Opens a listener per server in namespace `ns` (LabError on failure) and starts serving.
  void start(const std::string& ns, std::vector<LabRealServer> servers);
  void stop();
  // Synchronous: when it returns the port refuses (down) or accepts (up) connections.
  void set_up(size_t index, bool up);
  [[nodiscard]] size_t size() const { return servers_.size(); }

 private:
  struct Conn {
    int fd = -1;
    size_t server = 0;
    std::string request;
    SSL* tls = nullptr;  // SSL_GET's servers: the TLS session over fd
    bool handshaken = false;
  };
  // Reads what the peer sent and answers; true when the connection is done (to be closed).
  bool serve_connection(Conn& conn);
  static void close_connection(Conn& conn);
  int listen_on(const LabRealServer& server) const;
  void serve();

  std::string ns_;
  std::vector<LabRealServer> servers_;
  std::mutex mutex_;  // guards listeners_ and conns_
  std::vector<int> listeners_;
  std::vector<Conn> conns_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  SSL_CTX* tls_ = nullptr;  // a self-signed EC certificate, made when a server speaks TLS
};

}  // namespace vigil::lab
