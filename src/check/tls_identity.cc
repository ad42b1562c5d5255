// SSL_GET's client identity loaded into an OpenSSL context (see tls_identity.h).
#include "check/tls_identity.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cstring>

namespace vigil::check {

namespace {

// Why OpenSSL failed, and clears its error queue: the operating system's reason where a file
// could not be read ("No such file or directory"; OpenSSL's own last error then only says
// "system lib"), else the last error queued ("bad decrypt").
std::string openssl_reason(const char* fallback) {
  unsigned long last = 0;
  int system_error = 0;
  while (const unsigned long error = ERR_get_error()) {
    if (ERR_SYSTEM_ERROR(error) && system_error == 0) system_error = ERR_GET_REASON(error);
    last = error;
  }
  if (system_error != 0) return std::strerror(system_error);
  if (last == 0) return fallback;
  if (const char* reason = ERR_reason_error_string(last)) return reason;
  char text[256];
  ERR_error_string_n(last, text, sizeof(text));
  return text;
}

struct PasswordAsked {
  const std::string* password;
  bool asked = false;
};

// keepalived's password_cb: the password decrypts the key. Never OpenSSL's default, which would
// prompt on a terminal for an encrypted key without a password.
int password_callback(char* buffer, int size, int /*rwflag*/, void* userdata) {
  auto* state = static_cast<PasswordAsked*>(userdata);
  state->asked = true;
  const std::string& password = *state->password;
  if (password.empty() || password.size() + 1 > static_cast<size_t>(size)) return 0;
  std::memcpy(buffer, password.c_str(), password.size() + 1);
  return static_cast<int>(password.size());
}

}  // namespace

std::optional<TlsIdentityError> load_client_identity(SSL_CTX* ctx,
                                                     const TlsClientSettings& settings) {
  using Field = TlsIdentityError::Field;
  ERR_clear_error();
  if (!settings.certificate.empty() &&
      SSL_CTX_use_certificate_chain_file(ctx, settings.certificate.c_str()) != 1) {
    return TlsIdentityError{Field::kCertificate, "certificate " + settings.certificate + ": " +
                                                     openssl_reason("cannot load")};
  }
  if (!settings.key.empty()) {
    // The callback is installed only while the key loads: asio's context frees the userdata of
    // the callback it installs as its own.
    PasswordAsked state{.password = &settings.password};
    SSL_CTX_set_default_passwd_cb_userdata(ctx, &state);
    SSL_CTX_set_default_passwd_cb(ctx, password_callback);
    const bool loaded =
        SSL_CTX_use_PrivateKey_file(ctx, settings.key.c_str(), SSL_FILETYPE_PEM) == 1;
    SSL_CTX_set_default_passwd_cb(ctx, nullptr);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);
    if (!loaded) {
      const unsigned long last = ERR_peek_last_error();
      const std::string reason = openssl_reason("cannot load");
      if (state.asked && settings.password.empty())
        return TlsIdentityError{Field::kKey,
                                "key " + settings.key + " is encrypted and no password is set"};
      if (state.asked)
        return TlsIdentityError{Field::kPassword,
                                "the password does not decrypt key " + settings.key};
      // OpenSSL checks the key against the certificate loaded before it.
      if (ERR_GET_REASON(last) == X509_R_KEY_VALUES_MISMATCH)
        return TlsIdentityError{
            Field::kKey,
            "key " + settings.key + " does not match certificate " + settings.certificate};
      return TlsIdentityError{Field::kKey, "key " + settings.key + ": " + reason};
    }
    if (!settings.certificate.empty() && SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      return TlsIdentityError{Field::kKey, "key " + settings.key + " does not match certificate " +
                                               settings.certificate};
    }
  }
  if (!settings.ca.empty() &&
      SSL_CTX_load_verify_locations(ctx, settings.ca.c_str(), nullptr) != 1) {
    return TlsIdentityError{Field::kCa, "ca " + settings.ca + ": " + openssl_reason("cannot load")};
  }
  return std::nullopt;
}

}  // namespace vigil::check
