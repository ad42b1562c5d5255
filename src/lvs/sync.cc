#include "lvs/sync.h"

#include <fmt/format.h>

#include <utility>

#include "common/log.h"

namespace vigil::lvs {
namespace {

using datapath::SyncDaemonConfig;
using datapath::SyncDaemonState;

constexpr SyncDaemonState kStates[] = {SyncDaemonState::kMaster, SyncDaemonState::kBackup};
constexpr std::string_view kName = "[lvs_sync_daemon]";

spdlog::logger& logger() {
  static const auto instance = log::get("lvs_sync");
  return *instance;
}

// The kernel's group when none is given (IP_VS_SYNC_GROUP, ip_vs_sync.c).
const IpAddress& default_group() {
  static const IpAddress group = IpAddress::v4(0xe0000051);  // 224.0.0.81
  return group;
}

const SyncDaemonConfig* find(const std::vector<SyncDaemonConfig>& daemons, SyncDaemonState state) {
  for (const auto& daemon : daemons) {
    if (daemon.state == state) return &daemon;
  }
  return nullptr;
}

// "none", "backup", "master", "master+backup".
std::string states_of(const std::vector<SyncDaemonConfig>& daemons) {
  std::string out;
  for (SyncDaemonState state : kStates) {
    if (find(daemons, state) == nullptr) continue;
    if (!out.empty()) out += "+";
    out += datapath::to_string(state);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

bool manages_sync_daemon(const std::optional<config::LvsSyncDaemon>& config, SyncSides sides) {
  if (!config) return false;
  return config->vrrp_instance.empty() ? sides.lvs : sides.vrrp;
}

std::string_view to_string(SyncInstanceState state) {
  switch (state) {
    case SyncInstanceState::kInit:
      return "INIT";
    case SyncInstanceState::kBackup:
      return "BACKUP";
    case SyncInstanceState::kMaster:
      return "MASTER";
    case SyncInstanceState::kFault:
      return "FAULT";
    case SyncInstanceState::kStopped:
      break;
  }
  return "STOPPED";
}

SyncInstanceState sync_instance_state(vrrp::State reported) {
  switch (reported) {
    case vrrp::State::kBackup:
      return SyncInstanceState::kBackup;
    case vrrp::State::kMaster:
      return SyncInstanceState::kMaster;
    case vrrp::State::kFault:
      return SyncInstanceState::kFault;
    case vrrp::State::kInitialize:
    case vrrp::State::kCount:
      break;
  }
  return SyncInstanceState::kStopped;
}

SyncDaemonConfig sync_daemon_config(const config::LvsSyncDaemon& config, SyncDaemonState state) {
  SyncDaemonConfig daemon;
  daemon.state = state;
  daemon.interface = config.interface;
  daemon.sync_id = config.sync_id;
  daemon.max_length = config.max_length.value_or(0);
  daemon.group = config.group;
  if (config.port) daemon.port = *config.port;
  if (config.ttl) daemon.ttl = *config.ttl;
  return daemon;
}

std::vector<SyncDaemonConfig> desired_sync_daemons(
    const std::optional<config::LvsSyncDaemon>& config, SyncInstanceState state, SyncSides sides) {
  if (!manages_sync_daemon(config, sides)) return {};
  if (config->vrrp_instance.empty()) {
    // keepalived's checker process runs both when no instance decides between them.
    return {sync_daemon_config(*config, SyncDaemonState::kMaster),
            sync_daemon_config(*config, SyncDaemonState::kBackup)};
  }
  switch (state) {
    case SyncInstanceState::kMaster:
      return {sync_daemon_config(*config, SyncDaemonState::kMaster)};
    case SyncInstanceState::kInit:
    case SyncInstanceState::kBackup:
    case SyncInstanceState::kFault:
      // Not MASTER: receive the master's connections, ready to take over (keepalived starts
      // the backup daemon at start-up and whenever the instance leaves MASTER).
      return {sync_daemon_config(*config, SyncDaemonState::kBackup)};
    case SyncInstanceState::kStopped:
      break;
  }
  return {};
}

bool reported_matches(const SyncDaemonConfig& wanted, const SyncDaemonConfig& reported) {
  if (wanted.state != reported.state || wanted.interface != reported.interface ||
      wanted.sync_id != reported.sync_id || wanted.port != reported.port ||
      wanted.ttl != reported.ttl) {
    return false;
  }
  if (wanted.max_length != 0 && wanted.max_length != reported.max_length) return false;
  if (wanted.group) return reported.group == wanted.group;
  return !reported.group || *reported.group == default_group();
}

std::string to_string(const SyncOperation& operation) {
  if (const auto* stop = std::get_if<StopSyncDaemon>(&operation)) {
    return fmt::format("stop {} sync daemon", datapath::to_string(stop->state));
  }
  const auto& c = std::get<StartSyncDaemon>(operation).config;
  std::string out = fmt::format("start {} sync daemon on {} (sync id {}",
                                datapath::to_string(c.state), c.interface, c.sync_id);
  if (c.max_length != 0) out += fmt::format(", maxlen {}", c.max_length);
  out += fmt::format(", port {}, ttl {}", c.port, c.ttl);
  if (c.group) out += ", group " + c.group->to_string();
  return out + ")";
}

SyncPlan plan_sync_daemons(const SyncPlanInput& input) {
  SyncPlan plan;
  std::vector<SyncOperation> starts;
  for (SyncDaemonState state : kStates) {
    const SyncDaemonConfig* desired = find(input.desired, state);
    const SyncDaemonConfig* running = find(input.running, state);
    auto owned = input.owned.find(state);
    const bool ours = owned != input.owned.end();
    if (running != nullptr) {
      if (desired != nullptr &&
          (ours ? owned->second == *desired : reported_matches(*desired, *running))) {
        if (!ours) plan.kept.push_back(*desired);
        continue;
      }
      // Another daemon, or one nobody wants any more. A daemon vigil does not manage is left.
      if (!ours && !input.managed) continue;
      plan.operations.push_back(StopSyncDaemon{state});
    }
    if (desired != nullptr) starts.push_back(StartSyncDaemon{*desired});
  }
  // The kernel runs one daemon per state: stop before starting.
  for (auto& start : starts)
    plan.operations.push_back(std::move(start));
  return plan;
}

// ---- LvsSyncController --------------------------------------------------------------------------

LvsSyncController::LvsSyncController(datapath::Datapath& datapath, Scheduler& scheduler,
                                     LvsSyncControllerOptions options)
    : datapath_(datapath),
      scheduler_(scheduler),
      options_(options),
      pass_timer_(scheduler),
      retry_timer_(scheduler) {}

SyncInstanceState LvsSyncController::followed_state() const {
  if (!config_ || config_->vrrp_instance.empty()) return SyncInstanceState::kInit;
  auto it = instances_.find(config_->vrrp_instance);
  return it == instances_.end() ? SyncInstanceState::kInit : it->second;
}

void LvsSyncController::configure(const std::optional<config::LvsSyncDaemon>& config) {
  const bool first = passes_ == 0;
  config_ = config;
  pass_timer_.cancel();
  reconcile(first ? "start" : "configuration reloaded");
}

void LvsSyncController::instance_state(const std::string& instance, SyncInstanceState state) {
  instances_[instance] = state;
  if (stopped_ || !config_ || config_->vrrp_instance != instance) return;
  schedule_pass();
}

void LvsSyncController::schedule_pass() {
  if (pass_timer_.armed()) return;
  pass_timer_.arm_after(Duration::zero(), [this] {
    reconcile(
        fmt::format("vrrp_instance {} is {}", config_->vrrp_instance, to_string(followed_state())));
  });
}

void LvsSyncController::stop() {
  if (stopped_) return;
  config_.reset();
  pass_timer_.cancel();
  retry_timer_.cancel();
  if (!owned_.empty()) reconcile("vigild stopping");
  stopped_ = true;
  retry_timer_.cancel();
}

void LvsSyncController::warn(const std::string& message) {
  // Once per distinct trouble: a retry that fails the same way says so at debug only.
  if (message == last_warning_) {
    logger().debug("{} {}", kName, message);
    return;
  }
  last_warning_ = message;
  logger().warn("{} {}", kName, message);
}

void LvsSyncController::reconcile(const std::string& reason) {
  if (stopped_) return;
  ++passes_;
  auto running = datapath_.sync_daemons();
  if (!running) {
    ++failures_;
    warn(fmt::format(
        "cannot list the sync daemons: {}; retrying every {} s", running.error().message,
        std::chrono::duration_cast<std::chrono::seconds>(options_.retry_interval).count()));
    retry_timer_.arm_after(options_.retry_interval, [this] { reconcile("retry"); });
    return;
  }
  for (auto it = owned_.begin(); it != owned_.end();) {
    if (find(*running, it->first) != nullptr) {
      ++it;
      continue;
    }
    logger().warn("{} the {} sync daemon vigil started is no longer running", kName,
                  datapath::to_string(it->first));
    it = owned_.erase(it);
  }

  const auto desired = desired_sync_daemons(config_, followed_state(), options_.sides);
  auto plan = plan_sync_daemons({.desired = desired,
                                 .managed = manages_sync_daemon(config_, options_.sides),
                                 .running = *running,
                                 .owned = owned_});
  for (const auto& kept : plan.kept) {
    logger().info("{} keeping the running {} sync daemon on {} (sync id {})", kName,
                  datapath::to_string(kept.state), kept.interface, kept.sync_id);
    owned_[kept.state] = kept;
  }
  if (plan.operations.empty()) {
    retry_timer_.cancel();
    last_warning_.clear();
    return;
  }

  const std::string from = states_of(*running), to = states_of(desired);
  logger().info("{} {} -> {}{} ({})", kName, from, to, from == to ? " with new options" : "",
                reason);
  bool failed = false;
  for (const auto& operation : plan.operations) {
    Status status;
    if (const auto* stop = std::get_if<StopSyncDaemon>(&operation)) {
      status = datapath_.stop_sync_daemon(stop->state);
      if (status) owned_.erase(stop->state);
    } else {
      const auto& start = std::get<StartSyncDaemon>(operation);
      status = datapath_.start_sync_daemon(start.config);
      if (status) owned_[start.config.state] = start.config;
    }
    if (status) {
      logger().debug("{} {}: done", kName, to_string(operation));
    } else {
      failed = true;
      warn(to_string(operation) + " failed: " + status.error().message);
    }
  }
  if (failed) {
    ++failures_;
    retry_timer_.arm_after(options_.retry_interval, [this] { reconcile("retry"); });
  } else {
    retry_timer_.cancel();
    last_warning_.clear();
  }
}

}  // namespace vigil::lvs
