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

namespace vigil::event {
class EventLoop;
}

namespace vigil::daemon {

// The scrapes waiting for their sides, owned on the main loop: a side holds an id, never a
// gather, so a gather (and its deadline timer) dies on the main loop only. Main loop only.
class MetricsGatherer {
 public:
  explicit MetricsGatherer(event::EventLoop& loop);
  MetricsGatherer(const MetricsGatherer&) = delete;
  MetricsGatherer& operator=(const MetricsGatherer&) = delete;
  ~MetricsGatherer();

  // `done` gets the exposition text, on the loop's thread; sides silent past `timeout` are left
  // out (vigil_metrics_sides_silent says how many).
  void gather(const std::vector<Service*>& sides, api::MetricsDetail detail, api::MetricsPart own,
              Duration timeout, std::function<void(std::string)> done);

 private:
  struct Gather;
  void answer(uint64_t id);

  event::EventLoop& loop_;
  std::map<uint64_t, std::unique_ptr<Gather>> gathers_;
  uint64_t next_id_ = 0;
  // Lets parts posted after the gatherer is gone find out.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The daemon's own families: build info, uptime, reloads by result (`reloads` attempted since
// start, `refused` of them).
api::MetricsPart daemon_metrics(const std::string& version, double uptime_seconds, uint64_t reloads,
                                uint64_t refused);

}  // namespace vigil::daemon
