// The typed configuration model: what vigil understood from a keepalived-syntax file, with
// keepalived's defaults resolved. Produced by parse_file()/parse_text() (config/parser.h).
#pragma once

#include "config/model_global.h"
#include "config/model_lvs.h"
#include "config/model_vrrp.h"

namespace vigil::config {

struct Config {
  GlobalDefs global;
  VrrpSection vrrp;  // vrrp_script, track_file, vrrp_sync_group, vrrp_instance
  LvsSection lvs;    // virtual_server_group, virtual_server, SSL
};

}  // namespace vigil::config
