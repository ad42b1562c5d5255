#include "config/json.h"

#include "config/json_sections.h"

namespace vigil::config {

std::string to_json_text(const Config& config, int indent) {
  Json root;
  root["global_defs"] = global_to_json(config.global);
  root.update(vrrp_to_json(config.vrrp));
  root.update(lvs_to_json(config.lvs));
  return root.dump(indent) + "\n";
}

}  // namespace vigil::config
