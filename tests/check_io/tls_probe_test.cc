// SSL_GET through AsioProber against an in-test TLS server with certificates made here:
// keepalived 2.2.7 never verifies (check_ssl.c), vigil verifies when asked (chain against `ca`,
// name against verify_name), sends SNI, offers ALPN, presents a client certificate, resumes
// sessions per target, and shares one client context per distinct settings value.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "check/engine.h"
#include "check/http.h"
#include "check_io/http_server.h"
#include "config/parser.h"

namespace vigil::check_io {
namespace {

using check::HttpProbe;
using check::Reason;
using check::TlsClientSettings;

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};

// A self-signed certificate for `common_name`, with `dns_name` as its subjectAltName.
struct Identity {
  std::unique_ptr<EVP_PKEY, KeyFree> key;
  std::unique_ptr<X509, X509Free> certificate;

  Identity(const char* common_name, const std::string& dns_name, long serial) {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    certificate.reset(X509_new());
    X509* x = certificate.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, key.get());
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
    X509_set_issuer_name(x, name);
    const std::string san = "DNS:" + dns_name;
    X509_EXTENSION* extension =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
    X509_add_ext(x, extension, -1);
    X509_EXTENSION_free(extension);
    EXPECT_GT(X509_sign(x, key.get(), EVP_sha256()), 0);
  }

  void write_certificate(const std::string& path) const {
    FILE* file = std::fopen(path.c_str(), "w");
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(PEM_write_X509(file, certificate.get()), 1);
    std::fclose(file);
  }
  // Encrypted with `password` when it is not empty.
  void write_key(const std::string& path, const std::string& password = {}) const {
    FILE* file = std::fopen(path.c_str(), "w");
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(PEM_write_PrivateKey(
                  file, key.get(), password.empty() ? nullptr : EVP_aes_256_cbc(), nullptr, 0,
                  nullptr, password.empty() ? nullptr : const_cast<char*>(password.c_str())),
              1);
    std::fclose(file);
  }
};

constexpr const char* kOk = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";

class TlsProbeTest : public ProbeTest {
 protected:
  TlsProbeTest() {
    std::string pattern = ::testing::TempDir() + "check_io_tls.XXXXXX";
    dir_ = mkdtemp(pattern.data()) ? pattern : std::string();
    server_identity_.write_certificate(path("server.pem"));
    other_identity_.write_certificate(path("other.pem"));
    client_identity_.write_certificate(path("client.pem"));
    client_identity_.write_key(path("client-key.pem"), "s3cret");
  }
  ~TlsProbeTest() override { std::filesystem::remove_all(dir_); }

  [[nodiscard]] std::string path(const std::string& name) const { return dir_ + "/" + name; }

  HttpsServer& serve(Reply reply = {.head = kOk}) {
    server_ = std::make_unique<HttpsServer>(loop_.io_context(), server_identity_.certificate.get(),
                                            server_identity_.key.get(), std::move(reply));
    return *server_;
  }

  // To the HTTPS server, or to `port` when not 0.
  HttpProbe https(TlsClientSettings settings = {}, Duration timeout = 5s, uint16_t port = 0) {
    if (port == 0) port = server_->port();
    HttpProbe probe;
    probe.connection = to("127.0.0.1", port, timeout);
    probe.request =
        check::http_request({.path = "/", .address = probe.connection.connect_ip, .port = port});
    auto made = check::HttpUrlCheck::make(config::HttpUrl{});
    probe.expect = std::make_shared<const check::HttpUrlCheck>(std::move(*made));
    probe.tls = std::move(settings);
    return probe;
  }

  std::string dir_;
  Identity server_identity_{"server", "good.example", 1};
  Identity other_identity_{"other", "good.example", 2};
  Identity client_identity_{"vigil-client", "client.example", 3};
  std::unique_ptr<HttpsServer> server_;
};

TEST_F(TlsProbeTest, NothingIsVerifiedByDefault) {
  serve();
  HttpProbe request = https();
  request.sni = "not-the-certificate.example";  // keepalived passes whatever the name
  auto result = probe(request);
  EXPECT_TRUE(succeeded(result)) << describe(result);
  EXPECT_EQ(server_->served(0).request, request.request);
  EXPECT_EQ(prober_.counters().tls_handshakes, 1U);
  EXPECT_EQ(prober_.counters().tls_resumed, 0U);
}

TEST_F(TlsProbeTest, VerificationAgainstTheCaAndTheName) {
  serve();
  TlsClientSettings verify{.ca = path("server.pem"), .verify = true};
  HttpProbe good = https(verify);
  good.verify_name = "good.example";
  auto passed = probe(good);
  EXPECT_TRUE(succeeded(passed)) << describe(passed);

  HttpProbe wrong_name = https(verify);
  wrong_name.verify_name = "bad.example";
  auto result = probe(wrong_name);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail, "certificate verify failed: hostname mismatch");

  // Another CA than the server's issuer: the chain fails, whatever the name.
  HttpProbe untrusted = https({.ca = path("other.pem"), .verify = true});
  untrusted.verify_name = "good.example";
  result = probe(untrusted);
  failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail.rfind("certificate verify failed: ", 0), 0U) << failure->detail;
  EXPECT_NE(failure->detail, "certificate verify failed: hostname mismatch");
}

TEST_F(TlsProbeTest, SniIsSentOnlyWhenSet) {
  serve();
  HttpProbe with_sni = https();
  with_sni.sni = "www.example.com";
  EXPECT_TRUE(succeeded(probe(with_sni)));
  EXPECT_TRUE(succeeded(probe(https())));
  ASSERT_EQ(server_->count(), 2U);
  EXPECT_EQ(server_->served(0).sni, "www.example.com");
  EXPECT_EQ(server_->served(1).sni, "");
}

TEST_F(TlsProbeTest, SessionsAreResumedPerTargetWhenAsked) {
  serve();
  TlsClientSettings resume{.resume_sessions = true};
  for (int i = 0; i < 3; ++i) {
    auto result = probe(https(resume));
    ASSERT_TRUE(succeeded(result)) << describe(result);
  }
  EXPECT_FALSE(server_->served(0).resumed);
  EXPECT_TRUE(server_->served(1).resumed);
  EXPECT_TRUE(server_->served(2).resumed);
  EXPECT_EQ(prober_.counters().tls_handshakes, 3U);
  EXPECT_EQ(prober_.counters().tls_resumed, 2U);

  // Another SNI is another target: a full handshake.
  HttpProbe other_name = https(resume);
  other_name.sni = "b.example";
  EXPECT_TRUE(succeeded(probe(other_name)));
  EXPECT_FALSE(server_->served(3).resumed);
}

TEST_F(TlsProbeTest, NoResumptionByDefault) {
  serve();
  EXPECT_TRUE(succeeded(probe(https())));
  EXPECT_TRUE(succeeded(probe(https())));
  EXPECT_FALSE(server_->served(1).resumed);
  EXPECT_EQ(prober_.counters().tls_resumed, 0U);
}

TEST_F(TlsProbeTest, ResumesWithoutCloseNotifyFromTheServer) {
  // The server closes without close_notify: still the response's end, and the session is kept.
  serve({.head = kOk, .close_notify = false});
  TlsClientSettings resume{.resume_sessions = true};
  EXPECT_TRUE(succeeded(probe(https(resume))));
  auto result = probe(https(resume));
  EXPECT_TRUE(succeeded(result)) << describe(result);
  EXPECT_TRUE(server_->served(1).resumed);
}

TEST_F(TlsProbeTest, ClientCertificateWithAnEncryptedKey) {
  serve();
  TlsClientSettings client{
      .certificate = path("client.pem"), .key = path("client-key.pem"), .password = "s3cret"};
  auto result = probe(https(client));
  EXPECT_TRUE(succeeded(result)) << describe(result);
  EXPECT_EQ(server_->served(0).client_certificate_cn, "vigil-client");

  EXPECT_TRUE(succeeded(probe(https())));
  EXPECT_EQ(server_->served(1).client_certificate_cn, "");
}

// vigil's per-checker client identity (SSL_GET client_certificate / client_key /
// client_key_password), from the configuration text to the server's handshake: it replaces the
// global SSL block's for that checker only; a checker with neither has no certificate to show.
TEST_F(TlsProbeTest, PerCheckerClientCertificateFromTheConfiguration) {
  serve().require_client_certificate();
  const Identity global{"vigil-global", "global.example", 4};
  global.write_certificate(path("global.pem"));
  global.write_key(path("global-key.pem"));
  const std::string port = std::to_string(server_->port());
  const auto config_text = [&](const std::string& ssl, const std::string& checker) {
    return ssl + "virtual_server 127.0.0.1 " + port +
           " {\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n"
           "  real_server 127.0.0.1 " +
           port +
           " {\n    SSL_GET {\n      connect_timeout 5\n      url {\n        path /\n"
           "      }\n" +
           checker + "    }\n  }\n}\n";
  };
  const std::string global_ssl =
      "SSL {\n  certificate " + path("global.pem") + "\n  key " + path("global-key.pem") + "\n}\n";
  const std::string own = "      client_certificate " + path("client.pem") + "\n" +
                          "      client_key " + path("client-key.pem") + "\n" +
                          "      client_key_password s3cret\n";
  const auto probe_of = [&](const std::string& text) -> std::optional<HttpProbe> {
    auto parsed = config::parse_text("keepalived.conf", text);
    EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
    if (!parsed->ok()) return std::nullopt;
    const auto& config = parsed->config;
    auto requests = check::probe_requests(config, config.lvs.virtual_servers.at(0), 0, 0, {});
    EXPECT_TRUE(requests && requests->size() == 1U);
    if (!requests || requests->size() != 1U) return std::nullopt;
    return std::get<HttpProbe>(requests->front());
  };

  // The checker's own certificate, not the global one.
  auto own_probe = probe_of(config_text(global_ssl, own));
  ASSERT_TRUE(own_probe);
  auto result = probe(*own_probe);
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_EQ(server_->count(), 1U);
  EXPECT_EQ(server_->served(0).client_certificate_cn, "vigil-client");

  // A checker without its own takes the global block's.
  auto global_probe = probe_of(config_text(global_ssl, ""));
  ASSERT_TRUE(global_probe);
  result = probe(*global_probe);
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_EQ(server_->count(), 2U);
  EXPECT_EQ(server_->served(1).client_certificate_cn, "vigil-global");

  // With neither, the server refuses the handshake and the check fails.
  auto bare_probe = probe_of(config_text("", ""));
  ASSERT_TRUE(bare_probe);
  result = probe(*bare_probe);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(server_->handshakes(), 2U);  // the third never completed on the server
}

// A client certificate and key rotated in place (same paths) are read again: the next probe
// presents the new identity. Rotated files that do not load leave the last identity that did.
TEST_F(TlsProbeTest, RotatedClientIdentityIsReadAgain) {
  serve().require_client_certificate();
  TlsClientSettings client{.certificate = path("rotating.pem"), .key = path("rotating-key.pem")};
  client_identity_.write_certificate(client.certificate);
  client_identity_.write_key(client.key);
  auto result = probe(https(client));
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_EQ(server_->count(), 1U);
  EXPECT_EQ(server_->served(0).client_certificate_cn, "vigil-client");

  const Identity rotated{"vigil-rotated", "client.example", 5};
  rotated.write_certificate(client.certificate);
  rotated.write_key(client.key);
  result = probe(https(client));
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_EQ(server_->count(), 2U);
  EXPECT_EQ(server_->served(1).client_certificate_cn, "vigil-rotated");
  EXPECT_EQ(prober_.tls_contexts(), 1U);

  // A key that does not match: the rotated identity goes on.
  other_identity_.write_key(client.key);
  result = probe(https(client));
  EXPECT_TRUE(succeeded(result)) << describe(result);
  ASSERT_EQ(server_->count(), 3U);
  EXPECT_EQ(server_->served(2).client_certificate_cn, "vigil-rotated");
}

TEST_F(TlsProbeTest, SettingsThatCannotLoadAreNotRun) {
  serve();
  TlsClientSettings wrong_password{
      .certificate = path("client.pem"), .key = path("client-key.pem"), .password = "wrong"};
  auto result = probe(https(wrong_password));
  const auto* skipped = not_run(result);
  ASSERT_NE(skipped, nullptr) << describe(result);
  EXPECT_EQ(skipped->detail,
            "TLS: the password does not decrypt key " + path("client-key.pem") + "");

  result = probe(https({.ca = path("missing.pem")}));
  skipped = not_run(result);
  ASSERT_NE(skipped, nullptr) << describe(result);
  EXPECT_EQ(skipped->detail.rfind("TLS: ca " + path("missing.pem") + ": ", 0), 0U)
      << skipped->detail;
  EXPECT_EQ(server_->count(), 0U);  // nothing was connected
  EXPECT_EQ(prober_.tls_contexts(), 0U);
}

TEST_F(TlsProbeTest, AlpnListIsOffered) {
  serve();
  auto result = probe(https({.alpn = {"h2", "http/1.1"}}));
  EXPECT_TRUE(succeeded(result)) << describe(result);
  EXPECT_EQ(server_->served(0).alpn_offer, std::string("\x02h2\x08http/1.1"));
  EXPECT_TRUE(succeeded(probe(https())));
  EXPECT_EQ(server_->served(1).alpn_offer, "");
}

TEST_F(TlsProbeTest, OneContextPerDistinctSettings) {
  serve();
  EXPECT_TRUE(succeeded(probe(https())));
  EXPECT_TRUE(succeeded(probe(https())));
  EXPECT_EQ(prober_.tls_contexts(), 1U);
  EXPECT_TRUE(succeeded(probe(https({.resume_sessions = true}))));
  // The first context is no longer held by any probe: dropped when the second was made.
  EXPECT_EQ(prober_.tls_contexts(), 1U);
}

TEST_F(TlsProbeTest, FailingStatusOverTls) {
  serve({.head = "HTTP/1.1 500 Internal Server Error\r\n\r\n"});
  auto result = probe(https());
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail, "status 500 not in 200-299");
}

TEST_F(TlsProbeTest, PlainServerFailsTheHandshake) {
  // A plain HTTP server waits for a request while the client waits for its ServerHello; the test
  // makes it answer in plain text.
  HttpServer plain(loop_.io_context(), {.head = ""});
  std::optional<check::ProbeResult> result;
  prober_.start(https({}, 5s, plain.port()), [&](check::ProbeResult r) { result = std::move(r); });
  ASSERT_TRUE(run_until([&] { return plain.count() == 1; }));
  plain.connection(0).send("HTTP/1.0 400 Bad Request\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return result.has_value(); }));
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kBadReply);
  EXPECT_EQ(failure->detail.rfind("TLS handshake failed: ", 0), 0U) << failure->detail;
  EXPECT_EQ(prober_.counters().tls_handshakes, 0U);
}

TEST_F(TlsProbeTest, HandshakeSharesTheConnectTimeout) {
  // A server that accepts and never answers: keepalived's handshake runs on what is left of the
  // connect's connect_timeout.
  TcpServer silent(loop_.io_context(), "127.0.0.1");
  HttpProbe request = https({}, 2s, silent.port());
  std::optional<check::ProbeResult> result;
  prober_.start(request, [&](check::ProbeResult r) { result = std::move(r); });
  time_.advance(1s);  // before the loop even sees the connection complete
  // The ClientHello has arrived: the probe is in its handshake, with 1 s left.
  ASSERT_TRUE(run_until([&] { return silent.bytes_received() > 0; }));
  time_.advance(1s - 1us);
  EXPECT_FALSE(result.has_value()) << describe(result);
  time_.advance(1us);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kTimeout);
  EXPECT_EQ(failure->detail, "TLS handshake timed out after 2s");
}

// A loop fallen behind runs the handshake's timer before the handler of the server's flight,
// which arrived in time: the handshake goes on and the probe passes. The server here is OpenSSL
// on a socket the loop does not watch, driven by the test; the loop does not run between the
// server's flight and the deadline.
TEST_F(TlsProbeTest, HandshakeAnsweredBeforeALateTimerPasses) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_server_method()),
                                                            &SSL_CTX_free);
  ASSERT_EQ(SSL_CTX_use_certificate(context.get(), server_identity_.certificate.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(context.get(), server_identity_.key.get()), 1);
  std::unique_ptr<SSL, decltype(&SSL_free)> server_ssl(SSL_new(context.get()), &SSL_free);
  RawServer server;
  std::optional<check::ProbeResult> result;
  prober_.start(https({}, 1s, server.port()), [&](check::ProbeResult r) { result = std::move(r); });
  // Until the server has written its flight (after the client's ClientHello): then the loop
  // stops at once, before the client reads it.
  ASSERT_TRUE(run_until([&] {
    if (!server.accept()) return false;
    if (SSL_get_fd(server_ssl.get()) < 0) SSL_set_fd(server_ssl.get(), server.connection());
    SSL_accept(server_ssl.get());
    return BIO_number_written(SSL_get_wbio(server_ssl.get())) > 0;
  }));
  EXPECT_FALSE(result.has_value()) << describe(result);
  time_.advance(1s);  // the connect's connect_timeout, which bounds the handshake
  EXPECT_FALSE(result.has_value()) << describe(result);

  // The server finishes its handshake, reads the request and answers.
  bool answered = false;
  std::string request;
  ASSERT_TRUE(run_until([&] {
    if (!answered && SSL_accept(server_ssl.get()) == 1) {
      std::array<char, 4096> buffer{};
      const int n = SSL_read(server_ssl.get(), buffer.data(), static_cast<int>(buffer.size()));
      if (n > 0) request.append(buffer.data(), static_cast<size_t>(n));
      if (request.find("\r\n\r\n") != std::string::npos) {
        answered = SSL_write(server_ssl.get(), kOk, static_cast<int>(std::strlen(kOk))) > 0;
        SSL_shutdown(server_ssl.get());
        server.close_connection();
      }
    }
    return result.has_value();
  }));
  EXPECT_TRUE(answered);
  EXPECT_TRUE(succeeded(result)) << describe(result);
  EXPECT_EQ(prober_.counters().tls_handshakes, 1U);
}

TEST_F(TlsProbeTest, ReadsShareOneTimeoutFromTheFirstBytes) {
  // keepalived's ssl_read_thread re-registers with what is left: unlike HTTP_GET, a slow drip
  // over TLS has connect_timeout from the first response bytes, in all.
  serve({.head = "HTTP/1.0 200 OK\r\n", .keep_open = true});
  std::optional<check::ProbeResult> result;
  prober_.start(https({}, 1s), [&](check::ProbeResult r) { result = std::move(r); });
  ASSERT_TRUE(run_until([&] { return prober_.counters().response_bytes == 17; }));
  time_.advance(600ms);
  server_->connection(0).send("Content-Length: 2\r\n");
  ASSERT_TRUE(run_until([&] { return prober_.counters().response_bytes == 36; }));
  time_.advance(400ms - 1us);
  EXPECT_FALSE(result.has_value()) << describe(result);
  time_.advance(1us);
  const auto* failure = failed(result);
  ASSERT_NE(failure, nullptr) << describe(result);
  EXPECT_EQ(failure->reason, Reason::kTimeout);
  EXPECT_EQ(failure->detail, "read timed out after 1s");
}

}  // namespace
}  // namespace vigil::check_io
