#include "api/event_followers.h"

#include <fmt/format.h>

#include <algorithm>

namespace vigil::api {

EventFollowers::EventFollowers(Scheduler& scheduler, Clock clock, Duration heartbeat)
    : scheduler_(scheduler), clock_(std::move(clock)), heartbeat_(heartbeat), timer_(scheduler) {}

void EventFollowers::add(std::shared_ptr<ResponseStream> stream, uint64_t last_seq) {
  followers_.push_back(
      {.stream = std::move(stream), .last_seq = last_seq, .last_sent = scheduler_.now()});
  if (!timer_.armed()) arm();
}

bool EventFollowers::deliver(Follower& follower, std::string_view line) {
  if (follower.stream->send(line)) {
    follower.last_sent = scheduler_.now();
    return true;
  }
  // Gone, or too far behind: a reader still there learns where to resume.
  follower.stream->finish(lost_line(
      follower.last_seq,
      fmt::format("this reader fell behind and was dropped; GET /v1/events?since={} resumes",
                  follower.last_seq)));
  return false;
}

void EventFollowers::send(const Event& event) {
  if (followers_.empty()) return;
  const std::string line = to_json_line(event);
  std::erase_if(followers_, [&](Follower& follower) {
    if (!deliver(follower, line)) return true;
    follower.last_seq = event.seq;
    return false;
  });
  if (followers_.empty()) timer_.cancel();
}

void EventFollowers::arm() {
  if (heartbeat_ <= Duration::zero() || followers_.empty()) {
    timer_.cancel();
    return;
  }
  const auto quiet_first = std::min_element(
      followers_.begin(), followers_.end(),
      [](const Follower& a, const Follower& b) { return a.last_sent < b.last_sent; });
  timer_.arm_at(quiet_first->last_sent + heartbeat_, [this] { beat(); });
}

void EventFollowers::beat() {
  const TimePoint now = scheduler_.now();
  const int64_t unix_ms = clock_();
  std::erase_if(followers_, [&](Follower& follower) {
    if (now - follower.last_sent < heartbeat_) return false;  // sent an event since
    ++heartbeats_;
    return !deliver(follower, heartbeat_line(follower.last_seq, unix_ms));
  });
  arm();
}

}  // namespace vigil::api
