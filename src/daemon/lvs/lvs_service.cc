#include "daemon/lvs/lvs_service.h"

#include <fcntl.h>
#include <fmt/format.h>
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

// The connections and traffic of IPVS services or destinations (docs/operations.md "Metrics").
struct Traffic {
  uint64_t active = 0;
  uint64_t inactive = 0;
  uint64_t connections = 0;
  uint64_t packets_in = 0;
  uint64_t packets_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};
struct TrafficFamilies {
  api::MetricFamily& active;
  api::MetricFamily& inactive;
  api::MetricFamily& connections;
  api::MetricFamily& packets;  // by direction
  api::MetricFamily& bytes;    // by direction

  void add(const api::MetricLabels& labels, const Traffic& t) const {
    auto with = [&labels](const char* direction) {
      api::MetricLabels out = labels;
      out.emplace_back("direction", direction);
      return out;
    };
    active.add(labels, static_cast<double>(t.active));
    inactive.add(labels, static_cast<double>(t.inactive));
    connections.add(labels, static_cast<double>(t.connections));
    packets.add(with("in"), static_cast<double>(t.packets_in));
    packets.add(with("out"), static_cast<double>(t.packets_out));
    bytes.add(with("in"), static_cast<double>(t.bytes_in));
    bytes.add(with("out"), static_cast<double>(t.bytes_out));
  }
};

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

// An override's change as an event. `action` is the real server's admin state after it: ready
// once the override is gone, its kind while it is kept; who set it and why come along.
api::OverrideEvent override_event(const lvs::OverrideTarget& target, const lvs::Override& o,
                                  std::string_view change, std::string detail = {}) {
  const bool gone = change == api::kOverrideCleared || change == api::kOverrideExpired ||
                    change == api::kOverrideDropped;
  return api::OverrideEvent{
      .action = gone ? std::string("ready") : std::string(lvs::to_string(o.kind)),
      .virtual_server = lvs::format_virtual_server(target.virtual_server),
      .real_server = lvs::format_real_server(target.real_server),
      .weight =
          o.kind == lvs::OverrideKind::kWeight ? std::optional<uint32_t>(o.weight) : std::nullopt,
      .reason = o.reason,
      .uid = o.uid,
      .pid = o.pid,
      .change = std::string(change),
      .override_kind = std::string(lvs::to_string(o.kind)),
      .detail = std::move(detail)};
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
                       lvs::LvsControllerOptions options, OverrideStateOptions overrides,
                       BackgroundReadOptions reads)
    : scheduler_(scheduler),
      factory_(std::move(factory)),
      options_(std::move(options)),
      state_options_(std::move(overrides)),
      expiry_timer_(scheduler),
      reads_(std::move(reads)) {
  if (!state_options_.wall_clock) state_options_.wall_clock = event::wall_clock_now;
}

LvsService::~LvsService() {
  stop_background_reads();
}

void LvsService::start_background_reads() {
  if (!reads_.post_to_loop || read_thread_) return;
  auto datapath = factory_();
  if (!datapath) {
    log::get("ipvs")->warn(
        "[ipvs] cannot open a second IPVS handle for the periodic reads ({}); they run on the "
        "main loop",
        datapath.error().message);
    return;
  }
  read_datapath_ = std::move(*datapath);
  read_thread_ = std::make_unique<event::LoopThread>("ipvs-read");
  (void)read_thread_->start();  // a thread option that did not apply is logged; it runs anyway
  options_.read_in_background = [this](std::function<void(Result<lvs::ReadTables>)> done) {
    read_thread_->loop().post([this, done = std::move(done)] {
      auto table = read_datapath_->dump();
      Result<lvs::ReadTables> tables =
          table ? Result<lvs::ReadTables>(lvs::read_tables(std::move(*table)))
                : Result<lvs::ReadTables>(table.error());
      reads_.post_to_loop(
          [done, tables = std::move(tables)]() mutable { done(std::move(tables)); });
    });
  };
  options_.free_in_background = [this](std::vector<datapath::Table> tables) {
    if (!read_thread_) return;  // stopped: they end here
    // Freed in the task itself: wherever the task object ends, the tables end on this thread.
    read_thread_->loop().post([tables = std::move(tables)]() mutable { tables.clear(); });
  };
}

void LvsService::stop_background_reads() {
  if (!read_thread_) return;
  read_thread_->stop();  // joins: a dump under way finishes first
  read_thread_.reset();
  read_datapath_.reset();
  options_.read_in_background = nullptr;
  options_.free_in_background = nullptr;
}

Status LvsService::start(const SharedConfig& config) {
  config_ = config;
  // Before the first programming: a server drained before a restart never gets a new flow.
  load_state();
  announced_ = overrides_;  // loaded, not changed: their `since` dates them
  if (prune(PruneWhen::kStart)) announce_change();
  for (const auto& entry : lvs::list_overrides(overrides_, config_.get())) {
    if (entry.orphaned)
      report(override_event(entry.target, entry.override_, api::kOverrideOrphaned,
                            "its target is not in the configuration"));
  }
  if (paused_sink_) paused_sink_(paused_sent_ = paused_checks());
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
  start_background_reads();
  controller_ = std::make_unique<lvs::LvsController>(*datapath_, scheduler_, options_);
  controller_->set_overrides(overrides_);
  auto status = controller_->start(config);
  if (!status) {
    controller_.reset();
    stop_background_reads();
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
  bool changed = prune(PruneWhen::kReload);
  for (const auto& entry : lvs::list_overrides(overrides_, config_.get())) {
    if (orphaned_before.contains(entry.target) == entry.orphaned) continue;
    changed = true;
    if (entry.orphaned) {
      log->warn(
          "[ipvs] {} override of {}: its target left the configuration; kept (orphaned, "
          "not applied) until it comes back or is cleared",
          lvs::to_string(entry.override_.kind), lvs::format_target(entry.target));
      report(override_event(entry.target, entry.override_, api::kOverrideOrphaned,
                            "its target left the configuration"));
    } else {
      log->info("[ipvs] {} override of {}: its target is back; applied again",
                lvs::to_string(entry.override_.kind), lvs::format_target(entry.target));
      report(override_event(entry.target, entry.override_, api::kOverrideRestored,
                            "its target is back in the configuration"));
    }
  }
  arm_expiry();
  if (changed) announce_change();
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

Status LvsService::open_ipvs_for(const config::Config& config) {
  if (controller_ || opened_for_reload_ || !needs_ipvs(config)) return {};
  // The reload adds the first virtual servers: without IPVS it would be half applied.
  auto datapath = factory_();
  if (!datapath) {
    return Error{"IPVS: cannot program the new virtual servers: " + datapath.error().message};
  }
  opened_for_reload_ = std::move(*datapath);
  return {};
}

Result<Service::Commit> LvsService::prepare_reload(const SharedConfig& config) {
  if (auto opened = open_ipvs_for(*config); !opened) return opened.error();
  return Commit([this, config] { reload(config); });
}

void LvsService::plan_reload(const SharedConfig& config, PlanReply done) {
  // The overrides as the reload's prune() leaves them.
  lvs::OverrideMap overrides = overrides_;
  const auto dropped = lvs::prune_overrides(overrides, *config, wall_now());
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
    // Without a fresh dump, the last one's counters (last_known() keeps none).
    api::merge(part, describe_ipvs_plan(controller_->last_known(), plan.operations,
                                        now ? &*now : &controller_->kernel()));
  } else if (needs_ipvs(*config)) {
    // IPVS opens with the reload: its first pass dumps the table then, which no plan can see.
    part.notes.push_back(
        "IPVS is not open yet (no virtual server ran before): the reload opens it and programs "
        "every configured virtual server");
    // Opened now as the reload would (and kept for it): a kernel without IPVS refuses here.
    if (auto opened = open_ipvs_for(*config); !opened)
      part.refusals.push_back(opened.error().message);
  }
  done(std::move(part));
}

void LvsService::stop() {
  expiry_timer_.cancel();
  if (controller_) controller_->stop();
  stop_background_reads();
}

std::vector<LvsService::KernelVirtualServer> LvsService::kernel_view() {
  std::vector<KernelVirtualServer> out;
  if (!config_) return out;
  const datapath::Table empty;
  const datapath::Table& kernel = controller_ ? controller_->kernel() : empty;
  out.reserve(config_->lvs.virtual_servers.size());
  for (const auto& vs : config_->lvs.virtual_servers) {
    KernelVirtualServer& view = out.emplace_back();
    view.key = check::virtual_server_key(vs);
    view.label = lvs::format_virtual_server(view.key);
    const std::string_view protocol = vs.kind == config::VirtualServerKind::kFwmark
                                          ? std::string_view("none")
                                          : lvs::protocol_label(vs.protocol);
    const std::vector<datapath::ServiceKey> service_keys =
        kernel.empty() ? std::vector<datapath::ServiceKey>{} : lvs::service_keys(config_->lvs, vs);
    std::vector<const datapath::ServiceEntry*> entries;
    for (const auto& service_key : service_keys) {
      const auto entry = kernel.find(service_key);
      if (entry == kernel.end()) continue;
      entries.push_back(&entry->second);
      view.in_kernel = true;
      view.stats.connections += entry->second.stats.connections;
      view.stats.packets_in += entry->second.stats.packets_in;
      view.stats.packets_out += entry->second.stats.packets_out;
      view.stats.bytes_in += entry->second.stats.bytes_in;
      view.stats.bytes_out += entry->second.stats.bytes_out;
      for (const auto& [key, d] : entry->second.destination_stats) {
        view.active_connections += d.active_connections;
        view.inactive_connections += d.inactive_connections;
      }
    }
    for (const auto& rs : vs.real_servers) {
      KernelRealServer& server = view.real_servers.emplace_back();
      server.target = {view.key, {rs.address, rs.port}};
      server.label = check::format_real_server(server.target.real_server, std::string(protocol));
      // A virtual server group's services summed; the weight is the first one's.
      for (size_t e = 0; e < entries.size(); ++e) {
        const datapath::DestinationKey destination = lvs::destination_key(rs, service_keys[e]);
        const auto found = entries[e]->destinations.find(destination);
        if (found == entries[e]->destinations.end()) continue;
        if (!server.kernel)
          server.kernel = api::KernelDestinationStatus{.weight = found->second.weight};
        const auto stats = entries[e]->destination_stats.find(destination);
        if (stats == entries[e]->destination_stats.end()) continue;
        const datapath::DestinationStats& d = stats->second;
        server.kernel->active_connections += d.active_connections;
        server.kernel->inactive_connections += d.inactive_connections;
        server.kernel->connections += d.traffic.connections;
        server.kernel->packets_in += d.traffic.packets_in;
        server.kernel->packets_out += d.traffic.packets_out;
        server.kernel->bytes_in += d.traffic.bytes_in;
        server.kernel->bytes_out += d.traffic.bytes_out;
      }
    }
  }
  return out;
}

void LvsService::refresh_kernel(std::function<void()> then) {
  if (controller_) {
    controller_->refresh_kernel(std::move(then));  // a failed dump is logged and counted
    return;
  }
  then();
}

void LvsService::status(const api::StatusQuery& query, StatusReply done) {
  if (!query.real_servers) {
    done({});
    return;
  }
  refresh_kernel([this, done = std::move(done)] { done(real_servers_status()); });
}

api::StatusPart LvsService::real_servers_status() {
  api::StatusPart part;
  const int64_t now = wall_now();
  for (auto& vs : kernel_view()) {
    for (auto& rs : vs.real_servers) {
      api::KernelRealServer out{.virtual_server = vs.label,
                                .real_server = lvs::format_real_server(rs.target.real_server),
                                .kernel = rs.kernel};
      std::optional<int64_t> changed;
      if (const auto it = admin_changed_.find(rs.target); it != admin_changed_.end())
        changed = it->second;
      if (const auto it = overrides_.find(rs.target); it != overrides_.end())
        changed = std::max(changed.value_or(it->second.since), it->second.since);
      if (changed)
        out.admin_changed_seconds_ago = static_cast<double>(std::max<int64_t>(0, now - *changed));
      if (out.kernel || out.admin_changed_seconds_ago) part.kernel.push_back(std::move(out));
    }
  }
  return part;
}

void LvsService::metrics(api::MetricsDetail detail, MetricsReply done) {
  refresh_kernel([this, detail, done = std::move(done)] { done(metrics_part(detail)); });
}

api::MetricsPart LvsService::metrics_part(api::MetricsDetail detail) {
  using api::MetricType;
  const std::vector<KernelVirtualServer> kernel = kernel_view();
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
  part.family("ipvs_drift_repairs",
              "Operations a periodic pass needed because IPVS differed from the plan (an edit "
              "behind vigil's back, or an operation that failed earlier).",
              MetricType::kCounter)
      .add({}, static_cast<double>(c.drift_repairs));
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
  // The kernel's counters (docs/operations.md "Metrics"): the families are always declared; a
  // virtual server has series once IPVS holds it, a real server while it is in IPVS.
  TrafficFamilies services{
      .active = part.family("ipvs_service_active_connections",
                            "Active connections (ESTABLISHED for TCP) of the virtual server's "
                            "IPVS services, from the last table dump.",
                            MetricType::kGauge),
      .inactive = part.family("ipvs_service_inactive_connections",
                              "Inactive connections of the virtual server's IPVS services.",
                              MetricType::kGauge),
      .connections = part.family("ipvs_service_connections",
                                 "Connections IPVS scheduled to the virtual server's services.",
                                 MetricType::kCounter),
      .packets = part.family("ipvs_service_packets",
                             "Packets through the virtual server's services, by direction.",
                             MetricType::kCounter),
      .bytes = part.family("ipvs_service_bytes",
                           "Bytes through the virtual server's services, by direction.",
                           MetricType::kCounter)};
  for (const auto& vs : kernel) {
    if (!vs.in_kernel) continue;
    services.add(
        {{"virtual_server", vs.label}},
        {vs.active_connections, vs.inactive_connections, vs.stats.connections, vs.stats.packets_in,
         vs.stats.packets_out, vs.stats.bytes_in, vs.stats.bytes_out});
  }
  TrafficFamilies destinations{
      .active = part.family("ipvs_destination_active_connections",
                            "full only: active connections to the real server in IPVS.",
                            MetricType::kGauge),
      .inactive = part.family("ipvs_destination_inactive_connections",
                              "full only: inactive connections to the real server in IPVS.",
                              MetricType::kGauge),
      .connections = part.family("ipvs_destination_connections",
                                 "full only: connections IPVS scheduled to the real server "
                                 "(since it was added to IPVS).",
                                 MetricType::kCounter),
      .packets = part.family("ipvs_destination_packets",
                             "full only: packets to and from the real server, by direction.",
                             MetricType::kCounter),
      .bytes = part.family("ipvs_destination_bytes",
                           "full only: bytes to and from the real server, by direction.",
                           MetricType::kCounter)};
  auto& d_weight =
      part.family("ipvs_destination_weight",
                  "full only: the real server's weight in IPVS (0: drained).", MetricType::kGauge);
  auto& admin = part.family("real_server_admin_state",
                            "full only: state set of the real server's admin state (operator "
                            "overrides: drain, maint; a weight override is ready).",
                            MetricType::kGauge);
  if (detail == api::MetricsDetail::kFull) {
    static constexpr std::array<std::string_view, 3> kAdminStates = {"ready", "drain", "maint"};
    for (const auto& vs : kernel) {
      for (const auto& rs : vs.real_servers) {
        const api::MetricLabels labels{{"virtual_server", vs.label}, {"real_server", rs.label}};
        std::string_view state = "ready";
        if (const auto it = overrides_.find(rs.target); it != overrides_.end()) {
          if (it->second.kind == lvs::OverrideKind::kDrain) state = "drain";
          if (it->second.kind == lvs::OverrideKind::kMaint) state = "maint";
        }
        admin.add_state_set(labels, "state", kAdminStates, state);
        if (!rs.kernel) continue;
        const api::KernelDestinationStatus& k = *rs.kernel;
        d_weight.add(labels, static_cast<double>(k.weight));
        destinations.add(labels, {k.active_connections, k.inactive_connections, k.connections,
                                  k.packets_in, k.packets_out, k.bytes_in, k.bytes_out});
      }
    }
  }
  return part;
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
  api::OverrideEvent event = override_event(request.target, *made, api::kOverrideSet);
  if (request.lasts) event.for_seconds = request.lasts->count();
  report(std::move(event));
  return made;
}

Status LvsService::clear_override(const lvs::OverrideTarget& target, uint32_t uid, int32_t pid,
                                  std::string_view reason) {
  const auto found = overrides_.find(target);
  if (found == overrides_.end()) return Error{"no override on " + lvs::format_target(target)};
  lvs::OverrideMap next = overrides_;
  next.erase(target);
  lvs::Override removed = found->second;
  if (auto committed = commit(std::move(next)); !committed) return committed;
  log::get("ipvs")->info("[ipvs] ready {} ({} override removed) by uid {} pid {}",
                         lvs::format_target(target), lvs::to_string(removed.kind), uid, pid);
  // The caller's change: their reason, uid and pid; no weight (nothing is set).
  removed.reason = std::string(reason.substr(0, lvs::kMaxReasonLength));
  removed.uid = uid;
  removed.pid = pid;
  api::OverrideEvent event = override_event(target, removed, api::kOverrideCleared);
  event.weight.reset();
  report(std::move(event));
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

bool LvsService::prune(PruneWhen when) {
  if (!config_) return false;
  auto dropped = lvs::prune_overrides(overrides_, *config_, wall_now());
  if (dropped.empty()) return false;
  auto log = log::get("ipvs");
  const char* const at = when == PruneWhen::kStart    ? "at start"
                         : when == PruneWhen::kReload ? "on reload"
                                                      : "at its expiry";
  for (const auto& d : dropped) {
    log->info("[ipvs] {} override of {} dropped {}: {}", lvs::to_string(d.override_.kind),
              lvs::format_target(d.target), at, lvs::to_string(d.reason));
    if (d.reason == lvs::DropReason::kExpired) {
      report(override_event(d.target, d.override_, api::kOverrideExpired,
                            when == PruneWhen::kStart ? "while vigild was stopped" : ""));
      continue;
    }
    std::string detail(lvs::to_string(d.reason));
    if (const auto found = lvs::find_target(*config_, d.target); found.real_server != nullptr)
      detail += fmt::format(" ({} then, {} now)", d.override_.configured_weight,
                            found.real_server->weight);
    report(override_event(d.target, d.override_, api::kOverrideDropped, std::move(detail)));
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
  announce_change();
  return {};
}

void LvsService::overrides_changed() {
  if (controller_) controller_->set_overrides(overrides_);
  arm_expiry();
  announce_change();
}

void LvsService::announce_change() {
  const int64_t now = wall_now();
  for (const auto& [target, o] : overrides_) {
    const auto was = announced_.find(target);
    if (was == announced_.end() || was->second != o) admin_changed_[target] = now;
  }
  for (const auto& [target, o] : announced_)
    if (!overrides_.contains(target)) admin_changed_[target] = now;
  announced_ = overrides_;
  if (state_options_.on_change) state_options_.on_change();
  if (!paused_sink_) return;
  auto paused = paused_checks();
  if (paused == paused_sent_) return;
  paused_sent_ = std::move(paused);
  paused_sink_(paused_sent_);
}

void LvsService::report(api::OverrideEvent event) {
  if (event_sink_) event_sink_(std::move(event));
}

void LvsService::on_paused_checks(std::function<void(const std::set<lvs::OverrideTarget>&)> sink) {
  paused_sink_ = std::move(sink);
  paused_sent_ = paused_checks();
  if (paused_sink_) paused_sink_(paused_sent_);
}

void LvsService::arm_expiry() {
  const auto next = lvs::next_expiry(overrides_);
  if (!next) {
    expiry_timer_.cancel();
    return;
  }
  const auto delay = std::chrono::seconds(std::max<int64_t>(0, *next - wall_now()));
  expiry_timer_.arm_after(delay, [this] {
    if (prune(PruneWhen::kExpiry)) {
      overrides_changed();  // re-arms
    } else {
      arm_expiry();  // the wall clock moved back: not yet
    }
  });
}

}  // namespace vigil::daemon
