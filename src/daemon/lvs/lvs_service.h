// The IPVS side of vigild: an lvs::LvsController over the kernel's IPVS (generic netlink).
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "common/time.h"
#include "daemon/service.h"
#include "datapath/datapath.h"
#include "lvs/controller.h"

namespace vigil::daemon {

using DatapathFactory = std::function<Result<std::unique_ptr<datapath::Datapath>>()>;

// The production factory: IpvsNetlinkDatapath::open().
DatapathFactory ipvs_netlink_factory();

// The FULLNAT source NAT for real: net.ipv4.vs.conntrack=1 when there are services, then the
// ruleset of fullnat_ruleset() through `nft -f -` (one atomic transaction). Blocking: it runs on
// the main loop at reconcile time and waits for nft (a few milliseconds).
Status apply_fullnat_with_nft(const std::vector<lvs::FullNatService>& services);
// `nft list table inet vigil_fullnat`: the table as nft lists it; an error when it does not
// exist. Blocking like the apply.
Result<std::string> read_fullnat_with_nft();

class LvsService final : public Service {
 public:
  LvsService(Scheduler& scheduler, DatapathFactory factory, lvs::LvsControllerOptions options);

  // Opens IPVS only when the configuration has virtual servers or LVS settings, so a
  // VRRP-only director runs on a kernel without IPVS.
  Status start(const SharedConfig& config) override;
  void reload(const SharedConfig& config) override;
  void stop() override;

  // The checkers' verdicts (check/engine.h), on the main loop; ignored until IPVS is open.
  void apply_health(const check::HealthBatch& batch);

  [[nodiscard]] const lvs::LvsController* controller() const { return controller_.get(); }

 private:
  Status open_and_start(const SharedConfig& config);

  Scheduler& scheduler_;
  DatapathFactory factory_;
  lvs::LvsControllerOptions options_;
  std::unique_ptr<datapath::Datapath> datapath_;
  std::unique_ptr<lvs::LvsController> controller_;
};

// True when `config` asks for anything in IPVS tables (lvs_sync_daemon is LvsSyncService's).
bool needs_ipvs(const config::Config& config);

}  // namespace vigil::daemon
