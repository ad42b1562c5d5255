// The VRRP side of vigild without its thread: every vrrp_instance over a VrrpHost. VrrpService
// runs one on its realtime loop thread with the Linux host; tests drive one directly with a fake
// host in virtual time. Not thread-safe: every call on the host's loop thread.
#pragma once

#include <memory>

#include "common/result.h"
#include "config/model.h"
#include "daemon/vrrp/vrrp_host.h"
#include "daemon/vrrp/vrrp_service.h"

namespace vigil::alert {
class AlertSender;
}

namespace vigil::daemon {

class VrrpRuntime {
 public:
  // `host` must outlive the runtime.
  VrrpRuntime(VrrpHost& host, VrrpServiceOptions options);
  VrrpRuntime(const VrrpRuntime&) = delete;
  VrrpRuntime& operator=(const VrrpRuntime&) = delete;
  ~VrrpRuntime();

  // These resolve script users through NSS and the instances' primary addresses on the calling
  // thread (VrrpService does it before the hand-over to its loop thread).
  Status start(const config::Config& config);
  // A config that cannot be planned is refused; the running instances stay.
  void reload(const config::Config& config);
  // Masters send priority 0 and remove their addresses (unless keep_vips_on_stop); notify_stop.
  void stop();

  // SMTP alerts go to `alerts` (it outlives the runtime); none by default. Before start().
  void set_alert_sender(alert::AlertSender* alerts) { alerts_ = alerts; }

  [[nodiscard]] bool scripts_idle() const;
  [[nodiscard]] api::StatusPart status() const;
  [[nodiscard]] api::MetricsPart metrics() const;
  Result<MaintenanceOutcome> set_maintenance(const MaintenanceRequest& request);
  Result<std::vector<api::VrrpInstanceStats>> stats(const std::optional<std::string>& clear);
  void write_data();
  void write_stats();

 private:
  VrrpHost& host_;
  VrrpServiceOptions options_;
  std::unique_ptr<VrrpService::Runtime> runtime_;
  alert::AlertSender* alerts_ = nullptr;
};

}  // namespace vigil::daemon
