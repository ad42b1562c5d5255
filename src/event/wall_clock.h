// The wall clock (civil time), for the places vigil needs it: the Date header of SMTP alerts
// (alert/message.h) and the time of the control API's events (api/events.h). Like the steady clock,
// it is read only here, in the event layer; everything else is handed a WallClock and tests pass a
// fixed one.
#pragma once

#include <cstdint>
#include <functional>

namespace vigil::event {

// A moment in civil time: seconds since the Unix epoch (UTC) and the local time zone's offset
// from UTC at that moment (localtime_r's tm_gmtoff), so "+0100" can be written without reading
// the time zone again.
struct WallTime {
  int64_t unix_seconds = 0;
  int32_t utc_offset_seconds = 0;
  bool operator==(const WallTime&) const = default;
};

using WallClock = std::function<WallTime()>;

// The system's wall clock in the local time zone.
WallTime wall_clock_now();
// Milliseconds since the Unix epoch (UTC): when an event of the control API happened.
int64_t wall_clock_unix_milliseconds();

}  // namespace vigil::event
