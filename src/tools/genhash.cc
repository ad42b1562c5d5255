#include "tools/genhash.h"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "check/http.h"
#include "common/ip_address.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "config/model_lvs.h"

namespace vigil::tools {
namespace {

constexpr const char* kUsage =
    "usage: vigilctl genhash -s ADDRESS -p PORT -u URL [-S] [-I] [-V VHOST] [-P 1.0|1.0C|1.1]\n"
    "                        [-t SECONDS] [-m FWMARK] [-v]\n"
    "  -S, --use-ssl          connect with TLS (SSL_GET); the certificate is not verified\n"
    "  -I, --use-sni          send the virtualhost (-V) as SNI\n"
    "  -V, --use-virtualhost  the Host header (default ADDRESS:PORT)\n"
    "  -P, --protocol         1.0 (default), 1.0C (1.0 with Connection: close) or 1.1\n"
    "  -t, --timeout          seconds for the connect and each read (default 5)\n"
    "  -m, --fwmark           SO_MARK on the connection\n"
    "  -v, --verbose          also print the status and the body length\n"
    "Prints the MD5 digest HTTP_GET / SSL_GET compare with a url's `digest`.\n";

struct Options {
  std::string server;
  std::string port;
  std::string url;
  bool ssl = false;
  bool sni = false;
  std::string virtualhost;
  config::HttpProtocol protocol = config::HttpProtocol::k1_0;
  int timeout_seconds = 5;
  uint32_t fwmark = 0;
  bool verbose = false;
};

std::optional<std::string> parse(const std::vector<std::string>& args, Options& o) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    auto number = [&](auto& into, long max) -> bool {
      auto v = value();
      if (!v || v->empty()) return false;
      char* end = nullptr;
      errno = 0;
      const long n = std::strtol(v->c_str(), &end, 10);
      if (errno != 0 || *end != '\0' || n < 0 || n > max) return false;
      into = static_cast<std::remove_reference_t<decltype(into)>>(n);
      return true;
    };
    std::optional<std::string> v;
    if (a == "-s" || a == "--server") {
      if (!(v = value())) return a + " needs an address";
      o.server = *v;
    } else if (a == "-p" || a == "--port") {
      if (!(v = value())) return a + " needs a port";
      o.port = *v;
    } else if (a == "-u" || a == "--url") {
      if (!(v = value())) return a + " needs a url";
      o.url = *v;
    } else if (a == "-V" || a == "--use-virtualhost") {
      if (!(v = value())) return a + " needs a host name";
      o.virtualhost = *v;
    } else if (a == "-P" || a == "--protocol") {
      v = value();
      if (v == "1.0") {
        o.protocol = config::HttpProtocol::k1_0;
      } else if (v == "1.0C" || v == "1.0c") {
        o.protocol = config::HttpProtocol::k1_0C;
      } else if (v == "1.1") {
        o.protocol = config::HttpProtocol::k1_1;
      } else {
        return a + " takes 1.0, 1.0C or 1.1";
      }
    } else if (a == "-t" || a == "--timeout") {
      if (!number(o.timeout_seconds, 3600) || o.timeout_seconds == 0)
        return a + " takes 1..3600 seconds";
    } else if (a == "-m" || a == "--fwmark") {
      if (!number(o.fwmark, UINT32_MAX)) return a + " takes a mark";
    } else if (a == "-S" || a == "--use-ssl") {
      o.ssl = true;
    } else if (a == "-I" || a == "--use-sni") {
      o.sni = true;
    } else if (a == "-v" || a == "--verbose") {
      o.verbose = true;
    } else {
      return "unknown option '" + a + "'";
    }
  }
  if (o.server.empty() || o.port.empty() || o.url.empty()) return "-s, -p and -u are required";
  return std::nullopt;
}

Result<UniqueFd> connect_to(const Options& o) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(o.server.c_str(), o.port.c_str(), &hints, &found); rc != 0)
    return Error{o.server + " port " + o.port + ": " + gai_strerror(rc)};
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  UniqueFd fd(socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket", errno);
  const timeval timeout{.tv_sec = o.timeout_seconds, .tv_usec = 0};
  // Linux applies SO_SNDTIMEO to connect() too.
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (o.fwmark != 0 && setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &o.fwmark, sizeof o.fwmark) != 0) {
    return errno_error("SO_MARK", errno);
  }
  if (connect(fd.get(), found->ai_addr, found->ai_addrlen) != 0)
    return errno_error("connect to " + o.server + " port " + o.port, errno);
  return fd;
}

std::string tls_error(const char* what) {
  const unsigned long code = ERR_get_error();
  char text[256] = "no detail";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  return std::string(what) + ": " + text;
}

// Sends `request` and feeds every byte of the response to `reader` until EOF.
Status exchange(const Options& o, int fd, const std::string& request,
                check::HttpResponseReader& reader) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(nullptr, SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(nullptr, SSL_free);
  if (o.ssl) {
    ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return Error{tls_error("TLS context")};
    SSL_CTX_set_security_level(ctx.get(), 1);  // as the checker: keepalived's level
    ssl.reset(SSL_new(ctx.get()));
    if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return Error{tls_error("TLS")};
    if (o.sni && !o.virtualhost.empty()) SSL_set_tlsext_host_name(ssl.get(), o.virtualhost.c_str());
    if (SSL_connect(ssl.get()) != 1) return Error{tls_error("TLS handshake")};
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const int n =
        o.ssl ? SSL_write(ssl.get(), request.data() + sent, static_cast<int>(request.size() - sent))
              : static_cast<int>(write(fd, request.data() + sent, request.size() - sent));
    if (n <= 0) return o.ssl ? Error{tls_error("send")} : errno_error("send", errno);
    sent += static_cast<size_t>(n);
  }
  char buffer[4096];
  for (;;) {
    const int n = o.ssl ? SSL_read(ssl.get(), buffer, sizeof buffer)
                        : static_cast<int>(read(fd, buffer, sizeof buffer));
    if (n == 0) break;
    if (n < 0) {
      // A TLS read error ends the response as EOF, as the checker judges what it has.
      if (o.ssl) break;
      if (errno == EINTR) continue;
      return errno == EAGAIN ? Error{"no answer within the timeout"} : errno_error("read", errno);
    }
    reader.feed(std::string_view(buffer, static_cast<size_t>(n)));
    if (reader.verdict_known()) break;
  }
  return {};
}

}  // namespace

int run_genhash(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Options o;
  if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
    out << kUsage;
    return 0;
  }
  if (auto problem = parse(args, o)) {
    err << "vigilctl genhash: " << *problem << "\n" << kUsage;
    return 2;
  }
  const auto address = IpAddress::parse(o.server);
  if (!address) {
    err << "vigilctl genhash: '" << o.server << "' is not an IP address\n";
    return 2;
  }
  config::HttpUrl url;
  url.path = o.url;
  auto expect = check::HttpUrlCheck::make(url);
  if (!expect) {
    err << "vigilctl genhash: " << expect.error().message << "\n";
    return 2;
  }
  const check::HttpRequestTarget target{
      .path = o.url,
      .protocol = o.protocol,
      .url_virtualhost = o.virtualhost,
      .address = *address,
      .port = static_cast<uint16_t>(std::strtoul(o.port.c_str(), nullptr, 10)),
  };
  auto fd = connect_to(o);
  if (!fd) {
    err << "vigilctl genhash: " << fd.error().message << "\n";
    return 1;
  }
  check::HttpResponseReader reader(*expect, /*compute_digest=*/true);
  if (auto status = exchange(o, fd->get(), check::http_request(target), reader); !status) {
    err << "vigilctl genhash: " << status.error().message << "\n";
    return 1;
  }
  const check::HttpResult result = reader.finish();
  if (!result.digest) {
    err << "vigilctl genhash: " << (result.reason.empty() ? "no body" : result.reason) << "\n";
    return 1;
  }
  if (o.verbose) {
    out << "status " << (result.status ? std::to_string(*result.status) : "none") << ", "
        << result.body_bytes << " body bytes";
    if (result.length_mismatch) out << " (Content-Length " << *result.content_length << ")";
    out << "\n";
  }
  out << check::to_hex(*result.digest) << "\n";
  return 0;
}

}  // namespace vigil::tools
