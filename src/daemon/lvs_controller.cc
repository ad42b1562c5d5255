#include "daemon/lvs_controller.h"

#include "common/log.h"

namespace vigil::daemon {
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

}  // namespace

LvsController::LvsController(datapath::Datapath& datapath, Scheduler& scheduler,
                             LvsControllerOptions options)
    : datapath_(datapath), scheduler_(scheduler), options_(options), resync_timer_(scheduler) {}

Status LvsController::start(const config::Config& config) {
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
  desired_ = desired_lvs(config);
  auto actual = datapath_.dump();
  if (!actual) return actual.error();
  plan_and_apply(*actual, config.global.lvs_flush);
  sync_fullnat(false);
  schedule_resync();
  return {};
}

void LvsController::update(const config::Config& config) {
  flush_on_stop_ = config.global.lvs_flush_on_stop;
  flush_on_stop_vs_only_ = config.global.lvs_flush_on_stop_vs_only;
  desired_ = desired_lvs(config);
  plan_and_apply(last_known_, false);
  sync_fullnat(false);
}

bool LvsController::resync() {
  auto actual = datapath_.dump();
  if (!actual) {
    ++counters_.dump_failures;
    log::get("ipvs")->warn("[ipvs] cannot read the IPVS tables: {}", actual.error().message);
    return false;
  }
  plan_and_apply(*actual, false);
  sync_fullnat(false);  // retries a failed apply; a no-op when nothing changed
  return true;
}

void LvsController::plan_and_apply(const datapath::Table& actual, bool flush_foreign) {
  ++counters_.passes;
  auto operations = datapath::reconcile(actual, desired_.table, owned_, {flush_foreign});
  last_known_ = actual;
  if (operations.empty()) return;  // nothing to change: nothing is sent

  auto log = log::get("ipvs");
  auto results = datapath_.apply(operations);
  counters_.operations_sent += operations.size();
  size_t failed = 0;
  for (size_t i = 0; i < operations.size(); ++i) {
    if (results[i].ok()) {
      std::visit(ApplyLocally{last_known_}, operations[i]);
      log->debug("[ipvs] {}", datapath::to_string(operations[i]));
    } else {
      ++failed;
      log->warn("[ipvs] {} failed: {}", datapath::to_string(operations[i]), results[i].message);
    }
  }
  counters_.operations_failed += failed;
  owned_ = datapath::next_ownership(actual, desired_.table, owned_, operations, results);
  log->info("[ipvs] applied {} operation{} ({} failed)", operations.size(),
            operations.size() == 1 ? "" : "s", failed);
}

void LvsController::schedule_resync() {
  if (options_.resync_interval <= Duration::zero()) return;
  resync_timer_.arm_after(options_.resync_interval, [this] {
    resync();
    schedule_resync();
  });
}

void LvsController::sync_fullnat(bool force) {
  if (!options_.apply_fullnat) return;
  // Nothing to do while nothing was ever applied and no service wants it (no nft run at all).
  if (!force && !fullnat_applied_once_ && desired_.fullnat.empty()) return;
  if (!force && fullnat_applied_once_ && applied_fullnat_ == desired_.fullnat) return;
  if (auto status = options_.apply_fullnat(desired_.fullnat); !status) {
    ++counters_.fullnat_failures;
    log::get("ipvs")->warn("[ipvs] cannot apply the FULLNAT source NAT: {}",
                           status.error().message);
    return;  // the periodic pass retries
  }
  applied_fullnat_ = desired_.fullnat;
  fullnat_applied_once_ = true;
  log::get("ipvs")->info("[ipvs] FULLNAT source NAT for {} service{}", applied_fullnat_.size(),
                         applied_fullnat_.size() == 1 ? "" : "s");
}

void LvsController::stop() {
  resync_timer_.cancel();
  if (options_.keep_on_stop) return;  // -I: established FULLNAT connections keep their NAT
  if (options_.apply_fullnat && fullnat_applied_once_ && !applied_fullnat_.empty()) {
    desired_.fullnat.clear();
    sync_fullnat(true);
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
  if (operations.empty()) return;
  auto results = datapath_.apply(operations);
  counters_.operations_sent += operations.size();
  for (size_t i = 0; i < operations.size(); ++i) {
    if (!results[i].ok()) {
      ++counters_.operations_failed;
      log::get("ipvs")->warn("[ipvs] {} failed at stop: {}", datapath::to_string(operations[i]),
                             results[i].message);
    }
  }
}

}  // namespace vigil::daemon
