#include "daemon/lvs/lvs_sync_service.h"

#include <map>
#include <optional>
#include <utility>

#include "common/log.h"

namespace vigil::daemon {
namespace {

constexpr std::string_view kName = "[lvs_sync_daemon]";

spdlog::logger& logger() {
  static const auto instance = log::get("lvs_sync");
  return *instance;
}

}  // namespace

struct LvsSyncService::Core {
  Core(Scheduler& s, SyncDatapathFactory f, lvs::LvsSyncControllerOptions o)
      : scheduler(s), factory(std::move(f)), options(o) {}

  void apply(const config::Config& config) {
    const auto& sync = config.global.lvs_sync_daemon;
    if (!controller && lvs::manages_sync_daemon(sync, options.sides)) open();
    if (!controller) {
      explain_idle(sync);
      return;
    }
    controller->configure(sync);
  }

  void open() {
    ++open_attempts;
    auto opened = factory();
    if (!opened) {
      const std::string message =
          opened.error().message + ": no connection sync daemon; VRRP keeps running";
      if (message != last_warning) logger().warn("{} {}", kName, message);
      last_warning = message;
      return;
    }
    datapath = std::move(*opened);
    controller = std::make_unique<lvs::LvsSyncController>(*datapath, scheduler, options);
    for (const auto& [instance, state] : instances)
      controller->instance_state(instance, state);
  }

  // Why a configured sync daemon does not run in this process (said once per configuration).
  void explain_idle(const std::optional<config::LvsSyncDaemon>& sync) {
    if (!sync || lvs::manages_sync_daemon(sync, options.sides)) return;
    const std::string message =
        sync->vrrp_instance.empty()
            ? "without a vrrp_instance it runs with the IPVS side, which vigild -P does not run: "
              "no sync daemon"
            : "it follows vrrp_instance " + sync->vrrp_instance +
                  ", which vigild -C does not run: no sync daemon";
    if (message != last_warning) logger().info("{} {}", kName, message);
    last_warning = message;
  }

  void instance_state(const std::string& instance, lvs::SyncInstanceState state) {
    instances[instance] = state;
    if (controller) controller->instance_state(instance, state);
  }

  Scheduler& scheduler;
  SyncDatapathFactory factory;
  lvs::LvsSyncControllerOptions options;
  std::unique_ptr<datapath::Datapath> datapath;
  std::unique_ptr<lvs::LvsSyncController> controller;
  std::map<std::string, lvs::SyncInstanceState> instances;
  std::string last_warning;
  size_t open_attempts = 0;
};

LvsSyncService::LvsSyncService(Scheduler& scheduler, SyncDatapathFactory factory,
                               lvs::LvsSyncControllerOptions options)
    : core_(std::make_shared<Core>(scheduler, std::move(factory), options)) {}

LvsSyncService::~LvsSyncService() = default;

Status LvsSyncService::start(const SharedConfig& config) {
  core_->apply(*config);
  return {};
}

void LvsSyncService::reload(const SharedConfig& config) {
  core_->apply(*config);
}

void LvsSyncService::stop() {
  if (core_->controller) core_->controller->stop();
}

std::function<void(const std::string&, vrrp::State)> LvsSyncService::vrrp_observer(
    std::function<void(std::function<void()>)> post) {
  std::weak_ptr<Core> weak = core_;
  return [weak, post = std::move(post)](const std::string& instance, vrrp::State state) {
    post([weak, instance, state = lvs::sync_instance_state(state)] {
      if (auto core = weak.lock()) core->instance_state(instance, state);
    });
  };
}

const lvs::LvsSyncController* LvsSyncService::controller() const {
  return core_->controller.get();
}

size_t LvsSyncService::open_attempts() const {
  return core_->open_attempts;
}

}  // namespace vigil::daemon
