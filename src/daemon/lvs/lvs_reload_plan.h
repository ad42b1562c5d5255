// The IPVS side's reload plan for people: the operations LvsController::plan_update() gives (the
// ones its update() then sends), each with what it changes in the table as vigil last saw it,
// the live connections a removal cuts, and a warning when a service is deleted and added again
// (its established connections are dropped). The overrides a reload orphans or drops. Pure.
#pragma once

#include <vector>

#include "api/plan.h"
#include "datapath/datapath.h"
#include "lvs/overrides.h"

namespace vigil::daemon {

// `counters`: where the connection counts come from (a fresh dump; null: `known`'s, as old as
// the last full pass).
api::PlanPart describe_ipvs_plan(const datapath::Table& known,
                                 const std::vector<datapath::Operation>& operations,
                                 const datapath::Table* counters = nullptr);

// `before`: the overrides with the running configuration; `after`: the same after the reload's
// prune, listed against the new configuration; `dropped`: what the prune dropped.
api::PlanPart describe_override_plan(const std::vector<lvs::OverrideEntry>& before,
                                     const std::vector<lvs::OverrideEntry>& after,
                                     const std::vector<lvs::DroppedOverride>& dropped);

}  // namespace vigil::daemon
