// Loading SSL_GET's client identity and trust into an OpenSSL client context: the certificate
// chain, its key (decrypted with the password), the pair checked against each other, and the CA
// file. One code path for the configuration check (check/validate.h: every load and reload,
// errors at the offending keyword) and for the prober's contexts (check_io/tls.h), so that a
// configuration that loads is one whose contexts load.
//
// keepalived 2.2.7 (check_ssl.c build_ssl_ctx) loads the same files in the same order and ends
// the checker process ("Terminate...") when one fails; it never checks that the key matches the
// certificate (OpenSSL then fails every handshake that sends the certificate). vigil refuses the
// configuration instead, a mismatched pair included.
#pragma once

#include <openssl/ssl.h>

#include <optional>
#include <string>

#include "check/probe.h"

namespace vigil::check {

// keepalived loads no OpenSSL configuration, so its contexts keep OpenSSL's built-in security
// level 1 (Debian's configuration raises it to 2).
constexpr int kTlsClientSecurityLevel = 1;

struct TlsIdentityError {
  enum class Field {
    kCertificate,  // cannot load the certificate chain
    kKey,          // cannot load the key, it is encrypted and no password is set, or it does
                   // not match the certificate
    kPassword,     // the password does not decrypt the key
    kCa,           // cannot load the CA file
  };
  Field field;
  std::string message;  // "the password does not decrypt key /x.pem"
};

// Loads `settings`' certificate, key and CA into `ctx` (what is empty is skipped). The OpenSSL
// error queue is cleared.
std::optional<TlsIdentityError> load_client_identity(SSL_CTX* ctx,
                                                     const TlsClientSettings& settings);

}  // namespace vigil::check
