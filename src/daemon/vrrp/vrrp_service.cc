#include "daemon/vrrp/vrrp_service.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <csignal>
#include <cstring>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "alert/asio_transport.h"
#include "alert/message.h"
#include "alert/sender.h"
#include "common/log.h"
#include "common/log_async.h"
#include "common/safe_file.h"
#include "common/track_file.h"
#include "daemon/vrrp/vrrp_fifo.h"
#include "daemon/vrrp/vrrp_host.h"
#include "daemon/vrrp/vrrp_reload_plan.h"
#include "daemon/vrrp/vrrp_runtime.h"
#include "event/event_loop.h"
#include "event/fd_watcher.h"
#include "event/script_runner.h"
#include "event/signals.h"
#include "event/wall_clock.h"
#include "vrrp/announce_pacer.h"
#include "vrrp/instance.h"
#include "vrrp/linux_advert_socket.h"
#include "vrrp/linux_link_monitor.h"
#include "vrrp/linux_netdev.h"
#include "vrrp/linux_vip_manager.h"
#include "vrrp/sync_group_link.h"

namespace vigil::daemon {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("vrrp");
  return *instance;
}

using UserKey = std::pair<std::string, std::string>;  // user, group

// Script credentials resolved on the calling thread (NSS may block); a failed look-up disables
// the scripts that asked for that user.
struct Prepared {
  config::Config config;
  // SMTP alerts' settings, keepalived's defaults resolved (host and user names: NSS, here).
  std::optional<alert::SmtpSettings> smtp;
  std::vector<VrrpInstancePlan> plans;
  std::map<UserKey, Result<event::RunAs>> users;
};

void collect_user(const std::optional<config::RunAs>& run_as,
                  std::map<UserKey, Result<event::RunAs>>& users) {
  if (!run_as) return;
  UserKey key{run_as->user, run_as->group};
  if (users.contains(key)) return;
  users.emplace(key, event::resolve_run_as(run_as->user, run_as->group));
}

void collect_notify_users(const config::VrrpNotify& notify,
                          std::map<UserKey, Result<event::RunAs>>& users) {
  for (const auto* script :
       {&notify.master, &notify.backup, &notify.fault, &notify.stop, &notify.any}) {
    if (*script) collect_user((*script)->run_as, users);
  }
}

// The notify FIFOs the VRRP side writes: notify_fifo (shared with the checkers in keepalived)
// and vrrp_notify_fifo.
std::vector<const config::NotifyFifo*> vrrp_fifos(const config::GlobalDefs& global) {
  std::vector<const config::NotifyFifo*> out;
  for (const auto* fifo : {&global.notify_fifo, &global.vrrp_notify_fifo}) {
    if (*fifo) out.push_back(&**fifo);
  }
  return out;
}

// A FIFO script runs as the FIFO line's user when one is given, else as script_user.
std::optional<config::RunAs> fifo_script_user(const config::NotifyFifo& fifo,
                                              const config::GlobalDefs& global) {
  if (!fifo.run_as.user.empty()) return fifo.run_as;
  return global.script_user;
}

std::string_view notify_state_name(vrrp::State state) {
  switch (state) {
    case vrrp::State::kMaster:
      return "MASTER";
    case vrrp::State::kBackup:
      return "BACKUP";
    case vrrp::State::kFault:
      return "FAULT";
    case vrrp::State::kInitialize:
    case vrrp::State::kCount:
      break;
  }
  return "STOP";
}

// The production look-up: the interface's primary address. A fresh IPv6 link-local address
// is tentative for a moment after the link comes up; wait up to 3 s for it (start-up only).
Result<IpAddress> lookup_primary_address(const std::string& interface, AddressFamily family) {
  if (!vrrp::interface_index(interface)) return Error{"the interface does not exist"};
  auto address = vrrp::interface_primary_address(interface, family);
  for (int attempt = 0; !address && attempt < 30; ++attempt) {
    ::poll(nullptr, 0, 100);
    address = vrrp::interface_primary_address(interface, family);
  }
  if (!address) {
    return Error{fmt::format("no {} address to send adverts from ({})", to_string(family),
                             address.error().message)};
  }
  return address;
}

// Adds the instance's virtual_ipaddress_excluded with its VIPs, and leaves everything in place
// on a stop when -V says so.
class InstanceVips final : public vrrp::VipManager {
 public:
  InstanceVips(vrrp::VipManager& inner, std::vector<vrrp::VirtualAddress> excluded)
      : inner_(inner), excluded_(std::move(excluded)) {}

  Status add_addresses(const std::string& interface,
                       const std::vector<vrrp::VirtualAddress>& addresses) override {
    return inner_.add_addresses(interface, with_excluded(addresses));
  }
  Status remove_addresses(const std::string& interface,
                          const std::vector<vrrp::VirtualAddress>& addresses) override {
    if (keep_) return {};
    return inner_.remove_addresses(interface, with_excluded(addresses));
  }
  Status announce(const std::string& interface, const std::vector<vrrp::VirtualAddress>& addresses,
                  int count, const std::shared_ptr<vrrp::AnnounceTally>& tally) override {
    return inner_.announce(interface, with_excluded(addresses), count, tally);
  }
  void keep_addresses() { keep_ = true; }

 private:
  std::vector<vrrp::VirtualAddress> with_excluded(
      const std::vector<vrrp::VirtualAddress>& addresses) const {
    auto all = addresses;
    all.insert(all.end(), excluded_.begin(), excluded_.end());
    return all;
  }
  vrrp::VipManager& inner_;
  std::vector<vrrp::VirtualAddress> excluded_;
  bool keep_ = false;
};

struct SocketKey {
  std::string interface;
  AddressFamily family;
  auto operator<=>(const SocketKey&) const = default;
};

}  // namespace

// ---- the part that lives on the VRRP thread ---------------------------------------------------

class VrrpService::Runtime {
 public:
  // `alerts` (may be null: no SMTP alert) outlives the runtime.
  Runtime(VrrpHost& host, const VrrpServiceOptions& options, alert::AlertSender* alerts)
      : host_(host),
        scheduler_(host.scheduler()),
        options_(options),
        alerts_(alerts),
        maintenance_(options.maintenance) {}

  ~Runtime() {
    groups_.clear();  // they hold Instance pointers
  }

  Status start(Prepared prepared) {
    auto vips = host_.open_vips();
    if (!vips) return Error{"cannot open rtnetlink for virtual addresses: " + vips.error().message};
    host_vips_ = std::move(*vips);
    vips_ = std::make_unique<vrrp::AnnouncePacer>(*host_vips_, scheduler_);
    auto routing = host_.open_routing();
    if (!routing) {
      return Error{"cannot open rtnetlink for virtual routes and rules: " +
                   routing.error().message};
    }
    routing_ = std::move(*routing);
    auto vmacs = host_.open_vmacs();
    if (!vmacs) return Error{"cannot open rtnetlink for VMAC interfaces: " + vmacs.error().message};
    vmac_host_ = std::move(*vmacs);
    // Instances start with their links' real state instead of flapping through FAULT.
    auto links = host_.open_links([this](const std::string& name, bool up) { on_link(name, up); });
    if (!links) return Error{"cannot follow link states: " + links.error().message};
    links_ = std::move(*links);
    auto files = host_.watch_files([this](const std::string& path) { on_file_changed(path); });
    if (!files) return Error{"cannot watch track_file files: " + files.error().message};
    file_watcher_ = std::move(*files);

    for (const auto& plan : prepared.plans) {
      // A VMAC is made from its base interface when the instance is created.
      const std::string& interface = plan.vmac ? plan.vmac->base : plan.config.interface;
      if (!host_.interface_exists(interface)) {
        return Error{fmt::format("vrrp_instance {}: interface {} does not exist", plan.config.name,
                                 interface)};
      }
    }
    // vrrp_startup_delay (keepalived): the instances exist, but start only after the delay, so
    // that a slow network (bonds, bridges coming up) is not mistaken for a missing master.
    const Duration startup_delay = prepared.config.global.vrrp_startup_delay;
    if (startup_delay > Duration::zero()) {
      logger().info("[vrrp] vrrp_startup_delay: the instances start in {} us",
                    startup_delay.count());
      startup_timer_.arm_after(startup_delay, [this] { start_delayed_instances(); });
    }
    if (auto status = apply(std::move(prepared), /*initial=*/true); !status) return status;
    if (options_.handle_stop_signals) {
      host_.on_stop_signals([this] {
        logger().info("[vrrp] stop signal: stopping the instances now");
        stop(options_.keep_vips_on_stop);
      });
    }
    return {};
  }

  // The running instances' plans, by name (the reload planner's input).
  [[nodiscard]] std::map<std::string, const VrrpInstancePlan*> running_plans() const {
    std::map<std::string, const VrrpInstancePlan*> plans;
    for (const auto& [name, managed] : instances_)
      plans.emplace(name, &managed->plan);
    return plans;
  }

  // reload --dry-run: what reload(prepared) would do, now.
  [[nodiscard]] api::PlanPart plan(const Prepared& prepared) const {
    std::map<std::string, RunningInstance> running;
    for (const auto& [name, managed] : instances_)
      running.emplace(name,
                      RunningInstance{.plan = &managed->plan, .state = managed->instance->state()});
    return describe_vrrp_reload(running, prepared.plans);
  }

  void reload(Prepared prepared) {
    if (stopping_) return;  // a stop signal came first: the daemon is on its way out
    if (auto status = apply(std::move(prepared), /*initial=*/false); !status)
      logger().error("[vrrp] reload: {}", status.error().message);
    // keepalived's fifo_write_vrrp_states_on_reload: a reader that a reload restarted (or that
    // missed lines) learns every state again.
    if (config_.global.fifo_write_vrrp_states_on_reload) write_states_to_fifos();
  }

  // Once: a stop signal on this thread and the daemon's stop() both lead here.
  void stop(bool keep_vips) {
    if (stopping_) return;
    stopping_ = true;
    startup_timer_.cancel();
    awaiting_startup_.clear();
    for (auto& [name, script] : scripts_)
      script->timer.cancel();
    groups_.clear();
    for (auto& [name, managed] : instances_) {
      if (keep_vips) managed->vips->keep_addresses();
      const vrrp::State before = managed->instance->state();
      managed->instance->stop();
      // Shutdown from INIT reports nothing; say STOP for every instance that ran.
      if (before != vrrp::State::kInitialize && before == managed->instance->state()) {
        report_transition(*managed, before, vrrp::State::kInitialize, "shutdown");
        notify(*managed, vrrp::State::kInitialize, managed->instance->machine().priority());
      }
    }
    // keepalived ends a FIFO's reader with SIGTERM once the last lines are in the FIFO, so that
    // it can finish its work; one still there after the grace is killed.
    for (auto& channel : fifos_) {
      if (channel->runner) channel->runner->terminate_running();
    }
    // Then the static entries, -V or not (keepalived's vrrp_terminate_phase1).
    if (host_vips_ && routing_) change_static(vrrp::StaticEntries{});
    // keepalived 2.2.7 (shutdown_vrrp_instances) removes its VMACs, -V or not.
    if (vmac_host_) remove_vmacs({});
  }

  [[nodiscard]] bool scripts_idle() const {
    return host_.scripts_idle() && std::all_of(fifos_.begin(), fifos_.end(), [](const auto& c) {
             return !c->runner || c->runner->idle();
           });
  }

  Status announce(const std::string& name) {
    auto it = instances_.find(name);
    if (it == instances_.end()) return Error{"no vrrp_instance " + name};
    auto sent = it->second->instance->announce_now();
    if (sent) logger().info("[{}] virtual addresses announced on request", name);
    return sent;
  }

  Result<MaintenanceOutcome> set_maintenance(const MaintenanceRequest& request) {
    std::map<std::string, std::string> groups;
    for (const auto& [name, managed] : instances_)
      groups[name] = managed->plan.sync_group;
    std::set<std::string> current;
    for (const auto& [name, reason] : maintenance_)
      current.insert(name);
    auto targets = maintenance_targets(request, groups, current);
    if (!targets) return targets.error();
    MaintenanceOutcome outcome{.change = {.on = request.on}, .reason = request.reason};
    for (const auto& name : *targets) {
      const bool was = maintenance_.contains(name);
      if (was == request.on) {
        outcome.change.unchanged.push_back(name);
        continue;
      }
      if (request.on) {
        maintenance_[name] = request.reason;
      } else {
        maintenance_.erase(name);
      }
      outcome.change.changed.push_back(name);
      auto it = instances_.find(name);
      if (it == instances_.end()) {
        logger().info("[{}] maintenance {} (orphaned: not in the configuration)", name,
                      request.on ? "on" : "off");
        continue;
      }
      logger().info("[{}] maintenance {}{}", name, request.on ? "on" : "off",
                    request.reason.empty() ? "" : ": " + request.reason);
      it->second->instance->handle(request.on ? vrrp::Event(vrrp::MaintenanceOn{})
                                              : vrrp::Event(vrrp::MaintenanceOff{}));
    }
    return outcome;
  }

  Result<std::vector<api::VrrpInstanceStats>> stats(const std::optional<std::string>& clear) {
    const TimePoint now = scheduler_.now();
    if (clear) {
      if (!clear->empty() && !instances_.contains(*clear))
        return Error{"no vrrp_instance " + *clear};
      for (auto& [name, managed] : instances_) {
        if (!clear->empty() && name != *clear) continue;
        managed->baseline = counters_of(*managed);
        managed->cleared_at = now;
        logger().info("[{}] vrrp stats cleared", name);
      }
    }
    std::vector<api::VrrpInstanceStats> out;
    for (const auto& [name, managed] : instances_) {
      const auto& machine = managed->instance->machine();
      api::VrrpInstanceStats s{
          .name = name,
          .state = std::string(vrrp::to_string(machine.state())),
          .maintenance = machine.in_maintenance(),
          .counters = api::counters_since(counters_of(*managed), managed->baseline)};
      if (managed->cleared_at)
        s.cleared_seconds_ago = std::chrono::duration<double>(now - *managed->cleared_at).count();
      out.push_back(std::move(s));
    }
    return out;
  }

  api::StatusPart status() const {
    api::StatusPart part;
    const TimePoint now = scheduler_.now();
    for (const auto& [name, managed] : instances_) {
      const auto& machine = managed->instance->machine();
      const auto& c = machine.config();
      api::VrrpInstanceStatus vi{
          .name = name,
          .state = std::string(vrrp::to_string(machine.state())),
          .interface = c.interface,
          .vrid = c.vrid,
          .base_priority = c.priority,
          .effective_priority = machine.priority(),
          .sync_group = managed->plan.sync_group,
      };
      if (auto master = machine.master_address()) vi.master_address = master->to_string();
      for (const auto& vip : c.virtual_addresses)
        vi.virtual_addresses.push_back(vip.prefix.to_string());
      if (const auto& t = managed->last_transition) {
        vi.last_transition = api::TransitionStatus{
            .from = std::string(vrrp::to_string(t->from)),
            .to = std::string(vrrp::to_string(t->to)),
            .reason = std::string(vrrp::to_string(t->reason)),
            .seconds_ago = std::chrono::duration<double>(now - managed->last_transition_at).count(),
        };
      }
      vi.version = c.version;
      vi.advert_interval_seconds = std::chrono::duration<double>(c.advert_interval).count();
      vi.preempt = c.preempt;
      vi.fault = machine.in_fault();
      const auto& counters = managed->instance->counters();
      vi.adverts_sent = counters.adverts_sent;
      vi.adverts_received = counters.adverts_received;
      vi.became_master = machine.entered(vrrp::State::kMaster);
      vi.released_master = managed->released_master;
      vi.rejected = managed->rejects.total();
      vi.vip_failures = counters.vip_failures;
      vi.maintenance = machine.in_maintenance();
      if (auto m = maintenance_.find(name); m != maintenance_.end())
        vi.maintenance_reason = m->second;
      if (machine.in_fault()) {
        part.warnings.push_back(fmt::format("vrrp_instance {}: a tracked object failed", name));
      }
      part.vrrp.push_back(std::move(vi));
    }
    for (const auto& [name, reason] : maintenance_) {
      if (!instances_.contains(name)) {
        part.warnings.push_back(fmt::format(
            "vrrp maintenance of {} is orphaned: no such vrrp_instance in the configuration (kept; "
            "`vigilctl vrrp maintenance off {}` drops it)",
            name, name));
      }
    }
    return part;
  }

  // GET /metrics: what the instances, their sockets and this thread count (the same counters as
  // write_stats()).
  [[nodiscard]] api::MetricsPart metrics() const {
    using api::MetricType;
    api::MetricsPart part;
    std::array<std::string_view, vrrp::kStateCount> states{};
    for (size_t i = 0; i < vrrp::kStateCount; ++i)
      states[i] = vrrp::to_string(static_cast<vrrp::State>(i));
    auto& state = part.family("vrrp_instance_state",
                              "The VRRP instance's state: 1 for the current one (a state set).",
                              MetricType::kGauge);
    auto& priority =
        part.family("vrrp_instance_priority",
                    "The priority the instance advertises (tracking applied).", MetricType::kGauge);
    auto& base =
        part.family("vrrp_instance_base_priority", "The configured priority.", MetricType::kGauge);
    auto& entered = part.family("vrrp_instance_transitions",
                                "Times the instance entered each state.", MetricType::kCounter);
    auto& entered_by_reason = part.family(
        "vrrp_instance_transitions_by_reason",
        "Times the instance entered each state, by the reason of the change (the pairs the "
        "state machine makes are always there).",
        MetricType::kCounter);
    auto& sent = part.family("vrrp_adverts_sent", "Adverts sent.", MetricType::kCounter);
    auto& send_failed = part.family("vrrp_advert_send_failures",
                                    "Adverts not sent (socket errors).", MetricType::kCounter);
    auto& received =
        part.family("vrrp_adverts_received", "Adverts received and accepted for this instance.",
                    MetricType::kCounter);
    auto& rejected =
        part.family("vrrp_adverts_rejected", "Adverts for this instance's VRID dropped, by reason.",
                    MetricType::kCounter);
    auto& vip_failures = part.family(
        "vrrp_vip_failures", "Virtual address changes the kernel refused.", MetricType::kCounter);
    auto& maintenance = part.family(
        "vrrp_instance_maintenance",
        "1 while the instance is in maintenance (vigilctl vrrp maintenance on): BACKUP, not "
        "contending.",
        MetricType::kGauge);
    auto& zero_sent =
        part.family("vrrp_priority_zero_adverts_sent",
                    "Adverts sent with priority 0 (leaving MASTER).", MetricType::kCounter);
    auto& zero_received =
        part.family("vrrp_priority_zero_adverts_received",
                    "Adverts received with priority 0 (the master leaving).", MetricType::kCounter);
    auto& arps = part.family(
        "vrrp_gratuitous_arps_sent",
        "Gratuitous ARPs sent for the instance's IPv4 virtual addresses (paced ones when sent).",
        MetricType::kCounter);
    auto& neighbour_adverts = part.family(
        "vrrp_neighbour_adverts_sent",
        "Unsolicited neighbour advertisements sent for the instance's IPv6 virtual addresses "
        "(paced ones when sent).",
        MetricType::kCounter);
    for (const auto& [name, managed] : instances_) {
      const auto& machine = managed->instance->machine();
      const auto& counters = managed->instance->counters();
      const api::MetricLabels labels{{"vrrp_instance", name}};
      arps.add(labels, static_cast<double>(managed->instance->announced().gratuitous_arps));
      neighbour_adverts.add(labels,
                            static_cast<double>(managed->instance->announced().neighbour_adverts));
      state.add_state_set(labels, "state", states, vrrp::to_string(machine.state()));
      priority.add(labels, machine.priority());
      base.add(labels, machine.config().priority);
      for (size_t i = 0; i < vrrp::kStateCount; ++i) {
        entered.add({{"vrrp_instance", name}, {"state", std::string(states[i])}},
                    static_cast<double>(machine.entered(static_cast<vrrp::State>(i))));
        for (size_t r = 0; r < vrrp::kTransitionReasonCount; ++r) {
          const auto to = static_cast<vrrp::State>(i);
          const auto reason = static_cast<vrrp::TransitionReason>(r);
          const uint64_t count = machine.entered(to, reason);
          if (count == 0 && !vrrp::can_enter(to, reason)) continue;
          entered_by_reason.add({{"vrrp_instance", name},
                                 {"state", std::string(states[i])},
                                 {"reason", api::label_slug(vrrp::to_string(reason))}},
                                static_cast<double>(count));
        }
      }
      sent.add(labels, static_cast<double>(counters.adverts_sent));
      send_failed.add(labels, static_cast<double>(counters.advert_send_failures));
      received.add(labels, static_cast<double>(counters.adverts_received));
      vip_failures.add(labels, static_cast<double>(counters.vip_failures));
      maintenance.add(labels, machine.in_maintenance() ? 1 : 0);
      zero_sent.add(labels, static_cast<double>(counters.priority_zero_sent));
      zero_received.add(labels, static_cast<double>(counters.priority_zero_received));
      for (size_t i = 0; i < vrrp::kRejectReasonCount; ++i) {
        const auto reason = static_cast<vrrp::RejectReason>(i);
        rejected.add(
            {{"vrrp_instance", name}, {"reason", api::label_slug(vrrp::to_string(reason))}},
            static_cast<double>(managed->rejects[reason]));
      }
    }
    auto& malformed = part.family("vrrp_socket_malformed",
                                  "Packets an advert socket read that were not VRRP adverts.",
                                  MetricType::kCounter);
    auto& receive_errors = part.family("vrrp_socket_receive_errors",
                                       "Errors reading an advert socket.", MetricType::kCounter);
    auto& unattributed =
        part.family("vrrp_socket_rejected",
                    "Adverts dropped before an instance was known (e.g. unknown VRID), by reason.",
                    MetricType::kCounter);
    for (const auto& [key, socket] : sockets_) {
      const auto sc = socket->channel->counters();
      const api::MetricLabels labels{{"interface", key.interface},
                                     {"family", std::string(to_string(key.family))}};
      malformed.add(labels, static_cast<double>(sc.malformed));
      receive_errors.add(labels, static_cast<double>(sc.receive_errors));
      for (size_t i = 0; i < vrrp::kRejectReasonCount; ++i) {
        const auto reason = static_cast<vrrp::RejectReason>(i);
        api::MetricLabels with = labels;
        with.emplace_back("reason", api::label_slug(vrrp::to_string(reason)));
        unattributed.add(std::move(with), static_cast<double>(socket->unattributed[reason]));
      }
    }
    const auto late = host_.timer_lateness();
    part.family("timer_lateness_seconds",
                "How late a thread's loop ran its timers and posted work.", MetricType::kHistogram)
        .histograms.push_back(api::lateness_histogram({{"thread", "vrrp"}},
                                                      event::TimerLateness::kBucketBounds,
                                                      late.buckets, late.count, late.total));
    return part;
  }

  void write_data(const std::string& path) {
    std::ostringstream out;
    out << "------< VRRP Topology >------\n";
    for (const auto& [name, managed] : instances_) {
      const auto& machine = managed->instance->machine();
      const auto& c = machine.config();
      out << " VRRP Instance = " << name << "\n";
      out << "   State = " << vrrp::to_string(machine.state()) << "\n";
      out << "   Interface = " << c.interface << "\n";
      out << "   Virtual Router ID = " << int{c.vrid} << "\n";
      out << "   Version = " << int{c.version} << "\n";
      out << "   Base priority = " << int{c.priority} << "\n";
      out << "   Effective priority = " << int{machine.priority()} << "\n";
      out << "   Advert interval = " << c.advert_interval.count() / 1000 << " ms\n";
      out << "   Master advert interval = " << machine.master_adver_interval().count() / 1000
          << " ms\n";
      out << "   Source address = " << c.primary_address.to_string() << "\n";
      out << "   Preempt = " << (c.preempt ? "enabled" : "disabled") << "\n";
      out << "   Fault = " << (machine.in_fault() ? "yes" : "no") << "\n";
      if (!managed->plan.sync_group.empty())
        out << "   Sync group = " << managed->plan.sync_group << "\n";
      out << "   Virtual IP = " << c.virtual_addresses.size() << "\n";
      for (const auto& vip : c.virtual_addresses)
        out << "     " << vip.prefix.to_string() << "\n";
      for (const auto& vip : managed->plan.excluded)
        out << "     " << vip.prefix.to_string() << " (excluded)\n";
    }
    write_dump("instance states", path, out.str());
  }

  void write_stats(const std::string& path) {
    std::ostringstream out;
    for (const auto& [name, managed] : instances_) {
      const auto& counters = managed->instance->counters();
      const auto& machine = managed->instance->machine();
      out << "VRRP Instance: " << name << "\n";
      out << "  State: " << vrrp::to_string(machine.state()) << "\n";
      out << "  Advertisements:\n";
      out << "    Received: " << counters.adverts_received << "\n";
      out << "    Sent: " << counters.adverts_sent << "\n";
      out << "    Send failures: " << counters.advert_send_failures << "\n";
      out << "  Became master: " << machine.entered(vrrp::State::kMaster) << "\n";
      out << "  Released master: " << managed->released_master << "\n";
      out << "  Priority zero received: " << counters.priority_zero_received << "\n";
      out << "  Priority zero sent: " << counters.priority_zero_sent << "\n";
      out << "  Maintenance: " << (machine.in_maintenance() ? "on" : "off") << "\n";
      out << "  Own adverts ignored: " << machine.own_adverts_ignored() << "\n";
      out << "  Late Master_Down_Timer waits: " << machine.late_master_down_waits() << "\n";
      out << "  VIP failures: " << counters.vip_failures << "\n";
      out << "  Rejected: " << managed->rejects.total() << "\n";
      for (size_t i = 0; i < vrrp::kRejectReasonCount; ++i) {
        const auto reason = static_cast<vrrp::RejectReason>(i);
        out << "    " << vrrp::to_string(reason) << ": " << managed->rejects[reason] << "\n";
      }
    }
    for (const auto& [key, socket] : sockets_) {
      const auto sc = socket->channel->counters();
      out << "Socket: " << key.interface << " " << to_string(key.family) << "\n";
      out << "  Received: " << sc.received << "\n";
      out << "  Sent: " << sc.sent << "\n";
      out << "  Receive errors: " << sc.receive_errors << "\n";
      out << "  Malformed: " << sc.malformed << "\n";
      out << "  Rejected (no instance): " << socket->unattributed.total() << "\n";
      for (size_t i = 0; i < vrrp::kRejectReasonCount; ++i) {
        const auto reason = static_cast<vrrp::RejectReason>(i);
        out << "    " << vrrp::to_string(reason) << ": " << socket->unattributed[reason] << "\n";
      }
    }
    // vrrp_garp_interval / garp_group spacing.
    const auto& paced = vips_->counters();
    out << "Spaced announcements: waiting " << vips_->waiting() << ", queued " << paced.queued
        << ", sent later " << paced.sent_later << ", failed later " << paced.failed_later
        << ", dropped (address removed) " << paced.dropped_removed << "\n";
    out << "Static entries: " << static_held_.addresses.size() << " addresses, "
        << static_held_.routes.size() << " routes, " << static_held_.rules.size()
        << " rules set; failed changes " << static_failures_ << "\n";
    // How late the VRRP thread ran its timers and posted work (advert sends, master-down).
    const auto late = host_.timer_lateness();
    out << "Timer lateness (VRRP thread): " << late.count << " callbacks, max " << late.max.count()
        << " us, p99 <= " << late.quantile_bound(0.99).count() << " us\n";
    for (size_t i = 0; i < late.buckets.size(); ++i) {
      out << "  "
          << (i < event::TimerLateness::kBucketBounds.size()
                  ? "<= " + std::to_string(event::TimerLateness::kBucketBounds[i].count())
                  : std::string("> 100000"))
          << " us: " << late.buckets[i] << "\n";
    }
    out << "Log lines dropped: " << log::dropped_lines() << "\n";
    write_dump("counters", path, out.str());
  }

  // SIGUSR1 / SIGUSR2 dumps: a new root-owned 0600 file replaces whatever is at the path; a
  // symbolic link planted there is replaced, never followed (keepalived's CVE-2018-19044).
  static void write_dump(const std::string& what, const std::string& path,
                         const std::string& text) {
    auto written = replace_file(path, text, ReplaceOptions{.mode = 0600});
    if (!written) {
      logger().warn("[vrrp] {} not written: {}", what, written.error().message);
      return;
    }
    if (*written == Replaced::kSymlink) logger().warn("[vrrp] {}", replaced_symlink_message(path));
    logger().info("[vrrp] {} written to {}", what, path);
  }

 private:
  struct AdvertSocket {
    std::unique_ptr<AdvertChannel> channel;
    bool ipv4 = true;
    vrrp::AdvertReceiver receiver;
    std::map<uint8_t, vrrp::RejectCounters*> by_vrid;  // per-instance reject counters
    vrrp::RejectCounters unattributed;                 // unknown VRID or unreadable header
  };

  struct Managed {
    VrrpInstancePlan plan;
    // Instance → vips (+ excluded addresses) → routing (+ routes and rules) → the pacer.
    std::unique_ptr<vrrp::VipsWithRouting> routing;
    std::unique_ptr<InstanceVips> vips;
    std::unique_ptr<vrrp::Instance> instance;
    AdvertSocket* socket = nullptr;
    vrrp::RejectCounters rejects;
    uint64_t released_master = 0;
    // A reload is removing it: its stop's own transition is not notified (notify_removed is).
    bool removing = false;
    // The last state change (the control API's status).
    std::optional<vrrp::Notify> last_transition;
    TimePoint last_transition_at{};
    // vigilctl vrrp stats --clear: the counters then (shown: current minus these).
    api::VrrpCounters baseline;
    std::optional<TimePoint> cleared_at;
  };

  // The counters `vrrp stats` shows (before its baseline is taken off).
  [[nodiscard]] static api::VrrpCounters counters_of(const Managed& managed) {
    const auto& counters = managed.instance->counters();
    const auto& machine = managed.instance->machine();
    api::VrrpCounters c{.adverts_received = counters.adverts_received,
                        .adverts_sent = counters.adverts_sent,
                        .advert_send_failures = counters.advert_send_failures,
                        .became_master = machine.entered(vrrp::State::kMaster),
                        .released_master = managed.released_master,
                        .priority_zero_received = counters.priority_zero_received,
                        .priority_zero_sent = counters.priority_zero_sent,
                        .own_adverts_ignored = machine.own_adverts_ignored(),
                        .vip_failures = counters.vip_failures};
    for (size_t i = 0; i < vrrp::kRejectReasonCount; ++i) {
      const auto reason = static_cast<vrrp::RejectReason>(i);
      c.rejected.emplace_back(api::label_slug(vrrp::to_string(reason)), managed.rejects[reason]);
    }
    return c;
  }

  struct ScriptState {
    explicit ScriptState(Scheduler& scheduler) : timer(scheduler) {}
    config::VrrpScript definition;
    bool up = true;
    uint32_t successes = 0;
    uint32_t failures = 0;
    bool running = false;
    bool disabled = false;  // its user could not be resolved
    std::optional<event::RunAs> run_as;
    Timer timer;
  };

  // A notify FIFO held open, and the script that reads it.
  struct FifoChannel {
    explicit FifoChannel(NotifyFifo f) : fifo(std::move(f)) {}
    NotifyFifo fifo;
    std::optional<config::Command> script;
    std::optional<config::RunAs> script_user;
    std::unique_ptr<event::ScriptRunner> runner;  // destroying it ends the script
  };

  struct FileState {
    config::TrackFile definition;
    int64_t value = 0;
  };

  // ---- reconciling instances with a configuration ----

  void update_announce_pacing() {
    vips_->configure(announce_pacing(config_));
    // keepalived refuses a garp_group interface that does not exist; vigil paces by name, so
    // one that appears later is paced then.
    for (const auto& group : config_.vrrp.garp_groups) {
      for (const auto& interface : group.interfaces) {
        if (!host_.interface_exists(interface.name)) {
          logger().warn(
              "[vrrp] garp_group: interface {} does not exist (yet): its spacing "
              "applies once it does",
              interface.name);
        }
      }
    }
  }

  // static_ipaddress, static_routes, static_rules: from what is held to `wanted` (at start and
  // on a reload, before the instances change; at stop, after them).
  void change_static(const vrrp::StaticEntries& wanted) {
    if (static_held_.empty() && wanted.empty()) return;
    for (const auto& interface : vrrp::static_interfaces(wanted)) {
      if (!host_.interface_exists(interface))
        logger().warn("[static] interface {} is gone: its entries are not added", interface);
    }
    const vrrp::StaticChanges changes = vrrp::plan_static(static_held_, wanted);
    for (const auto& change : changes)
      logger().debug("[static] {}", vrrp::to_string(change));
    auto result = vrrp::apply_static(*host_vips_, *routing_, changes, std::move(static_held_));
    static_held_ = std::move(result.held);
    static_failures_ += result.failures;
    if (result.failures > 0) {
      logger().warn("[static] {} of {} changes failed; the first: {}", result.failures,
                    changes.size(), result.first_failure.error().message);
    } else {
      logger().info("[static] {} addresses, {} routes, {} rules set", static_held_.addresses.size(),
                    static_held_.routes.size(), static_held_.rules.size());
    }
  }

  Status apply(Prepared prepared, bool initial) {
    config_ = std::move(prepared.config);
    change_static(static_entries(config_));
    update_announce_pacing();
    users_ = std::move(prepared.users);
    update_fifos();
    update_scripts();
    for (auto& plan : prepared.plans)
      untrack_disabled_scripts(plan);
    update_files(initial);
    groups_.clear();  // rebuilt below; they hold Instance pointers

    // The reload planner's diff (vrrp_reload_plan.h), which `reload --dry-run` shows too.
    const VrrpReloadDiff diff = diff_instances(running_plans(), prepared.plans);

    // Removed instances stop (a master sends priority 0 and removes its VIPs) and say FAULT, or
    // DELETED with notify_deleted, as keepalived does (removal_notice).
    for (const auto& name : diff.removed) {
      auto it = instances_.find(name);
      logger().info("[{}] removed by reload: stopping", name);
      const vrrp::State before = it->second->instance->state();
      it->second->removing = true;
      it->second->instance->stop();
      report_transition(*it->second, before, vrrp::State::kInitialize, "removed by reload");
      notify_removed(*it->second, before, it->second->instance->machine().priority());
      last_alert_states_.erase(name);
      detach(*it->second);
      instances_.erase(it);
    }

    // Every changed instance leaves its socket before any new one joins, so VRIDs that move
    // between instances never meet on one receiver.
    std::set<std::string> resume_as_master;
    for (const auto& planned : diff.create) {
      if (!planned.replaces) continue;
      const VrrpInstancePlan& plan = *planned.plan;
      const std::string& name = plan.config.name;
      auto existing = instances_.find(name);
      // Changed: the new instance takes over the old one's role. VIPs that the new config
      // drops are removed; the others stay where they are.
      Managed& old = *existing->second;
      if (old.instance->state() == vrrp::State::kMaster) {
        resume_as_master.insert(name);
        std::vector<vrrp::VirtualAddress> dropped;
        for (const auto& vip : old.instance->config().virtual_addresses) {
          if (std::find(plan.config.virtual_addresses.begin(), plan.config.virtual_addresses.end(),
                        vip) == plan.config.virtual_addresses.end())
            dropped.push_back(vip);
        }
        for (const auto& vip : old.plan.excluded) {
          if (std::find(plan.excluded.begin(), plan.excluded.end(), vip) == plan.excluded.end())
            dropped.push_back(vip);
        }
        // Routes and rules first (keepalived's order); resuming as MASTER adds the new ones.
        const Status routing_removed = vrrp::apply_changes(
            *routing_, vrrp::routing_dropped_by_reload(old.plan.routing, plan.routing));
        if (!routing_removed.ok()) {
          logger().warn("[{}] removing routes and rules dropped by reload failed: {}", name,
                        routing_removed.error().message);
        }
        if (!dropped.empty()) (void)vips_->remove_addresses(old.plan.config.interface, dropped);
      }
      logger().info("[{}] changed by reload: restarting it{}", name,
                    resume_as_master.contains(name) ? " as MASTER" : "");
      detach(old);
      instances_.erase(existing);
    }
    std::vector<Managed*> to_start;
    for (const auto& planned : diff.create) {
      const VrrpInstancePlan& plan = *planned.plan;
      const std::string& name = plan.config.name;
      auto managed = create(plan);
      if (!managed) {
        if (initial) return managed.error();
        logger().error("[{}] not started: {}", name, managed.error().message);
        continue;
      }
      to_start.push_back(managed->get());
      instances_[name] = std::move(*managed);
    }
    close_unused_sockets();
    std::set<std::string> wanted_vmacs;
    for (const auto& [name, managed] : instances_) {
      if (managed->plan.vmac) wanted_vmacs.insert(managed->plan.vmac->name);
    }
    remove_vmacs(wanted_vmacs);
    build_sync_groups();
    // What only shapes notifications (notify_priority_changes, notify_deleted, smtp_alert) takes
    // effect on the instances the reload keeps running too.
    for (const auto& plan : prepared.plans) {
      if (auto it = instances_.find(plan.config.name); it != instances_.end())
        adopt_notify_settings(it->second->plan, plan);
    }
    for (Managed* managed : to_start) {
      if (startup_timer_.armed()) {
        // Also an instance a reload adds during the delay: all start together.
        awaiting_startup_.insert(managed->plan.config.name);
        continue;
      }
      managed->instance->start();
      if (resume_as_master.contains(managed->plan.config.name))
        managed->instance->handle(vrrp::GroupMaster{});  // master at once, advertising now
    }
    return {};
  }

  static void adopt_notify_settings(VrrpInstancePlan& running, const VrrpInstancePlan& next) {
    running.notify = next.notify;  // the scripts are equal (same_notify), or it was restarted
    running.notify_deleted = next.notify_deleted;
    running.notify_deleted_script = next.notify_deleted_script;
  }

  void start_delayed_instances() {
    logger().info("[vrrp] vrrp_startup_delay over: starting the instances");
    for (const auto& name : std::exchange(awaiting_startup_, {})) {
      auto it = instances_.find(name);
      if (it != instances_.end()) it->second->instance->start();  // gone if a reload removed it
    }
  }

  // ---- VMACs (use_vmac) ----

  // Makes the instance's VMAC (kept when it is there already) and, for the first IPv4 VMAC on a
  // base interface, sets the base's arp_ignore / arp_filter.
  Status ensure_vmac(const VrrpInstancePlan& plan) {
    const vrrp::VmacPlan& vmac = *plan.vmac;
    auto it = vmacs_.find(vmac.name);
    if (it != vmacs_.end() && it->second == vmac) return {};
    if (auto made = vmac_host_->ensure(vmac); !made) {
      return Error{fmt::format("vrrp_instance {}: VMAC {} on {}: {}", plan.config.name, vmac.name,
                               vmac.base, made.error().message)};
    }
    const bool same_base =
        it != vmacs_.end() && it->second.base == vmac.base && it->second.family == vmac.family;
    if (!same_base) {
      if (it != vmacs_.end()) release_base(it->second);
      if (vmac.family == AddressFamily::kIpv4) {
        auto read = [&](const char* key) {
          return vmac_host_->read_sysctl({"ipv4", vmac.base, key, 0});
        };
        write_sysctls(vmac.name, base_arp_.acquire(vmac.base, {.arp_ignore = read("arp_ignore"),
                                                               .arp_filter = read("arp_filter")}));
      }
    }
    vmacs_[vmac.name] = vmac;
    return {};
  }

  void release_base(const vrrp::VmacPlan& vmac) {
    if (vmac.family == AddressFamily::kIpv4) write_sysctls(vmac.name, base_arp_.release(vmac.base));
  }

  void write_sysctls(const std::string& vmac, const std::vector<vrrp::SysctlSetting>& settings) {
    for (const auto& setting : settings) {
      if (auto written = vmac_host_->write_sysctl(setting); !written) {
        logger().warn("[vmac {}] {}", vmac, written.error().message);
      } else {
        logger().info("[vmac {}] {} = {}", vmac, setting.path(), setting.value);
      }
    }
  }

  // Removes every VMAC not in `wanted` and puts its base interface's settings back.
  void remove_vmacs(const std::set<std::string>& wanted) {
    for (auto it = vmacs_.begin(); it != vmacs_.end();) {
      if (wanted.contains(it->first)) {
        ++it;
        continue;
      }
      if (auto removed = vmac_host_->remove(it->first); !removed)
        logger().warn("[vmac {}] {}", it->first, removed.error().message);
      release_base(it->second);
      it = vmacs_.erase(it);
    }
  }

  Result<std::unique_ptr<Managed>> create(const VrrpInstancePlan& plan) {
    if (plan.vmac) {
      if (auto made = ensure_vmac(plan); !made) return made.error();
    }
    auto socket = socket_for(plan);
    if (!socket) return socket.error();
    auto managed = std::make_unique<Managed>();
    managed->plan = plan;
    auto config = plan.config;
    // Tracked objects start in their current state.
    std::map<std::string, bool> current;
    for (const auto& link : plan.links) {
      const bool up = links_->is_up(link.interface).value_or(false);
      current[tracked_interface_name(link.interface)] = up != link.reverse;
    }
    for (const auto& ref : plan.scripts) {
      auto it = scripts_.find(ref.script);
      const bool up = it == scripts_.end() || it->second->up;
      current[tracked_script_name(ref.script)] = up != ref.reverse;
    }
    for (const auto& ref : plan.files) {
      auto it = files_.find(ref.file);
      const int64_t value = it == files_.end() ? 0 : it->second.value;
      for (const auto& [object, up] :
           track_file_objects(ref.file, track_file_state(value, ref.weight)))
        current[object] = up;
    }
    for (auto& tracked : config.tracked) {
      if (auto it = current.find(tracked.name); it != current.end())
        tracked.initially_up = it->second;
    }
    managed->routing = std::make_unique<vrrp::VipsWithRouting>(*vips_, *routing_, plan.routing);
    managed->vips = std::make_unique<InstanceVips>(*managed->routing, plan.excluded);
    Managed* raw = managed.get();
    managed->instance = std::make_unique<vrrp::Instance>(
        std::move(config), scheduler_, *(*socket)->channel, *managed->vips,
        [this, raw](const vrrp::InstanceConfig&, const vrrp::Notify& n, uint8_t priority) {
          if (n.from == vrrp::State::kMaster) ++raw->released_master;
          if (raw->removing) return;
          raw->last_transition = n;
          raw->last_transition_at = scheduler_.now();
          report_transition(*raw, n.from, n.to, vrrp::to_string(n.reason));
          notify(*raw, n.to, priority);
        });
    managed->instance->set_lower_priority_notifier(
        [this, raw](const vrrp::InstanceConfig&, const vrrp::NotifyLowerPriorityAdvert& seen,
                    uint8_t priority) { notify_lower_priority(*raw, seen, priority); });
    managed->instance->set_priority_change_notifier(
        [this, raw](const vrrp::InstanceConfig&, const vrrp::NotifyPriorityChange& change) {
          notify_priority_change(*raw, change);
        });
    // Before start(): an instance in maintenance never becomes MASTER, not even at startup.
    if (maintenance_.contains(plan.config.name)) managed->instance->handle(vrrp::MaintenanceOn{});
    managed->socket = *socket;
    (*socket)->receiver.add(*managed->instance);
    (*socket)->by_vrid[plan.config.vrid] = &managed->rejects;
    return managed;
  }

  void detach(Managed& managed) {
    if (managed.socket == nullptr) return;
    managed.socket->receiver.remove(*managed.instance);
    managed.socket->by_vrid.erase(managed.plan.config.vrid);
    managed.socket = nullptr;
  }

  Result<AdvertSocket*> socket_for(const VrrpInstancePlan& plan) {
    const SocketKey key{plan.config.sending_interface(), plan.config.family};
    if (auto it = sockets_.find(key); it != sockets_.end()) return it->second.get();
    vrrp::AdvertSocketOptions options{.interface = key.interface, .family = key.family};
    for (const auto& vi : config_.vrrp.instances) {
      // The instance's own mcast_dst_ip also when its socket is on a VMAC.
      const bool here = vi.interface == key.interface || vi.name == plan.config.name;
      if (here && vi.family == key.family && vi.mcast_dst_ip)
        options.multicast_group = vi.mcast_dst_ip;
    }
    auto entry = std::make_unique<AdvertSocket>();
    entry->ipv4 = key.family == AddressFamily::kIpv4;
    AdvertSocket* raw = entry.get();
    auto opened = host_.open_adverts(
        options, [this, raw](const vrrp::RawAdvertMessage& m) { on_message(*raw, m); });
    if (!opened) {
      return Error{fmt::format(
          "vrrp_instance {}: interface {}: cannot open the {} advert socket: {}", plan.config.name,
          key.interface, to_string(key.family), opened.error().message)};
    }
    entry->channel = std::move(*opened);
    sockets_[key] = std::move(entry);
    return raw;
  }

  void on_message(AdvertSocket& s, const vrrp::RawAdvertMessage& m) {
    const bool ipv4 = s.ipv4;
    {
      // The VRID is read here only to charge a rejection to its instance.
      std::optional<uint8_t> vrid;
      if (ipv4) {
        const size_t header = m.bytes.empty() ? 0 : size_t{m.bytes[0] & 0x0fu} * 4;
        if (header > 0 && m.bytes.size() > header + 1) vrid = m.bytes[header + 1];
      } else if (m.bytes.size() > 1) {
        vrid = m.bytes[1];
      }
      const vrrp::RejectCounters before = s.receiver.rejects();
      if (ipv4) {
        s.receiver.on_ipv4_datagram(m.bytes);
      } else {
        s.receiver.on_ipv6_message(m.source, m.destination, m.ttl, m.bytes);
      }
      const auto& after = s.receiver.rejects();
      if (after.total() == before.total()) return;
      vrrp::RejectCounters* target = &s.unattributed;
      if (vrid) {
        if (auto it = s.by_vrid.find(*vrid); it != s.by_vrid.end()) target = it->second;
      }
      for (size_t i = 0; i < vrrp::kRejectReasonCount; ++i) {
        const auto reason = static_cast<vrrp::RejectReason>(i);
        for (uint64_t n = before[reason]; n < after[reason]; ++n)
          target->count(reason);
      }
    }
  }

  void close_unused_sockets() {
    for (auto it = sockets_.begin(); it != sockets_.end();) {
      bool used = false;
      for (const auto& [name, managed] : instances_)
        used = used || managed->socket == it->second.get();
      it = used ? std::next(it) : sockets_.erase(it);
    }
  }

  void build_sync_groups() {
    for (const auto& group : config_.vrrp.sync_groups) {
      std::vector<vrrp::Instance*> members;
      for (const auto& member : group.members) {
        auto it = instances_.find(member.name);
        if (it != instances_.end()) members.push_back(it->second->instance.get());
      }
      if (members.empty()) continue;
      groups_.push_back(std::make_unique<vrrp::SyncGroupLink>(group.name, members, scheduler_));
    }
  }

  // ---- tracking ----

  void on_link(const std::string& name, bool up) {
    for (auto& [instance_name, managed] : instances_) {
      for (const auto& link : managed->plan.links) {
        if (link.interface != name) continue;
        logger().info("[{}] interface {} is {}", instance_name, name, up ? "up" : "down");
        managed->instance->tracked_changed(tracked_interface_name(name), up != link.reverse);
      }
    }
  }

  void update_scripts() {
    std::set<std::string> tracked;
    for (const auto& vi : config_.vrrp.instances) {
      for (const auto& ref : vi.track.scripts)
        tracked.insert(ref.name);
    }
    for (const auto& group : config_.vrrp.sync_groups) {
      for (const auto& ref : group.track.scripts)
        tracked.insert(ref.name);
    }
    std::map<std::string, std::unique_ptr<ScriptState>> next;
    for (const auto& def : config_.vrrp.scripts) {
      if (!tracked.contains(def.name) || next.contains(def.name)) continue;
      auto state = scripts_.contains(def.name) ? std::move(scripts_[def.name])
                                               : std::make_unique<ScriptState>(scheduler_);
      // New, or its user resolves again: it starts from scratch.
      const bool fresh = state->definition.script.argv.empty() || state->disabled;
      state->definition = def;
      if (fresh) {
        state->up = !def.init_fail;
        state->successes = 0;
        state->failures = 0;
      }
      const auto run_as = def.user ? def.user : config_.global.script_user;
      state->run_as.reset();
      state->disabled = false;
      if (run_as) {
        auto it = users_.find({run_as->user, run_as->group});
        if (it != users_.end() && it->second) {
          state->run_as = *it->second;
        } else {
          state->disabled = true;
          logger().warn("[vrrp] vrrp_script {}: user {} cannot be resolved: not run", def.name,
                        run_as->user);
        }
      }
      if (state->disabled) {
        state->timer.cancel();  // never run with the daemon's own credentials instead
      } else if (!state->timer.armed()) {
        const std::string name = def.name;
        state->timer.arm_after(Duration::zero(), [this, name] { run_script(name); });
      }
      next[def.name] = std::move(state);
    }
    scripts_ = std::move(next);
  }

  // keepalived drops a vrrp_script whose user cannot be resolved, and the track_script entries
  // naming it: the instance runs as if it did not track the script (a reload that changes that
  // changes the plan, so the instance is restarted).
  void untrack_disabled_scripts(VrrpInstancePlan& plan) const {
    std::erase_if(plan.scripts, [&](const TrackedScript& ref) {
      auto it = scripts_.find(ref.script);
      if (it == scripts_.end() || !it->second->disabled) return false;
      std::erase_if(plan.config.tracked, [&](const vrrp::TrackedObject& tracked) {
        return tracked.name == tracked_script_name(ref.script);
      });
      return true;
    });
  }

  void run_script(const std::string& name) {
    auto it = scripts_.find(name);
    if (it == scripts_.end() || stopping_) return;
    ScriptState& s = *it->second;
    s.timer.arm_after(s.definition.interval, [this, name] { run_script(name); });
    if (s.running) return;  // the previous run is still going: its timeout ends it
    s.running = true;
    event::ScriptRequest request{.name = "vrrp_script " + name,
                                 .argv = s.definition.script.argv,
                                 .run_as = s.run_as,
                                 .timeout = s.definition.timeout.value_or(s.definition.interval)};
    host_.scripts().run(std::move(request), [this, name](const event::ScriptResult& result) {
      script_done(name, result);
    });
  }

  void script_done(const std::string& name, const event::ScriptResult& result) {
    auto it = scripts_.find(name);
    if (it == scripts_.end()) return;
    ScriptState& s = *it->second;
    s.running = false;
    if (result.succeeded()) {
      s.failures = 0;
      ++s.successes;
      if (!s.up && s.successes >= s.definition.rise) set_script(name, s, true, result);
    } else {
      s.successes = 0;
      ++s.failures;
      if (s.up && s.failures >= s.definition.fall) set_script(name, s, false, result);
    }
  }

  void set_script(const std::string& name, ScriptState& s, bool up,
                  const event::ScriptResult& result) {
    s.up = up;
    logger().info("[vrrp] vrrp_script {} is now {} ({})", name, up ? "OK" : "KO",
                  event::describe(result, s.definition.timeout.value_or(s.definition.interval)));
    for (auto& [instance_name, managed] : instances_) {
      for (const auto& ref : managed->plan.scripts) {
        if (ref.script == name)
          managed->instance->tracked_changed(tracked_script_name(name), up != ref.reverse);
      }
    }
  }

  void update_files(bool initial) {
    std::map<std::string, FileState> next;
    std::set<std::string> paths;
    for (const auto& def : config_.vrrp.track_files) {
      if (next.contains(def.name)) continue;
      if (initial) write_init_file(def);
      // An out-of-range number is ignored, as keepalived 2.2.7 track_file.c does: the value
      // known before stays (0 for a file new to this configuration).
      auto known = files_.find(def.name);
      const int64_t value =
          read_track_file_value(def.path).value_or(known != files_.end() ? known->second.value : 0);
      next[def.name] = FileState{.definition = def, .value = value};
      paths.insert(def.path);
    }
    // A file that changed while its old definition was watched moves the unchanged instances
    // now (changed ones are re-created with the new values).
    std::vector<std::pair<std::string, int64_t>> moved;
    for (const auto& [name, file] : next) {
      auto old = files_.find(name);
      if (old != files_.end() && old->second.value != file.value)
        moved.emplace_back(name, file.value);
    }
    files_ = std::move(next);
    for (const auto& [name, value] : moved)
      apply_file_value(name, value);
    if (auto status = file_watcher_->watch(paths); !status)
      logger().warn("[vrrp] track_file: {}; those files are read only at reload",
                    status.error().message);
  }

  static void write_init_file(const config::TrackFile& def) {
    const bool exists = ::access(def.path.c_str(), F_OK) == 0;
    const auto contents = track_file_init_contents(def.init_value, def.init_overwrite, exists);
    if (!contents) return;
    // Replaced, not followed; an existing file keeps its owner and mode, a new one is 0644.
    auto written = replace_file(def.path, *contents,
                                ReplaceOptions{.mode = 0644, .keep_owner_and_mode = true});
    if (!written) {
      logger().warn("[vrrp] track_file {}: init_file not written: {}", def.name,
                    written.error().message);
    } else if (*written == Replaced::kSymlink) {
      logger().warn("[vrrp] track_file {}: {}", def.name, replaced_symlink_message(def.path));
    }
  }

  // inotify says `path` was written, replaced, created or removed.
  void on_file_changed(const std::string& path) {
    if (stopping_) return;
    const std::optional<int64_t> read = read_track_file_value(path);
    if (!read) {
      logger().warn("[vrrp] track_file {}: not a number in range; the last value stays", path);
      return;
    }
    const int64_t value = *read;
    for (auto& [name, file] : files_) {
      if (file.definition.path != path || file.value == value) continue;
      logger().info("[vrrp] track_file {}: {} -> {}", name, file.value, value);
      file.value = value;
      apply_file_value(name, value);
    }
  }

  void apply_file_value(const std::string& name, int64_t value) {
    for (auto& [instance_name, managed] : instances_) {
      for (const auto& ref : managed->plan.files) {
        if (ref.file != name) continue;
        managed->instance->tracked_changed(
            track_file_objects(name, track_file_state(value, ref.weight)));
      }
    }
  }

  // ---- notifications ----

  // The control API's event (posted by the sink: this thread never waits for the main loop).
  void report_transition(const Managed& managed, vrrp::State from, vrrp::State to,
                         std::string_view reason) {
    if (!options_.on_event) return;
    options_.on_event(api::VrrpTransitionEvent{.instance = managed.plan.config.name,
                                               .from = std::string(vrrp::to_string(from)),
                                               .to = std::string(vrrp::to_string(to)),
                                               .reason = std::string(reason)});
  }

  void notify(Managed& managed, vrrp::State to, uint8_t priority) {
    const std::string& name = managed.plan.config.name;
    if (options_.on_state_change) options_.on_state_change(name, to);
    const std::string_view state = notify_state_name(to);
    const auto& n = managed.plan.notify;
    const std::optional<config::NotifyScript>* specific = nullptr;
    switch (to) {
      case vrrp::State::kMaster:
        specific = &n.master;
        break;
      case vrrp::State::kBackup:
        specific = &n.backup;
        break;
      case vrrp::State::kFault:
        specific = &n.fault;
        break;
      default:
        specific = &n.stop;
        break;
    }
    if (*specific) run_notify(name, **specific, {});
    if (n.any)
      run_notify(name, *n.any, {"INSTANCE", name, std::string(state), std::to_string(priority)});
    write_fifos(fifo_instance_line(name, state, priority));
    // keepalived 2.2.7 vrrp_notify.c send_instance_notifies: scripts, FIFO, then the mail; the
    // sync group's notifies after the instance's.
    if (should_alert(n.smtp_alert, to, last_alert_states_, name))
      send_alert(alert::vrrp_instance_alert(name, alert_state_of(to)));
    if (!managed.plan.sync_group.empty()) notify_group(managed.plan.sync_group);
  }

  // A reload removed the instance (keepalived 2.2.7 vrrp.c clear_diff_vrrp): the generic
  // script's and the FIFOs' FAULT and the FAULT alert, or with notify_deleted its script,
  // DELETED and the "Deleted" alert. keepalived picks the state's own script while the state is
  // still DELETED (send_instance_notifies), so without notify_deleted no notify_fault runs. No
  // sync group notify, as in keepalived.
  void notify_removed(Managed& managed, vrrp::State before, uint8_t priority) {
    const std::string& name = managed.plan.config.name;
    if (options_.on_state_change) options_.on_state_change(name, vrrp::State::kInitialize);
    const auto& n = managed.plan.notify;
    const RemovalNotice notice = removal_notice(managed.plan.notify_deleted, before);
    if (notice == RemovalNotice::kNone) return;
    const bool deleted = notice == RemovalNotice::kDeleted;
    const std::string state = deleted ? "DELETED" : "FAULT";
    if (deleted && managed.plan.notify_deleted_script)
      run_notify(name, *managed.plan.notify_deleted_script, {});
    if (n.any) run_notify(name, *n.any, {"INSTANCE", name, state, std::to_string(priority)});
    write_fifos(fifo_instance_line(name, state, priority));
    if (deleted) {
      // keepalived's last_email_state never equals DELETED: the alert always goes.
      if (alerts_wanted(n.smtp_alert))
        send_alert(alert::vrrp_instance_alert(name, alert::VrrpAlertState::kDeleted));
    } else if (should_alert(n.smtp_alert, vrrp::State::kFault, last_alert_states_, name)) {
      send_alert(alert::vrrp_instance_alert(name, alert::VrrpAlertState::kFault));
    }
  }

  // ---- SMTP alerts (keepalived 2.2.7 vrrp_notify.c vrrp_smtp_notifier) ----

  static alert::VrrpAlertState alert_state_of(vrrp::State state) {
    switch (state) {
      case vrrp::State::kMaster:
        return alert::VrrpAlertState::kMaster;
      case vrrp::State::kBackup:
        return alert::VrrpAlertState::kBackup;
      case vrrp::State::kFault:
        return alert::VrrpAlertState::kFault;
      case vrrp::State::kInitialize:
      case vrrp::State::kCount:
        break;
    }
    return alert::VrrpAlertState::kStop;
  }

  // smtp_alert on, no_email_faults keeps FAULT quiet, and one mail per state (last_email_state).
  // Nothing at all without smtp_server and notification_email (core/smtp.c smtp_alert).
  // smtp_alert is on and alerts can be sent at all.
  [[nodiscard]] bool alerts_wanted(const std::optional<bool>& smtp_alert) const {
    return alerts_ != nullptr && smtp_alert.value_or(false) &&
           alert::why_not_sent(config_.global).empty();
  }

  bool should_alert(const std::optional<bool>& smtp_alert, vrrp::State to,
                    std::map<std::string, vrrp::State>& last, const std::string& name) {
    if (!alerts_wanted(smtp_alert)) return false;
    if (config_.global.no_email_faults && to == vrrp::State::kFault) return false;
    auto [it, inserted] = last.try_emplace(name, to);
    if (!inserted) {
      if (it->second == to) return false;
      it->second = to;
    }
    return true;
  }

  // Queued: the sender's connection runs on this loop asynchronously, never blocking it.
  void send_alert(alert::Alert alert) { alerts_->send(std::move(alert)); }

  // A sync group reports a state once all its members are in it.
  void notify_group(const std::string& group_name) {
    const config::VrrpSyncGroup* group = nullptr;
    for (const auto& g : config_.vrrp.sync_groups)
      if (g.name == group_name) group = &g;
    if (group == nullptr) return;
    std::optional<vrrp::State> common;
    for (const auto& member : group->members) {
      auto it = instances_.find(member.name);
      if (it == instances_.end()) return;
      const vrrp::State s = it->second->instance->state();
      if (common && *common != s) return;
      common = s;
    }
    if (!common || group_states_[group_name] == *common) return;
    group_states_[group_name] = *common;
    const std::string state(notify_state_name(*common));
    const auto& n = group->notify;
    const auto* specific = *common == vrrp::State::kMaster   ? &n.master
                           : *common == vrrp::State::kBackup ? &n.backup
                           : *common == vrrp::State::kFault  ? &n.fault
                                                             : &n.stop;
    if (*specific) run_notify(group_name, **specific, {});
    if (n.any) run_notify(group_name, *n.any, {"GROUP", group_name, state, "0"});
    write_fifos(fifo_group_line(group_name, state));
    // vrrp_notify.c vrrp_sync_smtp_notifier.
    if (should_alert(n.smtp_alert, *common, last_group_alert_states_, group_name)) {
      if (auto alert = alert::vrrp_group_alert(group_name, alert_state_of(*common)))
        send_alert(std::move(*alert));
    }
  }

  void run_notify(const std::string& owner, const config::NotifyScript& script,
                  std::vector<std::string> extra_args) {
    const auto run_as_config = script.run_as ? script.run_as : config_.global.script_user;
    std::optional<event::RunAs> run_as;
    if (run_as_config) {
      auto it = users_.find({run_as_config->user, run_as_config->group});
      if (it == users_.end() || !it->second) {
        logger().warn("[{}] notify script {}: user {} cannot be resolved: not run", owner,
                      script.command.text, run_as_config->user);
        return;
      }
      run_as = *it->second;
    }
    auto argv = script.command.argv;
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    event::ScriptRequest request{.name = owner + " notify",
                                 .argv = std::move(argv),
                                 .run_as = run_as,
                                 .timeout = options_.notify_timeout};
    host_.scripts().run(std::move(request), [owner](const event::ScriptResult& result) {
      if (!result.succeeded())
        logger().warn("[{}] notify script: {}", owner, event::describe(result));
    });
  }

  // keepalived's MASTER_RX_LOWER_PRI: notify_master_rx_lower_pri (no arguments added) and a
  // FIFO line; the generic `notify` script is not called for it.
  void notify_lower_priority(Managed& managed, const vrrp::NotifyLowerPriorityAdvert& seen,
                             uint8_t priority) {
    const std::string& name = managed.plan.config.name;
    logger().debug("[{}] MASTER_RX_LOWER_PRI: advert from {} with priority {}", name,
                   seen.source.to_string(), seen.priority);
    if (managed.plan.notify_master_rx_lower_pri)
      run_notify(name, *managed.plan.notify_master_rx_lower_pri, {});
    write_fifos(fifo_instance_line(name, "MASTER_RX_LOWER_PRI", priority));
  }

  // keepalived's notify_priority_changes (instance, else its sync group, else global): a FIFO
  // line only; no notify script is called for it.
  void notify_priority_change(Managed& managed, const vrrp::NotifyPriorityChange& change) {
    if (!managed.plan.notify.notify_priority_changes.value_or(false)) return;
    write_fifos(fifo_priority_change_line(managed.plan.config.name, change.state, change.priority));
  }

  void write_states_to_fifos() {
    for (const auto& group : config_.vrrp.sync_groups) {
      auto state = group_states_.find(group.name);
      if (state != group_states_.end())
        write_fifos(fifo_group_line(group.name, notify_state_name(state->second)));
    }
    for (const auto& [name, managed] : instances_) {
      const vrrp::State state = managed->instance->state();
      if (state == vrrp::State::kInitialize) continue;  // it reports its first state itself
      write_fifos(fifo_instance_line(name, notify_state_name(state),
                                     managed->instance->machine().priority()));
    }
  }

  void write_fifos(const std::string& line) {
    for (auto& channel : fifos_)
      channel->fifo.write(line);
  }

  // Opens the configured FIFOs and starts their scripts; an unchanged FIFO (same path, script and
  // user) keeps its script running across a reload.
  void update_fifos() {
    std::vector<std::unique_ptr<FifoChannel>> next;
    for (const auto* wanted : vrrp_fifos(config_.global)) {
      const auto user = wanted->script ? fifo_script_user(*wanted, config_.global)
                                       : std::optional<config::RunAs>{};
      auto same = std::find_if(fifos_.begin(), fifos_.end(), [&](const auto& c) {
        return c && c->fifo.path() == wanted->path && c->script == wanted->script &&
               c->script_user == user;
      });
      if (same != fifos_.end()) {
        next.push_back(std::move(*same));
        continue;
      }
      for (auto& old : fifos_) {
        if (old && old->fifo.path() == wanted->path) old.reset();  // its script ends first
      }
      auto opened = NotifyFifo::open(wanted->path);
      if (!opened) {
        logger().warn("[vrrp] notify FIFO: {}: no lines are written to it", opened.error().message);
        continue;
      }
      auto channel = std::make_unique<FifoChannel>(std::move(*opened));
      channel->script = wanted->script;
      channel->script_user = user;
      if (channel->script) start_fifo_script(*channel);
      next.push_back(std::move(channel));
    }
    fifos_ = std::move(next);  // the others close here, their scripts are killed
  }

  void start_fifo_script(FifoChannel& channel) {
    std::optional<event::RunAs> run_as;
    if (channel.script_user) {
      auto it = users_.find({channel.script_user->user, channel.script_user->group});
      if (it == users_.end() || !it->second) {
        logger().warn("[vrrp] notify FIFO script {}: user {} cannot be resolved: not run",
                      channel.script->text, channel.script_user->user);
        return;
      }
      run_as = *it->second;
      if (auto status = channel.fifo.give_to(run_as->uid, run_as->gid); !status)
        logger().warn("[vrrp] notify FIFO: {}", status.error().message);
    }
    // keepalived: the FIFO's name is the script's last argument; it runs until we stop.
    auto argv = channel.script->argv;
    argv.push_back(channel.fifo.path());
    channel.runner = host_.new_script_runner();
    const std::string path = channel.fifo.path();
    channel.runner->run(event::ScriptRequest{.name = "notify FIFO script " + path,
                                             .argv = std::move(argv),
                                             .run_as = run_as,
                                             .timeout = Duration::zero()},
                        [this, path](const event::ScriptResult& result) {
                          // Expected only while stopping.
                          logger().log(stopping_ ? spdlog::level::info : spdlog::level::warn,
                                       "[vrrp] notify FIFO script for {} ended: {}", path,
                                       event::describe(result));
                        });
  }

  VrrpHost& host_;
  Scheduler& scheduler_;
  const VrrpServiceOptions& options_;
  config::Config config_;
  std::map<UserKey, Result<event::RunAs>> users_;
  std::unique_ptr<vrrp::VipManager> host_vips_;
  std::unique_ptr<vrrp::AnnouncePacer> vips_;  // in front of host_vips_
  std::unique_ptr<vrrp::RoutingTable> routing_;
  std::unique_ptr<vrrp::VmacHost> vmac_host_;
  std::map<std::string, vrrp::VmacPlan> vmacs_;  // the VMACs made, by name
  vrrp::BaseArpSettings base_arp_;
  vrrp::StaticEntries static_held_;  // the static entries vigild set and holds
  uint64_t static_failures_ = 0;
  std::unique_ptr<LinkStates> links_;
  std::map<SocketKey, std::unique_ptr<AdvertSocket>> sockets_;
  std::map<std::string, std::unique_ptr<Managed>> instances_;
  std::vector<std::unique_ptr<vrrp::SyncGroupLink>> groups_;
  std::map<std::string, vrrp::State> group_states_;
  alert::AlertSender* alerts_;
  // vigilctl vrrp maintenance: instance name -> reason, orphaned entries (no such instance in
  // the running configuration) included.
  std::map<std::string, std::string> maintenance_;
  // keepalived's last_email_state, per instance and per sync group.
  std::map<std::string, vrrp::State> last_alert_states_;
  std::map<std::string, vrrp::State> last_group_alert_states_;
  std::map<std::string, std::unique_ptr<ScriptState>> scripts_;
  std::map<std::string, FileState> files_;
  std::unique_ptr<event::FileChangeWatcher> file_watcher_;
  std::vector<std::unique_ptr<FifoChannel>> fifos_;
  bool stopping_ = false;
  // vrrp_startup_delay: while the timer is armed, instances created wait for it.
  std::set<std::string> awaiting_startup_;
  Timer startup_timer_{scheduler_};
};

// ---- the Service, on the main thread -----------------------------------------------------------

namespace {

// The blocking part of a start or reload, on the calling thread: the instances' primary
// addresses and the script users (NSS).
Result<Prepared> prepare_vrrp(const config::Config& config, const VrrpServiceOptions& options) {
  Prepared prepared;
  auto lookup = options.primary_address ? options.primary_address : lookup_primary_address;
  auto plans = plan_instances(config, lookup);
  if (!plans) return plans.error();
  prepared.plans = std::move(*plans);
  // keepalived 2.2.7 refuses a static entry on a missing interface ("Non-existent interface
  // specified in configuration"): it does not start, and a reload ends it, leaving its static
  // entries behind. vigil does not start either; a reload is refused and the running one stays.
  for (const auto& interface : vrrp::static_interfaces(static_entries(config))) {
    const bool exists = options.interface_exists ? options.interface_exists(interface)
                                                 : vrrp::interface_index(interface).ok();
    if (!exists) return Error{fmt::format("[static] interface {} does not exist", interface)};
  }
  collect_user(config.global.script_user, prepared.users);
  for (const auto& script : config.vrrp.scripts)
    collect_user(script.user, prepared.users);
  for (const auto& vi : config.vrrp.instances) {
    collect_notify_users(vi.notify, prepared.users);
    if (vi.notify_master_rx_lower_pri)
      collect_user(vi.notify_master_rx_lower_pri->run_as, prepared.users);
    if (vi.notify_deleted_script) collect_user(vi.notify_deleted_script->run_as, prepared.users);
  }
  for (const auto* fifo : vrrp_fifos(config.global)) {
    if (fifo->script) collect_user(fifo_script_user(*fifo, config.global), prepared.users);
  }
  for (const auto& group : config.vrrp.sync_groups)
    collect_notify_users(group.notify, prepared.users);
  prepared.smtp = alert::settings_from(config.global, alert::local_identity());
  if (!prepared.smtp) {
    const bool wanted =
        std::any_of(config.vrrp.instances.begin(), config.vrrp.instances.end(),
                    [](const auto& vi) { return vi.notify.smtp_alert.value_or(false); }) ||
        std::any_of(config.vrrp.sync_groups.begin(), config.vrrp.sync_groups.end(),
                    [](const auto& g) { return g.notify.smtp_alert.value_or(false); });
    if (wanted)
      logger().info("[vrrp] smtp_alert is on but there is {}: no SMTP alert is sent",
                    alert::why_not_sent(config.global));
  }
  // The VRRP side never reads the LVS section: leaving it out keeps one copy of every virtual
  // and real server fewer in memory (thousands of checkers' worth).
  prepared.config.global = config.global;
  prepared.config.vrrp = config.vrrp;
  return prepared;
}

}  // namespace

struct VrrpService::Impl {
  explicit Impl(VrrpServiceOptions o) : options(std::move(o)), thread("vrrp") {}

  // Runs `work` on the VRRP thread and waits for it.
  template <class F>
  auto on_vrrp_thread(F work) -> decltype(work()) {
    using R = decltype(work());
    std::promise<R> done;
    auto result = done.get_future();
    thread.loop().post([&] {
      if constexpr (std::is_void_v<R>) {
        work();
        done.set_value();
      } else {
        done.set_value(work());
      }
    });
    return result.get();
  }

  Result<Prepared> prepare(const config::Config& config) { return prepare_vrrp(config, options); }

  VrrpServiceOptions options;
  event::LoopThread thread;
  // Created, used and destroyed on the VRRP thread, the host last.
  std::unique_ptr<VrrpHost> host;
  // SMTP alerts on the VRRP loop: Asio connects, reads and writes, never a blocking call.
  std::unique_ptr<alert::AsioSmtpTransport> alert_transport;
  std::unique_ptr<alert::SmtpAlertSender> alerts;
  std::unique_ptr<Runtime> runtime;
  bool started = false;
  // alive(): the last no-op posted to the VRRP loop, and the last one it ran (shared with the
  // ones in flight, which may run after the service is gone).
  uint64_t pings_sent = 0;
  std::shared_ptr<std::atomic<uint64_t>> pings_answered =
      std::make_shared<std::atomic<uint64_t>>(0);
};

VrrpService::VrrpService(VrrpServiceOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

void VrrpService::set_event_sink(api::EventSink sink) {
  impl_->options.on_event = std::move(sink);
}

VrrpService::~VrrpService() {
  if (impl_->thread.running()) {
    impl_->on_vrrp_thread([this] {
      impl_->runtime.reset();
      impl_->alerts.reset();
      impl_->alert_transport.reset();
      impl_->host.reset();
    });
    impl_->thread.stop();
  }
}

Status VrrpService::start(const SharedConfig& shared) {
  const config::Config& config = *shared;
  if (config.vrrp.instances.empty()) {
    logger().info("[vrrp] no vrrp_instance configured: VRRP is not used");
    return {};
  }
  auto prepared = impl_->prepare(config);
  if (!prepared) return prepared.error();
  // A notify FIFO whose reader goes away must not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);
  event::ThreadOptions thread_options{.realtime_priority = config.global.vrrp_rt_priority,
                                      .lock_memory = config.global.vrrp_rt_priority.has_value()};
  (void)impl_->thread.start(thread_options);  // a refused SCHED_RR is logged and not fatal
  Status status = impl_->on_vrrp_thread([this, p = std::move(*prepared)]() mutable {
    impl_->host = make_linux_vrrp_host(impl_->thread.loop());
    impl_->alert_transport = std::make_unique<alert::AsioSmtpTransport>(impl_->thread.loop());
    impl_->alerts = std::make_unique<alert::SmtpAlertSender>(
        impl_->thread.loop().scheduler(), *impl_->alert_transport, event::wall_clock_now, "vrrp");
    impl_->alerts->configure(p.smtp);
    impl_->runtime = std::make_unique<Runtime>(*impl_->host, impl_->options, impl_->alerts.get());
    Status s = impl_->runtime->start(std::move(p));
    if (!s) {
      impl_->runtime.reset();
      impl_->host.reset();
    }
    return s;
  });
  if (!status) {
    impl_->thread.stop();
    return status;
  }
  impl_->started = true;
  logger().info("[vrrp] {} instance(s) running{}", config.vrrp.instances.size(),
                config.global.vrrp_rt_priority
                    ? fmt::format(" at SCHED_RR {}", *config.global.vrrp_rt_priority)
                    : std::string());
  return {};
}

void VrrpService::reload(const SharedConfig& config) {
  auto commit = prepare_reload(config);
  if (!commit) {
    logger().error("[vrrp] reload refused: {}; the running instances stay", commit.error().message);
    return;
  }
  (*commit)();
}

Result<Service::Commit> VrrpService::prepare_reload(const SharedConfig& config) {
  if (!impl_->started) {
    return Commit([this, config] {
      if (auto status = start(config); !status)
        logger().error("[vrrp] reload: cannot start VRRP: {}", status.error().message);
    });
  }
  auto prepared = impl_->prepare(*config);
  if (!prepared) return Error{"VRRP: " + prepared.error().message};
  auto shared = std::make_shared<Prepared>(std::move(*prepared));
  return Commit([this, shared] {
    impl_->on_vrrp_thread([this, shared]() mutable {
      impl_->alerts->configure(shared->smtp);
      impl_->runtime->reload(std::move(*shared));
    });
  });
}

void VrrpService::plan_reload(const SharedConfig& config, PlanReply done) {
  auto prepared = impl_->prepare(*config);
  if (!prepared) {
    api::PlanPart part;
    part.refusals.push_back("VRRP: " + prepared.error().message);
    done(std::move(part));
    return;
  }
  if (!impl_->started) {
    // No instance runs (none configured before): every instance is new.
    done(describe_vrrp_reload({}, prepared->plans));
    return;
  }
  auto shared = std::make_shared<Prepared>(std::move(*prepared));
  impl_->thread.loop().post([this, shared, done = std::move(done)] {
    done(impl_->runtime ? impl_->runtime->plan(*shared) : describe_vrrp_reload({}, shared->plans));
  });
}

void VrrpService::stop() {
  if (!impl_->started) return;
  impl_->started = false;
  const bool keep = impl_->options.keep_vips_on_stop;
  impl_->on_vrrp_thread([this, keep] { impl_->runtime->stop(keep); });
  // Give notify_stop scripts a bounded time to finish before the runner kills what is left.
  std::promise<void> idle;
  auto done = idle.get_future();
  const Duration step = std::chrono::milliseconds(10);
  const int64_t rounds = impl_->options.stop_script_grace / step;
  auto waiter = std::make_shared<std::function<void(int64_t)>>();
  *waiter = [this, step, &idle, waiter](int64_t left) {
    // notify_stop scripts, and the "Stopping" SMTP alerts, get the same grace.
    const bool alerts_idle =
        !impl_->alerts || (!impl_->alerts->busy() && impl_->alerts->queued() == 0);
    if (left <= 0 || (impl_->runtime->scripts_idle() && alerts_idle)) {
      idle.set_value();
      return;
    }
    impl_->thread.loop().scheduler().call_after(step, [waiter, left] { (*waiter)(left - 1); });
  };
  impl_->thread.loop().post([waiter, rounds] { (*waiter)(rounds); });
  done.wait();
  impl_->on_vrrp_thread([this, waiter] {
    *waiter = nullptr;  // breaks the self-reference, on the thread that ran it
    impl_->runtime.reset();
    impl_->alerts.reset();
    impl_->alert_transport.reset();
    impl_->host.reset();
  });
  impl_->thread.stop();
}

void VrrpService::dump_data() {
  if (!impl_->started) return;
  impl_->on_vrrp_thread([this] { impl_->runtime->write_data(impl_->options.data_file); });
}

void VrrpService::status(const api::StatusQuery& /*query*/, StatusReply done) {
  if (!impl_->started) {
    done({});
    return;
  }
  // Built on the VRRP thread and handed over from there: the caller never waits for it.
  impl_->thread.loop().post([this, done = std::move(done)] {
    done(impl_->runtime ? impl_->runtime->status() : api::StatusPart{});
  });
}

void VrrpService::metrics(api::MetricsDetail /*detail*/, MetricsReply done) {
  if (!impl_->started) {
    done({});
    return;
  }
  // As status(): built on the VRRP thread and handed over from there.
  impl_->thread.loop().post([this, done = std::move(done)] {
    done(impl_->runtime ? impl_->runtime->metrics() : api::MetricsPart{});
  });
}

void VrrpService::announce(const std::string& instance, std::function<void(Status)> done) {
  if (!impl_->started) {
    done(Error{"no vrrp_instance is running"});
    return;
  }
  impl_->thread.loop().post([this, instance, done = std::move(done)] {
    done(impl_->runtime ? impl_->runtime->announce(instance) : Status(Error{"VRRP is stopping"}));
  });
}

void VrrpService::set_maintenance(MaintenanceRequest request,
                                  std::function<void(Result<MaintenanceOutcome>)> done) {
  if (!impl_->started) {
    done(Error{"no vrrp_instance is running"});
    return;
  }
  impl_->thread.loop().post([this, request = std::move(request), done = std::move(done)] {
    done(impl_->runtime ? impl_->runtime->set_maintenance(request)
                        : Result<MaintenanceOutcome>(Error{"VRRP is stopping"}));
  });
}

void VrrpService::stats(std::optional<std::string> clear,
                        std::function<void(Result<std::vector<api::VrrpInstanceStats>>)> done) {
  if (!impl_->started) {
    done(std::vector<api::VrrpInstanceStats>{});
    return;
  }
  impl_->thread.loop().post([this, clear = std::move(clear), done = std::move(done)] {
    done(impl_->runtime ? impl_->runtime->stats(clear)
                        : Result<std::vector<api::VrrpInstanceStats>>(Error{"VRRP is stopping"}));
  });
}

Result<std::vector<std::string>> maintenance_targets(
    const MaintenanceRequest& request, const std::map<std::string, std::string>& sync_groups,
    const std::set<std::string>& in_maintenance) {
  std::vector<std::string> out;
  if (request.all) {
    for (const auto& [name, group] : sync_groups)
      out.push_back(name);
    if (!request.on) {
      for (const auto& name : in_maintenance) {
        if (!sync_groups.contains(name)) out.push_back(name);
      }
    }
    return out;
  }
  auto it = sync_groups.find(request.instance);
  if (it == sync_groups.end()) {
    if (!request.on && in_maintenance.contains(request.instance))
      return std::vector<std::string>{request.instance};  // an orphaned entry
    return Error{"no vrrp_instance " + request.instance};
  }
  if (it->second.empty()) return std::vector<std::string>{request.instance};
  for (const auto& [name, group] : sync_groups) {
    if (group == it->second) out.push_back(name);
  }
  return out;
}

void VrrpService::dump_stats() {
  if (!impl_->started) return;
  impl_->on_vrrp_thread([this] { impl_->runtime->write_stats(impl_->options.stats_file); });
}

bool VrrpService::alive() {
  if (!impl_->started) return true;
  if (impl_->pings_answered->load(std::memory_order_acquire) != impl_->pings_sent) return false;
  impl_->thread.loop().post([answered = impl_->pings_answered, ping = ++impl_->pings_sent] {
    answered->store(ping, std::memory_order_release);
  });
  return true;
}

// ---- the runtime without its thread ------------------------------------------------------------

VrrpRuntime::VrrpRuntime(VrrpHost& host, VrrpServiceOptions options)
    : host_(host), options_(std::move(options)) {
  if (!options_.interface_exists) {
    options_.interface_exists = [&host](const std::string& interface) {
      return host.interface_exists(interface);
    };
  }
}

VrrpRuntime::~VrrpRuntime() = default;

Status VrrpRuntime::start(const config::Config& config) {
  auto prepared = prepare_vrrp(config, options_);
  if (!prepared) return prepared.error();
  runtime_ = std::make_unique<VrrpService::Runtime>(host_, options_, alerts_);
  Status status = runtime_->start(std::move(*prepared));
  if (!status) runtime_.reset();
  return status;
}

void VrrpRuntime::reload(const config::Config& config) {
  auto prepared = prepare_vrrp(config, options_);
  if (!prepared) {
    logger().error("[vrrp] reload refused: {}; the running instances stay",
                   prepared.error().message);
    return;
  }
  if (runtime_) runtime_->reload(std::move(*prepared));
}

void VrrpRuntime::stop() {
  if (runtime_) runtime_->stop(options_.keep_vips_on_stop);
}

bool VrrpRuntime::scripts_idle() const {
  return runtime_ ? runtime_->scripts_idle() : host_.scripts_idle();
}

void VrrpRuntime::write_data() {
  if (runtime_) runtime_->write_data(options_.data_file);
}

api::StatusPart VrrpRuntime::status() const {
  return runtime_ ? runtime_->status() : api::StatusPart{};
}

Result<MaintenanceOutcome> VrrpRuntime::set_maintenance(const MaintenanceRequest& request) {
  if (!runtime_) return Error{"no vrrp_instance is running"};
  return runtime_->set_maintenance(request);
}

Result<std::vector<api::VrrpInstanceStats>> VrrpRuntime::stats(
    const std::optional<std::string>& clear) {
  if (!runtime_) return std::vector<api::VrrpInstanceStats>{};
  return runtime_->stats(clear);
}

api::MetricsPart VrrpRuntime::metrics() const {
  return runtime_ ? runtime_->metrics() : api::MetricsPart{};
}

void VrrpRuntime::write_stats() {
  if (runtime_) runtime_->write_stats(options_.stats_file);
}

}  // namespace vigil::daemon
