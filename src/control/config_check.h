// `vigild -t` and `vigild --dump-config` (also `vigilctl check-config` / `dump-config`), and the
// configuration file and id both read when none is given.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "config/parser.h"
#include "control/exit_codes.h"
#include "control/script_audit.h"

namespace vigil::control {

// keepalived's `-t` exit codes (exit_codes.h). kConfigScriptSecurity: scripts are configured
// without enable_script_security (keepalived's "SECURITY VIOLATION"); it wins over kConfigErrors,
// as in keepalived, when both apply.
enum ConfigTestExit : int {
  kConfigOk = kDaemonOk,
  kConfigCannotRun = kDaemonConfigUnreadable,
  kConfigErrors = kDaemonConfigErrors,
  kConfigScriptSecurity = kDaemonScriptSecurity,
};

struct ConfigCheckRequest {
  std::string file;
  std::string config_id;
  bool dump_json = false;  // print the model as JSON on `out` when the config has no errors
  // Where scripts are judged (script_audit.h); unset: the real file system and NSS.
  const ScriptAuditEnvironment* scripts = nullptr;
};

// Why `file` cannot be read as a configuration (no such file, not a regular file, cannot be
// opened), or nullopt when it can. vigild -t and vigild's run mode exit kConfigCannotRun on it.
std::optional<std::string> unreadable_config(const std::string& file);

// For a command that needs a valid configuration (doctor, rs-setup): the parsed `file`, or the
// exit code (kCtlConfigUnreadable, kCtlConfigErrors) after printing why on `err`; `rejected`
// ends the line that says the configuration was rejected.
std::variant<std::unique_ptr<config::Parsed>, int> load_valid_config(const std::string& file,
                                                                     const std::string& config_id,
                                                                     std::string_view rejected,
                                                                     std::ostream& err);

// Reads and validates the file, judges its scripts as vigild would at start, prints every
// diagnostic on `err` ("file:line:col: error: ...") and a summary line, and returns the exit
// code.
int run_config_check(const ConfigCheckRequest& request, std::ostream& out, std::ostream& err);

// /etc/vigil/vigil.conf if it exists, else /etc/keepalived/keepalived.conf if that exists, else
// /etc/vigil/vigil.conf (so the error names vigil's own path).
std::string default_config_file();
// The host name up to its first dot (keepalived's default config id).
std::string short_host_name();

}  // namespace vigil::control
