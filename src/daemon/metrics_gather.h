// GET /metrics: asks every side for its families by posted reply (as the status is gathered:
// the VRRP and check threads build theirs and hand them over, nobody waits for them) and renders
// them with the daemon's own once the last arrives or the deadline passes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/metrics.h"
#include "common/time.h"
#include "daemon/service.h"
#include "daemon/side_gather.h"

namespace vigil::event {
class EventLoop;
}

namespace vigil::daemon {

// The scrapes waiting for their sides (SideGatherer). Main loop only.
class MetricsGatherer {
 public:
  explicit MetricsGatherer(event::EventLoop& loop) : sides_(loop) {}

  // `done` gets the exposition text, on the loop's thread; sides silent past `timeout` are left
  // out (vigil_metrics_sides_silent says how many).
  void gather(const std::vector<Service*>& sides, api::MetricsDetail detail, api::MetricsPart own,
              Duration timeout, std::function<void(std::string)> done);

 private:
  SideGatherer<api::MetricsPart> sides_;
};

// The daemon's own families: build info, uptime, reloads by result (`reloads` attempted since
// start, `refused` of them).
api::MetricsPart daemon_metrics(const std::string& version, double uptime_seconds, uint64_t reloads,
                                uint64_t refused);

}  // namespace vigil::daemon
