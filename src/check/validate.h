// Checks of the config that need the checker code rather than the parser, run by `vigild -t`
// and at every start and reload (an error refuses the configuration; a reload keeps the old one):
// - every HTTP_GET/SSL_GET url regex compiled with PCRE2, so that a bad pattern is reported at
//   its line instead of the checker failing it at run time (keepalived 2.2.7's -t does not
//   compile them; at run time it logs "Invalid regex" and goes on);
// - SSL_GET's client identity loaded as the prober will load it (check/tls_identity.h): a wrong
//   password, an encrypted key without one, a key that does not match its certificate, a file
//   OpenSSL cannot load. At run time each would make every probe "not run", leaving the real
//   server up unchecked; keepalived 2.2.7 ends its checker process on such a global SSL block.
#pragma once

#include <vector>

#include "config/diagnostics.h"
#include "config/model.h"

namespace vigil::check {

// One error per url whose regex PCRE2 rejects, at the pattern's location (the url block's when
// the pattern's is unknown), in the order of the file: "regex 'a(' at offset 2: missing closing
// parenthesis". Identical patterns (with the same options) are compiled once.
std::vector<config::Diagnostic> compile_regexes(const config::Config& config);

// One error per client identity that does not load, at the offending keyword: the global SSL
// block's `certificate`, `key`, `password` or `ca` (checked when the configuration has an
// SSL_GET checker, as keepalived builds its context only then), and each SSL_GET's
// `client_certificate`, `client_key` or `client_key_password` (at every checker that names
// them). "'password': the password does not decrypt key /etc/k.pem".
std::vector<config::Diagnostic> check_tls_identities(const config::Config& config);

// All of the above, in that order.
std::vector<config::Diagnostic> check_config(const config::Config& config);

}  // namespace vigil::check
