#include "lvs/controller.h"

#include <algorithm>
#include <utility>

#include "common/log.h"
#include "lvs/fullnat.h"

namespace vigil::lvs {
namespace {

// Mirrors a successful operation into our copy of the kernel's table.
struct ApplyLocally {
  datapath::Table& table;
  void operator()(const datapath::AddService& op) const { table[op.key].service = op.service; }
  void operator()(const datapath::EditService& op) const { table[op.key].service = op.service; }
  void operator()(const datapath::DeleteService& op) const { table.erase(op.key); }
  void operator()(const datapath::AddDestination& op) const {
    table[op.service].destinations[op.key] = op.destination;
  }
  void operator()(const datapath::EditDestination& op) const {
    table[op.service].destinations[op.key] = op.destination;
  }
  void operator()(const datapath::DeleteDestination& op) const {
    if (auto it = table.find(op.service); it != table.end()) it->second.destinations.erase(op.key);
  }
  void operator()(const datapath::Flush&) const { table.clear(); }
};

// The service an operation changes; none for a flush.
struct ServiceOf {
  using Key = std::optional<datapath::ServiceKey>;
  Key operator()(const datapath::AddService& op) const { return op.key; }
  Key operator()(const datapath::EditService& op) const { return op.key; }
  Key operator()(const datapath::DeleteService& op) const { return op.key; }
  Key operator()(const datapath::AddDestination& op) const { return op.service; }
  Key operator()(const datapath::EditDestination& op) const { return op.service; }
  Key operator()(const datapath::DeleteDestination& op) const { return op.service; }
  Key operator()(const datapath::Flush&) const { return {}; }
};

}  // namespace

LvsController::LvsController(datapath::Datapath& datapath, Scheduler& scheduler,
                             LvsControllerOptions options)
    : datapath_(datapath),
      scheduler_(scheduler),
      options_(std::move(options)),
      resync_timer_(scheduler) {}

Status LvsController::start(std::shared_ptr<const config::Config> shared) {
  const config::Config& config = *shared;
  auto log = log::get("ipvs");
  auto info = datapath_.info();
  if (!info) return info.error();
  log->info("[ipvs] kernel IPVS {} with a connection table of {} entries", info->version_string(),
            info->connection_table_size);

  if (const auto& t = config.global.lvs_timeouts) {
    datapath::Timeouts timeouts{std::chrono::seconds(t->tcp.value_or(0)),
                                std::chrono::seconds(t->tcpfin.value_or(0)),
                                std::chrono::seconds(t->udp.value_or(0))};
    if (auto status = datapath_.set_timeouts(timeouts); !status) {
      log->warn("[ipvs] cannot set lvs_timeouts: {}", status.error().message);
    }
  }
  flush_on_stop_ = config.global.lvs_flush_on_stop;
  flush_on_stop_vs_only_ = config.global.lvs_flush_on_stop_vs_only;
  set_config(shared);
  desired_ = desired_lvs(*config_, {}, health_, &overrides_);
  auto actual = timed_dump();
  if (!actual) return actual.error();
  if (options_.ownership_store) {
    // Services owned before this start and no longer configured are removed by this first pass.
    auto previous = options_.ownership_store->load();
    if (!previous) {
      log->warn("[ipvs] ignoring the ownership state: {}; owning only what the config names",
                previous.error().message);
    } else {
      owned_ = std::move(*previous);
      saved_ownership_ = owned_.services;
      if (!owned_.services.empty()) {
        log->info("[ipvs] {} service{} owned before this start", owned_.services.size(),
                  owned_.services.size() == 1 ? "" : "s");
      }
    }
  }
  plan_and_apply(*actual, config.global.lvs_flush);
  sync_fullnat(false);
  schedule_resync();
  return {};
}

void LvsController::update(std::shared_ptr<const config::Config> config) {
  flush_on_stop_ = config->global.lvs_flush_on_stop;
  flush_on_stop_vs_only_ = config->global.lvs_flush_on_stop_vs_only;
  UpdatePlan plan = plan_update(*config, overrides_);
  set_config(std::move(config));
  // Verdicts of services that are gone go with them; a kept service keeps its verdict (rebased
  // to its new weights) until the checkers send the one for the new configuration.
  health_ = std::move(plan.health);
  desired_ = std::move(plan.desired);
  apply_planned(last_known_, plan.operations);
  sync_fullnat(false);
}

LvsController::UpdatePlan LvsController::plan_update(const config::Config& config,
                                                     const OverrideMap& overrides) const {
  // Verdicts of services the configuration no longer has are not looked up by desired_lvs().
  UpdatePlan plan;
  plan.health = rebased_health(config);
  plan.desired = desired_lvs(config, {}, plan.health, &overrides);
  plan.operations = datapath::reconcile(last_known_, plan.desired.table, owned_);
  return plan;
}

HealthOverlay LvsController::rebased_health(const config::Config& next) const {
  HealthOverlay out;
  if (health_.empty()) return out;
  std::map<check::VirtualServerKey, const config::VirtualServer*> next_blocks;
  for (const auto& vs : next.lvs.virtual_servers)
    next_blocks.try_emplace(check::virtual_server_key(vs), &vs);
  const auto find_in = [](const config::VirtualServer& vs,
                          const check::RealServerKey& key) -> const config::RealServer* {
    for (const auto& rs : vs.real_servers)
      if (rs.address == key.address && rs.port == key.port) return &rs;
    return nullptr;
  };
  // A checker that adds to the configured weight (MISC_CHECK misc_dynamic, FILE_CHECK).
  const auto dynamic_weight = [](const config::RealServer& rs) {
    return std::ranges::any_of(rs.checkers, [](const config::Checker& c) {
      const auto* misc = c.as<config::MiscCheck>();
      return c.type == config::CheckerType::kFile || (misc != nullptr && misc->dynamic);
    });
  };
  for (const auto& [key, verdict] : health_) {
    const auto next_block = next_blocks.find(key);
    if (next_block == next_blocks.end()) continue;
    check::DesiredService& rebased = out.emplace(key, verdict).first->second;
    const auto old_block = blocks_.find(key);
    if (old_block == blocks_.end()) continue;
    for (auto& destination : rebased.real_servers) {
      const auto* before = find_in(*old_block->second, destination.key);
      const auto* after = find_in(*next_block->second, destination.key);
      if (before == nullptr || after == nullptr) continue;
      if (!destination.in_ipvs) {
        // Out: down, or alive while the sorry server stands in. With inhibit_on_failure now, the
        // checkers' verdict has it at weight 0.
        if (after->inhibit_on_failure && !before->inhibit_on_failure) {
          destination.in_ipvs = true;
          destination.weight = 0;
        }
        continue;
      }
      if (destination.weight == 0) {
        // Weight 0: inhibit_on_failure's (down, or the sorry server stands in), or alive at an
        // effective weight of 0. Without inhibit_on_failure now the first goes out; it is the
        // first for sure when the configured weight was not 0 and nothing added to it.
        if (before->inhibit_on_failure && !after->inhibit_on_failure && before->weight != 0 &&
            !dynamic_weight(*before))
          destination.in_ipvs = false;
        continue;
      }
      if (before->weight != after->weight && destination.weight == before->weight)
        destination.weight = check::ipvs_weight(after->weight);
    }
  }
  return out;
}

void LvsController::set_config(std::shared_ptr<const config::Config> config) {
  config_ = std::move(config);
  blocks_.clear();
  service_owner_.clear();
  for (const auto& vs : config_->lvs.virtual_servers) {
    blocks_.try_emplace(check::virtual_server_key(vs), &vs);
    // The first block naming a service wins, as in desired_lvs().
    for (const auto& key : service_keys(config_->lvs, vs))
      service_owner_.try_emplace(key, &vs);
  }
}

void LvsController::apply_health(const check::HealthBatch& batch) {
  if (!config_) return;
  std::vector<const config::VirtualServer*> changed;
  bool fullnat = false;
  for (const auto& service : batch) {
    const auto block = blocks_.find(service.key);
    if (block == blocks_.end()) continue;
    auto [it, inserted] = health_.try_emplace(service.key, service.desired);
    if (!inserted) {
      if (it->second == service.desired) continue;
      it->second = service.desired;
    }
    changed.push_back(block->second);
    fullnat = fullnat || uses_fullnat(*block->second);
  }
  if (changed.empty()) return;
  replan_blocks(changed, fullnat);
}

void LvsController::set_overrides(OverrideMap overrides) {
  if (!config_) {  // before start(): its first pass applies them
    overrides_ = std::move(overrides);
    return;
  }
  // The virtual servers whose overrides differ: those alone are planned.
  std::set<check::VirtualServerKey> touched;
  auto old_it = overrides_.begin();
  auto new_it = overrides.begin();
  while (old_it != overrides_.end() || new_it != overrides.end()) {
    if (new_it == overrides.end() ||
        (old_it != overrides_.end() && old_it->first < new_it->first)) {
      touched.insert((old_it++)->first.virtual_server);
    } else if (old_it == overrides_.end() || new_it->first < old_it->first) {
      touched.insert((new_it++)->first.virtual_server);
    } else {
      if (old_it->second != new_it->second) touched.insert(old_it->first.virtual_server);
      ++old_it;
      ++new_it;
    }
  }
  overrides_ = std::move(overrides);
  std::vector<const config::VirtualServer*> changed;
  bool fullnat = false;
  for (const auto& key : touched) {
    const auto block = blocks_.find(key);
    if (block == blocks_.end()) continue;  // orphaned: nothing programmed for it
    changed.push_back(block->second);
    fullnat = fullnat || uses_fullnat(*block->second);
  }
  if (changed.empty()) return;
  replan_blocks(changed, fullnat);
}

void LvsController::update(std::shared_ptr<const config::Config> config, OverrideMap overrides) {
  overrides_ = std::move(overrides);
  update(std::move(config));
}

void LvsController::replan_blocks(const std::vector<const config::VirtualServer*>& changed,
                                  bool fullnat) {
  if (fullnat) {  // rare: the FULLNAT list is kept in config order, recomputed whole
    desired_ = desired_lvs(*config_, {}, health_, &overrides_);
    plan_and_apply(last_known_, false);
    sync_fullnat(false);
    return;
  }
  // Only the services of the changed blocks are recomputed and planned, against the table as
  // last known (with any service whose operations failed since the last full pass): one verdict
  // costs what its virtual server holds, not what the whole configuration does.
  datapath::Table have;
  datapath::Table want;
  const auto plan = [&](const datapath::ServiceKey& key) {
    const auto desired = desired_.table.find(key);
    if (desired == desired_.table.end()) return;
    want.insert_or_assign(key, desired->second);
    if (const auto actual = last_known_.find(key); actual != last_known_.end())
      have.insert_or_assign(key, actual->second);
  };
  for (const auto* vs : changed) {
    const auto verdict = health_.find(check::virtual_server_key(*vs));
    for (auto& [key, entry] :
         desired_services(config_->lvs, *vs, verdict != health_.end() ? &verdict->second : nullptr,
                          {}, nullptr, &overrides_)) {
      const auto owner = service_owner_.find(key);
      if (owner == service_owner_.end() || owner->second != vs) continue;
      desired_.table.insert_or_assign(key, std::move(entry));
      plan(key);
    }
  }
  for (const auto& key : retry_services_)
    plan(key);
  retry_services_.clear();  // a failure now puts its service back
  ++counters_.passes;
  // Health and overrides never add or remove a service key: ownership does not change.
  apply_operations(datapath::reconcile(have, want, owned_));
}

Result<datapath::Table> LvsController::timed_dump() {
  const auto started = scheduler_.now();
  auto table = datapath_.dump();
  last_dump_duration_ = scheduler_.now() - started;
  last_dump_at_ = started;
  if (table) {
    kernel_ = *table;
    sent_since_dump_ = false;
  }
  return table;
}

void LvsController::refresh_kernel(std::function<void()> then) {
  if (reading_) {
    reading_->then.push_back(std::move(then));
    return;
  }
  if (last_dump_at_) {
    const Duration age = scheduler_.now() - *last_dump_at_;
    const Duration spacing = last_dump_duration_ * (kResyncIdleFactor + 1);
    const Duration fresh =
        sent_since_dump_ ? spacing : std::max<Duration>(std::chrono::seconds(1), spacing);
    if (age < fresh) {
      then();
      return;
    }
  }
  if (options_.read_in_background) {
    read_in_background(false, std::move(then));
    return;
  }
  if (auto table = timed_dump(); !table) {
    ++counters_.dump_failures;
    log::get("ipvs")->warn("[ipvs] cannot read the IPVS tables: {}", table.error().message);
  }
  then();
}

bool LvsController::resync() {
  auto actual = timed_dump();
  if (!actual) {
    ++counters_.dump_failures;
    log::get("ipvs")->warn("[ipvs] cannot read the IPVS tables: {}", actual.error().message);
    return false;
  }
  repair(*actual);
  return true;
}

void LvsController::repair(const datapath::Table& actual) {
  auto operations = datapath::reconcile(actual, desired_.table, owned_);
  if (!operations.empty()) {
    counters_.drift_repairs += operations.size();
    log::get("ipvs")->info("[ipvs] the periodic pass found {} difference{} from the plan",
                           operations.size(), operations.size() == 1 ? "" : "s");
  }
  apply_planned(actual, operations);
  sync_fullnat(true);  // retries a failed apply, restores a table changed behind our back
}

ReadTables read_tables(datapath::Table table) {
  ReadTables tables{.kernel = {}, .planning = datapath::without_counters(table)};
  tables.kernel = std::move(table);
  return tables;
}

void LvsController::read_in_background(bool resync, std::function<void()> then) {
  if (!reading_) {
    reading_ = BackgroundRead{.started = scheduler_.now()};
    options_.read_in_background(
        [alive = std::weak_ptr<char>(alive_), this](Result<ReadTables> tables) {
          if (alive.expired()) return;  // stopped or gone meanwhile
          finish_background_read(std::move(tables));
        });
  }
  reading_->resync = reading_->resync || resync;
  if (then) reading_->then.push_back(std::move(then));
}

void LvsController::finish_background_read(Result<ReadTables> tables) {
  if (!reading_) return;
  BackgroundRead read = std::move(*reading_);
  reading_.reset();
  last_dump_duration_ = scheduler_.now() - read.started;
  last_dump_at_ = read.started;
  std::vector<datapath::Table> done_with;
  if (!tables) {
    ++counters_.dump_failures;
    log::get("ipvs")->warn("[ipvs] cannot read the IPVS tables: {}", tables.error().message);
  } else {
    // Operations applied while it read: the next refresh reads again to show them for sure.
    sent_since_dump_ = !read.applied.empty();
    for (const auto& operation : read.applied) {
      std::visit(ApplyLocally{tables->kernel}, operation);
      std::visit(ApplyLocally{tables->planning}, operation);
    }
    const TimePoint read_at = scheduler_.now();
    done_with.push_back(std::exchange(kernel_, std::move(tables->kernel)));
    if (read.resync) {
      // The read's own copy becomes the table planned against: repair() copies nothing.
      done_with.push_back(std::exchange(last_known_, std::move(tables->planning)));
      repair(last_known_);
    } else {
      done_with.push_back(std::move(tables->planning));
    }
    log::get("ipvs")->debug(
        "[ipvs] table read in {} ms, taken in {} ms on the loop",
        std::chrono::duration_cast<std::chrono::milliseconds>(read_at - read.started).count(),
        std::chrono::duration_cast<std::chrono::milliseconds>(scheduler_.now() - read_at).count());
  }
  free_tables(std::move(done_with));
  for (auto& then : read.then)
    then();
  if (read.resync) schedule_resync();
}

void LvsController::free_tables(std::vector<datapath::Table> tables) {
  if (options_.free_in_background && !tables.empty())
    options_.free_in_background(std::move(tables));
}

void LvsController::plan_and_apply(const datapath::Table& actual, bool flush_foreign) {
  apply_planned(actual, datapath::reconcile(actual, desired_.table, owned_, {flush_foreign}));
}

void LvsController::apply_planned(const datapath::Table& actual,
                                  const std::vector<datapath::Operation>& operations) {
  ++counters_.passes;
  if (&actual != &last_known_) last_known_ = datapath::without_counters(actual);
  retry_services_.clear();
  const auto results = apply_operations(operations);
  owned_ = datapath::next_ownership(actual, desired_.table, owned_, operations, results);
  save_ownership();
}

std::vector<datapath::OpResult> LvsController::apply_operations(
    const std::vector<datapath::Operation>& operations) {
  if (operations.empty()) return {};  // nothing to change: nothing is sent
  auto log = log::get("ipvs");
  auto results = datapath_.apply(operations);
  counters_.operations_sent += operations.size();
  sent_since_dump_ = true;
  size_t failed = 0;
  for (size_t i = 0; i < operations.size(); ++i) {
    if (results[i].ok()) {
      std::visit(ApplyLocally{last_known_}, operations[i]);
      if (reading_) reading_->applied.push_back(operations[i]);
      log->debug("[ipvs] {}", datapath::to_string(operations[i]));
    } else {
      ++failed;
      if (auto service = std::visit(ServiceOf{}, operations[i])) retry_services_.insert(*service);
      log->warn("[ipvs] {} failed: {}", datapath::to_string(operations[i]), results[i].message);
    }
  }
  counters_.operations_failed += failed;
  log->info("[ipvs] applied {} operation{} ({} failed)", operations.size(),
            operations.size() == 1 ? "" : "s", failed);
  return results;
}

void LvsController::save_ownership() {
  if (!options_.ownership_store) return;
  if (saved_ownership_ && *saved_ownership_ == owned_.services) return;
  if (auto status = options_.ownership_store->save(owned_); !status) {
    ++counters_.ownership_save_failures;
    log::get("ipvs")->warn("[ipvs] cannot save the ownership state: {}", status.error().message);
    return;  // the next pass that finds it unsaved tries again
  }
  saved_ownership_ = owned_.services;
}

void LvsController::schedule_resync() {
  if (options_.resync_interval <= Duration::zero()) return;
  const Duration delay =
      std::max(options_.resync_interval, Duration(last_dump_duration_ * kResyncIdleFactor));
  resync_timer_.arm_after(delay, [this] {
    if (options_.read_in_background) {
      read_in_background(true, nullptr);  // schedules the next one when it ends
      return;
    }
    resync();
    schedule_resync();
  });
}

void LvsController::sync_fullnat(bool verify) {
  if (!options_.apply_fullnat) return;
  const auto& want = desired_.fullnat;
  if (want.empty()) {
    // Known absent: no nft call at all. Unknown (start): remove what a killed vigild left.
    if (fullnat_state_ == FullNatState::kAbsent) return;
    apply_fullnat(fullnat_state_ == FullNatState::kUnknown ? "removing any stale table"
                                                           : "no FULLNAT service left");
    return;
  }
  if (fullnat_state_ != FullNatState::kApplied || applied_fullnat_ != want) {
    apply_fullnat(fullnat_state_ == FullNatState::kUnknown  ? "starting"
                  : fullnat_state_ == FullNatState::kFailed ? "retrying"
                                                            : "services changed");
    return;
  }
  if (!verify || !options_.read_fullnat) return;
  auto listing = options_.read_fullnat();  // the one nft call of a steady pass
  if (listing && (fullnat_check_presence_only_ || fullnat_table_matches(*listing, want))) return;
  ++counters_.fullnat_repairs;
  log::get("ipvs")->warn("[ipvs] the FULLNAT table {} {} was {} behind vigil's back: restoring it",
                         kFullNatFamily, kFullNatTable, listing ? "changed" : "removed");
  apply_fullnat("restoring");
}

void LvsController::check_fullnat_listing() {
  if (!options_.read_fullnat || fullnat_check_presence_only_) return;
  auto listing = options_.read_fullnat();
  if (!listing || fullnat_table_matches(*listing, desired_.fullnat)) return;
  // Read right after vigil's own apply, so nobody else changed it: nft lists vigil's ruleset in
  // a form vigil does not expect (another nft version). Comparing would restore it on every
  // pass; check only that the table exists from now on.
  fullnat_check_presence_only_ = true;
  log::get("ipvs")->warn(
      "[ipvs] nft lists the FULLNAT table differently from vigil's ruleset; only its presence "
      "is checked from now on:\n{}",
      *listing);
}

void LvsController::apply_fullnat(const char* why) {
  auto log = log::get("ipvs");
  const auto& want = desired_.fullnat;
  const bool cleanup_at_start = want.empty() && fullnat_state_ == FullNatState::kUnknown;
  if (auto status = options_.apply_fullnat(want); !status) {
    if (cleanup_at_start) {
      // Most likely nft is not installed, so no vigild can have left a table: not retried.
      log->info("[ipvs] cannot check for a stale FULLNAT table ({}): {}", why,
                status.error().message);
      fullnat_state_ = FullNatState::kAbsent;
      return;
    }
    ++counters_.fullnat_failures;
    fullnat_state_ = FullNatState::kFailed;
    log->warn("[ipvs] cannot apply the FULLNAT source NAT ({}): {}", why, status.error().message);
    return;  // the periodic pass retries
  }
  if (applied_fullnat_ != want) fullnat_check_presence_only_ = false;
  applied_fullnat_ = want;
  if (want.empty()) {
    fullnat_state_ = FullNatState::kAbsent;
    log->info("[ipvs] FULLNAT source NAT removed ({})", why);
    return;
  }
  fullnat_state_ = FullNatState::kApplied;
  log->info("[ipvs] FULLNAT source NAT for {} service{} ({})", want.size(),
            want.size() == 1 ? "" : "s", why);
  check_fullnat_listing();
}

void LvsController::stop() {
  resync_timer_.cancel();
  // A read in flight is forgotten: its answer finds the controller stopped.
  alive_ = std::make_shared<char>();
  reading_.reset();
  if (options_.keep_on_stop) return;  // -I: established FULLNAT connections keep their NAT
  if (options_.apply_fullnat && fullnat_state_ != FullNatState::kAbsent &&
      fullnat_state_ != FullNatState::kUnknown) {
    desired_.fullnat.clear();
    apply_fullnat("stopping");
  }
  auto actual = datapath_.dump();
  const datapath::Table& table = actual ? *actual : last_known_;
  // "lvs_flush_on_stop VS" deletes each owned service (the kernel drops their destinations):
  // that is what removing owned services does already.
  auto mode = flush_on_stop_ && !flush_on_stop_vs_only_ ? datapath::ShutdownMode::kFlushAll
                                                        : datapath::ShutdownMode::kRemoveOwned;
  datapath::Ownership owned = owned_;
  for (const auto& [key, entry] : desired_.table)
    owned.services.insert(key);
  auto operations = datapath::plan_shutdown(table, owned, mode);
  auto results = datapath_.apply(operations);
  counters_.operations_sent += operations.size();
  for (size_t i = 0; i < operations.size(); ++i) {
    if (!results[i].ok()) {
      ++counters_.operations_failed;
      log::get("ipvs")->warn("[ipvs] {} failed at stop: {}", datapath::to_string(operations[i]),
                             results[i].message);
    }
  }
  // What is still owned: services whose delete failed (the next start removes them).
  owned_ = datapath::next_ownership(table, {}, owned, operations, results);
  save_ownership();
}

}  // namespace vigil::lvs
