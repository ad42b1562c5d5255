// vrrp_script, track_file, vrrp_sync_group, vrrp_instance.
#include "config/sections.h"

namespace vigil::config {

std::span<const Keyword<Config>> vrrp_top_level_keywords() {
  return {};
}

void finish_vrrp(Config& /*config*/, Context& /*ctx*/) {}

}  // namespace vigil::config
