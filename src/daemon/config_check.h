// `vigild -t` and `vigild --dump-config` (also `vigilctl check-config` / `dump-config`).
#pragma once

#include <iosfwd>
#include <string>

namespace vigil::daemon {

// keepalived's `-t` exit codes.
enum ConfigTestExit : int { kConfigOk = 0, kConfigCannotRun = 4, kConfigErrors = 5 };

struct ConfigCheckRequest {
  std::string file;
  std::string config_id;
  bool dump_json = false;  // print the model as JSON on `out` when the config has no errors
};

// Reads and validates the file, prints every diagnostic on `err` ("file:line:col: error: ...")
// and a summary line, and returns the exit code.
int run_config_check(const ConfigCheckRequest& request, std::ostream& out, std::ostream& err);

}  // namespace vigil::daemon
