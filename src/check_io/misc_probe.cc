// MISC_CHECK: the script runs through the injected event::ScriptRunner (no shell, its own process
// group, killed at its timeout or when the probe is cancelled); its end becomes the probe's result
// (misc.h).
#include <utility>

#include "check/checker.h"
#include "check_io/misc.h"
#include "check_io/probe_run.h"
#include "common/overloaded.h"
#include "event/script_runner.h"

namespace vigil::check_io {

using check::ProbeFailed;
using check::ProbeNotRun;
using check::ProbeSucceeded;
using check::Reason;
using Outcome = event::ScriptResult::Outcome;

check::ProbeResult misc_result(const event::ScriptResult& result, bool dynamic, Duration timeout) {
  switch (result.outcome) {
    case Outcome::kExited: {
      check::Event event = check::misc_exit_event(result.exit_code, dynamic);
      if (auto* passed = std::get_if<ProbeSucceeded>(&event)) return *passed;
      return std::get<ProbeFailed>(event);
    }
    case Outcome::kSignaled:
      return ProbeFailed{.reason = Reason::kScriptSignal, .detail = event::describe(result)};
    case Outcome::kTimedOut:
      return ProbeFailed{.reason = Reason::kScriptTimeout,
                         .detail = event::describe(result, timeout)};
    case Outcome::kExecFailed:
    case Outcome::kSpawnFailed:
      return ProbeNotRun{.detail = event::describe(result)};
  }
  return ProbeNotRun{.detail = "unknown script outcome"};
}

namespace {

class MiscRun final : public ProbeRun {
 public:
  MiscRun(AsioProber::Core& core, check::ProbeId id, const check::MiscProbe& probe)
      : ProbeRun(core, id, "MISC " + probe.name), probe_(probe) {}

  void begin() override {
    event::ScriptRequest request{
        .name = probe_.name,
        .argv = probe_.argv,
        .run_as = probe_.run_as,
        .timeout = probe_.timeout,
    };
    script_ = core_.scripts.start(std::move(request),
                                  [weak = weak_from_this()](const event::ScriptResult& result) {
                                    if (auto self = weak.lock())
                                      static_cast<MiscRun&>(*self).on_end(result);
                                  });
  }

 private:
  void on_end(const event::ScriptResult& result) {
    script_ = 0;
    if (over()) return;
    finish(misc_result(result, probe_.dynamic, probe_.timeout));
  }
  // Cancelled (a reload removed or changed the checker, or the prober stops): the script's
  // process group is ended as at its timeout (SIGTERM, then SIGKILL after the runner's grace)
  // instead of running on to misc_timeout; the runner still reaps it.
  void close() override {
    if (script_ != 0) core_.scripts.cancel(std::exchange(script_, 0));
  }

  check::MiscProbe probe_;
  event::ScriptId script_ = 0;
};

}  // namespace

std::shared_ptr<ProbeRun> make_misc_run(AsioProber::Core& core, check::ProbeId id,
                                        const check::MiscProbe& probe) {
  return std::make_shared<MiscRun>(core, id, probe);
}

}  // namespace vigil::check_io
