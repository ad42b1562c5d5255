// The checker side's reload plan for people: which virtual servers, real servers and checkers a
// reload adds or removes and how many checkers keep their state, from the engine's own reload
// match (check::CheckEngine::preview_reload, the plan_reload() its load() follows). Pure.
#pragma once

#include "api/plan.h"
#include "check/engine.h"

namespace vigil::daemon {

api::PlanPart describe_checker_plan(const check::CheckEngine::ReloadPreview& preview);

}  // namespace vigil::daemon
