// Internal: per-section JSON writers (json_global.cc, json_vrrp.cc, json_lvs.cc).
// nlohmann/json is included only by these files to keep template instantiation in one place.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "common/ip_address.h"
#include "common/time.h"
#include "config/model.h"

namespace vigil::config {

using Json = nlohmann::ordered_json;

Json global_to_json(const GlobalDefs& global);
Json vrrp_to_json(const VrrpSection& vrrp);
Json lvs_to_json(const LvsSection& lvs);

// Durations are written as seconds (a number, exact to the microsecond).
inline Json seconds_json(Duration d) {
  if (d.count() % 1'000'000 == 0) return d.count() / 1'000'000;
  return static_cast<double>(d.count()) / 1e6;
}
inline Json address_json(const IpAddress& a) {
  return a.to_string();
}
inline Json command_json(const Command& c) {
  return Json{{"argv", c.argv}};
}
template <class T, class F>
Json optional_json(const std::optional<T>& value, F&& convert) {
  return value ? Json(convert(*value)) : Json(nullptr);
}

}  // namespace vigil::config
