// The production VrrpHost: raw VRRP sockets, rtnetlink, inotify, child processes and signals,
// all on one EventLoop.
#include <poll.h>

#include <csignal>

#include "daemon/vrrp/vrrp_host.h"
#include "event/event_loop.h"
#include "event/fd_watcher.h"
#include "event/script_runner.h"
#include "event/signals.h"
#include "vrrp/linux_link_monitor.h"
#include "vrrp/linux_netdev.h"
#include "vrrp/linux_routing_table.h"
#include "vrrp/linux_vip_manager.h"
#include "vrrp/linux_vmac.h"

namespace vigil::daemon {
namespace {

class LinuxAdvertChannel final : public AdvertChannel {
 public:
  LinuxAdvertChannel(std::unique_ptr<vrrp::LinuxAdvertSocket> socket,
                     std::unique_ptr<event::FdWatcher> watcher)
      : socket_(std::move(socket)), watcher_(std::move(watcher)) {}

  Status send(const vrrp::OutgoingAdvert& advert) override { return socket_->send(advert); }
  [[nodiscard]] Counters counters() const override {
    const auto& c = socket_->counters();
    return {.sent = c.sent,
            .received = c.received,
            .receive_errors = c.receive_errors,
            .malformed = c.malformed};
  }

 private:
  std::unique_ptr<vrrp::LinuxAdvertSocket> socket_;
  std::unique_ptr<event::FdWatcher> watcher_;
};

class LinuxLinkStates final : public LinkStates {
 public:
  LinuxLinkStates(std::unique_ptr<vrrp::LinkMonitor> monitor,
                  std::unique_ptr<event::FdWatcher> watcher)
      : monitor_(std::move(monitor)), watcher_(std::move(watcher)) {}
  [[nodiscard]] std::optional<bool> is_up(const std::string& interface) const override {
    return monitor_->is_up(interface);
  }

 private:
  std::unique_ptr<vrrp::LinkMonitor> monitor_;
  std::unique_ptr<event::FdWatcher> watcher_;
};

class LinuxVrrpHost final : public VrrpHost {
 public:
  explicit LinuxVrrpHost(event::EventLoop& loop) : loop_(loop), runner_(loop) {}

  Scheduler& scheduler() override { return loop_.scheduler(); }
  event::ScriptRunner& scripts() override { return runner_; }
  [[nodiscard]] bool scripts_idle() const override { return runner_.idle(); }
  std::unique_ptr<event::ScriptRunner> new_script_runner() override {
    return std::make_unique<event::ProcessScriptRunner>(loop_);
  }

  Result<std::unique_ptr<vrrp::VipManager>> open_vips() override {
    auto vips = vrrp::NetlinkVipManager::open();
    if (!vips) return vips.error();
    return std::unique_ptr<vrrp::VipManager>(std::move(*vips));
  }

  Result<std::unique_ptr<vrrp::RoutingTable>> open_routing() override {
    auto table = vrrp::NetlinkRoutingTable::open();
    if (!table) return table.error();
    return std::unique_ptr<vrrp::RoutingTable>(std::move(*table));
  }

  Result<std::unique_ptr<vrrp::VmacHost>> open_vmacs() override {
    auto vmacs = vrrp::NetlinkVmacHost::open();
    if (!vmacs) return vmacs.error();
    return std::unique_ptr<vrrp::VmacHost>(std::move(*vmacs));
  }

  Result<std::unique_ptr<LinkStates>> open_links(LinkChanged changed) override {
    auto monitor = vrrp::LinkMonitor::open(std::move(changed));
    if (!monitor) return monitor.error();
    // Read the initial dump now (start-up only: the kernel answers at once), so instances start
    // with their links' real state instead of flapping through FAULT.
    auto& links = **monitor;
    for (int round = 0; round < 50 && !links.synchronised(); ++round) {
      pollfd p{.fd = links.fd(), .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 100) > 0) links.drain();
    }
    auto watcher = event::FdWatcher::create(loop_, links.fd());
    if (!watcher) return watcher.error();
    (*watcher)->on_readable([&links] { links.drain(); });
    return std::unique_ptr<LinkStates>(
        std::make_unique<LinuxLinkStates>(std::move(*monitor), std::move(*watcher)));
  }

  [[nodiscard]] bool interface_exists(const std::string& interface) const override {
    return vrrp::interface_index(interface).ok();
  }

  Result<std::unique_ptr<AdvertChannel>> open_adverts(const vrrp::AdvertSocketOptions& options,
                                                      AdvertReceived received) override {
    auto socket = vrrp::LinuxAdvertSocket::open(options);
    if (!socket) return socket.error();
    auto watcher = event::FdWatcher::create(loop_, (*socket)->fd());
    if (!watcher) return watcher.error();
    auto* raw = socket->get();
    (*watcher)->on_readable([raw, received = std::move(received)] { raw->drain(received); });
    return std::unique_ptr<AdvertChannel>(
        std::make_unique<LinuxAdvertChannel>(std::move(*socket), std::move(*watcher)));
  }

  Result<std::unique_ptr<event::FileChangeWatcher>> watch_files(FileChanged changed) override {
    auto watcher = event::InotifyFileWatcher::open(loop_, "[vrrp] track_file", std::move(changed));
    if (!watcher) return watcher.error();
    return std::unique_ptr<event::FileChangeWatcher>(std::move(*watcher));
  }

  void on_stop_signals(std::function<void()> stop) override {
    stop_signals_ = std::make_unique<event::SignalHandler>(loop_);
    auto callback = [stop = std::move(stop)](int) { stop(); };
    (void)stop_signals_->on(SIGTERM, callback);
    (void)stop_signals_->on(SIGINT, callback);
  }
  [[nodiscard]] event::TimerLateness timer_lateness() const override {
    return loop_.timer_lateness();
  }

 private:
  event::EventLoop& loop_;
  event::ProcessScriptRunner runner_;
  std::unique_ptr<event::SignalHandler> stop_signals_;
};

}  // namespace

std::unique_ptr<VrrpHost> make_linux_vrrp_host(event::EventLoop& loop) {
  return std::make_unique<LinuxVrrpHost>(loop);
}

}  // namespace vigil::daemon
