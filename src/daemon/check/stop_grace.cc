// The bounded wait for scripts at shutdown (see stop_grace.h).
#include "daemon/check/stop_grace.h"

#include <algorithm>
#include <utility>

namespace vigil::daemon {

void when_idle_or_after(Scheduler& scheduler, std::function<bool()> idle, Duration grace,
                        Duration step, std::function<void()> done) {
  if (idle() || grace <= Duration::zero() || step <= Duration::zero()) {
    done();
    return;
  }
  const Duration wait = std::min(step, grace);
  scheduler.call_after(wait, [&scheduler, idle = std::move(idle), left = grace - wait, step,
                              done = std::move(done)]() mutable {
    when_idle_or_after(scheduler, std::move(idle), left, step, std::move(done));
  });
}

}  // namespace vigil::daemon
