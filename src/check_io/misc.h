// MISC_CHECK's result from its script's end (keepalived 2.2.7 check_misc.c
// misc_check_child_thread), as a pure function so that the table is tested without processes.
//
// - exited 0 passes; with misc_dynamic so does 2..255 (exit_status carries the weight's source);
//   any other status fails: "exited with status N" (check::misc_exit_event);
// - killed by a signal fails (kScriptSignal), ran past its timeout fails (kScriptTimeout);
// - could not be executed or started: not run. keepalived's child exits 0 when execve fails
//   ("script errors aren't server errors"), so a missing script passes there; vigil neither
//   passes nor fails the real server for it: the checker keeps its state and reschedules, as for
//   any local failure (and script security drops a missing script at load anyway).
#pragma once

#include "check/probe.h"
#include "common/time.h"
#include "event/script_runner.h"

namespace vigil::check_io {

check::ProbeResult misc_result(const event::ScriptResult& result, bool dynamic, Duration timeout);

}  // namespace vigil::check_io
