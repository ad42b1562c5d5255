// A bounded wait for scripts at shutdown: notify scripts started by the last verdicts (omega's
// notify_down / quorum_down) get a little time to finish before their runner is destroyed, which
// kills what is left. Polled on the loop's scheduler (no thread blocks on the loop's behalf), so
// tests run it in virtual time.
#pragma once

#include <functional>

#include "common/time.h"

namespace vigil::daemon {

// Calls `done` once `idle()` is true, checked now and then every `step`, and after `grace` at
// the latest. `done` runs exactly once, on the scheduler's thread (inline when idle at once).
void when_idle_or_after(Scheduler& scheduler, std::function<bool()> idle, Duration grace,
                        Duration step, std::function<void()> done);

}  // namespace vigil::daemon
