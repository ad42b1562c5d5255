#include "daemon/vrrp_service.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <cassert>
#include <csignal>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <set>

#include "common/log.h"
#include "common/log_async.h"
#include "event/event_loop.h"
#include "event/fd_watcher.h"
#include "event/script_runner.h"
#include "event/signals.h"
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
                  int count) override {
    return inner_.announce(interface, with_excluded(addresses), count);
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
  Runtime(event::EventLoop& loop, const VrrpServiceOptions& options)
      : loop_(loop),
        scheduler_(loop.scheduler()),
        options_(options),
        runner_(loop),
        file_timer_(scheduler_) {}

  ~Runtime() {
    groups_.clear();  // they hold Instance pointers
  }

  Status start(Prepared prepared) {
    auto vips = vrrp::NetlinkVipManager::open();
    if (!vips) return Error{"cannot open rtnetlink for virtual addresses: " + vips.error().message};
    vips_ = std::move(*vips);
    auto monitor =
        vrrp::LinkMonitor::open([this](const std::string& name, bool up) { on_link(name, up); });
    if (!monitor) return Error{"cannot follow link states: " + monitor.error().message};
    links_ = std::move(*monitor);
    // Read the initial dump now (start-up only: the kernel answers at once), so instances start
    // with their links' real state instead of flapping through FAULT.
    for (int round = 0; round < 50 && !links_->synchronised(); ++round) {
      pollfd p{.fd = links_->fd(), .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 100) > 0) links_->drain();
    }
    auto watcher = event::FdWatcher::create(loop_, links_->fd());
    if (!watcher) return watcher.error();
    link_watcher_ = std::move(*watcher);
    link_watcher_->on_readable([this] { links_->drain(); });

    for (const auto& plan : prepared.plans) {
      if (!vrrp::interface_index(plan.config.interface)) {
        return Error{fmt::format("vrrp_instance {}: interface {} does not exist", plan.config.name,
                                 plan.config.interface)};
      }
    }
    if (auto status = apply(std::move(prepared), /*initial=*/true); !status) return status;
    if (options_.handle_dump_signals) {
      signals_ = std::make_unique<event::SignalHandler>(loop_);
      (void)signals_->on(SIGUSR1, [this](int) { write_data(options_.data_file); });
      (void)signals_->on(SIGUSR2, [this](int) { write_stats(options_.stats_file); });
    }
    return {};
  }

  void reload(Prepared prepared) {
    if (auto status = apply(std::move(prepared), /*initial=*/false); !status)
      logger().error("[vrrp] reload: {}", status.error().message);
  }

  void stop(bool keep_vips) {
    stopping_ = true;
    file_timer_.cancel();
    for (auto& [name, script] : scripts_)
      script->timer.cancel();
    groups_.clear();
    for (auto& [name, managed] : instances_) {
      if (keep_vips) managed->vips->keep_addresses();
      const vrrp::State before = managed->instance->state();
      managed->instance->stop();
      // Shutdown from INIT reports nothing; say STOP for every instance that ran.
      if (before != vrrp::State::kInitialize && before == managed->instance->state())
        notify(*managed, vrrp::State::kInitialize, managed->instance->machine().priority());
    }
  }

  [[nodiscard]] bool scripts_idle() const {
    return runner_.running() == 0 && runner_.queued() == 0;
  }

  void write_data(const std::string& path) {
    std::ofstream out(path, std::ios::trunc);
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
    logger().info("[vrrp] instance states written to {}", path);
  }

  void write_stats(const std::string& path) {
    std::ofstream out(path, std::ios::trunc);
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
      out << "  Own adverts ignored: " << machine.own_adverts_ignored() << "\n";
      out << "  VIP failures: " << counters.vip_failures << "\n";
      out << "  Rejected: " << managed->rejects.total() << "\n";
      for (size_t i = 0; i < vrrp::kRejectReasonCount; ++i) {
        const auto reason = static_cast<vrrp::RejectReason>(i);
        out << "    " << vrrp::to_string(reason) << ": " << managed->rejects[reason] << "\n";
      }
    }
    for (const auto& [key, socket] : sockets_) {
      const auto& sc = socket->socket->counters();
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
    // How late the VRRP thread ran its timers and posted work (advert sends, master-down).
    const auto late = loop_.timer_lateness();
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
    logger().info("[vrrp] counters written to {}", path);
  }

 private:
  struct AdvertSocket {
    std::unique_ptr<vrrp::LinuxAdvertSocket> socket;
    std::unique_ptr<event::FdWatcher> watcher;
    vrrp::AdvertReceiver receiver;
    std::map<uint8_t, vrrp::RejectCounters*> by_vrid;  // per-instance reject counters
    vrrp::RejectCounters unattributed;                 // unknown VRID or unreadable header
  };

  struct Managed {
    VrrpInstancePlan plan;
    std::unique_ptr<InstanceVips> vips;
    std::unique_ptr<vrrp::Instance> instance;
    AdvertSocket* socket = nullptr;
    vrrp::RejectCounters rejects;
    uint64_t released_master = 0;
  };

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

  struct FileState {
    config::TrackFile definition;
    int64_t value = 0;
  };

  // ---- reconciling instances with a configuration ----

  Status apply(Prepared prepared, bool initial) {
    config_ = std::move(prepared.config);
    users_ = std::move(prepared.users);
    update_scripts();
    update_files(initial);
    groups_.clear();  // rebuilt below; they hold Instance pointers

    std::map<std::string, const VrrpInstancePlan*> wanted;
    for (const auto& plan : prepared.plans)
      wanted[plan.config.name] = &plan;

    // Removed instances stop as on shutdown (priority 0, VIPs removed, notify_stop).
    for (auto it = instances_.begin(); it != instances_.end();) {
      if (wanted.contains(it->first)) {
        ++it;
        continue;
      }
      logger().info("[{}] removed by reload: stopping", it->first);
      it->second->instance->stop();
      notify(*it->second, vrrp::State::kInitialize, it->second->instance->machine().priority());
      detach(*it->second);
      it = instances_.erase(it);
    }

    // Every changed instance leaves its socket before any new one joins, so VRIDs that move
    // between instances never meet on one receiver.
    std::vector<const VrrpInstancePlan*> to_create;
    std::set<std::string> resume_as_master;
    for (const auto& plan : prepared.plans) {
      const std::string& name = plan.config.name;
      auto existing = instances_.find(name);
      if (existing != instances_.end()) {
        if (existing->second->plan == plan) continue;  // unchanged: keeps its state and VIPs
        // Changed: the new instance takes over the old one's role. VIPs that the new config
        // drops are removed; the others stay where they are.
        Managed& old = *existing->second;
        if (old.instance->state() == vrrp::State::kMaster) {
          resume_as_master.insert(name);
          std::vector<vrrp::VirtualAddress> dropped;
          for (const auto& vip : old.instance->config().virtual_addresses) {
            if (std::find(plan.config.virtual_addresses.begin(),
                          plan.config.virtual_addresses.end(),
                          vip) == plan.config.virtual_addresses.end())
              dropped.push_back(vip);
          }
          for (const auto& vip : old.plan.excluded) {
            if (std::find(plan.excluded.begin(), plan.excluded.end(), vip) == plan.excluded.end())
              dropped.push_back(vip);
          }
          if (!dropped.empty()) (void)vips_->remove_addresses(old.plan.config.interface, dropped);
        }
        logger().info("[{}] changed by reload: restarting it{}", name,
                      resume_as_master.contains(name) ? " as MASTER" : "");
        detach(old);
        instances_.erase(existing);
      }
      to_create.push_back(&plan);
    }
    std::vector<Managed*> to_start;
    for (const VrrpInstancePlan* planned : to_create) {
      const VrrpInstancePlan& plan = *planned;
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
    build_sync_groups();
    for (Managed* managed : to_start) {
      managed->instance->start();
      if (resume_as_master.contains(managed->plan.config.name))
        managed->instance->handle(vrrp::GroupMaster{});  // master at once, advertising now
    }
    if (!file_timer_.armed() && !files_.empty()) schedule_file_poll();
    return {};
  }

  Result<std::unique_ptr<Managed>> create(const VrrpInstancePlan& plan) {
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
    managed->vips = std::make_unique<InstanceVips>(*vips_, plan.excluded);
    Managed* raw = managed.get();
    managed->instance = std::make_unique<vrrp::Instance>(
        std::move(config), scheduler_, *(*socket)->socket, *managed->vips,
        [this, raw](const vrrp::InstanceConfig&, const vrrp::Notify& n, uint8_t priority) {
          if (n.from == vrrp::State::kMaster) ++raw->released_master;
          notify(*raw, n.to, priority);
        });
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
    const SocketKey key{plan.config.interface, plan.config.family};
    if (auto it = sockets_.find(key); it != sockets_.end()) return it->second.get();
    vrrp::AdvertSocketOptions options{.interface = key.interface, .family = key.family};
    for (const auto& vi : config_.vrrp.instances) {
      if (vi.interface == key.interface && vi.family == key.family && vi.mcast_dst_ip)
        options.multicast_group = vi.mcast_dst_ip;
    }
    auto opened = vrrp::LinuxAdvertSocket::open(options);
    if (!opened) {
      return Error{fmt::format(
          "vrrp_instance {}: interface {}: cannot open the {} advert socket: {}", plan.config.name,
          key.interface, to_string(key.family), opened.error().message)};
    }
    auto entry = std::make_unique<AdvertSocket>();
    entry->socket = std::move(*opened);
    auto watcher = event::FdWatcher::create(loop_, entry->socket->fd());
    if (!watcher) return watcher.error();
    entry->watcher = std::move(*watcher);
    AdvertSocket* raw = entry.get();
    entry->watcher->on_readable([this, raw] { drain(*raw); });
    sockets_[key] = std::move(entry);
    return raw;
  }

  void drain(AdvertSocket& s) {
    const bool ipv4 = s.socket->options().family == AddressFamily::kIpv4;
    s.socket->drain([&](const vrrp::RawAdvertMessage& m) {
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
    });
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
      const bool is_new = !state->definition.script.argv.size();
      state->definition = def;
      if (is_new) state->up = !def.init_fail;
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
      if (is_new && !state->disabled) {
        const std::string name = def.name;
        state->timer.arm_after(Duration::zero(), [this, name] { run_script(name); });
      }
      next[def.name] = std::move(state);
    }
    scripts_ = std::move(next);
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
    runner_.run(std::move(request),
                [this, name](const event::ScriptResult& result) { script_done(name, result); });
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
    for (const auto& def : config_.vrrp.track_files) {
      if (next.contains(def.name)) continue;
      if (initial && def.init_value) {
        const bool exists = ::access(def.path.c_str(), F_OK) == 0;
        if (!exists || def.init_overwrite) std::ofstream(def.path) << *def.init_value << "\n";
      }
      FileState state{.definition = def, .value = read_file_value(def.path)};
      next[def.name] = state;
    }
    files_ = std::move(next);
  }

  static int64_t read_file_value(const std::string& path) {
    // keepalived: the file's leading integer; unreadable or not a number counts as 0.
    std::ifstream in(path);
    int64_t value = 0;
    if (!(in >> value)) return 0;
    return value;
  }

  void schedule_file_poll() {
    file_timer_.arm_after(options_.track_file_interval, [this] {
      poll_files();
      if (!files_.empty() && !stopping_) schedule_file_poll();
    });
  }

  void poll_files() {
    for (auto& [name, file] : files_) {
      const int64_t value = read_file_value(file.definition.path);
      if (value == file.value) continue;
      logger().info("[vrrp] track_file {}: {} -> {}", name, file.value, value);
      file.value = value;
      for (auto& [instance_name, managed] : instances_) {
        for (const auto& ref : managed->plan.files) {
          if (ref.file != name) continue;
          for (const auto& [object, up] :
               track_file_objects(name, track_file_state(value, ref.weight)))
            managed->instance->tracked_changed(object, up);
        }
      }
    }
  }

  // ---- notifications ----

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
    write_fifos(fmt::format("INSTANCE \"{}\" {} {}\n", name, state, priority));
    if (!managed.plan.sync_group.empty()) notify_group(managed.plan.sync_group);
  }

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
    write_fifos(fmt::format("GROUP \"{}\" {} 0\n", group_name, state));
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
    runner_.run(std::move(request), [owner](const event::ScriptResult& result) {
      if (!result.succeeded())
        logger().warn("[{}] notify script: {}", owner, event::describe(result));
    });
  }

  void write_fifos(const std::string& line) {
    for (const auto* fifo : {&config_.global.notify_fifo, &config_.global.vrrp_notify_fifo}) {
      if (!*fifo) continue;
      // Non-blocking: with no reader the open fails (ENXIO) and the line is dropped; a full pipe
      // drops it too. VRRP never waits for a reader.
      const int fd = ::open((*fifo)->path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) {
        ++fifo_drops_;
        continue;
      }
      if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ++fifo_drops_;
      ::close(fd);
    }
  }

  event::EventLoop& loop_;
  Scheduler& scheduler_;
  const VrrpServiceOptions& options_;
  event::ProcessScriptRunner runner_;
  config::Config config_;
  std::map<UserKey, Result<event::RunAs>> users_;
  std::unique_ptr<vrrp::NetlinkVipManager> vips_;
  std::unique_ptr<vrrp::LinkMonitor> links_;
  std::unique_ptr<event::FdWatcher> link_watcher_;
  std::map<SocketKey, std::unique_ptr<AdvertSocket>> sockets_;
  std::map<std::string, std::unique_ptr<Managed>> instances_;
  std::vector<std::unique_ptr<vrrp::SyncGroupLink>> groups_;
  std::map<std::string, vrrp::State> group_states_;
  std::map<std::string, std::unique_ptr<ScriptState>> scripts_;
  std::map<std::string, FileState> files_;
  Timer file_timer_;
  std::unique_ptr<event::SignalHandler> signals_;
  uint64_t fifo_drops_ = 0;
  bool stopping_ = false;
};

// ---- the Service, on the main thread -----------------------------------------------------------

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

  Result<Prepared> prepare(const config::Config& config) {
    Prepared prepared;
    auto lookup = options.primary_address ? options.primary_address : lookup_primary_address;
    auto plans = plan_instances(config, lookup);
    if (!plans) return plans.error();
    prepared.plans = std::move(*plans);
    collect_user(config.global.script_user, prepared.users);
    for (const auto& script : config.vrrp.scripts)
      collect_user(script.user, prepared.users);
    for (const auto& vi : config.vrrp.instances)
      collect_notify_users(vi.notify, prepared.users);
    for (const auto& group : config.vrrp.sync_groups)
      collect_notify_users(group.notify, prepared.users);
    prepared.config = config;
    return prepared;
  }

  VrrpServiceOptions options;
  event::LoopThread thread;
  std::unique_ptr<Runtime> runtime;  // created, used and destroyed on the VRRP thread
  bool started = false;
};

VrrpService::VrrpService(VrrpServiceOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

VrrpService::~VrrpService() {
  if (impl_->thread.running()) {
    impl_->on_vrrp_thread([this] { impl_->runtime.reset(); });
    impl_->thread.stop();
  }
}

Status VrrpService::start(const config::Config& config) {
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
    impl_->runtime = std::make_unique<Runtime>(impl_->thread.loop(), impl_->options);
    Status s = impl_->runtime->start(std::move(p));
    if (!s) impl_->runtime.reset();
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

void VrrpService::reload(const config::Config& config) {
  if (!impl_->started) {
    if (auto status = start(config); !status)
      logger().error("[vrrp] reload: cannot start VRRP: {}", status.error().message);
    return;
  }
  auto prepared = impl_->prepare(config);
  if (!prepared) {
    logger().error("[vrrp] reload refused: {}; the running instances stay",
                   prepared.error().message);
    return;
  }
  impl_->on_vrrp_thread(
      [this, p = std::move(*prepared)]() mutable { impl_->runtime->reload(std::move(p)); });
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
    if (left <= 0 || impl_->runtime->scripts_idle()) {
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
  });
  impl_->thread.stop();
}

void VrrpService::dump_data() {
  if (!impl_->started) return;
  impl_->on_vrrp_thread([this] { impl_->runtime->write_data(impl_->options.data_file); });
}

void VrrpService::dump_stats() {
  if (!impl_->started) return;
  impl_->on_vrrp_thread([this] { impl_->runtime->write_stats(impl_->options.stats_file); });
}

}  // namespace vigil::daemon
