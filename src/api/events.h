// What `GET /v1/events` answers and `vigilctl events` shows (docs/operations.md "Events"): VRRP
// transitions, checker health changes, override changes (an operator's, or vigild's own: expiry,
// reload, start) and reloads, as values. The sides report them from their own threads through an
// EventSink (which posts to the main loop, never waits); the main loop's EventJournal keeps the
// last ones, numbered, with their wall-clock time. The wire form is one JSON object per line (JSON
// lines); the text form is for people. Pure.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace vigil::api {

// A VRRP instance changed state (the states its notify scripts see; INIT when it stops).
struct VrrpTransitionEvent {
  std::string instance;
  std::string from;    // INIT, BACKUP, MASTER, FAULT
  std::string to;      // the same
  std::string reason;  // "master down timer expired", "higher priority advert", "shutdown", ...
  bool operator==(const VrrpTransitionEvent&) const = default;
};

// A checker of a real server went up or down.
struct HealthEvent {
  std::string virtual_server;  // "[10.0.0.100]:tcp:80" (keepalived's FMT_VS)
  std::string real_server;     // "[10.0.0.1]:tcp:80" (FMT_RS)
  std::string checker;         // the checker's label: "TCP 10.0.0.1:80"
  bool up = false;
  std::string reason;  // "check succeeded", "connection refused", "timeout", ...
  std::string detail;  // what the failed probe said, when it said something
  bool operator==(const HealthEvent&) const = default;
};

// An override changed: set or cleared by an operator (vigilctl rs ...), or by vigild itself: it
// expired (--for), a reload or a start dropped it (a weight override whose configured weight
// changed), a reload orphaned it (its target left the configuration: kept, not applied) or
// restored it (the target came back).
struct OverrideEvent {
  // The real server's admin state after the change: drain, maint, weight (the override in
  // force, or kept while orphaned), ready (no override any more: cleared, expired, dropped).
  std::string action;
  std::string virtual_server;
  std::string real_server;
  std::optional<uint32_t> weight;      // a weight override's weight (not with `cleared`)
  std::optional<int64_t> for_seconds;  // `set` with --for: it expires by itself
  // `set` and `cleared`: the caller's reason, uid and pid; vigild's own changes: those of whoever
  // set the override.
  std::string reason;
  uint32_t uid = 0;
  int32_t pid = 0;
  std::string change;         // set, cleared, expired, dropped, orphaned, restored
  std::string override_kind;  // the override concerned: drain, maint, weight
  std::string detail;         // why vigild changed it by itself, when there is more to say
  bool operator==(const OverrideEvent&) const = default;
};

// What `change` says of an OverrideEvent.
inline constexpr std::string_view kOverrideSet = "set";
inline constexpr std::string_view kOverrideCleared = "cleared";
inline constexpr std::string_view kOverrideExpired = "expired";
inline constexpr std::string_view kOverrideDropped = "dropped";
inline constexpr std::string_view kOverrideOrphaned = "orphaned";
inline constexpr std::string_view kOverrideRestored = "restored";

// A reload was applied or refused.
struct ReloadEvent {
  bool ok = false;
  std::string by;       // "SIGHUP", or "uid 0 pid 4242[, reason: ...]" for vigilctl reload
  size_t errors = 0;    // the refused configuration's errors
  std::string message;  // why it was refused; empty when applied
  bool operator==(const ReloadEvent&) const = default;
};

using EventPayload = std::variant<VrrpTransitionEvent, HealthEvent, OverrideEvent, ReloadEvent>;

struct Event {
  uint64_t seq = 0;     // 1, 2, ...: one more per event since vigild started
  int64_t unix_ms = 0;  // when the main loop recorded it (wall clock, UTC)
  EventPayload what;
  bool operator==(const Event&) const = default;
};

// How a side reports an event: callable from its own thread, returns at once.
using EventSink = std::function<void(EventPayload)>;

// "vrrp", "health", "override", "reload": the `kind` field.
std::string_view event_kind(const EventPayload& what);
// "2026-12-07T04:12:09.123Z".
std::string format_utc_milliseconds(int64_t unix_ms);

nlohmann::json to_json(const Event& event);
// One JSON object and a newline: a line of GET /v1/events.
std::string to_json_line(const Event& event);
// One line back (vigilctl); an error for anything that is not an event of a known kind.
Result<Event> event_from_json(const nlohmann::json& json);
// "2026-12-07T04:12:09.123Z  vrrp      VI_1  BACKUP -> MASTER (master down timer expired)\n".
std::string render_event_text(const Event& event);

// What a follower gets when nothing else was sent to it for a while (EventFollowers):
// {"kind":"heartbeat","since":SEQ,"unix_ms":...,"time":...}, SEQ the last event it was sent. Not
// an event: it is not in the journal and has no `seq`.
std::string heartbeat_line(uint64_t last_delivered_seq, int64_t unix_ms);
// vigild's interval between heartbeats of a quiet stream (docs/operations.md "Events").
inline constexpr std::chrono::seconds kHeartbeatInterval{30};
inline constexpr std::string_view kHeartbeatKind = "heartbeat";
// A line of the stream that is a heartbeat (vigilctl's text form leaves them out).
bool is_heartbeat(const nlohmann::json& json);

// The last line a dropped follower gets: {"lost":true,"since":SEQ,"error":...}; GET
// /v1/events?since=SEQ resumes after the last event it had.
std::string lost_line(uint64_t last_delivered_seq, std::string_view why);

// The main loop's record of the last `capacity` events. Loop thread only.
class EventJournal {
 public:
  static constexpr size_t kDefaultCapacity = 1000;
  using Clock = std::function<int64_t()>;  // unix milliseconds
  using Listener = std::function<void(const Event&)>;

  explicit EventJournal(Clock clock, size_t capacity = kDefaultCapacity);

  // Numbers and stamps `what`, keeps it (the oldest goes when full) and tells the listener.
  const Event& record(EventPayload what);
  // The kept events after sequence number `after` (0: all), oldest first.
  [[nodiscard]] std::vector<Event> since(uint64_t after) const;
  // The last sequence number given (0: none yet).
  [[nodiscard]] uint64_t last_seq() const { return next_seq_ - 1; }
  [[nodiscard]] size_t size() const { return events_.size(); }
  [[nodiscard]] size_t capacity() const { return capacity_; }
  // The journal's clock now (unix milliseconds): what stamps a heartbeat line.
  [[nodiscard]] int64_t now_unix_ms() const { return clock_(); }
  // One listener (the control server's followers); empty: none.
  void set_listener(Listener listener) { listener_ = std::move(listener); }

 private:
  Clock clock_;
  size_t capacity_;
  std::deque<Event> events_;
  uint64_t next_seq_ = 1;
  Listener listener_;
};

}  // namespace vigil::api
