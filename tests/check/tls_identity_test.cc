// check::check_tls_identities: SSL_GET's client identity (the global SSL block and each checker's
// client_certificate / client_key / client_key_password) loaded at config time with real PEM
// files made here; each error at file:line:col of the offending keyword.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "check/validate.h"
#include "config/parser.h"

namespace vigil::check {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};

// A self-signed certificate and its key.
struct Identity {
  std::unique_ptr<EVP_PKEY, KeyFree> key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  std::unique_ptr<X509, X509Free> certificate{X509_new()};

  explicit Identity(const char* common_name) {
    X509* x = certificate.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, key.get());
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
    X509_set_issuer_name(x, name);
    EXPECT_GT(X509_sign(x, key.get(), EVP_sha256()), 0);
  }
  void write_certificate(const std::string& path) const {
    FILE* file = std::fopen(path.c_str(), "w");
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(PEM_write_X509(file, certificate.get()), 1);
    std::fclose(file);
  }
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

class TlsIdentityTest : public ::testing::Test {
 protected:
  TlsIdentityTest() {
    std::string pattern = ::testing::TempDir() + "check_tls_identity.XXXXXX";
    dir_ = mkdtemp(pattern.data()) ? pattern : std::string();
    client_.write_certificate(path("client.pem"));
    client_.write_key(path("client-key.pem"), "s3cret");
    client_.write_key(path("client-plain-key.pem"));
    other_.write_key(path("other-key.pem"));
    other_.write_certificate(path("ca.pem"));
  }
  ~TlsIdentityTest() override { std::filesystem::remove_all(dir_); }

  [[nodiscard]] std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // "file:line:col: message" of each error check_tls_identities reports for `text`.
  static std::vector<std::string> errors(const std::string& text) {
    auto parsed = config::parse_text("test.conf", text);
    EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
    std::vector<std::string> out;
    for (const auto& d : check_tls_identities(parsed->config)) {
      EXPECT_EQ(d.severity, config::Severity::kError);
      out.push_back(parsed->files.format(d.location) + ": " + d.message);
    }
    return out;
  }

  // An SSL block (from line 1) with `ssl` lines, then one SSL_GET checker with `checker` lines.
  // The SSL block takes 2 + its lines; the checker's own lines start 10 lines after it.
  static std::string config(const std::vector<std::string>& ssl,
                            const std::vector<std::string>& checker) {
    std::string text;
    if (!ssl.empty()) {
      text += "SSL {\n";
      for (const auto& line : ssl)
        text += "  " + line + "\n";
      text += "}\n";
    }
    text +=
        "virtual_server 10.0.0.100 443 {\n"
        "  lvs_sched rr\n"
        "  lvs_method NAT\n"
        "  protocol TCP\n"
        "  real_server 10.0.0.1 443 {\n"
        "    SSL_GET {\n"
        "      url {\n"
        "        path /\n"
        "      }\n";
    for (const auto& line : checker)
      text += "      " + line + "\n";
    text += "    }\n  }\n}\n";
    return text;
  }

  std::string dir_;
  Identity client_{"vigil-client"};
  Identity other_{"other"};
};

TEST_F(TlsIdentityTest, GoodIdentitiesLoad) {
  EXPECT_EQ(errors(config({"certificate " + path("client.pem"), "key " + path("client-key.pem"),
                           "password s3cret", "ca " + path("ca.pem")},
                          {})),
            std::vector<std::string>{});
  EXPECT_EQ(
      errors(config({}, {"client_certificate " + path("client.pem"),
                         "client_key " + path("client-key.pem"), "client_key_password s3cret"})),
      std::vector<std::string>{});
}

TEST_F(TlsIdentityTest, GlobalBlockErrorsAtTheirKeyword) {
  // Wrong password: at `password` (line 4, column 3).
  EXPECT_EQ(errors(config({"certificate " + path("client.pem"), "key " + path("client-key.pem"),
                           "password wrong"},
                          {})),
            std::vector<std::string>{"test.conf:4:3: 'password': the password does not decrypt "
                                     "key " +
                                     path("client-key.pem") + ""});
  // An encrypted key and no password: at `key`.
  EXPECT_EQ(
      errors(config({"certificate " + path("client.pem"), "key " + path("client-key.pem")}, {})),
      std::vector<std::string>{"test.conf:3:3: 'key': key " + path("client-key.pem") +
                               " is encrypted and no password is set"});
  // A key that is not the certificate's: at `key`.
  EXPECT_EQ(errors(config({"ca " + path("ca.pem"), "certificate " + path("client.pem"),
                           "key " + path("other-key.pem")},
                          {})),
            std::vector<std::string>{"test.conf:4:3: 'key': key " + path("other-key.pem") +
                                     " does not match certificate " + path("client.pem")});
  // A certificate that is not one: at `certificate`; a missing CA file: at `ca`.
  std::vector<std::string> bad_certificate =
      errors(config({"certificate " + path("client-plain-key.pem")}, {}));
  ASSERT_EQ(bad_certificate.size(), 1U);
  EXPECT_EQ(
      bad_certificate[0].rfind(
          "test.conf:2:3: 'certificate': certificate " + path("client-plain-key.pem") + ": ", 0),
      0U)
      << bad_certificate[0];
  std::vector<std::string> missing_ca = errors(config({"ca " + path("missing.pem")}, {}));
  ASSERT_EQ(missing_ca.size(), 1U);
  EXPECT_EQ(missing_ca[0],
            "test.conf:2:3: 'ca': ca " + path("missing.pem") + ": No such file or directory");
  // A file that cannot be read names the system's reason, not OpenSSL's "system lib".
  EXPECT_EQ(
      errors(config({"certificate " + path("missing.pem"), "key " + path("client-key.pem")}, {})),
      std::vector<std::string>{"test.conf:2:3: 'certificate': certificate " + path("missing.pem") +
                               ": No such file or directory"});
}

TEST_F(TlsIdentityTest, GlobalBlockIsCheckedOnlyWithAnSslGetChecker) {
  // As keepalived, which builds its SSL context only for SSL_GET checkers.
  const std::string text = "SSL {\n  certificate " + path("client.pem") + "\n  key " +
                           path("client-key.pem") + "\n  password wrong\n}\n";
  EXPECT_EQ(errors(text), std::vector<std::string>{});
}

TEST_F(TlsIdentityTest, CheckerIdentityErrorsAtTheirKeyword) {
  // The checker's lines start at line 10 (column 7).
  EXPECT_EQ(
      errors(config({}, {"client_certificate " + path("client.pem"),
                         "client_key " + path("client-key.pem"), "client_key_password wrong"})),
      std::vector<std::string>{"test.conf:12:7: 'client_key_password': the password does "
                               "not decrypt key " +
                               path("client-key.pem") + ""});
  EXPECT_EQ(errors(config({}, {"client_certificate " + path("client.pem"),
                               "client_key " + path("other-key.pem")})),
            std::vector<std::string>{"test.conf:11:7: 'client_key': key " + path("other-key.pem") +
                                     " does not match certificate " + path("client.pem")});
}

TEST_F(TlsIdentityTest, PasswordWithoutKeyIsReportedAtThePassword) {
  auto parsed = config::parse_text("test.conf", config({}, {"client_key_password s3cret"}));
  ASSERT_FALSE(parsed->ok());
  EXPECT_EQ(parsed->diagnostics.format(parsed->files),
            "test.conf:10:7: error: SSL_GET: 'client_key_password' without 'client_key'\n");
}

}  // namespace
}  // namespace vigil::check
