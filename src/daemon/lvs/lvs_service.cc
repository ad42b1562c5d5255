#include "daemon/lvs/lvs_service.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/safe_file.h"
#include "daemon/lvs/lvs_reload_plan.h"
#include "datapath/ipvs_netlink.h"
#include "lvs/fullnat.h"

extern char** environ;

namespace vigil::daemon {

DatapathFactory ipvs_netlink_factory() {
  return []() -> Result<std::unique_ptr<datapath::Datapath>> {
    auto opened = datapath::IpvsNetlinkDatapath::open();
    if (!opened) return opened.error();
    return std::unique_ptr<datapath::Datapath>(std::move(*opened));
  };
}

namespace {

// Runs nft with `args`, feeding it `input` on stdin (if any) and returning its stdout. With
// `quiet`, its stderr goes to /dev/null (an expected failure, like listing a missing table).
Result<std::string> run_nft(std::vector<std::string> args, const std::string& input, bool quiet) {
  int in_fds[2];
  int out_fds[2];
  if (pipe2(in_fds, O_CLOEXEC) != 0) return errno_error("pipe", errno);
  if (pipe2(out_fds, O_CLOEXEC) != 0) {
    Error error = errno_error("pipe", errno);
    close(in_fds[0]);
    close(in_fds[1]);
    return error;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_fds[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_fds[1], STDOUT_FILENO);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  args.insert(args.begin(), "nft");
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "nft", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_fds[0]);
  close(out_fds[1]);
  if (spawned != 0) {
    close(in_fds[1]);
    close(out_fds[0]);
    return errno_error("cannot run nft", spawned);
  }
  // The input is a few kilobytes at most (less than a pipe holds) and nft reads all of it
  // before it prints anything: writing it all first, then reading, cannot deadlock.
  size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = write(in_fds[1], input.data() + written, input.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // nft exited early: its status says why
    written += static_cast<size_t>(n);
  }
  close(in_fds[1]);
  std::string output;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(out_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  close(out_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return errno_error("waitpid nft", errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string command = "nft";
    for (size_t i = 1; i < args.size(); ++i)
      command += " " + args[i];
    return Error{command + " failed (status " + std::to_string(status) + ")"};
  }
  return output;
}

}  // namespace

Status apply_fullnat_with_nft(const std::vector<lvs::FullNatService>& services) {
  if (!services.empty()) {
    // IPVS keeps conntrack entries only with this, and nftables NATs only what conntrack knows.
    std::ofstream sysctl("/proc/sys/net/ipv4/vs/conntrack");
    sysctl << "1\n";
    sysctl.flush();
    if (!sysctl) return Error{"cannot set net.ipv4.vs.conntrack=1"};
  }
  auto result = run_nft({"-f", "-"}, lvs::fullnat_ruleset(services), false);
  if (!result) return result.error();
  return {};
}

Result<std::string> read_fullnat_with_nft() {
  return run_nft({"list", "table", lvs::kFullNatFamily, lvs::kFullNatTable}, "", true);
}

bool needs_ipvs(const config::Config& config) {
  const auto& g = config.global;
  // lvs_sync_daemon is LvsSyncService's (lvs_sync_service.h): IPVS missing is not fatal there.
  return !config.lvs.virtual_servers.empty() || g.lvs_flush || g.lvs_timeouts.has_value();
}

LvsService::LvsService(Scheduler& scheduler, DatapathFactory factory,
                       lvs::LvsControllerOptions options, OverrideStateOptions overrides)
    : scheduler_(scheduler),
      factory_(std::move(factory)),
      options_(std::move(options)),
      state_options_(std::move(overrides)),
      expiry_timer_(scheduler) {
  if (!state_options_.wall_clock) state_options_.wall_clock = event::wall_clock_now;
}

Status LvsService::start(const SharedConfig& config) {
  config_ = config;
  // Before the first programming: a server drained before a restart never gets a new flow.
  load_state();
  if (prune("at start") && state_options_.on_change) state_options_.on_change();
  arm_expiry();
  if (!needs_ipvs(*config)) {
    log::get("ipvs")->info("[ipvs] no virtual servers configured: IPVS is not used");
    return {};
  }
  return open_and_start(config);
}

Status LvsService::open_and_start(const SharedConfig& config) {
  if (opened_for_reload_) {
    datapath_ = std::move(opened_for_reload_);
  } else {
    auto datapath = factory_();
    if (!datapath) return datapath.error();
    datapath_ = std::move(*datapath);
  }
  controller_ = std::make_unique<lvs::LvsController>(*datapath_, scheduler_, options_);
  controller_->set_overrides(overrides_);
  auto status = controller_->start(config);
  if (!status) {
    controller_.reset();
    datapath_.reset();
  }
  return status;
}

void LvsService::reload(const SharedConfig& config) {
  auto log = log::get("ipvs");
  std::set<lvs::OverrideTarget> orphaned_before;
  for (const auto& entry : lvs::list_overrides(overrides_, config_.get()))
    if (entry.orphaned) orphaned_before.insert(entry.target);
  config_ = config;
  bool changed = prune("on reload");
  for (const auto& entry : lvs::list_overrides(overrides_, config_.get())) {
    if (orphaned_before.contains(entry.target) == entry.orphaned) continue;
    changed = true;
    if (entry.orphaned) {
      log->warn(
          "[ipvs] {} override of {}: its target left the configuration; kept (orphaned, "
          "not applied) until it comes back or is cleared",
          lvs::to_string(entry.override_.kind), lvs::format_target(entry.target));
    } else {
      log->info("[ipvs] {} override of {}: its target is back; applied again",
                lvs::to_string(entry.override_.kind), lvs::format_target(entry.target));
    }
  }
  arm_expiry();
  if (changed && state_options_.on_change) state_options_.on_change();
  if (controller_) {
    controller_->update(config, overrides_);
    return;
  }
  if (!needs_ipvs(*config)) return;
  // The reload adds the first virtual servers: IPVS is needed from now on.
  if (auto status = open_and_start(config); !status) {
    log->error("[ipvs] cannot program the new virtual servers: {}", status.error().message);
  }
}

Result<Service::Commit> LvsService::prepare_reload(const SharedConfig& config) {
  if (!controller_ && needs_ipvs(*config) && !opened_for_reload_) {
    // The reload adds the first virtual servers: without IPVS it would be half applied.
    auto datapath = factory_();
    if (!datapath) {
      return Error{"IPVS: cannot program the new virtual servers: " + datapath.error().message};
    }
    opened_for_reload_ = std::move(*datapath);
  }
  return Commit([this, config] { reload(config); });
}

lvs::OverrideMap LvsService::pruned_for(const config::Config& config,
                                        std::vector<lvs::DroppedOverride>* dropped) const {
  lvs::OverrideMap overrides = overrides_;
  auto gone = lvs::prune_overrides(overrides, config, wall_now());
  if (dropped != nullptr) *dropped = std::move(gone);
  return overrides;
}

void LvsService::plan_reload(const SharedConfig& config, PlanReply done) {
  std::vector<lvs::DroppedOverride> dropped;
  const lvs::OverrideMap overrides = pruned_for(*config, &dropped);
  api::PlanPart part =
      describe_override_plan(lvs::list_overrides(overrides_, config_.get()),
                             lvs::list_overrides(overrides, config.get()), dropped);
  if (controller_) {
    const auto plan = controller_->plan_update(*config, overrides);
    // A removal shows the connections it cuts as they are now: one dump, only when something
    // is removed (the plan itself is made against the last known table, as the reload's is).
    const bool removes = std::any_of(
        plan.operations.begin(), plan.operations.end(), [](const datapath::Operation& op) {
          return std::holds_alternative<datapath::DeleteService>(op) ||
                 std::holds_alternative<datapath::DeleteDestination>(op);
        });
    std::optional<datapath::Table> now;
    if (removes) {
      if (auto dumped = datapath_->dump(); dumped) now = std::move(*dumped);
    }
    api::merge(part, describe_ipvs_plan(controller_->last_known(), plan.operations,
                                        now ? &*now : nullptr));
  } else if (needs_ipvs(*config)) {
    // IPVS opens with the reload: its first pass dumps the table then, which no plan can see.
    part.notes.push_back(
        "IPVS is not open yet (no virtual server ran before): the reload opens it and programs "
        "every configured virtual server");
    if (!opened_for_reload_) {
      if (auto datapath = factory_(); !datapath) {
        part.refusals.push_back("IPVS: cannot program the new virtual servers: " +
                                datapath.error().message);
      }
    }
  }
  done(std::move(part));
}

void LvsService::stop() {
  expiry_timer_.cancel();
  if (controller_) controller_->stop();
}

void LvsService::metrics(api::MetricsDetail /*detail*/, MetricsReply done) {
  using api::MetricType;
  // Zero until IPVS is open (a VRRP-only configuration never opens it).
  const lvs::LvsController::Counters c =
      controller_ ? controller_->counters() : lvs::LvsController::Counters{};
  api::MetricsPart part;
  part.family("ipvs_passes", "Planning passes over the IPVS tables (full or partial).",
              MetricType::kCounter)
      .add({}, static_cast<double>(c.passes));
  auto& operations = part.family("ipvs_netlink_operations",
                                 "IPVS netlink operations sent, by result.", MetricType::kCounter);
  operations.add({{"result", "ok"}}, static_cast<double>(c.operations_sent - c.operations_failed));
  operations.add({{"result", "failed"}}, static_cast<double>(c.operations_failed));
  part.family("ipvs_dump_failures", "IPVS table dumps that failed (the pass was skipped).",
              MetricType::kCounter)
      .add({}, static_cast<double>(c.dump_failures));
  part.family("ipvs_fullnat_failures", "FULLNAT nftables updates that failed.",
              MetricType::kCounter)
      .add({}, static_cast<double>(c.fullnat_failures));
  part.family("ipvs_fullnat_repairs",
              "Times the FULLNAT nftables table was found changed or missing and restored.",
              MetricType::kCounter)
      .add({}, static_cast<double>(c.fullnat_repairs));
  part.family("ipvs_ownership_save_failures", "Times the IPVS ownership file could not be saved.",
              MetricType::kCounter)
      .add({}, static_cast<double>(c.ownership_save_failures));
  std::array<size_t, 3> by_kind{};
  for (const auto& e : overrides()) {
    if (!e.orphaned) ++by_kind[static_cast<size_t>(e.override_.kind)];
  }
  auto& overrides_gauge =
      part.family("overrides", "Operator overrides in force (orphaned ones left out), by kind.",
                  MetricType::kGauge);
  for (const lvs::OverrideKind kind :
       {lvs::OverrideKind::kDrain, lvs::OverrideKind::kMaint, lvs::OverrideKind::kWeight}) {
    overrides_gauge.add({{"kind", std::string(lvs::to_string(kind))}},
                        static_cast<double>(by_kind[static_cast<size_t>(kind)]));
  }
  done(std::move(part));
}

void LvsService::apply_health(const check::HealthBatch& batch) {
  if (controller_) controller_->apply_health(batch);
}

int64_t LvsService::wall_now() const {
  return state_options_.wall_clock().unix_seconds;
}

Result<lvs::Override> LvsService::set_override(const OverrideRequest& request) {
  if (!config_) return Error{"the IPVS side is not running"};
  lvs::Override wanted{.kind = request.kind,
                       .weight = request.weight,
                       .reason = request.reason,
                       .uid = request.uid,
                       .pid = request.pid,
                       .since = wall_now()};
  if (request.lasts) {
    if (request.lasts->count() <= 0) return Error{"--for must be at least one second"};
    wanted.expires = wanted.since + request.lasts->count();
  }
  auto made = lvs::make_override(*config_, request.target, std::move(wanted));
  if (!made) return made.error();
  lvs::OverrideMap next = overrides_;
  if (!next.contains(request.target) && next.size() >= lvs::kMaxOverrides)
    return Error{"too many overrides (" + std::to_string(lvs::kMaxOverrides) + ")"};
  next.insert_or_assign(request.target, *made);
  if (auto committed = commit(std::move(next)); !committed) return committed.error();
  log::get("ipvs")->info(
      "[ipvs] {} {}{} by uid {} pid {}{}{}", lvs::to_string(made->kind),
      lvs::format_target(request.target),
      made->kind == lvs::OverrideKind::kWeight ? " to weight " + std::to_string(made->weight)
                                               : std::string(),
      made->uid, made->pid,
      request.lasts ? " for " + std::to_string(request.lasts->count()) + " s" : std::string(),
      made->reason.empty() ? std::string() : ": " + made->reason);
  return made;
}

Status LvsService::clear_override(const lvs::OverrideTarget& target, uint32_t uid, int32_t pid) {
  const auto found = overrides_.find(target);
  if (found == overrides_.end()) return Error{"no override on " + lvs::format_target(target)};
  lvs::OverrideMap next = overrides_;
  next.erase(target);
  const auto kind = found->second.kind;
  if (auto committed = commit(std::move(next)); !committed) return committed;
  log::get("ipvs")->info("[ipvs] ready {} ({} override removed) by uid {} pid {}",
                         lvs::format_target(target), lvs::to_string(kind), uid, pid);
  return {};
}

std::vector<lvs::OverrideEntry> LvsService::overrides() const {
  return lvs::list_overrides(overrides_, config_.get());
}

std::set<lvs::OverrideTarget> LvsService::paused_checks() const {
  return lvs::paused_checks(overrides_);
}

std::vector<lvs::OverrideTarget> LvsService::resolve_targets(std::string_view virtual_server,
                                                             std::string_view real_server,
                                                             bool all_virtual_servers) const {
  if (!config_) return {};
  return lvs::resolve_targets(*config_, virtual_server, real_server, all_virtual_servers);
}

void LvsService::load_state() {
  const std::string& path = state_options_.state_file;
  if (path.empty()) return;
  auto log = log::get("ipvs");
  auto text = read_file_nofollow(path, lvs::kMaxOverrideFileSize);
  Result<lvs::StateFile> parsed = text ? (*text ? lvs::parse_state_file(**text, path)
                                                : Result<lvs::StateFile>(lvs::StateFile{}))
                                       : Result<lvs::StateFile>(text.error());
  state_loaded_ = true;
  if (parsed) {
    overrides_ = std::move(parsed->overrides);
    vrrp_maintenance_ = std::move(parsed->vrrp_maintenance);
    if (!overrides_.empty()) {
      const auto listed = lvs::list_overrides(overrides_, config_.get());
      const auto orphaned = std::ranges::count_if(listed, [](const auto& e) { return e.orphaned; });
      log->info("[ipvs] {}: {} override{} of real servers ({} orphaned)", path, overrides_.size(),
                overrides_.size() == 1 ? "" : "s", orphaned);
    }
    return;
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {  // nothing there to keep (a bad directory, say)
    log->error("[ipvs] cannot read the state file: {}; starting without overrides",
               parsed.error().message);
    return;
  }
  // Kept for the operator, never deleted, and never overwritten by the next save.
  const std::string stem = path + ".broken-" + std::to_string(wall_now());
  std::string aside;
  int rename_error = 0;
  for (int attempt = 0; attempt < 100 && aside.empty(); ++attempt) {
    const std::string candidate = attempt == 0 ? stem : stem + "." + std::to_string(attempt);
    if (renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, candidate.c_str(), RENAME_NOREPLACE) == 0) {
      aside = candidate;
    } else if (rename_error = errno; rename_error != EEXIST) {
      break;
    }
  }
  if (aside.empty()) {
    unsaveable_ = path;
    log->error(
        "[ipvs] cannot read the state file: {}; starting without overrides, and it "
        "cannot be set aside ({}): overrides will not be saved until it is removed",
        parsed.error().message, std::strerror(rename_error));
    return;
  }
  log->error(
      "[ipvs] cannot read the state file: {}; starting without overrides (the file is "
      "kept as {})",
      parsed.error().message, aside);
}

Status LvsService::save_state(const lvs::OverrideMap& overrides) {
  const std::string& path = state_options_.state_file;
  if (path.empty()) return {};
  auto log = log::get("ipvs");
  if (unsaveable_) {
    Error error{"the state file " + path +
                " could not be read at start nor set aside: remove it to save overrides"};
    log->warn("[ipvs] cannot save the overrides: {}", error.message);
    return error;
  }
  const auto directory = std::filesystem::path(path).parent_path();
  Status status;
  if (!directory.empty()) status = ensure_owned_directory(directory.string(), 0755);
  if (status) {
    auto written = replace_file(path,
                                lvs::format_state_file(lvs::StateFile{
                                    .overrides = overrides, .vrrp_maintenance = vrrp_maintenance_}),
                                ReplaceOptions{.mode = 0600, .sync = true});
    if (!written) {
      status = written.error();
    } else if (*written == Replaced::kSymlink) {
      log->warn("[ipvs] {}", replaced_symlink_message(path));
    }
  }
  if (!status) {
    log->warn("[ipvs] cannot save the overrides to {}: {}", path, status.error().message);
    return Error{"cannot save the state file " + path + ": " + status.error().message};
  }
  return {};
}

lvs::VrrpMaintenanceMap read_vrrp_maintenance(const std::string& state_file) {
  if (state_file.empty()) return {};
  auto text = read_file_nofollow(state_file, lvs::kMaxOverrideFileSize);
  if (!text || !*text) {
    if (!text)
      log::get("vrrp")->warn("[vrrp] cannot read the state file: {}", text.error().message);
    return {};
  }
  auto parsed = lvs::parse_state_file(**text, state_file);
  if (!parsed) {
    log::get("vrrp")->error("[vrrp] state file: {}; no instance starts in maintenance",
                            parsed.error().message);
    return {};
  }
  if (!parsed->vrrp_maintenance.empty()) {
    log::get("vrrp")->info("[vrrp] {}: {} instance(s) in maintenance", state_file,
                           parsed->vrrp_maintenance.size());
  }
  return std::move(parsed->vrrp_maintenance);
}

Status save_vrrp_maintenance_file(const std::string& state_file,
                                  const lvs::VrrpMaintenanceMap& maintenance) {
  if (state_file.empty()) return {};
  auto text = read_file_nofollow(state_file, lvs::kMaxOverrideFileSize);
  if (!text) return Error{"cannot read the state file: " + text.error().message};
  lvs::StateFile state;
  if (*text) {
    auto parsed = lvs::parse_state_file(**text, state_file);
    if (!parsed)
      return Error{"the state file is corrupt, not overwritten: " + parsed.error().message};
    state = std::move(*parsed);
  }
  state.vrrp_maintenance = maintenance;
  const auto directory = std::filesystem::path(state_file).parent_path();
  if (!directory.empty()) {
    if (auto made = ensure_owned_directory(directory.string(), 0755); !made) return made;
  }
  auto written = replace_file(state_file, lvs::format_state_file(state),
                              ReplaceOptions{.mode = 0600, .sync = true});
  if (!written) return written.error();
  return {};
}

Status LvsService::save_vrrp_maintenance(lvs::VrrpMaintenanceMap maintenance) {
  if (!state_loaded_ && !state_options_.state_file.empty())
    return Error{"vigild is starting: the state file is not read yet"};
  lvs::VrrpMaintenanceMap before = std::exchange(vrrp_maintenance_, std::move(maintenance));
  auto saved = save_state(overrides_);
  if (!saved) vrrp_maintenance_ = std::move(before);
  return saved;
}

bool LvsService::prune(const char* when) {
  if (!config_) return false;
  auto dropped = lvs::prune_overrides(overrides_, *config_, wall_now());
  if (dropped.empty()) return false;
  auto log = log::get("ipvs");
  for (const auto& d : dropped) {
    log->info("[ipvs] {} override of {} dropped {}: {}", lvs::to_string(d.override_.kind),
              lvs::format_target(d.target), when, lvs::to_string(d.reason));
  }
  (void)save_state(overrides_);  // a failure is logged; the next change saves again
  return true;
}

Status LvsService::commit(lvs::OverrideMap next) {
  auto previous = std::exchange(overrides_, std::move(next));
  // IPVS first, so the change reaches the kernel without waiting for the disk.
  if (controller_) controller_->set_overrides(overrides_);
  if (auto saved = save_state(overrides_); !saved) {
    // What is applied is what the file says: a change that would not survive a restart is
    // undone (one more planned pass) and refused.
    overrides_ = std::move(previous);
    if (controller_) controller_->set_overrides(overrides_);
    return Error{saved.error().message + "; the change was undone"};
  }
  arm_expiry();
  if (state_options_.on_change) state_options_.on_change();
  return {};
}

void LvsService::overrides_changed() {
  if (controller_) controller_->set_overrides(overrides_);
  arm_expiry();
  if (state_options_.on_change) state_options_.on_change();
}

void LvsService::arm_expiry() {
  const auto next = lvs::next_expiry(overrides_);
  if (!next) {
    expiry_timer_.cancel();
    return;
  }
  const auto delay = std::chrono::seconds(std::max<int64_t>(0, *next - wall_now()));
  expiry_timer_.arm_after(delay, [this] {
    if (prune("at its expiry")) {
      overrides_changed();  // re-arms
    } else {
      arm_expiry();  // the wall clock moved back: not yet
    }
  });
}

}  // namespace vigil::daemon
