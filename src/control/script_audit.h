// Script security for a whole configuration, as keepalived applies it at start, at every reload
// and in `-t`: every script the configuration names is judged (common/script_security.h) for
// the user it runs as, and the configuration that runs is the one that comes out:
// - a refused vrrp_script (insecure under enable_script_security, missing, wrong type, not
//   executable, or its user unknown) is removed, and so is every track_script line naming it:
//   the instances and sync groups run as if they did not track it (no weight, no FAULT);
// - a refused notify, notify FIFO or LVS script is removed: it is not run;
// - every script kept runs by its resolved path (symbolic links resolved when judged), so that
//   a link swapped afterwards is never followed;
// - with no script_user, the default user is keepalived_script where it exists, else root; under
//   enable_script_security a missing keepalived_script refuses every script without a user.
// Each refusal is one diagnostic at the script's file:line. keepalived's `-t` verdicts: errors
// (exit 5) for track scripts and LVS checker scripts refused, warnings (exit 0) for notify
// scripts; scripts configured without enable_script_security make `-t` exit 6.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/run_as.h"
#include "common/script_security.h"
#include "config/diagnostics.h"
#include "config/model.h"

namespace vigil::control {

// keepalived's default script user.
inline constexpr const char* kDefaultScriptUser = "keepalived_script";

struct ScriptAuditEnvironment {
  const script_security::FileInspector& files;
  std::function<Result<RunAs>(const std::string& user, const std::string& group)> resolve_user;
  std::string_view search_path = kScriptSearchPath;
};

struct ScriptAudit {
  config::Config config;            // what runs
  config::Diagnostics diagnostics;  // one per refused or insecure script
  // Scripts are configured but enable_script_security is not set (keepalived's "SECURITY
  // VIOLATION", `-t` exit 6).
  bool scripts_without_security = false;
  size_t refused = 0;
};

ScriptAudit audit_scripts(config::Config config, const ScriptAuditEnvironment& environment);

// The production environment: the real file system and NSS.
ScriptAuditEnvironment system_script_environment();

}  // namespace vigil::control
