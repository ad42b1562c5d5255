// LVS part of the model (virtual_server_group, virtual_server, real_server, checkers, SSL).
#pragma once

namespace vigil::config {

struct LvsSection {};

}  // namespace vigil::config
