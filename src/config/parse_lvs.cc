// virtual_server_group, virtual_server, real_server, checkers, SSL.
#include "config/sections.h"

namespace vigil::config {

std::span<const Keyword<Config>> lvs_top_level_keywords() {
  return {};
}

void finish_lvs(Config& /*config*/, Context& /*ctx*/) {}

}  // namespace vigil::config
