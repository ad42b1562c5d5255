#include "daemon/daemon.h"

#include <grp.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdlib>
#include <fstream>

#include "check/validate.h"
#include "common/log.h"
#include "common/log_async.h"
#include "common/safe_file.h"
#include "config/parser.h"
#include "control/config_check.h"
#include "control/exit_codes.h"
#include "control/script_audit.h"
#include "daemon/check/check_service.h"
#include "daemon/control.h"
#include "daemon/lvs/lvs_service.h"
#include "daemon/lvs/lvs_sync_service.h"
#include "daemon/metrics_gather.h"
#include "daemon/process.h"
#include "daemon/systemd.h"
#include "daemon/vrrp/vrrp_service.h"
#include "event/event_loop.h"
#include "event/script_runner.h"
#include "event/signals.h"
#include "event/wall_clock.h"

namespace vigil::daemon {
namespace {

void log_diagnostics(const config::Diagnostics& diagnostics, const config::SourceFiles& files) {
  static const auto log = log::get("config");
  for (const auto& d : diagnostics.items()) {
    auto where = files.format(d.location);
    if (d.severity == config::Severity::kError) {
      log->error("[{}] {}", where, d.message);
    } else {
      log->warn("[{}] {}", where, d.message);
    }
  }
}

// A configuration as loaded at start or by a reload: null `config` when it has errors.
struct Loaded {
  SharedConfig config;
  int failure = control::kDaemonOk;   // kDaemonConfigUnreadable or kDaemonConfigErrors
  std::vector<std::string> errors;    // "file:line:col: message"
  std::vector<std::string> warnings;  // the same, for warnings (the control API shows them)
  std::string hash;                   // sha256 of the files read, in order
};

// sha256 over every file the configuration was read from (include included), in reading order.
std::string config_hash(const config::SourceFiles& files) {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  for (size_t i = 0; i < files.size(); ++i) {
    std::ifstream in(files.path(static_cast<uint32_t>(i)), std::ios::binary);
    std::array<char, 8192> buffer{};
    while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0)
      EVP_DigestUpdate(context, buffer.data(), static_cast<size_t>(in.gcount()));
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(context, digest.data(), &length);
  EVP_MD_CTX_free(context);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i)
    hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

void collect_diagnostics(const config::Diagnostics& diagnostics, const config::SourceFiles& files,
                         Loaded& loaded) {
  for (const auto& d : diagnostics.items()) {
    auto line = files.format(d.location) + ": " + d.message;
    (d.severity == config::Severity::kError ? loaded.errors : loaded.warnings)
        .push_back(std::move(line));
  }
}

// Logs every diagnostic; returns the configuration (null when it has errors), with its scripts
// judged (control/script_audit.h): what the services get is what may run. At start and every
// reload.
// `quiet` (reload --dry-run): nothing is logged, the caller shows the diagnostics.
Loaded load_config(const std::string& file, const std::string& id, bool quiet = false) {
  Loaded loaded;
  if (auto why = control::unreadable_config(file)) {
    if (!quiet) log::get("config")->error("[{}] cannot read configuration file: {}", file, *why);
    loaded.failure = control::kDaemonConfigUnreadable;
    loaded.errors.push_back(file + ": cannot read configuration file: " + *why);
    return loaded;
  }
  config::ParseOptions options;
  options.reader.config_id = id;
  auto parsed = config::parse_file(file, options);
  // As vigild -t: a url regex PCRE2 rejects, or an SSL_GET client identity that does not load,
  // refuses the configuration.
  if (parsed->ok()) {
    for (auto& bad : check::check_config(parsed->config))
      parsed->diagnostics.error(bad.location, std::move(bad.message));
  }
  if (!quiet) log_diagnostics(parsed->diagnostics, parsed->files);
  collect_diagnostics(parsed->diagnostics, parsed->files, loaded);
  if (!parsed->ok()) {
    loaded.failure = control::kDaemonConfigErrors;
    return loaded;
  }
  loaded.hash = config_hash(parsed->files);
  control::ScriptAudit audit =
      control::audit_scripts(std::move(parsed->config), control::system_script_environment());
  if (!quiet) log_diagnostics(audit.diagnostics, parsed->files);
  collect_diagnostics(audit.diagnostics, parsed->files, loaded);
  // One immutable copy that every side shares (none keeps a copy of its own).
  loaded.config = std::make_shared<const config::Config>(std::move(audit.config));
  return loaded;
}

// systemd's watchdog is fed while every service's loop turns (the main loop's own turning is
// the timer that asks). Every service is asked each time: each keeps one probe in flight.
void start_systemd_watchdog(SystemdLink& systemd, event::EventLoop& loop,
                            const std::vector<std::unique_ptr<Service>>& services) {
  systemd.start_watchdog(loop.scheduler(), [&services] {
    bool all = true;
    for (const auto& service : services)
      all = service->alive() && all;
    return all;
  });
}

// The read-only socket's group: `vigil` when it exists (the package creates it).
std::optional<gid_t> vigil_group() {
  group entry{};
  group* found = nullptr;
  std::array<char, 4096> buffer{};
  if (::getgrnam_r("vigil", &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
    return std::nullopt;
  return found->gr_gid;
}

// startup_script / shutdown_script (config/model_global.h): keepalived's parent runs the
// first before it starts its children and the second after they end, and waits for each. Here
// each runs on a loop of its own (the main loop has not started, or has stopped) and is waited
// for up to its timeout (then SIGTERM to its process group, SIGKILL after the grace); the outcome
// is logged and changes nothing else.
void run_lifecycle_script(const config::NotifyScript& script, Duration timeout,
                          const config::GlobalDefs& global, std::string_view what) {
  auto log = log::get("daemon");
  std::optional<event::RunAs> run_as;
  if (const auto& user = script.run_as ? script.run_as : global.script_user) {
    auto resolved = event::resolve_run_as(user->user, user->group);
    if (!resolved) {  // never with vigild's own credentials instead
      log->warn("[vigild] {} {}: user {} cannot be resolved: not run", what, script.command.text,
                user->user);
      return;
    }
    run_as = *resolved;
  }
  event::EventLoop loop{std::string(what)};
  event::ProcessScriptRunner runner(loop);
  std::optional<event::ScriptResult> result;
  log->info("[vigild] running {} {}", what, script.command.text);
  runner.run({.name = std::string(what),
              .argv = script.command.argv,
              .run_as = run_as,
              .timeout = timeout},
             [&](const event::ScriptResult& done) { result = done; });
  // The runner ends it at `timeout` and kills it a grace later: this bound is never reached
  // while the runner works.
  loop.run_until([&] { return result.has_value(); }, timeout + std::chrono::seconds(5));
  if (!result) {
    log->warn("[vigild] {} {} did not end", what, script.command.text);
  } else if (result->succeeded()) {
    log->info("[vigild] {} {} succeeded", what, script.command.text);
  } else {
    log->warn("[vigild] {} {} failed: {}", what, script.command.text,
              event::describe(*result, timeout));
  }
}

}  // namespace

// The VRRP side keeps each maintenance entry's reason (the control server the rest).
static std::map<std::string, std::string> vrrp_maintenance_reasons(
    const lvs::VrrpMaintenanceMap& entries) {
  std::map<std::string, std::string> out;
  for (const auto& [name, entry] : entries)
    out[name] = entry.reason;
  return out;
}

ServiceFactory production_services(const DaemonOptions& options) {
  return production_services(options, ipvs_netlink_factory());
}

ServiceFactory production_services(const DaemonOptions& options, DatapathFactory datapath) {
  return [options, datapath = std::move(datapath)](event::EventLoop& main_loop,
                                                   const RunFiles& files) {
    std::vector<std::unique_ptr<Service>> services;
    if (!options.vrrp_only) {
      auto lvs = std::make_unique<LvsService>(
          main_loop.scheduler(), datapath,
          lvs::LvsControllerOptions{.keep_on_stop = options.dont_release_ipvs,
                                    .apply_fullnat = apply_fullnat_with_nft,
                                    .read_fullnat = read_fullnat_with_nft,
                                    .ownership_store = std::make_shared<lvs::FileOwnershipStore>(
                                        files.ipvs_state_file, lvs::current_network_namespace())},
          OverrideStateOptions{.state_file = files.override_state_file},
          BackgroundReadOptions{.post_to_loop = [&main_loop](std::function<void()> callback) {
            main_loop.post(std::move(callback));
          }});
      // The checkers after IPVS: their verdicts reach the programmed tables, posted to this loop.
      // Stopped before IPVS (services stop in reverse order).
      auto checks = std::make_unique<CheckService>(
          main_loop,
          CheckServiceOptions{
              .apply_health =
                  [lvs = lvs.get()](const check::HealthBatch& batch) { lvs->apply_health(batch); },
              .data_file = files.check_data_file,
              .stats_file = files.check_stats_file,
              .vrrp_in_process = !options.checkers_only,
          });
      // `rs maint` pauses the real server's checks (posted to the check thread).
      lvs->on_paused_checks([checks = checks.get()](const std::set<lvs::OverrideTarget>& paused) {
        check::PausedServers servers;
        for (const auto& target : paused)
          servers.insert({target.virtual_server, target.real_server});
        checks->set_paused(std::move(servers));
      });
      services.push_back(std::move(lvs));
      services.push_back(std::move(checks));
    }
    // lvs_sync_daemon follows the VRRP states, which the VRRP thread posts to the main loop. Its
    // own IPVS handle: it runs with -P too. Stopped after VRRP.
    auto sync = std::make_unique<LvsSyncService>(
        main_loop.scheduler(), datapath,
        lvs::LvsSyncControllerOptions{
            .sides = {.vrrp = !options.checkers_only, .lvs = !options.vrrp_only}});
    auto sync_observer = sync->vrrp_observer(
        [&main_loop](std::function<void()> event) { main_loop.post(std::move(event)); });
    services.push_back(std::move(sync));
    // VRRP last: the VIPs come up once IPVS is programmed, and go first on stop.
    if (!options.checkers_only) {
      services.push_back(std::make_unique<VrrpService>(VrrpServiceOptions{
          .keep_vips_on_stop = options.dont_release_vrrp,
          .data_file = files.data_file,
          .stats_file = files.stats_file,
          .on_state_change = std::move(sync_observer),
          .maintenance =
              vrrp_maintenance_reasons(read_vrrp_maintenance(files.override_state_file))}));
    }
    return services;
  };
}

int run_daemon(const DaemonOptions& options, const ServiceFactory& make_services) {
  log::setup({.console = options.log_console,
              .level = options.log_detail ? spdlog::level::debug : spdlog::level::info});
  auto log = log::get("daemon");
  const std::string file =
      options.config_file.empty() ? control::default_config_file() : options.config_file;
  const std::string id = options.config_id.empty() ? control::short_host_name() : options.config_id;

  Loaded loaded = load_config(file, id);
  SharedConfig config = loaded.config;
  if (const int failure = loaded.failure; !config) {
    log->error("[vigild] {}: configuration {}; not starting (exit {})", file,
               failure == control::kDaemonConfigUnreadable ? "cannot be read" : "has errors",
               failure);
    return failure;
  }
  // `instance` is part of every default file name: it must not lead elsewhere.
  if (const auto& instance = config->global.instance; instance.find('/') != std::string::npos) {
    log->error("[vigild] {}: instance '{}': a name in file names cannot hold '/'; not starting",
               file, instance);
    return control::kDaemonConfigErrors;
  }
  // Before any thread or socket: everything vigild opens from here on is in the namespace.
  const std::string net_namespace = chosen_namespace(options, config->global.net_namespace);
  if (!net_namespace.empty()) {
    auto status = check_namespace_name(net_namespace);
    if (status) status = enter_network_namespace(net_namespace);
    if (!status) {
      const std::string origin = options.net_namespace.empty() ? file + ": net_namespace" : "-s";
      log->error("[vigild] {} {}: cannot enter it: {}; not starting", origin, net_namespace,
                 status.error().message);
      return control::kDaemonRuntimeFailure;
    }
    log->info("[vigild] running in network namespace {}", net_namespace);
  }
  if (!options.dont_fork) {
    if (auto status = daemonize(); !status) {
      log->error("[vigild] cannot detach: {}", status.error().message);
      return control::kDaemonRuntimeFailure;
    }
  }
  // Still one thread (the log writer starts below), and vigild never changes its environment.
  const char* tmpdir = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  RunFiles files =
      run_files(options, net_namespace, config->global.instance, tmpdir != nullptr ? tmpdir : "");
  // Started by `ip netns exec NAME` without -s: NAME's sockets and state file, not the host's.
  const std::string socket_namespace =
      net_namespace.empty() ? api::current_named_namespace() : net_namespace;
  if (socket_namespace != net_namespace) {
    files.override_state_file =
        run_files(options, socket_namespace, config->global.instance).override_state_file;
  }
  const std::string& pid_file = files.pid_file;
  if (auto written = write_pid_file(pid_file); !written) {
    log->error("[vigild] {}", written.error().message);
    return control::kDaemonRuntimeFailure;
  } else if (written->replaced_symlink) {
    log->warn("[vigild] {}", replaced_symlink_message(pid_file));
  }
  // From here the VRRP thread may run at SCHED_RR: nobody writes log lines synchronously.
  log::start_async();

  SystemdLink systemd;  // after daemonize: systemd watches this pid
  // The last events (GET /v1/events), recorded on the main loop; outlives the loop, so that
  // nothing posted to it can reach a journal that is gone.
  api::EventJournal journal(event::wall_clock_unix_milliseconds);
  event::EventLoop loop("main");
  auto services = make_services(loop, files);
  // The sides report theirs from their threads: posted here, never waited for.
  for (auto& service : services) {
    service->set_event_sink([&loop, &journal](api::EventPayload what) {
      loop.post([&journal, what = std::move(what)] { journal.record(what); });
    });
  }
  size_t started = 0;
  int exit_code = 0;

  // The handlers are in place before any service starts: a SIGTERM that comes while IPVS is
  // being programmed waits for the loop and then stops cleanly, instead of killing vigild
  // with half its state in the kernel.
  event::SignalHandler signals(loop);
  auto stop = [&](int signal_number) {
    log->info("[vigild] {} received: stopping", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    loop.stop();
  };
  (void)signals.on(SIGTERM, stop);
  (void)signals.on(SIGINT, stop);
  // SIGUSR1 / SIGUSR2: every side writes its dump files (VRRP: vigil.data / .stats, checkers:
  // vigil_check.data / .stats), as keepalived's parent passes SIGUSR1 to each child process.
  (void)signals.on(SIGUSR1, [&](int) {
    for (size_t i = 0; i < started; ++i)
      services[i]->dump_data();
  });
  (void)signals.on(SIGUSR2, [&](int) {
    for (size_t i = 0; i < started; ++i)
      services[i]->dump_stats();
  });
  // SIGHUP and `vigilctl reload`: a configuration with errors is refused and the running one
  // stays.
  const TimePoint started_at = loop.scheduler().now();
  std::optional<api::ReloadStatus> last_reload;
  TimePoint last_reload_at{};
  uint64_t reloads_refused = 0;
  auto reload = [&](const std::string& who) {
    log->info("[vigild] reloading {} ({})", file, who);
    systemd.reloading();
    Loaded next = load_config(file, id);
    last_reload_at = loop.scheduler().now();
    const uint64_t count = last_reload ? last_reload->count + 1 : 1;
    if (!next.config) {
      const std::string why = next.failure == control::kDaemonConfigUnreadable
                                  ? "cannot be read"
                                  : fmt::format("has {} error(s)", next.errors.size());
      log->error("[vigild] reload refused: {} {}; the running configuration stays", file, why);
      systemd.ready(running_status(*config, options) + "; last reload refused: " + file + " " +
                    why);
      last_reload = api::ReloadStatus{
          .count = count, .ok = false, .message = fmt::format("{} {}", file, why)};
      ++reloads_refused;
      journal.record(api::ReloadEvent{
          .ok = false, .by = who, .errors = next.errors.size(), .message = last_reload->message});
      return ReloadOutcome{.message = last_reload->message, .errors = std::move(next.errors)};
    }
    // As in keepalived, the namespace is chosen once, at start.
    if (const auto& wanted = next.config->global.net_namespace;
        options.net_namespace.empty() && wanted != net_namespace) {
      log->warn(
          "[vigild] {}: net_namespace changed to '{}': it cannot change on reload; "
          "staying in '{}' (restart vigild to move)",
          file, wanted, net_namespace);
    }
    // Every side plans first; all commit, or none does (a side's refusal keeps every side on
    // the running configuration).
    std::vector<Service::Commit> commits;
    std::vector<std::string> refusals;
    for (auto& service : services) {
      auto commit = service->prepare_reload(next.config);
      if (commit) {
        commits.push_back(std::move(*commit));
      } else {
        refusals.push_back(commit.error().message);
      }
    }
    if (!refusals.empty()) {
      for (const auto& refusal : refusals)
        log->error("[vigild] reload refused: {}", refusal);
      log->error("[vigild] reload refused: {}; every side keeps the running configuration", file);
      systemd.ready(running_status(*config, options) + "; last reload refused: " + refusals[0]);
      last_reload = api::ReloadStatus{
          .count = count, .ok = false, .message = file + ": refused: " + refusals[0]};
      ++reloads_refused;
      return ReloadOutcome{.message = last_reload->message, .errors = std::move(refusals)};
    }
    for (auto& commit : commits)
      commit();
    config = next.config;
    loaded = std::move(next);
    last_reload = api::ReloadStatus{.count = count, .ok = true};
    journal.record(api::ReloadEvent{.ok = true, .by = who});
    log->info("[vigild] configuration reloaded");
    systemd.ready(running_status(*config, options));
    return ReloadOutcome{.applied = true, .message = "configuration reloaded"};
  };
  (void)signals.on(SIGHUP, [&](int) { (void)reload("SIGHUP"); });

  // The control API: before the services start, so that a second vigild with our sockets is
  // refused before it touches VRRP or IPVS.
  std::unique_ptr<ControlServer> control;
  auto lvs_side = [&]() -> LvsService* {
    for (size_t i = 0; i < started; ++i) {
      if (auto* lvs = dynamic_cast<LvsService*>(services[i].get())) return lvs;
    }
    return nullptr;
  };
  const std::string run_instance = config->global.instance;  // names files: fixed at start
  auto own_metrics = [&] {
    const double uptime =
        std::chrono::duration<double>(loop.scheduler().now() - started_at).count();
    return daemon_metrics(VIGIL_VERSION, uptime, last_reload ? last_reload->count : 0,
                          reloads_refused);
  };
  if (auto dir = ensure_owned_directory(api::kSocketDirectory, 0755); !dir) {
    log->error("[vigild] {}", dir.error().message);
    exit_code = control::kDaemonRuntimeFailure;
  } else {
    auto server = ControlServer::start(
        loop, ControlOptions{
                  .sockets = api::socket_paths(socket_namespace, run_instance),
                  .read_only_group = vigil_group(),
                  .daemon_status =
                      [&] {
                        api::DaemonStatus s{
                            .version = VIGIL_VERSION,
                            .pid = ::getpid(),
                            .uptime_seconds =
                                std::chrono::duration<double>(loop.scheduler().now() - started_at)
                                    .count(),
                            .config_file = file,
                            .config_hash = loaded.hash,
                            .net_namespace = socket_namespace,
                            .instance = run_instance,
                            .last_reload = last_reload,
                            .warnings = loaded.warnings,
                        };
                        if (LvsService* lvs = lvs_side(); lvs != nullptr)
                          s.overrides = override_statuses(lvs->overrides());
                        if (s.last_reload) {
                          s.last_reload->seconds_ago =
                              std::chrono::duration<double>(loop.scheduler().now() - last_reload_at)
                                  .count();
                        }
                        return s;
                      },
                  .services =
                      [&] {
                        std::vector<Service*> out;
                        for (size_t i = 0; i < started; ++i)
                          out.push_back(services[i].get());
                        return out;
                      },
                  .reload = reload,
                  .read_for_plan =
                      [&] {
                        Loaded next = load_config(file, id, /*quiet=*/true);
                        api::ReloadPlan plan{.file = file,
                                             .config_hash = next.hash,
                                             .config_changed = next.hash != loaded.hash,
                                             .errors = std::move(next.errors)};
                        return std::pair{std::move(plan), next.config};
                      },
                  .lvs = lvs_side,
                  .vrrp = [&]() -> VrrpService* {
                    for (size_t i = 0; i < started; ++i) {
                      if (auto* vrrp = dynamic_cast<VrrpService*>(services[i].get())) return vrrp;
                    }
                    return nullptr;
                  },
                  .daemon_metrics = own_metrics,
                  .metrics_full_detail = config->global.vigil_metrics_full_detail,
                  .metrics_listen = config->global.vigil_metrics_address,
                  .events = &journal,
                  .vrrp_maintenance = read_vrrp_maintenance(files.override_state_file),
                  .save_vrrp_maintenance =
                      [&](const lvs::VrrpMaintenanceMap& entries) {
                        if (LvsService* lvs = lvs_side(); lvs != nullptr)
                          return lvs->save_vrrp_maintenance(entries);
                        return save_vrrp_maintenance_file(files.override_state_file, entries);
                      },
              });
    if (!server) {
      log->error("[vigild] control API: {}; not starting", server.error().message);
      exit_code = control::kDaemonRuntimeFailure;
    } else {
      control = std::move(*server);
    }
  }

  // The shutdown script runs at the end only when the start got this far (keepalived runs it
  // when its children end).
  const bool starting = exit_code == 0;
  if (starting && config->global.startup_script) {
    run_lifecycle_script(*config->global.startup_script, config->global.startup_script_timeout,
                         config->global, "startup_script");
  }
  for (; exit_code == 0 && started < services.size(); ++started) {
    if (auto status = services[started]->start(config); !status) {
      log->error("[vigild] cannot start: {}", status.error().message);
      exit_code = control::kDaemonRuntimeFailure;
      break;
    }
  }
  if (exit_code == 0) {
    log->info("[vigild] running with {} (config id {})", file, id);
    systemd.ready(running_status(*config, options));
    start_systemd_watchdog(systemd, loop, services);
    loop.run();
  }
  systemd.stopping();
  systemd.stop_watchdog();

  // No request reaches a side that is stopping. Stop what started, last first.
  control.reset();
  while (started > 0)
    services[--started]->stop();
  if (starting && config->global.shutdown_script) {
    run_lifecycle_script(*config->global.shutdown_script, config->global.shutdown_script_timeout,
                         config->global, "shutdown_script");
  }
  remove_pid_file(pid_file);
  log->info("[vigild] stopped");
  log::stop_async();
  return exit_code;
}

}  // namespace vigil::daemon
