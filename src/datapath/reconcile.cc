#include "datapath/reconcile.h"

#include <cassert>

namespace vigil::datapath {
namespace {

// Destinations of a service present on both sides: adds and edits now, deletes later.
void reconcile_destinations(const ServiceKey& service, const ServiceEntry& actual,
                            const ServiceEntry& desired, std::vector<Operation>& now,
                            std::vector<Operation>& later) {
  auto have = actual.destinations.begin();
  auto want = desired.destinations.begin();
  const auto have_end = actual.destinations.end();
  const auto want_end = desired.destinations.end();
  // One merge pass over the two sorted maps.
  while (have != have_end || want != want_end) {
    if (want == want_end || (have != have_end && have->first < want->first)) {
      later.emplace_back(DeleteDestination{service, have->first});
      ++have;
    } else if (have == have_end || want->first < have->first) {
      now.emplace_back(AddDestination{service, want->first, want->second});
      ++want;
    } else {
      if (!(have->second == want->second)) {
        now.emplace_back(EditDestination{service, want->first, want->second});
      }
      ++have;
      ++want;
    }
  }
}

void add_service(const ServiceKey& key, const ServiceEntry& desired, std::vector<Operation>& now) {
  now.emplace_back(AddService{key, desired.service});
  for (const auto& [destination_key, destination] : desired.destinations) {
    now.emplace_back(AddDestination{key, destination_key, destination});
  }
}

}  // namespace

std::vector<Operation> reconcile(const Table& actual, const Table& desired, const Ownership& owned,
                                 const ReconcileOptions& options) {
  std::vector<Operation> now;    // adds and edits: capacity first
  std::vector<Operation> later;  // destination deletes of services that stay
  std::vector<Operation> last;   // service deletes
  auto have = actual.begin();
  auto want = desired.begin();
  const auto have_end = actual.end();
  const auto want_end = desired.end();
  while (have != have_end || want != want_end) {
    if (want == want_end || (have != have_end && have->first < want->first)) {
      // In the kernel, not wanted: ours to remove if owned (or everything with lvs_flush).
      if (options.flush_foreign || owned.contains(have->first)) {
        last.emplace_back(DeleteService{have->first});
      }
      ++have;
    } else if (have == have_end || want->first < have->first) {
      add_service(want->first, want->second, now);
      ++want;
    } else {
      // Present on both sides: adopt it, editing only what differs.
      if (!(have->second.service == want->second.service)) {
        now.emplace_back(EditService{want->first, want->second.service});
      }
      reconcile_destinations(want->first, have->second, want->second, now, later);
      ++have;
      ++want;
    }
  }
  now.reserve(now.size() + later.size() + last.size());
  for (auto& operation : later)
    now.push_back(std::move(operation));
  for (auto& operation : last)
    now.push_back(std::move(operation));
  return now;
}

Ownership next_ownership(const Table& actual, const Table& desired, const Ownership& previous,
                         std::span<const Operation> operations, std::span<const OpResult> results) {
  assert(operations.size() == results.size());
  bool flushed = false;
  std::set<ServiceKey> deleted;
  for (size_t i = 0; i < operations.size(); ++i) {
    if (!results[i].ok()) continue;
    if (const auto* remove = std::get_if<DeleteService>(&operations[i])) {
      deleted.insert(remove->key);
    } else if (std::holds_alternative<Flush>(operations[i])) {
      flushed = true;
    }
  }
  Ownership next;
  for (const auto& [key, entry] : desired)
    next.services.insert(next.services.end(), key);
  if (flushed) return next;
  for (const auto& key : previous.services) {
    // A service gone from the kernel (deleted by us or by hand) is owned no more.
    if (actual.contains(key) && !deleted.contains(key)) next.services.insert(key);
  }
  return next;
}

std::vector<Operation> plan_shutdown(const Table& actual, const Ownership& owned,
                                     ShutdownMode mode) {
  std::vector<Operation> operations;
  switch (mode) {
    case ShutdownMode::kKeepAll:
      break;
    case ShutdownMode::kFlushAll:
      if (!actual.empty()) operations.emplace_back(Flush{});
      break;
    case ShutdownMode::kRemoveOwned:
      for (const auto& [key, entry] : actual) {
        if (owned.contains(key)) operations.emplace_back(DeleteService{key});
      }
      break;
  }
  return operations;
}

}  // namespace vigil::datapath
