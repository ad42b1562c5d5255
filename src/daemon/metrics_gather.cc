#include "daemon/metrics_gather.h"

#include <memory>
#include <utility>

#include "event/event_loop.h"

namespace vigil::daemon {
namespace {

struct MetricsGather {
  explicit MetricsGather(Scheduler& scheduler) : deadline(scheduler) {}
  std::vector<api::MetricsPart> parts;
  size_t pending = 0;
  std::function<void(std::string)> done;
  bool answered = false;
  Timer deadline;

  void answer() {
    if (answered) return;
    answered = true;
    deadline.cancel();
    parts.front()
        .family("metrics_sides_silent",
                "Sides of vigild (VRRP, checkers) that did not answer this scrape in time: "
                "their series are missing.",
                api::MetricType::kGauge)
        .add({}, static_cast<double>(pending));
    done(api::render_metrics(parts));
  }
};

}  // namespace

void gather_metrics(event::EventLoop& loop, const std::vector<Service*>& sides,
                    api::MetricsDetail detail, api::MetricsPart own, Duration timeout,
                    std::function<void(std::string)> done) {
  auto gather = std::make_shared<MetricsGather>(loop.scheduler());
  gather->parts.push_back(std::move(own));
  gather->done = std::move(done);
  gather->pending = sides.size();
  if (sides.empty()) {
    gather->answer();
    return;
  }
  std::weak_ptr<MetricsGather> weak = gather;
  gather->deadline.arm_after(timeout, [weak] {
    if (auto g = weak.lock()) g->answer();
  });
  for (Service* side : sides) {
    // `reply` may run on the side's thread: it posts the part to the main loop. The gather
    // lives until the last part arrives (or is dropped with the loop).
    side->metrics(detail, [gather, &loop](api::MetricsPart part) {
      loop.post([gather, part = std::move(part)]() mutable {
        if (gather->answered) return;
        gather->parts.push_back(std::move(part));
        if (--gather->pending == 0) gather->answer();
      });
    });
  }
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
