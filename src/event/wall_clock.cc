#include "event/wall_clock.h"

#include <ctime>

namespace vigil::event {

WallTime wall_clock_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  if (localtime_r(&now, &local) == nullptr) return WallTime{.unix_seconds = now};
  return WallTime{.unix_seconds = now, .utc_offset_seconds = static_cast<int32_t>(local.tm_gmtoff)};
}

}  // namespace vigil::event
