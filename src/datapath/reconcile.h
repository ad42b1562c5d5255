// The pure core of IPVS programming: compare what the kernel holds with what vigil wants and
// return the fewest operations that make them equal, ordered so that traffic keeps flowing.
//
// Ownership: vigil owns the services its config names (the desired table's keys) and those it
// created earlier that the config has since dropped (Ownership). Services it does not own are
// foreign (another tool's, or an operator's) and are left alone unless flush_foreign is set
// (keepalived's lvs_flush). Inside an owned service vigil owns every destination: one added by
// hand is removed, one edited by hand is repaired.
//
// Order: first everything that adds or keeps capacity (new services with their destinations,
// SET_SERVICE / SET_DEST edits, new destinations), then removals (destinations of services that
// stay, then services). A service that goes is deleted once, which drops its destinations.
// Only the key cannot be edited in place; a changed key is a different service or destination,
// so it is an add of the new one followed by a delete of the old.
#pragma once

#include <set>
#include <span>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/model.h"

namespace vigil::datapath {

// Services vigil created or adopted earlier, beyond those the current desired table names
// (which are always owned).
struct Ownership {
  std::set<ServiceKey> services;
  [[nodiscard]] bool contains(const ServiceKey& key) const { return services.contains(key); }
};

struct ReconcileOptions {
  // keepalived's lvs_flush: also delete services vigil does not own. Matching owned entries are
  // still adopted, never flushed and re-added, so their connections survive.
  bool flush_foreign = false;
};

// Operations that turn `actual` into `desired` for what vigil owns. Entries of `actual` that
// already match are left untouched (adoption on restart): equal tables give no operations.
std::vector<Operation> reconcile(const Table& actual, const Table& desired, const Ownership& owned,
                                 const ReconcileOptions& options = {});

// What vigil owns after applying `operations` (planned by reconcile against `actual`, with
// `results` from Datapath::apply): the desired keys, plus previously owned services that still
// exist because their delete failed or was not attempted.
Ownership next_ownership(const Table& actual, const Table& desired, const Ownership& previous,
                         std::span<const Operation> operations, std::span<const OpResult> results);

enum class ShutdownMode {
  kRemoveOwned,  // keepalived's default: delete the services vigil owns
  kFlushAll,     // lvs_flush_on_stop: flush the whole table
  kKeepAll,      // like keepalived -I: leave the tables as they are
};

// Operations for vigild stopping. `owned` must include the current desired keys.
std::vector<Operation> plan_shutdown(const Table& actual, const Ownership& owned,
                                     ShutdownMode mode);

}  // namespace vigil::datapath
