#include "config/json_sections.h"

namespace vigil::config {

Json lvs_to_json(const LvsSection& /*lvs*/) {
  return Json::object();
}

}  // namespace vigil::config
