// SSL_GET's client side: one OpenSSL client context per distinct check::TlsClientSettings, shared
// by every probe with those settings, holding the sessions kept for resumption.
//
// keepalived 2.2.7 (check_ssl.c) builds one context from the global SSL block: the client
// certificate chain, its key (decrypted with `password`) and the CA file are loaded, the verify
// depth is 1 and SSL_CTX_set_verify is never called, so nothing is verified. vigil does the same
// unless `verify` is set: then the chain is verified against `ca` (the system store when empty)
// and the name against the probe's verify_name, at OpenSSL's default depth. The security level
// is 1 as in keepalived, which does not load the system OpenSSL configuration (Debian's raises it
// to 2 and would refuse servers keepalived accepts).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "check/probe.h"
#include "common/result.h"

namespace vigil::check_io {

class TlsClientContext {
 public:
  // Fails when a file cannot be loaded ("certificate /x.pem: ..."): a local failure.
  static Result<std::shared_ptr<TlsClientContext>> make(const check::TlsClientSettings& settings);
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  [[nodiscard]] const check::TlsClientSettings& settings() const { return settings_; }
  [[nodiscard]] boost::asio::ssl::context& context() { return context_; }

  // Readies `ssl` for one handshake: SNI (when not empty), the name to verify (with `verify`; an
  // IP address is matched as one), and, with resume_sessions, the session last kept for
  // `session_key` plus the hook that keeps the next one. `session_key` must outlive `ssl`'s
  // handshake and reads (the probe owns both).
  Status prepare(SSL* ssl, const std::string* session_key, const std::string& sni,
                 const std::string& verify_name);

  // Sessions kept for resumption.
  [[nodiscard]] size_t sessions() const { return sessions_.size(); }

  // At most this many targets' sessions are kept; one more empties the map (reloads that change
  // targets would otherwise grow it forever).
  static constexpr size_t kMaxSessions = 65536;

 private:
  explicit TlsClientContext(const check::TlsClientSettings& settings);
  Status load();
  // OpenSSL's new-session callback: keeps the session (TLS 1.3 tickets arrive after the
  // handshake, while the response is read).
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

  struct SessionFree {
    void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
  };
  using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

  check::TlsClientSettings settings_;
  boost::asio::ssl::context context_;
  std::map<std::string, SessionPtr> sessions_;
};

// What identifies the files of a context's settings (certificate, key, CA) as they are on disk:
// device, inode, size, mtime and ctime of each (zeros for a file that is absent or not named). A
// file rotated in place, or replaced by a rename, changes it.
struct TlsFilesStamp {
  struct File {
    uint64_t device = 0;
    uint64_t inode = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool operator==(const File&) const = default;
  };
  File certificate;
  File key;
  File ca;
  bool operator==(const TlsFilesStamp&) const = default;
  static TlsFilesStamp of(const check::TlsClientSettings& settings);
};

// The contexts in use, one per distinct settings value and the files' stamp.
class TlsContextCache {
 public:
  // The context for `settings`, made on first use and made again (its files re-read) when their
  // stamp changed: a certificate or key rotated in place is used from the next probe on. When
  // the new files fail to load, the last context that loaded for the same settings goes on
  // (logged once per stamp; a reload with such files is refused by the configuration check).
  // A context no probe holds any more is dropped when another is made; a context that fails to
  // load with no earlier one is not kept (the next probe retries).
  Result<std::shared_ptr<TlsClientContext>> get(const check::TlsClientSettings& settings);
  [[nodiscard]] size_t size() const { return contexts_.size(); }

 private:
  struct Entry {
    std::shared_ptr<TlsClientContext> context;
    TlsFilesStamp stamp;         // of the files `context` was loaded from
    TlsFilesStamp failed_stamp;  // files that failed to load: not retried until they change
    bool failed = false;
  };
  std::vector<Entry> contexts_;
};

// The last OpenSSL error queued for this thread ("certificate verify failed"), and clears the
// queue; `fallback` when there is none.
std::string openssl_error_text(std::string_view fallback);

}  // namespace vigil::check_io
