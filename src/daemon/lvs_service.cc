#include "daemon/lvs_service.h"

#include "common/log.h"
#include "datapath/ipvs_netlink.h"

namespace vigil::daemon {

DatapathFactory ipvs_netlink_factory() {
  return []() -> Result<std::unique_ptr<datapath::Datapath>> {
    auto opened = datapath::IpvsNetlinkDatapath::open();
    if (!opened) return opened.error();
    return std::unique_ptr<datapath::Datapath>(std::move(*opened));
  };
}

bool needs_ipvs(const config::Config& config) {
  const auto& g = config.global;
  return !config.lvs.virtual_servers.empty() || g.lvs_flush || g.lvs_timeouts.has_value() ||
         g.lvs_sync_daemon.has_value();
}

LvsService::LvsService(Scheduler& scheduler, DatapathFactory factory, LvsControllerOptions options)
    : scheduler_(scheduler), factory_(std::move(factory)), options_(options) {}

Status LvsService::start(const config::Config& config) {
  if (!needs_ipvs(config)) {
    log::get("ipvs")->info("[ipvs] no virtual servers configured: IPVS is not used");
    return {};
  }
  return open_and_start(config);
}

Status LvsService::open_and_start(const config::Config& config) {
  auto datapath = factory_();
  if (!datapath) return datapath.error();
  datapath_ = std::move(*datapath);
  controller_ = std::make_unique<LvsController>(*datapath_, scheduler_, options_);
  auto status = controller_->start(config);
  if (!status) {
    controller_.reset();
    datapath_.reset();
  }
  return status;
}

void LvsService::reload(const config::Config& config) {
  if (controller_) {
    controller_->update(config);
    return;
  }
  if (!needs_ipvs(config)) return;
  // The reload adds the first virtual servers: IPVS is needed from now on.
  if (auto status = open_and_start(config); !status) {
    log::get("ipvs")->error("[ipvs] cannot program the new virtual servers: {}",
                            status.error().message);
  }
}

void LvsService::stop() {
  if (controller_) controller_->stop();
}

}  // namespace vigil::daemon
