// The exit codes of vigild and vigilctl: one table, without collisions (docs/operations.md "Exit
// codes" and the man pages repeat it). A configuration that cannot be read or has errors gives
// the same code from either program, so a script can run `vigild -t` or `vigilctl config check`
// alike, and the systemd unit refuses to restart on them (RestartPreventExitStatus=2 4 5).
#pragma once

namespace vigil::control {

enum DaemonExit : int {
  kDaemonOk = 0,              // a clean stop (or -t / --dump-config with nothing to report)
  kDaemonRuntimeFailure = 1,  // cannot start or keep running: IPVS missing, namespace, pid file
  kDaemonUsage = 2,           // bad flags
  kDaemonConfigUnreadable = 4,
  kDaemonConfigErrors = 5,
  kDaemonScriptSecurity = 6,  // -t only: scripts without enable_script_security
};

enum CtlExit : int {
  kCtlOk = 0,  // ok, healthy, no change pending
  kCtlDegraded = 1,
  kCtlUsage = 2,
  kCtlUnreachable = 3,  // no socket, refused, timed out
  kCtlConfigUnreadable = 4,
  kCtlConfigErrors = 5,
  kCtlScriptSecurity = 6,
  kCtlChangesPending = 7,  // reload --dry-run
  kCtlRefused = 8,         // read-only socket, permission, bad request, unknown target
  kCtlCannotRun = 9,       // doctor: the host's state cannot be gathered (/proc, /sys)
  kCtlNotInstalled = 10,   // vigilctl-local (config check/show, doctor, genhash) is missing
};

// The configuration check's codes are the same numbers in both tables.
static_assert(static_cast<int>(kDaemonConfigUnreadable) == static_cast<int>(kCtlConfigUnreadable));
static_assert(static_cast<int>(kDaemonConfigErrors) == static_cast<int>(kCtlConfigErrors));
static_assert(static_cast<int>(kDaemonScriptSecurity) == static_cast<int>(kCtlScriptSecurity));

}  // namespace vigil::control
