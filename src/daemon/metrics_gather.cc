#include "daemon/metrics_gather.h"

#include <memory>
#include <utility>

#include "event/event_loop.h"

namespace vigil::daemon {

struct MetricsGatherer::Gather {
  explicit Gather(Scheduler& scheduler) : deadline(scheduler) {}
  std::vector<api::MetricsPart> parts;
  size_t pending = 0;
  std::function<void(std::string)> done;
  Timer deadline;
};

MetricsGatherer::MetricsGatherer(event::EventLoop& loop) : loop_(loop) {}

MetricsGatherer::~MetricsGatherer() {
  *alive_ = false;
}

void MetricsGatherer::gather(const std::vector<Service*>& sides, api::MetricsDetail detail,
                             api::MetricsPart own, Duration timeout,
                             std::function<void(std::string)> done) {
  const uint64_t id = next_id_++;
  auto& g = *gathers_.emplace(id, std::make_unique<Gather>(loop_.scheduler())).first->second;
  g.parts.push_back(std::move(own));
  g.done = std::move(done);
  g.pending = sides.size();
  if (sides.empty()) {
    answer(id);
    return;
  }
  g.deadline.arm_after(timeout, [this, id] { answer(id); });
  for (Service* side : sides) {
    // `reply` may run on the side's thread: it posts the part to the main loop, where the
    // gather (if still waiting) takes it.
    side->metrics(detail, [this, id, alive = alive_, &loop = loop_](api::MetricsPart part) {
      loop.post([this, id, alive, part = std::move(part)]() mutable {
        if (!*alive) return;
        auto it = gathers_.find(id);
        if (it == gathers_.end()) return;  // answered already (the deadline passed)
        it->second->parts.push_back(std::move(part));
        if (--it->second->pending == 0) answer(id);
      });
    });
  }
}

void MetricsGatherer::answer(uint64_t id) {
  auto node = gathers_.extract(id);
  if (node.empty()) return;
  Gather& g = *node.mapped();
  g.deadline.cancel();
  g.parts.front()
      .family("metrics_sides_silent",
              "Sides of vigild (VRRP, checkers) that did not answer this scrape in time: "
              "their series are missing.",
              api::MetricType::kGauge)
      .add({}, static_cast<double>(g.pending));
  g.done(api::render_metrics(g.parts));
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
