#include "daemon/check/check_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <memory>
#include <random>
#include <utility>

#include "alert/asio_transport.h"
#include "alert/message.h"
#include "alert/sender.h"
#include "check_io/prober.h"
#include "common/log.h"
#include "common/notify_fifo.h"
#include "common/overloaded.h"
#include "common/run_as.h"
#include "common/safe_file.h"
#include "common/track_file.h"
#include "daemon/check/check_dump.h"
#include "daemon/check/check_reload_plan.h"
#include "daemon/check/check_thread.h"
#include "daemon/check/script_users.h"
#include "daemon/check/stop_grace.h"
#include "event/event_loop.h"
#include "event/file_watcher.h"
#include "event/script_runner.h"
#include "event/wall_clock.h"

namespace vigil::daemon {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("check");
  return *instance;
}

// keepalived kills a MISC_CHECK that ran past misc_timeout with SIGTERM, then SIGKILL 2 s later.
constexpr Duration kMiscKillGrace = 2s;
// How often stop() looks whether the last scripts have finished.
constexpr Duration kStopPollStep = 10ms;

// SIGUSR1 / SIGUSR2 dumps: a new root-owned 0600 file replaces whatever is at the path; a
// symbolic link planted there is replaced, never followed (keepalived's CVE-2018-19044).
void write_dump(const std::string& what, const std::string& path, const std::string& text) {
  auto written = replace_file(path, text, ReplaceOptions{.mode = 0600});
  if (!written) {
    logger().warn("[check] {} not written: {}", what, written.error().message);
    return;
  }
  if (*written == Replaced::kSymlink) logger().warn("[check] {}", replaced_symlink_message(path));
  logger().info("[check] {} written to {}", what, path);
}

}  // namespace

// Everything that lives on the check thread. Built on the main thread before the loop runs,
// used only on the check thread afterwards, destroyed after the thread joined.
struct CheckService::Thread {
  explicit Thread(event::EventLoop& main_loop, const CheckServiceOptions& options)
      : loop_thread("check"),
        scripts(loop_thread.loop(),
                event::ProcessScriptRunner::Options{.kill_grace = kMiscKillGrace}),
        prober(loop_thread.loop(), loop_thread.loop().scheduler(), scripts),
        alert_transport(loop_thread.loop()),
        alerts(loop_thread.loop().scheduler(), alert_transport, event::wall_clock_now, "check"),
        engine(
            loop_thread.loop().scheduler(), prober, random_duration(),
            check::EngineSinks{
                .health =
                    [&main_loop, apply = options.apply_health](check::HealthBatch batch) {
                      main_loop.post([apply, batch = std::move(batch)] { apply(batch); });
                    },
                .notify = [this](const check::VirtualServerSpec& vs,
                                 check::NotifyActions actions) { notify(vs, std::move(actions)); },
                .checker_changed = checker_events(options.on_event),
            },
            [this](const config::RunAs& user) { return users.get(user); },
            [](const std::string& path) { return read_track_file_value(path); }) {}

  // Each checker change as an event for the control API (posted by `sink`, never waited for).
  static std::function<void(const check::CheckerChange&)> checker_events(api::EventSink sink) {
    if (!sink) return {};
    return [sink = std::move(sink)](const check::CheckerChange& change) {
      sink(api::HealthEvent{
          .virtual_server = change.virtual_server.label,
          .real_server = check::format_real_server(change.real_server.key,
                                                   change.virtual_server.protocol_name),
          .checker = change.checker.label,
          .up = change.up,
          .reason = std::string(check::to_string(change.reason)),
          .detail = std::string(change.detail),
      });
    };
  }

  static check::RandomDuration random_duration() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine](Duration max) {
      std::uniform_int_distribution<Duration::rep> pick(0, max.count());
      return Duration{pick(*engine)};
    };
  }

  void notify(const check::VirtualServerSpec& vs, check::NotifyActions actions) {
    for (auto& action : actions) {
      std::visit(
          Overloaded{
              [&](check::RunScript& run) {
                event::ScriptRequest request{
                    .name = vs.label + " " + run.script.command.text,
                    .argv = run.script.command.argv,
                };
                const auto& user = run.script.run_as ? run.script.run_as : script_user;
                if (user) {
                  request.run_as = users.get(*user);
                  if (!request.run_as) return;
                }
                scripts.run(std::move(request), [](const event::ScriptResult&) {});
              },
              [&](check::FifoLine& line) {
                if (lvs_fifo) lvs_fifo->fifo.write(line.line);
              },
              [&](check::SmtpAlert& alert) {
                // Queued: the sender connects later, on this loop, never blocking it.
                alerts.send(
                    alert.real_server.empty()
                        ? alert::virtual_server_alert(alert.virtual_server, alert.up, alert.body)
                        : alert::real_server_alert(alert.real_server, alert.virtual_server,
                                                   alert.up, alert.body));
              },
          },
          action);
    }
  }

  // FILE_CHECK: the engine's tracked files, watched with inotify (opened at the first load that
  // tracks one); each change goes to the engine.
  void watch_files() {
    const auto paths = engine.tracked_files();
    if (!file_watcher && paths.empty()) return;
    if (!file_watcher) {
      auto opened = event::InotifyFileWatcher::open(
          loop_thread.loop(), "[check] FILE_CHECK",
          [this](const std::string& path) { engine.file_changed(path); });
      if (!opened) {
        logger().warn("[check] FILE_CHECK: {}: files are read only at load",
                      opened.error().message);
        return;
      }
      file_watcher = std::move(*opened);
    }
    if (auto watched = file_watcher->watch(paths); !watched)
      logger().warn("[check] FILE_CHECK: {}; those files are read only at load",
                    watched.error().message);
  }

  // lvs_notify_fifo: opened (and its script started) at load; an unchanged one is kept.
  void update_fifo(const config::Config& config) {
    const auto& wanted = config.global.lvs_notify_fifo;
    if (lvs_fifo && wanted && lvs_fifo->path == wanted->path &&
        lvs_fifo->script == wanted->script && lvs_fifo->run_as == wanted->run_as) {
      return;
    }
    lvs_fifo.reset();  // its script is killed with its runner
    if (!wanted) return;
    auto opened = NotifyFifo::open(wanted->path);
    if (!opened) {
      logger().warn("[check] lvs_notify_fifo: {}: no lines are written to it",
                    opened.error().message);
      return;
    }
    auto channel = std::make_unique<FifoChannel>(FifoChannel{
        .fifo = std::move(*opened),
        .path = wanted->path,
        .script = wanted->script,
        .run_as = wanted->run_as,
    });
    if (wanted->script) {
      // The FIFO line's user, else script_user (as for the VRRP FIFOs).
      const auto user = wanted->run_as.user.empty() ? config.global.script_user
                                                    : std::optional<config::RunAs>(wanted->run_as);
      std::optional<RunAs> run_as;
      if (user) {
        run_as = users.get(*user);
        if (!run_as) {
          lvs_fifo = std::move(channel);
          return;
        }
        if (auto given = channel->fifo.give_to(run_as->uid, run_as->gid); !given)
          logger().warn("[check] lvs_notify_fifo: {}", given.error().message);
      }
      // keepalived: the FIFO's name is the script's last argument; it runs until we stop.
      auto argv = wanted->script->argv;
      argv.push_back(wanted->path);
      channel->runner = std::make_unique<event::ProcessScriptRunner>(loop_thread.loop());
      const std::string path = wanted->path;
      channel->runner->run(event::ScriptRequest{.name = "lvs_notify_fifo script " + path,
                                                .argv = std::move(argv),
                                                .run_as = run_as,
                                                .timeout = Duration::zero()},
                           [path](const event::ScriptResult& result) {
                             logger().info("[check] lvs_notify_fifo script for {} ended: {}", path,
                                           event::describe(result));
                           });
    }
    lvs_fifo = std::move(channel);
  }

  // A new configuration. Its script users are resolved here, once, not at each notify.
  void load(const SharedConfig& shared, std::optional<alert::SmtpSettings> smtp) {
    const config::Config& config = *shared;
    alerts.configure(std::move(smtp));
    users.load(config);
    script_user = config.global.script_user;
    update_fifo(config);
    auto loaded = engine.load(shared);
    if (!loaded) {
      logger().error("checkers not reloaded, the previous ones keep running: {}",
                     loaded.error().message);
      return;
    }
    watch_files();
    logger().info("{} checkers running ({} left out: no probe for their type yet)",
                  engine.checker_count(), engine.skipped_checkers());
  }

  // Shutdown: omega's notifies start, and the FIFO's script is asked to end (SIGTERM) once the
  // last lines are in the FIFO, as keepalived does.
  void stop_checkers() {
    engine.stop();
    if (lvs_fifo && lvs_fifo->runner) lvs_fifo->runner->terminate_running();
  }

  [[nodiscard]] bool scripts_idle() const {
    // Omega's shutdown alerts get the same grace as its scripts.
    return scripts.idle() && (!lvs_fifo || !lvs_fifo->runner || lvs_fifo->runner->idle()) &&
           !alerts.busy() && alerts.queued() == 0;
  }

  [[nodiscard]] CheckDumpInput dump_input() {
    return CheckDumpInput{.checkers = engine.status(),
                          .left_out = engine.skipped_checkers(),
                          .now = loop_thread.loop().scheduler().now()};
  }
  void write_data(const std::string& path) {
    write_dump("checker states", path, format_check_data(dump_input()));
  }
  void write_stats(const std::string& path, const event::WatchdogCounters& stalls) {
    write_dump("checker counters", path,
               format_check_stats(dump_input(), prober.counters(),
                                  loop_thread.loop().timer_lateness(), stalls));
  }

  struct FifoChannel {
    NotifyFifo fifo;
    std::string path;
    std::optional<config::Command> script;
    config::RunAs run_as;
    std::unique_ptr<event::ProcessScriptRunner> runner;  // destroyed first: the script ends
  };

  event::LoopThread loop_thread;
  event::ProcessScriptRunner scripts;
  check_io::AsioProber prober;
  alert::AsioSmtpTransport alert_transport;
  alert::SmtpAlertSender alerts;             // before the engine: alive while the engine notifies
  std::optional<config::RunAs> script_user;  // global_defs script_user of the loaded config
  ScriptUsers users;                         // of the loaded config; built before the engine
  check::CheckEngine engine;
  std::unique_ptr<FifoChannel> lvs_fifo;  // after the engine: open while its stop() notifies
  std::unique_ptr<event::InotifyFileWatcher> file_watcher;
};

CheckService::CheckService(event::EventLoop& main_loop, CheckServiceOptions options)
    : main_loop_(main_loop), options_(std::move(options)) {}

CheckService::~CheckService() {
  stop();
}

bool CheckService::vrrp_runs(const config::Config& config) const {
  return options_.vrrp_in_process && !config.vrrp.instances.empty();
}

Status CheckService::start(const SharedConfig& shared) {
  const config::Config& config = *shared;
  CheckThreadPlan plan = plan_check_thread(config.global, vrrp_runs(config));
  for (const auto& warning : plan.warnings)
    logger().warn("[check] {}", warning);
  for (const auto& note : plan.notes)
    logger().info("[check] {}", note);
  thread_ = std::make_unique<Thread>(main_loop_, options_);
  // The thread runs even when an option was refused (EPERM, a missing CPU): the event layer
  // logged why, and the checkers run without it.
  (void)thread_->loop_thread.start(plan.options);
  thread_options_ = std::move(plan.options);
  watchdog_ = std::make_unique<event::LoopWatchdog>(
      main_loop_.scheduler(),
      [loop = &thread_->loop_thread.loop()](std::function<void()> ping) {
        loop->post(std::move(ping));
      },
      "check", event::LoopWatchdog::Options{});
  if (!paused_.empty()) set_paused(std::exchange(paused_, {}));
  load(shared);
  return {};
}

void CheckService::set_paused(check::PausedServers paused) {
  if (!thread_) {
    paused_ = std::move(paused);
    return;
  }
  Thread* thread = thread_.get();
  thread->loop_thread.loop().post([thread, paused = std::move(paused)]() mutable {
    thread->engine.set_paused(std::move(paused));
  });
}

bool CheckService::alive() {
  return !watchdog_ || !watchdog_->counters().stalled_now;
}

void CheckService::reload(const SharedConfig& shared) {
  if (!thread_) return;
  const config::Config& config = *shared;
  if (plan_check_thread(config.global, vrrp_runs(config)).options != thread_options_) {
    logger().warn(
        "[check] the checker process keywords (checker_priority, checker_rt_priority, "
        "checker_no_swap, checker_cpu_affinity, checker_process_name) now ask for other "
        "settings: they apply when vigild starts; the check thread keeps its own");
  }
  load(shared);
}

void CheckService::plan_reload(const SharedConfig& config, PlanReply done) {
  if (!thread_) {
    done({});
    return;
  }
  Thread* thread = thread_.get();
  thread->loop_thread.loop().post([thread, config, done = std::move(done)] {
    done(describe_checker_plan(thread->engine.preview_reload(*config)));
  });
}

void CheckService::load(const SharedConfig& shared) {
  const config::Config& config = *shared;
  // SMTP alerts: the settings with keepalived's defaults (host name, user: NSS, here and not on
  // the check thread). keepalived sends nothing without smtp_server and notification_email.
  std::optional<alert::SmtpSettings> smtp =
      alert::settings_from(config.global, alert::local_identity());
  if (!smtp) {
    const bool wanted =
        config.global.smtp_alert_checker.value_or(config.global.smtp_alert) ||
        std::any_of(config.lvs.virtual_servers.begin(), config.lvs.virtual_servers.end(),
                    [](const config::VirtualServer& vs) { return vs.smtp_alert; });
    if (wanted)
      logger().info("[check] smtp_alert is on but there is {}: no SMTP alert is sent",
                    alert::why_not_sent(config.global));
  }
  Thread* thread = thread_.get();
  thread->loop_thread.loop().post([thread, shared, smtp = std::move(smtp)]() mutable {
    thread->load(shared, std::move(smtp));
  });
}

void CheckService::stop() {
  if (!thread_) return;
  watchdog_.reset();  // stopping takes as long as the scripts' grace: not a stall
  Thread* thread = thread_.get();
  std::promise<void> idle;
  auto scripts_done = idle.get_future();
  thread->loop_thread.loop().post([thread, &idle, grace = options_.stop_script_grace] {
    thread->stop_checkers();
    when_idle_or_after(
        thread->loop_thread.loop().scheduler(), [thread] { return thread->scripts_idle(); }, grace,
        kStopPollStep,
        [thread, &idle] {
          if (!thread->scripts_idle()) logger().warn("[check] scripts still running: killed");
          idle.set_value();
        });
  });
  scripts_done.wait();
  // Whatever the grace left running is killed with its runner (thread_.reset()).
  thread->loop_thread.loop().post([thread] { thread->loop_thread.loop().stop(); });
  thread->loop_thread.stop();
  thread_.reset();
}

void CheckService::dump_data() {
  if (!thread_) return;
  Thread* thread = thread_.get();
  std::promise<void> written;
  thread->loop_thread.loop().post([thread, &written, path = options_.data_file] {
    thread->write_data(path);
    written.set_value();
  });
  written.get_future().wait();
}

void CheckService::status(const api::StatusQuery& query, StatusReply done) {
  if (!thread_) {
    done({});
    return;
  }
  Thread* thread = thread_.get();
  thread->loop_thread.loop().post([thread, query, done = std::move(done)] {
    api::StatusPart part;
    // Every checker's state, by virtual server label and real server (services query only).
    std::map<std::pair<std::string, check::RealServerKey>, std::vector<api::CheckerStatus>>
        checkers;
    if (query.real_servers) {
      for (auto& c : thread->engine.status()) {
        checkers[{c.virtual_server, c.real_server}].push_back(
            {.name = std::move(c.label),
             .up = c.up,
             .has_run = c.has_run,
             .probes = c.probes,
             .latency_seconds =
                 c.last_latency
                     ? std::optional<double>(std::chrono::duration<double>(*c.last_latency).count())
                     : std::nullopt,
             .last_error = std::move(c.last_error),
             .paused = c.paused});
      }
    }
    for (auto& service : thread->engine.service_status()) {
      api::VirtualServerStatus vs{.name = std::move(service.label),
                                  .total = service.real_servers.size(),
                                  .quorum_up = service.quorum_up,
                                  .live_weight = service.live_weight,
                                  .quorum = service.quorum,
                                  .sorry_server_active = service.sorry_active};
      for (const auto& rs : service.real_servers) {
        vs.alive += rs.alive ? 1 : 0;
        if (!query.real_servers) continue;  // the summary counts them only
        api::RealServerStatus server{
            .address = check::format_real_server(rs.key, service.protocol_name),
            .alive = rs.alive,
            .weight = rs.weight};
        if (rs.changed_at) {
          server.last_change_seconds_ago =
              std::chrono::duration<double>(thread->loop_thread.loop().scheduler().now() -
                                            *rs.changed_at)
                  .count();
        }
        if (auto it = checkers.find({vs.name, rs.key}); it != checkers.end())
          server.checkers = std::move(it->second);
        vs.real_servers.push_back(std::move(server));
      }
      part.virtual_servers.push_back(std::move(vs));
    }
    if (const size_t skipped = thread->engine.skipped_checkers(); skipped > 0) {
      part.warnings.push_back(fmt::format(
          "{} checker block(s) of a type vigil does not run yet are left out", skipped));
    }
    done(std::move(part));
  });
}

void CheckService::metrics(api::MetricsDetail detail, MetricsReply done) {
  if (!thread_) {
    done({});
    return;
  }
  // As status(): built on the check thread and handed over from there.
  Thread* thread = thread_.get();
  thread->loop_thread.loop().post([thread, detail, done = std::move(done)] {
    const CheckMetricsInput input{.prober = thread->prober.counters(),
                                  .lateness = thread->loop_thread.loop().timer_lateness(),
                                  .timings = thread->engine.timings(),
                                  .now = thread->loop_thread.loop().scheduler().now()};
    done(check_metrics(thread->engine.status(), thread->engine.service_status(), input, detail));
  });
}

void CheckService::dump_stats() {
  if (!thread_) return;
  Thread* thread = thread_.get();
  std::promise<void> written;
  const event::WatchdogCounters stalls =
      watchdog_ ? watchdog_->counters() : event::WatchdogCounters{};
  thread->loop_thread.loop().post([thread, &written, path = options_.stats_file, stalls] {
    thread->write_stats(path, stalls);
    written.set_value();
  });
  written.get_future().wait();
}

}  // namespace vigil::daemon
