// Config checks that need the checker code; see validate.h.
#include "check/validate.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "check/http.h"
#include "check/tls_identity.h"

namespace vigil::check {

std::vector<config::Diagnostic> compile_regexes(const config::Config& config) {
  std::vector<config::Diagnostic> out;
  // (pattern, options) -> the compile error, or nullopt when it compiles. Large configs repeat
  // one regex on thousands of real servers.
  std::map<std::pair<std::string, std::vector<std::string>>, std::optional<std::string>> seen;
  for (const auto& vs : config.lvs.virtual_servers) {
    for (const auto& rs : vs.real_servers) {
      for (const auto& checker : rs.checkers) {
        const auto* http = checker.as<config::HttpCheck>();
        if (http == nullptr) continue;
        for (const auto& url : http->urls) {
          if (url.regex.empty()) continue;
          auto [it, inserted] = seen.try_emplace({url.regex, url.regex_options});
          if (inserted) {
            auto made = HttpUrlCheck::make(url);
            if (!made.ok()) it->second = made.error().message;
          }
          if (!it->second) continue;
          const config::SourceLocation at =
              url.regex_loc == config::SourceLocation{} ? url.loc : url.regex_loc;
          out.push_back({config::Severity::kError, at, *it->second});
        }
      }
    }
  }
  return out;
}

namespace {

struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

// Loads `settings` into a fresh client context, as check_io::TlsClientContext does.
std::optional<TlsIdentityError> try_identity(const TlsClientSettings& settings) {
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx)
    return TlsIdentityError{TlsIdentityError::Field::kCertificate, "cannot create a TLS context"};
  SSL_CTX_set_security_level(ctx.get(), kTlsClientSecurityLevel);
  return load_client_identity(ctx.get(), settings);
}

// The keyword names and locations of one client identity, per field.
struct IdentityKeywords {
  const char* certificate;
  const char* key;
  const char* password;
  const char* ca;
  config::SourceLocation certificate_loc;
  config::SourceLocation key_loc;
  config::SourceLocation password_loc;
  config::SourceLocation ca_loc;
  config::SourceLocation fallback;  // the block's, should a keyword's be unknown
};

config::Diagnostic identity_error(const TlsIdentityError& error, const IdentityKeywords& where) {
  using Field = TlsIdentityError::Field;
  const char* keyword = where.key;
  config::SourceLocation at = where.key_loc;
  switch (error.field) {
    case Field::kCertificate:
      keyword = where.certificate;
      at = where.certificate_loc;
      break;
    case Field::kKey:
      break;
    case Field::kPassword:
      keyword = where.password;
      at = where.password_loc;
      break;
    case Field::kCa:
      keyword = where.ca;
      at = where.ca_loc;
      break;
  }
  if (at == config::SourceLocation{}) at = where.fallback;
  return {config::Severity::kError, at, std::string("'") + keyword + "': " + error.message};
}

}  // namespace

std::vector<config::Diagnostic> check_tls_identities(const config::Config& config) {
  std::vector<config::Diagnostic> out;
  // Thousands of checkers often name the same files: each identity is loaded once.
  std::map<std::tuple<std::string, std::string, std::string>, std::optional<TlsIdentityError>> seen;
  bool has_ssl_get = false;
  for (const auto& vs : config.lvs.virtual_servers) {
    for (const auto& rs : vs.real_servers) {
      for (const auto& checker : rs.checkers) {
        if (checker.type != config::CheckerType::kSsl) continue;
        has_ssl_get = true;
        const auto* http = checker.as<config::HttpCheck>();
        if (http == nullptr || !http->client_tls) continue;
        const config::ClientTls& own = *http->client_tls;
        // The parser reports a certificate without its key (and the reverse).
        if (own.certificate.empty() || own.key.empty()) continue;
        auto [it, inserted] = seen.try_emplace({own.certificate, own.key, own.password});
        if (inserted) {
          it->second = try_identity(
              {.certificate = own.certificate, .key = own.key, .password = own.password});
        }
        if (!it->second) continue;
        out.push_back(identity_error(*it->second, {.certificate = "client_certificate",
                                                   .key = "client_key",
                                                   .password = "client_key_password",
                                                   .ca = "ca",
                                                   .certificate_loc = own.certificate_loc,
                                                   .key_loc = own.key_loc,
                                                   .password_loc = own.password_loc,
                                                   .fallback = checker.loc}));
      }
    }
  }
  if (has_ssl_get && config.lvs.ssl) {
    const config::SslConfig& ssl = *config.lvs.ssl;
    if (auto failed = try_identity({.ca = ssl.ca,
                                    .certificate = ssl.certificate,
                                    .key = ssl.key,
                                    .password = ssl.password})) {
      out.push_back(identity_error(*failed, {.certificate = "certificate",
                                             .key = "key",
                                             .password = "password",
                                             .ca = "ca",
                                             .certificate_loc = ssl.certificate_loc,
                                             .key_loc = ssl.key_loc,
                                             .password_loc = ssl.password_loc,
                                             .ca_loc = ssl.ca_loc,
                                             .fallback = ssl.loc}));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.location.file, a.location.line, a.location.column) <
           std::tie(b.location.file, b.location.line, b.location.column);
  });
  return out;
}

std::vector<config::Diagnostic> check_config(const config::Config& config) {
  std::vector<config::Diagnostic> out = compile_regexes(config);
  std::vector<config::Diagnostic> tls = check_tls_identities(config);
  out.insert(out.end(), std::make_move_iterator(tls.begin()), std::make_move_iterator(tls.end()));
  return out;
}

}  // namespace vigil::check
