// `vigild -t` and `vigild --dump-config` (also `vigilctl check-config` / `dump-config`), and the
// configuration file and id both read when none is given.
#pragma once

#include <iosfwd>
#include <string>

#include "control/script_audit.h"

namespace vigil::control {

// keepalived's `-t` exit codes. kConfigScriptSecurity: scripts are configured without
// enable_script_security (keepalived's "SECURITY VIOLATION"); it wins over kConfigErrors, as in
// keepalived, when both apply.
enum ConfigTestExit : int {
  kConfigOk = 0,
  kConfigCannotRun = 4,
  kConfigErrors = 5,
  kConfigScriptSecurity = 6,
};

struct ConfigCheckRequest {
  std::string file;
  std::string config_id;
  bool dump_json = false;  // print the model as JSON on `out` when the config has no errors
  // Where scripts are judged (script_audit.h); unset: the real file system and NSS.
  const ScriptAuditEnvironment* scripts = nullptr;
};

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
