// SSL_GET client contexts and the sessions they keep (see tls.h).
#include "check_io/tls.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <exception>

#include "check/tls_identity.h"
#include "common/ip_address.h"
#include "common/log.h"

namespace vigil::check_io {

namespace {

// Where OpenSSL objects point back at ours: the context on its SSL_CTX, the session key on each
// SSL that resumes.
// (Index 0 is OpenSSL's app_data, which asio's context uses for its verify callback; new
// indices start above it.)
int context_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  assert(index > 0);
  return index;
}
int session_key_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// ALPN's wire form: each protocol name prefixed by its length.
std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& protocol : protocols) {
    if (protocol.empty() || protocol.size() > 255) continue;
    wire.push_back(static_cast<char>(protocol.size()));
    wire += protocol;
  }
  return wire;
}

}  // namespace

std::string openssl_error_text(std::string_view fallback) {
  const unsigned long error = ERR_peek_last_error();
  ERR_clear_error();
  if (error == 0) return std::string(fallback);
  if (const char* reason = ERR_reason_error_string(error)) return reason;
  char text[256];
  ERR_error_string_n(error, text, sizeof(text));
  return text;
}

TlsClientContext::TlsClientContext(const check::TlsClientSettings& settings)
    : settings_(settings), context_(boost::asio::ssl::context::tls_client) {}

Result<std::shared_ptr<TlsClientContext>> TlsClientContext::make(
    const check::TlsClientSettings& settings) {
  std::shared_ptr<TlsClientContext> context;
  try {
    context.reset(new TlsClientContext(settings));
  } catch (const std::exception& e) {
    return Error{std::string("cannot create a TLS context: ") + e.what()};
  }
  if (Status loaded = context->load(); !loaded) return loaded.error();
  return context;
}

Status TlsClientContext::load() {
  SSL_CTX* ctx = context_.native_handle();
  ERR_clear_error();
  SSL_CTX_set_security_level(ctx, check::kTlsClientSecurityLevel);
  // keepalived reads to EOF and takes a close without close_notify as the end of the response.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);

  if (auto failed = check::load_client_identity(ctx, settings_)) return Error{failed->message};

  if (settings_.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (settings_.ca.empty() && SSL_CTX_set_default_verify_paths(ctx) != 1)
      return Error{"the system CA store: " + openssl_error_text("cannot load")};
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_verify_depth(ctx, 1);
  }

  if (settings_.resume_sessions) {
    // Sessions are kept here, per target, never in OpenSSL's own cache.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &TlsClientContext::on_new_session);
    SSL_CTX_set_ex_data(ctx, context_index(), this);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }

  if (!settings_.alpn.empty()) {
    std::string wire = alpn_wire(settings_.alpn);
    // Returns 0 on success, unlike its neighbours.
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0)
      return Error{"alpn: " + openssl_error_text("cannot set the protocol list")};
  }
  return {};
}

Status TlsClientContext::prepare(SSL* ssl, const std::string* session_key, const std::string& sni,
                                 const std::string& verify_name) {
  if (!sni.empty() && SSL_set_tlsext_host_name(ssl, sni.c_str()) != 1)
    return Error{"sni " + sni + ": " + openssl_error_text("rejected")};
  if (settings_.verify && !verify_name.empty()) {
    int set = 0;
    if (IpAddress::parse(verify_name)) {
      set = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), verify_name.c_str());
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      set = SSL_set1_host(ssl, verify_name.c_str());
    }
    if (set != 1)
      return Error{"verify_name " + verify_name + ": " + openssl_error_text("rejected")};
  }
  if (settings_.resume_sessions && session_key != nullptr) {
    SSL_set_ex_data(ssl, session_key_index(), const_cast<std::string*>(session_key));
    auto kept = sessions_.find(*session_key);
    if (kept != sessions_.end() && SSL_SESSION_is_resumable(kept->second.get()) == 1)
      SSL_set_session(ssl, kept->second.get());
  }
  return {};
}

int TlsClientContext::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* self =
      static_cast<TlsClientContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
  const auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, session_key_index()));
  if (self == nullptr || key == nullptr) return 0;  // not ours to keep
  auto& sessions = self->sessions_;
  if (sessions.size() >= kMaxSessions && !sessions.contains(*key)) sessions.clear();
  sessions[*key] = SessionPtr(session);
  return 1;  // the reference is ours now
}

namespace {

TlsFilesStamp::File file_stamp(const std::string& path) {
  struct stat info {};
  if (path.empty() || ::stat(path.c_str(), &info) != 0) return {};
  return {
      .device = static_cast<uint64_t>(info.st_dev),
      .inode = static_cast<uint64_t>(info.st_ino),
      .size = static_cast<int64_t>(info.st_size),
      .mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
      .ctime_ns = static_cast<int64_t>(info.st_ctim.tv_sec) * 1'000'000'000 + info.st_ctim.tv_nsec};
}

spdlog::logger& logger() {
  static const auto instance = log::get("check");
  return *instance;
}

}  // namespace

TlsFilesStamp TlsFilesStamp::of(const check::TlsClientSettings& settings) {
  return {.certificate = file_stamp(settings.certificate),
          .key = file_stamp(settings.key),
          .ca = file_stamp(settings.ca)};
}

Result<std::shared_ptr<TlsClientContext>> TlsContextCache::get(
    const check::TlsClientSettings& settings) {
  const TlsFilesStamp stamp = TlsFilesStamp::of(settings);
  auto found = std::find_if(contexts_.begin(), contexts_.end(), [&](const Entry& entry) {
    return entry.context->settings() == settings;
  });
  if (found != contexts_.end()) {
    if (found->stamp == stamp || (found->failed && found->failed_stamp == stamp))
      return found->context;
  }
  auto made = TlsClientContext::make(settings);
  if (!made && found != contexts_.end()) {
    // Rotated files that do not load: the identity loaded before goes on.
    logger().warn("[SSL_GET] TLS: {}; going on with the files as loaded before",
                  made.error().message);
    found->failed = true;
    found->failed_stamp = stamp;
    return found->context;
  }
  if (!made) return made;
  if (found != contexts_.end()) {
    // Probes still running hold the old context; new ones take this one.
    *found = Entry{.context = *made, .stamp = stamp};
    return made;
  }
  // Settings a reload left behind: nothing but this cache holds their context.
  std::erase_if(contexts_, [](const Entry& entry) { return entry.context.use_count() == 1; });
  contexts_.push_back(Entry{.context = *made, .stamp = stamp});
  return made;
}

}  // namespace vigil::check_io
