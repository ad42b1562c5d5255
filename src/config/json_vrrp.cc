#include "config/json_sections.h"

namespace vigil::config {

Json vrrp_to_json(const VrrpSection& /*vrrp*/) {
  return Json::object();
}

}  // namespace vigil::config
