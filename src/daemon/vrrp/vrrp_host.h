// The machine as the VRRP runtime sees it: a scheduler, advert sockets, the virtual addresses,
// link states, scripts, watched files and the stop signals. make_linux_vrrp_host() is the
// production one over an EventLoop (raw sockets, rtnetlink, inotify, child processes);
// tests/daemon/vrrp/fake_vrrp_host.h fakes every role in virtual time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/time.h"
#include "event/file_watcher.h"
#include "event/scheduler.h"
#include "event/script_runner.h"
#include "vrrp/host.h"
#include "vrrp/linux_advert_socket.h"
#include "vrrp/routing.h"
#include "vrrp/vmac.h"

namespace vigil::event {
class EventLoop;
}

namespace vigil::daemon {

// One advert socket (an interface and address family).
class AdvertChannel : public vrrp::AdvertTransport {
 public:
  struct Counters {
    uint64_t sent = 0;
    uint64_t received = 0;
    uint64_t receive_errors = 0;
    uint64_t malformed = 0;
  };
  [[nodiscard]] virtual Counters counters() const = 0;
};

class LinkStates {
 public:
  virtual ~LinkStates() = default;
  // The interface's last known state; none when it is unknown (missing).
  [[nodiscard]] virtual std::optional<bool> is_up(const std::string& interface) const = 0;
};

class VrrpHost {
 public:
  using LinkChanged = std::function<void(const std::string& interface, bool up)>;
  using AdvertReceived = std::function<void(const vrrp::RawAdvertMessage& message)>;
  using FileChanged = std::function<void(const std::string& path)>;

  virtual ~VrrpHost() = default;

  virtual Scheduler& scheduler() = 0;
  // Runs notify scripts and vrrp_script checks.
  virtual event::ScriptRunner& scripts() = 0;
  // No script of scripts() is running or waiting.
  [[nodiscard]] virtual bool scripts_idle() const = 0;
  // A runner of its own for one long-running script (a notify FIFO's reader): destroying the
  // runner ends the script.
  virtual std::unique_ptr<event::ScriptRunner> new_script_runner() = 0;

  virtual Result<std::unique_ptr<vrrp::VipManager>> open_vips() = 0;
  // Where virtual_routes and virtual_rules go.
  virtual Result<std::unique_ptr<vrrp::RoutingTable>> open_routing() = 0;
  // Where use_vmac's macvlans are made and removed, and the sysctls read and written.
  virtual Result<std::unique_ptr<vrrp::VmacHost>> open_vmacs() = 0;
  // Knows the current link states when it returns; `changed` runs for every later change.
  virtual Result<std::unique_ptr<LinkStates>> open_links(LinkChanged changed) = 0;
  [[nodiscard]] virtual bool interface_exists(const std::string& interface) const = 0;
  // `received` runs on the loop for every message the socket reads.
  virtual Result<std::unique_ptr<AdvertChannel>> open_adverts(
      const vrrp::AdvertSocketOptions& options, AdvertReceived received) = 0;
  virtual Result<std::unique_ptr<event::FileChangeWatcher>> watch_files(FileChanged changed) = 0;
  // SIGTERM and SIGINT, taken on the VRRP thread itself (the main thread takes them too): the
  // priority-0 adverts leave at the VRRP thread's priority, not after the main thread gets the
  // CPU back on a loaded host.
  virtual void on_stop_signals(std::function<void()> stop) = 0;
  // How late the loop ran its timers and posted work (for the counters dump).
  [[nodiscard]] virtual event::TimerLateness timer_lateness() const = 0;
};

// Everything on `loop`, which must outlive the host; create and destroy it on the loop's thread.
std::unique_ptr<VrrpHost> make_linux_vrrp_host(event::EventLoop& loop);

}  // namespace vigil::daemon
