// VRRP part of the model (vrrp_script, track_file, vrrp_sync_group, vrrp_instance).
#pragma once

namespace vigil::config {

struct VrrpSection {};

}  // namespace vigil::config
