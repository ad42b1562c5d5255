// Asks every side of vigild for its part of an answer (the status, the metrics) by posted reply:
// a side on its own thread (VRRP, checkers) builds its part there and hands it over; nobody waits
// for it. The answer is made once the last part arrives or the deadline passes (the silent sides
// are counted). Each gather is owned here and dies on the main loop: a side holds an id, never
// the gather, so a side's thread never destroys a main-loop timer. Main loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "common/time.h"
#include "daemon/service.h"
#include "event/event_loop.h"

namespace vigil::daemon {

template <class Part>
class SideGatherer {
 public:
  // Asks one side; the side calls `reply` (from any thread) with its part.
  using Ask = std::function<void(Service& side, std::function<void(Part)> reply)>;
  // The parts that arrived (in arrival order) and how many sides stayed silent.
  using Finish = std::function<void(std::vector<Part> parts, size_t silent)>;

  explicit SideGatherer(event::EventLoop& loop) : loop_(loop) {}
  SideGatherer(const SideGatherer&) = delete;
  SideGatherer& operator=(const SideGatherer&) = delete;
  ~SideGatherer() { *alive_ = false; }

  void gather(const std::vector<Service*>& sides, Duration timeout, const Ask& ask, Finish finish) {
    const uint64_t id = next_id_++;
    auto& g = *gathers_.emplace(id, std::make_unique<Gather>(loop_.scheduler())).first->second;
    g.finish = std::move(finish);
    g.pending = sides.size();
    if (sides.empty()) {
      answer(id);
      return;
    }
    g.deadline.arm_after(timeout, [this, id] { answer(id); });
    for (Service* side : sides) {
      ask(*side, [this, id, alive = alive_, &loop = loop_](Part part) {
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

 private:
  struct Gather {
    explicit Gather(Scheduler& scheduler) : deadline(scheduler) {}
    std::vector<Part> parts;
    size_t pending = 0;
    Finish finish;
    Timer deadline;
  };

  void answer(uint64_t id) {
    auto node = gathers_.extract(id);
    if (node.empty()) return;
    Gather& g = *node.mapped();
    g.deadline.cancel();
    g.finish(std::move(g.parts), g.pending);
  }

  event::EventLoop& loop_;
  std::map<uint64_t, std::unique_ptr<Gather>> gathers_;
  uint64_t next_id_ = 0;
  // Lets parts posted after the gatherer is gone find out.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::daemon
