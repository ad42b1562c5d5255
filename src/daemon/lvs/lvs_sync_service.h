// vigild's Service for lvs_sync_daemon: opens IPVS on the main loop and drives an
// lvs::LvsSyncController (lvs/sync.h holds the decisions and what they mean), taking VRRP state
// changes from the VRRP thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/time.h"
#include "config/model.h"
#include "daemon/service.h"
#include "datapath/datapath.h"
#include "lvs/sync.h"
#include "vrrp/state_machine.h"

namespace vigil::daemon {

using SyncDatapathFactory = std::function<Result<std::unique_ptr<datapath::Datapath>>()>;

// vigild's Service for lvs_sync_daemon, on the main loop. It opens IPVS itself (also with -P),
// and only when a daemon may run. IPVS missing is a warning, once per reason: VRRP keeps running
// without connection sync, and each reload tries again.
class LvsSyncService final : public Service {
 public:
  LvsSyncService(Scheduler& scheduler, SyncDatapathFactory factory,
                 lvs::LvsSyncControllerOptions options);
  ~LvsSyncService() override;

  Status start(const SharedConfig& config) override;  // never fails
  void reload(const SharedConfig& config) override;
  void stop() override;

  // For VrrpServiceOptions::on_state_change: callable from any thread; `post` must run its
  // argument on the main loop (EventLoop::post). Events that arrive after this service is gone
  // are dropped.
  std::function<void(const std::string&, vrrp::State)> vrrp_observer(
      std::function<void(std::function<void()>)> post);

  [[nodiscard]] const lvs::LvsSyncController* controller() const;
  [[nodiscard]] size_t open_attempts() const;

 private:
  struct Core;
  std::shared_ptr<Core> core_;
};

}  // namespace vigil::daemon
