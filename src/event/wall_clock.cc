#include "event/wall_clock.h"

#include <ctime>

namespace vigil::event {

WallTime wall_clock_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  if (localtime_r(&now, &local) == nullptr) return WallTime{.unix_seconds = now};
  return WallTime{.unix_seconds = now, .utc_offset_seconds = static_cast<int32_t>(local.tm_gmtoff)};
}

int64_t wall_clock_unix_milliseconds() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

}  // namespace vigil::event
