// The readers of GET /v1/events?follow=1 (docs/operations.md "Events"), on the main loop: each
// new event goes to every follower as the journal records it; a follower that was sent nothing
// for `heartbeat` gets a heartbeat line (api/events.h heartbeat_line()), so that it can tell a
// quiet vigild from a dead connection; one that cannot take a line (it left, or fell too far
// behind) is dropped with a last line saying where to resume (lost_line()). Time comes from the
// injected Scheduler: one Timer, armed while anyone follows.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "api/events.h"
#include "api/server.h"
#include "common/time.h"

namespace vigil::api {

class EventFollowers {
 public:
  static constexpr Duration kDefaultHeartbeat = kHeartbeatInterval;
  using Clock = std::function<int64_t()>;  // unix milliseconds, for the heartbeat's time

  // `heartbeat` zero: none.
  EventFollowers(Scheduler& scheduler, Clock clock, Duration heartbeat = kDefaultHeartbeat);
  EventFollowers(const EventFollowers&) = delete;
  EventFollowers& operator=(const EventFollowers&) = delete;

  // A stream that was sent the journal up to `last_seq`: from now on it gets what follows.
  void add(std::shared_ptr<ResponseStream> stream, uint64_t last_seq);
  // Sends `event` to every follower (the journal's listener).
  void send(const Event& event);
  [[nodiscard]] size_t size() const { return followers_.size(); }
  // Heartbeat lines sent since start (every follower's).
  [[nodiscard]] uint64_t heartbeats() const { return heartbeats_; }

 private:
  struct Follower {
    std::shared_ptr<ResponseStream> stream;
    uint64_t last_seq = 0;  // the last event it was sent
    TimePoint last_sent{};  // when it was last sent a line (or started following)
  };
  // Sends `line` to `follower`; false (and a lost line) when it is to be dropped.
  bool deliver(Follower& follower, std::string_view line);
  // The heartbeat timer, for the follower that went quiet first.
  void arm();
  void beat();

  Scheduler& scheduler_;
  Clock clock_;
  Duration heartbeat_;
  std::vector<Follower> followers_;
  uint64_t heartbeats_ = 0;
  Timer timer_;
};

}  // namespace vigil::api
