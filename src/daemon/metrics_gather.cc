#include "daemon/metrics_gather.h"

#include <memory>
#include <utility>

#include "event/event_loop.h"

namespace vigil::daemon {

void MetricsGatherer::gather(const std::vector<Service*>& sides, api::MetricsDetail detail,
                             api::MetricsPart own, Duration timeout,
                             std::function<void(std::string)> done) {
  sides_.gather(
      sides, timeout,
      [detail](Service& side, std::function<void(api::MetricsPart)> reply) {
        side.metrics(detail, std::move(reply));
      },
      [own = std::move(own), done = std::move(done)](std::vector<api::MetricsPart> parts,
                                                     size_t silent) mutable {
        own.family("metrics_sides_silent",
                   "Sides of vigild (VRRP, checkers) that did not answer this scrape in time: "
                   "their series are missing.",
                   api::MetricType::kGauge)
            .add({}, static_cast<double>(silent));
        parts.insert(parts.begin(), std::move(own));
        done(api::render_metrics(parts));
      });
}

api::MetricsPart daemon_metrics(const std::string& version, double uptime_seconds, uint64_t reloads,
                                uint64_t refused) {
  api::MetricsPart part;
  part.family("build_info", "Always 1; the version is a label.", api::MetricType::kGauge)
      .add({{"version", version}}, 1);
  part.family("uptime_seconds", "Seconds since vigild started.", api::MetricType::kGauge)
      .add({}, uptime_seconds);
  auto& by_result = part.family("reloads", "Configuration reloads (SIGHUP or the API), by result.",
                                api::MetricType::kCounter);
  by_result.add({{"result", "applied"}}, static_cast<double>(reloads - refused));
  by_result.add({{"result", "refused"}}, static_cast<double>(refused));
  return part;
}

}  // namespace vigil::daemon
